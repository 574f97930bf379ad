"""V_fourier on the S5 zoo models V_irrep certifies below 0.95 (bench/results/coverage.json):
what the low-rank split gives them, at what counted cost (a data point for issue 23)."""
import json, time, statistics, torch
from rhoproof import zoo, group
from rhoproof.verify.certificate import certify_model
torch.set_num_threads(2)
cov = json.load(open("bench/results/coverage.json"))["groups"]["S5"]
failing = [k for k, b in enumerate(cov["bounds"]) if b < 0.95]
G = group("S5"); f = zoo.load("S5")
out = []
t0 = time.perf_counter()
for k in failing:
    c = certify_model(f, G, k, "fourier")
    out.append((k, cov["bounds"][k], c.accuracy, c.ops_over_brute, c.fourier.irreps))
print(len(failing), "models below 0.95 by V_irrep;", round(time.perf_counter() - t0), "s")
print("V_fourier >= 0.95 on", sum(a >= 0.95 for _, _, a, _, _ in out),
      "; mean", round(statistics.fmean(a for _, _, a, _, _ in out), 3),
      "; median ops over those", round(statistics.median([o for _, _, a, o, _ in out if a > 0] or [0]), 3))
for row in out[:12]:
    print(row)
