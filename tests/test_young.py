"""S_n's irreps from Young's orthogonal form (issue 24: S7 without decomposing the regular
representation) and the disk cache of large groups' irreps."""

import math
from dataclasses import replace

import numpy as np
import pytest

from rhoproof import group
from rhoproof.groups import irreps as irreps_mod
from rhoproof.groups.irreps import IrrepError, _name_and_verify
from rhoproof.groups.young import (
    adjacent_matrices,
    partitions,
    standard_tableaux,
    symmetric_irreps,
)


def _hook_dim(shape):
    n = sum(shape)
    cols = [sum(1 for r in shape if r > c) for c in range(shape[0])]
    hooks = math.prod(shape[r] - c + cols[c] - r - 1 for r in range(len(shape))
                      for c in range(shape[r]))
    return math.factorial(n) // hooks


def test_partitions_and_tableaux():
    assert [len(partitions(n)) for n in range(1, 9)] == [1, 2, 3, 5, 7, 11, 15, 22]
    for shape in partitions(7):
        assert len(standard_tableaux(shape)) == _hook_dim(shape)
    assert sum(len(standard_tableaux(s)) ** 2 for s in partitions(6)) == 720


def test_adjacent_matrices_satisfy_the_coxeter_relations():
    for shape in [(3, 2), (2, 2, 1), (4, 1)]:
        s = adjacent_matrices(shape)
        eye = np.eye(len(s[0]))
        for i, a in enumerate(s):
            assert np.allclose(a @ a, eye) and np.allclose(a, a.T)  # orthogonal involutions
            for j, b in enumerate(s):
                if abs(i - j) == 1:
                    assert np.allclose(a @ b @ a, b @ a @ b)  # braid relation
                elif abs(i - j) > 1:
                    assert np.allclose(a @ b, b @ a)


@pytest.mark.parametrize("n", [3, 4, 5])
def test_same_irreps_as_the_regular_construction(n):
    grp = group(f"S{n}")
    young = _name_and_verify(grp, symmetric_irreps(grp, n))  # verified: raises otherwise
    assert [r.name for r in young] == [r.name for r in grp.irreps]
    for a, b in zip(young, grp.irreps):
        assert np.allclose(a.character, b.character)


def test_another_element_order_fails_verification():
    """Matrices indexed by another group's elements are refused by the verification."""
    wrong = [(m[:60], k) for m, k in symmetric_irreps(group("S5"), 5)]
    with pytest.raises(IrrepError):
        _name_and_verify(group("A5"), wrong)


def test_disk_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("RHOPROOF_CACHE", str(tmp_path))
    monkeypatch.setattr(irreps_mod, "CACHE_FROM", 1)
    grp = group("S4")
    first = irreps_mod.real_irreps(grp)
    files = list(tmp_path.glob("irreps-*.npz"))
    assert [f.name for f in files] == [f"irreps-{grp.sha256}.npz"]
    again = irreps_mod._from_cache(grp)
    assert again is not None and [r.name for r in again] == [r.name for r in first]
    assert all(np.array_equal(a.matrices, b.matrices) for a, b in zip(again, first))
    files[0].write_bytes(b"not an npz file")  # damaged: ignored, rebuilt
    assert irreps_mod._from_cache(grp) is None
    assert [r.name for r in irreps_mod.real_irreps(grp)] == [r.name for r in first]
    assert irreps_mod._from_cache(grp) is not None


def _cached_s4(tmp_path, monkeypatch):
    """S4's irreps built with the disk cache in tmp_path: (group, irreps, cache file, its
    arrays), for tests that damage the file."""
    monkeypatch.setenv("RHOPROOF_CACHE", str(tmp_path))
    monkeypatch.setattr(irreps_mod, "CACHE_FROM", 1)
    grp = group("S4")
    first = irreps_mod.real_irreps(grp)
    path = tmp_path / f"irreps-{grp.sha256}.npz"
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    return grp, first, path, arrays


def test_cached_names_are_not_trusted(tmp_path, monkeypatch):
    """Red-team finding: a cache file with two irreps' names swapped passed the verification;
    names are now derived again from the matrices."""
    grp, first, path, arrays = _cached_s4(tmp_path, monkeypatch)
    names = list(arrays["names"])
    i, j = names.index("3d-0"), names.index("3d-1")
    names[i], names[j] = names[j], names[i]
    arrays["names"] = np.array(names)
    np.savez(path, **arrays)
    again = irreps_mod._from_cache(grp)
    assert again is not None
    for a, b in zip(again, first):
        assert a.name == b.name and np.allclose(a.character, b.character)


def test_cached_nan_matrices_are_refused(tmp_path, monkeypatch):
    """Red-team finding (session 13): a cache file whose largest irrep was all NaN passed the
    verification, every test being "error > tol" (False for NaN); now refused and rebuilt."""
    grp, first, path, arrays = _cached_s4(tmp_path, monkeypatch)
    last = f"m{len(first) - 1}"
    arrays[last] = np.full_like(arrays[last], np.nan)
    np.savez(path, **arrays)
    assert irreps_mod._from_cache(grp) is None
    with pytest.raises(IrrepError):
        irreps_mod.verify_irrep(grp, replace(first[-1], matrices=np.full_like(
            first[-1].matrices, np.nan)))
