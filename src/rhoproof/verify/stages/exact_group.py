"""The exact-group stage of the V_irrep cascade [X1] (docs/soundness.md §2.2): a set R of
neurons is computed exactly instead of bounded. At every input the earlier stages left
undecided and every output z,

    f(z | x, y) ≤ U_z := F*_O(g⁻¹zh⁻¹) + s^R_z(x, y) + Ē_R(z | x, y),
    E_R(z | x, y) = Σ_{i∈R} (u_i(z) h_i(x, y) − u*_i(z) h*_i(x, y)),

with s^R the spread of §2 over the neuron groups with R removed and Ē_R an enclosure of E_R
from the stored floats (two matrix products per slab of inputs). The input is certified when
L > max_{z≠xy} U_z; its cross-entropy is at most log(1 + Σ_{z≠xy} e^{U_z − L}) [CE2].

Any R is sound; R = ∅ is stage 3 over every output, R = every neuron the brute force's bound.
The stage does not change the cascade's ``Work``: it returns an ``ExactGroup`` record that
``irrep._bound`` merges, so one run of stages 1–3 serves a whole frontier of R
(``irrep.irrep_frontier``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rhoproof.rounding import ETA, TINY, U, up, widen
from rhoproof.verify.logits import padded
from rhoproof.verify.records import Stage
from rhoproof.verify.stages.context import ProofContext, Work
from rhoproof.verify.stages.per_input import spread_parts

GUARD = 3.0
"""The prover's rounding allowance for Ē_R is this multiple of the checker's, so that an
honest claim is never above the checker's recomputation (docs/soundness.md §2.2)."""

NAME = "exact_group"


@dataclass(frozen=True)
class ExactGroup:
    """What the exact-group stage found at the inputs (xs, ys) [t] it looked at: which it
    certified and a cross-entropy upper bound per input; and its ``Stage`` record."""

    neurons: tuple[int, ...]
    xs: torch.Tensor
    ys: torch.Tensor
    ok: torch.Tensor  # [t] bool
    ce: torch.Tensor  # [t]
    stage: Stage


def exact_group_ops(g: int, m: int, t: int, real: int, ideal: int, parts: int) -> int:
    """The stage's counted multiply-adds and comparisons at t inputs: Ē_R's products
    (|G| per neuron of R with real weights, |G| per neuron of R in the ideal), the remaining
    spreads' factors (3m per input) and columns, the ideal's values and the comparisons."""
    return t * (g * (real + ideal) + 3 * m + g * (parts + 2))


def run(ctx: ProofContext, work: Work, certified: torch.Tensor, neurons: torch.Tensor
        ) -> ExactGroup:
    """The stage for the exact group ``neurons`` (int64 indices into the proof's m neurons)
    at the inputs ``certified`` [G, G] leaves; ``work`` holds stages 1–3's results (its
    correct logits L are reused where it has them)."""
    g, m = ctx.g, ctx.m
    drop = torch.zeros(m, dtype=torch.bool)
    drop[neurons] = True
    xs, ys = torch.nonzero(~certified, as_tuple=True)
    t = len(xs)
    sub = Work(grid=False, full=False)
    sub.xs, sub.ys = xs, ys
    parts = spread_parts(ctx, sub, drop)
    l_low = _correct_at(ctx, work, xs, ys)
    ok = torch.zeros(t, dtype=torch.bool)
    ce = torch.full((t,), torch.inf, dtype=torch.float64)
    f, fh, mg = ctx.f, ctx.ideal.folded, ctx.margins
    rr = neurons
    left, right, u = f.left[0][:, rr], f.right[0][:, rr], f.unembed[0][rr]
    lh, rh, uh = fh.left[0][:, rr], fh.right[0][:, rr], fh.unembed[0][rr]
    in_ideal = torch.zeros(m, dtype=torch.bool)
    for c in ctx.ideal.proof:
        in_ideal[c.neurons] = True
    n_real = int((rr < ctx.real).sum())
    n_ideal = int(in_ideal[rr].sum())
    wide = GUARD * widen(2 * len(rr) + 4)
    tab_eps = U + ctx.ideal.eps_lr + 1.01 * ctx.ideal.eps_u
    pad = padded(ctx.radius, ctx.virtual)
    if pad is not None:
        el, er, eu = pad.left[0][:, rr], pad.right[0][:, rr], pad.unembed[0][rr]
    table = ctx.group.table
    inv = torch.from_numpy(ctx.group.inverses.copy())
    step = max(1, (1 << 21) // max(1, g + len(rr)))
    for j in range(0, t, step):
        sl = slice(j, j + step)
        x, y = xs[sl], ys[sl]
        hid = torch.relu(left[x] + right[y])  # [c, |R|]
        hid_i = torch.relu(lh[x] + rh[y])
        val = hid @ u - hid_i @ uh  # [c, G]
        err = wide * (hid @ u.abs() + hid_i @ uh.abs()) \
            + ((lh[x].abs() + rh[y].abs()) @ uh.abs()) * tab_eps
        if pad is not None:
            err = err + (el[x] + er[y]) @ (u.abs() + eu) + hid @ eu
        err = err * (1 + wide) + (4 * len(rr) + 8) * ETA + TINY
        e_up = up(val + err, val.abs() + err)  # ≥ E_R(z | x, y) [c, G]
        spread = ctx.col_c[None, :].expand(len(x), g)
        for col, factor in parts:
            spread = spread + col[None, :] * factor[sl, None]
        spread = spread * (1 + 8 * U) + TINY
        orb = mg.orbit[x, y]
        # z = g·w·h at (x, y) = (g x_O, y_O h): w = g⁻¹ z h⁻¹ [H1]
        w = table[table[inv[mg.tg[x, y]]], inv[mg.th[x, y]][:, None]]  # [c, G] over z
        fw = mg.f_up[orb[:, None], w]
        total = fw + spread + e_up
        u_z = up(total, fw.abs() + spread + e_up.abs())
        rows, z0 = torch.arange(len(x)), table[x, y]
        u_z[rows, z0] = -torch.inf  # wrong outputs only
        low = l_low[sl, None]
        ok[sl] = l_low[sl] > u_z.max(1).values
        expo = up(u_z - low, u_z.abs() + low.abs())
        expo[rows, z0] = -torch.inf
        ce[sl] = torch.log1p(torch.exp(expo).sum(1))
    ce = torch.where(torch.isnan(ce), torch.inf, ce)
    ops = exact_group_ops(g, m, t, n_real, n_ideal, len(parts))
    return ExactGroup(tuple(int(i) for i in rr.tolist()), xs, ys, ok, ce,
                      Stage(NAME, t, int(ok.sum()), ops, 0.0))


def _correct_at(ctx: ProofContext, work: Work, xs: torch.Tensor, ys: torch.Tensor
                ) -> torch.Tensor:
    """L at (xs, ys) from stage 2's values: on the grid, or at its gathered inputs."""
    assert work.l_low is not None
    if work.full:
        return work.l_low[xs, ys]
    pos = torch.full((ctx.g, ctx.g), -1, dtype=torch.int64)
    pos[work.xs, work.ys] = torch.arange(len(work.xs))
    idx = pos[xs, ys]
    assert bool((idx >= 0).all())  # stage 2 saw every input stage 1 left
    return work.l_low[idx]


__all__ = ["GUARD", "NAME", "ExactGroup", "exact_group_ops", "run"]
