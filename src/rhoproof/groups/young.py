"""The real irreps of S_n from Young's orthogonal form, for n where the regular representation
is too large to decompose (``irreps.real_irreps`` uses it from ``YOUNG_FROM`` on).

Every irrep of S_n is of real type and indexed by a partition λ of n; its basis is the
standard Young tableaux T of shape λ. The adjacent transposition s_i = (i i+1) acts by
Young's orthogonal form: with r the axial distance c(i+1) − c(i) (c = column − row of the box
holding the number) in T, ρ(s_i) e_T = (1/r) e_T + √(1 − 1/r²) e_{s_i T} (the second term
only when s_i T is standard, i.e. |r| > 1). These matrices are orthogonal involutions that
satisfy the Coxeter relations, so s_i ↦ ρ(s_i) extends to a homomorphism; ρ(g) for every
element follows by multiplying along a breadth-first search of the Cayley graph. The results
are then named and verified like every other irrep (``irreps._name_and_verify``).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rhoproof.groups.group import Group
    from rhoproof.groups.irreps import IrrepType

YOUNG_FROM = 7
"""S_n from this n on gets its irreps from Young's orthogonal form (S6 and below keep the
regular-representation construction, and with it the matrices every earlier result used)."""


def partitions(n: int) -> list[tuple[int, ...]]:
    """Every partition of n, largest parts first.

    Examples
    --------
    >>> from rhoproof.groups.young import partitions
    >>> partitions(4)
    [(4,), (3, 1), (2, 2), (2, 1, 1), (1, 1, 1, 1)]
    """
    out: list[tuple[int, ...]] = []

    def grow(rest: int, top: int, acc: tuple[int, ...]) -> None:
        if rest == 0:
            out.append(acc)
        for part in range(min(rest, top), 0, -1):
            grow(rest - part, part, acc + (part,))

    grow(n, n, ())
    return out


def standard_tableaux(shape: tuple[int, ...]) -> list[tuple[tuple[int, int], ...]]:
    """The standard Young tableaux of ``shape``, each as the (row, column) of 1, 2, …, n."""
    n = sum(shape)
    out: list[tuple[tuple[int, int], ...]] = []

    def place(k: int, rows: list[int], acc: tuple[tuple[int, int], ...]) -> None:
        if k == n:
            out.append(acc)
            return
        for r in range(len(shape)):
            if rows[r] < shape[r] and (r == 0 or rows[r - 1] > rows[r]):
                rows[r] += 1
                place(k + 1, rows, acc + ((r, rows[r] - 1),))
                rows[r] -= 1

    place(0, [0] * len(shape), ())
    return out


def adjacent_matrices(shape: tuple[int, ...]) -> list[np.ndarray]:
    """ρ_λ(s_i) for i = 1 … n − 1 in Young's orthogonal form, [d, d] each."""
    tabs = standard_tableaux(shape)
    index = {t: j for j, t in enumerate(tabs)}
    d, n = len(tabs), sum(shape)
    mats = []
    for i in range(n - 1):  # s_i swaps the numbers i+1 and i+2 (positions i and i+1)
        m = np.zeros((d, d))
        for j, t in enumerate(tabs):
            (ra, ca), (rb, cb) = t[i], t[i + 1]
            r = (cb - rb) - (ca - ra)
            m[j, j] = 1.0 / r
            if abs(r) > 1:
                swapped = list(t)
                swapped[i], swapped[i + 1] = t[i + 1], t[i]
                m[index[tuple(swapped)], j] = np.sqrt(1.0 - 1.0 / r**2)
        mats.append(m)
    return mats


def symmetric_irreps(group: Group, n: int) -> list[tuple[np.ndarray, IrrepType]]:
    """(ρ(g) for every element [|G|, d, d], "real") per partition of n, for ``group`` = S_n
    with elements in rhoproof's order (permutations of 0 … n−1, lexicographic, x·y = x∘y).
    The caller verifies them (a table in another order fails the homomorphism check)."""
    perms = list(itertools.permutations(range(n)))
    where = {p: k for k, p in enumerate(perms)}
    gens = []
    for i in range(n - 1):
        p = list(range(n))
        p[i], p[i + 1] = p[i + 1], p[i]
        gens.append(where[tuple(p)])
    table = group.table_np
    e = where[tuple(range(n))]
    found: list[tuple[np.ndarray, IrrepType]] = []
    for shape in partitions(n):
        step = adjacent_matrices(shape)
        d = step[0].shape[0] if step else 1
        mats = np.full((len(perms), d, d), np.nan)
        mats[e] = np.eye(d)
        seen = np.zeros(len(perms), dtype=bool)
        seen[e] = True
        frontier = np.array([e])
        while len(frontier):  # ρ(s·h) = ρ(s) ρ(h), one layer of the Cayley graph at a time
            nxt = []
            for s, m in zip(gens, step):
                new = table[s, frontier]
                fresh = ~seen[new]
                new, old = new[fresh], frontier[fresh]
                new, first = np.unique(new, return_index=True)
                old = old[first]
                mats[new] = np.matmul(m[None], mats[old])
                seen[new] = True
                nxt.append(new)
            frontier = np.unique(np.concatenate(nxt)) if nxt else np.array([], dtype=np.int64)
        found.append((mats, "real"))
    return found


__all__ = ["YOUNG_FROM", "adjacent_matrices", "partitions", "standard_tableaux",
           "symmetric_irreps"]
