"""V_fourier on the complex-type zoos: before (V_irrep) and after (V_fourier), every model.

For each group: every zoo model (or a run's) certified by V_irrep and by V_fourier, each
V_fourier certificate re-checked by the independent checker, against V_brute's exact
accuracy; the counted operations of the kept split over brute force's; and, for model 0, the
bound-versus-cost frontier of the search's ladder. Writes bench/results/fourier_zoo.json and
.md. One thread. Usage:
python bench/fourier_zoo.py [--groups C59 C113 Dic30] [--run SPEC=RUN_DIR ...] [--models N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

from rhoproof import group, zoo
from rhoproof.enclosure import enclose, for_proof
from rhoproof.run import load_run, versions
from rhoproof.verify.certificate import brute_ops, certify_model, check_stored
from rhoproof.verify.lowrank import LADDER, fit, lowrank_bound, strongest_irreps


def frontier(model, grp) -> list[dict]:
    """Model 0: every rung of the ladder, (irreps, exact) → certified fraction, ops/brute."""
    enc = for_proof(enclose(model))  # folded or not: the enclosure of the real model
    f = enc.center.instance(0)
    radius = None if enc.radius is None else enc.radius.instance(0)
    u = f.unembed[0].double()
    n_irreps = len(grp.irreps) - 1
    brute = brute_ops(grp.order, f.d_hidden)
    out = []
    for count, n_exact in ((2, 0), (4, 0), (6, 0), *LADDER, (20, 16), (20, 32)):
        names = strongest_irreps(u, grp, min(count, n_irreps))
        b = lowrank_bound(f, grp, fit(u, grp, names, n_exact), radius)
        out.append({"irreps": len(names), "exact": n_exact, "bound": b.accuracy,
                    "ops_over_brute": b.ops / brute})
    return out


def frontier_figure(results: list[dict], path: Path) -> None:
    """Model 0 of each group: certified fraction against counted operations / brute force's,
    one point per split (irreps kept, exact neurons)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in results:
        pts = sorted(r["frontier_model_0"], key=lambda p: p["ops_over_brute"])
        ax.plot([p["ops_over_brute"] for p in pts], [p["bound"] for p in pts], "-o", ms=3,
                label=r["group"])
    ax.axvline(0.25, color="0.6", ls=":", lw=0.8, label="issue 22's cost target")
    ax.axhline(0.95, color="tab:green", ls="--", lw=0.8)
    ax.set_xlabel("counted operations / brute force's")
    ax.set_ylabel("certified fraction of the |G|² inputs")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title("V_fourier, model 0 of each group: bound against cost, split by split")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def one_group(spec: str, model, grp, n: int) -> dict:
    rows = []
    for k in range(n):
        t0 = time.perf_counter()
        before = certify_model(model, grp, k, "irrep")
        t1 = time.perf_counter()
        cert = certify_model(model, grp, k, "fourier")
        t2 = time.perf_counter()
        checked = check_stored(cert, model, grp)
        t3 = time.perf_counter()
        rows.append({"model": k, "accuracy": cert.brute["accuracy"],
                     "irrep": before.accuracy, "fourier": cert.accuracy,
                     "fourier_checked": checked.accuracy, "fourier_ce": cert.cross_entropy,
                     "true_ce": cert.brute["cross_entropy"],
                     "ops_over_brute": cert.ops_over_brute, "verdict": cert.verdict,
                     "proof_s": cert.seconds["proof"], "brute_s": cert.brute["seconds"],
                     "irrep_s": t1 - t0, "fourier_s": t2 - t1, "check_s": t3 - t2})
        print(spec, k, f"{before.accuracy:.3f} -> {cert.accuracy:.4f}",
              f"ops {cert.ops_over_brute:.3f}", flush=True)
    med = statistics.median
    return {
        "group": spec, "models": n,
        "irrep_ge_0.95": sum(r["irrep"] >= 0.95 for r in rows),
        "irrep_mean": statistics.fmean(r["irrep"] for r in rows),
        "fourier_ge_0.95": sum(r["fourier"] >= 0.95 for r in rows),
        "fourier_mean": statistics.fmean(r["fourier"] for r in rows),
        "fourier_all_checked": all(r["fourier_checked"] >= r["fourier"] for r in rows),
        "never_above_truth": all(r["fourier"] <= r["accuracy"] for r in rows),
        # over the models V_fourier certifies something on (None: none)
        "median_ops_over_brute": med([r["ops_over_brute"] for r in rows if r["fourier"] > 0]
                                     or [None]),
        "median_proof_over_brute_seconds": med(r["proof_s"] / r["brute_s"] for r in rows),
        "median_ce_bound": med(r["fourier_ce"] for r in rows),
        "median_true_ce": med(r["true_ce"] for r in rows),
        "frontier_model_0": frontier(model, grp),
        "rows": rows}


def _ops(v: float | None) -> str:
    return "– (bound 0)" if v is None else f"{v:.2f}"


def write(results: list[dict], out: Path) -> None:
    """bench/results/fourier_zoo.json, .md and the frontier figure, from the groups done."""
    out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    summary = {"versions": versions(), "threads": 1, "load_average": load,
               "ladder": LADDER, "groups": results}
    (out / "fourier_zoo.json").write_text(json.dumps(summary, indent=1) + "\n")
    lines = ["| group | models | V_irrep ≥ 95% | V_irrep mean | V_fourier ≥ 95% | "
             "V_fourier mean | V_fourier median ops / brute | V_fourier median CE bound "
             "(true CE) | checked |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r['group']} | {r['models']} | {r['irrep_ge_0.95']} | {r['irrep_mean']:.3f} | "
            f"{r['fourier_ge_0.95']} | {r['fourier_mean']:.3f} | "
            f"{_ops(r['median_ops_over_brute'])} | {r['median_ce_bound']:.2f} "
            f"({r['median_true_ce']:.3f}) | {'all' if r['fourier_all_checked'] else 'NO'} |")
    lines += ["", "Frontier of model 0 (the search's ladder and beyond): irreps kept, exact "
              "neurons → certified fraction at counted operations over brute force's.", ""]
    for r in results:
        pts = ", ".join(f"({p['irreps']}, {p['exact']}) {p['bound']:.3f} @ "
                        f"{p['ops_over_brute']:.2f}" for p in r["frontier_model_0"])
        lines.append(f"- {r['group']}: {pts}")
    lines += ["", f"One thread; load average at the end {load[0]:.2f} / {load[1]:.2f} / "
              f"{load[2]:.2f} (2 cores)."]
    frontier_figure(results, out / "fourier_zoo" / "frontier.png")
    (out / "fourier_zoo.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", nargs="*", default=["C59", "C113", "Dic30"])
    ap.add_argument("--run", nargs="*", default=[], help="SPEC=RUN_DIR: a run's models")
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = []
    for spec in args.groups:
        model = zoo.load(spec, n_models=args.models)
        results.append(one_group(spec, model, group(spec), model.n_instances))
        write(results, Path(args.out))  # after each group: an interrupted run keeps its rows
    for item in args.run:
        label, path = item.split("=", 1)
        run = load_run(path)
        n = min(args.models, run.n_instances)
        results.append(one_group(label, run.model, run.group, n))
        write(results, Path(args.out))
    write(results, Path(args.out))


if __name__ == "__main__":
    main()
