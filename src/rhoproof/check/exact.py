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


def _integers(values: list[Fraction]) -> tuple[int, list[int]]:
    """Dyadic rationals over one common denominator D (a power of 2): (D, the numerators)."""
    den = max((v.denominator for v in values), default=1)
    return den, [v.numerator * (den // v.denominator) for v in values]


def ideal_values(circuits: tuple, t0: float, g: int) -> list[Fraction]:
    """F*(w) for w = 0 .. |G| − 1, exactly (the module docstring)."""
    out = [Fraction(t0)] * g
    for c in circuits:
        if isinstance(c, SignTables):
            coeff = Fraction(c.w_same) - Fraction(c.w_diff)
            out = [v + coeff * int(c.chi[w]) for w, v in enumerate(out)]
        elif isinstance(c, RhoSetTables):
            alpha, gamma = _fr(c.alpha), _fr(c.gamma)
            relu = [[max(a + b, Fraction(0)) for b in gamma] for a in alpha]
            # only without a symmetry (parse refuses a weight table then): one W for all pairs
            require(not isinstance(c.w, np.ndarray), "a table of pair weights needs a symmetry")
            w = Fraction(float(c.w))
            # every value is a dyadic rational: over common denominators 2^a (K) and 2^b
            # (ReLU), K[p, j]·ReLU[p, q] = kn[p][j]·rn[p][q] / 2^(a+b) with Python integers,
            # so each output's sum is an exact integer sum
            k_den, k_num = _integers([Fraction(float(v)) for v in np.ravel(c.k)])
            r_den, r_num = _integers([v for row in relu for v in row])
            nb, nc = len(alpha), len(gamma)
            kn = [k_num[p * nc:(p + 1) * nc] for p in range(nb)]
            terms = [(kn[p], q, r_num[p * nc + q]) for p in range(nb) for q in range(nc)
                     if r_num[p * nc + q]]
            scale = w / (k_den * r_den)
            for z in range(g):
                act = c.act_c[z].tolist()
                out[z] += scale * sum(k_row[act[q]] * rv for k_row, q, rv in terms)
    return out


__all__ = ["ideal_values"]
