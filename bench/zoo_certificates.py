"""Every shipped zoo model certified with every verifier, each certificate written to disk and
re-checked from the file by the independent checker (weights hash included), as
``rhoproof certify`` and ``rhoproof check`` do.

Writes bench/results/zoo_certificates.json and .md.
Usage: python bench/zoo_certificates.py [--groups S4 A5 S5] [--methods irrep coset brute]
       [--dump DIR] [--compare DIR]

``--dump DIR`` keeps every certificate; ``--compare DIR`` compares each one field by field
with the one kept there, timings and versions aside (the "behaviour stays" check of a
refactor), and exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from rhoproof import zoo
from rhoproof.run import load_run, versions
from rhoproof.verify.certificate import CertificateError, certify, check_certificate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", nargs="+", default=["S4", "A5", "S5"])
    ap.add_argument("--methods", nargs="+", default=["irrep", "coset", "brute"])
    ap.add_argument("--out", default="bench/results")
    ap.add_argument("--dump", type=Path, help="keep every certificate in this folder")
    ap.add_argument("--compare", type=Path, help="compare with the certificates kept here")
    args = ap.parse_args()
    differences: list[str] = []
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
                    path.write_text(json.dumps(certify(run, k, method).to_json()))
                    cert = json.loads(path.read_text())
                    if args.dump:
                        args.dump.mkdir(parents=True, exist_ok=True)
                        (args.dump / path.name).write_text(path.read_text())
                    if args.compare:
                        old = json.loads((args.compare / path.name).read_text())
                        differences += [f"{path.name}: {d}" for d in _diff(old, cert)]
                    try:
                        res = check_certificate(cert, run)
                        accepted += res.certified_inputs >= cert["certified_inputs"]
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
    if args.compare:
        print(f"compared with {args.compare}: {len(differences)} differences")
        fields = Counter(re.sub(r"\[\d+\]", "[]", d.split(": ")[1]) for d in differences)
        for field, n in fields.most_common():
            print(f"  {n} certificates differ in {field}")
        for d in differences[:50]:
            print(" ", d)
        if differences:
            raise SystemExit(1)


_TIMING = re.compile(r"(^|_)(seconds|time|versions|created|over_brute|speedup)($|_)"
                     r"|^(run|weights_sha256)$")


def _diff(old: object, new: object, where: str = "") -> list[str]:
    """Every place where two certificates differ, keys naming timings, versions, the run
    folder (a temporary path) and the weights file's hash aside (safetensors writes the
    metadata keys in a varying order, so two exports of the same weights hash differently)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            if _TIMING.search(key):
                continue
            if key not in old or key not in new:
                out.append(f"{where}/{key}: only in {'new' if key in new else 'old'}")
            else:
                out += _diff(old[key], new[key], f"{where}/{key}")
        return out
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{where}: length {len(old)} -> {len(new)}"]
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in _diff(a, b, f"{where}[{i}]")]
    return [] if old == new else [f"{where}: {old!r} -> {new!r}"]


if __name__ == "__main__":
    main()
