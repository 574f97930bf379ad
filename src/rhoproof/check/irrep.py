"""The checker's V_irrep (docs/soundness.md §2–3): the ideal from ``ideal``, stage 1 from
``separable``, then D, N, L and the per-output spreads in float64 with their own widenings,
plus the enclosure's radius [F1]; the count of certified inputs and the CE bound."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rhoproof.check.brute import correct_low_at
from rhoproof.check.ideal import ideal_at_orbits, irrep_ideal
from rhoproof.check.parse import Claim, RhoSetTables, SignTables
from rhoproof.check.rounding import (
    ETA,
    TINY,
    U,
    ce_terms,
    down,
    lse_up,
    mean_up_total,
    norm_up,
    up,
    widen,
)
from rhoproof.check.separable import separable
from rhoproof.check.table import group_facts

SLAB = 1 << 20
"""Inputs per slab of rows where the checker sums stage 1's CE bound over the whole grid."""

def irrep(claim: Claim, c: dict, r: dict | None, table: np.ndarray) -> tuple[int, float]:
    """Recompute V_irrep's certified count and CE bound (docs/soundness.md §2–3): the ideal's
    margins per orbit, then the prover's stages with the checker's own code: stage 1 [S1]
    (``separable``), per input, per output, and the CE bound [CE2]."""
    g = table.shape[0]
    c, r = _with_virtual(c, r, g, claim.virtual_neurons)
    m = c["left"].shape[1]
    ih, eps_lr, eps_u, eps_b = irrep_ideal(claim, table, m)
    eps = (eps_lr, eps_u, eps_b)
    om = _OrbitMargins(claim, ih, eps, table, min(claim.top_k, g - 1))
    stage1, ce1 = separable(claim, c, r, ih, eps, om.margin, om.gap)
    # in mode "needed" the later stages see only what stage 1 leaves (as the prover), so the
    # checker is as sub-quadratic as the proof; in "all", every input
    xs, ys = np.nonzero(~stage1 if claim.per_output == "needed" else np.ones((g, g), bool))
    parts, col_c = _parts(claim, c, r, ih, eps, table, xs, ys)

    def spread(pick: Any, where: Any = None) -> np.ndarray:
        total = pick(col_c)
        for col, factor in parts:
            total = total + pick(col) * (factor if where is None else factor[where])
        return total * (1 + 8 * U) + TINY

    # stage 2, per input
    s_max = spread(np.max)  # [t]
    o_in = om.orbit[xs, ys]  # each input's orbit
    t1_in = om.top1[o_in]
    l_low = correct_low_at(c, r, table, xs, ys)
    delta = l_low - up(t1_in + s_max, np.abs(t1_in) + s_max)
    # stage 3, per output
    if claim.per_output == "all":
        todo = np.arange(len(xs))
    else:  # as the prover: skip the globally certified and the hopeless
        todo = np.nonzero((delta <= 0) & (l_low > t1_in + spread(np.min)))[0]
    wrong, acc = _per_output(om, table, spread, xs[todo], ys[todo], o_in[todo], l_low[todo],
                             todo)
    if g - 1 > om.k:
        rest, sm = om.f_up[o_in[todo], om.order[o_in[todo], om.k]], s_max[todo]
        wrong = np.maximum(wrong, up(rest + sm, np.abs(rest) + sm))
    delta[todo] = np.maximum(delta[todo], l_low[todo] - wrong)
    delta = np.where(np.isnan(delta), -np.inf, delta)
    ce = _cross_entropy(claim, om, delta, s_max, l_low, o_in, todo, acc, g)
    certified = stage1.copy()
    certified[xs, ys] |= delta > 0
    better = [(xs, ys, ce)]  # each is an upper bound per input: the least counts
    if claim.exact_neurons is not None:  # [X1] on every input: the prover ran it where its
        # own stages 1-3 failed, which may be inputs this checker's cascade certifies with a
        # larger CE bound (its stages differ in the last bits); running everywhere keeps every
        # bound the prover could have used. Cost: |G|³ (|R| + groups), at most ~4x brute's
        ex, ey = np.nonzero(np.ones((g, g), dtype=bool))
        ok, ce_r = _exact_group(claim, c, r, ih, eps, om, table, ex, ey)
        certified[ex, ey] |= ok
        better.append((ex, ey, ce_r))
    return int(certified.sum()), _mean_ce(ce1, better, g)


