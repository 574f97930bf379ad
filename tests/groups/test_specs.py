"""The spec grammar and each group family, checked against defining relations."""

import json

import numpy as np
import pytest

from rhoproof.errors import GroupSpecError
from rhoproof.groups import Group, group


@pytest.mark.parametrize("spec, order", [
    ("S1", 1), ("S3", 6), ("S5", 120), ("A4", 12), ("A5", 60), ("C1", 1), ("C7", 7),
    ("D1", 2), ("D4", 8), ("D5", 10), ("Q8", 8), ("Dic1", 4), ("Dic3", 12),
    ("C3xC5", 15), ("S3xC2", 12), ("A5xC2", 120), ("C2xC2xC2", 8), (" S 4 ", 24),
])
def test_orders(spec, order):
    assert group(spec).order == order


@pytest.mark.parametrize("bad", ["", "foo", "s5", "S0", "S", "Sx", "xC2", "C2x", "C2xxC3",
                                 "Q7", "Dic", "S5*C2", "S9", "C6000"])
def test_bad_specs_raise_clear_error(bad):
    with pytest.raises(GroupSpecError):
        group(bad)


def test_non_string_spec():
    with pytest.raises(GroupSpecError):
        group(5)


def test_permutations_compose_as_functions():
    s3 = group("S3")
    x, y = s3.index("(1 2)"), s3.index("(2 3)")
    # (x·y)(i) = x(y(i)): 1 -> 1 -> 2, 2 -> 3 -> 3, 3 -> 2 -> 1
    assert s3.labels[s3.mul(x, y)] == "(1 2 3)"
    assert s3.labels[s3.mul(y, x)] == "(1 3 2)"


def test_identity_is_first_and_labelled_e_for_permutations():
    for spec in ["S4", "A5"]:
        g = group(spec)
        assert g.identity == 0 and g.labels[0] == "e"


def test_alternating_is_the_even_half():
    s4, a4 = group("S4"), group("A4")
    assert set(a4.labels) < set(s4.labels)
    for lab in a4.labels:  # parity = Σ (cycle length − 1)
        cycles = [c.split() for c in lab.strip("()").split(")(")] if lab != "e" else []
        assert sum(len(c) - 1 for c in cycles) % 2 == 0


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_dihedral_relations(n):
    g = group(f"D{n}")
    r, s, e = g.index("r1" if n > 1 else "r0"), g.index("s0"), g.identity
    power = e
    for _ in range(n):
        power = g.mul(power, r)
    assert power == e  # r^n = e
    assert g.mul(s, s) == e  # s² = e
    assert g.mul(r, s) == g.mul(s, g.inverses[r])  # r s = s r⁻¹


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_dicyclic_relations(n):
    g = group(f"Dic{n}")
    a, x, e = g.index("a1"), g.index("a0x"), g.identity
    an = e
    for _ in range(n):
        an = g.mul(an, a)
    assert g.mul(x, x) == an  # x² = a^n
    assert g.element_orders[a] == 2 * n
    assert g.mul(g.mul(x, a), g.inverses[x]) == g.inverses[a]  # x a x⁻¹ = a⁻¹


def test_quaternion_relations():
    q = group("Q8")
    i, j, k, m1 = (q.index(v) for v in ("i", "j", "k", "-1"))
    assert q.mul(i, i) == q.mul(j, j) == q.mul(k, k) == m1
    assert q.mul(i, j) == k and q.mul(j, i) == q.index("-k")
    assert sorted(q.element_orders.tolist()) == [1, 2, 4, 4, 4, 4, 4, 4]


def test_dic2_has_the_element_orders_of_q8():
    assert sorted(group("Dic2").element_orders) == sorted(group("Q8").element_orders)


def test_direct_product_structure():
    g = group("C3xC5")
    assert g.is_abelian and g.element_orders.max() == 15  # C3 × C5 ≅ C15
    s = group("S3xC2")
    assert not s.is_abelian and s.labels[0] == "(e,0)"
    assert len(group("C2xC2xC2").labels[5].split(",")) == 3


