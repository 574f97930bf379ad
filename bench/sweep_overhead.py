"""Sweep overhead: the same small grid (C5 and S3 x two weight decays x two seeds, 2 models
a cell, 150 epochs) on the local backend (serial, and --jobs 2) and on Ray (a local cluster
of 2 cores; all cells at once, and one at a time), in one process, each into a fresh store.
Per-cell overhead = (wall time - the cells' own time) / cells, the cells' own time being what
each cell measured around its work (result.json ``seconds.total``).

    python bench/sweep_overhead.py [--rounds 2]  ->  bench/results/sweep_overhead.{json,md}
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

from rhoproof.sweep import run_sweep
from rhoproof.sweep.spec import parse

ROOT = Path(__file__).resolve().parent.parent
GRID = {"sweep": {"name": "overhead", "groups": ["C5", "S3"], "weight_decay": [1e-4, 2e-4],
                  "seeds": [0, 1], "models": 2, "epochs": 150, "d_hidden": 24,
                  "d_embed": 24, "train_frac": 0.9}}


def _cells_seconds(store: Path) -> float:
    return sum(json.loads(p.read_text())["seconds"]["total"]
               for p in store.glob("cells/*/result.json"))


def one(mode: str, tmp: Path) -> dict[str, float]:
    import ray

    spec = parse(GRID)
    store = tmp / f"{mode}-{time.monotonic_ns()}"
    init = 0.0
    t0 = time.perf_counter()
    if mode.startswith("ray"):
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR,
                 log_to_driver=False)
        init = time.perf_counter() - t0
        run_sweep(spec, store, backend="ray",
                  max_in_flight=1 if mode == "ray-one-at-a-time" else None)
    else:
        run_sweep(spec, store, jobs=2 if mode == "local-jobs2" else 1)
    wall = time.perf_counter() - t0
    if mode.startswith("ray"):
        ray.shutdown()
    own = _cells_seconds(store)
    n = len(spec.cells)
    return {"wall_s": wall, "cluster_start_s": init, "cells_own_s": own,
            "overhead_per_cell_s": (wall - init - own) / n if mode != "local-jobs2" and
            mode != "ray" else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    modes = ["local", "local-jobs2", "ray", "ray-one-at-a-time"]
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):  # interleaved, so load drifts hit every mode alike
            for m in modes:
                runs[m].append(one(m, Path(tmp)))
    med = {m: {k: (statistics.median(r[k] for r in rs) if rs[0][k] is not None else None)
               for k in rs[0]} for m, rs in runs.items()}
    out = ROOT / "bench" / "results"
    (out / "sweep_overhead.json").write_text(json.dumps(
        {"grid": GRID, "rounds": args.rounds, "runs": runs, "median": med}, indent=2) + "\n")
    base = med["local"]["wall_s"]
    lines = ["# Sweep overhead: local vs Ray (local cluster), same grid, same process", "",
             f"Grid: {len(parse(GRID).cells)} cells (C5, S3 x 2 weight decays x 2 seeds, 2 "
             f"models, 150 epochs); medians of {args.rounds} interleaved rounds on the "
             f"2-core CPU. Overhead per cell: (wall - cluster start - the cells' own "
             f"time) / cells, for the modes that run one cell at a time.", "",
             "| mode | wall s | / local serial | cluster start s | cells' own s | "
             "overhead per cell s |", "|---|---|---|---|---|---|"]
    for m in modes:
        r = med[m]
        per = "-" if r["overhead_per_cell_s"] is None else f"{r['overhead_per_cell_s']:.3f}"
        lines.append(f"| {m} | {r['wall_s']:.2f} | {r['wall_s'] / base:.2f} | "
                     f"{r['cluster_start_s']:.2f} | {r['cells_own_s']:.2f} | {per} |")
    (out / "sweep_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
