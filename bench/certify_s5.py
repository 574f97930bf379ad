"""V_irrep (work in progress) against V_brute on every model of a run.

Writes bench/results/certify_<group>.json and .md: per model the certified accuracy and CE
bounds, the true ones, the explanation verdict, and wall times of both verifiers measured in
the same process (the proof time excludes the explanation search, which is timed apart).
Usage: python bench/certify_s5.py RUN_DIR
"""

from __future__ import annotations

import json
import statistics

import torch
from _common import load_run_from_args

from rhoproof.run import versions
from rhoproof.verify.certificate import certify_model


def main() -> None:
    run, out = load_run_from_args(__doc__)
    f = run.model.fold().detach().to(dtype=torch.float64)
    grp = run.group
    rows = []
    for k in range(run.n_instances):
        cert = certify_model(f, grp, k)
        sec = cert["seconds"]
        rows.append({"model": k, "verdict": cert["verdict"], "bound": cert["accuracy"],
                     "ce_bound": cert["cross_entropy"], "margin": cert["margin"],
                     "accuracy": cert["brute"]["accuracy"], "ce": cert["brute"]["cross_entropy"],
                     "excluded": cert["excluded"], "search_s": sec["search"],
                     "proof_s": sec["proof"], "brute_s": sec["brute"]})
        assert cert["accuracy"] <= cert["brute"]["accuracy"], f"UNSOUND on model {k}"
    expl = [r for r in rows if r["verdict"] == "explained"]

    def mean(xs: list[float]) -> float | None:
        return sum(xs) / len(xs) if xs else None

    summary = {
        "run": str(run.path), "group": grp.spec, "models": len(rows), "versions": versions(),
        "bound_ge_0.95": sum(r["bound"] >= 0.95 for r in rows),
        "nonzero": sum(r["bound"] > 0 for r in rows),
        "mean_bound_all": mean([r["bound"] for r in rows]),
        "mean_bound_explained": mean([r["bound"] for r in expl]),
        "explained": len(expl),
        "ce_bound_mean_explained": mean([r["ce_bound"] for r in expl]),
        "ce_true_mean": mean([r["ce"] for r in rows]),
        "median_proof_over_brute": statistics.median(r["proof_s"] / r["brute_s"] for r in rows),
        "search_s_total": round(sum(r["search_s"] for r in rows), 2),
        "rows": rows,
    }
    (out / f"certify_{grp.spec}.json").write_text(json.dumps(summary, indent=1) + "\n")
    head = {k: v for k, v in summary.items() if k not in ("rows", "versions")}
    (out / f"certify_{grp.spec}.md").write_text("```\n" + json.dumps(head, indent=2) + "\n```\n")
    print(json.dumps(head, indent=2))


if __name__ == "__main__":
    main()
