"""The results store of a sweep: one folder per cell (``cells/<id>/``, see ``sweep.cell``),
the grid the driver was asked for, and the tables made from the cells' results.

Layout::

    sweep.json      the grid: the sweep file as read, its swept keys and its cell ids
    sweep.lock      held by the one driver running the sweep (host, pid); a stale one on the
                    same host (its process gone) is taken over
    cells/<id>/     one per cell, written only by the worker running that cell
    results.csv     one row per model of every finished cell (results.json: the same, and
    cells.csv       one row per cell: status, mean accuracy, certified fraction, bounds, time
    figures/        certified fraction and mean bound against each swept hyperparameter

Only the driver writes the files at the top; a worker writes only its own cell's folder, so
no file is ever written by two workers. Cells are named by the hash of what determines their
results, so a grid that grows reuses every cell it already had.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rhoproof._io import atomic_write_json, atomic_write_text, ensure_dir
from rhoproof.config import CERTIFIED
from rhoproof.errors import RunError
from rhoproof.sweep.cell import FAILED, RESULT, cell_dir, is_finished
from rhoproof.sweep.spec import METHODS, SweepSpec, cell_summary

SWEEP, LOCK = "sweep.json", "sweep.lock"
COORDINATES = ("group", "seed", "epochs", "d_hidden", "d_embed", "weight_decay", "lr",
               "train_frac", "models")
PER_METHOD = ("bound", "ce_bound", "proof_s", "time_over_brute", "ops_over_brute")
COLUMNS = ("cell", *COORDINATES, "instance", "accuracy", "loss", "held_out_accuracy", "verdict",
           *(f"{m}_{f}" for m in METHODS for f in PER_METHOD), "brute_s")
"""results.csv's columns; the timing ones (TIMING) vary from run to run, the rest do not."""
TIMING = tuple(c for c in COLUMNS if c.endswith("_s") or c.endswith("time_over_brute"))
CELL_COLUMNS = ("cell", "status", *COORDINATES, "mean_accuracy", "generalised",
                *(f"{m}_{f}" for m in METHODS for f in ("certified_95", "mean_bound")),
                "seconds", "error")


