"""The checker's V_brute: every logit as a float64 centre with a rigorous error bound; inputs
whose correct logit and largest wrong logit the bounds cannot separate are decided with exact
integers (``limbs.decide``). The count is exact. ``correct_low`` and ``correct_low_at``
(the correct logit from below, on the grid or at given inputs) serve the proofs too."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rhoproof.check.rounding import (
    ETA,
    TINY,
    U,
    ce_up,
    down,
    mean_up,
    widen,
)


def _logit_bounds(c: dict, r: dict | None, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """centre and err with |f(z | x, y) − centre| ≤ err for x in xs, every y, z: [c, G, G]."""
    m = c["left"].shape[1]
    gam = (m + 4) * U * 1.01
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        hid = np.maximum(c["left"][xs][:, None, :] + c["right"][None], 0.0)  # [c, G, m]
        center = hid @ c["unembed"] + c["bias"]
        err = gam * (hid @ np.abs(c["unembed"]) + np.abs(c["bias"]))
        if r is not None:
            e_h = r["left"][xs][:, None, :] + r["right"][None]
            err = err + e_h @ (np.abs(c["unembed"]) + r["unembed"]) + hid @ r["unembed"] \
                + r["bias"]
        err = err * (1 + gam) + (4 * m + 8) * ETA
    return center, err

def correct_low(c: dict, r: dict | None, table: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """≤ f(xy | x, y) for all (x, y), one x at a time over its outputs z = xy."""
    g, m = c["left"].shape
    wide = widen(m + 4)
    u, b = c["unembed"], c["bias"]
    out = np.empty((g, g))
    for x in range(g):
        ys = table[inv[x]]  # y = x⁻¹z for z = 0 .. |G| − 1
        hid = np.maximum(c["left"][x][None] + c["right"][ys], 0.0)  # [z, m]
        val = np.einsum("zm,mz->z", hid, u) + b
        err = wide * (np.einsum("zm,mz->z", hid, np.abs(u)) + np.abs(b)) + TINY
        if r is not None:
            e_h = r["left"][x][None] + r["right"][ys]
            err = err + (np.einsum("zm,mz->z", e_h, np.abs(u) + r["unembed"])
                         + np.einsum("zm,mz->z", hid, r["unembed"]) + r["bias"]) \
                * (1 + wide) + (2 * m + 4) * ETA
        out[x, ys] = down(val - err, np.abs(val) + err)
    return out

Exact = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(xs, ys) → whether each input is correct, exactly, and upper bounds on f(z) − f(xy)."""


