"""Training: the seed recipe, determinism, exact resume, and what a run directory holds."""

import importlib
import json
import os
import signal

import pytest
import torch

from rhoproof.errors import ConfigError, RunError
from rhoproof.model import PARAM_NAMES, GroupMLP
from rhoproof.run import load_run, read_metrics
from rhoproof.train import (
    AdamState,
    TrainConfig,
    TrainingInterrupted,
    adam_step,
    train,
    train_split,
)

train_mod = importlib.import_module("rhoproof.train")  # the module, not the function
SMALL = dict(group="S3", n_instances=3, d_embed=8, d_hidden=16, epochs=40, eval_every=10,
             checkpoint_every=10, train_frac=0.5)


def _weights(model):
    return {n: getattr(model, n).detach().clone() for n in PARAM_NAMES}


def test_defaults_are_the_seed_recipe():
    c = TrainConfig()
    assert (c.group, c.train_frac, c.lr, c.beta1, c.beta2, c.weight_decay, c.d_embed,
            c.d_hidden, c.dtype) == ("S5", 0.4, 1e-2, 0.9, 0.98, 2e-4, 128, 128, "float32")


@pytest.mark.parametrize("field, value", [("n_instances", 0), ("epochs", -1), ("lr", -1.0),
                                          ("train_frac", 0.0), ("train_frac", 1.5),
                                          ("dtype", "float16"), ("beta2", 1.0), ("seed", -3),
                                          ("lr", float("nan"))])
def test_config_validates_itself(field, value):
    with pytest.raises(ConfigError):
        TrainConfig(**{field: value})


def test_config_round_trips_and_rejects_unknown_fields():
    c = TrainConfig(**SMALL)
    assert TrainConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ConfigError, match="unknown"):
        TrainConfig.from_dict({**c.to_dict(), "learning_rate": 1})


def test_split_is_seeded_and_has_the_right_size():
    a, b, c = train_split(120, 0.4, 0), train_split(120, 0.4, 0), train_split(120, 0.4, 1)
    assert a.sum() == 5760 and torch.equal(a, b) and not torch.equal(a, c)


def test_adam_step_matches_torch_adam_with_coupled_weight_decay():
    cfg = TrainConfig(**SMALL)
    ours = GroupMLP(6, 2, 4, 5, seed=0).double()
    ref = GroupMLP(6, 2, 4, 5, seed=0).double()
    decay = [getattr(ref, n) for n in PARAM_NAMES if n != "unembed_bias"]
    opt = torch.optim.Adam([{"params": decay, "weight_decay": cfg.weight_decay},
                            {"params": [ref.unembed_bias], "weight_decay": 0.0}],
                           lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)
    state = AdamState.zeros_like(ours)
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        grads = {n: torch.randn(getattr(ours, n).shape, generator=gen, dtype=torch.float64)
                 for n in PARAM_NAMES}
        adam_step(ours, grads, state, cfg)
        for n in PARAM_NAMES:
            getattr(ref, n).grad = grads[n].clone()
        opt.step()
    for n in PARAM_NAMES:
        assert torch.allclose(getattr(ours, n), getattr(ref, n), rtol=1e-12, atol=1e-14), n


def test_training_learns_a_small_group():
    cfg = TrainConfig(group="C5", n_instances=2, d_embed=16, d_hidden=32, epochs=150,
                      eval_every=150, train_frac=0.8, weight_decay=0.0)
    _, metrics = train(cfg, progress=False)
    assert metrics[-1]["train_acc"] == [1.0, 1.0]
    assert max(metrics[-1]["train_loss"]) < 0.1


def test_same_seed_same_weights(tmp_path):
    cfg = TrainConfig(**SMALL)
    a, _ = train(cfg, tmp_path / "a", progress=False)
    b, _ = train(cfg, tmp_path / "b", progress=False)
    c, _ = train(cfg.replace(seed=1), progress=False)
    for n in PARAM_NAMES:
        assert torch.equal(getattr(a, n), getattr(b, n))
    assert not torch.equal(a.embedding_left, c.embedding_left)


def test_run_directory_contents(tmp_path):
    cfg = TrainConfig(**SMALL)
    train(cfg, tmp_path / "r", progress=False)
    info = json.loads((tmp_path / "r" / "config.json").read_text())
    assert info["config"] == cfg.to_dict()
    assert {"torch", "numpy", "rhoproof", "python"} <= set(info["versions"])
    metrics = read_metrics(tmp_path / "r")
    assert [r["epoch"] for r in metrics] == [10, 20, 30, 40]
    assert all(len(r["test_acc"]) == 3 for r in metrics)
    run = load_run(tmp_path / "r")
    assert run.epoch == 40 and run.n_instances == 3
    assert not [p for p in (tmp_path / "r").iterdir() if p.name.endswith(".tmp")]


def test_refuses_to_overwrite_a_run(tmp_path):
    cfg = TrainConfig(**SMALL)
    train(cfg.replace(epochs=10), tmp_path / "r", progress=False)
    with pytest.raises(RunError, match="already holds a run"):
        train(cfg, tmp_path / "r", progress=False)


def _crash_at(monkeypatch, step_no, action):
    real = train_mod.adam_step

    def patched(model, grads, state, config):
        real(model, grads, state, config)
        if state.step == step_no:
            action()

    monkeypatch.setattr(train_mod, "adam_step", patched)


def test_resume_after_a_crash_reaches_the_uninterrupted_result(tmp_path, monkeypatch):
    cfg = TrainConfig(**SMALL)
    straight, straight_metrics = train(cfg, tmp_path / "a", progress=False)

    def crash():
        raise RuntimeError("simulated crash")

    _crash_at(monkeypatch, 25, crash)  # dies after the checkpoint at epoch 20
    with pytest.raises(RuntimeError):
        train(cfg, tmp_path / "b", progress=False)
    monkeypatch.undo()
    resumed, resumed_metrics = train(cfg, tmp_path / "b", resume=True, progress=False)
    assert all(torch.equal(getattr(straight, n), getattr(resumed, n)) for n in PARAM_NAMES)
    strip = [{k: v for k, v in r.items() if k != "elapsed_s"} for r in straight_metrics]
    assert strip == [{k: v for k, v in r.items() if k != "elapsed_s"} for r in resumed_metrics]
    on_disk = load_run(tmp_path / "b")
    assert all(torch.equal(getattr(straight, n), getattr(on_disk.model, n)) for n in PARAM_NAMES)


@pytest.mark.parametrize(("sig", "at"), [(signal.SIGINT, 13), (signal.SIGTERM, 7)])
def test_a_signal_checkpoints_and_resume_matches(tmp_path, monkeypatch, sig, at):
    """Ctrl-C, and SIGTERM (what job schedulers send): a checkpoint, then an exact resume."""
    cfg = TrainConfig(**SMALL)
    straight, _ = train(cfg, progress=False)
    _crash_at(monkeypatch, at, lambda: os.kill(os.getpid(), sig))
    with pytest.raises(TrainingInterrupted, match=f"epoch {at}"):
        train(cfg, tmp_path / "b", progress=False)
    monkeypatch.undo()
    assert load_run(tmp_path / "b").epoch == at
    resumed, _ = train(cfg, tmp_path / "b", resume=True, progress=False)
    assert all(torch.equal(getattr(straight, n), getattr(resumed, n)) for n in PARAM_NAMES)


def test_resume_can_extend_a_finished_run(tmp_path):
    cfg = TrainConfig(**SMALL)
    straight, _ = train(cfg, progress=False)
    train(cfg.replace(epochs=20), tmp_path / "r", progress=False)
    extended, metrics = train(cfg, tmp_path / "r", resume=True, progress=False)
    assert all(torch.equal(getattr(straight, n), getattr(extended, n)) for n in PARAM_NAMES)
    assert load_run(tmp_path / "r").config.epochs == 40


