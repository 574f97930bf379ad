"""ρ-set circuits inside one irrep: neurons grouped by their (B, C) ρ-set pair.

A ρ-set circuit sums over all pairs (b, c) ∈ B × C with equal weight; that is what makes the
idealized network bi-equivariant. This module finds the circuits of one irrep in one model —
ρ-sets for the b_i and the c_i, then one circuit per (B, C) pair that holds neurons — and
reports, for each, its own shared a (a-variance) and the coverage of the double sum: which
(b, c) pairs are present, duplicated or missing. Idealizing the circuits is the next step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from rhoproof.explain.factors import RankOneFactors, rank_one_factors, split_by_a
from rhoproof.explain.rho_sets import RhoSet, fit_rho_sets
from rhoproof.groups import Group, Irrep


@dataclass(frozen=True)
class Circuit:
    """Neurons of one irrep whose b_i lie on ρ-set B and c_i on ρ-set C.

    ``coverage[p, q]`` counts the neurons whose (b, c) is (B.points[p], C.points[q]).

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.explain import idealize
    >>> from rhoproof.testing import planted
    >>> G = group("S4")
    >>> _, report = idealize(planted(G, "3d-0", 6), G)  # a planted tetrahedron circuit
    >>> c = report.found[0]
    >>> c.irrep, c.b_set.size, c.c_set.size, int(c.coverage.min())
    ('3d-0', 4, 4, 1)
    """

    irrep: str
    b_set: RhoSet
    c_set: RhoSet
    factors: RankOneFactors  # rank-1 factors of just these neurons (their own a)
    coverage: torch.Tensor  # [|B|, |C|] int64
    b_point: torch.Tensor  # [n] index into b_set.points of each neuron's b
    c_point: torch.Tensor  # [n] index into c_set.points of each neuron's c

    @property
    def neurons(self) -> torch.Tensor:
        return self.factors.neurons

    @property
    def complete(self) -> bool:
        """Every pair of the double sum B × C has at least one neuron."""
        return bool((self.coverage > 0).all())

    @property
    def missing(self) -> int:
        return int((self.coverage == 0).sum())

    @property
    def duplicated(self) -> int:
        """Pairs held by more than one neuron."""
        return int((self.coverage > 1).sum())


def find_circuits(left: torch.Tensor, right: torch.Tensor, unembed: torch.Tensor,
                  rep: Irrep, group: Group, neurons: torch.Tensor, max_rho_sets: int = 3,
                  seed: int = 0, min_cos: float = 0.98) -> list[Circuit]:
    """The circuits of irrep ``rep`` among ``neurons`` of one model, largest first.

    left, right: [|G|, m]; unembed: [m, |G|]. Neurons are first split by their a (two circuits
    of one irrep can share ρ-sets but not a; see ``split_by_a``), then each group's b_i and
    c_i are fitted with ρ-sets and the neurons grouped by (B, C) ρ-set pair. Neurons whose
    rank-1 factors are poor still get a place; a circuit's a-variance and the factors'
    residuals show it.
    """
    idx = neurons.to(torch.int64)
    circuits = []
    for group_factors in split_by_a(left, right, unembed, rep, idx, min_cos=min_cos):
        members_all = group_factors.neurons
        fit_b = fit_rho_sets(group_factors.b, rep, group, max_rho_sets, seed=seed)
        fit_c = fit_rho_sets(group_factors.c, rep, group, max_rho_sets, seed=seed)
        for kb, b_set in enumerate(fit_b.rho_sets):
            for kc, c_set in enumerate(fit_c.rho_sets):
                members = torch.nonzero((fit_b.cluster == kb) & (fit_c.cluster == kc))[:, 0]
                if members.numel() == 0:
                    continue
                coverage = torch.zeros(b_set.size, c_set.size, dtype=torch.int64)
                coverage.index_put_((fit_b.point[members], fit_c.point[members]),
                                    torch.ones(members.numel(), dtype=torch.int64),
                                    accumulate=True)
                factors = _orient(
                    rank_one_factors(left, right, unembed, rep, members_all[members]),
                    b_set.points[fit_b.point[members]])
                circuits.append(Circuit(rep.name, b_set, c_set, factors, coverage,
                                        fit_b.point[members], fit_c.point[members]))
    circuits.sort(key=lambda c: c.neurons.numel(), reverse=True)
    return circuits


def _orient(factors: RankOneFactors, b_points: torch.Tensor) -> RankOneFactors:
    """Flip (a, b, c) → (−a, −b, −c) if needed so the b_i point toward their ρ-set points.

    ℓ = bᵀρa, r = aᵀρc and u = κ bᵀρc are all unchanged by the flip; the circuit's own a may
    have the opposite sign of the one used to fit the ρ-sets.
    """
    if float((factors.b * b_points).sum()) >= 0:
        return factors
    return replace(factors, a=-factors.a, b=-factors.b, c=-factors.c)