def _mean_ce(ce1: Any, better: list[tuple[np.ndarray, np.ndarray, np.ndarray]], g: int
             ) -> float:
    """≥ the mean over all inputs of min(stage 1's CE bound, the later stages' at the inputs
    they ran on), a slab of rows at a time (stage 1's bound is never held on the whole grid:
    [G, G] float64 is 200 MB at |G| = 5040). ``better``: (xs, ys, bound) in row-major order,
    as ``np.nonzero`` gives them."""
    step = max(1, SLAB // g)
    total = 0.0
    for x0 in range(0, g, step):
        x1 = min(g, x0 + step)
        block = ce1(x0, x1).ravel()
        for bx, by, bv in better:
            lo, hi = np.searchsorted(bx, [x0, x1])
            at = (bx[lo:hi] - x0) * g + by[lo:hi]
            block[at] = np.minimum(block[at], bv[lo:hi])
        total += float(block.sum())
    return mean_up_total(total, g * g)


def _exact_group(claim: Claim, c: dict, r: dict | None, ih: dict,
                 eps: tuple[float, float, float], om: _OrbitMargins, table: np.ndarray,
                 xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[X1] (docs/soundness.md §2.2): at the inputs (xs, ys), every output z is bounded by
    U_z = F*_O(g⁻¹zh⁻¹) + s^R_z + Ē_R(z), with the neurons of R computed exactly (centre ±
    radius of the real model, the ideal's tables with their ε) and the spread over the rest.
    Returns (certified [t], CE bound [t])."""
    assert claim.exact_neurons is not None
    g = table.shape[0]
    _, inv = group_facts(table)
    m = c["left"].shape[1]
    rr = claim.exact_neurons
    drop = np.zeros(m, dtype=bool)
    drop[rr] = True
    parts, col_c = _parts(claim, c, r, ih, eps, table, xs, ys, drop)
    l_low = correct_low_at(c, r, table, xs, ys)
    eps_lr, eps_u, _ = eps
    tab_eps = U + eps_lr + 1.01 * eps_u
    wide = widen(2 * len(rr) + 4)
    u, uh = c["unembed"][rr], ih["unembed"][rr]
    ok = np.zeros(len(xs), dtype=bool)
    ce = np.full(len(xs), np.inf)
    step = max(1, (1 << 20) // max(1, g + len(rr)))
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(0, len(xs), step):
            x, y = xs[j:j + step], ys[j:j + step]
            rows = np.arange(len(x))
            hid = np.maximum(c["left"][x][:, rr] + c["right"][y][:, rr], 0.0)
            hid_i = np.maximum(ih["left"][x][:, rr] + ih["right"][y][:, rr], 0.0)
            val = hid @ u - hid_i @ uh
            err = wide * (hid @ np.abs(u) + hid_i @ np.abs(uh)) \
                + (np.abs(ih["left"][x][:, rr]) + np.abs(ih["right"][y][:, rr])) \
                @ np.abs(uh) * tab_eps
            if r is not None:
                eu = r["unembed"][rr]
                err = err + (r["left"][x][:, rr] + r["right"][y][:, rr]) @ (np.abs(u) + eu) \
                    + hid @ eu
            err = err * (1 + wide) + (4 * len(rr) + 8) * ETA + TINY
            e_up = up(val + err, np.abs(val) + err)
            spread = np.broadcast_to(col_c[None, :], (len(x), g))
            for col, factor in parts:
                spread = spread + col[None, :] * factor[j:j + step, None]
            spread = spread * (1 + 8 * U) + TINY
            orb = om.orbit[x, y]
            w_of_z = table[table[inv[om.tg[x, y]]], inv[om.th[x, y]][:, None]]  # g⁻¹ z h⁻¹
            fw = om.f_up[orb[:, None], w_of_z]
            u_z = up(fw + spread + e_up, np.abs(fw) + spread + np.abs(e_up))
            z0 = table[x, y]
            u_z[rows, z0] = -np.inf
            low = l_low[j:j + step]
            ok[j:j + step] = low > u_z.max(1)
            expo = up(u_z - low[:, None], np.abs(u_z) + np.abs(low)[:, None])
            expo[rows, z0] = -np.inf
            ce[j:j + step] = np.log1p(np.exp(expo).sum(1))
    return ok, np.where(np.isnan(ce), np.inf, ce)


def _with_virtual(c: dict, r: dict | None, g: int, v: int) -> tuple[dict, dict | None]:
    """The model with ``v`` zero-weight neurons appended: the same function, room for a
    circuit's missing terms."""
    if not v:
        return c, r

    def pad(t: dict) -> dict:
        return {"left": np.hstack([t["left"], np.zeros((g, v))]),
                "right": np.hstack([t["right"], np.zeros((g, v))]),
                "unembed": np.vstack([t["unembed"], np.zeros((v, g))]), "bias": t["bias"]}

    return pad(c), (None if r is None else pad(r))


class _OrbitMargins:
    """The ideal's values per orbit of its symmetry [H1] (``ideal_at_orbits``) and what the
    stages read from them: the largest wrong value, the log-sum-exp of the wrong values, the
    margin and the gap."""

    def __init__(self, claim: Claim, ih: dict, eps: tuple[float, float, float],
                 table: np.ndarray, k: int) -> None:
        g = table.shape[0]
        e, _ = group_facts(table)
        self.k = k
        self.f_up, f_low, self.order, self.orbit, self.tg, self.th = ideal_at_orbits(
            claim, ih, eps, table, e, k)
        n_orb = len(self.f_up)
        self.rows = np.arange(n_orb)
        wrong_up = self.f_up.copy()
        wrong_up[self.rows, self.order[:, -1]] = -np.inf  # the last column: correct output
        self.top1 = wrong_up.max(1) if g > 1 else np.full(n_orb, -np.inf)  # [R]
        self.lse = np.array([lse_up(wrong_up[j, self.order[j, :-1]]) for j in self.rows]) \
            if g > 1 else np.full(n_orb, -np.inf)
        with np.errstate(invalid="ignore"):
            self.margin = float(down(f_low - self.top1, np.abs(f_low) + np.abs(self.top1))
                                .min()) if g > 1 else math.inf
            self.gap = float(up(self.lse - f_low, np.abs(self.lse) + np.abs(f_low)).max()) \
                if g > 1 else -math.inf


def _parts(claim: Claim, c: dict, r: dict | None, ih: dict, eps: tuple[float, float, float],
           table: np.ndarray, xs: np.ndarray, ys: np.ndarray, drop: np.ndarray | None = None
           ) -> tuple[list[tuple[np.ndarray, Any]], np.ndarray]:
    """The spread's terms per neuron group (Cauchy–Schwarz per group: circuits, other real
    neurons, virtual), (column over z, factor at the inputs), and the bias column; the
    neurons ``drop`` marks (an exact group [X1]) are left out of every group."""
    eps_lr, eps_u, eps_b = eps
    _, inv = group_facts(table)
    m = c["left"].shape[1]
    wide = widen(m + 2)
    u, b, uh, bh, lh, rh = c["unembed"], c["bias"], ih["unembed"], ih["bias"], ih["left"], \
        ih["right"]
    real = m - claim.virtual_neurons
    in_circuit = np.zeros(m, dtype=bool)
    for circ in claim.circuits:
        in_circuit[circ.neurons] = True
    keep = np.ones(m, dtype=bool) if drop is None else ~drop
    live = np.nonzero(in_circuit[:real] & keep[:real])[0]
    others = np.nonzero(~in_circuit[:real] & keep[:real])[0]
    virt = np.arange(real, m)[keep[real:]]

    def rnorm(key: str, idx: np.ndarray, axis: int) -> Any:
        if r is None:
            return 0.0
        t = r[key][idx] if key == "unembed" else r[key][:, idx]
        return norm_up(t, axis)

    def rad(idx: np.ndarray) -> Any:
        return 0.0 if r is None else rnorm("left", idx, 1)[xs] + rnorm("right", idx, 1)[ys]

    col_c = (np.maximum(b - bh, 0) + (0.0 if r is None else r["bias"]) + eps_b) * (1 + wide) \
        + TINY
    n, n_v = _hidden_norm_at(claim, inv, m, real, xs, ys, keep)
    parts: list[tuple[np.ndarray, Any]] = []
    if len(live):
        eu = rnorm("unembed", live, 0)
        col_a = (norm_up(u[live], 0) + eu) * (1 + wide) + TINY
        col_b = (norm_up(np.maximum(u[live] - uh[live], 0), 0) + eps_u * norm_up(uh[live], 0)
                 + eu) * (1 + wide) + TINY
        dl, dr = c["left"][:, live] - lh[:, live], c["right"][:, live] - rh[:, live]
        d = (_distance_at(dl, dr, xs, ys) + 2 * U * (norm_up(dl, 1)[xs] + norm_up(dr, 1)[ys])
             + eps_lr * (norm_up(lh[:, live], 1)[xs] + norm_up(rh[:, live], 1)[ys])
             + rad(live)) * (1 + wide) + TINY
        parts += [(col_a, d), (col_b, n)]
    if len(others):  # u* = h* = 0 there: ‖u_Z(z)⁺‖ ‖ℓ_Z(x) + r_Z(y)‖
        parts.append(((norm_up(np.maximum(u[others], 0), 0) + rnorm("unembed", others, 0))
                      * (1 + wide) + TINY,
                      (_distance_at(c["left"][:, others], c["right"][:, others], xs, ys)
                       + rad(others)) * (1 + wide) + TINY))
    if len(virt):  # ‖(−u*_V(z))⁺‖ ‖h*_V(x, y)‖
        parts.append(((norm_up(np.maximum(-uh[virt], 0), 0) + eps_u * norm_up(uh[virt], 0))
                      * (1 + wide) + TINY, n_v))
    return parts, col_c


def _per_output(om: _OrbitMargins, table: np.ndarray, spread: Any, xs: np.ndarray,
                ys: np.ndarray, oi: np.ndarray, low: np.ndarray, todo: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Stage 3 at the inputs ``todo``: max over the top k w of U_w = F*_O(w) + s_z at
    z = g·w·h, and Σ_w e^{U_w − L} (the CE bound [CE2])."""
    gi, hi_ = om.tg[xs, ys], om.th[xs, ys]
    wrong = np.full(len(todo), -np.inf)
    acc = np.zeros(len(todo))
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(om.k):
            w_ = om.order[oi, j]
            z = table[table[gi, w_], hi_]  # g·w·h: at (x, y) = (g x_O, y_O h) [H1]
            sz = spread(lambda col, z=z: col[z], todo)
            fw = om.f_up[oi, w_]
            up_w = up(fw + sz, np.abs(fw) + sz)
            wrong = np.maximum(wrong, up_w)
            acc += np.exp(up(up_w - low, np.abs(up_w) + np.abs(low)))
    return wrong, acc


def _cross_entropy(claim: Claim, om: _OrbitMargins, delta: np.ndarray, s_max: np.ndarray,
                   l_low: np.ndarray, o_in: np.ndarray, todo: np.ndarray, acc: np.ndarray,
                   g: int) -> np.ndarray:
    """[CE2]: every wrong logit is at most F*(x⁻¹zy⁻¹) + s_max, so CE ≤ log(1 + e^{s_max − L}
    Σ_{w≠e} e^{F*(w)}); for per_output "all", the top k one by one and the rest together;
    per input the smallest of these and the max-based bound."""
    ce = ce_terms(delta, g)
    if g <= 1:
        return ce
    low = l_low[todo]
    with np.errstate(over="ignore", invalid="ignore"):
        t_all = om.lse[o_in]
        t = up(s_max + t_all - l_low, s_max + np.abs(t_all) + np.abs(l_low))
        ce = np.minimum(ce, np.log1p(np.exp(t)))
        if claim.per_output == "all":
            rest_terms = np.zeros(len(todo))
            if g - 1 > om.k:
                t_rest = np.array([lse_up(om.f_up[j, om.order[j, om.k:-1]])
                                   for j in om.rows])[o_in[todo]]
                rest_terms = np.exp(up(s_max[todo] + t_rest - low,
                                       s_max[todo] + np.abs(t_rest) + np.abs(low)))
            ce[todo] = np.minimum(ce[todo], np.log1p(acc + rest_terms))
    return np.where(np.isnan(ce), np.inf, ce)


def _distance_at(dl: np.ndarray, dr: np.ndarray, xs: np.ndarray, ys: np.ndarray
                 ) -> np.ndarray:
    """≥ ‖dl(x) + dr(y)‖ (the exact sum of the floats) at the inputs (xs, ys), computed
    directly, in slabs: fl(a + b) is within u|a + b| of a + b entrywise, so the exact norm is at
    most the norm of the rounded sums times (1 + 2u). At a quarter of the grid or more: the
    whole grid from ‖a‖² + ‖b‖² + 2a·b (one matrix product), widened for its own rounding,
    except where a and b nearly cancel (‖a‖² + ‖b‖² above 16 times the square): there that
    value is mostly rounding noise, not comparable with the prover's, so those inputs take the
    direct norm."""
    g, m = dl.shape
    if 4 * len(xs) >= g * g:  # most of the grid: all of it from one product, then the inputs
        grid, mag = _distance_grid(dl, dr)
        grid, mag = grid[xs, ys], mag[xs, ys]
        near = np.nonzero(mag > 16 * grid**2)[0]  # cancellation: the direct norm
        if len(near):
            grid[near] = _distance_direct(dl, dr, xs[near], ys[near])
        return grid
    return _distance_direct(dl, dr, xs, ys)


def _distance_direct(dl: np.ndarray, dr: np.ndarray, xs: np.ndarray, ys: np.ndarray
                     ) -> np.ndarray:
    """``_distance_at`` computed directly at the inputs, in slabs."""
    out = np.empty(len(xs))
    step = max(1, (1 << 21) // max(1, dl.shape[1]))
    for j in range(0, len(xs), step):
        out[j:j + step] = norm_up(dl[xs[j:j + step]] + dr[ys[j:j + step]], 1)
    return out * (1 + 2 * U) + TINY


def _distance_grid(dl: np.ndarray, dr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_distance_at`` on the whole grid [G, G] from one matrix product, and the computed
    ‖a‖² + ‖b‖² there (to tell where a and b cancel)."""
    m = dl.shape[1]
    # ‖a + b‖² = A + B + 2C (A = ‖a‖², B = ‖b‖², C = a·b): the computed Â, B̂, Ĉ are within
    # γ_{m+2} of A, B and of Σ|a_i b_i| ≤ (A + B)/2; the three-term sum adds 4u of its
    # magnitudes; the root of the widened square (underflow: 2(m + 2)η inside) adds 4u
    gam = widen(m + 2)
    sa, sb = (dl * dl).sum(1), (dr * dr).sum(1)
    cross = dl @ dr.T  # [G, G]
    mag = sa[:, None] + sb[None]
    sq = mag + 2 * cross + 2 * gam * mag * (1 + 2 * gam) + 4 * U * (mag + 2 * np.abs(cross))
    return np.sqrt(np.maximum(sq, 0.0) + 2 * (m + 2) * ETA) * (1 + 4 * U) + TINY, mag


def _hidden_norm_at(claim: Claim, inv: np.ndarray, m: int, split: int, xs: np.ndarray,
                    ys: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """≥ ‖h*(x, y)‖ at the inputs (xs, ys), over the kept neurons below ``split`` and from it
    on: [2, t]; each term gathered directly (sign: 4λ² when b χ(x) = c χ(y) = 1)."""
    total = np.zeros((2, len(xs)))
    g = len(inv)
    most = 4 * len(xs) >= g * g  # most of the grid: all of it, then the inputs
    for c in claim.circuits:
        low = (c.neurons < split) & keep[c.neurons]
        high = (c.neurons >= split) & keep[c.neurons]
        lam2 = c.scale**2
        if most and isinstance(c, SignTables):
            # Σ_i 4λ_i² [b_i χ(x) = 1] [c_i χ(y) = 1]: one product per neuron set
            on_x = (((1 - 2 * c.p)[None] * c.chi[:, None]) == 1).astype(np.float64)
            on_y = (((1 - 2 * c.q)[None] * c.chi[:, None]) == 1).astype(np.float64)
            for row, sel in ((0, low), (1, high)):
                if sel.any():
                    total[row] += ((on_x[:, sel] * (4 * lam2[sel])[None])
                                   @ on_y[:, sel].T)[xs, ys]
            continue
        if most and isinstance(c, RhoSetTables) and len(c.gamma)**2 <= max(64, len(c.neurons)):
            # Σ_q A_x[q, act_C[y, q]] = ⟨A_x, P_y⟩: one product per neuron set. It costs
            # |G|² n_c² against the direct gathers' |G|² n and holds [G, n_c, n_c]: only where
            # n_c² is at most the circuit's neurons (or small)
            r2 = np.maximum(c.alpha[:, None] + c.gamma[None], 0.0) ** 2
            nc = len(c.gamma)
            onehot = np.zeros((g, nc, nc))
            onehot[np.arange(g)[:, None], np.arange(nc)[None], c.act_c] = 1.0
            p_y = onehot.reshape(g, nc * nc).T
            for row, sel in ((0, low), (1, high)):
                if sel.any():
                    qs, ps, ls = c.q[sel], c.p[sel], lam2[sel][None, :, None]
                    grid_n = np.empty((g, g))
                    step = max(1, (1 << 22) // (len(qs) * nc + nc * nc))  # rows x
                    for x0 in range(0, g, step):
                        x = np.arange(x0, min(g, x0 + step))
                        rx = r2[c.act_b[inv[x][:, None], ps[None]]] * ls  # [x, n, q']
                        a_x = np.zeros((len(x), nc, nc))  # [x, q, q']
                        for qv in np.unique(qs):
                            a_x[:, qv] = rx[:, qs == qv].sum(1)
                        grid_n[x0:x0 + len(x)] = a_x.reshape(len(x), nc * nc) @ p_y
                    total[row] += grid_n[xs, ys]
            continue
        step = max(1, (1 << 20) // max(1, len(c.neurons)))  # [t, n] a slab of inputs at a time
        for j in range(0, len(xs), step):
            sq = _hidden_sq(c, inv, xs[j:j + step], ys[j:j + step])  # [t, n]
            total[0, j:j + step] += sq[:, low].sum(1)
            total[1, j:j + step] += sq[:, high].sum(1)
    return np.sqrt(total * (1 + widen(m + 8)) + 4 * (m + 8) * ETA) * (1 + 4 * U) + TINY


def _hidden_sq(c: Any, inv: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """h*_i(x, y)² for each of circuit c's neurons at the inputs (x, y), [t, n]: sign circuits
    4λ² where b χ(x) = c χ(y) = 1, ρ-sets λ² (α_{g⁻¹·p} + γ_{h·q})⁺² gathered by [x, p] pairs
    (never whole rows of the actions: n_b, n_c may be |G|)."""
    lam2 = c.scale**2
    if isinstance(c, SignTables):
        on = (((1 - 2 * c.p)[None] * c.chi[x][:, None]) == 1) \
            & (((1 - 2 * c.q)[None] * c.chi[y][:, None]) == 1)
        return on * (4 * lam2)[None]
    r2 = np.maximum(c.alpha[:, None] + c.gamma[None], 0.0) ** 2
    return r2[c.act_b[inv[x][:, None], c.p[None]], c.act_c[y[:, None], c.q[None]]] * lam2[None]


__all__ = ["irrep"]
