"""The results store: one driver at a time (a stale lock from a dead one is taken over), a
store that is not one is named in one line."""

import json
import os
import socket
import subprocess
import sys

import pytest

from rhoproof.errors import RunError
from rhoproof.sweep.store import LOCK, collect, driver_lock


def test_a_second_driver_is_refused_and_a_dead_ones_lock_is_taken_over(tmp_path):
    with driver_lock(tmp_path):
        with pytest.raises(RunError, match=f"being swept by pid {os.getpid()}"):
            with driver_lock(tmp_path):
                pass
    assert not (tmp_path / LOCK).exists()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / LOCK).write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead)}))
    with driver_lock(tmp_path):  # its process is gone: taken over
        assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getpid()
    (tmp_path / LOCK).write_text(json.dumps({"host": "elsewhere", "pid": 1}))
    with pytest.raises(RunError, match="on elsewhere"):  # another host's: not ours to judge
        with driver_lock(tmp_path):
            pass


def test_a_folder_that_is_no_store_is_named(tmp_path):
    with pytest.raises(RunError, match="is not a sweep results store"):
        collect(tmp_path)
    (tmp_path / "sweep.json").write_text("{")
    with pytest.raises(RunError, match="sweep.json is corrupt"):
        collect(tmp_path)


def test_a_stale_or_corrupt_cell_is_never_reported_done(tmp_path, capsys):
    """A cell whose result.json no longer matches its weights is not "done"; a corrupt
    store file is one line naming it, never a traceback."""
    from rhoproof.cli import main
    from rhoproof.sweep import run_sweep

    grid = tmp_path / "g.toml"
    grid.write_text('[sweep]\ngroups = ["C3"]\nmodels = 2\nepochs = 10\nd_hidden = 8\n'
                    'd_embed = 8\nmethods = ["brute"]\ntrain_frac = 1.0\n')
    table = run_sweep(str(grid), tmp_path / "s")
    cell = table["cells"][0]
    assert cell["status"] == "done" and cell["generalised"] is None  # no held-out pairs
    folder = tmp_path / "s" / "cells" / cell["cell"]
    (folder / "run" / "weights.safetensors").write_bytes(b"garbage")
    assert main(["sweep-report", str(tmp_path / "s")]) == 0
    assert "0 cells done, 0 failed, 1 pending" in capsys.readouterr().out
    assert main(["sweep", str(grid), "--out", str(tmp_path / "s"), "--quiet"]) == 2
    out, err = capsys.readouterr()
    assert "1 of 1 cells failed" in err and err.count("\n") == 1  # not its old numbers
    (folder / "failed.json").write_text("[1]")
    assert main(["sweep-report", str(tmp_path / "s")]) == 0
    sweep_json = tmp_path / "s" / "sweep.json"
    for text in ('{"cells": [], "cell_keys": {}}', '{"cells": ["x"], "cell_keys": {},'
                 ' "name": "n", "swept": []}', '{"cells": "abc", "cell_keys": {}}'):
        sweep_json.write_text(text)
        assert main(["sweep-report", str(tmp_path / "s")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("rhoproof: error: ") and err.count("\n") == 1, err
    sweep_json.write_bytes(b"\xff\xfe")
    assert main(["sweep-report", str(tmp_path / "s")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
