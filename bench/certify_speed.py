"""Proof time against brute-force time across groups, and how each grows with |G|.

For S4, A5, S5 and S6 (|G| = 24, 60, 120, 720), one model with d_e = m = 128 and random
weights: the time of V_irrep's checked part (building the exact ideal and the per-input bound)
and of V_brute (exact tensorized evaluation), medians of 3, in one process on one device.
V_irrep is timed with per-output terms for every input ("all"): then its cost does not depend
on the weights, so random weights time it fairly. Mode "needed" skips inputs by their values;
on random weights every input is hopeless, so its time here is a best case, shown apart. The
ideal has no circuits, so circuit building (O(|G| m) per circuit) is not in these numbers.
For comparison with the seed paper, whose brute force was a Python loop over inputs, that
loop is timed too (one run).
Fits the exponent of each cost in |G| (log-log least squares). Writes
bench/results/certify_speed.json and .md. Usage: python bench/certify_speed.py
"""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path

import torch

from rhoproof.groups import group
from rhoproof.model import GroupMLP
from rhoproof.run import versions
from rhoproof.verify import brute_bound, exact_ideal, irrep_bound


def _median_time(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def loop_brute(f, g) -> float:
    """The paper's baseline: a Python loop over the |G|² inputs, one forward pass each
    (folded weights, float64); returns the accuracy."""
    left, right, u, b = f.left[0], f.right[0], f.unembed[0], f.bias[0]
    table = g.table.tolist()
    correct = 0
    for x in range(g.order):
        for y in range(g.order):
            logits = torch.relu(left[x] + right[y]) @ u + b
            correct += int(int(logits.argmax()) == table[x][y])
    return correct / g.order**2


def main() -> None:
    rows = []
    for spec in ("S4", "A5", "S5", "S6"):
        g = group(spec)
        f = GroupMLP(g.order, 1, 128, 128, seed=0).fold().detach().to(dtype=torch.float64)

        def proof(g=g, f=f, mode: str = "all") -> None:
            ideal = exact_ideal(g, f.d_hidden, [], f.bias[0])
            irrep_bound(f, ideal, g, per_output=mode)

        proof()  # warm-up
        brute_bound(f, g)
        tp = _median_time(proof)
        tn = _median_time(lambda: proof(mode="needed"))
        tb = _median_time(lambda g=g, f=f: brute_bound(f, g))
        tl = _median_time(lambda g=g, f=f: loop_brute(f, g), repeats=1)
        rows.append({"group": spec, "order": g.order, "proof_s": tp, "brute_s": tb,
                     "ratio": tp / tb, "proof_needed_s": tn, "loop_brute_s": tl,
                     "ratio_vs_loop": tp / tl})
        print(f"{spec:>3} |G|={g.order:4d}  proof {tp:.4f} s  brute {tb:.4f} s  "
              f"ratio {tp / tb:.2f}  (needed-only, best case: {tn:.4f} s; Python-loop brute "
              f"force {tl:.2f} s)", flush=True)
    orders = [r["order"] for r in rows]
    fit = {"proof_exponent": _slope(orders, [r["proof_s"] for r in rows]),
           "brute_exponent": _slope(orders, [r["brute_s"] for r in rows])}
    result = {"benchmark": "certify_speed", "m": 128, "device": "cpu",
              "threads": torch.get_num_threads(), "versions": versions(), "rows": rows, **fit}
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "certify_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["| group | \\|G\\| | proof (s) | brute force (s) | proof / brute | "
             "proof, needed-only (best case, s) | Python-loop brute force (s) | "
             "proof / loop |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['group']} | {r['order']} | {r['proof_s']:.4f} | {r['brute_s']:.4f} | "
              f"{r['ratio']:.2f} | {r['proof_needed_s']:.4f} | {r['loop_brute_s']:.2f} | "
              f"{r['ratio_vs_loop']:.4f} |" for r in rows]
    lines += ["", f"fitted exponent in |G|: proof {fit['proof_exponent']:.2f}, brute force "
              f"{fit['brute_exponent']:.2f} (CPU, {torch.get_num_threads()} threads)"]
    (out / "certify_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
