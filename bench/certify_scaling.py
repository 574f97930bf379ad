"""The V_irrep proof across groups: per stage, the inputs it decided, its counted operations
and its wall time, against brute force's, and how each grows with |G|; and the checker's
time on the same certificates.

Two series:

* **zoo** (trained models): S4, A5, S5, A6 (|G| = 24, 60, 120, 360), the first N models of
  each (A6 ships 4), per-output modes "needed" (stages 2–3 only on what stage 1 left: the
  compact proof) and "all" (stages 2–3 on every input: the tightest CE bound).
* **planted** (``rhoproof plant``: an exact ρ-set ideal plus noise at the zoo's level, all of
  width m, default 256): S4, S5, A6, S6 (|G| = 24 … 720); here the width is the same in every
  group, so the fitted exponents in |G| are not confounded by each group's own m.

Timings are ratios measured in this process: for each model, ``rounds`` certificates in a row
(the certificate records the proof's time and brute force's, each measured in the same call),
then the checker ``rounds`` times on the last one (numpy, after the torch work, so the two
libraries' thread pools do not meet); medians over rounds, then over the models certified
≥ 95%. The machine's load average is recorded beside the figures. Counted operations are
multiply-adds and comparisons from the shapes each stage touched; brute force's:
|G|²m + |G|³m + |G|³. Fits: log-log least squares of the medians against |G|. Soundness on
every input of every model (S6's 518,400 included): the certified mask against the exact truth
([E1]: float64 where it decides, integer limbs where it cannot), counted as "certified but
wrong" (must be 0).

Writes bench/results/certify_scaling.json, .md and certify_scaling/proof_vs_brute.png (log-log:
proof and brute force against |G|, counted operations and wall time, planted series).
Usage: python bench/certify_scaling.py [--models N] [--zoo S4,A5,S5,A6] [--planted S4,S5,A6,S6]
       [--planted-models K] [--width M] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from rhoproof import zoo
from rhoproof.evaluate import decide_inputs
from rhoproof.groups import group
from rhoproof.run import versions
from rhoproof.testing import planted_circuits, planted_model
from rhoproof.verify.certificate import certify_model, certify_with_bound, check_stored
from rhoproof.verify.records import Certificate


def _fit(xs: list[float], ys: list[float]) -> float | None:
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if y > 0]
    if len(pts) < 2:
        return None
    mx = statistics.fmean(p[0] for p in pts)
    my = statistics.fmean(p[1] for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sum((p[0] - mx) ** 2 for p in pts)


_TRUTH: dict[tuple[int, int], torch.Tensor] = {}


def _truth(models: Any, grp: Any, k: int) -> torch.Tensor:
    """Which inputs model k gets right, exactly ([E1]: floats where they decide, integer
    limbs where they cannot), on every input; once per model."""
    key = (id(models), k)
    if key not in _TRUTH:
        g = grp.order
        xs = torch.arange(g).repeat_interleave(g)
        ys = torch.arange(g).repeat(g)
        _TRUTH[key] = decide_inputs(models, grp, xs, ys, k)[0].reshape(g, g)
    return _TRUTH[key]


def _measure(models: Any, spec: str, k: int, mode: str, rounds: int) -> dict:
    grp = group(spec)
    certs = [certify_model(models, grp, k, "irrep", mode) for _ in range(rounds - 1)]
    last, bound = certify_with_bound(models, grp, k, "irrep", mode)
    certs.append(last)
    cert = last.to_json()
    # soundness on every input: no input the proof certifies is wrong (exact truth)
    assert bound is not None and bound.certified is not None
    correct = _truth(models, grp, k)
    unsound = int((bound.certified & ~correct).sum())
    check_s = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        check_stored(cert, models, grp)
        check_s.append(time.perf_counter() - t0)
    proof = statistics.median(c.seconds["proof"] for c in certs)
    brute = statistics.median(c.seconds["brute"] for c in certs)
    return {"instance": k, "accuracy": cert["accuracy"], "true_accuracy": cert["brute"]["accuracy"],
            "ce_bound": cert["cross_entropy"], "ce_true": cert["brute"]["cross_entropy"],
            "proof_s": proof, "brute_s": brute, "check_s": statistics.median(check_s),
            "unsound_inputs": unsound, "exact_correct": int(correct.sum()),
            "proof_ops": Certificate.from_json(cert).proof_ops, "brute_ops": cert["ops"]["brute"],
            "stages": [{k2: s[k2] for k2 in ("name", "inputs", "certified", "ops", "seconds")}
                       for s in cert["stages"]]}


def _summary(rows: list[dict], g: int) -> dict:
    good = [r for r in rows if r["accuracy"] >= 0.95] or rows
    med = statistics.median
    names = [s["name"] for s in good[0]["stages"]]
    return {
        "order": g, "models": len(rows), "certified_95": sum(r["accuracy"] >= 0.95 for r in rows),
        "median_ops_over_brute": med(r["proof_ops"] / r["brute_ops"] for r in good),
        "median_time_over_brute": med(r["proof_s"] / r["brute_s"] for r in good),
        "median_check_over_proof": med(r["check_s"] / r["proof_s"] for r in good),
        "median_proof_ops": med(r["proof_ops"] for r in good),
        "brute_ops": good[0]["brute_ops"],
        "median_proof_s": med(r["proof_s"] for r in good),
        "median_brute_s": med(r["brute_s"] for r in good),
        "median_check_s": med(r["check_s"] for r in good),
        "mean_ce_bound": statistics.fmean(r["ce_bound"] for r in good),
        "mean_ce_true": statistics.fmean(r["ce_true"] for r in good),
        "unsound_inputs": sum(r["unsound_inputs"] for r in rows),  # every model, all inputs
        "certified_inputs": sum(round(r["accuracy"] * g**2) for r in rows),
        "stages": [{"name": name,
                    "mean_certified": statistics.fmean(r["stages"][j]["certified"]
                                                       for r in good) / g**2,
                    "median_ops": med(r["stages"][j]["ops"] for r in good),
                    "median_seconds": med(r["stages"][j]["seconds"] for r in good)}
                   for j, name in enumerate(names)],
        "per_model": rows}


def _series(name: str, sources: dict[str, Any], rounds: int) -> dict:
    out: dict[str, Any] = {}
    for spec, models in sources.items():
        g = group(spec).order
        out[spec] = {}
        for mode in ("needed", "all"):
            rows = [_measure(models, spec, k, mode, rounds) for k in range(models.n_instances)]
            out[spec][mode] = _summary(rows, g)
            s = out[spec][mode]
            print(f"{name} {spec} {mode}: {s['certified_95']}/{s['models']} ≥95%, ops "
                  f"{s['median_ops_over_brute']:.4f}, time {s['median_time_over_brute']:.3f}, "
                  f"check/proof {s['median_check_over_proof']:.2f} (proof "
                  f"{s['median_proof_s']:.4f} s, brute {s['median_brute_s']:.3f} s; load "
                  f"{os.getloadavg()[0]:.2f})", flush=True)
    return out


def _fits(series: dict) -> dict:
    fits = {}
    for mode in ("needed", "all"):
        orders = [r[mode]["order"] for r in series.values()]
        fits[mode] = {
            "proof_ops": _fit(orders, [r[mode]["median_proof_ops"] for r in series.values()]),
            "proof_s": _fit(orders, [r[mode]["median_proof_s"] for r in series.values()]),
            "brute_ops": _fit(orders, [r[mode]["brute_ops"] for r in series.values()]),
            "brute_s": _fit(orders, [r[mode]["median_brute_s"] for r in series.values()]),
            "stage1_ops": _fit(orders, [r[mode]["stages"][0]["median_ops"]
                                        for r in series.values()])}
    return fits


def _table(series: dict) -> list[str]:
    lines = ["| group | mode | ≥95% | stage: share of inputs certified (median ops; median s) "
             "| proof / brute, ops | proof / brute, time | check / proof, time | proof s | "
             "brute s | CE bound (true) | certified but wrong (exact, all inputs) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for spec, r in series.items():
        for mode in ("needed", "all"):
            d = r[mode]
            st = "; ".join(f"{s['name']} {s['mean_certified']:.3f} ({s['median_ops']:.3g}; "
                           f"{s['median_seconds']:.2g})" for s in d["stages"])
            lines.append(f"| {spec} | {mode} | {d['certified_95']}/{d['models']} | {st} | "
                         f"{d['median_ops_over_brute']:.4f} | "
                         f"{d['median_time_over_brute']:.3f} | "
                         f"{d['median_check_over_proof']:.2f} | {d['median_proof_s']:.3g} | "
                         f"{d['median_brute_s']:.3g} | "
                         f"{d['mean_ce_bound']:.3f} ({d['mean_ce_true']:.3f}) | "
                         f"{d['unsound_inputs']} of {d['certified_inputs']:,} |")
    return lines


def _figure(series: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    orders = [r["needed"]["order"] for r in series.values()]
    for ax, (key, label) in zip(axes, (("ops", "counted operations"), ("s", "wall time (s)"))):
        for mode, style in (("needed", "o-"), ("all", "s--")):
            ys = [r[mode]["median_proof_ops" if key == "ops" else "median_proof_s"]
                  for r in series.values()]
            ax.plot(orders, ys, style, label=f"proof ({mode})")
        bs = [r["needed"]["brute_ops" if key == "ops" else "median_brute_s"]
              for r in series.values()]
        ax.plot(orders, bs, "k^-", label="brute force")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("|G|")
        ax.set_ylabel(label)
        ax.set_xticks(orders, [f"{s}\n{o}" for s, o in zip(series, orders)])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("V_irrep against brute force, planted models of one width")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=20, help="zoo models per group")
    ap.add_argument("--zoo", default="S4,A5,S5,A6")
    ap.add_argument("--planted", default="S4,S5,A6,S6")
    ap.add_argument("--planted-models", type=int, default=3)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    torch.set_num_threads(2)
    t_all = time.perf_counter()
    load0 = os.getloadavg()
    zoo_src = {spec: zoo.load(spec, min(args.models, zoo.entry(spec)["models"]))
               for spec in args.zoo.split(",") if spec}
    zoo_rows = _series("zoo", zoo_src, args.rounds)
    planted_src = {spec: planted_model(group(spec), args.planted_models, width=args.width,
                                       seed=args.seed)
                   for spec in args.planted.split(",") if spec}
    planted_rows = _series("planted", planted_src, args.rounds)
    result = {
        "zoo": zoo_rows, "planted": planted_rows,
        "planted_circuits": {spec: [n for n, _ in planted_circuits(group(spec), args.width)]
                             for spec in planted_src},
        "exponents": {"zoo": _fits(zoo_rows) if len(zoo_rows) > 1 else None,
                      "planted": _fits(planted_rows) if len(planted_rows) > 1 else None},
        "settings": vars(args), "load_average": {"start": load0, "end": os.getloadavg()},
        "threads": torch.get_num_threads(), "seconds": round(time.perf_counter() - t_all, 1),
        "versions": versions()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "certify_scaling.json").write_text(json.dumps(result, indent=1))
    if len(planted_rows) > 1:
        (out / "certify_scaling").mkdir(exist_ok=True)
        _figure(planted_rows, out / "certify_scaling" / "proof_vs_brute.png")
    lines = [f"# V_irrep across groups ({result['seconds']} s; {result['threads']} threads; "
             f"load average {load0[0]:.2f} at the start, {result['load_average']['end'][0]:.2f} "
             f"at the end)", "",
             "Medians over the models certified ≥ 95% (per model: the median of "
             f"{args.rounds} rounds). Counted operations: multiply-adds and comparisons from the "
             "shapes each stage touched; brute force: |G|²m + |G|³m + |G|³. Times: the "
             "certificate's proof and brute-force seconds, measured in the same call; the "
             "checker's on the same certificate. Certified but wrong: inputs a certificate "
             "counts as certified that the model gets wrong by exact arithmetic ([E1]), over "
             "every input of every model in the row (must be 0).", "",
             f"## Trained models (the zoo, up to {args.models} per group)", "", *_table(zoo_rows),
             "", f"## Planted models (rhoproof plant, width {args.width}, "
             f"{args.planted_models} per group, seed {args.seed})", "", *_table(planted_rows), ""]
    for name, fits in result["exponents"].items():
        if fits:
            lines.append(f"Fitted exponents in |G| ({name}): " + "; ".join(
                f"{mode}: proof ops {f['proof_ops']:.2f}, proof time {f['proof_s']:.2f}, brute "
                f"ops {f['brute_ops']:.2f}, brute time {f['brute_s']:.2f}, stage 1 ops "
                f"{f['stage1_ops']:.2f}" for mode, f in fits.items()))
            lines.append("")
    (out / "certify_scaling.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
