"""The seed paper's one-hidden-layer network, with an instance dimension.

K independent models live in one module; every parameter has a leading instance axis::

    logits(x, y) = ReLU(E_L[x] W_L + E_R[y] W_R) W_U + β

Parameter names are the seed paper's (``embedding_left``, ..., ``unembed_bias``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rhoproof.errors import ConfigError

PARAM_NAMES = ("embedding_left", "embedding_right", "linear_left", "linear_right",
               "unembedding", "unembed_bias")
WEIGHT_NAMES = PARAM_NAMES[:5]
"""Parameters that get weight decay (all but the unembedding bias)."""


def instance_seeds(seed: int, n_instances: int) -> list[int]:
    """Independent 63-bit init seeds for each instance, derived from the run seed."""
    children = np.random.SeedSequence(seed).spawn(n_instances)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


FOLDED_NAMES = ("left", "right", "unembed", "bias")


@dataclass(frozen=True)
class Folded:
    """Per-neuron functions of the network; all analysis and proofs work on these.

    left[k, x, i] = ℓ_i(x) = (E_L W_L)[x, i], right[k, y, i] = r_i(y) = (E_R W_R)[y, i],
    unembed[k, i, z] = u_i(z) = W_U[i, z], bias[k, z] = β(z), so that
    logits(z | x, y) = Σ_i u_i(z) ReLU(ℓ_i(x) + r_i(y)) + β(z).

    Examples
    --------
    >>> from rhoproof import zoo
    >>> f = zoo.load("S4", n_models=2)
    >>> tuple(f.left.shape), tuple(f.unembed.shape), tuple(f.bias.shape), f.d_hidden
    ((2, 24, 64), (2, 64, 24), (2, 24), 64)
    >>> tuple(f.instance(1).left.shape)
    (1, 24, 64)
    """

    left: torch.Tensor  # [K, |G|, m]
    right: torch.Tensor  # [K, |G|, m]
    unembed: torch.Tensor  # [K, m, |G|]
    bias: torch.Tensor  # [K, |G|]

    @property
    def n_instances(self) -> int:
        return int(self.left.shape[0])

    @property
    def group_order(self) -> int:
        return int(self.left.shape[1])

    @property
    def d_hidden(self) -> int:
        return int(self.left.shape[2])

    def instance(self, k: int) -> Folded:
        """The k-th instance alone (keeping a length-1 instance axis)."""
        return Folded(self.left[k:k + 1], self.right[k:k + 1], self.unembed[k:k + 1],
                      self.bias[k:k + 1])

    def to(self, *args: object, **kwargs: object) -> Folded:
        """Every tensor ``.to(...)`` with the same arguments as ``torch.Tensor.to`` (a device,
        a dtype, or ``device=`` / ``dtype=``)."""
        return Folded(*(t.to(*args, **kwargs) for t in  # type: ignore[call-overload]
                        (self.left, self.right, self.unembed, self.bias)))

    def detach(self) -> Folded:
        return Folded(*(t.detach() for t in (self.left, self.right, self.unembed, self.bias)))

    def fold(self) -> Folded:
        """Already folded: itself (so a Folded stands in for a model wherever one is folded)."""
        return self

    def tensors(self) -> dict[str, torch.Tensor]:
        """The four tensors under their names (what a folded run stores)."""
        return {name: getattr(self, name) for name in FOLDED_NAMES}

    def logits(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Logits for the pairs (x[n], y[n]), ``[K, N, |G|]``."""
        hidden = torch.relu(self.left[:, x] + self.right[:, y])  # [K, N, m]
        return hidden @ self.unembed + self.bias[:, None, :]