def brute(c: dict, r: dict | None, exact: Exact, table: np.ndarray) -> tuple[int, float]:
    """The exact count of correctly classified inputs and a CE upper bound: float enclosures
    decide most inputs, ``exact`` (``limbs.decide``) the rest, all at once."""
    g, m = c["left"].shape
    count, ce = 0, np.zeros((g, g))
    open_x: list[np.ndarray] = []
    open_y: list[np.ndarray] = []
    rows = max(1, (1 << 21) // (g * max(m, g)))
    for x0 in range(0, g, rows):
        xs = np.arange(x0, min(g, x0 + rows))
        center, err = _logit_bounds(c, r, xs)
        with np.errstate(over="ignore", invalid="ignore"):
            hi = center + err + 4 * U * (np.abs(center) + err) + TINY
            lo = center - err - 4 * U * (np.abs(center) + err) - TINY
        z = table[xs][..., None]  # [c, G, 1]
        lo_c = np.take_along_axis(lo, z, 2)[..., 0]
        hi_c = np.take_along_axis(hi, z, 2)[..., 0]
        hi_w, lo_w = hi.copy(), lo.copy()
        np.put_along_axis(hi_w, z, -np.inf, 2)
        np.put_along_axis(lo_w, z, -np.inf, 2)
        finite = np.isfinite(center).all(2) & np.isfinite(err).all(2)
        sure = (lo_c > hi_w.max(2)) & finite
        wrong = (hi_c <= lo_w.max(2)) & finite
        count += int(sure.sum())
        with np.errstate(over="ignore", invalid="ignore"):
            t = hi_w - lo_c[..., None]
            t = t + 4 * U * (np.abs(hi_w) + np.abs(lo_c)[..., None]) + TINY
        np.put_along_axis(t, z, -np.inf, 2)
        ce[xs] = ce_up(t)
        i, y = np.nonzero(~(sure | wrong))
        open_x.append(xs[i])
        open_y.append(y)
    ox, oy = np.concatenate(open_x), np.concatenate(open_y)
    if len(ox):
        ok, up_diff = exact(ox, oy)
        count += int(ok.sum())
        ce[ox, oy] = ce_up(up_diff)
    return count, mean_up(ce)


# --- V_irrep --------------------------------------------------------------------------------

def correct_low_at(c: dict, r: dict | None, table: np.ndarray, xs: np.ndarray,
                   ys: np.ndarray) -> np.ndarray:
    """≤ f(xy | x, y) at the inputs (xs, ys), in slabs (at a quarter of the grid or more: the
    whole grid by rows of x, without gathering ℓ and r)."""
    m = c["left"].shape[1]
    wide = widen(m + 4)
    u, b = c["unembed"], c["bias"]
    g = table.shape[0]
    if 4 * len(xs) >= g * g:  # most of the grid: all of it by rows of x, then the inputs
        return _correct_low_grid(c, r, table)[xs, ys]
    out = np.empty(len(xs))
    step = max(1, (1 << 20) // max(1, m))
    for j in range(0, len(xs), step):
        x, y = xs[j:j + step], ys[j:j + step]
        z = table[x, y]
        hid = np.maximum(c["left"][x] + c["right"][y], 0.0)  # [t, m]
        uz = u[:, z].T
        val = (hid * uz).sum(1) + b[z]
        err = wide * ((hid * np.abs(uz)).sum(1) + np.abs(b[z])) + TINY
        if r is not None:
            e_h = r["left"][x] + r["right"][y]
            eu = r["unembed"][:, z].T
            err = err + ((e_h * (np.abs(uz) + eu)).sum(1) + (hid * eu).sum(1) + r["bias"][z]) \
                * (1 + wide) + (2 * m + 4) * ETA
        out[j:j + step] = down(val - err, np.abs(val) + err)
    return out


def _correct_low_grid(c: dict, r: dict | None, table: np.ndarray) -> np.ndarray:
    """``correct_low_at`` on every input, [G, G]: the same value and error terms, by slabs of
    rows x (h(x, ·) by broadcasting, u(xy) gathered by the table's row)."""
    g, m = c["left"].shape
    wide = widen(m + 4)
    u_t = np.ascontiguousarray(c["unembed"].T)  # [z, m]
    u_abs, b = np.abs(u_t), c["bias"]
    eu_t = None if r is None else np.ascontiguousarray(r["unembed"].T)
    out = np.empty((g, g))
    step = max(1, (1 << 20) // max(1, g * m))
    for x0 in range(0, g, step):
        x1 = min(g, x0 + step)
        z = table[x0:x1]  # [c, G]
        hid = np.maximum(c["left"][x0:x1, None, :] + c["right"][None], 0.0)  # [c, G, m]
        val = np.einsum("xym,xym->xy", hid, u_t[z]) + b[z]
        err = wide * (np.einsum("xym,xym->xy", hid, u_abs[z]) + np.abs(b[z])) + TINY
        if r is not None and eu_t is not None:
            e_h = r["left"][x0:x1, None, :] + r["right"][None]
            eu = eu_t[z]
            err = err + (np.einsum("xym,xym->xy", e_h, u_abs[z] + eu)
                         + np.einsum("xym,xym->xy", hid, eu) + r["bias"][z]) * (1 + wide) \
                + (2 * m + 4) * ETA
        out[x0:x1] = down(val - err, np.abs(val) + err)
    return out


__all__ = ["brute", "correct_low", "correct_low_at"]
