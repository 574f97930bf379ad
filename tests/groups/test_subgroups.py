"""Subgroup enumeration against known counts and a brute-force search over all subsets."""

from itertools import combinations

import pytest

from rhoproof.groups import group

SUBGROUP_COUNTS = {"S3": 6, "S4": 30, "S5": 156, "A4": 10, "A5": 59, "D4": 10, "Q8": 6,
                   "C7": 2, "C12": 6, "C2xC2xC2": 16, "D6": 16}


@pytest.mark.parametrize("spec, count", SUBGROUP_COUNTS.items())
def test_subgroup_counts(spec, count):
    g = group(spec)
    assert len(g.subgroups) == count
    assert all(g.is_subgroup(h) for h in g.subgroups)


@pytest.mark.parametrize("spec", ["D4", "Q8", "C2xC2xC2", "S3"])
def test_subgroups_match_brute_force_over_all_subsets(spec):
    g = group(spec)
    naive = {frozenset(s) for r in range(1, g.order + 1)
             for s in combinations(range(g.order), r) if g.is_subgroup(s)}
    assert naive == set(g.subgroups)



def test_subgroups_are_closed_under_conjugation_as_a_set():
    g = group("S4")
    subs = set(g.subgroups)
    for h in g.subgroups:
        assert set(g.conjugates(h)) <= subs


def test_orders_divide_the_group_order():
    g = group("A5")
    assert all(g.order % len(h) == 0 for h in g.subgroups)
    assert sorted({len(h) for h in g.subgroups}) == [1, 2, 3, 4, 5, 6, 10, 12, 60]
