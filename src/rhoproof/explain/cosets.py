"""Coset concentration (Stander et al. 2024): neurons constant on the cosets of a subgroup.

For a neuron i and a subgroup H, the partition variance of ℓ_i over the right cosets Hx is
E[Var(ℓ_i | coset)] / Var(ℓ_i) ∈ [0, 1]: 0 when ℓ_i is constant on every coset. A neuron is
coset-concentrated on H when ℓ_i is (nearly) constant on the right cosets of H and r_i on the
left cosets of some conjugate H' = gHg⁻¹; we report the largest such H.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from rhoproof.groups import Group
from rhoproof.model import Folded


@lru_cache(maxsize=16)
def coset_ids(group: Group, side: str) -> tuple[torch.Tensor, ...]:
    """For every subgroup H (in ``group.subgroups`` order), the coset of each element:
    ``side="right"`` numbers the cosets Hg, ``side="left"`` the cosets gH. Each is [|G|]."""
    t = group.table_np
    out = []
    for h in group.subgroups:
        hv = np.array(sorted(h))
        products = t[hv, :] if side == "right" else t[:, hv].T  # [|H|, |G|]: hg or gh
        _, ids = np.unique(products.min(axis=0), return_inverse=True)
        out.append(torch.from_numpy(ids.astype(np.int64)))
    return tuple(out)


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


@lru_cache(maxsize=16)
def subgroup_classes(group: Group) -> tuple[int, ...]:
    """For each subgroup (index into ``group.subgroups``), the index of its conjugacy class."""
    index = {h: i for i, h in enumerate(group.subgroups)}
    cls = [-1] * len(group.subgroups)
    n_classes = 0
    for i, h in enumerate(group.subgroups):
        if cls[i] < 0:
            for c in group.conjugates(h):
                cls[index[c]] = n_classes
            n_classes += 1
    return tuple(cls)


_NAMED = ("C1", "C2", "C3", "C4", "C2xC2", "C5", "C6", "S3", "C7", "C8", "C2xC4", "C2xC2xC2",
          "D4", "Q8", "C9", "C3xC3", "C10", "D5", "C12", "C2xC6", "D6", "A4", "Dic3", "C15",
          "C16", "D8", "C20", "D10", "Dic5", "C24", "S4", "D12", "A4xC2", "C30", "D15", "A5",
          "S5", "A5xC2", "C60", "D30")


def _signature(group: Group, members: list[int]) -> tuple:
    sub = np.array(sorted(members))
    orders = tuple(sorted(group.element_orders[sub].tolist()))
    t = group.table_np[np.ix_(sub, sub)]
    return len(sub), orders, bool(np.array_equal(t, t.T))


@lru_cache(maxsize=1)
def _known_signatures() -> dict[tuple, list[str]]:
    from rhoproof.groups import group as make

    out: dict[tuple, list[str]] = {}
    for spec in _NAMED:
        g = make(spec)
        out.setdefault(_signature(g, list(range(g.order))), []).append(spec)
    return out


def subgroup_name(group: Group, members: frozenset[int]) -> str:
    """A readable name: "S4 (24)" when exactly one listed group has the same order, element
    orders and commutativity; otherwise just the order, e.g. "order 20"."""
    sig = _signature(group, list(members))
    names = _known_signatures().get(sig, [])
    return f"{names[0]} ({sig[0]})" if len(names) == 1 else f"order {sig[0]}"


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
