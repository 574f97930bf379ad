"""The instanced MLP: shapes, folding, and independence of instances."""

import pytest
import torch

from rhoproof.errors import ConfigError
from rhoproof.model import PARAM_NAMES, GroupMLP, instance_seeds


def test_shapes_and_fold():
    m = GroupMLP(group_order=6, n_instances=3, d_embed=5, d_hidden=7, seed=0)
    assert m.expected_shapes() == {
        "embedding_left": (3, 6, 5), "embedding_right": (3, 6, 5), "linear_left": (3, 5, 7),
        "linear_right": (3, 5, 7), "unembedding": (3, 7, 6), "unembed_bias": (3, 6)}
    f = m.fold()
    assert f.left.shape == (3, 6, 7) and f.unembed.shape == (3, 7, 6) and f.bias.shape == (3, 6)


def test_forward_matches_the_unfolded_formula():
    m = GroupMLP(6, 2, 5, 7, seed=1).double()
    x, y = torch.tensor([0, 3, 5]), torch.tensor([1, 1, 4])
    for k in range(2):
        h = torch.relu(m.embedding_left[k, x] @ m.linear_left[k]
                       + m.embedding_right[k, y] @ m.linear_right[k])
        ref = h @ m.unembedding[k] + m.unembed_bias[k]
        assert torch.allclose(m(x, y)[k], ref)


def test_instance_k_does_not_depend_on_how_many_instances():
    a = GroupMLP(6, 2, 4, 4, seed=3)
    b = GroupMLP(6, 5, 4, 4, seed=3)
    for name in PARAM_NAMES:
        assert torch.equal(getattr(a, name)[1], getattr(b, name)[1])
    assert not torch.equal(a.embedding_left[0], a.embedding_left[1])


def test_seeds_differ_and_are_reproducible():
    assert instance_seeds(0, 4) == instance_seeds(0, 4)
    assert len(set(instance_seeds(0, 4))) == 4
    assert instance_seeds(0, 2) != instance_seeds(1, 2)


def test_round_trip_through_tensors():
    m = GroupMLP(6, 2, 4, 3, seed=0)
    m2 = GroupMLP.from_tensors(m.tensors())
    for name in PARAM_NAMES:
        assert torch.equal(getattr(m, name), getattr(m2, name))


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_bad_sizes(bad):
    with pytest.raises(ConfigError):
        GroupMLP(6, bad)
