"""How far the zoo's trained models sit from their exact ideals, in the units the proof charges:
the measurement behind ``rhoproof.testing.PLANTED_NOISE``, the default noise of planted models.

For each zoo model V_irrep certifies ≥ 95% (without virtual neurons), against the ideal f* its
certificate uses, with C the circuit neurons, Z the others, N = ‖h*_C(x, y)‖, D = ‖Δℓ_C(x) +
Δr_C(y)‖ (docs/soundness.md §2), each over the ideal's margin M:

* unembedding: median_z ‖(u − u*)_C(z)‖ · median_{x,y} N / M
* distance: median_z ‖u_C(z)‖ · median_{x,y} D / M
* others: median_z ‖u_Z(z)‖ · median_{x,y} ‖ℓ_Z(x) + r_Z(y)‖ / M
* bias: the standard deviation of β − β* (centred) / M

Per group the median over its models; the default is the median of the groups' medians.
Writes bench/results/planted_noise.json and .md.
Usage: python bench/planted_noise.py [--models N] [--groups S4,A5,S5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from rhoproof import zoo
from rhoproof.enclosure import enclose, for_proof
from rhoproof.groups import group
from rhoproof.model import Folded, select_instance
from rhoproof.run import versions
from rhoproof.testing import PLANTED_NOISE
from rhoproof.verify import certificate
from rhoproof.verify.exact_ideal import ExactIdeal

TERMS = ("unembedding", "distance", "others", "bias")


def _terms(f: Folded, ideal: ExactIdeal, margin: float) -> dict[str, float]:
    fh = ideal.folded
    m = f.d_hidden
    live = torch.zeros(m, dtype=torch.bool)
    for c in ideal.proof:
        live[c.neurons] = True
    left, right, u, b = (t[0].double() for t in (f.left, f.right, f.unembed, f.bias))
    lh, rh, uh, bh = (t[0] for t in (fh.left, fh.right, fh.unembed, fh.bias))
    n = torch.relu(lh[:, None, live] + rh[None, :, live]).norm(dim=2).median()
    d = ((left - lh)[:, None, live] + (right - rh)[None, :, live]).norm(dim=2).median()
    z = ~live
    others = u[z].norm(dim=0).median() * (left[:, None, z] + right[None, :, z]).norm(dim=2).median()
    db = b - bh
    return {"unembedding": float((u[live] - uh[live]).norm(dim=0).median() * n / margin),
            "distance": float(u[live].norm(dim=0).median() * d / margin),
            "others": float(others / margin),
            "bias": float((db - db.mean()).std() / margin)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=30)
    ap.add_argument("--groups", default="S4,A5,S5")
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    per_group = {}
    for spec in args.groups.split(","):
        grp = group(spec)
        n = min(args.models, zoo.entry(spec)["models"])
        models = zoo.load(spec, n)
        rows = []
        for k in range(n):
            enc = for_proof(enclose(select_instance(models, k)))
            _, _, best = certificate._irrep_search(enc.center, enc.radius, grp, "needed",
                                                   certificate.SPARSITY_THRESHOLD)
            _, _, ideal, bound, virtual, _ = best
            if bound.accuracy >= 0.95 and not virtual:
                rows.append(_terms(enc.center, ideal, bound.margin))
        per_group[spec] = {"models": n, "measured": len(rows),
                           **{t: statistics.median(r[t] for r in rows) for t in TERMS}}
        print(spec, json.dumps(per_group[spec]), flush=True)
    default = {t: statistics.median(g[t] for g in per_group.values()) for t in TERMS}
    result = {"groups": per_group, "median_of_groups": default, "shipped": PLANTED_NOISE,
              "settings": vars(args), "seconds": round(time.perf_counter() - t0, 1),
              "versions": versions()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "planted_noise.json").write_text(json.dumps(result, indent=1))
    lines = ["# The zoo's distance from its ideals, in the proof's units (× the margin)", "",
             "Per group the median over its models V_irrep certifies ≥ 95% (of the first "
             f"{args.models}); `rhoproof.testing.PLANTED_NOISE` ships the median of the groups' "
             "medians, rounded.", "",
             "| group | models measured | unembedding | distance | others | bias |",
             "|---|---|---|---|---|---|"]
    for spec, g in per_group.items():
        lines.append(f"| {spec} | {g['measured']}/{g['models']} | " +
                     " | ".join(f"{g[t]:.4f}" for t in TERMS) + " |")
    lines += ["| median of groups | | " + " | ".join(f"{default[t]:.4f}" for t in TERMS) +
              " |", "| shipped | | " + " | ".join(f"{PLANTED_NOISE[t]:g}" for t in TERMS) +
              " |", ""]
    (out / "planted_noise.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
