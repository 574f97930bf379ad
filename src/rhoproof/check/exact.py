"""Exact rational arithmetic for the checker (Python's ``fractions``; every float is a dyadic
rational, so ``Fraction(float)`` is exact).

* ``ideal_values``: F*(w) = f*(w | e, e) of the proof's ideal for every w, exactly from the
  certificate's tables (docs/soundness.md §1): Σ over ρ-set circuits of
  W Σ_{(p,q)} K[p, act_C[w, q]] ReLU(α_p + γ_q) (the scales cancel and each pair's shares sum
  to 1), plus (W_s − W_d) χ(w) per sign circuit, plus t0.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from rhoproof.check.parse import RhoSetTables, SignTables, require


def _fr(a: np.ndarray) -> list:
    return [Fraction(float(v)) for v in np.asarray(a, dtype=np.float64).ravel()]


def ideal_values(circuits: tuple, t0: float, g: int) -> list[Fraction]:
    """F*(w) for w = 0 .. |G| − 1, exactly (the module docstring)."""
    out = [Fraction(t0)] * g
    for c in circuits:
        if isinstance(c, SignTables):
            coeff = Fraction(c.w_same) - Fraction(c.w_diff)
            out = [v + coeff * int(c.chi[w]) for w, v in enumerate(out)]
        elif isinstance(c, RhoSetTables):
            alpha, gamma = _fr(c.alpha), _fr(c.gamma)
            k = [_fr(c.k[p]) for p in range(len(alpha))]
            relu = [[max(a + b, Fraction(0)) for b in gamma] for a in alpha]
            # only without a symmetry (parse refuses a weight table then): one W for all pairs
            require(not isinstance(c.w, np.ndarray), "a table of pair weights needs a symmetry")
            w = Fraction(float(c.w))
            pairs = [(p, q) for p in range(len(alpha)) for q in range(len(gamma))
                     if relu[p][q]]
            for z in range(g):
                act = c.act_c[z]
                out[z] += w * sum((k[p][int(act[q])] * relu[p][q] for p, q in pairs),
                                  Fraction(0))
    return out


__all__ = ["ideal_values"]
