"""The low-rank split (docs/soundness.md §7, [P1]–[P4]): every input it certifies is truly
correct, for any choice of basis, exact neurons and groups, on adversarial models (magnitudes
2^±300, float32 folds that round, exact ties and ties nudged by one ulp, subnormals) and on
modular-addition models; and it is not vacuous where the model uses few irreps."""

import functools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rhoproof.enclosure import OutOfRange, enclose, for_proof
from rhoproof.groups import group
from rhoproof.testing import adversarial_model, exact_truth
from rhoproof.verify.lowrank import fit, irrep_basis, lowrank_bound, strongest_irreps

_group = functools.lru_cache(None)(group)


def _check(model, grp, rng):
    """Certify model 0 with a random split; every certified input must be truly correct."""
    try:
        enc = for_proof(enclose(model))
    except OutOfRange:
        return 0
    f = enc.center.instance(0)
    radius = None if enc.radius is None else enc.radius.instance(0)
    names = [r.name for r in grp.irreps[1:]]
    chosen = list(rng.choice(names, size=int(rng.integers(0, len(names) + 1)), replace=False))
    m = f.d_hidden
    split = fit(f.unembed[0], grp, chosen, int(rng.integers(0, m + 1)), bool(rng.random() < 0.5))
    bound = lowrank_bound(f, grp, split, radius)
    truth = exact_truth(model, grp, 0)
    assert truth.covers(bound.certified.numpy()), "certified an input the model gets wrong"
    return int(bound.certified.sum())


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_never_certifies_a_wrong_input_on_adversarial_models(seed):
    rng = np.random.default_rng(seed)
    _, grp, model = adversarial_model(rng, _group)
    _check(model, grp, rng)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["C5", "C7", "C3xC3", "D4"]))
def test_never_certifies_a_wrong_input_on_noisy_rotation_models(seed, spec):
    """Clock-like models: each neuron one frequency at a random phase, plus noise, so some
    inputs are wrong and the split must not claim them."""
    rng = np.random.default_rng(seed)
    grp = _group(spec)
    g, m = grp.order, 12
    gen = torch.Generator().manual_seed(seed % (1 << 31))
    rho = [torch.from_numpy(r.matrices).reshape(g, -1) for r in grp.irreps[1:]]
    pick = [rho[int(i)] for i in rng.integers(0, len(rho), m)]
    left = torch.stack([p[:, 0] for p in pick], 1)[None]
    right = torch.stack([p[:, -1] for p in pick], 1)[None]
    unembed = torch.stack([p[:, 0] for p in pick], 0)[None]
    noise = float(rng.choice([0.0, 0.3, 1.0]))
    from rhoproof.model import Folded

    model = Folded(left + noise * torch.randn(left.shape, generator=gen, dtype=torch.float64),
                   right, unembed + noise * torch.randn(unembed.shape, generator=gen,
                                                        dtype=torch.float64),
                   torch.zeros(1, g, dtype=torch.float64))
    _check(model, grp, rng)


def test_all_neurons_exact_certifies_what_brute_force_does():
    """With every neuron exact the split is brute force plus rounding bounds: on a trained
    modular-addition model away from ties it certifies exactly the correct inputs."""
    from rhoproof import zoo

    grp = group("C59")
    model = zoo.load("C59", n_models=1)
    f = for_proof(enclose(model)).center.instance(0)
    split = fit(f.unembed[0], grp, [], f.d_hidden)
    bound = lowrank_bound(f, grp, split)
    assert (bound.certified.numpy() == exact_truth(model, grp, 0).mask).all()


def test_a_few_frequencies_certify_most_of_modular_addition():
    """Not vacuous: the ten strongest frequencies (and the constant) of a C59 zoo model, no
    exact neuron, one group, certify most inputs; more frequencies and exact neurons more."""
    from rhoproof import zoo

    grp = group("C59")
    f = for_proof(enclose(zoo.load("C59", n_models=1))).center.instance(0)
    u = f.unembed[0]
    few = lowrank_bound(f, grp, fit(u, grp, strongest_irreps(u, grp, 10), 0, False))
    more = lowrank_bound(f, grp, fit(u, grp, strongest_irreps(u, grp, 16), 32))
    assert 0.75 < few.accuracy < more.accuracy
    brute = 59**2 * 128 + 59**3 * 128 + 59**3
    assert few.ops < 0.6 * brute < more.ops  # the k-term projection costs |G|²mk (§7)


@pytest.mark.parametrize("spec", ["C7", "S3", "D4", "C3xC3"])
def test_irrep_basis_is_orthonormal_and_spans_the_irreps(spec):
    grp = group(spec)
    names = [r.name for r in grp.irreps[1:]]
    basis = irrep_basis(grp, names)
    assert torch.allclose(basis @ basis.T, torch.eye(basis.shape[0], dtype=torch.float64),
                          atol=1e-12)
    assert basis.shape[0] == grp.order  # every irrep: the whole space of functions on G
