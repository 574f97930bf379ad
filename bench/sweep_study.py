"""The study of issue 14, run as a user would: ``rhoproof sweep bench/sweeps/study.toml``
(S4 and A5, three weight decays x two widths, 20 models per cell), then its tables and
figures copied into bench/results/sweep_study/ with a markdown summary.

    python bench/sweep_study.py [--store runs/sweep-study]   # resumes a store in progress
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "sweep_study"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", default=str(ROOT / "runs" / "sweep-study"))
    ap.add_argument("--file", default=str(ROOT / "bench" / "sweeps" / "study.toml"))
    args = ap.parse_args()
    store = Path(args.store)
    subprocess.run([sys.executable, "-m", "rhoproof.cli", "sweep", args.file, "--out",
                    str(store), "--quiet"], check=True)
    OUT.mkdir(parents=True, exist_ok=True)
    for name in ("results.csv", "cells.csv", "results.json", "sweep.json"):
        shutil.copyfile(store / name, OUT / name)
    if (OUT / "figures").exists():
        shutil.rmtree(OUT / "figures")
    shutil.copytree(store / "figures", OUT / "figures")
    table = json.loads((store / "results.json").read_text())
    seconds = {c: json.loads((store / "cells" / c / "result.json").read_text())["seconds"]
               for c in json.loads((store / "sweep.json").read_text())["cells"]}
    lines = ["# Sweep study: S4 and A5, weight decay x width, 20 models per cell", "",
             "`rhoproof sweep bench/sweeps/study.toml` (local backend, one core per cell, "
             "cells one after another on the 2-core CPU). Certified: V_irrep bound >= 95%. "
             "Per-model rows: `results.csv`; per cell: `cells.csv`; figures: `figures/`.", "",
             "| group | m | weight decay | mean accuracy | V_irrep certified >= 95% | "
             "V_irrep mean bound | V_coset mean bound | train s | certify s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for c in table["cells"]:
        s = seconds[c["cell"]]
        lines.append(f"| {c['group']} | {c['d_hidden']} | {c['weight_decay']:g} | "
                     f"{c['mean_accuracy']:.4f} | {round(c['irrep_certified_95'] * c['models'])}"
                     f"/{c['models']} | {c['irrep_mean_bound']:.4f} | "
                     f"{c['coset_mean_bound']:.4f} | {s['train']:.0f} | {s['certify']:.0f} |")
    total = sum(s["total"] for s in seconds.values())
    lines += ["", f"Cell time in all: {total:.0f} s ({total / 60:.1f} min)."]
    (OUT.parent / "sweep_study.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
