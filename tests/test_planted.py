"""Planted models (issue 24): an exact ρ-set ideal plus noise at the zoo's level, as a library
call and as ``rhoproof plant``; the proof finds what was planted and stays sound on them."""

import json

import numpy as np
import pytest
import torch

from rhoproof import evaluate, group, load_run
from rhoproof.cli import main
from rhoproof.explain import idealize
from rhoproof.model import select_instance
from rhoproof.testing import (
    assert_sound,
    exact_truth,
    planted_circuits,
    planted_model,
    rho_orbit,
)
from rhoproof.verify.certificate import certify_model, certify_with_bound
from rhoproof.verify.exact_ideal import action_table


@pytest.mark.parametrize("spec, irrep, size", [("S5", "4d-0", 5), ("A5", "3d-0", 12),
                                                ("S4", "3d-1", 6), ("A6", "5d-1", 6)])
def test_rho_orbit_is_a_rho_set(spec, irrep, size):
    grp = group(spec)
    points = rho_orbit(grp, irrep)
    assert points.shape == (size, grp.irrep(irrep).dim)
    act = action_table(grp, grp.irrep(irrep).tensor(), points)  # raises unless ρ(G) permutes
    assert act.shape == (grp.order, size)
    assert torch.allclose(points.norm(dim=1), torch.ones(size, dtype=torch.float64))


def test_planted_circuits_and_width():
    assert [n for n, _ in planted_circuits(group("S4"))] == ["3d-0", "3d-1", "1d-1"]
    assert [n for n, _ in planted_circuits(group("A5"))] == ["4d-0", "5d-0"]  # no sign irrep
    assert [n for n, _ in planted_circuits(group("S5"), 40)] == ["4d-0", "1d-1"]  # 5d-1 too big
    with pytest.raises(ValueError, match="fits in 10 neurons.*needs 25"):
        planted_circuits(group("S5"), 10)


def test_planted_model_is_seeded_float32():
    grp = group("S4")
    a = planted_model(grp, 2, width=96, seed=3)
    b = planted_model(grp, 2, width=96, seed=3)
    c = planted_model(grp, 2, width=96, seed=4)
    assert a.left.shape == (2, 24, 96) and a.unembed.shape == (2, 96, 24)
    assert all(t.dtype == torch.float32 for t in a.tensors().values())
    assert all(torch.equal(x, y) for x, y in zip(a.tensors().values(), b.tensors().values()))
    assert not torch.equal(a.left, c.left)
    assert not torch.equal(a.left[0], a.left[1])  # every model drawn anew
    with pytest.raises(ValueError):
        planted_model(grp, 0)


def test_noise_free_planted_model_is_its_ideal():
    grp = group("S4")
    f = planted_model(grp, 1, width=96, noise=0.0, seed=1)
    _, report = idealize(select_instance(f, 0), grp)
    found = sorted((c.irrep, len(c.neurons)) for c in report.ideal)
    assert found == [("1d-1", 4), ("3d-0", 16), ("3d-1", 36)]
    cert = certify_model(f, grp, 0)
    assert cert.accuracy == 1.0 and cert.brute["accuracy"] == 1.0


@pytest.mark.parametrize("spec", ["S4", "A5", "S5"])
def test_planted_models_certified_and_sound(spec):
    """At the zoo's noise level the explanation finds the planted circuits and the proof
    certifies ≥ 95% of the inputs, every one of them truly correct (S4: against the rational
    truth; A5, S5: against V_brute's exact per-input decisions, faster)."""
    grp = group(spec)
    f = planted_model(grp, 2, seed=0)
    names = sorted(n for n, _ in planted_circuits(grp))
    truth = evaluate(f, grp, keep_pairs=True)
    assert truth.correct is not None
    for k in range(2):
        _, report = idealize(select_instance(f, k), grp)
        assert sorted(c.irrep for c in report.ideal) == names
        cert, bound = certify_with_bound(f, grp, k)
        assert cert.accuracy >= 0.95 and bound is not None and bound.certified is not None
        assert not bool((bound.certified.reshape(-1) & ~truth.correct[k]).any())
        assert cert.cross_entropy >= cert.brute["cross_entropy_lower"]  # ≤ the true CE
        if spec == "S4":
            assert_sound(cert.accuracy, cert.cross_entropy, exact_truth(f, grp, k))


def test_more_noise_certifies_less():
    grp = group("S5")
    shares = [certify_model(planted_model(grp, 1, noise=n, seed=0), grp, 0).accuracy
              for n in (1.0, 3.0)]
    assert shares[0] >= 0.95 > shares[1]


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plant_command(capsys, tmp_path):
    out_dir = tmp_path / "p"
    code, out, err = _run(capsys, "plant", "--group", "S4", "--models", "2", "--seed", "5",
                          "--width", "96", "--out", str(out_dir))
    assert code == 0 and err == ""
    assert "wrote 2 planted S4 models (circuits 3d-0, 3d-1, 1d-1; width 96" in out
    config = json.loads((out_dir / "config.json").read_text())
    assert config["planted"]["seed"] == 5 and config["planted"]["circuits"] == ["3d-0", "3d-1",
                                                                               "1d-1"]
    assert config["config"]["d_hidden"] == 96 and config["config"]["n_instances"] == 2
    run = load_run(out_dir)
    ref = planted_model(group("S4"), 2, width=96, seed=5)
    assert np.array_equal(run.model.left.numpy(), ref.left.numpy())
    code, out, err = _run(capsys, "evaluate", str(out_dir))  # every command says so
    assert code == 0 and "holds planted models (rhoproof plant --group S4" in err


