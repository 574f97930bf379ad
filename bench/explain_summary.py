"""Summary of ``rhoproof explain`` over every model of a run, for the README and notes.

Writes bench/results/explain_<group>.json (every explanation) and explain_<group>.md
(headline numbers: explained count, reasons, bi-equivariance of random / trained / idealized
models, loss of original vs idealized on explained models, wall time).
Usage: python bench/explain_summary.py RUN_DIR
"""

from __future__ import annotations

import json
import time
from collections import Counter

import torch
from _common import load_run_from_args

from rhoproof.explain.explanation import explain_models
from rhoproof.explain.idealize import bi_equivariance_score
from rhoproof.model import GroupMLP
from rhoproof.run import versions


def main() -> None:
    run, out = load_run_from_args(__doc__)
    t0 = time.perf_counter()
    exps = explain_models(run.model.fold(), run.group, progress=True)
    seconds = time.perf_counter() - t0
    k = run.n_instances
    random = GroupMLP(run.group.order, k, run.config.d_embed, run.config.d_hidden,
                      seed=run.config.seed + 1).fold()
    be_random = bi_equivariance_score(random, run.group)
    explained = [e for e in exps if e.verdict == "explained"]

    def mean(xs: list[float]) -> float | None:
        return sum(xs) / len(xs) if xs else None

    fa = [e.faithfulness for e in exps]
    summary = {
        "run": str(run.path), "group": run.group.spec, "models": k, "versions": versions(),
        "seconds": round(seconds, 2), "explained": len(explained),
        "reasons": dict(Counter(r.split(" (")[0] for e in exps for r in e.reasons)
                        .most_common()),
        "bi_equivariance_mean": {"random": float(be_random.mean()),
                                 "original": mean([f.bi_equivariance["original"]
                                                   for f in fa]),
                                 "idealized": mean([f.bi_equivariance["idealized"]
                                                    for f in fa])},
        "explained_loss_mean": {
            "original": mean([e.faithfulness.loss["original"] for e in explained]),
            "idealized": mean([e.faithfulness.loss["idealized"] for e in explained])},
        "explained_one_minus_r2_median": {
            b: (sorted(e.faithfulness.one_minus_r2[b] for e in explained)
                [len(explained) // 2] if explained else None)
            for b in ("left", "right", "unembed", "bias")},
        "idealized_accuracy_1": sum(f.accuracy["idealized"] == 1.0 for f in fa),
        "explanations": [e.to_dict() for e in exps],
    }
    stem = f"explain_{run.group.spec}"
    (out / f"{stem}.json").write_text(json.dumps(summary, indent=1) + "\n")
    head = {key: v for key, v in summary.items() if key not in ("explanations", "versions")}
    (out / f"{stem}.md").write_text("```\n" + json.dumps(head, indent=2) + "\n```\n")
    print(json.dumps(head, indent=2))


if __name__ == "__main__":
    torch.set_num_threads(torch.get_num_threads())
    main()
