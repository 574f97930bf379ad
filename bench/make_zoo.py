"""Pack trained runs into the model zoo (src/rhoproof/zoo/data): folded float32 weights, a
checksum, the exact config and command, and the training record (loss trajectory, time, final
accuracy, weight norm, and how much the loss and weight norm still moved when a copy of the
run was trained further).

Usage: python bench/make_zoo.py SPEC RUN_DIR "COMMAND" [EXTENDED_RUN_DIR]
EXTENDED_RUN_DIR is a copy of RUN_DIR resumed for more epochs (its weights are not shipped).
"""

from __future__ import annotations

import json
import sys

from rhoproof.evaluate import evaluate
from rhoproof.run import load_run
from rhoproof.zoo import DATA, pack


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _weight_norm(run) -> float:
    """Mean over models of the L2 norm of all weights but the bias (what weight decay acts
    on)."""
    sq = sum((t.detach().double() ** 2).flatten(1).sum(1)
             for n, t in run.model.tensors().items() if n != "unembed_bias")
    return float(sq.sqrt().mean())


def main() -> None:
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    spec, run_dir, command = sys.argv[1:4]
    run = load_run(run_dir)
    assert run.group.spec == spec, (run.group.spec, spec)
    folded = run.model.fold()
    path = DATA / f"{spec}.safetensors"
    digest = pack(folded, path)
    ev = evaluate(folded, run.group)
    metrics = run.metrics
    trajectory = [{"epoch": r["epoch"], "mean_loss_all_pairs": round(_mean(r["loss"]), 6),
                   "min_accuracy": min(r["acc"])}
                  for r in metrics[:: max(1, len(metrics) // 10)] + metrics[-1:]]
    record = {
        "file": path.name, "sha256": digest, "bytes": path.stat().st_size,
        "models": folded.n_instances, "config": run.config.to_dict(), "command": command,
        "epochs": run.epoch, "train_seconds": metrics[-1]["elapsed_s"] if metrics else None,
        "trained_with": run.info.get("versions"), "device": run.info.get("device"),
        "final": {k: round(v, 6) if isinstance(v, float) else v
                  for k, v in ev.summary().items()},
        "weight_norm_mean": round(_weight_norm(run), 4),
        "loss_trajectory": trajectory,
    }
    if len(sys.argv) == 5:
        ext = load_run(sys.argv[4])
        ev_ext = evaluate(ext.model, ext.group)
        record["settling_check"] = {
            "extended_to_epoch": ext.epoch,
            "mean_loss": round(float(ev_ext.loss.mean()), 6),
            "loss_change": round(float(ev_ext.loss.mean() / ev.loss.mean() - 1), 5),
            "weight_norm_mean": round(_weight_norm(ext), 4),
            "weight_norm_change": round(_weight_norm(ext) / _weight_norm(run) - 1, 5),
        }
    index_path = DATA / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    index[spec] = record
    index_path.write_text(json.dumps(index, indent=1) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k != "loss_trajectory"}, indent=1))


if __name__ == "__main__":
    main()