@pytest.mark.parametrize("argv, message", [
    (["--group", "S4", "--models", "0"], "--models ≥ 1"),
    (["--group", "S4", "--noise", "-1"], "--noise must be a finite number ≥ 0"),
    (["--group", "S4", "--noise", "inf"], "--noise must be a finite number ≥ 0"),
    (["--group", "S5", "--width", "10"], "fits in 10 neurons"),
    (["--group", "Q9"], "unknown group spec"),
    (["--group", "S4", "--width", "abc"], "invalid int value"),
    (["--group", "S4", "--seed", "-1"], "--seed ≥ 0, not -1"),
    (["--group", "C7"], "no faithful real-type irrep"),  # new-user finding: not a width issue
])
def test_plant_errors_are_one_line(capsys, tmp_path, argv, message):
    code, out, err = _run(capsys, "plant", *argv, "--out", str(tmp_path / "p"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "p").exists()


def test_plant_refuses_a_folder_with_other_files(capsys, tmp_path):
    """New-user finding (session 13): plant wrote its run into a folder of the user's files."""
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = _run(capsys, "plant", "--group", "S3", "--width", "16", "--out",
                        str(tmp_path))
    assert code == 2 and "other files" in err and err.count("\n") == 1
    assert sorted(f.name for f in tmp_path.iterdir()) == ["notes.txt"]


def test_planted_model_takes_a_spec():
    f = planted_model("S3", 1, width=16, seed=0)
    assert tuple(f.left.shape) == (1, 6, 16)


def test_plant_refuses_an_existing_run(capsys, tmp_path):
    assert _run(capsys, "plant", "--group", "S3", "--width", "16", "--out",
                str(tmp_path / "p"))[0] == 0
    code, _, err = _run(capsys, "plant", "--group", "S3", "--width", "16", "--out",
                        str(tmp_path / "p"))
    assert code == 2 and "already holds a run" in err


def test_exact_group_after_stage_one_settled_everything():
    """Mode needed, stage 1 certifies every input, stages 2-3 return at once: an exact neuron
    group then has nothing left to do (regression: it read stage 2's distances)."""
    grp = group("S4")
    f = planted_model(grp, 1, width=96, seed=0)
    cert = certify_model(f, grp, 0, "irrep", "needed", exact_neurons=[0, 1, 2])
    assert cert.accuracy == 1.0 and cert.stages[0].certified == grp.order**2
    assert [s.inputs for s in cert.stages[1:3]] == [0, 0]


def test_brute_force_estimated_above_its_limit(monkeypatch, capsys, tmp_path):
    """Above BRUTE_FULL_MAX a proof's certificate times brute force on a few rows only (the
    S7 path): no true accuracy recorded, the estimate marked, the checker unaffected."""
    from rhoproof.check import check_file
    from rhoproof.verify import certificate

    monkeypatch.setattr(certificate, "BRUTE_FULL_MAX", 10)
    grp = group("S4")
    f = planted_model(grp, 1, width=96, seed=0)
    cert = certify_model(f, grp, 0).to_json()
    assert set(cert["brute"]) == {"seconds", "sampled_rows", "sample_accuracy",
                                  "sample_cross_entropy"}
    assert cert["brute"]["sampled_rows"] == 4 and cert["brute"]["sample_accuracy"] == 1.0
    assert cert["accuracy"] == 1.0 and cert["seconds"]["brute"] == cert["brute"]["seconds"]
    assert certify_model(f, grp, 0, "brute").brute["accuracy"] == 1.0  # brute: always full
    out_dir = tmp_path / "p"
    assert main(["plant", "--group", "S4", "--width", "96", "--out", str(out_dir)]) == 0
    capsys.readouterr()
    assert main(["certify", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "brute force not run (over 1e+01 operations): its time estimated from 4 rows" in out
    written = json.loads((out_dir / "certificates" / "irrep_0.json").read_text())
    assert check_file(written, out_dir / "weights.safetensors", grp.table_np,
                      "S4").certified_inputs == 576


def test_evaluate_says_when_it_is_brute_force_beyond_reach(capsys, tmp_path, monkeypatch):
    """New-user finding (session 13): evaluate at S7 ran for hours without a word; above
    certify's brute-force limit it now says what it is about to do."""
    import rhoproof.verify.certificate as cert_mod

    out = tmp_path / "p"
    assert _run(capsys, "plant", "--group", "S3", "--width", "16", "--out", str(out))[0] == 0
    code, _, err = _run(capsys, "evaluate", str(out))
    assert code == 0 and "hours on a CPU" not in err
    monkeypatch.setattr(cert_mod, "BRUTE_FULL_MAX", 10)
    code, _, err = _run(capsys, "evaluate", str(out))
    assert code == 0 and "operations, hours on a CPU" in err
