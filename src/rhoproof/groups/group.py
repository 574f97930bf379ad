"""The finite group value object, built on its Cayley table."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from rhoproof.errors import GroupSpecError

if TYPE_CHECKING:
    import torch

    from rhoproof.groups.irreps import Irrep


@dataclass(frozen=True, eq=False)
class Group:
    """A finite group given by its Cayley table: ``table[x, y]`` is the index of ``x·y``.

    Elements are the integers ``0..|G|-1``; ``labels[i]`` is a readable name for element ``i``.
    The table is validated at construction (see ``validate_table``). Derived structure
    (inverses, classes, subgroups, irreps) is computed lazily and cached on the instance.

    Examples
    --------
    >>> from rhoproof.groups import group
    >>> G = group("S3")
    >>> G.order, G.identity, len(G.conjugacy_classes), len(G.subgroups)
    (6, 0, 3, 6)
    >>> G.labels[:3], G.labels[G.table_np[1, 2]]  # (2 3)·(1 2), right to left
    (('e', '(2 3)', '(1 2)'), '(1 3 2)')
    """

    spec: str
    table_np: np.ndarray = field(repr=False)  # [|G|, |G|] int64
    labels: tuple[str, ...] = field(repr=False)

    def __post_init__(self) -> None:
        table = np.ascontiguousarray(np.asarray(self.table_np, dtype=np.int64))
        table.setflags(write=False)
        object.__setattr__(self, "table_np", table)
        if len(self.labels) != table.shape[0]:
            raise GroupSpecError(
                f"{self.spec}: {len(self.labels)} labels for a table of size {table.shape[0]}"
            )
        if len(set(self.labels)) != len(self.labels):
            raise GroupSpecError(f"{self.spec}: element labels are not unique")
        validate_table(table, self.spec, self.labels)

    def __repr__(self) -> str:
        return f"group({self.spec!r})"

    def __str__(self) -> str:
        return self.spec

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Group) and np.array_equal(self.table_np, other.table_np)

    def __hash__(self) -> int:
        return hash(self.table_np.tobytes())

    @cached_property
    def sha256(self) -> str:
        """The SHA-256 of the canonical Cayley table (``table_sha256``): what pins this
        group in a run and in a certificate, whatever its spec or file path says.

        Examples
        --------
        >>> from rhoproof.groups import group
        >>> group("S3").sha256 == group("S3").sha256 != group("C6").sha256
        True
        """
        return table_sha256(self.table_np)

    # --- basic structure -------------------------------------------------------------------

    @property
    def order(self) -> int:
        """|G|."""
        return int(self.table_np.shape[0])

    def __len__(self) -> int:
        return self.order

    @cached_property
    def table(self) -> torch.Tensor:
        """The Cayley table as a torch int64 tensor, ``[|G|, |G|]``."""
        import torch  # here, not at the top: groups need no torch (start-up time)

        return torch.from_numpy(self.table_np.copy())

    @cached_property
    def identity(self) -> int:
        return _identity_of(self.table_np)

    @cached_property
    def inverses(self) -> np.ndarray:
        """``inverses[g]`` is the index of g⁻¹, ``[|G|]``."""
        rows, cols = np.nonzero(self.table_np == self.identity)
        inv = np.empty(self.order, dtype=np.int64)
        inv[rows] = cols
        return inv

    def mul(self, x: int, y: int) -> int:
        return int(self.table_np[x, y])

    def index(self, label: str) -> int:
        """The element whose label is ``label``."""
        try:
            return self._label_index[label]
        except KeyError:
            raise GroupSpecError(f"{self.spec} has no element labelled {label!r}") from None

    @cached_property
    def _label_index(self) -> dict[str, int]:
        return {lab: i for i, lab in enumerate(self.labels)}

    @cached_property
    def element_orders(self) -> np.ndarray:
        """Order of each element, ``[|G|]``."""
        orders = np.zeros(self.order, dtype=np.int64)
        power = np.arange(self.order)  # g^k for every g, starting at k = 1
        for k in range(1, self.order + 1):
            newly = (power == self.identity) & (orders == 0)
            orders[newly] = k
            if (orders > 0).all():
                break
            power = self.table_np[power, np.arange(self.order)]
        return orders

    @cached_property
    def generators(self) -> tuple[int, ...]:
        """A small generating set (greedy: add the first element not yet generated)."""
        gens = _magma_generators(self.table_np)
        assert gens is not None  # the table was validated as a group
        return tuple(gens)

    @cached_property
    def is_abelian(self) -> bool:
        return bool(np.array_equal(self.table_np, self.table_np.T))

    # --- conjugacy -------------------------------------------------------------------------

    @cached_property
    def conjugacy_classes(self) -> tuple[tuple[int, ...], ...]:
        """Conjugacy classes, each sorted, in the canonical class order.

        Canonical order: by element order, then class size, then smallest element index. The
        identity's class comes first. Irrep names depend on this order (see ``irreps``).
        """
        t = self.table_np
        # conj[h, g] = h g h⁻¹, [|G|, |G|]
        conj = t[t, self.inverses[:, None]]
        # t[t, inv[:,None]] indexes t[t[h,g], inv[h]] which is exactly (h g) h⁻¹
        seen = np.zeros(self.order, dtype=bool)
        classes = []
        for g in range(self.order):
            if not seen[g]:
                members = np.unique(conj[:, g])
                seen[members] = True
                classes.append(tuple(int(m) for m in members))
        orders = self.element_orders
        classes.sort(key=lambda c: (int(orders[c[0]]), len(c), c[0]))
        return tuple(classes)

    @cached_property
    def class_of(self) -> np.ndarray:
        """``class_of[g]`` is the index of g's conjugacy class, ``[|G|]``."""
        out = np.empty(self.order, dtype=np.int64)
        for k, c in enumerate(self.conjugacy_classes):
            out[list(c)] = k
        return out

    # --- subgroups and cosets --------------------------------------------------------------

    @cached_property
    def subgroups(self) -> tuple[frozenset[int], ...]:
        """All subgroups, sorted by order then by their sorted elements."""
        from rhoproof.groups.subgroups import all_subgroups

        return all_subgroups(self)

    def is_subgroup(self, elements: frozenset[int] | set[int] | list[int]) -> bool:
        h = np.array(sorted(set(elements)), dtype=np.int64)
        if h.size == 0 or self.identity not in set(h.tolist()):
            return False
        prods = self.table_np[np.ix_(h, self.inverses[h])]
        return bool(np.isin(prods, h).all())

    def _check_subgroup(self, h: frozenset[int] | set[int] | list[int]) -> np.ndarray:
        if not self.is_subgroup(h):
            raise GroupSpecError(f"{sorted(h)} is not a subgroup of {self.spec}")
        return np.array(sorted(set(h)), dtype=np.int64)

    def left_cosets(self, h: frozenset[int] | set[int] | list[int]) -> list[frozenset[int]]:
        """The left cosets gH, ordered by their smallest element."""
        hv = self._check_subgroup(h)
        return _partition(self.table_np[:, hv])

    def right_cosets(self, h: frozenset[int] | set[int] | list[int]) -> list[frozenset[int]]:
        """The right cosets Hg, ordered by their smallest element."""
        hv = self._check_subgroup(h)
        return _partition(self.table_np[hv, :].T)

    def conjugate_subgroup(self, h: frozenset[int] | set[int] | list[int], g: int
                           ) -> frozenset[int]:
        """g H g⁻¹."""
        hv = self._check_subgroup(h)
        return frozenset(int(v) for v in self.table_np[self.table_np[g, hv], self.inverses[g]])

    def conjugates(self, h: frozenset[int] | set[int] | list[int]) -> list[frozenset[int]]:
        """The distinct conjugates gHg⁻¹ of H, ordered by their sorted elements."""
        hv = self._check_subgroup(h)
        t = self.table_np
        # [|G|, |H|]: row g holds g h g⁻¹ for h in H
        conj = t[t[:, hv], self.inverses[:, None]]
        distinct = {frozenset(int(v) for v in row) for row in conj}
        return sorted(distinct, key=lambda s: sorted(s))

    # --- representations -------------------------------------------------------------------

    @cached_property
    def irreps(self) -> tuple[Irrep, ...]:
        """All real irreducible representations, ordered by the naming rule (see ``irreps``)."""
        from rhoproof.groups.irreps import real_irreps

        return real_irreps(self)

    def irrep(self, name: str) -> Irrep:
        """The real irrep with the given stable name, e.g. ``"4d-0"``."""
        for rep in self.irreps:
            if rep.name == name:
                return rep
        names = ", ".join(r.name for r in self.irreps)
        raise GroupSpecError(f"{self.spec} has no irrep {name!r}; it has {names}")


