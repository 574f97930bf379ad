"""The V_irrep cascade across groups: per stage, the inputs it decided, its counted operations
and its time, against brute force's, and how each grows with |G|.

For each zoo group (S4, A5, S5, A6; |G| = 24, 60, 120, 360) and its first N models (default
20; A6 ships 4), the
certificate in per-output mode "needed" (stages 2-3 only on what stage 1 left: the compact
proof) and "all" (stages 2-3 on every input: the tightest cross-entropy bound). Counts are
multiply-adds and comparisons from the shapes each stage touched (``certificate.ops``); times
are each stage's wall time; brute force is the exact V_brute of the same process. Medians are
over the models certified ≥ 95%. Fits the exponent in |G| of the median counted operations
(log-log least squares). S6 has no zoo models (training with the seed recipe takes hours on
this machine's two cores, and no GPU was lent): it is not in these numbers.
Writes bench/results/certify_scaling.json and .md.
Usage: python bench/certify_scaling.py [--models N] [--groups S4,A5,S5,A6]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import torch

from rhoproof import zoo
from rhoproof.groups import group
from rhoproof.run import versions
from rhoproof.verify.certificate import certify_model
from rhoproof.verify.records import Certificate


def _fit(xs: list[float], ys: list[float]) -> float | None:
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if y > 0]
    if len(pts) < 2:
        return None
    mx = statistics.fmean(p[0] for p in pts)
    my = statistics.fmean(p[1] for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sum((p[0] - mx) ** 2 for p in pts)


def _proof_ops(cert: dict) -> int:
    return Certificate.from_json(cert).proof_ops


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--groups", default="S4,A5,S5,A6")
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    torch.set_num_threads(2)
    t_all = time.perf_counter()
    rows = {}
    for spec in args.groups.split(","):
        n_models = min(args.models, zoo.entry(spec)["models"])  # A6 ships 4
        grp, models = group(spec), zoo.load(spec, n_models)
        n = grp.order
        per_mode = {}
        for mode in ("needed", "all"):
            certs = [certify_model(models, grp, k, "irrep", mode).to_json()
                     for k in range(n_models)]
            good = [c for c in certs if c["accuracy"] >= 0.95] or certs
            names = [s["name"] for s in good[0]["stages"]]
            per_mode[mode] = {
                "models": len(certs), "certified_95": sum(c["accuracy"] >= 0.95 for c in certs),
                "median_ops_over_brute": statistics.median(_proof_ops(c) / c["ops"]["brute"]
                                                           for c in good),
                "median_proof_over_brute_time": statistics.median(
                    c["seconds"]["proof"] / c["brute"]["seconds"] for c in good),
                "median_proof_ops": statistics.median(_proof_ops(c) for c in good),
                "brute_ops": good[0]["ops"]["brute"],
                "median_brute_seconds": statistics.median(c["brute"]["seconds"] for c in good),
                "mean_ce_bound": statistics.fmean(c["cross_entropy"] for c in good),
                "mean_ce_true": statistics.fmean(c["brute"]["cross_entropy"] for c in good),
                "stages": [{
                    "name": name,
                    "mean_inputs": statistics.fmean(c["stages"][j]["inputs"] for c in good),
                    "mean_certified": statistics.fmean(c["stages"][j]["certified"]
                                                       for c in good) / n**2,
                    "median_ops": statistics.median(c["stages"][j]["ops"] for c in good),
                    "median_seconds": statistics.median(c["stages"][j]["seconds"]
                                                        for c in good)}
                    for j, name in enumerate(names)],
                "frontier_median_model": Certificate.from_json(sorted(
                    good, key=lambda c: _proof_ops(c))[len(good) // 2]).frontier,
            }
            print(spec, mode, json.dumps({k: v for k, v in per_mode[mode].items()
                                          if k != "stages"}), flush=True)
        rows[spec] = {"order": n, **per_mode}
    orders = [r["order"] for r in rows.values()]
    fits = {mode: {
        "proof_ops": _fit(orders, [r[mode]["median_proof_ops"] for r in rows.values()]),
        "brute_ops": _fit(orders, [r[mode]["brute_ops"] for r in rows.values()]),
        "stage1_ops": _fit(orders, [r[mode]["stages"][0]["median_ops"] for r in rows.values()])}
        for mode in ("needed", "all")}
    result = {"models_per_group": args.models, "groups": rows, "exponents": fits,
              "seconds": round(time.perf_counter() - t_all, 1), "versions": versions()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "certify_scaling.json").write_text(json.dumps(result, indent=1))
    lines = [f"# V_irrep cascade across groups (up to {args.models} zoo models each, "
             f"{result['seconds']} s)", "",
             "Medians over the models certified ≥ 95%. Counted operations are multiply-adds "
             "and comparisons from the shapes each stage touched; brute force: "
             "|G|²m + |G|³m + |G|³.", "",
             "| group | mode | ≥95% | stage: share of inputs certified (median ops) | proof ops "
             "/ brute | proof time / brute | CE bound (true) |", "|---|---|---|---|---|---|---|"]
    for spec, r in rows.items():
        for mode in ("needed", "all"):
            d = r[mode]
            st = "; ".join(f"{s['name']} {s['mean_certified']:.3f} ({s['median_ops']:.3g})"
                           for s in d["stages"])
            lines.append(f"| {spec} | {mode} | {d['certified_95']}/{d['models']} | {st} | "
                         f"{d['median_ops_over_brute']:.4f} | "
                         f"{d['median_proof_over_brute_time']:.3f} | "
                         f"{d['mean_ce_bound']:.3f} ({d['mean_ce_true']:.3f}) |")
    lines += ["", "Fitted exponents in |G| of the median counted operations: " + "; ".join(
        f"{mode}: proof {f['proof_ops']:.2f}, stage 1 {f['stage1_ops']:.2f}, brute "
        f"{f['brute_ops']:.2f}" for mode, f in fits.items()), ""]
    (out / "certify_scaling.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