STALE_UNREADABLE_LOCK_S = 60.0
"""A lock file that names no process (its driver died while writing it) is stale after this."""


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return time.time()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def driver_lock(store: Path) -> Iterator[None]:
    """Hold ``sweep.lock`` while a driver runs the sweep: a second driver on the same store
    is refused (one line naming the holder), a lock left by a dead process on this host is
    taken over."""
    path = ensure_dir(store) / LOCK
    me = {"host": socket.gethostname(), "pid": os.getpid(),
          "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = json.loads(path.read_text())
                holder = holder if isinstance(holder, dict) else {}
            except (OSError, json.JSONDecodeError, UnicodeDecodeError):
                holder = {}
            unreadable = not isinstance(holder.get("pid"), int)
            if unreadable and time.time() - _mtime(path) > STALE_UNREADABLE_LOCK_S or \
                    holder.get("host") == me["host"] and not unreadable and \
                    not _alive(holder["pid"]):
                path.unlink(missing_ok=True)  # its driver is gone: take the store over
                continue
            raise RunError(f"{store} is being swept by pid {holder.get('pid')} on "
                           f"{holder.get('host')} (since {holder.get('started')}); if that "
                           f"process is gone, delete {path}") from None
        with os.fdopen(fd, "w") as fh:
            json.dump(me, fh)
        break
    else:  # pragma: no cover - the lock was re-taken between our two tries
        raise RunError(f"{store}: could not take {path}")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def write_grid(store: Path, spec: SweepSpec) -> None:
    atomic_write_json(store / SWEEP, spec.to_json() | {
        "cell_keys": {c.id: c.key() for c in spec.cells}})


def read_grid(store: Path) -> dict[str, Any]:
    path = Path(store) / SWEEP
    if not path.exists():
        raise RunError(f"{store} is not a sweep results store (no {SWEEP}); run rhoproof sweep "
                       f"first")
    try:
        grid = json.loads(path.read_text())
        grid["cells"], grid["cell_keys"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise RunError(f"{path} is corrupt: {exc}") from None
    return grid


def _cell_row(cell_id: str, key: dict[str, Any], folder: Path) -> tuple[dict[str, Any],
                                                                         list[dict[str, Any]]]:
    from rhoproof.sweep.spec import Cell

    coords = cell_summary(Cell.from_json(key))
    row: dict[str, Any] = {"cell": cell_id, **coords}
    result = json.loads((folder / RESULT).read_text()) if is_finished(folder) else None
    if result is not None:  # finished, by this version, from the weights in its run
        rows = [{"cell": cell_id, **coords, **r} for r in result["rows"]]
        acc = [float(r["accuracy"]) for r in rows]
        row |= {"status": "done", "mean_accuracy": statistics.fmean(acc) if acc else None,
                "generalised": result.get("generalised"),
                "seconds": result["seconds"].get("total")}
        for m in METHODS:
            bounds = [r[f"{m}_bound"] for r in rows if f"{m}_bound" in r]
            if bounds:
                row[f"{m}_certified_95"] = sum(b >= CERTIFIED for b in bounds) / len(bounds)
                row[f"{m}_mean_bound"] = statistics.fmean(bounds)
        return row, rows
    try:
        failed = json.loads((folder / FAILED).read_text())
    except (OSError, json.JSONDecodeError):
        return row | {"status": "pending"}, []
    error = failed.get("error") if isinstance(failed, dict) else None
    return row | {"status": "failed", "error": str(error)}, []


def collect(store: str | Path) -> dict[str, Any]:
    """Every cell of the store's grid with its status, and every finished model's row."""
    store = Path(store)
    grid = read_grid(store)
    cells, rows = [], []
    try:
        ids, keys = list(grid["cells"]), grid["cell_keys"]
        name, swept = str(grid["name"]), list(grid["swept"])
        if not all(isinstance(i, str) and i in keys for i in ids):
            raise KeyError("a cell without its key")
    except (KeyError, TypeError) as exc:
        raise RunError(f"{store / SWEEP} is corrupt: {exc}") from None
    for cell_id in ids:
        folder = cell_dir(store, cell_id)
        try:
            row, mine = _cell_row(cell_id, keys[cell_id], folder)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError,
                statistics.StatisticsError, UnicodeDecodeError) as exc:
            raise RunError(f"cell {cell_id} of {store} is corrupt ({type(exc).__name__}: "
                           f"{exc}); delete {folder} to redo it") from None
        cells.append(row)
        rows.extend(mine)
    return {"name": name, "swept": swept, "cells": cells, "rows": rows}


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: ("" if r.get(c) is None else r.get(c)) for c in columns})
    return buf.getvalue()


def write_tables(store: str | Path) -> dict[str, Any]:
    """results.csv, results.json and cells.csv from the cells' results (rewritten whole, by
    the driver or by ``sweep-report``); returns what ``collect`` found."""
    store = Path(store)
    table = collect(store)
    atomic_write_text(store / "results.csv", _csv(table["rows"], COLUMNS))
    atomic_write_text(store / "cells.csv", _csv(table["cells"], CELL_COLUMNS))
    atomic_write_json(store / "results.json", table | {"columns": list(COLUMNS),
                                                       "timing_columns": list(TIMING)})
    return table


__all__ = ["CELL_COLUMNS", "COLUMNS", "TIMING", "collect", "driver_lock", "read_grid",
           "write_grid", "write_tables"]


def cells_text(table: dict[str, Any], method: str = "irrep") -> str:
    """The per-cell summary as a plain-text table (what ``sweep`` and ``sweep-report``
    print)."""
    shown = [k for k in table["swept"] if k != "group"]
    head = ["cell", "group", *shown, "status", "mean acc", "generalised",
            f"{method} >=95%", "mean bound", "seconds"]
    lines = [head]
    for c in table["cells"]:
        done = c["status"] == "done"
        frac = c.get(f"{method}_certified_95")
        lines.append([c["cell"], c["group"], *(f"{c[k]:g}" if isinstance(c[k], float)
                                                else str(c[k]) for k in shown),
                      c["status"] if c["status"] != "failed" else f"FAILED: {c.get('error')}",
                      f"{c['mean_accuracy']:.4f}" if done else "-",
                      f"{c['generalised']}/{c['models']}" if done and
                      c.get("generalised") is not None else "-",
                      f"{round(frac * c['models'])}/{c['models']}" if frac is not None else "-",
                      f"{c[f'{method}_mean_bound']:.4f}" if frac is not None else "-",
                      f"{c['seconds']:.0f}" if done and c.get("seconds") is not None else "-"])
    widths = [max(len(r[i]) for r in lines if i < len(r) and not r[i].startswith("FAILED"))
              if i != head.index("status") else 8 for i in range(len(head))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in lines)
