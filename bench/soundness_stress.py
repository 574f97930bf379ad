"""Soundness stress test on trained models: random noise on random blocks, sometimes an
adversarial push of one output's unembedding, then V_irrep and V_coset against the truth, and
every certificate through the independent checker (after a JSON round trip).

Writes bench/results/soundness_stress.json and .md.
Usage: python bench/soundness_stress.py RUN_DIR [RUN_DIR ...] [--trials N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch

from rhoproof.model import Folded
from rhoproof.run import load_run, versions
from rhoproof.verify.bounds import brute_bound
from rhoproof.verify.certificate import certify_with_bound, check_stored

NOISE = (0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)
BLOCKS = ("left", "right", "unembed", "bias")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--trials", type=int, default=60, help="perturbed models per run (60)")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    rows, t0 = [], time.perf_counter()
    for path in args.runs:
        run = load_run(path)
        folded = run.model.fold().to(dtype=torch.float64).detach()
        g = run.group
        for _ in range(args.trials):
            k = rng.randrange(run.n_instances)
            noise, which = rng.choice(NOISE), rng.choice(("all", *BLOCKS))
            t = {n: getattr(folded.instance(k), n).clone() for n in BLOCKS}
            for n in t:
                if which in ("all", n):
                    t[n] += noise * t[n].std() * torch.randn_like(t[n])
            push = rng.choice((0.05, 0.2, 1.0)) if rng.random() < 0.3 else 0.0
            if push:  # raise one output's unembedding on every neuron
                t["unembed"][0, :, rng.randrange(g.order)] += push
            f = Folded(*(t[n] for n in BLOCKS))
            truth = brute_bound(f, g)
            for method in ("irrep", "coset"):
                cert, bound = certify_with_bound(f, g, 0, method)
                check_stored(json.loads(json.dumps(cert.to_json())), f, g)  # raises if rejected
                rows.append({"run": path, "model": k, "noise": noise, "block": which,
                             "push": push, "method": method, "bound": bound.accuracy,
                             "accuracy": truth.accuracy, "ce_bound": bound.cross_entropy,
                             "ce": truth.cross_entropy,
                             "sound": bound.accuracy <= truth.accuracy
                             and bound.cross_entropy >= truth.cross_entropy_lower})
    unsound = [r for r in rows if not r["sound"]]
    summary = {"bounds": len(rows), "nonzero": sum(r["bound"] > 0 for r in rows),
               "unsound": len(unsound), "checker_rejections": 0, "seed": args.seed,
               "seconds": round(time.perf_counter() - t0, 1), "versions": versions()}
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "soundness_stress.json").write_text(json.dumps({**summary, "rows": rows}, indent=1)
                                               + "\n")
    text = (f"{summary['bounds']} bounds (V_irrep and V_coset) on perturbed models of "
            f"{', '.join(args.runs)}: {summary['nonzero']} nonzero, {summary['unsound']} above "
            f"the true accuracy or below the true cross-entropy; every certificate accepted "
            f"by the independent checker; {summary['seconds']} s, seed {args.seed}.")
    (out / "soundness_stress.md").write_text(text + "\n")
    print(text)
    if unsound:
        raise SystemExit(f"UNSOUND: {unsound[:3]}")


if __name__ == "__main__":
    main()
