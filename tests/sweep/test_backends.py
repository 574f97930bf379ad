"""Sweeps end to end on both backends, with the real engine: a real local Ray instance (two
workers) runs the same small grid as the local backend and gives the same results table; a
cell whose group is not a group is recorded as failed while the others finish; a sweep
killed halfway completes on rerun without redoing finished cells."""

import csv
import json
import signal
import subprocess
import sys
import time

import pytest

from rhoproof.cli import main
from rhoproof.sweep import run_sweep
from rhoproof.sweep.store import TIMING

pytestmark = pytest.mark.slow


def _grid(tmp_path) -> str:
    bad = tmp_path / "not_a_group.json"  # no identity: passes the spec grammar, fails to build
    bad.write_text(json.dumps({"elements": ["a", "b"], "table": [[1, 0], [1, 0]]}))
    path = tmp_path / "grid.toml"
    path.write_text(f"""
[sweep]
name = "small"
groups = ["C5", "S3", "table:{bad}"]
weight_decay = [1e-4, 2e-4]
seeds = [0, 1]
models = 2
epochs = 150
d_hidden = 24
d_embed = 24
train_frac = 0.9
""")
    return str(path)


def _table(store, timing=False):
    with open(store / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    return [{k: v for k, v in r.items() if timing or k not in TIMING} for r in rows]


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    grid = _grid(tmp)
    table = run_sweep(grid, tmp / "local")
    return grid, tmp, table


def test_the_local_backend_runs_the_grid_and_records_the_failed_cells(local_sweep):
    _, tmp, table = local_sweep
    status = [c["status"] for c in table["cells"]]
    assert len(status) == 12 and status.count("done") == 8 and status.count("failed") == 4
    failed = [c for c in table["cells"] if c["status"] == "failed"]
    assert all(c["group"].startswith("table:") and "identity" in c["error"] for c in failed)
    rows = _table(tmp / "local")
    assert len(rows) == 8 * 2
    for r in rows:  # every bound is sound: never above the model's exact accuracy
        acc = float(r["accuracy"])
        assert float(r["irrep_bound"]) <= acc and float(r["coset_bound"]) <= acc
        assert float(r["brute_bound"]) == acc
    assert {r["group"] for r in rows} == {"C5", "S3"}
    assert (tmp / "local" / "figures" / "weight_decay.png").stat().st_size > 0
    results = json.loads((tmp / "local" / "results.json").read_text())
    assert results["swept"] == ["group", "seed", "weight_decay"]
    with open(tmp / "local" / "cells.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 12


def test_ray_gives_the_same_results_table(local_sweep):
    """A real local Ray instance with two worker cores (one task per cell)."""
    grid, tmp, _ = local_sweep
    table = run_sweep(grid, tmp / "ray", backend="ray", num_cpus=2)
    assert [c["status"] for c in table["cells"]].count("done") == 8
    assert _table(tmp / "ray") == _table(tmp / "local")
    hosts = {json.loads((tmp / "ray" / "cells" / c["cell"] / "result.json").read_text())
             ["worker"]["pid"] for c in table["cells"] if c["status"] == "done"}
    assert len(hosts) >= 2  # ran in Ray's worker processes, not in this one


def test_a_rerun_skips_finished_cells_and_retries_failed_ones(local_sweep, capsys):
    grid, tmp, _ = local_sweep
    store = tmp / "local"
    before = {p: p.stat().st_mtime_ns for p in store.glob("cells/*/result.json")}
    assert main(["sweep", grid, "--out", str(store), "--quiet"]) == 2  # 4 cells still fail
    out, err = capsys.readouterr()
    assert "12 cells, 8 finished before, 4 to run" in out
    assert err.startswith("rhoproof: error: 4 of 12 cells failed") and err.count("\n") == 1
    assert {p: p.stat().st_mtime_ns for p in store.glob("cells/*/result.json")} == before
    assert main(["sweep-report", str(store)]) == 0
    assert "8 cells done, 4 failed, 0 pending" in capsys.readouterr().out


def test_a_sweep_killed_halfway_completes_on_rerun(tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text('[sweep]\ngroups = ["C5", "S3", "C6"]\nmodels = 2\nepochs = 6000\n'
                    'd_hidden = 16\nd_embed = 16\ncheckpoint_every = 100\neval_every = 500\n'
                    'methods = ["brute"]\n')
    store = tmp_path / "s"
    cmd = [sys.executable, "-m", "rhoproof.cli", "sweep", str(grid), "--out", str(store),
           "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:  # one cell finished, the next one training
        done = list(store.glob("cells/*/result.json"))
        training = [p for p in store.glob("cells/*/run/checkpoint.safetensors")
                    if not (p.parent.parent / "result.json").exists()]
        if done and training:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the sweep did not get to its second cell")
    first = {p: p.stat().st_mtime_ns for p in done}
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert err.strip().splitlines()[-1].startswith("rhoproof: error: ") and \
        "rerun the same command" in err
    assert not (store / "sweep.lock").exists()
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"3 cells, {len(first)} finished before" in rerun.stdout
    assert {p: p.stat().st_mtime_ns for p in first} == first  # not redone
    assert len(list(store.glob("cells/*/result.json"))) == 3


def test_a_pool_of_local_processes_gives_the_same_results_table(local_sweep):
    grid, tmp, _ = local_sweep
    table = run_sweep(grid, tmp / "jobs", jobs=2)
    assert [c["status"] for c in table["cells"]].count("done") == 8
    assert _table(tmp / "jobs") == _table(tmp / "local")


def test_ray_reruns_a_preempted_cell_which_resumes_from_its_checkpoint(tmp_path):
    """SIGTERM to the Ray worker process running a cell (what a cluster sends before it
    reclaims a node): the cell checkpoints, Ray runs it again, it resumes, and it ends with
    the weights of a cell never interrupted."""
    import os
    import threading
    from pathlib import Path

    from safetensors.torch import load_file

    grid = tmp_path / "g.toml"
    grid.write_text('[sweep]\ngroups = ["S3"]\nmodels = 2\nepochs = 6000\nd_hidden = 16\n'
                    'd_embed = 16\ncheckpoint_every = 100\neval_every = 1000\n'
                    'methods = ["brute"]\n')
    store = tmp_path / "ray"
    killed: list[int] = []

    def preempt() -> None:
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            if list(store.glob("cells/*/run/checkpoint.safetensors")):
                for proc in Path("/proc").iterdir():
                    try:
                        cmd = (proc / "cmdline").read_bytes()
                    except OSError:
                        continue
                    if cmd.startswith(b"ray::rhoproof-cell-"):
                        time.sleep(0.3)
                        os.kill(int(proc.name), signal.SIGTERM)
                        killed.append(int(proc.name))
                        return
            time.sleep(0.05)

    t = threading.Thread(target=preempt)
    t.start()
    table = run_sweep(str(grid), store, backend="ray", num_cpus=2)
    t.join()
    assert killed, "no Ray worker was found running the cell"
    cell = table["cells"][0]
    assert cell["status"] == "done"
    folder = store / "cells" / cell["cell"]
    assert len(json.loads((folder / "preempted.json").read_text())) == 1
    assert json.loads((folder / "result.json").read_text())["preemptions"] == 1
    local = run_sweep(str(grid), tmp_path / "local")  # never interrupted
    w0, w1 = (load_file(s / "cells" / cell["cell"] / "run" / "weights.safetensors")
              for s in (Path(local["store"]), store))
    assert all(w0[k].equal(w1[k]) for k in w0)
    assert _table(store) == _table(Path(local["store"]))


def test_ray_refuses_cells_no_node_can_run():
    """A cell asking for more cores than the cluster has, or a GPU it lacks, would wait for
    ever: refused in one line before anything is submitted."""
    from rhoproof.errors import ConfigError
    from rhoproof.sweep.backends import _check_feasible
    from rhoproof.sweep.spec import parse

    many = parse({"sweep": {"groups": ["S3"], "cpus": 8}}).cells
    with pytest.raises(ConfigError, match="ask for 8 cores each but the Ray cluster has 2"):
        _check_feasible(list(many), {"CPU": 2.0})
    gpu = parse({"sweep": {"groups": ["S3"], "device": "cuda"}}).cells
    with pytest.raises(ConfigError, match="no GPU"):
        _check_feasible(list(gpu), {"CPU": 2.0})
    _check_feasible(list(gpu), {"CPU": 2.0, "GPU": 1.0})


def test_an_address_where_no_cluster_answers_is_one_line(tmp_path, capsys):
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    grid = tmp_path / "g.toml"
    grid.write_text('[sweep]\ngroups = ["C3"]\nmodels = 2\nepochs = 5\n')
    assert main(["sweep", str(grid), "--backend", "ray", "--address", f"127.0.0.1:{port}",
                 "--out", str(tmp_path / "s"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rhoproof: error: no Ray cluster answers at 127.0.0.1:{port}")
    assert err.count("\n") == 1 and not (tmp_path / "s").exists()  # nothing written
