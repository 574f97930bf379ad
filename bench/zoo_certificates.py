"""Every shipped zoo model certified with every verifier, each certificate written to disk and
re-checked from the file by the independent checker (weights hash included), as
``rhoproof certify`` and ``rhoproof check`` do.

Writes bench/results/zoo_certificates.json and .md.
Usage: python bench/zoo_certificates.py [--groups S4 A5 S5] [--methods irrep coset brute]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rhoproof import zoo
from rhoproof.run import load_run, versions
from rhoproof.verify.certificate import CertificateError, certify, check_certificate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", nargs="+", default=["S4", "A5", "S5"])
    ap.add_argument("--methods", nargs="+", default=["irrep", "coset", "brute"])
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    summary: dict = {"versions": versions(), "groups": {}}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.groups:
            run = load_run(zoo.export(spec, Path(tmp) / spec))
            g2 = run.group.order**2
            per: dict = {}
            for method in args.methods:
                accepted, rejected, bounds, exact, counts, ces = 0, [], [], [], [], []
                for k in range(run.n_instances):
                    path = Path(tmp) / f"{spec}_{method}_{k}.json"
                    path.write_text(json.dumps(certify(run, k, method)))
                    cert = json.loads(path.read_text())
                    try:
                        res = check_certificate(cert, run)
                        accepted += res["certified_inputs"] >= cert["certified_inputs"]
                    except CertificateError as exc:
                        rejected.append(f"{k}: {exc}")
                    bounds.append(cert["accuracy"])
                    counts.append(cert["certified_inputs"])
                    ces.append(cert["cross_entropy"])
                    exact.append(cert["brute"]["accuracy"])
                    assert cert["certified_inputs"] <= round(cert["brute"]["accuracy"] * g2)
                per[method] = {"certificates": run.n_instances, "accepted": accepted,
                               "certified": counts, "ce_bounds": ces,
                               "rejected": rejected, "bound_ge_0.95":
                               sum(b >= 0.95 for b in bounds),
                               "mean_bound": sum(bounds) / len(bounds),
                               "mean_exact_accuracy": sum(exact) / len(exact)}
                print(spec, method, {k: v for k, v in per[method].items()
                                     if k not in ("rejected", "certified", "ce_bounds")},
                      flush=True)
            summary["groups"][spec] = per
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "zoo_certificates.json").write_text(json.dumps(summary, indent=1))
    lines = [f"# Zoo certificates through the checker ({summary['seconds']} s)", "",
             "| group | verifier | certificates | accepted by the checker | bound ≥ 95% | "
             "mean bound | mean exact accuracy |", "|---|---|---|---|---|---|---|"]
    for spec, per in summary["groups"].items():
        for method, v in per.items():
            lines.append(f"| {spec} | {method} | {v['certificates']} | {v['accepted']} | "
                         f"{v['bound_ge_0.95']} | {v['mean_bound']:.4f} | "
                         f"{v['mean_exact_accuracy']:.5f} |")
    (out / "zoo_certificates.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
