"""Real irreps against facts that do not depend on how they were computed."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rhoproof.groups import group
from rhoproof.groups.irreps import IrrepError, homomorphism_error, real_irreps, verify_irrep

# real dimensions and types of the real irreps
EXPECTED = {
    "S3": [(1, "real"), (1, "real"), (2, "real")],
    "S4": [(1, "real"), (1, "real"), (2, "real"), (3, "real"), (3, "real")],
    "S5": [(1, "real"), (1, "real"), (4, "real"), (4, "real"), (5, "real"), (5, "real"),
           (6, "real")],
    "A4": [(1, "real"), (2, "complex"), (3, "real")],
    "A5": [(1, "real"), (3, "real"), (3, "real"), (4, "real"), (5, "real")],
    "D4": [(1, "real")] * 4 + [(2, "real")],
    "Q8": [(1, "real")] * 4 + [(4, "quaternionic")],
    "C7": [(1, "real")] + [(2, "complex")] * 3,
    "Dic3": [(1, "real"), (1, "real"), (2, "real"), (2, "complex"), (4, "quaternionic")],
    "C3xC3": [(1, "real")] + [(2, "complex")] * 4,
}
ALL = list(EXPECTED) + ["C12", "D5", "S3xC2", "Dic5", "C2xC2xC2"]


@pytest.mark.parametrize("spec, dims", EXPECTED.items())
def test_dimensions_and_types(spec, dims):
    assert [(r.dim, r.type) for r in group(spec).irreps] == dims


@pytest.mark.parametrize("spec", ALL)
def test_irreps_are_orthogonal_homomorphisms(spec):
    g = group(spec)
    for rep in g.irreps:
        mats = rep.matrices
        for x in range(g.order):
            assert np.allclose(mats[x] @ mats[x].T, np.eye(rep.dim), atol=1e-9)
            for y in range(0, g.order, 3):
                assert np.allclose(mats[x] @ mats[y], mats[g.mul(x, y)], atol=1e-9)
        assert np.allclose(mats[g.identity], np.eye(rep.dim), atol=1e-9)


@pytest.mark.parametrize("spec", ALL)
def test_character_orthogonality_and_completeness(spec):
    g = group(spec)
    chars = np.stack([r.character for r in g.irreps])
    gram = chars @ chars.T / g.order
    assert np.allclose(gram, np.diag([r.schur_dim for r in g.irreps]), atol=1e-9)
    assert sum(r.dim ** 2 / r.schur_dim for r in g.irreps) == g.order


@pytest.mark.parametrize("spec", ALL)
def test_frobenius_schur_indicator_matches_type(spec):
    g = group(spec)
    squares = g.table_np[np.arange(g.order), np.arange(g.order)]
    for r in g.irreps:
        # (1/|G|) Σ χ(g²) for the real irrep is ι·(number of complex constituents)
        fs = r.character[squares].sum() / g.order
        assert round(fs) == {"real": 1, "complex": 0, "quaternionic": -2}[r.type]


def test_types():
    assert [r.type for r in group("Q8").irreps].count("quaternionic") == 1
    for n in (3, 4, 5, 8):
        assert "complex" in {r.type for r in group(f"C{n}").irreps}
    assert {r.type for r in group("S5").irreps} == {"real"}


def test_names_are_stable_and_ordered():
    s5 = group("S5")
    assert [r.name for r in s5.irreps] == ["1d-0", "1d-1", "4d-0", "4d-1", "5d-0", "5d-1",
                                           "6d-0"]
    transposition = s5.index("(1 2)")
    assert np.allclose(s5.irrep("1d-0").character, 1)  # trivial
    assert s5.irrep("1d-1").character[transposition] == pytest.approx(-1)  # sign
    assert s5.irrep("4d-0").character[transposition] == pytest.approx(2)  # standard
    assert s5.irrep("4d-1").character[transposition] == pytest.approx(-2)  # standard ⊗ sign
    again = real_irreps(group("S5"))
    assert [r.name for r in again] == [r.name for r in s5.irreps]


def test_irreps_are_cached_in_memory():
    g = group("S5")
    assert g.irreps is group("S5").irreps


def test_verification_can_fail():
    g = group("S4")
    rep = g.irrep("3d-0")
    broken = rep.matrices.copy()
    broken[5] = broken[5] @ broken[7]  # no longer a homomorphism
    assert homomorphism_error(g, broken) > 0.1
    bad = type(rep)(rep.name, rep.group_spec, broken, rep.type, rep.indicator)
    with pytest.raises(IrrepError):
        verify_irrep(g, bad)


# --- S_n against the Murnaghan–Nakayama rule (an independent character table) ---------------


def _partitions(n, largest=None):
    largest = largest or n
    if n == 0:
        yield ()
        return
    for k in range(min(n, largest), 0, -1):
        for rest in _partitions(n - k, k):
            yield (k,) + rest


def _mn_character(shape, cycle_type):
    """χ^shape(cycle_type) by removing rim hooks, using beta-numbers."""
    if not cycle_type:
        return 1
    r, rest = cycle_type[0], cycle_type[1:]
    beta = [shape[i] + len(shape) - 1 - i for i in range(len(shape))]
    total = 0
    for b in beta:
        if b - r >= 0 and b - r not in beta:
            sign = (-1) ** sum(1 for c in beta if b - r < c < b)
            new_beta = sorted([c for c in beta if c != b] + [b - r], reverse=True)
            n = len(new_beta)
            new_shape = tuple(v for v in (new_beta[i] - (n - 1 - i) for i in range(n)) if v > 0)
            total += sign * _mn_character(new_shape, rest)
    return total


def _cycle_type(label, n):
    if label == "e":
        return (1,) * n
    lengths = [len(c.split()) for c in label.strip("()").split(")(")]
    return tuple(sorted(lengths + [1] * (n - sum(lengths)), reverse=True))


@pytest.mark.parametrize("n", [3, 4, 5])
def test_symmetric_group_characters_match_murnaghan_nakayama(n):
    g = group(f"S{n}")
    types = [_cycle_type(lab, n) for lab in g.labels]
    table = {lam: np.array([_mn_character(lam, t) for t in types]) for lam in _partitions(n)}
    ours = [r.character for r in g.irreps]
    assert len(ours) == len(table)
    for chi in ours:
        assert sum(np.allclose(chi, ref, atol=1e-9) for ref in table.values()) == 1
    assert np.allclose(g.irrep("1d-1").character, table[(1,) * n])
    if n == 5:
        assert np.allclose(g.irrep("4d-0").character, table[(4, 1)])


# --- property: any product of small factors gets a complete, verified set of real irreps -----

_FACTORS = st.sampled_from(["C2", "C3", "C4", "S3", "D4", "Q8", "Dic3", "A4"])


@given(st.lists(_FACTORS, min_size=1, max_size=2))
def test_products_have_complete_real_irreps(factors):
    g = group("x".join(factors))
    reps = g.irreps  # verified at construction; recheck the counting facts here
    assert sum(r.dim ** 2 / r.schur_dim for r in reps) == g.order
    assert reps[0].name == "1d-0" and np.allclose(reps[0].character, 1)
    # a product of groups each with only real-type irreps has only real-type irreps
    if all(f in ("C2", "S3", "D4") for f in factors):
        assert {r.type for r in reps} == {"real"}
