"""The frontier in reports (issue 23): per-model records, resuming model by model, the budget
table's counts."""

from __future__ import annotations

import json

import pytest

from rhoproof.report.frontier import best_within, budget_counts, frontier_table
from rhoproof.report.pipeline import frontier_run


def test_frontier_run_resumes_model_by_model(s4_run_dir, tmp_path, monkeypatch):
    import rhoproof.verify.certificate as certificate
    from rhoproof.run import load_run

    run = load_run(s4_run_dir)
    stamp = {"weights": "w", "version": "v"}
    first = frontier_run(run, [0], tmp_path, stamp=stamp)
    assert json.loads((tmp_path / "frontier_0.json").read_text())["stamp"] == stamp
    assert (tmp_path / first[0]["points"][0]["certificate"]).exists()

    def boom(*args, **kwargs):
        raise AssertionError("a model done before was computed again")

    monkeypatch.setattr(certificate, "certify_frontier", boom)
    again = frontier_run(run, [0], tmp_path, stamp=stamp)
    assert again[0]["points"] == first[0]["points"]
    with pytest.raises(AssertionError, match="computed again"):  # another stamp: redone
        frontier_run(run, [0], tmp_path, stamp={**stamp, "version": "w"})


def test_budget_counts_use_the_best_point_within_each_budget():
    recs = [{"truth": 1.0, "points": [{"ops_over_brute": 0.05, "accuracy": 0.96}]},
            {"truth": 0.97, "points": [{"ops_over_brute": 0.2, "accuracy": 0.5},
                                       {"ops_over_brute": 0.6, "accuracy": 0.97}]},
            {"truth": 0.9, "points": []}]
    counts = budget_counts(recs, (0.01, 0.1, 0.3, 1.0))
    assert counts == {"0.01": 0, "0.1": 1, "0.3": 1, "1.0": 2}
    assert best_within(recs[2], 1.0) == 0.9 and best_within(recs[2], 0.5) == 0.0
    assert frontier_table([], 3, "S4") == {"instance": 3, "group": "S4", "truth": 0.0,
                                           "true_ce": None, "area": 0.0, "points": []}