TABLE_HASH_PREFIX = b"rhoproof-cayley-table-1\n"
"""What the canonical bytes of a Cayley table start with (docs/certificate.md)."""


def table_sha256(table: np.ndarray) -> str:
    r"""SHA-256 of a Cayley table's canonical bytes: ``TABLE_HASH_PREFIX``, the order ``n`` in
    ASCII decimal and a newline, then the ``n × n`` entries row by row as little-endian signed
    64-bit integers. Element labels are not part of it (they only name the indices).

    Examples
    --------
    >>> c2 = np.array([[0, 1], [1, 0]])
    >>> data = b"rhoproof-cayley-table-1\n" + b"2\n" + c2.astype("<i8").tobytes()
    >>> table_sha256(c2) == hashlib.sha256(data).hexdigest()
    True
    """
    table = np.asarray(table)
    n = int(table.shape[0])
    data = TABLE_HASH_PREFIX + str(n).encode() + b"\n" + \
        np.ascontiguousarray(table, dtype="<i8").tobytes()
    return hashlib.sha256(data).hexdigest()


def _partition(rows: np.ndarray) -> list[frozenset[int]]:
    """Distinct rows of ``rows`` (each a coset) as frozensets, ordered by smallest element."""
    sets = {frozenset(int(v) for v in row) for row in rows}
    return sorted(sets, key=min)


