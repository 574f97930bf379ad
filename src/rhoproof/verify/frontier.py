"""The bound-versus-cost frontier of V_irrep (docs/soundness.md §2.2 [X1]): from the compact
ρ-set proof to brute force, each point a sound proof of its own.

A point is V_irrep's cascade on the chosen ideal f*, then (optionally) an exact group R
(``stages.exact_group``: R's neurons computed exactly at the inputs the cascade left), then
(optionally) brute force on whatever is still undecided (stage 4, ``exact``). Its cost is
its counted operations over brute force's (the ``proof_*`` entries of the certificate's
``ops``; the search apart).

Which R: every neuron gets a *score*, what it costs the cascade's spread at the undecided
inputs (the Cauchy–Schwarz term it would leave: |u_i(z)| |Δh_i| and (u_i − u*_i)⁺ h*_i for a
circuit neuron, u_i⁺ |ℓ_i + r_i| for one outside the circuits, (−u*_i)⁺ h*_i for a virtual
one), and a *price*, the products its exact term needs (2 for a circuit neuron, 1 otherwise).
The candidates are the prefixes of the neurons by score per price (1, 2, 4, … neurons) and the
attribution's groups (a circuit, or a reason the explanation dropped neurons for) added whole,
in order of their total score per price. Any R is sound; the order only decides which points
are tried.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch

from rhoproof.groups import Group
from rhoproof.model import Folded
from rhoproof.verify.bounds import Bound, brute_ops
from rhoproof.verify.exact_ideal import ExactIdeal
from rhoproof.verify.irrep import irrep_frontier
from rhoproof.verify.stages.exact_group import exact_group_ops

T = TypeVar("T")

SAMPLE = 2048
"""Undecided inputs the scores are measured on (evenly spaced in row-major order)."""


@dataclass(frozen=True)
class FrontierPoint:
    """One proof on the frontier: its exact group R, whether brute force decides the rest,
    and what it certifies at what counted cost (``bound`` holds the per-input data)."""

    label: str
    exact_neurons: tuple[int, ...]
    brute_rest: bool
    bound: Bound
    ops: int  # counted operations of the proof (the cascade, R's stage, stage 4)

    @property
    def accuracy(self) -> float:
        return self.bound.accuracy


def neuron_scores(f: Folded, ideal: ExactIdeal, certified: torch.Tensor, virtual: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """(score, price) per neuron of the proof's layer (``f`` with its ``virtual`` neurons
    last), measured at up to SAMPLE inputs ``certified`` [G, G] leaves: the neuron's
    Cauchy–Schwarz charge (largest over z of its column times its rms over inputs), and the
    products its exact term costs. Plain float64: a heuristic, not a bound."""
    xs, ys = torch.nonzero(~certified, as_tuple=True)
    m = f.left.shape[2]
    r = m - virtual
    score = torch.zeros(m, dtype=torch.float64)
    price = torch.ones(m, dtype=torch.float64)
    if len(xs) == 0:
        return score, price
    pick = torch.unique(torch.linspace(0, len(xs) - 1, min(SAMPLE, len(xs))).round().long())
    x, y = xs[pick], ys[pick]
    fd = f.to(dtype=torch.float64)
    left, right, u = fd.left[0], fd.right[0], fd.unembed[0]
    fh = ideal.folded
    lh, rh, uh = fh.left[0], fh.right[0], fh.unembed[0]
    in_ideal = torch.zeros(m, dtype=torch.bool)
    for c in ideal.proof:
        in_ideal[c.neurons] = True
    hid_i = torch.relu(lh[x] + rh[y])  # [s, m]
    rms_i = hid_i.pow(2).mean(0).sqrt()
    live = in_ideal.clone()
    live[r:] = False
    dh = ((left[x] - lh[x]) + (right[y] - rh[y])).pow(2).mean(0).sqrt()
    score[live] = (u[live].abs().amax(1) * dh[live]
                   + torch.relu(u[live] - uh[live]).amax(1) * rms_i[live])
    price[live] = 2.0
    other = ~in_ideal
    other[r:] = False
    pre = (left[x] + right[y]).pow(2).mean(0).sqrt()
    score[other] = torch.relu(u[other]).amax(1) * pre[other]
    if virtual:
        score[r:] = torch.relu(-uh[r:]).amax(1) * rms_i[r:]
    return score, price


def exact_sets(score: torch.Tensor, price: torch.Tensor, labels: list[str]
               ) -> list[tuple[str, tuple[int, ...]]]:
    """Candidate exact groups R, each with a label: prefixes of the neurons by score per price
    (1, 2, 4, … neurons, then all that score above 0), and the attribution's groups added whole
    by total score per price. Duplicates are dropped; every R is sorted."""
    m = len(score)
    order = [int(i) for i in torch.argsort(score / price, descending=True, stable=True)
             if float(score[i]) > 0]
    out: dict[tuple[int, ...], str] = {}
    size = 1
    while size < len(order):
        out.setdefault(tuple(sorted(order[:size])), f"{size} neurons by score")
        size *= 2
    if order:
        out.setdefault(tuple(sorted(order)), f"{len(order)} neurons by score (all that cost)")
    groups: dict[str, list[int]] = {}
    for i in range(m):
        if float(score[i]) > 0:
            groups.setdefault(labels[i], []).append(i)
    ranked = sorted(groups, key=lambda k: -float(score[groups[k]].sum() / price[groups[k]].sum()))
    chosen: list[int] = []
    names: list[str] = []
    for name in ranked:
        chosen += groups[name]
        names.append(name)
        out.setdefault(tuple(sorted(chosen)), " + ".join(names))
    return [(label, r_set) for r_set, label in out.items()]


def frontier(f: Folded, ideal: ExactIdeal, group: Group, base: Bound, sets:
             list[tuple[str, tuple[int, ...]]], mode: str, virtual: int,
             radius: Folded | None, m_real: int, top_k: int, max_ratio: float = math.inf
             ) -> list[FrontierPoint]:
    """The points: V_irrep alone (``base``), then V_irrep with each exact group R of ``sets``
    whose counted cost stays within ``max_ratio`` of brute force's. Brute force on the rest
    is added by the caller (it needs the stored model)."""
    assert base.certified is not None
    g = group.order
    brute = brute_ops(g, m_real)
    base_ops = sum(s.ops for s in base.stages)
    points = [FrontierPoint("V_irrep", (), False, base, base_ops)]
    t = int((~base.certified).sum())
    if t == 0:
        return points
    m = f.left.shape[2]
    in_ideal = torch.zeros(m, dtype=torch.bool)
    for c in ideal.proof:
        in_ideal[c.neurons] = True
    real = torch.arange(m) < m - virtual
    keep = []
    for label, r_set in sets:
        idx = torch.tensor(r_set, dtype=torch.int64)
        rest = torch.ones(m, dtype=torch.bool)
        rest[idx] = False
        n_parts = 2 * bool((rest & in_ideal & real).any()) + bool((rest & ~in_ideal & real).any()) \
            + bool((rest & ~real).any())  # the spread's terms left (stages.per_input)
        cost = base_ops + exact_group_ops(g, t, int(real[idx].sum()),
                                          int(in_ideal[idx].sum()), n_parts,
                                          int((rest & in_ideal & real).sum()))
        if cost <= max_ratio * brute:
            keep.append((label, r_set))
    bounds = irrep_frontier(f, ideal, group, [r for _, r in keep], top_k, mode, virtual,
                            radius)[1:]
    for (label, r_set), b in zip(keep, bounds):
        points.append(FrontierPoint(f"V_irrep + exact {label}", r_set, False, b,
                                    sum(s.ops for s in b.stages)))
    return points


def keep_pareto(items: list[T], key: Callable[[T], tuple[float, float, float]]) -> list[T]:
    """The items no cheaper one beats, sorted by cost: each certifies more than every cheaper
    one, or has a CE bound at least 0.1% below theirs. ``key`` gives (cost, accuracy, CE
    bound)."""
    out: list[T] = []
    best_acc, best_ce = -math.inf, math.inf
    for item in sorted(items, key=lambda i: (key(i)[0], -key(i)[1], key(i)[2])):
        _, acc, ce = key(item)
        if not out or acc > best_acc or ce < best_ce * (1 - 1e-3):
            out.append(item)
            best_acc, best_ce = max(best_acc, acc), min(best_ce, ce)
    return out


def pareto(points: list[FrontierPoint]) -> list[FrontierPoint]:
    """``keep_pareto`` of frontier points by (counted operations, accuracy, CE bound)."""
    return keep_pareto(points, lambda p: (p.ops, p.accuracy, p.bound.cross_entropy))


def frontier_area(points: list[tuple[float, float]]) -> float:
    """The area under a frontier drawn as a step function of log₁₀ cost on [10⁻³, 1] (cost as
    a share of brute force's; accuracy 0 before the first point, each point's accuracy from its
    cost on), divided by the width: 1 would be full accuracy at 0.1% of brute force's cost.
    ``points``: (cost share, certified accuracy)."""
    lo, hi = -3.0, 0.0
    steps = sorted((max(lo, math.log10(max(c, 1e-300))), a) for c, a in points if c <= 1.0)
    area, best, prev = 0.0, 0.0, lo
    for x, a in steps:
        area += best * (x - prev)
        prev, best = x, max(best, a)
    area += best * (hi - prev)
    return area / (hi - lo)


__all__ = ["FrontierPoint", "exact_sets", "frontier", "frontier_area", "keep_pareto",
           "neuron_scores",
           "pareto"]
