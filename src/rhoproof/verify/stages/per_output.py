"""Stage 3 of the V_irrep cascade, per output (docs/soundness.md §2): for each of the k largest
wrong values F*_O(w) of the input's orbit, its own spread at the output z = tg·w·th,

    f(z | x, y) ≤ F*_O(w) + s_z(x, y),

and the other outputs together by F*_(k+1) + max_z s_z. Run for every input ("all": it also
tightens the cross-entropy bound, with Σ_w e^{U_w − L} per input [CE2]) or only where stage 2
failed and the input is not hopeless: even the smallest spread on the largest F*(w) is ≥ L
(monotone rounding keeps this exact).
"""

from __future__ import annotations

import torch

from rhoproof.rounding import TINY, U, up
from rhoproof.verify.records import Stage
from rhoproof.verify.stages.context import Part, ProofContext, Work


class PerOutput:
    """Stage 3: raises δ where an output's own spread beats the largest one."""

    name = "per_output"

    def run(self, ctx: ProofContext, work: Work) -> Stage:
        assert work.delta is not None and work.l_low is not None and work.s_max is not None
        assert work.top1 is not None and work.certified_before is not None
        if not work.full and not len(work.xs):  # stage 1 settled every input
            return Stage(self.name, 0, 0, 0, 0.0)
        mg, g, table = ctx.margins, ctx.g, ctx.group.table
        delta, l_low, s_max = work.delta, work.l_low, work.s_max
        k = mg.top.shape[1]
        sel: torch.Tensor | None
        if work.full and mg.count == 1:  # z = x·w·y: whole rows of the Cayley table
            wrong, work.acc = _per_output_grid(work.parts, ctx.col_c, mg.f_up[0], mg.top[0],
                                               table, l_low)
            sel, n3 = None, g * g
        else:
            if work.full:  # every input, flattened
                sel = torch.arange(g * g)
                x3, y3 = sel // g, sel % g
                flat = [(col, factor.reshape(-1)) for col, factor in work.parts]
                l3 = l_low.reshape(-1)
            else:  # where stage 2 fails and the input is not hopeless
                s_min = work.spread(ctx, lambda col: float(col.min()))
                sel = torch.nonzero((delta <= 0) & (l_low > work.top1 + s_min))[:, 0]  # [t]
                x3, y3 = work.xs[sel], work.ys[sel]
                flat = [(col, factor[sel]) for col, factor in work.parts]
                l3 = l_low[sel]
            wrong, acc3 = _per_output_at(flat, ctx.col_c, mg.f_up, mg.top, mg.orbit[x3, y3],
                                         mg.tg[x3, y3], mg.th[x3, y3], table, l3, work.full)
            if work.full:
                work.acc = acc3.reshape(g, g)
                wrong = wrong.reshape(g, g)
                sel = None
            n3 = len(x3)
        if g - 1 > k:  # the other outputs together
            rest_in = work.per_orbit(mg.rest, mg.orbit)
            sm, rm = (s_max, rest_in) if sel is None else (s_max[sel], rest_in[sel])
            wrong = torch.maximum(wrong, up(rm + sm, rm.abs() + sm))
        if sel is None:
            work.delta = torch.maximum(delta, l_low - wrong)
        elif wrong.numel():
            delta[sel] = torch.maximum(delta[sel], l_low[sel] - wrong)
        new = int(((work.delta > 0) & ~work.certified_before).sum())
        return Stage(self.name, n3, new, n3 * 8 * min(k, g - 1) * (len(work.parts) + 1), 0.0)


def _per_output_grid(parts: list[Part], col_c: torch.Tensor, f_up: torch.Tensor, top: torch.Tensor,
                     table: torch.Tensor, l_low: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """For every input, [G, G] each: the max over the top w of U_w = F(w) + s_{xwy}(x, y), and
    Σ_w e^{U_w − L(x, y)} over them (for the cross-entropy bound [CE2]; each argument rounded
    up, so each term is an upper bound up to exp's own ulp).

    For a fixed w, output x·w·y is row (x·w) of the Cayley table, so each column of the
    spread, gathered once as col[table] ([G, G]), is read by whole rows."""
    g = table.shape[0]
    by_row = [(col[table], factor) for col, factor in parts]  # col[z] at (xw, y)
    c_row = col_c[table]
    wrong = torch.full((g, g), -torch.inf, dtype=torch.float64)
    acc = torch.zeros((g, g), dtype=torch.float64)
    low = l_low[:, None, :]  # [G, 1, G]
    step = max(1, (1 << 21) // (g * g))
    for j in range(0, len(top), step):
        w = top[j:j + step]
        xw = table[:, w]  # [G, kc]: x·w
        total = c_row[xw]  # [G, kc, G]
        for col_row, factor in by_row:  # same operation order as ``spread``
            total = total + col_row[xw] * factor[:, None, :]
        s_z = total * (1 + 8 * U) + TINY
        fw = f_up[w][None, :, None]
        up_w = up(fw + s_z, fw.abs() + s_z)  # [G, kc, G]
        wrong = torch.maximum(wrong, up_w.max(1).values)
        acc += torch.exp(up(up_w - low, up_w.abs() + low.abs())).sum(1)
    return wrong, acc


def _per_output_at(parts: list[Part], col_c: torch.Tensor, f_up: torch.Tensor, top: torch.Tensor,
                   orb: torch.Tensor, tg: torch.Tensor, th: torch.Tensor, table: torch.Tensor,
                   l_low: torch.Tensor, want_acc: bool
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-output bound at t inputs given by their orbit ``orb`` and transport (tg, th)
    [t] each: for each of the orbit's top w, output z = tg·w·th with U_w = F*_O(w) + s_z;
    returns max_w U_w and (``want_acc``) Σ_w e^{U_w − L} [t] each. ``parts``: (column [G],
    factor [t]) as in ``spread``."""
    t, k = len(orb), top.shape[1]
    wrong = torch.full((t,), -torch.inf, dtype=torch.float64)
    acc = torch.zeros(t, dtype=torch.float64)
    step = max(1, (1 << 21) // max(1, k))
    for j in range(0, t, step):
        sl = slice(j, j + step)
        w = top[orb[sl]]  # [c, k]
        z = table[table[tg[sl, None], w], th[sl, None]]  # [c, k]
        total = col_c[z]
        for col, factor in parts:  # same operation order as ``spread``
            total = total + col[z] * factor[sl, None]
        s_z = total * (1 + 8 * U) + TINY
        fw = f_up[orb[sl, None], w]
        up_w = up(fw + s_z, fw.abs() + s_z)  # [c, k]
        wrong[sl] = up_w.max(1).values
        if want_acc:
            low = l_low[sl, None]
            acc[sl] = torch.exp(up(up_w - low, up_w.abs() + low.abs())).sum(1)
    return wrong, acc


STAGE = PerOutput()

__all__ = ["STAGE", "PerOutput"]
