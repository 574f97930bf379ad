"""Soundness first: a certified accuracy never exceeds the true one, and a certified
cross-entropy is never below the true one, for trained, planted, random and perturbed models."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rhoproof.explain.idealize import assert_bi_equivariant, idealize
from rhoproof.groups import group
from rhoproof.model import Folded, GroupMLP
from rhoproof.run import load_run
from rhoproof.verify import (
    ProofCheckError,
    action_table,
    brute_bound,
    coset_bound,
    coset_ideal,
    exact_ideal,
    irrep_bound,
)

from .. import builders


def _certify(f, g, k=0):
    _, report = idealize(f, g, k)
    ex = exact_ideal(g, f.d_hidden, report.ideal, f.bias[k].double())
    return ex, irrep_bound(f.instance(k), ex, g), brute_bound(f.instance(k), g)


def _assert_sound(bound, truth):
    assert bound.accuracy <= truth.accuracy
    assert bound.cross_entropy >= truth.cross_entropy_lower  # a rigorous lower bound


def test_action_check_can_fail():
    g = group("S4")
    rho = g.irrep("3d-0").tensor()
    h = next(s for s in g.subgroups if len(s) == 6)
    mu = rho[sorted(h)].mean(0) @ torch.tensor([1.0, 0.3, -0.2], dtype=torch.float64)
    mu = mu / mu.norm()
    reps = [min(c) for c in g.left_cosets(h)]
    orbit = rho[reps] @ mu  # a true ρ-set: 4 points
    assert action_table(g, rho, orbit).shape == (24, 4)
    not_closed = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ProofCheckError):
        action_table(g, rho, not_closed)
    with pytest.raises(ProofCheckError):  # a proper subset of the orbit is not closed either
        action_table(g, rho, orbit[:3])


def test_planted_exact_model_is_certified_in_full():
    g, f = builders.planted_model()
    ex, bound, truth = _certify(f, g)
    assert ex.excluded == [] and sorted(ex.circuits) == ["1d-1", "4d-0"]
    assert_bi_equivariant(ex.folded, g, atol=1e-12)
    _assert_sound(bound, truth)
    assert truth.accuracy == 1.0 and bound.accuracy == 1.0


@given(noise=st.floats(1e-4, 0.3), seed=st.integers(0, 10_000))
def test_sound_on_noisy_planted_models(noise, seed):
    g, f = builders.planted_model(noise=noise, seed=seed)
    _, bound, truth = _certify(f, g)
    _assert_sound(bound, truth)


def test_adversarial_perturbation_lowers_the_bound():
    g, f = builders.planted_model()
    # make the inputs (x, y) with x = e wrong: boost one wrong logit through the bias of
    # z = some w ≠ e ... by changing the left embedding of x = e instead (inputs (e, y) only)
    bad = f.left.clone()
    bad[0, g.identity] = -bad[0, g.identity]  # flips every ℓ_i(e)
    broken = Folded(bad, f.right, f.unembed, f.bias)
    _, bound, truth = _certify(broken, g)
    _assert_sound(bound, truth)
    assert truth.accuracy < 1.0
    assert bound.accuracy <= truth.accuracy


@pytest.fixture(scope="module")
def s4_trained(s4_run_dir):
    return load_run(s4_run_dir)


@given(k=st.integers(0, 2), noise=st.sampled_from([0.0, 1e-3, 1e-2, 0.1, 1.0]),
       seed=st.integers(0, 1000))
def test_sound_on_trained_and_perturbed_models(s4_trained, k, noise, seed):
    f = s4_trained.model.fold().detach().to(dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    if noise:
        f = Folded(*(t + noise * t.std() * torch.randn(t.shape, generator=gen,
                                                       dtype=torch.float64)
                     for t in (f.left, f.right, f.unembed, f.bias)))
    _, bound, truth = _certify(f, s4_trained.group, k)
    _assert_sound(bound, truth)
    fk = f.instance(k)
    _assert_sound(coset_bound(fk, coset_ideal(fk, s4_trained.group), s4_trained.group), truth)


@pytest.mark.parametrize("spec", ["S3", "C5", "D4"])
def test_sound_on_random_models(spec):
    g = group(spec)
    f = GroupMLP(g.order, 2, 8, 12, seed=3).fold().detach().to(dtype=torch.float64)
    for k in range(2):
        _, bound, truth = _certify(f, g, k)
        _assert_sound(bound, truth)


def test_distance_bound_covers_the_exact_norm():
    from rhoproof.verify.logits import distance_bound

    gen = torch.Generator().manual_seed(0)
    dl = torch.randn(7, 33, dtype=torch.float64, generator=gen)
    dr = torch.cat([-dl[:3] + 1e-9 * torch.randn(3, 33, dtype=torch.float64, generator=gen),
                    torch.randn(4, 33, dtype=torch.float64, generator=gen)])  # cancellations
    bound = distance_bound(dl, dr).numpy()
    exact = np.linalg.norm(dl.numpy().astype(np.longdouble)[:, None, :]
                           + dr.numpy().astype(np.longdouble)[None], axis=2)
    assert (bound >= exact).all()
    far = exact > 1e-3
    assert (bound[far] <= exact[far] * (1 + 1e-6)).all()  # and tight away from cancellation


def test_structured_hidden_norm_matches_the_tables():
    from rhoproof.verify.logits import hidden_norm_bound

    g, f = builders.planted_model(noise=0.05, seed=1)
    ex, _, _ = _certify(f, g)
    fh = ex.folded
    direct = torch.relu(fh.left[0][:, None, :] + fh.right[0][None]).norm(dim=2)  # ‖ĥ‖
    n = hidden_norm_bound(ex.proof, g, f.d_hidden)
    assert (n >= direct * (1 - 1e-12)).all() and (n <= direct * (1 + 1e-9) + 1e-12).all()


def test_more_per_output_terms_never_loosen_the_bound():
    g, f = builders.planted_model(noise=0.003, seed=4)  # partly certified
    _, report = idealize(f, g)
    ex = exact_ideal(g, f.d_hidden, report.ideal, f.bias[0])
    counts = [int(irrep_bound(f, ex, g, top_k=k).certified.sum()) for k in (1, 8, g.order - 1)]
    assert counts == sorted(counts) and counts[-1] > 0
    assert irrep_bound(f, ex, g, top_k=g.order - 1).accuracy <= brute_bound(f, g).accuracy


def test_needed_only_per_output_terms_keep_the_accuracy_bound():
    # "needed" (the default above |G|³ = 2e7, S6 and up), here on the planted S5 model
    import json

    from rhoproof.verify.certificate import certify_model, check_stored

    g, f = builders.planted_model(noise=0.003, seed=4)
    ex, full, truth = _certify(f, g)
    needed = irrep_bound(f, ex, g, per_output="needed")
    _assert_sound(needed, truth)
    assert needed.accuracy == full.accuracy  # pruning never changes what is certified
    assert needed.cross_entropy >= full.cross_entropy
    cert = json.loads(json.dumps(certify_model(f, g, 0, per_output="needed").to_json()))
    assert cert["per_output"] == "needed"
    assert check_stored(cert, f, g).certified_inputs == cert["certified_inputs"]
    with pytest.raises(ValueError, match="per_output"):
        irrep_bound(f, ex, g, per_output="some")


def test_neurons_with_zero_unembedding_cost_nothing():
    # outside the circuits, a neuron's term is u_i(z)·h_i: with u_i = 0 it cannot matter,
    # however large its ℓ_i, r_i (the bound charges each neuron group its own norms; the
    # whole-layer Cauchy–Schwarz bound certifies nothing here)
    g, f = builders.planted_model()
    big = torch.full((1, g.order, 2), 50.0, dtype=torch.float64)
    wider = Folded(torch.cat([f.left, big], 2), torch.cat([f.right, big], 2),
                   torch.cat([f.unembed, torch.zeros(1, 2, g.order, dtype=torch.float64)], 1),
                   f.bias)
    _, report = idealize(f, g)  # the same explanation for both: only the bound differs
    plain = irrep_bound(f, exact_ideal(g, f.d_hidden, report.ideal, f.bias[0]), g)
    padded = irrep_bound(wider, exact_ideal(g, f.d_hidden + 2, report.ideal, f.bias[0]), g)
    _assert_sound(padded, brute_bound(wider, g))
    assert int(padded.certified.sum()) == int(plain.certified.sum()) > 0


@pytest.mark.parametrize("push", [0.5, 2.0, 8.0])
def test_raising_one_wrong_output_is_caught(push):
    # the one-sided terms keep only (u − u*)⁺: raising u for one output z0 raises exactly the
    # terms they keep, and breaks the inputs whose answer is not z0
    g, f = builders.planted_model(noise=1e-3, seed=5)
    z0 = 7
    unembed = f.unembed.clone()
    unembed[0, :, z0] += push
    broken = Folded(f.left, f.right, unembed, f.bias)
    _, bound, truth = _certify(broken, g)
    _assert_sound(bound, truth)
    if truth.accuracy < 1:
        assert bound.accuracy < 1