def test_repr_round_trips():
    g = group("S3xC2")
    assert repr(g) == "group('S3xC2')"
    assert eval(repr(g), {"group": group}) == g


# --- tables from JSON ---------------------------------------------------------------------


def _write(tmp_path, obj, name="g.json"):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def test_table_json_round_trip(tmp_path):
    s3 = group("S3")
    p = _write(tmp_path, {"elements": list(s3.labels), "table": s3.table_np.tolist()})
    g = group(f"table:{p}")
    assert g == s3 and g.labels == s3.labels and g.spec == f"table:{p}"


LOOP5 = [[0, 1, 2, 3, 4], [1, 0, 3, 4, 2], [2, 4, 0, 1, 3], [3, 2, 4, 0, 1], [4, 3, 1, 2, 0]]


@pytest.mark.parametrize("obj, message", [
    ("{not json", "invalid JSON"),
    ({"elements": ["a"]}, "keys"),
    ({"elements": [], "table": []}, "non-empty"),
    ({"elements": ["a", "b"], "table": [[0, 1]]}, "2 rows"),
    ({"elements": ["a", "b"], "table": [[0, 1], [1]]}, "not square"),
    ({"elements": ["a", "b"], "table": [[0, 1], [1, 2]]}, "not closed: the product of 'b'"),
    ({"elements": ["a", "b"], "table": [[0, 1], [1, "x"]]}, "not an integer"),
    ({"elements": ["a", "a"], "table": [[0, 1], [1, 0]]}, "not unique"),
    ({"elements": ["a", "b"], "table": [[1, 0], [0, 0]]}, "no identity"),
    ({"elements": ["e", "a", "b"], "table": [[0, 1, 2], [1, 1, 1], [2, 1, 0]]},
     r"element 'a' \(#1\) has no two-sided inverse"),
    ({"elements": list("eabcd"), "table": LOOP5}, r"not associative: \('"),
])
def test_bad_tables_name_the_violation(tmp_path, obj, message):
    p = _write(tmp_path, obj)
    with pytest.raises(GroupSpecError, match=message):
        group(f"table:{p}")


def test_missing_table_file(tmp_path):
    with pytest.raises(GroupSpecError, match="not found"):
        group(f"table:{tmp_path / 'nope.json'}")


def test_group_validates_directly():
    with pytest.raises(GroupSpecError):
        Group("bad", np.array([[0, 1], [0, 1]]), ("a", "b"))


def test_table_path_may_contain_spaces(tmp_path):
    d = tmp_path / "my groups"
    d.mkdir()
    c3 = group("C3")
    p = _write(d, {"elements": list(c3.labels), "table": c3.table_np.tolist()})
    assert group(f"table:{p}").order == 3


@pytest.mark.parametrize("spec", ["C1", "S1", "S2", "A2", "A3", "D1", "D2", "Dic1", "C2xC1"])
def test_tiny_groups_have_irreps(spec):
    g = group(spec)
    assert sum(r.dim ** 2 / r.schur_dim for r in g.irreps) == g.order
    assert len(g.subgroups) >= 1


def test_huge_orders_are_exact_and_refused():
    """New-user report (issue 20): the order was a numpy product that wrapped to 0 (a 2^64
    group passed the limit and crashed building a 32 GiB table), and S13..S99 all said 5041."""
    import pytest

    from rhoproof.errors import GroupSpecError
    from rhoproof.groups.specs import check_spec, spec_order

    with pytest.raises(GroupSpecError, match="order 18446744073709551616"):
        spec_order("C65536xC65536xC65536xC65536")
    with pytest.raises(GroupSpecError, match="order 6227020800"):
        check_spec("S13")
    with pytest.raises(GroupSpecError, match="above the limit"):
        check_spec("S99")
    assert spec_order("S7") == 5040
