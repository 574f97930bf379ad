"""A certificate where brute force cannot go: planted S7 models (|G| = 5040, 25.4 million
inputs), certified, checked, and their soundness checked exactly on a random sample.

For each of K planted models (``rhoproof plant``, width 256): ``rhoproof.certify`` (the
proof; brute force only timed on a few rows of inputs and scaled, since running it in full
would take hours), the independent checker on the written certificate, and the exact truth
([E1], integers where floats cannot decide) on ``--sample`` random inputs: every sampled input
the certificate counts as certified must be truly correct. Also times the steps before the
proof (the group's table, its irreps, planting) and records peak memory.

With bench/results/certify_scaling.json present (its planted series, mode needed, S4 … S6),
also the fitted exponents in |G| of the proof's median counted operations and wall time with
this group added (brute force's from its counted operations).

Writes bench/results/planted_s7.json and .md.
Usage: python bench/planted_s7.py [--models K] [--sample N] [--group S7]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import rhoproof
from rhoproof.check import check_file
from rhoproof.evaluate import decide_inputs
from rhoproof.groups import group
from rhoproof.run import versions
from rhoproof.testing import plant
from rhoproof.verify.bounds import brute_ops
from rhoproof.verify.certificate import bind_to_run, certify_with_bound


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fit(xs: list[float], ys: list[float]) -> float:
    lx, ly = np.log(xs), np.log(ys)
    return float(np.polyfit(lx, ly, 1)[0])


def _exponents(scaling: Path, name: str, g: int, rows: list[dict]) -> dict | None:
    """The planted series' exponents with this group added (None without the other groups)."""
    if not scaling.exists():
        return None
    series = json.loads(scaling.read_text())["planted"]
    groups = [*series, name]
    orders = [r["needed"]["order"] for r in series.values()] + [g]
    med = float(np.median([r["proof_s"] for r in rows]))
    ops = float(np.median([r["ops_over_brute"] * brute_ops(g, 256) for r in rows]))
    return {"groups": groups, "orders": orders,
            "proof_ops": _fit(orders, [r["needed"]["median_proof_ops"] for r in series.values()]
                              + [ops]),
            "proof_s": _fit(orders, [r["needed"]["median_proof_s"] for r in series.values()]
                            + [med]),
            "brute_ops": _fit(orders, [r["needed"]["brute_ops"] for r in series.values()]
                              + [brute_ops(g, 256)])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group", default="S7")
    ap.add_argument("--models", type=int, default=2)
    ap.add_argument("--sample", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    torch.set_num_threads(2)
    t_all = time.perf_counter()
    load0 = os.getloadavg()
    steps = {}
    t0 = time.perf_counter()
    grp = group(args.group)
    steps["group_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    names = [r.name for r in grp.irreps]
    steps["irreps_s"] = time.perf_counter() - t0  # from the disk cache when it is there
    work = Path(tempfile.mkdtemp())
    t0 = time.perf_counter()
    run_dir = plant(args.group, work / "planted", args.models, seed=args.seed)
    steps["plant_s"] = time.perf_counter() - t0
    run = rhoproof.load_run(run_dir)
    g = grp.order
    rng = np.random.default_rng(args.seed)
    rows = []
    for k in range(args.models):
        t0 = time.perf_counter()
        cert, bound = certify_with_bound(run.model, grp, k)
        certify_s = time.perf_counter() - t0
        path = work / f"cert_{k}.json"
        path.write_text(json.dumps(bind_to_run(cert, run).to_json()))
        t0 = time.perf_counter()
        res = check_file(json.loads(path.read_text()), run_dir / "weights.safetensors",
                         grp.table_np, args.group)
        check_s = time.perf_counter() - t0
        assert bound is not None and bound.certified is not None
        flat = torch.from_numpy(rng.choice(g * g, args.sample, replace=False))
        xs, ys = flat // g, flat % g
        t0 = time.perf_counter()
        correct, _ = decide_inputs(run.model, grp, xs, ys, k)
        sample_s = time.perf_counter() - t0
        claimed = bound.certified[xs, ys]
        row = {"instance": k, "accuracy": cert.accuracy, "certified_inputs": cert.certified_inputs,
               "cross_entropy_bound": cert.cross_entropy, "checker_certified": res.certified_inputs,
               "checker_cross_entropy": res.cross_entropy,
               "certify_s": certify_s, "search_s": cert.seconds["search"],
               "proof_s": cert.seconds["proof"], "brute_estimate_s": cert.brute["seconds"],
               "brute_sample": {kk: v for kk, v in cert.brute.items() if kk != "seconds"},
               "proof_over_brute": cert.proof_over_brute, "ops_over_brute": cert.ops_over_brute,
               "check_s": check_s, "stages": [{"name": s.name, "inputs": s.inputs,
                                                "certified": s.certified, "ops": s.ops,
                                                "seconds": s.seconds} for s in cert.stages or ()],
               "sample": {"inputs": args.sample, "certified": int(claimed.sum()),
                          "truly_correct": int(correct.sum()),
                          "certified_but_wrong": int((claimed & ~correct).sum()),
                          "seconds": sample_s}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"group": args.group, "order": g, "irreps": names, "steps": steps,
              "models": rows, "circuits": run.info["planted"]["circuits"],
              "peak_memory_mb": _peak_mb(), "load_average": {"start": load0,
                                                             "end": os.getloadavg()},
              "threads": torch.get_num_threads(), "settings": vars(args),
              "seconds": round(time.perf_counter() - t_all, 1), "versions": versions()}
    out = Path(args.out)
    result["exponents"] = _exponents(out / "certify_scaling.json", args.group, g, rows)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"planted_{args.group.lower()}.json").write_text(json.dumps(result, indent=1))
    lines = [f"# Planted {args.group} models: a certificate where brute force cannot go "
             f"({result['seconds']} s; {result['threads']} threads; load average "
             f"{load0[0]:.2f} at the start; peak memory {result['peak_memory_mb']:.0f} MB)", "",
             f"|G| = {g}, {g * g:,} inputs; circuits {', '.join(result['circuits'])} (width "
             f"256). Before the proof: the group's table {steps['group_s']:.1f} s, its "
             f"{len(names)} irreps {steps['irreps_s']:.1f} s, planting {steps['plant_s']:.1f} "
             "s. Brute force is not run: its time is estimated from "
             f"{rows[0]['brute_sample'].get('sampled_rows')} rows of inputs.", "",
             "| model | certified | CE bound | checker: certified, CE | certify s (search, "
             "proof) | brute force s (estimated) | proof / brute, time | proof / brute, ops | "
             "check s | sample: certified, of them wrong |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['instance']} | {r['accuracy']:.6f} | {r['cross_entropy_bound']:.4f} | "
            f"{r['checker_certified']:,}, {r['checker_cross_entropy']:.4f} | "
            f"{r['certify_s']:.1f} ({r['search_s']:.1f}, {r['proof_s']:.1f}) | "
            f"{r['brute_estimate_s']:.0f} | {r['proof_over_brute']:.5f} | "
            f"{r['ops_over_brute']:.6f} | {r['check_s']:.1f} | "
            f"{r['sample']['certified']:,} of {r['sample']['inputs']:,}, "
            f"{r['sample']['certified_but_wrong']} |")
    lines.append("")
    ex = result["exponents"]
    if ex:
        lines += [f"Fitted exponents in |G| over the planted series {', '.join(ex['groups'])} "
                  f"(mode needed; the others from `certify_scaling.json`): proof counted "
                  f"operations {ex['proof_ops']:.2f}, proof wall time {ex['proof_s']:.2f}, "
                  f"brute force's counted operations {ex['brute_ops']:.2f}.", ""]
    (out / f"planted_{args.group.lower()}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
