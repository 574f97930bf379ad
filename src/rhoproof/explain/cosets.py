"""Coset concentration (Stander et al. 2024): neurons constant on the cosets of a subgroup.

For a neuron i and a subgroup H, the partition variance of ℓ_i over the right cosets Hx is
E[Var(ℓ_i | coset)] / Var(ℓ_i) ∈ [0, 1]: 0 when ℓ_i is constant on every coset. A neuron is
coset-concentrated on H when ℓ_i is (nearly) constant on the right cosets of H and r_i on the
left cosets of some conjugate H' = gHg⁻¹; we report the largest such H.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rhoproof.groups import Group
from rhoproof.groups.cosets import coset_ids, subgroup_classes
from rhoproof.model import Folded


def partition_variance(values: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """E[Var(v | block)] / Var(v) for functions on G along ``dim=1``.

    values: [K, |G|, m], ids: [|G|] block of each element (blocks of equal size) → [K, m].
    A constant function gets 0 (nothing to explain).
    """
    n_blocks = int(ids.max()) + 1
    sums = torch.zeros(values.shape[0], n_blocks, values.shape[2], dtype=values.dtype)
    sums.index_add_(1, ids, values)
    means = sums / (values.shape[1] // n_blocks)
    within = ((values - means[:, ids]) ** 2).sum(1)  # [K, m]
    total = ((values - values.mean(1, keepdim=True)) ** 2).sum(1)
    return torch.where(total > 1e-24, within / total.clamp_min(1e-300), torch.zeros_like(total))


@dataclass(frozen=True)
class CosetConcentration:
    """Per-neuron largest coset-concentration subgroup, for K models.

    ``left_subgroup[k, i]`` indexes ``group.subgroups`` (H: ℓ_i constant on cosets Hx) and
    ``right_subgroup[k, i]`` its conjugate H' (r_i constant on cosets yH'); the trivial
    subgroup means no concentration. ``left_var``/``right_var`` are the partition variances
    left over.
    """

    left_subgroup: torch.Tensor  # [K, m] int64
    right_subgroup: torch.Tensor  # [K, m] int64
    left_var: torch.Tensor  # [K, m]
    right_var: torch.Tensor  # [K, m]
    subgroup_order: torch.Tensor  # [K, m]
    threshold: float


def coset_concentration(folded: Folded, group: Group, threshold: float = 0.01
                        ) -> CosetConcentration:
    """Find, for every neuron, the largest H with ℓ_i constant on right cosets of H and r_i
    constant on left cosets of a conjugate of H (partition variances below ``threshold``).

    Cost: two partition variances per subgroup, O(#subgroups · K |G| m).
    """
    f = folded.to(dtype=torch.float64, device="cpu")
    subs = group.subgroups
    cls = torch.tensor(subgroup_classes(group))
    with torch.no_grad():
        left_var = torch.stack([partition_variance(f.left.detach(), ids)
                                for ids in coset_ids(group, "right")])  # [S, K, m]
        right_var = torch.stack([partition_variance(f.right.detach(), ids)
                                 for ids in coset_ids(group, "left")])  # [S, K, m]
    n_classes = int(cls.max()) + 1
    # best right subgroup within each conjugacy class: [C, K, m]
    best_right = torch.full((n_classes, *right_var.shape[1:]), float("inf"), dtype=torch.float64)
    best_right_idx = torch.zeros(best_right.shape, dtype=torch.int64)
    for s in range(len(subs)):
        better = right_var[s] < best_right[cls[s]]
        best_right[cls[s]] = torch.where(better, right_var[s], best_right[cls[s]])
        best_right_idx[cls[s]] = torch.where(better, torch.tensor(s), best_right_idx[cls[s]])
    ok = (left_var < threshold) & (best_right[cls] < threshold)  # [S, K, m]
    sizes = torch.tensor([len(h) for h in subs], dtype=torch.float64)
    # largest order first; among equals, least leftover variance
    score = torch.where(ok, sizes[:, None, None] * 10 - (left_var + best_right[cls]),
                        torch.tensor(-1.0, dtype=torch.float64))
    chosen = score.argmax(0)  # [K, m]; subgroup 0 (trivial) always qualifies
    right_idx = best_right_idx[cls][chosen, torch.arange(chosen.shape[0])[:, None],
                                    torch.arange(chosen.shape[1])[None, :]]

    def gather(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:  # t[idx[k, i], k, i]
        return t.gather(0, idx[None])[0]

    return CosetConcentration(
        left_subgroup=chosen, right_subgroup=right_idx,
        left_var=gather(left_var, chosen), right_var=gather(right_var, right_idx),
        subgroup_order=sizes[chosen].to(torch.int64), threshold=threshold)
