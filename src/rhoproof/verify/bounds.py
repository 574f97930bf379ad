"""The verifiers' result record, ``Bound``, and V_brute (exact evaluation). The rigorous
float64 arithmetic every bound widens with is ``rhoproof.rounding``."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rhoproof.evaluate import evaluate
from rhoproof.groups import Group
from rhoproof.model import Folded, GroupMLP
from rhoproof.verify.records import Separable, Stage


@dataclass(frozen=True)
class Bound:
    """A certified lower bound on accuracy and upper bound on cross-entropy of one model.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof import zoo
    >>> from rhoproof.verify import brute_bound
    >>> b = brute_bound(zoo.load("S4", n_models=1), group("S4"))
    >>> b.method, b.accuracy, round(b.cross_entropy, 4)
    ('brute', 1.0, 0.0064)
    """

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


def brute_ops(n: int, m: int) -> int:
    """The brute force's multiply-adds and comparisons: the hidden layer of all |G|² inputs
    (|G|² m), their |G| logits each (|G|³ m) and the comparisons (|G|³)."""
    return n**2 * m + n**3 * m + n**3


def brute_bound(model: GroupMLP | Folded, group: Group) -> Bound:
    """V_brute for a one-instance stored model: exact accuracy and a rigorous CE upper bound.

    The accuracy is exact over all |G|² pairs; the cross-entropy bound is rigorous
    (``evaluate``: float64 enclosures, integers where they cannot decide).

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof import zoo
    >>> from rhoproof.verify import brute_bound
    >>> brute_bound(zoo.load("S4", n_models=1), group("S4")).accuracy
    1.0
    """
    ev = evaluate(model, group)
    assert ev.loss_lower is not None
    return Bound("brute", float(ev.accuracy[0]), float(ev.loss[0]),
                 cross_entropy_lower=float(ev.loss_lower[0]))
