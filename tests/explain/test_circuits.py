"""Circuits: a planted complete ρ-set double sum is found whole; missing pairs are counted."""

import torch

from rhoproof.explain.circuits import find_circuits
from rhoproof.groups import group

from .. import builders


def test_complete_double_sum_is_found():
    g = group("S5")
    rho, simplex = builders.simplex(g)
    a = torch.tensor([0.3, -0.5, 0.7, 0.2], dtype=torch.float64)
    pairs = [(p, q) for p in range(5) for q in range(5)]
    left, right, unembed = builders.circuit(rho, a, simplex, -simplex, pairs, 0)
    (c,) = find_circuits(left, right, unembed, g.irrep("4d-0"), g, torch.arange(25))
    assert c.b_set.size == 5 and c.c_set.size == 5 and len(c.b_set.stabilizer) == 24
    assert c.complete and c.duplicated == 0 and (c.coverage == 1).all()
    assert c.factors.a_variance < 1e-16


def test_incomplete_and_second_circuit():
    g = group("S5")
    rho, simplex = builders.simplex(g)
    a1 = torch.tensor([0.3, -0.5, 0.7, 0.2], dtype=torch.float64)
    a2 = torch.tensor([-0.6, 0.1, 0.2, 0.7], dtype=torch.float64)
    full = [(p, q) for p in range(5) for q in range(5)]
    partial = full[:20] + [full[0]]  # 5 pairs missing, one duplicated
    l1, r1, u1 = builders.circuit(rho, a1, simplex, -simplex, full, 1)
    l2, r2, u2 = builders.circuit(rho, a2, -simplex, simplex, partial, 2)
    circuits = find_circuits(torch.cat([l1, l2], 1), torch.cat([r1, r2], 1),
                             torch.cat([u1, u2], 0), g.irrep("4d-0"), g, torch.arange(46))
    assert [c.neurons.numel() for c in circuits] == [25, 21]
    assert circuits[0].complete and circuits[0].factors.a_variance < 1e-16
    assert not circuits[1].complete
    assert circuits[1].missing == 5 and circuits[1].duplicated == 1
    assert circuits[1].factors.a_variance < 1e-16  # each circuit has its own shared a
