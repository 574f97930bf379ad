"""Group structure against facts and naive reference implementations."""

import numpy as np
import pytest

from rhoproof.errors import GroupSpecError
from rhoproof.groups import group

CLASS_COUNTS = {"S3": 3, "S4": 5, "S5": 7, "A4": 4, "A5": 5, "D4": 5, "Q8": 5, "C7": 7,
                "Dic3": 6, "C3xC3": 9}


@pytest.mark.parametrize("spec, count", CLASS_COUNTS.items())
def test_class_counts(spec, count):
    assert len(group(spec).conjugacy_classes) == count


@pytest.mark.parametrize("spec", ["S4", "D5", "Q8", "Dic3", "S3xC2"])
def test_classes_match_naive_conjugation(spec):
    g = group(spec)
    naive = set()
    for x in range(g.order):
        naive.add(frozenset(g.mul(g.mul(h, x), int(g.inverses[h])) for h in range(g.order)))
    assert naive == {frozenset(c) for c in g.conjugacy_classes}
    assert g.conjugacy_classes[0] == (g.identity,)


def test_inverses_and_element_orders():
    g = group("S5")
    assert all(g.mul(x, int(g.inverses[x])) == g.identity for x in range(g.order))
    counts = dict(zip(*np.unique(g.element_orders, return_counts=True)))
    assert counts == {1: 1, 2: 25, 3: 20, 4: 30, 5: 24, 6: 20}


def test_cosets_partition_the_group():
    g = group("S4")
    for h in g.subgroups:
        for cosets in (g.left_cosets(h), g.right_cosets(h)):
            assert len(cosets) == g.order // len(h)
            assert all(len(c) == len(h) for c in cosets)
            assert frozenset().union(*cosets) == frozenset(range(g.order))


def test_left_and_right_cosets_differ_exactly_for_non_normal_subgroups():
    g = group("S3")
    for h in g.subgroups:
        normal = len(g.conjugates(h)) == 1
        assert (set(g.left_cosets(h)) == set(g.right_cosets(h))) == normal
    t = frozenset({g.identity, g.index("(1 2)")})
    assert len(g.conjugates(t)) == 3
    assert g.left_cosets(t)[0] == t


def test_left_coset_definition():
    g = group("D4")
    h = g.subgroups[3]
    for coset in g.left_cosets(h):
        x = min(coset)
        assert coset == frozenset(g.mul(x, k) for k in h)


def test_conjugate_subgroup():
    g = group("S4")
    for h in g.subgroups:
        for x in (1, 7, 13):
            c = g.conjugate_subgroup(h, x)
            assert g.is_subgroup(c) and c in g.conjugates(h)


def test_not_a_subgroup_is_rejected():
    g = group("S3")
    with pytest.raises(GroupSpecError):
        g.left_cosets([0, 1, 2])
