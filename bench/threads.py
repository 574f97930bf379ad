"""Thread policy: training, explanation and certification at 1 and 2 torch threads, on an idle
machine and with one busy competing process per core but one (a Python spin loop), measured
in one process, best of 3 repeats each.

Writes bench/results/threads.json and .md.
Usage: python bench/threads.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time
from pathlib import Path

import torch

from rhoproof import zoo
from rhoproof.config import TrainConfig
from rhoproof.explain.explanation import explain_models
from rhoproof.groups import group
from rhoproof.run import versions
from rhoproof.train import train
from rhoproof.verify.certificate import certify_model


def _spin(stop: float) -> None:
    while time.time() < stop:
        pass


def _tasks() -> dict:
    g = group("S5")
    f = zoo.load("S5", 4)
    cfg = TrainConfig(group="S5", n_instances=8, epochs=30, eval_every=30)
    return {
        "train (8 S5 models, 30 epochs)": lambda: train(cfg, progress=False),
        "explain (4 S5 zoo models)": lambda: explain_models(f, g),
        "certify (4 S5 zoo models, V_irrep)": lambda: [certify_model(f, g, k) for k in range(4)],
    }


def _time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    tasks = _tasks()
    for fn in tasks.values():  # warm up (imports, caches)
        fn()
    rows = []
    for load in ("idle", "loaded"):
        hogs = []
        if load == "loaded":  # a competing busy process on all cores but one
            stop = time.time() + 3600
            hogs = [mp.Process(target=_spin, args=(stop,), daemon=True)
                    for _ in range(max(1, cores - 1))]
            for h in hogs:
                h.start()
            time.sleep(0.5)
        for name, fn in tasks.items():
            times = {}
            for threads in (1, 2):
                torch.set_num_threads(threads)
                times[threads] = _time(fn, args.repeats)
            rows.append({"load": load, "task": name, "t1": times[1], "t2": times[2],
                         "t2_over_t1": times[2] / times[1]})
            print(rows[-1], flush=True)
        for h in hogs:
            h.terminate()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"versions": versions(), "cores": cores, "repeats": args.repeats, "rows": rows}
    (out / "threads.json").write_text(json.dumps(summary, indent=1))
    lines = [f"# Thread policy ({cores} cores; best of {args.repeats}; 'loaded': "
             f"{max(1, cores - 1)} busy competing process(es))", "",
             "| machine | task | 1 thread (s) | 2 threads (s) | 2 / 1 |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['load']} | {r['task']} | {r['t1']:.3f} | {r['t2']:.3f} | "
                     f"{r['t2_over_t1']:.2f} |")
    (out / "threads.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
