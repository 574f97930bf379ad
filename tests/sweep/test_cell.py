"""A cell preempted by SIGTERM (what a cluster sends) checkpoints, and the next worker to
pick it up resumes it to the same result an uninterrupted cell reaches."""

import json
import signal
import subprocess
import sys
import time

import pytest

from rhoproof.sweep.cell import cell_dir, is_finished, run_cell
from rhoproof.sweep.spec import parse

pytestmark = pytest.mark.slow


def _cell(epochs):
    return parse({"sweep": {"groups": ["S3"], "models": 2, "epochs": epochs, "d_hidden": 16,
                            "d_embed": 16, "checkpoint_every": 50, "eval_every": 1000,
                            "methods": ["brute", "irrep"]}}).cells[0]


def test_a_preempted_cell_resumes_on_the_next_worker(tmp_path):
    cell = _cell(8000)
    code = ("import sys, json; from rhoproof.sweep.cell import run_cell; "
            "run_cell(json.loads(sys.argv[1]), sys.argv[2])")
    worker = subprocess.Popen([sys.executable, "-c", code, json.dumps(cell.to_json()),
                               str(tmp_path)], stderr=subprocess.PIPE, text=True)
    folder = cell_dir(tmp_path, cell.id)
    deadline = time.time() + 120
    while not (folder / "run" / "checkpoint.safetensors").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    worker.send_signal(signal.SIGTERM)  # preempted while training
    _, err = worker.communicate(timeout=120)
    assert worker.returncode != 0 and "TrainingInterrupted" in err
    assert not is_finished(folder) and not (folder / "failed.json").exists()  # not a failure

    preempted = json.loads((folder / "preempted.json").read_text())
    assert "running the sweep again resumes" in preempted[0]["message"]
    assert "--resume" not in preempted[0]["message"]  # train's advice, not the sweep's
    from safetensors import safe_open

    with safe_open(str(folder / "run" / "checkpoint.safetensors"), "pt") as fh:
        before = float(fh.metadata()["elapsed_s"])  # training time up to the preemption
    assert before > 0
    assert run_cell(cell.to_json(), str(tmp_path))["status"] == "done"  # the next worker
    resumed = json.loads((folder / "result.json").read_text())
    assert resumed["epoch"] == 8000
    # issue 19: the cell's training seconds count both attempts, not only the resumed one
    sec = resumed["seconds"]
    from rhoproof.run import read_metrics

    total = read_metrics(folder / "run")[-1]["elapsed_s"]  # train carries time over resumes
    assert sec["train"] == round(total, 3) and total > before
    assert run_cell(cell.to_json(), str(tmp_path))["status"] == "skipped"

    fresh = tmp_path / "fresh"
    assert run_cell(cell.to_json(), str(fresh))["status"] == "done"  # never interrupted
    again = json.loads((cell_dir(fresh, cell.id) / "result.json").read_text())
    from safetensors.torch import load_file

    # bit for bit (the files' hashes may differ: safetensors orders its metadata freely)
    w0, w1 = (load_file(cell_dir(s, cell.id) / "run" / "weights.safetensors")
              for s in (fresh, tmp_path))
    assert w0.keys() == w1.keys() and all(w0[k].equal(w1[k]) for k in w0)
    assert all(
        {k: v for k, v in a.items() if not k.endswith("_s") and "time" not in k} ==
        {k: v for k, v in b.items() if not k.endswith("_s") and "time" not in k}
        for a, b in zip(again["rows"], resumed["rows"]))


def test_a_cell_trained_further_is_not_finished(tmp_path):
    cell = _cell(20)
    assert run_cell(cell.to_json(), str(tmp_path))["status"] == "done"
    folder = cell_dir(tmp_path, cell.id)
    assert is_finished(folder)
    (folder / "run" / "weights.safetensors").write_bytes(b"other weights")
    assert not is_finished(folder)  # result.json no longer matches the weights