def _identity_of(table: np.ndarray) -> int:
    n = table.shape[0]
    ar = np.arange(n)
    cands = np.nonzero((table == ar[None, :]).all(axis=1))[0]
    return int(cands[0])


def validate_table(table: np.ndarray, spec: str = "table",
                   labels: tuple[str, ...] | list[str] | None = None) -> None:
    """Raise GroupSpecError naming the first violated group axiom of a Cayley table.

    Checks, in order: square 2-d shape, entries in range, identity, inverses, every row and
    column a permutation (a group's table is a Latin square), associativity. (Closure is the
    range check: every product is an element.) With ``labels``, elements are named by label
    (and index) in the message. Cost O(|G|² log |G|) for any table, group or not, so a
    hostile table cannot make it slow.

    Examples
    --------
    >>> import numpy as np
    >>> from rhoproof.groups import validate_table
    >>> validate_table(np.array([[0, 1], [1, 0]]))
    >>> validate_table(np.array([[0, 1, 2], [1, 0, 2], [2, 2, 0]]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rhoproof.errors.GroupSpecError: ...
    """

    def name(i: int) -> str:
        return f"{labels[i]!r} (#{i})" if labels is not None and 0 <= i < len(labels) \
            else str(i)

    if table.ndim != 2 or table.shape[0] != table.shape[1] or table.shape[0] == 0:
        raise GroupSpecError(f"{spec}: the Cayley table must be a non-empty square, got shape "
                             f"{tuple(table.shape)}")
    n = table.shape[0]
    bad = np.argwhere((table < 0) | (table >= n))
    if bad.size:
        x, y = (int(v) for v in bad[0])
        raise GroupSpecError(f"{spec}: not closed: the product of {name(x)} and {name(y)} is "
                             f"{int(table[x, y])}, not an element index in 0..{n - 1}")
    ar = np.arange(n)
    left_id = (table == ar[None, :]).all(axis=1)
    right_id = (table == ar[:, None]).all(axis=0)
    both = np.nonzero(left_id & right_id)[0]
    if both.size == 0:
        raise GroupSpecError(f"{spec}: no identity: no element e with e·x = x·e = x for all x")
    e = int(both[0])
    for x in range(n):
        row = np.nonzero(table[x] == e)[0]
        if row.size == 0 or table[row[0], x] != e:
            raise GroupSpecError(f"{spec}: element {name(x)} has no two-sided inverse")
    for axis, what in ((1, "row"), (0, "column")):  # x·y = x·y' implies y = y' in a group
        hit = np.zeros((n, n), dtype=bool)  # hit[i, v]: row (column) i holds the value v
        if axis == 1:
            hit[ar[:, None], table] = True
        else:
            hit[ar[None, :], table] = True
        repeats = ~hit.all(axis=1)  # n entries in n places: all present iff none repeats
        if repeats.any():
            i = int(np.nonzero(repeats)[0][0])
            raise GroupSpecError(f"{spec}: not a group: the {what} of {name(i)} repeats an "
                                 f"element (in a group every row and column is a permutation)")
    # associativity by Light's test: if a and b each satisfy (x·a)·y = x·(a·y) for all x, y,
    # so does a·b, so it suffices to check a over a generating set: O(|G|² log|G|).
    gens = _magma_generators(table)
    if gens is None:  # in a group each new generator at least doubles what is generated
        raise GroupSpecError(f"{spec}: not associative (the elements its products generate "
                             f"do not grow as a group's subgroups do, by Lagrange's theorem)")
    bad_triple = _non_associative(table, gens, e)
    if bad_triple is not None:
        x, a, y = bad_triple
        raise GroupSpecError(f"{spec}: not associative: ({name(x)}·{name(a)})·{name(y)} != "
                             f"{name(x)}·({name(a)}·{name(y)})")


