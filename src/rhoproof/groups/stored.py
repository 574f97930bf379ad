"""The group as a run stores it (``group.json``): pinned by the SHA-256 of its Cayley table.

A run's group is read from this record, never from the path a ``table:`` spec names, so a run
means the same group from every working directory (docs/certificate.md, "The group").

Format ``rhoproof-group-1``::

    {"format": "rhoproof-group-1", "spec": "S5" | "table:PATH", "order": n, "sha256": "...",
     "elements": [labels...], "table": [[...], ...]}      # elements and table: table: groups

A built-in spec (``S5``, ``C3xC5``, ...) is rebuilt from the grammar and must hash to
``sha256``; a ``table:`` group is the stored table, validated as a group, hashing to ``sha256``.
The spec is a label only: a ``table:`` path is never opened again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rhoproof.errors import GroupSpecError
from rhoproof.groups.group import Group
from rhoproof.groups.specs import MAX_ORDER, group

GROUP_FORMAT = "rhoproof-group-1"


def is_table_spec(spec: str) -> bool:
    """Whether ``spec`` names a group by a Cayley-table file (``table:PATH``)."""
    return spec.strip().startswith("table:")


def group_record(grp: Group) -> dict[str, Any]:
    """The JSON-ready record of ``grp`` that a run stores.

    Examples
    --------
    >>> from rhoproof.groups import group
    >>> rec = group_record(group("S3"))
    >>> rec["format"], rec["order"], "table" in rec
    ('rhoproof-group-1', 6, False)
    >>> group_from_record(rec, "group.json") == group("S3")
    True
    """
    rec: dict[str, Any] = {"format": GROUP_FORMAT, "spec": grp.spec, "order": grp.order,
                           "sha256": grp.sha256}
    if is_table_spec(grp.spec):
        rec["elements"] = list(grp.labels)
        rec["table"] = grp.table_np.tolist()
    return rec


def group_from_record(data: Any, source: str) -> Group:
    """The group a stored record describes, validated (a group, of the stated order, hashing
    to the stated SHA-256); GroupSpecError naming ``source`` and the problem otherwise."""
    def bad(why: str) -> GroupSpecError:
        return GroupSpecError(f"{source}: {why}")

    if not isinstance(data, dict) or data.get("format") != GROUP_FORMAT:
        raise bad(f"not a stored group (format {GROUP_FORMAT!r})")
    spec, order, digest = data.get("spec"), data.get("order"), data.get("sha256")
    if not isinstance(spec, str) or not spec.strip():
        raise bad('"spec" must be a non-empty string')
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise bad(f'"order" must be an integer in 1..{MAX_ORDER}')
    if not isinstance(digest, str) or len(digest) != 64:
        raise bad('"sha256" must be a SHA-256 hex digest')
    if is_table_spec(spec):
        elements, rows = data.get("elements"), data.get("table")
        if not isinstance(elements, list) or len(elements) != order:
            raise bad(f'"elements" must list {order} labels')
        if not isinstance(rows, list) or len(rows) != order or not all(
                isinstance(r, list) and len(r) == order for r in rows):
            raise bad(f'"table" must be {order} rows of {order} entries')
        if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < order
                   for r in rows for v in r):
            raise bad(f'"table" must hold integer element indices in 0..{order - 1}')
        try:
            grp = Group(spec, np.array(rows, dtype=np.int64), tuple(str(e) for e in elements))
        except GroupSpecError as exc:
            raise bad(f"the stored table is not a group ({exc})") from None
    else:
        try:
            grp = group(spec)
        except GroupSpecError as exc:
            raise bad(str(exc)) from None
    if grp.order != order:
        raise bad(f"{spec} has order {grp.order}, the record says {order}")
    if grp.sha256 != digest:
        raise bad(f"the table of {spec} hashes to {grp.sha256[:12]}..., the record says "
                  f"{digest[:12]}... (edited, or written by another rhoproof)")
    return grp


__all__ = ["GROUP_FORMAT", "group_from_record", "group_record", "is_table_spec"]
