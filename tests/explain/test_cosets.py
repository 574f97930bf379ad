"""Coset concentration on neurons built to be constant on known cosets."""

import torch

from rhoproof.explain import coset_concentration, subgroup_name
from rhoproof.explain.cosets import partition_variance
from rhoproof.groups import group
from rhoproof.groups.cosets import coset_ids
from rhoproof.model import Folded


def test_coset_ids_match_the_group_cosets():
    g = group("S4")
    for side, cosets_of in (("right", g.right_cosets), ("left", g.left_cosets)):
        for h, ids in zip(g.subgroups, coset_ids(g, side)):
            blocks = {frozenset(torch.nonzero(ids == c)[:, 0].tolist())
                      for c in range(int(ids.max()) + 1)}
            assert blocks == set(cosets_of(h))


def test_partition_variance_bounds():
    g = group("S4")
    ids = coset_ids(g, "right")[10]
    v = torch.randn(2, g.order, 3, dtype=torch.float64)
    pv = partition_variance(v, ids)
    assert ((pv >= 0) & (pv <= 1)).all()
    const = torch.randn(2, int(ids.max()) + 1, 3, dtype=torch.float64)[:, ids]
    assert torch.allclose(partition_variance(const, ids), torch.zeros(2, 3, dtype=torch.float64))


def test_finds_the_planted_subgroup():
    g = group("S5")
    gen = torch.Generator().manual_seed(0)
    h = next(s for s in g.subgroups if len(s) == 24)  # a point stabilizer ≅ S4
    x = 7
    h2 = g.conjugate_subgroup(h, x)
    i_h, i_h2 = g.subgroups.index(h), g.subgroups.index(h2)
    right_ids, left_ids = coset_ids(g, "right")[i_h], coset_ids(g, "left")[i_h2]
    m = 3
    left = torch.randn(5, m, dtype=torch.float64, generator=gen)[right_ids]  # [|G|, m]
    right = torch.randn(5, m, dtype=torch.float64, generator=gen)[left_ids]
    left[:, 2] = torch.randn(g.order, dtype=torch.float64, generator=gen)  # no structure
    folded = Folded(left[None], right[None], torch.randn(1, m, g.order, dtype=torch.float64),
                    torch.zeros(1, g.order, dtype=torch.float64))
    cc = coset_concentration(folded, g)
    assert cc.left_subgroup[0, :2].tolist() == [i_h, i_h]
    assert cc.right_subgroup[0, :2].tolist() == [i_h2, i_h2]
    assert cc.subgroup_order[0].tolist() == [24, 24, 1]
    assert subgroup_name(g, h) == "S4 (24)"


def test_subgroup_names_of_s5():
    g = group("S5")
    names = {subgroup_name(g, h) for h in g.subgroups}
    assert {"C1 (1)", "S4 (24)", "A5 (60)", "S5 (120)", "A4 (12)", "D5 (10)",
            "order 20"} <= names
