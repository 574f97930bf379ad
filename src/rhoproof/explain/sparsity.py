"""Irrep sparsity (Chughtai et al. 2023): how much of each neuron lives in one real irrep.

The matrix entries g ↦ ρ(g)_jk of the real irreps span orthogonal subspaces of R^{|G|} (the
isotypic components of the regular representation) that together fill it, so every function
on G splits uniquely into irrep parts. For each neuron i we measure the fraction of ‖ℓ_i‖²,
‖r_i‖² and ‖u_i‖² in each part, and assign the neuron to an irrep when all three fractions
exceed a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from rhoproof.config import SPARSITY_THRESHOLD
from rhoproof.groups import Group
from rhoproof.model import Folded

DEAD = -1
MIXED = -2


@lru_cache(maxsize=16)
def _irrep_basis_cached(group: Group) -> tuple[np.ndarray, np.ndarray]:
    columns, owner = [], []
    for idx, rep in enumerate(group.irreps):
        entries = rep.matrices.reshape(group.order, -1)  # [|G|, d²]
        u, s, _ = np.linalg.svd(entries, full_matrices=False)
        rank = int((s > 1e-8 * s[0]).sum())  # d² for real type, d²/2 or d²/4 otherwise
        columns.append(u[:, :rank])
        owner += [idx] * rank
    basis = np.concatenate(columns, axis=1)  # [|G|, |G|], orthonormal
    return basis, np.array(owner)


def irrep_basis(group: Group) -> tuple[torch.Tensor, torch.Tensor]:
    """An orthonormal basis of R^{|G|} adapted to the irreps: (basis [|G|, |G|] float64,
    owner [|G|] = index into ``group.irreps`` of each basis column)."""
    basis, owner = _irrep_basis_cached(group)
    if basis.shape[1] != group.order:
        raise RuntimeError(f"{group.spec}: irrep subspaces have total dimension "
                           f"{basis.shape[1]} != |G| = {group.order}")
    return torch.from_numpy(basis.copy()), torch.from_numpy(owner.copy())


def irrep_fractions(values: torch.Tensor, group: Group) -> torch.Tensor:
    """Fraction of ‖v‖² in each irrep for functions on G stored along ``dim=-2``.

    values: [..., |G|, n] → fractions [..., n_irreps, n]; columns of norm zero give zeros.
    """
    basis, owner = irrep_basis(group)
    coeff = basis.T @ values.to(torch.float64)  # [..., |G|, n]
    energy = torch.zeros(*values.shape[:-2], len(group.irreps), values.shape[-1],
                         dtype=torch.float64)
    energy.index_add_(-2, owner, coeff**2)
    total = energy.sum(-2, keepdim=True)
    return torch.where(total > 0, energy / total.clamp_min(1e-300), torch.zeros_like(energy))


@dataclass(frozen=True)
class IrrepSparsity:
    """Per-neuron irrep fractions and assignments for K models.

    ``assignment[k, i]`` is an index into ``irrep_names``, or DEAD (-1) or MIXED (-2).
    """

    irrep_names: tuple[str, ...]
    left: torch.Tensor  # [K, n_irreps, m] fraction of ‖ℓ_i‖² per irrep
    right: torch.Tensor  # [K, n_irreps, m]
    unembed: torch.Tensor  # [K, n_irreps, m]
    assignment: torch.Tensor  # [K, m] int64
    bias: torch.Tensor  # [K, n_irreps] fraction of ‖β‖² per irrep
    threshold: float
    dead_norm: float
    norms: dict[str, torch.Tensor] = field(repr=False)  # "left", "right", "unembed": [K, m]

    def counts(self, k: int) -> dict[str, int]:
        """Number of neurons per irrep name (and "dead", "mixed") in instance k."""
        a = self.assignment[k]
        out = {name: int((a == j).sum()) for j, name in enumerate(self.irrep_names)}
        out = {n: c for n, c in out.items() if c}
        for label, code in (("mixed", MIXED), ("dead", DEAD)):
            if (a == code).any():
                out[label] = int((a == code).sum())
        return out


def irrep_sparsity(folded: Folded, group: Group, threshold: float = SPARSITY_THRESHOLD,
                   dead_norm: float = 1e-2) -> IrrepSparsity:
    """Measure irrep sparsity of every neuron of every instance.

    A neuron is dead when ‖u_i‖ < dead_norm or both ‖ℓ_i‖ and ‖r_i‖ are below it (it then adds
    (almost) nothing to any logit); otherwise it belongs to irrep ρ when the fraction of each of
    ‖ℓ_i‖², ‖r_i‖², ‖u_i‖² in ρ exceeds ``threshold``, and is mixed if no irrep does.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    f = folded.to(dtype=torch.float64, device="cpu").detach()
    left = irrep_fractions(f.left, group)  # [K, R, m]
    right = irrep_fractions(f.right, group)
    unembed = irrep_fractions(f.unembed.transpose(1, 2), group)  # u_i as a function of z
    bias = irrep_fractions(f.bias[:, :, None], group)[..., 0]  # [K, R]
    norms = {"left": f.left.norm(dim=1), "right": f.right.norm(dim=1),
             "unembed": f.unembed.norm(dim=2)}  # [K, m] each
    weakest = torch.minimum(torch.minimum(left, right), unembed)  # [K, R, m]
    best, which = weakest.max(dim=1)  # [K, m]
    assignment = torch.where(best > threshold, which, torch.full_like(which, MIXED))
    dead = (norms["unembed"] < dead_norm) | ((norms["left"] < dead_norm)
                                              & (norms["right"] < dead_norm))
    assignment = torch.where(dead, torch.full_like(which, DEAD), assignment)
    return IrrepSparsity(tuple(r.name for r in group.irreps), left, right, unembed,
                         assignment, bias, threshold, dead_norm, norms)
