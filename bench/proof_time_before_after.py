"""The rigorous paths must not make the common case slow: V_irrep certificates of the S5 zoo,
timed with the code *before* issue 9 (a git ref, imported under another package name) and the
current code, in one process, model by model, alternating which goes first.

Per certificate the prover reports its proof time and the brute-force time (both measured
inside ``certify_model``, in the same call), so each version's proof/brute ratio is against its
own baseline; the before/after ratio of proof times compares the two provers directly.

Writes bench/results/proof_time_before_after.json and .md.
Usage: python bench/proof_time_before_after.py [--before fee838c] [--models 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _import_before(ref: str, where: Path):
    """The package as of ``ref``, importable as ``rhoproof_before``."""
    subprocess.run(f"git -C {ROOT} archive {ref} src/rhoproof | tar -x -C {where}", shell=True,
                   check=True)
    pkg = where / "src" / "rhoproof"
    for py in pkg.rglob("*.py"):
        text = py.read_text()
        text = re.sub(r"\b(from|import) rhoproof(?=[\s.])", r"\1 rhoproof_before", text)
        py.write_text(text)
    pkg.rename(where / "src" / "rhoproof_before")
    sys.path.insert(0, str(where / "src"))
    return importlib.import_module("rhoproof_before")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="fee838c", help="git ref of the code before (fee838c)")
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3, help="min over repeats per model (3)")
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    torch.set_num_threads(2)
    from rhoproof import zoo
    from rhoproof.groups import group
    from rhoproof.run import versions
    from rhoproof.verify.certificate import certify_model

    with tempfile.TemporaryDirectory() as tmp:
        old = _import_before(args.before, Path(tmp))
        old_cert = importlib.import_module("rhoproof_before.verify.certificate")
        old_groups = importlib.import_module("rhoproof_before.groups")
        grp, grp_old = group("S5"), old_groups.group("S5")
        folded = zoo.load("S5", args.models)
        rows = []
        for k in range(args.models):
            runs = {"before": [], "after": []}
            for rep in range(args.repeats):
                order = ("before", "after") if (k + rep) % 2 == 0 else ("after", "before")
                for which in order:
                    if which == "before":
                        c = old_cert.certify_model(folded, grp_old, k, "irrep")
                    else:
                        c = certify_model(folded, grp, k, "irrep").to_json()
                    runs[which].append(c)
            row = {"model": k}
            for which, certs in runs.items():
                proof = min(c["seconds"]["proof"] for c in certs)
                brute = min(c["seconds"]["brute"] for c in certs)
                row[which] = {"proof_s": proof, "brute_s": brute, "ratio": proof / brute,
                              "certified": certs[0]["certified_inputs"],
                              "ce_bound": certs[0]["cross_entropy"]}
            rows.append(row)
            if (k + 1) % 10 == 0:
                print(f"{k + 1} models", flush=True)
        del old

    def med(which: str, key: str) -> float:
        return statistics.median(r[which][key] for r in rows)

    same = sum(r["before"]["certified"] == r["after"]["certified"] for r in rows)
    summary = {
        "models": args.models, "repeats": args.repeats, "before_ref": args.before,
        "median_ratio_before": med("before", "ratio"), "median_ratio_after": med("after", "ratio"),
        "median_proof_s_before": med("before", "proof_s"),
        "median_proof_s_after": med("after", "proof_s"),
        "median_brute_s_before": med("before", "brute_s"),
        "median_brute_s_after": med("after", "brute_s"),
        "median_after_over_before_proof": statistics.median(
            r["after"]["proof_s"] / r["before"]["proof_s"] for r in rows),
        "median_after_proof_over_before_brute": statistics.median(
            r["after"]["proof_s"] / r["before"]["brute_s"] for r in rows),
        "certified_95_before": sum(r["before"]["certified"] >= 0.95 * 14400 for r in rows),
        "certified_95_after": sum(r["after"]["certified"] >= 0.95 * 14400 for r in rows),
        "same_certified_count": same, "threads": torch.get_num_threads(),
        "versions": versions(), "rows": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "proof_time_before_after.json").write_text(json.dumps(summary, indent=1))
    lines = [
        f"# S5 zoo, V_irrep: before ({args.before}) and after issue 9, one process",
        "",
        f"{args.models} models, min of {args.repeats} repeats per model, "
        f"{summary['threads']} threads. The brute force is each version's own (before: float64 "
        "batched; after: float64 enclosures plus exact integers where they overlap).",
        "",
        "| | before | after |", "|---|---|---|",
        f"| median proof/brute | {summary['median_ratio_before']:.2f} | "
        f"{summary['median_ratio_after']:.2f} |",
        f"| median proof time (s) | {summary['median_proof_s_before']:.4f} | "
        f"{summary['median_proof_s_after']:.4f} |",
        f"| median brute-force time (s) | {summary['median_brute_s_before']:.4f} | "
        f"{summary['median_brute_s_after']:.4f} |",
        f"| models certified ≥ 95% | {summary['certified_95_before']} | "
        f"{summary['certified_95_after']} |",
        "",
        f"Median per-model ratio of proof times, after/before: "
        f"{summary['median_after_over_before_proof']:.2f}; the new proof against the old "
        f"(float64, not exact) brute force: {summary['median_after_proof_over_before_brute']:.2f}. "
        f"Certified counts equal in "
        f"{same} of {args.models} models.",
    ]
    (out / "proof_time_before_after.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
