"""The checker's own hash of a Cayley table (docs/certificate.md, "The group"): a certificate
pins its group by this digest, so it means one group wherever the checker runs."""

from __future__ import annotations

import hashlib

import numpy as np

from rhoproof.check.parse import require

PREFIX = b"rhoproof-cayley-table-1\n"


def table_sha256(table: np.ndarray) -> str:
    """SHA-256 of a Cayley table: what pins a certificate's group by content.

    The bytes hashed: ``PREFIX``, the order n in ASCII decimal and a newline, then the n × n
    entries row by row as little-endian signed 64-bit integers.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.check import table_sha256
    >>> table_sha256(group("S3").table_np)[:12]
    '075b58cd9107'
    """
    table = np.asarray(table)
    data = PREFIX + str(int(table.shape[0])).encode() + b"\n" + \
        np.ascontiguousarray(table, dtype="<i8").tobytes()
    return hashlib.sha256(data).hexdigest()


def group_facts(table: np.ndarray) -> tuple[int, np.ndarray]:
    """The identity and inverses from the Cayley table alone."""
    n = table.shape[0]
    require(table.shape == (n, n), "the Cayley table is not square")
    ids = np.nonzero((table == np.arange(n)[None]).all(1))[0]
    require(len(ids) == 1, "the Cayley table has no unique identity")
    e = int(ids[0])
    inv = np.argmax(table == e, axis=1)
    require(bool((table[np.arange(n), inv] == e).all()), "the Cayley table lacks inverses")
    return e, inv


__all__ = ["PREFIX", "group_facts", "table_sha256"]
