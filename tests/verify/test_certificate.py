"""Certificates re-check, and a tampered certificate is rejected."""

import copy
import json

import pytest

from rhoproof.cli import main
from rhoproof.train import TrainConfig, train
from rhoproof.verify.certificate import CertificateError, certify_model, check_certificate

from ..explain.test_idealize import _planted_model


def test_certificate_round_trip_and_tampering():
    g, f = _planted_model(noise=1e-3, seed=3)
    cert = json.loads(json.dumps(certify_model(f, g, 0)))  # through JSON, as on disk
    assert cert["accuracy"] <= cert["brute"]["accuracy"]
    assert check_certificate(cert, f, g)["certified_inputs"] == cert["certified_inputs"]
    for tamper in (
        lambda c: c.update(certified_inputs=c["certified_inputs"] + 1),
        lambda c: c.update(accuracy=c["accuracy"] - 0.25),
        lambda c: c.update(cross_entropy=c["cross_entropy"] * 0.5),
        lambda c: c["circuits"][-1]["points_b"][0].__setitem__(0, 0.123),
        lambda c: c["circuits"][-1]["weight"].__setitem__(0, 7.0),
        lambda c: c.update(group="S4"),
        lambda c: c.update(instance=5),
        lambda c: c.pop("circuits"),
        lambda c: c.pop("accuracy"),
        lambda c: c.update(cross_entropy="small"),
        lambda c: c.update(format="other"),
    ):
        bad = copy.deepcopy(cert)
        tamper(bad)
        with pytest.raises(CertificateError):
            check_certificate(bad, f, g)


def test_brute_certificate():
    g, f = _planted_model()
    cert = certify_model(f, g, 0, method="brute")
    assert cert["accuracy"] == 1.0
    check_certificate(cert, f, g)


def test_cli_certify_and_check(tmp_path, capsys):
    run = tmp_path / "r"
    train(TrainConfig(group="S4", n_instances=2, d_embed=32, d_hidden=48, epochs=1200,
                      train_frac=0.8, eval_every=1200), run, progress=False)
    assert main(["certify", str(run), "--all", "--out", str(tmp_path / "c")]) == 0
    assert "models certified >= 95%" in capsys.readouterr().out
    for i in range(2):
        assert main(["check", str(tmp_path / "c" / f"irrep_{i}.json"), str(run)]) == 0
        assert capsys.readouterr().out.startswith("OK")
    path = tmp_path / "c" / "irrep_0.json"
    cert = json.loads(path.read_text())
    cert["certified_inputs"] += 1
    path.write_text(json.dumps(cert))
    assert main(["check", str(path), str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rhoproof: error:") and "certified inputs" in err
    cert["weights_sha256"] = "0" * 64
    path.write_text(json.dumps(cert))
    assert main(["check", str(path), str(run)]) == 2
    assert "other weights" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "missing.json"), str(run)]) == 2
    path.write_text("[1, 2]")
    assert main(["check", str(path), str(run)]) == 2
    assert "JSON object" in capsys.readouterr().err
