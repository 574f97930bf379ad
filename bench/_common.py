"""Shared command-line handling for the benchmarks that summarize one run directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from rhoproof.run import Run, load_run


def load_run_from_args(doc: str) -> tuple[Run, Path]:
    """Parse ``RUN_DIR [--out DIR]`` and return the loaded run and the output folder."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return load_run(args.run_dir), out
