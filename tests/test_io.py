"""Atomic writes: a failed write leaves the old file intact and no temporary file behind."""

import os

import pytest
import torch
from safetensors.torch import load_file

from rhoproof import _io
from rhoproof.errors import RunError


def test_write_replaces_whole_file(tmp_path):
    p = tmp_path / "f.json"
    _io.atomic_write_json(p, {"a": 1})
    _io.atomic_write_json(p, {"a": 2})
    assert p.read_text().strip().endswith("}") and '"a": 2' in p.read_text()
    assert [q.name for q in tmp_path.iterdir()] == ["f.json"]


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    p = tmp_path / "w.safetensors"
    _io.atomic_save_tensors(p, {"x": torch.ones(3)})

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        _io.atomic_save_tensors(p, {"x": torch.zeros(3)})
    with pytest.raises(OSError):
        _io.atomic_write_text(tmp_path / "t.txt", "half")
    monkeypatch.undo()
    assert torch.equal(load_file(str(p))["x"], torch.ones(3))
    assert sorted(q.name for q in tmp_path.iterdir()) == ["w.safetensors"]


def test_unwritable_directory_is_a_run_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RunError, match="cannot create directory"):
        _io.ensure_dir(blocker / "sub")
    with pytest.raises(RunError, match="cannot write"):
        _io.atomic_write_text(blocker / "x.txt", "data")


def test_written_files_get_the_usual_permissions(tmp_path):
    p = tmp_path / "f.txt"
    _io.atomic_write_text(p, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask
