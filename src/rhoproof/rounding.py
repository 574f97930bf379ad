"""The prover's rigorous float64 arithmetic, in one place (docs/soundness.md §3): the unit
roundoff and underflow constants, the proofs' safe range, and the directed-rounding helpers
that every enclosure in ``enclosure``, ``evaluate`` and ``verify`` widens with.

Every computed quantity is float64 and is widened by a forward-error factor: a sum or dot
product of n terms computed in floating point is within γ_n = n u / (1 − n u) (u = 2⁻⁵³) of the
exact value relative to the sum of absolute values (Higham, *Accuracy and Stability*, Thm 3.1);
a square root adds one more u. Each enclosure is widened by (n + 8) u times the sum of absolute
terms (a superset of those bounds for n u < 0.01) plus ``TINY`` for underflow.

The independent checker has its own copy (``rhoproof.check.rounding``): the two are never
imported into each other, so a slip in one is not inherited by the other.
"""

from __future__ import annotations

import math
from typing import TypeVar

import torch

U = 2.0**-53
"""The unit roundoff of float64 (round to nearest)."""
ETA = 2.0**-1074
"""The smallest subnormal: a bound on the absolute underflow error of one product."""
TINY = 1e-300
"""An absolute allowance for underflow, added once to a widened result."""
LOG_SLACK = 1e-13
"""Relative allowance for exp, log and log1p (a few ulps each, far above them)."""
SAFE_EXP = 64
SAFE_LOW, SAFE_HIGH = 2.0**-SAFE_EXP, 2.0**SAFE_EXP
"""The proofs' safe range [R] (docs/soundness.md §3.1)."""

Num = TypeVar("Num", torch.Tensor, float)


def up(value: Num, scale: torch.Tensor | float) -> Num:
    """An upper bound on the exact result of a last addition that produced ``value``: the
    rounding error of a few final operations is at most 4u times the magnitudes involved."""
    return value + 4 * U * scale + TINY  # type: ignore[return-value]  # Tensor in, Tensor out


def down(value: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """A lower bound, likewise."""
    return value - 4 * U * scale - TINY


def widen(n: int) -> float:
    """Relative widening for an n-term float64 sum (≥ γ_{n+2} for n u < 0.01)."""
    return (n + 8) * U * 1.01


def norm_up(t: torch.Tensor, dim: int) -> torch.Tensor:
    """An upper bound on the Euclidean norm along ``dim`` [R2]: the sum of squares is widened
    by γ_n and by n·η for squares that underflow *before* the square root, so a lost tiny
    square can never be amplified later; the root adds 4u."""
    n = t.shape[dim]
    sq = (t * t).sum(dim)
    return torch.sqrt(sq * (1 + widen(n + 2)) + (n + 1) * ETA) * (1 + 4 * U)


def ce_terms(delta: torch.Tensor, g: int) -> torch.Tensor:
    """log(1 + (|G| − 1) e^{−δ}) per input, δ first lowered for its own subtraction's
    rounding."""
    return torch.log1p((g - 1) * torch.exp(-(delta - 2 * U * delta.abs() - TINY)))


def lse_up(v: torch.Tensor, n: int) -> torch.Tensor:
    """An upper bound on log Σ_j e^{v_j} [CE2] for each row of v [R, G] (entries −∞ are absent
    terms; ``n`` bounds the number of terms, for the widening): [R]. M + log Σ e^{v − M} with M
    the row's largest v; each exp is within 2u, the sum γ_n, v − M rounds by u|v − M| (a factor
    ≤ 1 + 10⁻¹³ while the term is above e^{−900}; below, under 10⁻³⁹⁰ against a sum ≥ 1), and
    the log and the final addition a few ulps. A row with no finite maximum gives that
    maximum (−∞ when every term is absent, +∞ when one is +∞)."""
    m = v.max(1).values
    finite = torch.isfinite(m)
    safe = torch.where(finite, m, torch.zeros_like(m))
    s = torch.exp(v - safe[:, None]).sum(1)
    kappa = (n + 8) * 4 * U + LOG_SLACK
    ls = torch.log(s)
    out = m + ls + kappa + 8 * U * (m.abs() + ls.abs()) + TINY
    return torch.where(finite, out, m)


def ce_mean(ce: torch.Tensor) -> float:
    """An upper bound on the exact mean of the CE terms: exp, log1p and the product are within
    a few ulps each and the mean of n terms adds γ_n; widen by both."""
    bound = float(ce.mean()) * (1 + widen(ce.numel()) + LOG_SLACK) + TINY
    return bound if math.isfinite(bound) else math.inf


__all__ = ["ETA", "LOG_SLACK", "SAFE_EXP", "SAFE_HIGH", "SAFE_LOW", "TINY", "U", "ce_mean",
           "ce_terms", "down", "lse_up", "norm_up", "up", "widen"]
