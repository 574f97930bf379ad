"""The fused training step computes exactly the gradient autograd would."""

import pytest
import torch
import torch.nn.functional as F

from rhoproof.model import PARAM_NAMES, GroupMLP
from rhoproof.step import FusedStep


def _reference(model, x, y, labels):
    logits = model(x, y)
    k, n, g = logits.shape
    loss = F.cross_entropy(logits.reshape(-1, g), labels.repeat(k), reduction="none")
    loss = loss.view(k, n).mean(1)
    grads = torch.autograd.grad(loss.sum(), [getattr(model, p) for p in PARAM_NAMES])
    return loss.detach(), dict(zip(PARAM_NAMES, grads))


@pytest.mark.parametrize("chunk", [None, 1, 7, 50])
@pytest.mark.parametrize("k", [1, 3])
def test_gradients_equal_autograd(chunk, k):
    torch.manual_seed(k)
    model = GroupMLP(12, k, 8, 10, seed=k).double()
    x, y = torch.randint(0, 12, (50,)), torch.randint(0, 12, (50,))
    labels = torch.randint(0, 12, (50,))
    loss, grads = FusedStep(model, x, y, labels, chunk=chunk)(model)
    ref_loss, ref_grads = _reference(model, x, y, labels)
    assert torch.allclose(loss, ref_loss, rtol=1e-12, atol=1e-12)
    for name in PARAM_NAMES:
        assert torch.allclose(grads[name], ref_grads[name], rtol=1e-10, atol=1e-14), name


def test_without_loss_gives_same_gradients():
    model = GroupMLP(6, 2, 4, 5, seed=0).double()
    x, y, z = torch.arange(6), torch.arange(6).flip(0), torch.arange(6)
    step = FusedStep(model, x, y, z, chunk=4)
    loss, g1 = step(model, with_loss=False)
    _, g2 = step(model)
    assert loss is None
    assert all(torch.equal(g1[n], g2[n]) for n in PARAM_NAMES)
