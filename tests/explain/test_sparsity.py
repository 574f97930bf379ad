"""Irrep sparsity on functions and networks whose irrep content is known by construction."""

import pytest
import torch

from rhoproof.explain import DEAD, MIXED, irrep_basis, irrep_fractions, irrep_sparsity
from rhoproof.groups import group
from rhoproof.model import Folded


@pytest.mark.parametrize("spec", ["S4", "Q8", "C5", "Dic3", "A4"])
def test_basis_is_orthonormal_and_split_by_irrep(spec):
    g = group(spec)
    basis, owner = irrep_basis(g)
    assert torch.allclose(basis.T @ basis, torch.eye(g.order, dtype=torch.float64), atol=1e-10)
    for j, rep in enumerate(g.irreps):
        assert int((owner == j).sum()) == rep.dim ** 2 // rep.schur_dim


def test_fractions_sum_to_one():
    g = group("S4")
    v = torch.randn(3, g.order, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    fr = irrep_fractions(v, g)
    assert fr.shape == (3, len(g.irreps), 5)
    assert torch.allclose(fr.sum(1), torch.ones(3, 5, dtype=torch.float64))


def _circuit_neurons(g, name, m, seed=0):
    """ℓ_i(x) = b_iᵀρ(x)a, r_i(y) = aᵀρ(y)c_i, u_i(z) = b_iᵀρ(z)c_i for random a, b_i, c_i."""
    gen = torch.Generator().manual_seed(seed)
    rho = g.irrep(name).tensor()  # [|G|, d, d]
    d = rho.shape[1]
    a = torch.randn(d, dtype=torch.float64, generator=gen)
    b = torch.randn(m, d, dtype=torch.float64, generator=gen)
    c = torch.randn(m, d, dtype=torch.float64, generator=gen)
    left = torch.einsum("id,gde,e->gi", b, rho, a)
    right = torch.einsum("d,gde,ie->gi", a, rho, c)
    unembed = torch.einsum("id,gde,ie->ig", b, rho, c)
    return left, right, unembed


def test_single_irrep_neurons_are_assigned_to_it():
    g = group("S5")
    left, right, unembed = _circuit_neurons(g, "4d-0", 6)
    # neuron 4: mixed (half 4d-0, half 5d-0); neuron 5: dead (no unembedding)
    l5, r5, u5 = _circuit_neurons(g, "5d-0", 6, seed=1)
    left[:, 4] = left[:, 4] / left[:, 4].norm() + l5[:, 4] / l5[:, 4].norm()
    unembed[5] = 0
    sign = torch.from_numpy(g.irrep("1d-1").character.copy())
    folded = Folded(left[None], right[None], unembed[None], (3 * sign)[None])
    sp = irrep_sparsity(folded, g)
    names = list(sp.irrep_names)
    assert sp.assignment[0, :4].tolist() == [names.index("4d-0")] * 4
    assert sp.assignment[0, 4] == MIXED and sp.assignment[0, 5] == DEAD
    assert sp.left[0, names.index("4d-0"), 0] == pytest.approx(1.0)
    assert sp.bias[0, names.index("1d-1")] == pytest.approx(1.0)
    assert sp.counts(0) == {"4d-0": 4, "mixed": 1, "dead": 1}


def test_bad_threshold():
    g = group("S3")
    f = Folded(*(torch.zeros(1, 6, 2), torch.zeros(1, 6, 2), torch.zeros(1, 2, 6),
                 torch.zeros(1, 6)))
    with pytest.raises(ValueError):
        irrep_sparsity(f, g, threshold=0)
    assert (irrep_sparsity(f, g).assignment == DEAD).all()
