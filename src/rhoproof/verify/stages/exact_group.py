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

from collections.abc import Callable
from dataclasses import dataclass

import torch

from rhoproof.rounding import ETA, TINY, U, norm_up, up, widen
from rhoproof.verify.logits import hidden_norm_at, padded
from rhoproof.verify.records import Stage
from rhoproof.verify.stages.context import Part, ProofContext, Work

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


def exact_group_ops(g: int, t: int, real: int, ideal: int, parts: int, n_circuit: int
                    ) -> int:
    """The stage's counted multiply-adds and comparisons at t inputs: Ē_R's products (|G| per
    neuron of R with real weights, |G| per neuron of R in the ideal); the remaining groups'
    factors (‖h*‖ over the circuit neurons left and R's share of the distances: n_circuit +
    2|R|); every output's spread, F*_O + s_z + Ē_R and the comparison (|G| (parts + 3))."""
    return t * (g * (real + ideal) + n_circuit + 2 * (real + ideal) + g * (parts + 3))


def run(ctx: ProofContext, work: Work, certified: torch.Tensor, neurons: torch.Tensor
        ) -> ExactGroup:
    """The stage for the exact group ``neurons`` (int64 indices into the proof's m neurons)
    at the inputs ``certified`` [G, G] leaves; ``work`` holds stages 1–3's results (the
    correct logits L and the distance factors are reused)."""
    g, m = ctx.g, ctx.m
    drop = torch.zeros(m, dtype=torch.bool)
    drop[neurons] = True
    xs, ys = torch.nonzero(~certified, as_tuple=True)
    t = len(xs)
    take = _taker(ctx, work, xs, ys)
    assert work.l_low is not None
    l_low = take(work.l_low)
    parts = _rest_parts(ctx, work, xs, ys, drop, take)
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
        rows = torch.arange(len(x))
        hid = torch.relu(left[x] + right[y])  # [c, |R|]
        hid_i = torch.relu(lh[x] + rh[y])
        val = hid @ u - hid_i @ uh  # [c, G]
        err = wide * (hid @ u.abs() + hid_i @ uh.abs()) \
            + ((lh[x].abs() + rh[y].abs()) @ uh.abs()) * tab_eps
        if pad is not None:
            err = err + (el[x] + er[y]) @ (u.abs() + eu) + hid @ eu
        err = err * (1 + wide) + (4 * len(rr) + 8) * ETA + TINY
        e_up = up(val + err, val.abs() + err)  # ≥ E_R(z | x, y) [c, G]
        orb = mg.orbit[x, y]
        z0 = table[x, y]
        # every wrong z: F*_O(g⁻¹zh⁻¹) + s^R_z + Ē(z), w = g⁻¹zh⁻¹ at (x, y) = (g x_O, y_O h)
        # [H1]
        w_all = table[table[inv[mg.tg[x, y]]], inv[mg.th[x, y]][:, None]]  # [c, G] over z
        f_all = mg.f_up[orb[:, None], w_all]
        spread = ctx.col_c[None, :].expand(len(x), g)
        for col, factor in parts:  # the same operation order as ``Work.spread``
            spread = spread + col[None, :] * factor[sl, None]
        spread = spread * (1 + 8 * U) + TINY
        u_all = up(f_all + spread + e_up, f_all.abs() + spread + e_up.abs())  # [c, G]
        u_all[rows, z0] = -torch.inf  # wrong outputs only
        low = l_low[sl]
        wrong = u_all.max(1).values
        expo = up(u_all - low[:, None], u_all.abs() + low.abs()[:, None])
        expo[rows, z0] = -torch.inf
        acc = torch.exp(expo).sum(1)
        ok[sl] = low > wrong
        ce[sl] = torch.log1p(acc)
    ce = torch.where(torch.isnan(ce), torch.inf, ce)
    n_circ = int((in_ideal[:ctx.real] & ~drop[:ctx.real]).sum())
    ops = exact_group_ops(g, t, n_real, n_ideal, len(parts), n_circ)
    return ExactGroup(tuple(int(i) for i in rr.tolist()), xs, ys, ok, ce,
                      Stage(NAME, t, int(ok.sum()), ops, 0.0))


def _taker(ctx: ProofContext, work: Work, xs: torch.Tensor, ys: torch.Tensor
           ) -> Callable[[torch.Tensor], torch.Tensor]:
    """Stage 2's per-input values at (xs, ys): on the grid, or at its gathered inputs."""
    if work.full:
        return lambda v: v if v.dim() == 0 else v[xs, ys]
    pos = torch.full((ctx.g, ctx.g), -1, dtype=torch.int64)
    pos[work.xs, work.ys] = torch.arange(len(work.xs))
    idx = pos[xs, ys]
    assert bool((idx >= 0).all())  # stage 2 saw every input stage 1 left
    return lambda v: v if v.dim() == 0 else v[idx]