class GroupMLP(nn.Module):
    """K instances of the seed paper's MLP for a group of order ``group_order``.

    Initialisation follows the seed paper's code: embeddings N(0, 1); W_L, W_R uniform with
    bound 1/√(2 d_e); W_U uniform with bound 1/√m; β uniform with bound 1/√m. Each instance
    draws from its own generator, seeded by ``instance_seeds(seed, K)``, so instance k is the
    same whatever K is.

    Examples
    --------
    >>> import torch
    >>> from rhoproof import GroupMLP
    >>> model = GroupMLP(24, n_instances=3, d_embed=16, d_hidden=8, seed=0)
    >>> x, y = torch.tensor([0, 5]), torch.tensor([1, 2])
    >>> tuple(model(x, y).shape)  # [K, pairs, |G|] logits
    (3, 2, 24)
    >>> tuple(model.fold().left.shape)
    (3, 24, 8)
    """

    def __init__(self, group_order: int, n_instances: int = 1, d_embed: int = 128,
                 d_hidden: int = 128, seed: int = 0, dtype: torch.dtype = torch.float32
                 ) -> None:
        super().__init__()
        for name, value in (("group_order", group_order), ("n_instances", n_instances),
                            ("d_embed", d_embed), ("d_hidden", d_hidden)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        self.group_order, self.n_instances = group_order, n_instances
        self.d_embed, self.d_hidden = d_embed, d_hidden
        g, k, d, m = group_order, n_instances, d_embed, d_hidden
        self.embedding_left = nn.Parameter(torch.empty(k, g, d, dtype=dtype))  # [K, |G|, d_e]
        self.embedding_right = nn.Parameter(torch.empty(k, g, d, dtype=dtype))  # [K, |G|, d_e]
        self.linear_left = nn.Parameter(torch.empty(k, d, m, dtype=dtype))  # [K, d_e, m]
        self.linear_right = nn.Parameter(torch.empty(k, d, m, dtype=dtype))  # [K, d_e, m]
        self.unembedding = nn.Parameter(torch.empty(k, m, g, dtype=dtype))  # [K, m, |G|]
        self.unembed_bias = nn.Parameter(torch.empty(k, g, dtype=dtype))  # [K, |G|]
        self.reset_parameters(seed)

    def reset_parameters(self, seed: int) -> None:
        with torch.no_grad():
            for k, s in enumerate(instance_seeds(seed, self.n_instances)):
                gen = torch.Generator().manual_seed(s)
                d, m = self.d_embed, self.d_hidden

                def uniform(shape: tuple[int, ...], bound: float, gen: torch.Generator = gen
                            ) -> torch.Tensor:
                    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound

                self.embedding_left[k] = torch.randn(self.embedding_left.shape[1:], generator=gen)
                self.embedding_right[k] = torch.randn(self.embedding_right.shape[1:],
                                                      generator=gen)
                self.linear_left[k] = uniform((d, m), 1 / math.sqrt(2 * d))
                self.linear_right[k] = uniform((d, m), 1 / math.sqrt(2 * d))
                self.unembedding[k] = uniform((m, self.group_order), 1 / math.sqrt(m))
                self.unembed_bias[k] = uniform((self.group_order,), 1 / math.sqrt(m))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Logits for the pairs (x[n], y[n]) in every instance, ``[K, N, |G|]``."""
        return self.fold().logits(x, y)

    def fold(self) -> Folded:
        """Fold the linear maps into the embeddings: ℓ = E_L W_L, r = E_R W_R, u = W_U."""
        return Folded(
            left=self.embedding_left @ self.linear_left,  # [K, |G|, m]
            right=self.embedding_right @ self.linear_right,  # [K, |G|, m]
            unembed=self.unembedding,  # [K, m, |G|]
            bias=self.unembed_bias,  # [K, |G|]
        )

    def tensors(self) -> dict[str, torch.Tensor]:
        """The parameters by their canonical names (detached)."""
        return {name: getattr(self, name).detach() for name in PARAM_NAMES}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> GroupMLP:
        """Rebuild a model from ``tensors()`` output; shapes must be consistent. The stored
        dtype is kept (a float64 run stays float64)."""
        k, g, d = tensors["embedding_left"].shape
        m = tensors["linear_left"].shape[2]
        model = cls(int(g), int(k), int(d), int(m), dtype=tensors["embedding_left"].dtype)
        with torch.no_grad():
            for name in PARAM_NAMES:
                getattr(model, name).copy_(tensors[name])
        return model

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: tuple(getattr(self, name).shape) for name in PARAM_NAMES}


def select_instance(model: GroupMLP | Folded, k: int) -> GroupMLP | Folded:
    """Instance k alone (a length-1 instance axis), as stored: same kind, same dtype."""
    if isinstance(model, Folded):
        return model.instance(k)
    return GroupMLP.from_tensors({n: t[k:k + 1] for n, t in model.tensors().items()})
