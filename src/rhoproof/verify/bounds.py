"""Shared pieces of the sound bounds: V_brute (exact evaluation), the float64 rounding
helpers and the cross-entropy bound.

Rounding: every computed quantity is float64 and is widened by a forward-error factor: a sum
or dot product of n terms computed in floating point is within γ_n = n u / (1 − n u)
(u = 2⁻⁵³) of the exact value relative to the sum of absolute values (Higham, Thm 3.1);
a square root adds one more u. We widen each enclosure by (n + 8) u times the sum of absolute
terms (a superset of those bounds for n u < 0.01) plus 1e-300 for underflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import torch

from rhoproof.evaluate import evaluate
from rhoproof.groups import Group
from rhoproof.model import Folded, GroupMLP
from rhoproof.verify.exact_ideal import U
from rhoproof.verify.records import Stage

if TYPE_CHECKING:
    from rhoproof.verify.separable import Separable

Num = TypeVar("Num", torch.Tensor, float)


def _up(value: Num, scale: torch.Tensor | float) -> Num:
    """An upper bound on the exact result of a last addition that produced ``value``: the
    rounding error of a few final operations is at most 4u times the magnitudes involved."""
    return value + 4 * U * scale + 1e-300  # type: ignore[return-value]  # Tensor in, Tensor out


def _down(value: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """A lower bound, likewise."""
    return value - 4 * U * scale - 1e-300


def _widen(n: int) -> float:
    """Relative widening for an n-term float64 sum (≥ γ_{n+2} for n u < 0.01)."""
    return (n + 8) * U * 1.01


@dataclass(frozen=True)
class Bound:
    """A certified lower bound on accuracy and upper bound on cross-entropy of one model."""

    method: str
    accuracy: float  # certified lower bound (V_brute: exact)
    cross_entropy: float  # certified upper bound (V_brute: within ~1e-13 of the exact one)
    margin: float | None = None  # V_irrep: lower bound on F(e) − max_{w≠e} F(w)
    certified: torch.Tensor | None = None  # [|G|, |G|] bool (proofs only)
    # for plots, per input [|G|, |G|] (proofs only): the margin the global (2→∞) bound has,
    # correct logit minus the ideal's largest wrong logit, and the logit-distance bound it
    # must beat
    margins: torch.Tensor | None = None
    distances: torch.Tensor | None = None
    # V_brute: a rigorous *lower* bound on the mean cross-entropy, so that tests can check
    # that a proof's CE bound is at least the truth
    cross_entropy_lower: float | None = None
    stages: tuple[Stage, ...] = ()  # V_irrep: the cascade, in order
    top_w: tuple[int, ...] = ()  # V_irrep: the wrong w with their own per-output terms
    separable: Separable | None = None  # V_irrep: stage 1 [S1]
    orbits: int = 1  # V_irrep: orbits of the ideal's symmetry on the inputs [H1]


def ce_terms(delta: torch.Tensor, g: int) -> torch.Tensor:
    """log(1 + (|G| − 1) e^{−δ}) per input, δ first lowered for its own subtraction's
    rounding."""
    return torch.log1p((g - 1) * torch.exp(-(delta - 2 * U * delta.abs() - 1e-300)))


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
    kappa = (n + 8) * 4 * U + 1e-13
    ls = torch.log(s)
    out = m + ls + kappa + 8 * U * (m.abs() + ls.abs()) + 1e-300
    return torch.where(finite, out, m)


def ce_mean(ce: torch.Tensor) -> float:
    """An upper bound on the exact mean of the CE terms: exp, log1p and the product are within
    a few ulps each and the mean of n terms adds γ_n; widen by both."""
    bound = float(ce.mean()) * (1 + _widen(ce.numel()) + 1e-13) + 1e-300
    return bound if math.isfinite(bound) else math.inf


def brute_bound(model: GroupMLP | Folded, group: Group) -> Bound:
    """V_brute for a one-instance stored model: the exact accuracy over all |G|² pairs and a
    rigorous cross-entropy upper bound (``evaluate``: float64 enclosures, integers where they
    cannot decide)."""
    ev = evaluate(model, group)
    assert ev.loss_lower is not None
    return Bound("brute", float(ev.accuracy[0]), float(ev.loss[0]),
                 cross_entropy_lower=float(ev.loss_lower[0]))