def _norm_low(a: torch.Tensor, b: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor,
              rounded: bool) -> torch.Tensor:
    """A lower bound on ‖a(x) + b(y)‖ of the exact sum at the inputs (xs, ys) [t], where a
    and b are stored floats (``rounded``: each one rounding of an exact difference, within
    a relative u of it). The sum of squares is lowered by γ and by the underflow of each
    square; fl(a + b) is within u|fl(a + b)| of a + b."""
    n = a.shape[1]
    v = a[xs] + b[ys]
    sq = (v * v).sum(1) * (1 - widen(n + 2)) - (n + 1) * ETA
    low = torch.sqrt(sq.clamp_min(0)) * (1 - 4 * U) * (1 - 2 * U)
    if rounded:
        low = low - U * (norm_up(a, 1)[xs] + norm_up(b, 1)[ys]) * (1 + 4 * U)
    return (low - TINY).clamp_min(0)


def _sqrt_diff_up(a: torch.Tensor, low: torch.Tensor, m: int) -> torch.Tensor:
    """An upper bound on √(A² − B²) for any A ≤ a and B ≥ low ≥ 0 with B ≤ A (the norm over
    a group's remaining neurons from its whole norm's upper bound a and R's share's lower
    bound low), with GUARD times a relative allowance so that it is never below the
    checker's direct computation."""
    a2 = a * a * (1 + 4 * U)
    diff = a2 - low * low * (1 - 4 * U) + 4 * U * a2
    return torch.sqrt(diff.clamp_min(0)) * (1 + 4 * U) * (1 + GUARD * widen(m + 8)) + TINY


def _rest_parts(ctx: ProofContext, work: Work, xs: torch.Tensor, ys: torch.Tensor,
                drop: torch.Tensor, take: Callable[[torch.Tensor], torch.Tensor]
                ) -> list[Part]:
    """The spread's terms over the neuron groups with R removed (docs/soundness.md §2.2):
    columns over z from the remaining neurons; per-input factors from stage 2's distances
    with R's share subtracted (‖Δ_{C∖R}‖² = ‖Δ_C‖² − ‖Δ_R‖²), ‖h*‖ over the remaining
    circuit neurons gathered directly."""
    f, fh, ideal, wide = ctx.f, ctx.ideal.folded, ctx.ideal, ctx.wide
    u, left, right = f.unembed[0], f.left[0], f.right[0]
    lh, rh, uh = fh.left[0], fh.right[0], fh.unembed[0]
    r, eps_u = ctx.real, ideal.eps_u
    live, r_live = ctx.live[~drop[ctx.live]], ctx.live[drop[ctx.live]]
    others, r_oth = ctx.others[~drop[ctx.others]], ctx.others[drop[ctx.others]]
    virt = torch.arange(r, ctx.m)[~drop[r:]]
    n, n_v = hidden_norm_at(ideal.proof, ctx.group, ctx.m, r, xs, ys, drop)
    parts: list[Part] = []
    if len(live):
        eu_c = ctx.rad_norm(lambda t: t.unembed[0][live], 0)
        col_a = (norm_up(u[live], 0) + eu_c) * (1 + wide) + TINY
        col_b = (norm_up(torch.relu(u[live] - uh[live]), 0) + eps_u * norm_up(uh[live], 0)
                 + eu_c) * (1 + wide) + TINY
        a_c, extra_c = (take(v) for v in work.raw["c"])
        if len(r_live):
            low = _norm_low(left[:, r_live] - lh[:, r_live], right[:, r_live] - rh[:, r_live],
                            xs, ys, rounded=True)
            a_c = _sqrt_diff_up(a_c, low, ctx.m)
        parts += [(col_a, (a_c + extra_c) * (1 + wide) + TINY), (col_b, n)]
    if len(others):
        a_z, extra_z = (take(v) for v in work.raw["z"])
        if len(r_oth):
            a_z = _sqrt_diff_up(a_z, _norm_low(left[:, r_oth], right[:, r_oth], xs, ys,
                                               rounded=False), ctx.m)
        parts.append(((norm_up(torch.relu(u[others]), 0)
                       + ctx.rad_norm(lambda t: t.unembed[0][others], 0)) * (1 + wide) + TINY,
                      (a_z + extra_z) * (1 + wide) + TINY))
    if len(virt):
        col_v = (norm_up(torch.relu(-uh[virt]), 0) + eps_u * norm_up(uh[virt], 0)) \
            * (1 + wide) + TINY
        parts.append((col_v, n_v))
    return parts


__all__ = ["GUARD", "NAME", "ExactGroup", "exact_group_ops", "run"]
