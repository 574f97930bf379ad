"""Sweeps: a grid over groups × hyperparameters × seeds (``spec``), each cell one vectorized
run followed by evaluate, explain and certify (``cell``), in a resumable results store safe
for many workers (``store``), run here or on a Ray cluster (``backends``), summarized as one
results table and figures.

Examples
--------
>>> from rhoproof.sweep.spec import parse
>>> s = parse({"sweep": {"groups": ["C5", "S3"], "weight_decay": [1e-4, 2e-4], "seeds": [0, 1],
...                      "models": 2, "epochs": 5}})
>>> len(s.cells), s.swept
(8, ('group', 'seed', 'weight_decay'))
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rhoproof.errors import ConfigError
from rhoproof.sweep.spec import SweepSpec, load


def run_sweep(spec: SweepSpec | str | Path, out: str | Path | None = None, *,
              backend: str = "local", address: str | None = None, jobs: int = 1,
              num_cpus: int | None = None, max_in_flight: int | None = None,
              on_result: Callable[[dict[str, Any]], None] = lambda r: None,
              on_start: Callable[[int, int], None] = lambda todo, total: None
              ) -> dict[str, Any]:
    """Run every unfinished cell of a sweep into a results store, then write its table and figures.

    The store is ``out`` (default ``sweep-<name>``). Returns the table (see ``store.collect``)
    with ``outcomes`` (what each cell did this time) and ``seconds``.
    """
    from rhoproof._io import ensure_dir
    from rhoproof.config import BACKENDS
    from rhoproof.sweep.backends import (
        SweepInterrupted,
        pending,
        run_local,
        run_ray,
        sigterm_as_interrupt,
    )
    from rhoproof.sweep.store import driver_lock, write_grid

    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; use {' or '.join(BACKENDS)}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs must be a positive integer, got {jobs!r}")
    if backend == "local" and address is not None:
        raise ConfigError("--address is for --backend ray")
    if num_cpus is not None and (backend != "ray" or address is not None):
        raise ConfigError("--num-cpus is for --backend ray without --address (the cores of "
                          "the local cluster it starts)")
    if num_cpus is not None and (isinstance(num_cpus, bool) or num_cpus < 1):
        raise ConfigError(f"--num-cpus must be a positive integer, got {num_cpus!r}")
    if backend == "ray" and jobs != 1:
        raise ConfigError("--jobs is for --backend local (Ray runs as many cells at once as "
                          "the cluster has cores for)")
    if not isinstance(spec, SweepSpec):
        spec = load(spec)
    if any(c.device == "cuda" for c in spec.cells) and backend == "local":
        from rhoproof.train import resolve_device

        resolve_device("cuda")  # fails here, before anything runs, without CUDA
    if backend == "ray" and address not in (None, "auto"):
        from rhoproof.sweep.backends import _check_reachable

        _check_reachable(address)  # before the store is made
    store = ensure_dir(Path(out or f"sweep-{spec.name}")).resolve()
    t0 = time.perf_counter()
    with sigterm_as_interrupt():
        try:
            with driver_lock(store):
                write_grid(store, spec)
                todo = pending(list(spec.cells), store)
                on_start(len(todo), len(spec.cells))
                if backend == "local":
                    outcomes = run_local(todo, store, jobs, on_result)
                else:
                    outcomes = run_ray(todo, store, address, num_cpus, max_in_flight,
                                       on_result)
                table = report(store)
        except KeyboardInterrupt:  # outside a cell: nothing to checkpoint
            raise SweepInterrupted("sweep interrupted; every file is whole; rerun the same "
                                   "command to continue") from None
    return table | {"outcomes": outcomes, "seconds": time.perf_counter() - t0,
                    "store": str(store)}


def report(store: str | Path) -> dict[str, Any]:
    """Rewrite the store's results table (CSV, JSON) and figures from its cells."""
    from rhoproof.sweep.figures import write_sweep_figures
    from rhoproof.sweep.store import write_tables

    table = write_tables(store)
    figures = write_sweep_figures(table, Path(store) / "figures")
    return table | {"figures": [str(p) for p in figures], "store": str(store)}


__all__ = ["SweepSpec", "load", "report", "run_sweep"]
