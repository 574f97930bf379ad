"""Stage 2 of the V_irrep cascade, per input (docs/soundness.md §2): every wrong logit is at
most the ideal's largest wrong value plus the largest spread,

    f(z | x, y) ≤ max_{w≠e} F*_O(w) + max_z s_z(x, y),
    s_z = ‖u_C(z)‖ D_C + ‖Δu_C(z)⁺‖ N + ‖u_Z(z)⁺‖ ‖ℓ_Z(x) + r_Z(y)‖ + ‖(−u*_V(z))⁺‖ N_V + Δβ⁺(z),

by neuron group (circuit neurons C, the other real neurons Z where u* = h* = 0, the virtual
ones V where u = h = 0): Cauchy–Schwarz per group is tighter than over the whole layer. Only
upper bounds on wrong logits are needed (the correct logit is exact), so every term
multiplying a nonnegative vector (h*, h_Z, h*_V ≥ 0) keeps only its positive part:
Σ_i a_i h_i ≤ ‖a⁺‖ ‖h‖; rounding keeps signs, so fl(a)⁺ is a⁺ up to a relative u, covered by
the (1 + wide) factors. The real model is f̂ ± radius [F1]: (a + δ)⁺ ≤ a⁺ + |δ| and
‖a + δ‖ ≤ ‖a‖ + ‖δ‖, so each column gains the norm of its radius, each D the norms of e_ℓ(x)
and e_r(y). The input is certified when δ = L(x, y) − that bound > 0.
"""

from __future__ import annotations

import torch

from rhoproof.rounding import TINY, U, norm_up, up
from rhoproof.verify.logits import (
    correct_logits,
    correct_logits_at,
    hidden_norm_at,
    hidden_norm_bound,
    padded,
)
from rhoproof.verify.records import Stage
from rhoproof.verify.stages.context import Part, ProofContext, Work


class PerInput:
    """Stage 2: the per-output spreads' columns and per-input factors (kept in ``work.parts``
    for stage 3), the largest spread, the correct logit L and δ per input."""

    name = "per_input"

    def run(self, ctx: ProofContext, work: Work) -> Stage:
        if not work.full and not len(work.xs):  # stage 1 settled every input: nothing to do
            empty = torch.empty(0, dtype=torch.float64)
            work.parts, work.s_max, work.top1, work.l_low, work.delta = [], empty, empty, \
                empty, empty
            work.stage1 = work.certified_before = torch.empty(0, dtype=torch.bool)
            work.raw = {"c": (empty, empty), "z": (empty, empty)}  # for the exact group [X1]
            return Stage(self.name, 0, 0, 0, 0.0)
        work.parts = spread_parts(ctx, work)
        mg = ctx.margins
        s_max = work.spread(ctx, lambda col: float(col.max()))  # [G, G] or [t]
        top1_in = work.per_orbit(mg.top1, mg.orbit)  # per input
        pad = padded(ctx.radius, ctx.virtual)
        l_low = work.take(correct_logits(ctx.f, ctx.group, pad)) if work.grid else \
            correct_logits_at(ctx.f, ctx.group, pad, work.xs, work.ys)
        delta = l_low - up(top1_in + s_max, top1_in.abs() + s_max)
        m, g, n_orb = ctx.m, ctx.g, mg.count
        t_cnt = work.counted(ctx)
        ops = t_cnt * (3 * m + sum(len(c.neurons) for c in ctx.ideal.proof)
                       + 4 * len(work.parts)) \
            + (3 * n_orb * g * m if n_orb > 1 else 0)  # F*_O at the orbit representatives [H1]
        ok = delta > 0
        # inputs stage 1 certified, among those this stage sees (none when it sees only the
        # rest)
        assert work.sep is not None
        stage1 = work.sep.mask() if work.full else torch.zeros_like(ok)
        work.s_max, work.top1, work.l_low, work.delta = s_max, top1_in, l_low, delta
        work.stage1, work.certified_before = stage1, ok | stage1
        return Stage(self.name, t_cnt, int((ok & ~stage1).sum()), ops, 0.0)


def spread_parts(ctx: ProofContext, work: Work) -> list[Part]:
    """The spread's terms by neuron group: (column over z [G], factor per input); the
    distance factors' parts are kept in ``work.raw`` for the exact-group stage [X1]."""
    f, fh, ideal, wide = ctx.f, ctx.ideal.folded, ctx.ideal, ctx.wide
    u = f.unembed[0]
    lh, rh, uh = fh.left[0], fh.right[0], fh.unembed[0]
    live, others, r, eps_u = ctx.live, ctx.others, ctx.real, ideal.eps_u
    virt = torch.arange(r, ctx.m)

    def lr_radius(cols: torch.Tensor) -> torch.Tensor:  # ‖e_ℓ(x)‖ + ‖e_r(y)‖
        if ctx.radius is None:
            return torch.zeros((), dtype=torch.float64)
        return work.at_xy(ctx.rad_norm(lambda t: t.left[0][:, cols], 1),
                          ctx.rad_norm(lambda t: t.right[0][:, cols], 1))

    parts: list[Part] = []
    if work.grid:
        n, n_v = (work.take(t) for t in hidden_norm_bound(ideal.proof, ctx.group, ctx.m,
                                                          split=r))
    else:
        n, n_v = hidden_norm_at(ideal.proof, ctx.group, ctx.m, r, work.xs, work.ys)
    if len(live):
        eu_c = ctx.rad_norm(lambda t: t.unembed[0][live], 0)
        col_a = (norm_up(u[live], 0) + eu_c) * (1 + wide) + TINY  # ≥ ‖u_C(z)‖
        col_b = (norm_up(torch.relu(u[live] - uh[live]), 0) + eps_u * norm_up(uh[live], 0)
                 + eu_c) * (1 + wide) + TINY  # ≥ ‖(u_C(z) − u*_C(z))⁺‖
        dl = f.left[0][:, live] - lh[:, live]  # one rounding of an exact difference each
        dr = f.right[0][:, live] - rh[:, live]
        # ≥ ‖Δℓ_C(x) + Δr_C(y)‖ of the exact differences, then the tables' ε and the radius
        a_c = work.dist(dl, dr) + 2 * U * work.at_xy(norm_up(dl, 1), norm_up(dr, 1))
        extra_c = ideal.eps_lr * work.at_xy(norm_up(lh[:, live], 1), norm_up(rh[:, live], 1)) \
            + lr_radius(live)
        d = (a_c + extra_c) * (1 + wide) + TINY
        parts += [(col_a, d), (col_b, n)]
        work.raw["c"] = (a_c, extra_c)  # the exact-group stage subtracts R's share [X1]
    if len(others):  # ℓ_Z, r_Z are the centres themselves: only their radius to add
        a_z, extra_z = work.dist(f.left[0][:, others], f.right[0][:, others]), lr_radius(others)
        parts.append(((norm_up(torch.relu(u[others]), 0)
                       + ctx.rad_norm(lambda t: t.unembed[0][others], 0)) * (1 + wide) + TINY,
                      (a_z + extra_z) * (1 + wide) + TINY))
        work.raw["z"] = (a_z, extra_z)
    if len(virt):  # the term is −u*_V(z)·h*_V: ‖(−u*_V(z))⁺‖ ≤ ‖(−û_V(z))⁺‖ + eps_u ‖û_V(z)‖
        col_v = (norm_up(torch.relu(-uh[virt]), 0) + eps_u * norm_up(uh[virt], 0)) \
            * (1 + wide) + TINY
        parts.append((col_v, n_v))
    return parts


STAGE = PerInput()

__all__ = ["STAGE", "PerInput", "spread_parts"]
