"""Rank-1 factors recover a planted ρ-set circuit and flag one whose a varies."""

import pytest
import torch

from rhoproof.explain.factors import entry_coefficients, rank_one_factors
from rhoproof.groups import group


def _planted(g, name, m, kappa, a=None, seed=0):
    gen = torch.Generator().manual_seed(seed)
    rho = g.irrep(name).tensor()
    d = rho.shape[1]
    a = torch.randn(d, dtype=torch.float64, generator=gen) if a is None else a
    b = torch.randn(m, d, dtype=torch.float64, generator=gen)
    c = torch.randn(m, d, dtype=torch.float64, generator=gen)
    left = torch.einsum("id,gde,e->gi", b, rho, a)
    right = torch.einsum("d,gde,ie->gi", a, rho, c)
    unembed = kappa[:, None] * torch.einsum("id,gde,ie->ig", b, rho, c)
    return a, b, c, left, right, unembed


@pytest.mark.parametrize("spec, name", [("S4", "3d-0"), ("S5", "4d-0"), ("A5", "3d-1")])
def test_recovers_a_b_c_and_kappa(spec, name):
    g = group(spec)
    kappa = torch.tensor([0.5, -1.0, 2.0, 1.5], dtype=torch.float64)
    a, b, c, left, right, unembed = _planted(g, name, 4, kappa)
    f = rank_one_factors(left, right, unembed, g.irrep(name), torch.arange(4))
    assert f.a_variance < 1e-20
    assert float(f.rank1_residual.max()) < 1e-20
    # a is recovered up to sign and scale; then b, c up to the matching inverse scale
    scale = a.norm() * torch.sign(a @ f.a)
    assert torch.allclose(f.a * scale, a, atol=1e-9)
    assert torch.allclose(f.b, b * scale, atol=1e-9)
    assert torch.allclose(f.c, c * scale, atol=1e-9)
    assert torch.allclose(f.kappa * scale**2, kappa, atol=1e-9)


def test_a_variance_flags_neurons_with_different_a():
    g = group("S4")
    kappa = torch.ones(4, dtype=torch.float64)
    _, _, _, l1, r1, u1 = _planted(g, "3d-0", 2, kappa[:2], seed=1)
    _, _, _, l2, r2, u2 = _planted(g, "3d-0", 2, kappa[:2], seed=2)
    f = rank_one_factors(torch.cat([l1, l2], 1), torch.cat([r1, r2], 1),
                         torch.cat([u1, u2], 0), g.irrep("3d-0"), torch.arange(4))
    assert f.a_variance > 1e-3


def test_entry_coefficients_reconstruct_functions_in_the_irrep():
    g = group("Q8")  # quaternionic: entries are not independent, pseudo-inverse needed
    rep = g.irrep("4d-0")
    rho = rep.tensor()
    coeff = torch.randn(4, 4, dtype=torch.float64)
    f = torch.einsum("jk,gjk->g", coeff, rho)[:, None]
    fit = entry_coefficients(f, rep)[0]
    assert torch.allclose(torch.einsum("jk,gjk->g", fit, rho), f[:, 0], atol=1e-10)


def test_split_by_a_separates_two_circuits():
    from rhoproof.explain.factors import split_by_a

    g = group("S4")
    kappa = torch.ones(3, dtype=torch.float64)
    _, _, _, l1, r1, u1 = _planted(g, "3d-0", 3, kappa, seed=1)
    _, _, _, l2, r2, u2 = _planted(g, "3d-0", 2, kappa[:2], seed=2)
    circuits = split_by_a(torch.cat([l1, l2], 1), torch.cat([r1, r2], 1),
                          torch.cat([u1, u2], 0), g.irrep("3d-0"), torch.arange(5))
    assert [c.neurons.tolist() for c in circuits] == [[0, 1, 2], [3, 4]]
    assert all(c.a_variance < 1e-20 for c in circuits)
