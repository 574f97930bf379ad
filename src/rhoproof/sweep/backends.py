"""Where a sweep's cells run: ``local`` (this process, or a pool of ``jobs`` processes) or
``ray`` (one Ray task per cell, with its cores and a GPU when it trains on CUDA, on an
existing cluster or on a local one started for the sweep).

Both call ``sweep.cell.run_cell`` with the same plain-data arguments and the same number of
torch threads per cell, so a grid gives the same results table on either.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rhoproof.config import BACKENDS
from rhoproof.errors import ConfigError, RunError, UserError
from rhoproof.sweep.cell import cell_dir, is_finished, run_cell
from rhoproof.sweep.spec import Cell

CANCEL_GRACE_S = 30.0
"""How long an interrupted driver waits for cancelled cells to checkpoint."""
RAY_RETRIES = 3
"""Times Ray runs a cell again after its worker died or it was preempted (SIGTERM: it
checkpointed, and the next attempt resumes)."""


class SweepInterrupted(UserError):
    """Ctrl-C or SIGTERM to the driver: running cells checkpointed; rerunning continues."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM to the driver stops it as Ctrl-C does (training, which handles both itself,
    checkpoints first)."""
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


Log = Callable[[dict[str, Any]], None]


def run_local(cells: list[Cell], store: Path, jobs: int = 1,
              on_result: Log = lambda r: None) -> list[dict[str, Any]]:
    """Run the cells one after another here, or in a pool of ``jobs`` processes."""
    from rhoproof.train import TrainingInterrupted

    out: list[dict[str, Any]] = []
    with sigterm_as_interrupt():
        try:
            if jobs == 1:
                for cell in cells:
                    out.append(run_cell(cell.to_json(), str(store)))
                    on_result(out[-1])
                return out
            return _run_pool(cells, store, jobs, on_result, out)
        except (KeyboardInterrupt, TrainingInterrupted):
            raise SweepInterrupted(_interrupted(out, cells)) from None


def _interrupted(out: list[dict[str, Any]], cells: list[Cell]) -> str:
    return (f"sweep interrupted with {len(out)} of {len(cells)} cells run; running cells "
            f"checkpointed; rerun the same command to continue")


def _run_pool(cells: list[Cell], store: Path, jobs: int, on_result: Log,
              out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import multiprocessing
    import os
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # spawn: a fresh interpreter per worker (forking a process that holds torch's thread
    # pools is unsafe)
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_pool_worker_start)
    try:
        pending = {pool.submit(run_cell, c.to_json(), str(store)) for c in cells}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                out.append(f.result())
                on_result(out[-1])
        return out
    except BrokenProcessPool:
        raise RunError(f"a worker process died (killed, or out of memory?) with {len(out)} of "
                       f"{len(cells)} cells run; rerun the same command to continue "
                       f"(finished cells are kept)") from None
    except BaseException:
        for proc in list(getattr(pool, "_processes", {}).values()):
            try:  # a training worker checkpoints and stops; an idle one ends
                os.kill(proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _pool_worker_start() -> None:
    """A spawned worker re-imports the console script, whose start-up SIGINT handler
    (``_entry``) would print a line of its own: Ctrl-C is KeyboardInterrupt there again."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray backend needs Ray: pip install 'rhoproof[ray]'") from None
    return ray


def run_ray(cells: list[Cell], store: Path, address: str | None = None,
            num_cpus: int | None = None, max_in_flight: int | None = None,
            on_result: Log = lambda r: None) -> list[dict[str, Any]]:
    """One Ray task per cell (``num_cpus`` = the cell's cores, ``num_gpus`` = 1 for a CUDA
    cell), retried after a worker dies or is preempted. ``address``: an existing cluster
    (``auto``, or ``HOST:PORT``); None starts a local one for the sweep (``num_cpus`` cores)
    and stops it afterwards. The store must be on a filesystem every worker sees."""
    import logging

    ray = _ray()
    from rhoproof.train import TrainingInterrupted

    started = not ray.is_initialized()
    if started and address not in (None, "auto"):
        _check_reachable(address)
    if started:
        try:
            ray.init(address=address, num_cpus=num_cpus if address is None else None,
                     include_dashboard=False, logging_level=logging.ERROR,
                     log_to_driver=False, configure_logging=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"at {address}" if address else "locally"
            raise ConfigError(f"cannot start or reach a Ray cluster {where}: "
                              f"{str(exc).splitlines()[0] if str(exc) else exc}") from None
    try:
        _check_feasible(cells, ray.cluster_resources())
    except ConfigError:
        if started:
            ray.shutdown()
        raise
    task = ray.remote(run_cell)
    out: list[dict[str, Any]] = []
    refs: dict[Any, Cell] = {}
    todo = list(cells)
    limit = max_in_flight or len(cells) or 1
    try:
        with sigterm_as_interrupt():
            try:
                while todo or refs:
                    while todo and len(refs) < limit:
                        c = todo.pop(0)
                        refs[task.options(
                            num_cpus=c.cpus, num_gpus=1 if c.device == "cuda" else 0,
                            max_retries=RAY_RETRIES,
                            retry_exceptions=[TrainingInterrupted],
                            name=f"rhoproof-cell-{c.id}").remote(c.to_json(), str(store))] = c
                    ready, _ = ray.wait(list(refs), num_returns=1)
                    for ref in ready:
                        c = refs.pop(ref)
                        try:
                            out.append(ray.get(ref))
                        except ray.exceptions.RayError as exc:  # the task or its worker died
                            out.append({"cell": c.id, "status": "failed",
                                        "error": _ray_error(exc)})
                        on_result(out[-1])
            except KeyboardInterrupt:
                for ref in refs:  # a running cell gets KeyboardInterrupt: it checkpoints
                    ray.cancel(ref)
                ray.wait(list(refs), num_returns=len(refs), timeout=CANCEL_GRACE_S)
                raise SweepInterrupted(_interrupted(out, cells)) from None
    finally:
        if started:
            ray.shutdown()
    return out


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """A HOST:PORT that answers no TCP connection is refused in one line (Ray itself would
    retry for minutes)."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--address {address!r}: expected auto or HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"no Ray cluster answers at {address}: "
                          f"{exc.strerror or exc}") from None


def _check_feasible(cells: list[Cell], resources: dict[str, float]) -> None:
    """Refuse, before submitting, a cell no node of the cluster could ever run (Ray would
    leave it pending for ever)."""
    cpus, gpus = resources.get("CPU", 0), resources.get("GPU", 0)
    need = max((c.cpus for c in cells), default=0)
    if need > cpus:
        raise ConfigError(f"the cells ask for {need} cores each but the Ray cluster has "
                          f"{cpus:g}; lower cpus in the sweep file or add nodes")
    if any(c.device == "cuda" for c in cells) and gpus < 1:
        raise ConfigError("the sweep has cuda cells but the Ray cluster has no GPU")


def _ray_error(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    text = str(cause if cause is not None else exc).strip().splitlines()
    return (type(cause or exc).__name__ + ": " + (text[-1] if text else "")).strip()[:500]


def pending(cells: list[Cell], store: Path) -> list[Cell]:
    """The cells not finished in the store (finished ones are skipped without a worker)."""
    return [c for c in cells if not is_finished(cell_dir(store, c.id))]


__all__ = ["BACKENDS", "SweepInterrupted", "pending", "run_local", "run_ray",
           "sigterm_as_interrupt"]
