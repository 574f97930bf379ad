"""The training step's forward and backward pass, fused and chunked over the training pairs.

Autograd on the plain formula materializes [K, N, |G|] logits and their gradient (hundreds of
MB for 100 S5 models), and its gather backward is a slow scatter. Here the gradient is written
out by hand and computed chunk by chunk in preallocated buffers (every ``out=`` tensor is a
contiguous view of a flat buffer, so nothing is allocated per chunk). Hidden activations are
stored pair-major, ``[pairs, K, m]``, so gathering ℓ[x] and scattering its gradient move whole
contiguous ``[K, m]`` blocks instead of single rows.

For logits f = h W_U + β and loss (1/N) Σ_n CE(f_n, z_n), with p_n = softmax(f_n):
∂f_n = (p_n − onehot(z_n))/N, ∂W_U = hᵀ ∂f, ∂β = Σ_n ∂f_n, ∂h = ∂f W_Uᵀ, ∂pre = ∂h·[pre > 0],
∂ℓ[x] = Σ_{n: x_n = x} ∂pre_n (likewise r), ∂E_L = ∂ℓ W_Lᵀ, ∂W_L = E_Lᵀ ∂ℓ.
``tests/test_step.py`` checks this against autograd.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from rhoproof.model import GroupMLP

WORKSPACE_BYTES = {"cpu": 32 * 2**20, "cuda": 1024 * 2**20}
"""Buffer budget per step; 32 MiB was fastest for 100 S5 models on a 2-core CPU."""


class FusedStep:
    """Loss and gradients of every instance's mean cross-entropy on fixed training pairs."""

    def __init__(self, model: GroupMLP, x: torch.Tensor, y: torch.Tensor,
                 labels: torch.Tensor, chunk: int | None = None) -> None:
        p = model.embedding_left
        self.device, self.dtype = p.device, p.dtype
        k, g, m = model.n_instances, model.group_order, model.d_hidden
        self.n = int(x.numel())
        if chunk is None:
            per_pair = k * (3 * m + 2 * g) * p.element_size()
            chunk = WORKSPACE_BYTES.get(self.device.type, WORKSPACE_BYTES["cpu"]) // per_pair
        self.chunk = max(1, min(self.n, int(chunk)))
        self.x, self.y = x.to(self.device), y.to(self.device)
        self.bags = torch.stack([self.x, self.y + g], dim=1)  # [N, 2] rows of the ℓ/r table
        # [K, N, 1]-shaped label views per chunk are made on the fly from this
        self.labels = labels.to(self.device)
        opts: dict[str, Any] = {"device": self.device, "dtype": self.dtype}
        c = self.chunk
        # flat buffers, viewed per chunk so that every out= tensor is contiguous
        self._tmp = torch.empty(c * k * m, **opts)
        self._grad_h = torch.empty(c * k * m, **opts)
        self._logits = torch.empty(c * k * g, **opts)
        self._probs = torch.empty(c * k * g, **opts)
        self._minus_one = torch.full((k * c,), -1.0, **opts)

    def __call__(self, model: GroupMLP, with_loss: bool = True
                 ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """(loss [K] or None, gradients by parameter name), without touching ``.grad``."""
        with torch.no_grad():
            return self._run(model, with_loss)

    def _run(self, model: GroupMLP, with_loss: bool
             ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        k, g, m = model.n_instances, model.group_order, model.d_hidden
        e_l, e_r = model.embedding_left, model.embedding_right
        w_l, w_r = model.linear_left, model.linear_right
        # pair-major ℓ and r stacked: rows 0..|G|-1 hold ℓ(x), rows |G|.. hold r(y): [2|G|, K, m]
        left_right = torch.cat([(e_l @ w_l).transpose(0, 1), (e_r @ w_r).transpose(0, 1)])
        table = left_right.view(2 * g, k * m)
        unembed = model.unembedding  # [K, m, |G|]
        bias = model.unembed_bias[:, None, :]  # [K, 1, |G|]
        unembed_t = unembed.transpose(1, 2)
        grad_left = torch.zeros(g, k, m, device=self.device, dtype=self.dtype)
        grad_right = torch.zeros_like(grad_left)
        grad_unembed = torch.zeros_like(unembed)
        grad_bias = torch.zeros_like(model.unembed_bias)
        loss = torch.zeros(k, device=self.device, dtype=self.dtype)
        for i in range(0, self.n, self.chunk):
            j = min(self.n, i + self.chunk)
            c = j - i
            tmp = self._tmp[: c * k * m].view(c, k, m)
            grad_h = self._grad_h[: c * k * m].view(k, c, m)
            logits = self._logits[: c * k * g].view(k, c, g)
            probs = self._probs[: c * k * g].view(k, c, g)
            xs, ys = self.x[i:j], self.y[i:j]
            # ℓ(x) + r(y) in one gather-and-add pass, then ReLU: [c, K, m], pair-major
            hidden = F.embedding_bag(self.bags[i:j], table, mode="sum").view(c, k, m).relu_()
            torch.bmm(hidden.transpose(0, 1), unembed, out=logits).add_(bias)  # [K, c, |G|]
            labels = self.labels[i:j].view(1, c, 1).expand(k, c, 1)
            torch.ops.aten._softmax.out(logits, -1, False, out=probs)
            if with_loss:  # CE = −log p(correct); the clamp keeps it finite
                tiny = torch.finfo(self.dtype).tiny
                loss -= probs.gather(-1, labels).clamp_min_(tiny).log_().sum((1, 2))
            minus_one = self._minus_one[: k * c].view(k, c, 1)
            grad_logits = probs.scatter_add_(-1, labels, minus_one)  # N·∂f
            grad_unembed.baddbmm_(hidden.permute(1, 2, 0), grad_logits)
            grad_bias += grad_logits.sum(1)
            torch.bmm(grad_logits, unembed_t, out=grad_h)  # [K, c, m]
            # ReLU backward, written pair-major: keep ∂h where the activation is positive
            torch.ops.aten.threshold_backward.grad_input(grad_h.transpose(0, 1), hidden, 0,
                                                         grad_input=tmp)
            grad_left.index_add_(0, xs, tmp)
            grad_right.index_add_(0, ys, tmp)
        scale = 1.0 / self.n
        g_left = grad_left.transpose(0, 1).mul(scale)  # [K, |G|, m]
        g_right = grad_right.transpose(0, 1).mul(scale)
        grads = {
            "embedding_left": g_left @ w_l.transpose(1, 2),
            "embedding_right": g_right @ w_r.transpose(1, 2),
            "linear_left": e_l.transpose(1, 2) @ g_left,
            "linear_right": e_r.transpose(1, 2) @ g_right,
            "unembedding": grad_unembed.mul_(scale),
            "unembed_bias": grad_bias.mul_(scale),
        }
        return (loss * scale if with_loss else None), grads
