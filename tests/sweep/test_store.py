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
