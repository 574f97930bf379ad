"""Loading a run directory: every kind of damage gives a RunError that says what is wrong."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from rhoproof.errors import RunError
from rhoproof.run import load_run
from rhoproof.train import TrainConfig, train


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "good"
    train(TrainConfig(group="S3", n_instances=2, d_embed=4, d_hidden=6, epochs=5,
                      eval_every=5), out, progress=False)
    return out


def _copy(run_dir, tmp_path):
    import shutil

    dst = tmp_path / "copy"
    shutil.copytree(run_dir, dst)
    return dst


def test_good_run_loads(run_dir):
    run = load_run(run_dir)
    assert run.group.spec == "S3" and run.model.n_instances == 2 and run.epoch == 5


def test_missing_directory(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        load_run(tmp_path / "nope")


def test_not_a_run_directory(tmp_path):
    with pytest.raises(RunError, match="config.json is missing"):
        load_run(tmp_path)


def test_corrupt_config(run_dir, tmp_path):
    d = _copy(run_dir, tmp_path)
    (d / "config.json").write_text("{ truncated")
    with pytest.raises(RunError, match="corrupt"):
        load_run(d)


def test_config_with_bad_values(run_dir, tmp_path):
    d = _copy(run_dir, tmp_path)
    data = json.loads((d / "config.json").read_text())
    data["config"]["lr"] = -1
    (d / "config.json").write_text(json.dumps(data))
    with pytest.raises(RunError, match="lr"):
        load_run(d)


def test_corrupt_weights(run_dir, tmp_path):
    d = _copy(run_dir, tmp_path)
    (d / "weights.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(RunError, match="corrupt"):
        load_run(d)


def test_missing_weights(run_dir, tmp_path):
    d = _copy(run_dir, tmp_path)
    (d / "weights.safetensors").unlink()
    with pytest.raises(RunError, match="missing"):
        load_run(d)


def test_group_mismatch(run_dir, tmp_path):
    d = _copy(run_dir, tmp_path)
    data = json.loads((d / "config.json").read_text())
    data["config"]["group"] = "S4"
    (d / "config.json").write_text(json.dumps(data))
    with pytest.raises(RunError, match="S4|shape"):
        load_run(d)


def test_nan_weights(run_dir, tmp_path):
    d = _copy(run_dir, tmp_path)
    tensors = load_file(str(d / "weights.safetensors"))
    tensors["unembedding"][0, 0, 0] = float("nan")
    save_file(tensors, str(d / "weights.safetensors"), metadata={"group": "S3", "epoch": "5"})
    with pytest.raises(RunError, match="NaN"):
        load_run(d)


def test_missing_tensor_lists_what_was_expected(run_dir, tmp_path):
    d = _copy(run_dir, tmp_path)
    tensors = load_file(str(d / "weights.safetensors"))
    del tensors["linear_left"]
    save_file(tensors, str(d / "weights.safetensors"))
    with pytest.raises(RunError, match=r"missing tensors linear_left; expected .*embedding_left"):
        load_run(d)


def test_weights_of_another_shape(run_dir, tmp_path):
    d = _copy(run_dir, tmp_path)
    tensors = load_file(str(d / "weights.safetensors"))
    tensors["unembed_bias"] = torch.zeros(2, 7)
    save_file(tensors, str(d / "weights.safetensors"))
    with pytest.raises(RunError, match="unembed_bias has shape"):
        load_run(d)


def test_weights_without_group_metadata_get_a_note(tmp_path, capsys):
    """Issue 13: a config edited to another group of the same order was accepted in silence
    when the weights recorded no group (hand-made files; rhoproof always records it)."""
    import json

    from safetensors.torch import load_file, save_file

    from rhoproof.cli import main
    from rhoproof.config import TrainConfig
    from rhoproof.train import train

    out = tmp_path / "r"
    train(TrainConfig(group="S3", n_instances=1, d_embed=4, d_hidden=6, epochs=2, eval_every=1),
          out, progress=False)
    cfg = json.loads((out / "config.json").read_text())
    cfg["config"]["group"] = "C6"  # same order, another group
    (out / "config.json").write_text(json.dumps(cfg))
    assert main(["evaluate", str(out)]) == 2  # the recorded group contradicts the config
    assert "was trained on S3" in capsys.readouterr().err
    weights = out / "weights.safetensors"
    save_file(load_file(str(weights)), str(weights))  # the same tensors, no metadata
    assert main(["evaluate", str(out)]) == 2  # the stored group still contradicts it
    assert "group.json stores S3, but config.json says C6" in capsys.readouterr().err
    (out / "group.json").unlink()  # a hand-made run: nothing records the group but the config
    assert main(["evaluate", str(out)]) == 0
    assert "records no group; C6 comes from config.json alone" in capsys.readouterr().err


@pytest.mark.parametrize("dtype", ["int64", "float16"])
def test_weights_of_another_dtype_are_one_line(tmp_path, capsys, dtype):
    """Issue 20: integer weights gave a traceback in certify; float16 ones were certified and
    the checker then refused its own certificate. Prover and checker now both read float32
    and float64 only, and a run of another dtype is refused at load."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from rhoproof import zoo
    from rhoproof.cli import main

    run = zoo.export("S4", tmp_path / "s4", 1)
    weights = run / "weights.safetensors"
    with safe_open(str(weights), "pt") as fh:
        meta = fh.metadata()
    save_file({k: v.to(getattr(torch, dtype)) for k, v in load_file(str(weights)).items()},
              str(weights), meta)
    assert main(["certify", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"left is {dtype}; a run holds float32 or float64" in err


def test_assert_sound_raises_even_under_python_O():
    import subprocess
    import sys

    code = ("from rhoproof.testing import Truth, assert_sound, UnsoundBound\n"
            "from decimal import Decimal\n"
            "t = Truth(correct=1, inputs=4, cross_entropy=Decimal(1))\n"
            "try:\n    assert_sound(0.5, 2.0, t)\nexcept UnsoundBound:\n    print('raised')\n")
    res = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.stdout.strip() == "raised", res.stderr