def test_resume_rejects_a_different_config(tmp_path):
    cfg = TrainConfig(**SMALL)
    train(cfg.replace(epochs=10), tmp_path / "r", progress=False)
    with pytest.raises(RunError, match="lr"):
        train(cfg.replace(lr=0.5), tmp_path / "r", resume=True, progress=False)


def test_cuda_unavailable_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ConfigError, match="CUDA"):
        train(TrainConfig(**SMALL), device="cuda", progress=False)


def test_a_run_is_resumable_from_its_first_moment(tmp_path, monkeypatch):
    """A run stopped before its first step (--epochs 0, or a signal in the first epoch) can be
    resumed; a folder holding only config.json (stopped before any checkpoint) may be
    overwritten by a fresh run."""
    cfg = TrainConfig(**SMALL)
    straight, _ = train(cfg, progress=False)
    train(cfg.replace(epochs=0), tmp_path / "zero", progress=False)
    resumed, _ = train(cfg, tmp_path / "zero", resume=True, progress=False)
    assert all(torch.equal(getattr(straight, n), getattr(resumed, n)) for n in PARAM_NAMES)
    _crash_at(monkeypatch, 1, lambda: os.kill(os.getpid(), signal.SIGTERM))
    with pytest.raises(TrainingInterrupted, match="epoch 1"):
        train(cfg, tmp_path / "first", progress=False)
    monkeypatch.undo()
    resumed, _ = train(cfg, tmp_path / "first", resume=True, progress=False)
    assert all(torch.equal(getattr(straight, n), getattr(resumed, n)) for n in PARAM_NAMES)
    for name in ("weights.safetensors", "checkpoint.safetensors", "metrics.jsonl"):
        (tmp_path / "zero" / name).unlink()  # as if stopped right after config.json
    fresh, _ = train(cfg, tmp_path / "zero", progress=False)
    assert all(torch.equal(getattr(straight, n), getattr(fresh, n)) for n in PARAM_NAMES)


def test_divergence_stops_with_a_clear_error_and_keeps_a_finite_checkpoint(tmp_path):
    """Issue 13: --lr 1e30 diverged to NaN and the run was saved with exit 0."""
    from rhoproof.train import TrainingDiverged

    cfg = TrainConfig(**SMALL).replace(lr=1e30)
    with pytest.raises(TrainingDiverged, match="diverged at epoch .*last finite checkpoint"):
        train(cfg, tmp_path / "r", progress=False)
    run = load_run(tmp_path / "r")
    assert all(bool(torch.isfinite(t).all()) for t in run.model.tensors().values())


