"""Pure group facts about subgroups and cosets: coset labels per subgroup, conjugacy classes of
subgroups and readable subgroup names. Used by the explanation and by the proofs."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from rhoproof.groups.group import Group

if TYPE_CHECKING:
    import torch


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
        import torch  # here, not at the top: groups need no torch (start-up time)

        out.append(torch.from_numpy(ids.astype(np.int64)))
    return tuple(out)


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


__all__ = ["coset_ids", "subgroup_classes", "subgroup_name"]
