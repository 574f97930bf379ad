"""One cell of a sweep, run where a worker picks it up: train (or resume) K models, evaluate
them exactly, explain them and certify them, in the cell's own folder of the results store.

Layout of ``cells/<id>/`` (every file written atomically, by the one worker running the cell)::

    cell.json              the cell's key (config, methods, device, cores): its id is its hash
    run/                   the run directory; a preempted cell resumes from its checkpoint
    evaluate.json          exact accuracy and loss, tied to the weights' SHA-256
    explain.json           each model's verdict and circuits, tied likewise
    certificates/          <method>_<k>.json, bound to the weights
    result.json            one row per model; written last, so it marks the cell finished
    failed.json            the one-line error of the last failed attempt (gone on success)
    preempted.json         each time the cell was stopped by a signal (host, pid, epoch)

Everything passed in and out is plain data (JSON-ready), so a cell runs the same in this
process, in a pool worker or in a Ray task on another machine.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rhoproof._io import atomic_write_json, atomic_write_text, ensure_dir
from rhoproof.errors import RunError, UserError
from rhoproof.sweep.spec import Cell, cell_summary, table_file_digest

if TYPE_CHECKING:
    from rhoproof.verify.records import Certificate

RESULT, FAILED, CELL, PREEMPTED = "result.json", "failed.json", "cell.json", "preempted.json"


def cell_dir(store: str | Path, cell_id: str) -> Path:
    return Path(store) / "cells" / cell_id


def is_finished(folder: Path) -> bool:
    """The cell's result.json was written by this rhoproof version from the weights now in
    its run (a cell trained further, or by another version, is not finished)."""
    from rhoproof._version import __version__
    from rhoproof.verify.certificate import weights_digest

    try:
        result = json.loads((folder / RESULT).read_text())
        return result.get("rhoproof_version") == __version__ and \
            result.get("weights_sha256") == weights_digest(folder / "run" / "weights.safetensors")
    except (OSError, json.JSONDecodeError, AttributeError):
        return False


def _claim(folder: Path, cell: Cell) -> None:
    """Write (or check) cell.json: a folder holding another cell is refused."""
    path = folder / CELL
    if path.exists():
        try:
            theirs = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RunError(f"{path} is corrupt: {exc}") from None
        if theirs != cell.key():
            raise RunError(f"{folder} holds another cell; the results store is corrupt")
    else:
        atomic_write_json(path, cell.key())


def _train(cell: Cell, run_dir: Path) -> float:
    from rhoproof.run import CHECKPOINT, WEIGHTS, load_run
    from rhoproof.train import train

    if (run_dir / WEIGHTS).exists() and load_run(run_dir).epoch >= cell.config.epochs:
        return 0.0
    resume = (run_dir / CHECKPOINT).exists()
    # the table is read here, once: the run stores its copy (group.json), and every later
    # stage, a resume too, reads that
    if not resume and cell.table_sha256 is not None and \
            table_file_digest(cell.config.group) != cell.table_sha256:
        raise RunError(f"{cell.config.group}: the file changed since the sweep was planned (or "
                       f"cannot be read here); run the sweep again to plan new cells")
    t0 = time.perf_counter()
    train(cell.config, run_dir, device=cell.device, resume=resume, progress=False)
    return time.perf_counter() - t0


def _last_metrics(run_dir: Path) -> dict[str, Any]:
    """The run's last metrics record ({} if none or unreadable)."""
    from rhoproof.run import read_metrics

    try:
        metrics = read_metrics(run_dir)
    except (OSError, UserError):
        return {}
    return metrics[-1] if metrics else {}


def _held_out_accuracy(run_dir: Path) -> list[float] | None:
    """Each model's accuracy on the held-out pairs at the last evaluation (None: no
    held-out pairs, or no readable record)."""
    from rhoproof.run import read_metrics

    try:
        metrics = read_metrics(run_dir)
    except (OSError, UserError):
        return None
    return (metrics[-1].get("test_acc") or None) if metrics else None


def _rows(cell: Cell, run_dir: Path, evaluation: dict[str, Any], explained: dict[str, Any],
          certs: list[Certificate]) -> list[dict[str, Any]]:
    """One row per model: accuracy, loss, verdict, and per method the bounds and costs."""
    held_out = _held_out_accuracy(run_dir)
    rows = []
    for k in range(cell.config.n_instances):
        row: dict[str, Any] = {"instance": k, "accuracy": evaluation["accuracy"][k],
                               "loss": evaluation["loss"][k],
                               "held_out_accuracy": None if held_out is None else held_out[k],
                               "verdict": explained["models"][k]["verdict"]}
        for c in certs:
            if c.instance != k:
                continue
            m = c.method
            row[f"{m}_bound"] = c.accuracy
            row[f"{m}_ce_bound"] = c.cross_entropy
            row[f"{m}_proof_s"] = c.seconds["proof"]
            row[f"{m}_time_over_brute"] = c.proof_over_brute
            row[f"{m}_ops_over_brute"] = c.ops_over_brute
            row["brute_s"] = c.brute["seconds"]
        rows.append(row)
    return rows


