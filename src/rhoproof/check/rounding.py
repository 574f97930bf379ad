"""The checker's rigorous float64 arithmetic, in one place (docs/soundness.md §3): its own copy
of the constants and directed-rounding helpers, never imported from the prover
(``rhoproof.rounding``), so that a slip in one is not inherited by the other.

Every computed quantity is widened by a forward-error factor: an n-term sum or dot product in
float64 is within γ_n = n u / (1 − n u) of the exact value relative to the sum of absolute
values (Higham, Thm 3.1); each enclosure is widened by (n + 8) u times that sum plus ``TINY``.
``float_up``/``float_down`` round an exact rational to the nearest float above/below.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

U = 2.0**-53
ETA = 2.0**-1074
"""The smallest subnormal: the absolute underflow error of one product."""
TINY = 1e-300
LOG_SLACK = 1e-13
"""Relative allowance for exp, log and log1p."""
SAFE_LOW, SAFE_HIGH = 2.0**-64, 2.0**64
"""The safe range [R] (docs/soundness.md §3.1)."""


def widen(n: int) -> float:
    """Relative widening for an n-term sum (≥ γ_{n+2} for n u < 0.01)."""
    return (n + 8) * U * 1.01


def up(v: Any, scale: Any) -> Any:
    """≥ the exact result of a last few operations that gave ``v``."""
    return v + 4 * U * scale + TINY


def down(v: Any, scale: Any) -> Any:
    """≤ likewise."""
    return v - 4 * U * scale - TINY


def norm_up(a: np.ndarray, axis: int) -> np.ndarray:
    """≥ the Euclidean norm along ``axis``: squares that underflow are charged *inside* the
    root (n·η), so a lost tiny square is never amplified later [R2]."""
    n = a.shape[axis]
    return np.sqrt((a * a).sum(axis) * (1 + widen(n + 2)) + (n + 1) * ETA) * (1 + 4 * U)


def ce_terms(delta: np.ndarray, g: int) -> np.ndarray:
    """log(1 + (|G| − 1) e^{−δ}) per input, δ lowered for its own rounding."""
    with np.errstate(over="ignore"):
        return np.log1p((g - 1) * np.exp(-(delta - 2 * U * np.abs(delta) - TINY)))


def ce_up(t: np.ndarray) -> np.ndarray:
    """≥ log(1 + Σ_j e^{t_j}) over the last axis (t: upper bounds on f(z) − f(xy)):
    M + log1p(Σ of e^{v − M} over the entries other than the largest), widened for exp, the
    sum, log1p and the rounding of v − M (docs/soundness.md [E2])."""
    full = np.concatenate([np.zeros(t.shape[:-1] + (1,)), t], -1)
    n = full.shape[-1]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        top = full.max(-1)
        terms = np.exp(full - top[..., None])
        np.put_along_axis(terms, full.argmax(-1)[..., None], 0.0, -1)
        l1p = np.log1p(terms.sum(-1))
        out = top + l1p * (1 + (n + 8) * 4 * U + LOG_SLACK) + 8 * U * np.abs(top) + TINY
    return np.where(np.isnan(out), np.inf, out)


def mean_up(ce: np.ndarray) -> float:
    """≥ the exact mean of the CE terms."""
    return mean_up_total(float(ce.sum()), ce.size)


def mean_up_total(total: float, n: int) -> float:
    """≥ the exact mean of n CE terms (each ≥ 0) whose computed sum is ``total``, summed in
    any order and grouping (in slabs, then the slabs' sums: the error is within γ_{c+k} of
    the sum for k slabs of c terms, c + k ≤ n + 1), so within widen(n) ≥ γ_{n+2}
    (docs/soundness.md §3, Cross-entropy)."""
    bound = total / n * (1 + widen(n) + LOG_SLACK) + TINY
    return bound if math.isfinite(bound) else math.inf


def lse_up(v: np.ndarray) -> float:
    """≥ log Σ_j e^{v_j} (docs/soundness.md [CE2])."""
    m = float(np.max(v))
    if not math.isfinite(m):
        return m if m > 0 else -math.inf
    ls = math.log(float(np.exp(v - m).sum()))
    return m + ls + (v.size + 8) * 4 * U + LOG_SLACK + 8 * U * (abs(m) + abs(ls)) + TINY


# --- V_coset --------------------------------------------------------------------------------


def float_up(q: Fraction) -> float:
    """The smallest float ≥ q (+inf if none)."""
    try:
        v = float(q)
    except OverflowError:
        return math.inf if q > 0 else -math.inf
    return math.nextafter(v, math.inf) if Fraction(v) < q else v


def float_down(q: Fraction) -> float:
    """The largest float ≤ q (−inf if none)."""
    return -float_up(-q)


__all__ = ["ETA", "LOG_SLACK", "SAFE_HIGH", "SAFE_LOW", "TINY", "U", "ce_terms", "ce_up",
           "down", "float_down", "float_up", "lse_up", "mean_up", "mean_up_total", "norm_up",
           "up", "widen"]
