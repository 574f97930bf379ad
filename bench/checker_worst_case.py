"""The checker's work on the worst certificates we can construct, against the honest certificate
for the same model (issue 20: "the checker's time and memory on any certificate are at most a
small constant times those of the honest certificate for the same run").

For S4 and S5 zoo models, each variant is checked in this process (time: best of REPEATS;
memory: tracemalloc's peak, which counts numpy's arrays); accepted or refused, what matters is
the work done before the verdict. Variants, each as large as the checker's caps allow:

* honest: the prover's V_irrep certificate (the baseline);
* top_k: the per-output stage at the cap MAX_TOP_K (the prover uses 24);
* all inputs: per_output "all" (every input through stages 2-3);
* virtual: min(m, the circuits' pairs) virtual neurons on the first circuit (the caps;
  arrays grow with m + v);
* long lists: top_w and stages at their caps, a proof with one circuit per neuron;
* regular ρ-set on B / C: one circuit whose ρ-set is the whole group (n_b or n_c = |G|) on
  |G|/8 neurons under a symmetry, per_output "all";
* brute ties: V_brute on the model with every logit tied (the unembedding's columns equal),
  against V_brute on the model itself: the exact fallback on every input;
* oversize file / lists beyond the caps: refused at once (time only).

Writes bench/results/checker_worst_case.json and .md.
Usage: python bench/checker_worst_case.py [--groups S4 S5] [--models 3]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
import tracemalloc
from pathlib import Path
from typing import Any

import torch

from rhoproof import zoo
from rhoproof.check.parse import MAX_TOP_K
from rhoproof.groups import group
from rhoproof.model import Folded
from rhoproof.run import versions
from rhoproof.testing import regular_rho_set
from rhoproof.verify.certificate import CertificateError, certify_model, check_stored

REPEATS = 3


def _measure(cert: dict[str, Any], model: Folded, grp: Any) -> dict[str, Any]:
    best, peak, verdict = float("inf"), 0, "accepted"
    for _ in range(REPEATS):
        tracemalloc.start()
        t0 = time.perf_counter()
        try:
            check_stored(cert, model, grp)
        except CertificateError as exc:
            verdict = f"refused: {str(exc)[14:90]}"
        best = min(best, time.perf_counter() - t0)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return {"seconds": best, "peak_mb": peak / 2**20, "verdict": verdict}


def _rho(cert: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in cert.get("proof", []) if c["kind"] == "rho_set"), None)


def _variants(cert: dict[str, Any], m: int, g: int) -> dict[str, dict[str, Any]]:
    out = {}
    c = copy.deepcopy(cert)
    c["top_k"] = MAX_TOP_K
    c.pop("top_w", None)
    out["top_k at the cap"] = c
    c = copy.deepcopy(cert)
    c["per_output"] = "all"
    out["per_output all"] = c
    if _rho(cert) is not None:
        c = copy.deepcopy(cert)
        pairs = sum(len(p["alpha"]) * len(p["gamma"]) if p["kind"] == "rho_set" else 4
                    for p in c["proof"])
        have = c.get("virtual_neurons", 0)
        total = min(m, pairs)  # the caps: at most m, at most the circuits' pairs
        rho = _rho(c)
        assert rho is not None
        rho["neurons"] += list(range(m + have, m + total))
        for key, value in (("p", 0), ("q", 0), ("scale", 1.0), ("weight", 1.0)):
            rho[key] += [value] * (total - have)
        c["virtual_neurons"] = total
        out["virtual neurons at the caps"] = c
    for side in ("B", "C"):  # a ρ-set of |G| points (the regular action) on either side
        out[f"regular ρ-set on {side}"] = regular_rho_set(
            group(cert["group"]), side, cert["certified_inputs"], cert["cross_entropy"])
    c = copy.deepcopy(cert)
    if c.get("top_w"):
        c["top_w"] = c["top_w"] * g  # over the cap for one orbit: refused by the orbit check
    c["stages"] = (c.get("stages") or [])[:4]
    out["long top_w"] = c
    return out


def _tied(model: Folded) -> Folded:
    """Every logit tied: each neuron's unembedding constant over the outputs, bias zero."""
    u = model.unembed[:, :, :1].expand(-1, -1, model.unembed.shape[2]).contiguous()
    return Folded(model.left, model.right, u, torch.zeros_like(model.bias))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", nargs="+", default=["S4", "S5"])
    ap.add_argument("--models", type=int, default=3)
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    rows = []
    for spec in args.groups:
        grp = group(spec)
        folded = zoo.load(spec)
        g, m = grp.order, folded.d_hidden
        done = 0
        for k in range(folded.n_instances):  # models whose honest bound is above 0: a bound
            if done == args.models:  # of 0 is checked at once, and would flatter the ratios
                break
            model = Folded(*(t[k:k + 1] for t in folded.tensors().values()))
            honest = certify_model(model, grp, 0).to_json()
            if honest["certified_inputs"] == 0:
                continue
            done += 1
            base = _measure(honest, model, grp)
            rows.append({"group": spec, "model": k, "variant": "honest (V_irrep)", **base,
                         "time_ratio": 1.0, "memory_ratio": 1.0})
            for name, cert in _variants(honest, m, g).items():
                r = _measure(cert, model, grp)
                rows.append({"group": spec, "model": k, "variant": name, **r,
                             "time_ratio": r["seconds"] / base["seconds"],
                             "memory_ratio": r["peak_mb"] / max(base["peak_mb"], 1e-9)})
            brute = _measure(certify_model(model, grp, 0, "brute").to_json(), model, grp)
            tied = _tied(model)
            ties = _measure(certify_model(tied, grp, 0, "brute").to_json(), tied, grp)
            rows.append({"group": spec, "model": k, "variant": "V_brute, every logit tied",
                         **ties, "time_ratio": ties["seconds"] / brute["seconds"],
                         "memory_ratio": ties["peak_mb"] / max(brute["peak_mb"], 1e-9),
                         "baseline": "V_brute on the model itself", "baseline_seconds":
                         brute["seconds"], "baseline_peak_mb": brute["peak_mb"]})
            print(json.dumps(rows[-1]), flush=True)
    worst = max(rows, key=lambda r: r["time_ratio"])
    worst_mem = max(rows, key=lambda r: r["memory_ratio"])
    summary = {"versions": versions(), "cpus": os.cpu_count(), "load": os.getloadavg(),
               "repeats": REPEATS, "rows": rows,
               "worst_time_ratio": worst["time_ratio"], "worst_time_variant": worst["variant"],
               "worst_memory_ratio": worst_mem["memory_ratio"],
               "worst_memory_variant": worst_mem["variant"]}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "checker_worst_case.json").write_text(json.dumps(summary, indent=1) + "\n")
    lines = ["# The checker on the worst certificates we can construct", "",
             f"Load average at the end {tuple(round(x, 2) for x in summary['load'])} on "
             f"{summary['cpus']} CPUs; time is the best of {REPEATS}, memory tracemalloc's "
             f"peak. Ratios are against the honest V_irrep certificate of the same model "
             f"(V_brute ties: against V_brute on the model itself).", "",
             "| group | model | variant | verdict | seconds | peak MB | time × | memory × |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['group']} | {r['model']} | {r['variant']} | {r['verdict']} | "
                     f"{r['seconds']:.3f} | {r['peak_mb']:.1f} | {r['time_ratio']:.2f} | "
                     f"{r['memory_ratio']:.2f} |")
    lines += ["", f"Worst time ratio {summary['worst_time_ratio']:.2f} ({worst['variant']}); "
              f"worst memory ratio {summary['worst_memory_ratio']:.2f} "
              f"({worst_mem['variant']})."]
    (out / "checker_worst_case.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
