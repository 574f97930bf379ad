"""The checker's own hash of a Cayley table (docs/certificate.md, "The group"): a certificate
pins its group by this digest, so it means one group wherever the checker runs."""

from __future__ import annotations

import hashlib

import numpy as np

PREFIX = b"rhoproof-cayley-table-1\n"


def table_sha256(table: np.ndarray) -> str:
    """SHA-256 of ``PREFIX``, the order n in ASCII decimal and a newline, then the n × n
    entries row by row as little-endian signed 64-bit integers."""
    table = np.asarray(table)
    data = PREFIX + str(int(table.shape[0])).encode() + b"\n" + \
        np.ascontiguousarray(table, dtype="<i8").tobytes()
    return hashlib.sha256(data).hexdigest()


__all__ = ["PREFIX", "table_sha256"]
