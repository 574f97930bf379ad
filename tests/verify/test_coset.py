"""V_coset: its margin is a true lower bound on the idealized margin, and its bound is sound."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rhoproof.groups import group
from rhoproof.model import GroupMLP
from rhoproof.verify import brute_bound
from rhoproof.verify.coset import coset_bound, coset_ideal, coset_margins

from .. import builders


def _ideal_margins(ideal, g):
    """Brute force: f̂(xy) − max_{z≠xy} f̂(z) for every input, [|G|, |G|]."""
    fh = ideal.folded
    hid = torch.relu(fh.left[0][:, None, :] + fh.right[0][None])  # [x, y, m]
    logits = hid @ fh.unembed[0] + fh.bias[0]  # [x, y, z]
    correct = logits.gather(2, g.table[:, :, None])[..., 0]
    others = logits.scatter(2, g.table[:, :, None], -torch.inf)
    return correct - others.max(2).values


def _assert_margin_bounds_every_input(f, g):
    ideal = coset_ideal(f, g)
    margin = coset_margins(ideal, g)  # [z]
    true = _ideal_margins(ideal, g)  # [x, y], itself rounded: allow its few ulps
    assert (margin[g.table] <= true + 1e-12 * (1 + true.abs())).all()


def test_exact_coset_model_idealizes_to_itself():
    # a ρ-set circuit is exactly constant on cosets of the points' stabilizers
    g, f = builders.planted_model()
    ideal = coset_ideal(f, g)
    assert ideal.explained == 32  # every live neuron; the 3 dead ones have no structure
    for name in ("left", "right"):
        assert torch.allclose(getattr(ideal.folded, name), getattr(f, name), atol=1e-12)
    _assert_margin_bounds_every_input(f, g)
    bound, truth = coset_bound(f, ideal, g), brute_bound(f, g)
    assert bound.accuracy <= truth.accuracy == 1.0


def test_constant_output_model_is_certified_exactly():
    g, f = builders.constant_output_model()
    bound, truth = coset_bound(f, coset_ideal(f, g), g), brute_bound(f, g)
    assert truth.accuracy == pytest.approx(1 / g.order)
    assert bound.accuracy == truth.accuracy
    assert bound.cross_entropy >= truth.cross_entropy_lower


@settings(max_examples=25, deadline=None)
@given(spec=st.sampled_from(["S3", "C6", "D4", "planted S5"]), seed=st.integers(0, 10_000),
       noise=st.sampled_from([0.0, 1e-3, 0.1]))
def test_sound_on_random_and_noisy_models(spec, seed, noise):
    if spec == "planted S5":
        g, f = builders.planted_model(noise=noise, seed=seed)
    else:
        g = group(spec)
        f = GroupMLP(g.order, 1, 8, 12, seed=seed).fold().detach().to(dtype=torch.float64)
    _assert_margin_bounds_every_input(f, g)
    bound, truth = coset_bound(f, coset_ideal(f, g), g), brute_bound(f, g)
    assert bound.accuracy <= truth.accuracy
    assert bound.cross_entropy >= truth.cross_entropy_lower


def test_given_subgroups_are_checked():
    g, f = builders.planted_model()
    ideal = coset_ideal(f, g)
    again = coset_ideal(f, g, subgroups=(ideal.left_subgroup, ideal.right_subgroup))
    assert torch.equal(again.folded.unembed, ideal.folded.unembed)
    bad = ideal.right_subgroup.clone()
    bad[0] = 0  # the trivial subgroup is no conjugate of a point stabilizer
    with pytest.raises(ValueError, match="conjugate"):
        coset_ideal(f, g, subgroups=(ideal.left_subgroup, bad))
