"""Exact evaluation against a naive per-pair loop."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rhoproof.evaluate import evaluate
from rhoproof.groups import group
from rhoproof.model import GroupMLP


@torch.no_grad()
def _naive(model, g):
    acc, loss = [], []
    for k in range(model.n_instances):
        correct, total = 0, 0.0
        for x in range(g.order):
            for y in range(g.order):
                logits = model(torch.tensor([x]), torch.tensor([y]))[k, 0].double()
                z = g.mul(x, y)
                others = torch.cat([logits[:z], logits[z + 1:]])
                correct += bool(logits[z] > others.max())
                total += float(torch.logsumexp(logits, 0) - logits[z])
        acc.append(correct / g.order**2)
        loss.append(total / g.order**2)
    return acc, loss


def test_matches_naive_loop():
    g = group("S3")
    model = GroupMLP(g.order, 3, 6, 8, seed=0).double()
    with torch.no_grad():  # make one instance partly right so accuracy is not trivial
        model.unembedding[0] *= 0
        model.unembed_bias[0] = 0
    ev = evaluate(model, g, keep_pairs=True)
    acc, loss = _naive(model, g)
    assert torch.allclose(ev.accuracy, torch.tensor(acc, dtype=torch.float64))
    assert torch.allclose(ev.loss, torch.tensor(loss, dtype=torch.float64))
    assert ev.correct.shape == (3, 36) and ev.pair_loss.shape == (3, 36)


def test_chunking_does_not_change_results():
    g = group("D5")
    model = GroupMLP(g.order, 2, 4, 6, seed=1)
    a = evaluate(model, g, keep_pairs=True)
    b = evaluate(model, g, keep_pairs=True, chunk_bytes=1)
    assert torch.equal(a.correct, b.correct) and torch.allclose(a.pair_loss, b.pair_loss)


def test_ties_count_as_errors():
    g = group("C5")
    model = GroupMLP(g.order, 1, 4, 4, seed=0)
    with torch.no_grad():
        model.unembedding.zero_()
        model.unembed_bias.zero_()
    ev = evaluate(model, g)
    assert ev.accuracy.item() == 0.0
    assert math.isclose(ev.loss.item(), math.log(5))


def test_a_perfect_lookup_model_scores_one():
    g = group("S3")
    n = g.order
    model = GroupMLP(n, 1, n, n * n, seed=0).double()
    with torch.no_grad():  # one hidden unit per pair (x, y), firing only for that pair
        model.embedding_left[0] = torch.eye(n)
        model.embedding_right[0] = torch.eye(n)
        for x in range(n):
            for y in range(n):
                i = x * n + y
                model.linear_left[0, :, i] = -1.0
                model.linear_left[0, x, i] = 1.0
                model.linear_right[0, :, i] = 0.0
                model.linear_right[0, y, i] = 1.0
                model.unembedding[0, i] = 0.0
                model.unembedding[0, i, g.mul(x, y)] = 10.0
        model.unembed_bias.zero_()
    ev = evaluate(model, g)
    assert ev.accuracy.item() == 1.0


@given(seed=st.integers(0, 10_000), k=st.integers(1, 3), chunk=st.integers(1, 4096))
def test_property_chunked_evaluation_equals_one_shot(seed, k, chunk):
    g = group("D4")
    model = GroupMLP(g.order, k, 5, 7, seed=seed)
    a = evaluate(model, g, keep_pairs=True)
    b = evaluate(model, g, keep_pairs=True, chunk_bytes=chunk)
    assert torch.equal(a.correct, b.correct)
    assert torch.allclose(a.pair_loss, b.pair_loss, rtol=1e-12)
    assert torch.allclose(a.accuracy, a.correct.double().mean(1))


def _tie_models(seed):
    """Folded and unfolded models with integer weights (every logit may tie), one-ulp nudges
    and weights spanning hundreds of binary orders of magnitude."""
    import numpy as np

    from rhoproof.model import Folded, GroupMLP

    rng = np.random.default_rng(seed)
    g, m, d = 6, 5, 3

    def ints(*shape):
        return torch.from_numpy(rng.integers(-2, 3, size=shape).astype(np.float64))[None]

    tied = Folded(ints(g, m), ints(g, m), ints(m, g), ints(g))
    nudged = Folded(*(torch.from_numpy(np.nextafter(t.numpy(), np.inf * rng.choice([-1, 1],
                                                                                   t.shape)))
                      for t in tied.tensors().values()))
    wide = Folded(*(t * torch.where(torch.rand(t.shape, generator=torch.Generator()
                                               .manual_seed(seed)) < 0.5, 2.0**-900, 2.0**60)
                    for t in tied.tensors().values()))
    mlp = GroupMLP(g, 1, d, m, seed=seed, dtype=torch.float64)
    with torch.no_grad():
        for t in mlp.tensors().values():
            t.copy_(torch.from_numpy(rng.integers(-2, 3, size=t.shape).astype(np.float64)))
    return [tied, nudged, wide, mlp]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_limbs_decide_like_rational_arithmetic(seed):
    """Issue 20: the exact fallback is vectorized limb arithmetic; on models where logits
    tie, differ by one ulp, or span 2^-900..2^60, it decides every input as exact rational
    arithmetic does (``testing.exact_truth``), and its CE bounds bracket the truth."""
    from rhoproof.exact import decide
    from rhoproof.testing import exact_truth

    g = group("S3")
    xs, ys = (t.reshape(-1) for t in torch.meshgrid(torch.arange(6), torch.arange(6),
                                                    indexing="ij"))
    for model in _tie_models(seed):
        truth = exact_truth(model, g)
        ok, low, up = decide(model, 0, xs, ys, g.table)
        assert torch.equal(ok.reshape(6, 6), torch.from_numpy(truth.mask))
        assert bool((low <= up).all())
        ev = evaluate(model, g)
        assert float(ev.accuracy[0]) == truth.accuracy
        assert float(ev.loss_lower[0]) <= float(truth.cross_entropy) <= float(ev.loss[0])
