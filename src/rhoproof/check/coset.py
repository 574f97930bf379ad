"""The checker's V_coset (docs/soundness.md §5): the coset means, the margin lower bound and the
per-input bounds."""

from __future__ import annotations

from typing import Any

import numpy as np

from rhoproof.check.brute import correct_low
from rhoproof.check.parse import Claim, require
from rhoproof.check.rounding import (
    ETA,
    TINY,
    U,
    ce_terms,
    down,
    mean_up,
    norm_up,
    up,
    widen,
)
from rhoproof.check.table import group_facts


def _means(v: np.ndarray, ids: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, weights=v) / counts)[inverse]

def coset(claim: Claim, c: dict, r: dict | None, table: np.ndarray) -> tuple[int, float]:
    """Recompute V_coset (docs/soundness.md §5) with the enclosure's radius."""
    spec = claim.coset
    assert spec is not None
    g, m = c["left"].shape
    _, inv = group_facts(table)
    for s in spec.subgroups:  # closed under the product: a subgroup
        require(len(s) > 0 and bool(np.isin(table[np.ix_(s, s)], s).all()),
                "a listed set is no subgroup")
    ih = {"left": np.zeros((g, m)), "right": np.zeros((g, m)), "unembed": c["unembed"].copy()}
    for i in np.nonzero(spec.left >= 0)[0]:
        right_ids = table[spec.subgroups[spec.left[i]], :].min(0)  # coset Hx, least element
        left_ids = table[:, spec.subgroups[spec.right[i]]].min(1)  # coset yH'
        ih["left"][:, i] = _means(c["left"][:, i], right_ids)
        ih["right"][:, i] = _means(c["right"][:, i], left_ids)
        ui = c["unembed"][i]
        on_t = right_ids == right_ids[spec.target[i]]
        off = ui[~on_t].sum() / max(1, int((~on_t).sum()))
        ih["unembed"][i] = np.where(on_t, np.minimum(off, ui), off)
    uh, b = ih["unembed"], c["bias"]
    wide, wide4 = widen(m + 2), widen(m + 4)
    margin = np.empty(g)
    for z in range(g):
        hid = np.maximum(ih["left"] + ih["right"][table[inv, z]], 0.0)  # [x, m], y = x⁻¹z
        lo, hi = hid.min(0), hid.max(0)
        d = uh[:, z][None] - uh.T  # [z', m]
        terms = np.maximum(d, 0) * lo - np.maximum(-d, 0) * hi
        db = b[z] - b
        val = terms.sum(1) + db
        err = wide4 * (np.abs(terms).sum(1) + np.abs(db)) + (2 * m + 2) * ETA + TINY
        low = down(val - err, np.abs(val) + err)
        low[z] = np.inf
        margin[z] = low.min()
    eu = 0.0 if r is None else norm_up(r["unembed"], 0).max()
    big_a = (norm_up(c["unembed"], 0).max() + eu) * (1 + wide) + TINY
    big_b = (norm_up(np.maximum(c["unembed"] - uh, 0), 0).max() + eu) * (1 + wide) + TINY
    e_b = 0.0 if r is None else float(r["bias"].max())
    l_low = correct_low(c, r, table, inv)
    dl, dr = c["left"] - ih["left"], c["right"] - ih["right"]
    count, ce = 0, np.zeros((g, g))
    rows = max(1, (1 << 21) // (g * max(m, g)))
    for x0 in range(0, g, rows):
        xs = np.arange(x0, min(g, x0 + rows))
        rad: Any = 0.0 if r is None else \
            norm_up(r["left"][xs], 1)[:, None] + norm_up(r["right"], 1)[None]
        d = (norm_up(dl[xs][:, None, :] + dr[None], 2)
             + 3 * U * (norm_up(dl[xs], 1)[:, None] + norm_up(dr, 1)[None]) + rad) \
            * (1 + wide) + TINY
        hid_hat = np.maximum(ih["left"][xs][:, None, :] + ih["right"][None], 0.0)
        n_hat = (norm_up(hid_hat, 2) + U * (norm_up(ih["left"][xs], 1)[:, None]
                                          + norm_up(ih["right"], 1)[None])) * (1 + wide) + TINY
        zs = table[xs]
        contrib = hid_hat * uh.T[zs]
        ideal_up = contrib.sum(2) + b[zs] + wide * (np.abs(contrib).sum(2) + np.abs(b[zs])) \
            + (2 * m + 2) * ETA + TINY
        spread = (big_a * d + big_b * n_hat + e_b) * (1 + 8 * U) + TINY
        wrong = up(ideal_up - margin[zs] + spread, np.abs(ideal_up) + np.abs(margin[zs]) + spread)
        delta = l_low[xs] - wrong
        delta = np.where(np.isnan(delta), -np.inf, delta)
        count += int((delta > 0).sum())
        ce[xs] = ce_terms(delta, g)
    return count, mean_up(ce)


__all__ = ["coset"]