def test_cli_says_when_models_did_not_generalise(tmp_path, capsys):
    from rhoproof.cli import main

    argv = ["train", "--group", "S3", "--models", "2", "--epochs", "5", "--d-hidden", "8",
            "--out", str(tmp_path / "r"), "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out  # 5 epochs: not even the training pairs are learned
    assert "have not learned the training pairs yet" in out and "did not generalise" not in out
    assert main(["train", "--group", "S3", "--models", "2", "--epochs", "40", "--lr", "1e30",
                 "--out", str(tmp_path / "nan"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rhoproof: error: training diverged") and err.count("\n") == 1


def _record(epoch, acc, train_acc=None, test_acc=None):
    return {"epoch": epoch, "elapsed_s": float(epoch), "acc": acc,
            "train_acc": train_acc or acc, "test_acc": test_acc or acc}


def test_the_training_summary_never_contradicts_itself(capsys):
    """Issue 19: '7/8 at 100%' was followed by 'every model at 100% from epoch 800' when one
    model fell back; 'memorised' was said of models at 12% training accuracy."""
    from rhoproof.cli import _report_training

    cfg = TrainConfig(**SMALL).replace(n_instances=2)
    fell_back = [_record(50, [0.9, 1.0]), _record(100, [1.0, 1.0]), _record(150, [1.0, 0.9975])]
    _report_training(cfg, fell_back, 1.0, None)
    out = capsys.readouterr().out
    assert "1/2 at 100%" in out and "every model at 100% from" not in out
    assert "was at 100% at epoch 100, but 1 fell back" in out
    stayed = [_record(50, [1.0, 0.9]), _record(100, [1.0, 1.0]), _record(150, [1.0, 1.0])]
    _report_training(cfg, stayed, 1.0, None)
    assert "every model at 100% from epoch 100" in capsys.readouterr().out
    memorised = [_record(50, [0.6, 1.0], train_acc=[1.0, 1.0], test_acc=[0.3, 1.0])]
    _report_training(cfg, memorised, 1.0, None)
    out = capsys.readouterr().out
    assert "1 of 2 models did not generalise" in out and "not learned" not in out
    unfit = [_record(10, [0.12, 0.1], train_acc=[0.12, 0.1], test_acc=[0.1, 0.1])]
    _report_training(cfg, unfit, 1.0, None)
    out = capsys.readouterr().out
    assert "2 of 2 models have not learned the training pairs" in out
    assert "did not generalise" not in out
    # the fresh-clone review: collapsed or unstable models were told to "train longer"
    lost = [_record(50, [1.0, 0.5], train_acc=[1.0, 0.4]),
            _record(100, [0.04, 0.5], train_acc=[0.04, 0.5])]
    _report_training(cfg, lost, 1.0, None)
    out = capsys.readouterr().out
    assert "1 of 2 models fitted the training pairs earlier and then lost them" in out
    assert "1 of 2 models have not learned" in out
    rising = [{**_record(50, [0.1, 0.1]), "train_loss": [3.0, 3.0]},
              {**_record(100, [0.1, 0.1]), "train_loss": [1e27, 2.0]}]
    _report_training(cfg, rising, 1.0, None)
    out = capsys.readouterr().out
    assert "1 of 2 models' training loss rose" in out and "1 of 2 models have not learned" in out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_at_any_moment_leaves_a_usable_folder(tmp_path, sig):
    """Issue 13: a real `rhoproof train` process, signalled while it starts, while it imports
    and while it trains, leaves a folder that --resume continues or that a fresh train may
    overwrite, and says so in one line."""
    import subprocess
    import sys
    import time

    code = "import sys; from rhoproof.cli import main; sys.exit(main(sys.argv[1:]))"
    for delay in (0.2, 1.5, 4.0):
        out = tmp_path / f"run-{delay}"
        argv = ["train", "--group", "S4", "--models", "4", "--d-hidden", "32", "--epochs",
                "200000", "--out", str(out), "--quiet", "--threads", "1"]
        proc = subprocess.Popen([sys.executable, "-c", code, *argv], stderr=subprocess.PIPE,
                                text=True)
        time.sleep(delay)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode != 0
        if (out / "checkpoint.safetensors").exists():  # stopped in training: resume a little
            assert "checkpoint saved" in err and err.count("\n") == 1, err
            # issue 19: not an error: "rhoproof: interrupted ...", 128 + the signal's number
            assert err.startswith("rhoproof: interrupted"), err
            assert proc.returncode == 128 + sig, (proc.returncode, err)
            epoch = load_run(out).epoch
            resumed = subprocess.run(
                [sys.executable, "-c", code, "train", "--out", str(out), "--resume", "--epochs",
                 str(epoch + 5), "--quiet"], capture_output=True, text=True, timeout=120)
            assert resumed.returncode == 0, resumed.stderr
            assert load_run(out).epoch == epoch + 5
        else:  # stopped before its first checkpoint: a fresh run may take the folder
            fresh = subprocess.run([sys.executable, "-c", code, *argv[:-5], "--epochs", "5",
                                    "--out", str(out), "--quiet"],
                                   capture_output=True, text=True, timeout=120)
            assert fresh.returncode == 0, fresh.stderr
