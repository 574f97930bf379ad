"""Summarize how long a training run took to reach 100% accuracy on all pairs.

Reads RUN_DIR/metrics.jsonl (written by ``rhoproof train``) and reports, per evaluation, the
mean and minimum accuracy and how many models are at 100%, plus the first epoch (and elapsed
seconds) at which each model, and every model, reached 100%. Writes
bench/results/time_to_perfect_<group>.json and .md.
Usage: python bench/time_to_perfect.py RUN_DIR
"""

from __future__ import annotations

import json
import statistics

from _common import load_run_from_args


def main() -> None:
    run, out = load_run_from_args(__doc__)
    recs = run.metrics
    k = run.n_instances
    first: dict[int, tuple[int, float]] = {}
    for r in recs:
        for i, a in enumerate(r["acc"]):
            if a == 1.0 and i not in first:
                first[i] = (r["epoch"], r["elapsed_s"])
    every = next(((r["epoch"], r["elapsed_s"]) for r in recs if min(r["acc"]) == 1.0), None)
    last = recs[-1]
    summary = {
        "group": run.group.spec, "instances": k, "config": run.config.to_dict(),
        "device": run.info.get("device"), "versions": run.info.get("versions"),
        "epochs": last["epoch"], "elapsed_s": last["elapsed_s"],
        "every_model_at_100pct": ({"epoch": every[0], "elapsed_s": every[1]} if every else None),
        "models_ever_at_100pct": len(first),
        "median_first_epoch_at_100pct": statistics.median(e for e, _ in first.values())
        if first else None,
        "last_first_epoch_at_100pct": max((e for e, _ in first.values()), default=None),
        "final_at_100pct": sum(a == 1.0 for a in last["acc"]),
        "final_min_accuracy": min(last["acc"]),
        "never_at_100pct": sorted(set(range(k)) - set(first)),
        "trajectory": [{"epoch": r["epoch"], "elapsed_s": r["elapsed_s"],
                        "mean_acc": sum(r["acc"]) / k, "min_acc": min(r["acc"]),
                        "n_at_100pct": sum(a == 1.0 for a in r["acc"])} for r in recs],
    }
    name = f"time_to_perfect_{run.group.spec}"
    (out / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [f"{run.group.spec}, {k} models, seed {run.config.seed}, device {summary['device']}",
             "", "| epoch | elapsed (s) | mean acc | min acc | models at 100% |",
             "|---|---|---|---|---|"]
    for t in summary["trajectory"]:
        if t["epoch"] % 100 == 0 or t is summary["trajectory"][-1]:
            lines.append(f"| {t['epoch']} | {t['elapsed_s']:.0f} | {t['mean_acc']:.5f} | "
                         f"{t['min_acc']:.5f} | {t['n_at_100pct']} |")
    lines.append("")
    lines.append(f"every model at 100% at once: {summary['every_model_at_100pct']}; models that "
                 f"ever reached 100%: {len(first)}/{k} (last at epoch "
                 f"{summary['last_first_epoch_at_100pct']}); never: {summary['never_at_100pct']}")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
