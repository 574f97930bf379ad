"""Group specs: one grammar, one constructor per family.

Grammar (case-sensitive, spaces ignored)::

    spec    := "table:" PATH | product
    product := factor ("x" factor)*
    factor  := "S" n | "A" n | "C" n | "D" n | "Dic" n | "Q8"      (n a positive integer)

Permutations compose as functions, right to left: ``(x·y)(i) = x(y(i))``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from functools import lru_cache
from math import factorial
from pathlib import Path

import numpy as np

from rhoproof.errors import GroupSpecError
from rhoproof.groups.group import Group

MAX_ORDER = 5040
"""Largest group order a spec may build (S7); larger Cayley tables and irreps get slow."""
MAX_TABLE_FILE = 16 * MAX_ORDER**2 + 2**24
"""Largest table: file read (bytes): an order-5040 table with generous spacing, and labels."""

_FACTOR = re.compile(r"(Dic|S|A|C|D)(\d+)$|(Q8)$")


def check_spec(spec: str) -> str:
    """The spec as ``group`` would name the group, checked against the grammar and the order
    limit without building anything (so a bad spec fails before a large table is made).

    Examples
    --------
    >>> check_spec(" S5 "), check_spec("C3 x C5")
    ('S5', 'C3xC5')
    """
    if not isinstance(spec, str):
        raise GroupSpecError(f"a group spec must be a string, got {type(spec).__name__}")
    spec = spec.strip()
    if spec.startswith("table:"):
        return "table:" + spec[len("table:"):].strip()
    spec = spec.replace(" ", "")
    if not spec:
        raise GroupSpecError("empty group spec")
    _parse(spec)
    return spec


def spec_order(spec: str) -> int | None:
    """The order of the group a (checked) spec names, without building it; None for a
    ``table:`` spec (its order is the file's)."""
    spec = check_spec(spec)
    if spec.startswith("table:"):
        return None
    return _order(_parse(spec))


def _parse(spec: str) -> list[tuple[str, int]]:
    factors = spec.split("x")
    if any(f == "" for f in factors):
        raise GroupSpecError(f"bad group spec {spec!r}: empty factor around 'x'")
    parsed = [_parse_factor(f, spec) for f in factors]
    order = _order(parsed)
    if order is None:
        raise GroupSpecError(f"group {spec!r} has order above the limit {MAX_ORDER} (a "
                             f"factor's order alone is astronomically larger)")
    if order > MAX_ORDER:
        raise GroupSpecError(f"group {spec!r} has order {order}, above the limit {MAX_ORDER}")
    return parsed


def _order(parsed: list[tuple[str, int]]) -> int | None:
    """The exact order (Python integers: no wrap-around), or None when a factor is S_n or
    A_n with n > 20 (its order is not worth computing)."""
    orders = [_factor_order(kind, n) for kind, n in parsed]
    return None if any(o is None for o in orders) else math.prod(o for o in orders if o)


@lru_cache(maxsize=64)
def _group_cached(spec: str) -> Group:
    parsed = _parse(spec)
    built = [_build_factor(kind, n) for kind, n in parsed]
    if len(built) == 1:
        table, labels = built[0]
    else:
        table, labels = direct_product(built)
    return Group(spec, table, tuple(labels))


def group(spec: str) -> Group:
    """Build the group named by ``spec`` (the grammar: docs/groups.md, "Group specs").

    Cached: the same spec gives the same object.

    Examples
    --------
    >>> group("S5").order, group("D4").order, group("C3xC5").order
    (120, 8, 15)
    >>> group("Dic3").labels[:3]
    ('a0', 'a1', 'a2')
    """
    if not isinstance(spec, str):
        raise GroupSpecError(f"a group spec must be a string, got {type(spec).__name__}")
    spec = spec.strip()
    if spec.startswith("table:"):  # the path keeps its inner spaces
        return group_from_json(spec[len("table:"):].strip())
    spec = spec.replace(" ", "")
    if not spec:
        raise GroupSpecError("empty group spec")
    return _group_cached(spec)


def _parse_factor(text: str, spec: str) -> tuple[str, int]:
    m = _FACTOR.match(text)
    if not m:
        raise GroupSpecError(
            f"unknown group spec {text!r} in {spec!r}: expected S<n>, A<n>, C<n>, D<n>, "
            f"Dic<n>, Q8, a product like C3xC5, or table:PATH.json"
        )
    if m.group(3):
        return "Q", 8
    kind, n = m.group(1), int(m.group(2))
    if n < 1:
        raise GroupSpecError(f"bad group spec {text!r}: n must be at least 1")
    return kind, n


def _factor_order(kind: str, n: int) -> int | None:
    if kind in ("S", "A") and n > 20:
        return None  # avoid computing a huge factorial
    return {
        "S": lambda: factorial(n),
        "A": lambda: max(1, factorial(n) // 2),
        "C": lambda: n,
        "D": lambda: 2 * n,
        "Dic": lambda: 4 * n,
        "Q": lambda: 8,
    }[kind]()


def _build_factor(kind: str, n: int) -> tuple[np.ndarray, list[str]]:
    return {
        "S": symmetric,
        "A": alternating,
        "C": cyclic,
        "D": dihedral,
        "Dic": dicyclic,
        "Q": lambda _n: quaternion(),
    }[kind](n)


# --- families ------------------------------------------------------------------------------


def _perm_label(p: tuple[int, ...] | np.ndarray) -> str:
    """Cycle notation on points 1..n, fixed points omitted; the identity is ``e``."""
    n = len(p)
    seen = [False] * n
    cycles = []
    for i in range(n):
        if seen[i] or p[i] == i:
            seen[i] = True
            continue
        cyc = []
        j = i
        while not seen[j]:
            seen[j] = True
            cyc.append(str(j + 1))
            j = int(p[j])
        cycles.append("(" + " ".join(cyc) + ")")
    return "".join(cycles) or "e"


def _permutation_table(perms: np.ndarray) -> np.ndarray:
    """Cayley table of a list of permutations closed under composition, ``[N, N]``.

    ``perms`` is ``[N, n]`` in lexicographic order; ``(x·y)(i) = x(y(i))``.
    """
    num, n = perms.shape
    weights = n ** np.arange(n - 1, -1, -1, dtype=np.int64)
    codes = perms.astype(np.int64) @ weights  # increasing, since perms are in lex order
    # code of x·y = Σ_i n^(n-1-i) x(y(i)) = Σ_i (weighted x)[y(i)]: a gather per i, a slab of
    # rows x at a time (the [N, N, n] composition at S7 would be 1.4 GB as int64)
    out = np.empty((num, num), dtype=np.int64)
    py = perms.astype(np.intp)
    step = max(1, (1 << 22) // max(1, num * n))
    for x0 in range(0, num, step):
        px = perms[x0:x0 + step].astype(np.int64)  # [s, n]
        comp = np.zeros((len(px), num), dtype=np.int64)
        for i in range(n):  # x(y(i)) for every y, weighted by n^(n-1-i)
            comp += px[:, py[:, i]] * weights[i]
        out[x0:x0 + step] = np.searchsorted(codes, comp)
    return out


def _parity(perms: np.ndarray) -> np.ndarray:
    """+1 for even, -1 for odd permutations, ``[N]``."""
    n = perms.shape[1]
    inversions = np.zeros(perms.shape[0], dtype=np.int64)
    for i in range(n):
        for j in range(i + 1, n):
            inversions += perms[:, i] > perms[:, j]
    return 1 - 2 * (inversions % 2)


def symmetric(n: int) -> tuple[np.ndarray, list[str]]:
    """S_n: all permutations of n points in lexicographic one-line order (identity first)."""
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int8).reshape(-1, n)
    return _permutation_table(perms), [_perm_label(p) for p in perms]


def alternating(n: int) -> tuple[np.ndarray, list[str]]:
    """A_n: the even permutations of n points in lexicographic order."""
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int8).reshape(-1, n)
    perms = perms[_parity(perms) == 1]
    return _permutation_table(perms), [_perm_label(p) for p in perms]


def cyclic(n: int) -> tuple[np.ndarray, list[str]]:
    """C_n = Z/n, elements 0..n-1 under addition."""
    ar = np.arange(n)
    return (ar[:, None] + ar[None, :]) % n, [str(k) for k in range(n)]


def dihedral(n: int) -> tuple[np.ndarray, list[str]]:
    """D_n, the 2n symmetries of the regular n-gon: rotations ``r<k>`` = r^k, then reflections
    ``s<k>`` = s·r^k, with r^n = s² = e and r·s = s·r⁻¹."""
    k = np.arange(n)
    a, b = k[:, None], k[None, :]
    table = np.empty((2 * n, 2 * n), dtype=np.int64)
    table[:n, :n] = (a + b) % n  # r^a r^b = r^(a+b)
    table[:n, n:] = n + (b - a) % n  # r^a s r^b = s r^(b-a)
    table[n:, :n] = n + (a + b) % n  # s r^a r^b = s r^(a+b)
    table[n:, n:] = (b - a) % n  # s r^a s r^b = r^(b-a)
    return table, [f"r{i}" for i in k] + [f"s{i}" for i in k]


def dicyclic(n: int) -> tuple[np.ndarray, list[str]]:
    """Dic_n of order 4n: a^k x^j with a^(2n) = e, x² = a^n, x a x⁻¹ = a⁻¹.

    Element index k + 2n·j. Dic_1 is C4 and Dic_2 is Q8 (with other labels).
    """
    m = 2 * n
    idx = np.arange(2 * m)
    k, j = idx % m, idx // m
    k1, j1, k2, j2 = k[:, None], j[:, None], k[None, :], j[None, :]
    # (a^k1 x^j1)(a^k2 x^j2) = a^(k1 + (-1)^j1 k2) x^(j1 + j2), and x² = a^n
    kk = k1 + np.where(j1 == 1, -k2, k2) + np.where((j1 + j2) == 2, n, 0)
    jj = (j1 + j2) % 2
    table = (kk % m) + m * jj
    labels = [f"a{kv}" if jv == 0 else f"a{kv}x" for kv, jv in zip(k, j)]
    return table.astype(np.int64), labels


def quaternion() -> tuple[np.ndarray, list[str]]:
    """Q8 = {±1, ±i, ±j, ±k} with i² = j² = k² = ijk = -1."""
    table, _ = dicyclic(2)  # a = i, x = j
    dic_labels = ["1", "i", "-1", "-i", "j", "k", "-j", "-k"]
    order = ["1", "-1", "i", "-i", "j", "-j", "k", "-k"]
    perm = np.array([dic_labels.index(lab) for lab in order])  # new index -> old index
    old_to_new = np.argsort(perm)
    return old_to_new[table[np.ix_(perm, perm)]], order


def direct_product(factors: list[tuple[np.ndarray, list[str]]]) -> tuple[np.ndarray, list[str]]:
    """G1 × G2 × ...: element (g1, g2, ...) has mixed-radix index, the last factor fastest."""
    table, labels = factors[0]
    for t2, l2 in factors[1:]:
        n2 = t2.shape[0]
        table = (table[:, None, :, None] * n2 + t2[None, :, None, :]).reshape(
            table.shape[0] * n2, table.shape[0] * n2)
        labels = [f"{a},{b}" for a in labels for b in l2]
    return table, [f"({lab})" for lab in labels]


# --- Cayley tables from JSON ---------------------------------------------------------------


def _read_json(p: Path) -> object:
    """The JSON value of the file ``p``, or one GroupSpecError naming the problem."""
    try:
        if p.exists() and not p.is_file():
            raise GroupSpecError(f"table:{p}: not a regular file")
        if p.is_file() and p.stat().st_size > MAX_TABLE_FILE:
            raise GroupSpecError(f"table:{p}: larger than any group's table "
                                 f"({MAX_TABLE_FILE} bytes)")
        return json.loads(p.read_text())
    except FileNotFoundError:
        raise GroupSpecError(f"table:{p}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GroupSpecError(f"table:{p}: cannot read file: {exc}") from None
    except (ValueError, RecursionError) as exc:  # bad JSON, or an integer of 4300+ digits
        raise GroupSpecError(f"table:{p}: invalid JSON: {str(exc)[:200]}") from None


LARGE_ORDER = 1000
"""From this order on, building a group's tables, irreps and subgroups takes minutes."""


def large_group_note(spec: str) -> str | None:
    """A one-line note for a group whose build takes minutes (S7: minutes and GBs), else None;
    a bad spec raises its own GroupSpecError."""
    order = spec_order(spec)
    if order is None or order < LARGE_ORDER:
        return None
    return (f"{spec} has order {order}; building its Cayley table and irreps takes minutes and "
            f"a few GB of memory (the irreps are cached on disk for later runs)")


def group_from_json(path: str | Path) -> Group:
    """A group from a JSON file ``{"elements": [labels...], "table": [[...], ...]}``, validated.

    ``table[i][j]`` is the index (into ``elements``) of the product of elements i and j.
    ``group("table:PATH")`` does the same.

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from rhoproof.groups import group_from_json
    >>> path = Path(tempfile.mkdtemp()) / "c3.json"
    >>> _ = path.write_text(json.dumps({"elements": ["1", "x", "x2"],
    ...                                 "table": [[0, 1, 2], [1, 2, 0], [2, 0, 1]]}))
    >>> G = group_from_json(path)
    >>> G.order, G.labels[G.inverses[1]]
    (3, 'x2')
    """
    data = _read_json(Path(path))
    if not isinstance(data, dict) or "elements" not in data or "table" not in data:
        raise GroupSpecError(f'table:{path}: expected an object with keys "elements" and "table"')
    elements, rows = data["elements"], data["table"]
    if not isinstance(elements, list) or not elements:
        raise GroupSpecError(f'table:{path}: "elements" must be a non-empty list of labels')
    n = len(elements)
    if n > MAX_ORDER:
        raise GroupSpecError(f"table:{path}: order {n} is above the limit {MAX_ORDER}")
    if not isinstance(rows, list) or len(rows) != n:
        raise GroupSpecError(f'table:{path}: "table" must have {n} rows, one per element')
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != n:
            raise GroupSpecError(f"table:{path}: not square: row {i} must have {n} entries")
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, int):
                raise GroupSpecError(
                    f"table:{path}: table[{i}][{j}] = {str(v)[:40]} is not an integer element "
                    f"index")
            if not -2**62 < v < 2**62:  # beyond int64; smaller ones validate_table names
                raise GroupSpecError(
                    f"table:{path}: not closed: the product of {str(elements[i])[:40]!r} (#{i}) "
                    f"and {str(elements[j])[:40]!r} (#{j}) is {str(v)[:40]}, not an element "
                    f"index in 0..{n - 1}")
    labels = [str(e) for e in elements]
    if len(set(labels)) != n:
        raise GroupSpecError(f"table:{path}: element labels are not unique")
    return Group(f"table:{path}", np.array(rows, dtype=np.int64), tuple(labels))
