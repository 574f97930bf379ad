"""V_irrep and V_coset against V_brute on every model of a run (S5 by default in the README).

For each model: V_irrep with per-output terms for every input (the tightest CE bound), V_irrep
with them only where needed (same accuracy bound, faster), V_coset, and V_brute, each timed in
the same process (brute force is re-timed beside each proof; each time is the minimum of 3
repeats). Proof times exclude the explanation search, which is reported apart. Asserts
soundness on every model.
Writes bench/results/certify_<group>.json and .md. Usage: python bench/certify_s5.py RUN_DIR
"""

from __future__ import annotations

import json
import statistics

import torch
from _common import load_run_from_args

from rhoproof.run import versions
from rhoproof.verify.certificate import certify_model

REPEATS = 3  # times are the minimum over repeats (the machine is shared and noisy)
VARIANTS = {"irrep (all)": ("irrep", "all"), "irrep (needed)": ("irrep", "needed"),
            "coset": ("coset", "auto")}


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def main() -> None:
    run, out = load_run_from_args(__doc__)
    f = run.model  # the stored weights: folded, or unfolded with the fold enclosed
    grp = run.group
    rows = []
    for k in range(run.n_instances):
        row: dict = {"model": k}
        for name, (method, mode) in VARIANTS.items():
            certs = [certify_model(f, grp, k, method, mode).to_json() for _ in range(REPEATS)]
            cert = certs[0]
            assert all(c["certified_inputs"] == cert["certified_inputs"] for c in certs)
            sec = {key: min(c["seconds"][key] for c in certs)
                   for key in ("proof", "brute", "search")}
            assert cert["accuracy"] <= cert["brute"]["accuracy"], f"UNSOUND: {name}, model {k}"
            assert cert["cross_entropy"] >= cert["brute"]["cross_entropy_lower"], \
                f"UNSOUND CE {k}"
            row[name] = {"bound": cert["accuracy"], "ce_bound": cert["cross_entropy"],
                         "margin": cert["margin"], "proof_s": sec["proof"],
                         "brute_s": sec["brute"], "search_s": sec["search"]}
            if method == "irrep":
                row.update(verdict=cert["verdict"], excluded=cert["excluded"])
            row.update(accuracy=cert["brute"]["accuracy"], ce=cert["brute"]["cross_entropy"])
        rows.append(row)
    expl = [r for r in rows if r["verdict"] == "explained"]
    summary: dict = {"run": str(run.path), "group": grp.spec, "models": len(rows),
                     "explained": len(expl), "ce_true_mean": _mean([r["ce"] for r in rows]),
                     "versions": versions(), "threads": torch.get_num_threads(),
                     "verifiers": {}}
    for name in VARIANTS:
        b = [r[name]["bound"] for r in rows]
        summary["verifiers"][name] = {
            "bound_ge_0.95": sum(x >= 0.95 for x in b), "nonzero": sum(x > 0 for x in b),
            "mean_bound_all": _mean(b),
            "mean_bound_explained": _mean([r[name]["bound"] for r in expl]),
            "ce_bound_mean_explained": _mean([r[name]["ce_bound"] for r in expl]),
            "median_proof_over_brute": statistics.median(
                r[name]["proof_s"] / r[name]["brute_s"] for r in rows),
            "proof_s_total": sum(r[name]["proof_s"] for r in rows),
            "brute_s_total": sum(r[name]["brute_s"] for r in rows),
            "search_s_total": sum(r[name]["search_s"] for r in rows)}
    summary["rows"] = rows
    (out / f"certify_{grp.spec}.json").write_text(json.dumps(summary, indent=1) + "\n")
    lines = [f"{grp.spec}: {len(rows)} models of `{run.path}`, {len(expl)} explained; true "
             f"mean CE {summary['ce_true_mean']:.4f}; CPU, {torch.get_num_threads()} threads",
             "", "| verifier | models ≥ 95% | mean bound (all) | mean bound (explained) | "
             "CE bound (explained) | median proof/brute | proof s total | brute s total |",
             "|---|---|---|---|---|---|---|---|"]
    for name, v in summary["verifiers"].items():
        expl_b = v["mean_bound_explained"]
        ce_b = v["ce_bound_mean_explained"]
        lines.append(
            f"| {name} | {v['bound_ge_0.95']} | {v['mean_bound_all']:.4f} | "
            f"{'-' if expl_b is None else f'{expl_b:.4f}'} | "
            f"{'-' if ce_b is None else f'{ce_b:.3g}'} | {v['median_proof_over_brute']:.2f} | "
            f"{v['proof_s_total']:.2f} | {v['brute_s_total']:.2f} |")
    (out / f"certify_{grp.spec}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