def _non_associative(table: np.ndarray, gens: list[int], e: int
                     ) -> tuple[int, int, int] | None:
    """The first (x, a, y) with (x·a)·y != x·(a·y) for a in ``gens``, or None; a slab of rows
    x at a time (no [G, G] temporaries). The identity e needs no check: (x·e)·y = x·(e·y)."""
    n = table.shape[0]
    step = max(1, (1 << 22) // n)
    for a in gens:
        if a == e:
            continue
        for x0 in range(0, n, step):
            lhs = table[table[x0:x0 + step, a]]  # (x·a)·y   [x, y]
            rhs = np.take(table[x0:x0 + step], table[a], axis=1)  # x·(a·y)   [x, y]
            neq = lhs != rhs
            if neq.any():
                x, y = (int(v) for v in np.argwhere(neq)[0])
                return x + x0, a, y
    return None


def _magma_generators(table: np.ndarray) -> list[int] | None:
    """A small set S of elements whose left-normed products ((s1·s2)·s3)··· give every
    element (greedy: add the first element not yet generated), or None when that would take
    more than log₂|G| + 1 elements, which no group needs (each new generator at least doubles
    the subgroup generated). Cost O(|G| |S|²)."""
    n = table.shape[0]
    have = np.zeros(n, dtype=bool)
    gens: list[int] = []
    while not have.all():
        if len(gens) > int(np.log2(n)) + 1:
            return None
        before = int(have.sum())
        g = int(np.nonzero(~have)[0][0])
        gens.append(g)
        # what the generators give, closed under right multiplication by them (breadth first)
        have[:] = False
        have[gens] = True
        frontier = np.array(gens)
        while frontier.size:
            nxt = np.unique(table[np.ix_(frontier, np.array(gens))])
            frontier = nxt[~have[nxt]]
            have[frontier] = True
        if before and int(have.sum()) < 2 * before:
            return None
    return gens
