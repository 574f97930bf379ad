"""The checker's V_fourier (docs/soundness.md §7, [P1]–[P5]): the per-input bound of a
low-rank split u = C·B + ρ of the unembedding, recomputed from the certificate's B, C, exact
neurons and groups, none of which the bound trusts (any floats give a sound bound)."""

from __future__ import annotations

import numpy as np

from rhoproof.check.brute import correct_low
from rhoproof.check.parse import Claim
from rhoproof.check.rounding import ETA, TINY, U, ce_terms, ce_up, mean_up, norm_up, widen
from rhoproof.check.table import group_facts


def _group_norms(squares: np.ndarray, starts: np.ndarray, n_max: int, axis: int
                 ) -> np.ndarray:
    """≥ the Euclidean norm of each group (runs beginning at ``starts`` along ``axis``) from
    the squares: [R2] with the largest group's size n_max for every group."""
    if len(starts) == 0:
        shape = list(squares.shape)
        shape[axis] = 0
        return np.zeros(shape)
    sums = np.add.reduceat(squares, starts, axis=axis)
    return np.sqrt(sums * (1 + widen(n_max + 2)) + (n_max + 1) * ETA) * (1 + 4 * U)


def fourier(claim: Claim, c: dict, r: dict | None, table: np.ndarray) -> tuple[int, float]:
    """(certified inputs, cross-entropy bound) of the claim's split on the enclosure c ± r."""
    spec = claim.fourier
    assert spec is not None
    big_b, big_c, ex = spec.basis, spec.coef, spec.exact
    g, m = c["left"].shape
    k = big_b.shape[0]
    u, beta = c["unembed"], c["bias"]
    zero = {n: np.zeros_like(v) for n, v in c.items()}
    rad = zero if r is None else r
    nx = ~ex
    n_e = int(ex.sum())
    # the non-exact neurons sorted by group: each group is one run, summed by reduceat (no
    # loop over groups, whose number a certificate chooses)
    free = np.nonzero(nx)[0]
    order = free[np.argsort(spec.groups[free], kind="stable")]
    labels, starts = np.unique(spec.groups[order], return_index=True)
    n_max = int(np.diff(np.append(starts, len(order))).max()) if len(order) else 0

    # [P3] fl(CB) is within γ_k |C||B| of CB; ρ = u − CB ≤ ρ̄, rounded up
    u_hat = big_c @ big_b  # [m, G]
    u_err = widen(k) * (np.abs(big_c) @ np.abs(big_b)) + k * ETA
    d = u - u_hat
    slack = np.abs(d) + u_err + rad["unembed"]
    rho_bar = d + u_err + rad["unembed"] + 4 * U * slack + TINY
    pos = np.maximum(rho_bar, 0.0)[order]  # [n, G], by group
    rho_g = _group_norms(pos * pos, starts, n_max, 0)  # [n_g, G]
    w_abs = np.where(ex[:, None], np.abs(u), np.abs(u_hat) + u_err)  # ≥ |w_i(z)|
    w_norm = norm_up(w_abs, 0)  # [G]
    eu_e = norm_up(rad["unembed"][ex], 0) if n_e else np.zeros(g)
    b_top = np.abs(big_b).max(1)  # [k]
    u_top = np.abs(u[ex]).max(1) if n_e else np.zeros(0)

    _, inv = group_facts(table)
    l_low = correct_low(c, r, table, inv)  # ≤ f(xy | x, y)
    count, ce = 0, np.zeros((g, g))
    n_terms = k + n_e + 2
    rows = max(1, (1 << 21) // (g * max(m, g)))
    for x0 in range(0, g, rows):
        xs = np.arange(x0, min(g, x0 + rows))
        s = c["left"][xs][:, None, :] + c["right"][None]  # [c, G, m]
        hid = np.maximum(s, 0.0)
        e_h = ((rad["left"][xs][:, None, :] + rad["right"][None]) * (1 + 2 * U)
               + 2 * U * np.abs(s)) * (1 + 4 * U) + TINY  # ≥ |h − ĥ|
        h_n, h_e = hid[..., nx], hid[..., ex]
        a = h_n @ big_c[nx]  # [c, G, k]
        da = widen(m) * (h_n @ np.abs(big_c[nx])) + m * ETA  # ≥ |a − Σ ĥ C| (ĥ ≥ 0)
        main = a @ big_b + beta  # [c, G, G_z]
        if n_e:
            main = main + h_e @ u[ex]
        # [P4]: the k + |E| + 1 products and their sum, and A's own error through B
        m_err = widen(n_terms) * ((np.abs(a) + da) @ b_top + h_e @ u_top) + da @ b_top
        m_err = m_err[..., None] + widen(n_terms) * np.abs(beta) + (n_terms + 4) * ETA
        h_up = (hid + e_h) * (1 + 2 * U)  # ≥ h
        extra = w_norm * norm_up(e_h, 2)[..., None]  # Σ w_i (h_i − ĥ_i)
        if n_e:
            extra = extra + eu_e * norm_up(h_up[..., ex], 2)[..., None]
        h_groups = h_up[..., order]
        h_g = _group_norms(h_groups * h_groups, starts, n_max, 2)  # [c, G, n_g]
        resid = h_g @ rho_g if len(labels) else np.zeros_like(main)  # [P2]
        resid = resid * (1 + widen(len(labels))) + len(labels) * ETA
        pos_terms = m_err + extra + resid + rad["bias"]
        total = main + pos_terms
        upper = total + widen(len(labels) + 8) * (np.abs(main) + pos_terms) + TINY
        zs = table[xs]
        np.put_along_axis(upper, zs[..., None], -np.inf, 2)
        top = upper.max(2)
        low = l_low[xs]
        with np.errstate(invalid="ignore"):
            delta = low - top
        delta = np.where(np.isnan(delta), -np.inf, delta)
        count += int((low > top).sum())
        # [P5]: the smaller of the max-based bound and log(1 + Σ_z e^{upper(z) − L})
        lo = low[..., None]
        with np.errstate(invalid="ignore", over="ignore"):
            t = np.where(np.isfinite(upper), upper - lo + 4 * U * (np.abs(upper) + np.abs(lo))
                         + TINY, upper - lo)
        t = np.where(np.isnan(t), np.inf, t)
        ce[xs] = np.minimum(ce_terms(delta, g), ce_up(t))
    return count, mean_up(ce)


__all__ = ["fourier"]