def _stages(cell: Cell, folder: Path) -> dict[str, Any]:
    from rhoproof._version import __version__
    from rhoproof.config import GENERALISED
    from rhoproof.report.stages import StageOptions, Stages
    from rhoproof.run import WEIGHTS, load_run, versions
    from rhoproof.verify.certificate import weights_digest

    this_attempt = _train(cell, folder / "run")
    metrics = _last_metrics(folder / "run")
    # training time over every attempt (train carries it across resumes), not only the last
    seconds: dict[str, float] = {"train": max(metrics.get("elapsed_s", 0.0), this_attempt),
                                 "train_last_attempt": this_attempt}
    run = load_run(folder / "run")
    digest = weights_digest(folder / "run" / WEIGHTS)

    stages = Stages(run, folder, digest, StageOptions(cell.methods, cell.per_output))
    t0 = time.perf_counter()
    evaluation = stages.evaluate()
    seconds["evaluate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    explained = stages.explain()
    seconds["explain"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    certs = stages.certify()
    seconds["certify"] = time.perf_counter() - t0
    return {"format": "rhoproof-sweep-result-1", "rhoproof_version": __version__,
            "weights_sha256": digest, "cell": cell.id, "key": cell.key(),
            "coordinates": cell_summary(cell), "epoch": run.epoch,
            "rows": (rows := _rows(cell, folder / "run", evaluation, explained, certs)),
            "generalised": None if any(r["held_out_accuracy"] is None for r in rows) else
            sum(r["held_out_accuracy"] >= GENERALISED for r in rows),  # None: no held-out
            "seconds": {k: round(v, 3) for k, v in seconds.items()},
            "worker": {"host": socket.gethostname(), "pid": os.getpid(),
                       "platform": platform.platform()},
            "versions": versions()}


def _preemptions(folder: Path) -> list[dict[str, Any]]:
    try:
        got = json.loads((folder / PREEMPTED).read_text())
        return got if isinstance(got, list) else []
    except (OSError, json.JSONDecodeError):
        return []


def _record_preemption(folder: Path, message: str) -> None:
    """Append to preempted.json (only the worker running the cell writes it)."""
    atomic_write_json(folder / PREEMPTED, _preemptions(folder) + [
        {"host": socket.gethostname(), "pid": os.getpid(), "message": message}])


def run_cell(cell_json: dict[str, Any], store: str) -> dict[str, Any]:
    """Run (or finish, or skip) one cell in ``store``; return ``{"cell", "status", ...}`` with
    status ``done``, ``skipped`` (finished before) or ``failed`` (with a one-line ``error``).
    A training interruption (SIGINT/SIGTERM: checkpointed) is raised, not recorded: the cell
    resumes when it is run again."""
    from rhoproof.train import TrainingInterrupted

    cell = Cell.from_json(cell_json)
    folder = ensure_dir(cell_dir(store, cell.id))
    t0 = time.perf_counter()
    try:
        _claim(folder, cell)
        if is_finished(folder):
            return {"cell": cell.id, "status": "skipped"}
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(cell.cpus)  # the cell's cores: same results on every backend
        try:
            result = _stages(cell, folder)
        finally:
            torch.set_num_threads(threads)
        result["seconds"]["total"] = round(time.perf_counter() - t0, 3)
        result["preemptions"] = len(_preemptions(folder))
        atomic_write_json(folder / RESULT, result)
        (folder / FAILED).unlink(missing_ok=True)
        (folder / "failed.log").unlink(missing_ok=True)
        return {"cell": cell.id, "status": "done", "seconds": result["seconds"]["total"]}
    except TrainingInterrupted as exc:  # preempted: say so in the cell, then stop
        _record_preemption(folder, f"stopped by signal {exc.signum} at epoch {exc.epoch}; "
                                   f"checkpoint saved; running the sweep again resumes "
                                   f"this cell from it")
        raise
    except Exception as exc:  # recorded: the other cells go on
        kind = "" if isinstance(exc, UserError) else f"{type(exc).__name__}: "
        error = (kind + str(exc)).replace("\n", " ")[:500]
        atomic_write_json(folder / FAILED, {"cell": cell.id, "error": error,
                                            "host": socket.gethostname()})
        atomic_write_text(folder / "failed.log", traceback.format_exc())
        return {"cell": cell.id, "status": "failed", "error": error}


__all__ = ["CELL", "FAILED", "PREEMPTED", "RESULT", "cell_dir", "is_finished", "run_cell"]
