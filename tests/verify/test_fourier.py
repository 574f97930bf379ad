"""V_fourier as a certificate method (docs/soundness.md §7): honest certificates re-check with
the independent checker, never claim more than the truth, and edited ones are refused; clock
models (modular addition's mechanism) with exact, random and misaligned phases."""

import copy
import json

import numpy as np
import pytest

from rhoproof import zoo
from rhoproof.cli import main
from rhoproof.groups import group
from rhoproof.testing import clock, exact_truth
from rhoproof.verify.certificate import CertificateError, certify_model, check_stored


def _json(cert):
    return json.loads(json.dumps(cert.to_json()))


def test_a_modular_addition_zoo_model_is_certified_and_checked():
    grp = group("C59")
    model = zoo.load("C59", n_models=1)
    cert = _json(certify_model(model, grp, 0, "fourier"))
    assert cert["method"] == "fourier" and cert["stages"][0]["name"] == "lowrank"
    assert 0.95 < cert["accuracy"] <= cert["brute"]["accuracy"]  # V_irrep: 0 on this model
    assert cert["cross_entropy"] >= cert["brute"]["cross_entropy_lower"]
    assert cert["ops"]["proof_lowrank"] < cert["ops"]["brute"]
    fo = cert["fourier"]
    assert len(fo["basis"]) == 1 + 2 * len(fo["irreps"])  # the constant, two rows per frequency
    result = check_stored(cert, model, grp)
    assert result.certified_inputs == cert["certified_inputs"]
    assert result.cross_entropy <= cert["cross_entropy"]
    m, k = len(fo["coef"]), len(fo["basis"])
    for tamper, why in (
        (lambda c: c.update(certified_inputs=c["certified_inputs"] + 1,
                            accuracy=(c["certified_inputs"] + 1) / 59**2), "certified"),
        (lambda c: c.update(cross_entropy=c["cross_entropy"] / 2), "cross-entropy"),
        (lambda c: c["fourier"]["coef"][3].__setitem__(1, float("nan")), "not finite"),
        (lambda c: c["fourier"]["basis"][0].__setitem__(0, 1e-30), "safe range"),
        (lambda c: c["fourier"].update(basis=c["fourier"]["basis"] * 3), "rows"),
        (lambda c: c["fourier"].update(exact=[0, 0]), "twice"),
        (lambda c: c["fourier"]["groups"].__setitem__(0, m), "outside"),
        (lambda c: c["fourier"].update(exact=list(range(m - k + 1))), "more than"),
        (lambda c: c["fourier"]["coef"][0].pop(), "length"),
        (lambda c: c.pop("fourier"), "split"),
        (lambda c: c["fourier"].update(coef=[[0.0] * k] * m), "certified"),  # sound, weaker
    ):
        bad = copy.deepcopy(cert)
        tamper(bad)
        with pytest.raises(CertificateError, match=why):
            check_stored(bad, model, grp)


@pytest.mark.parametrize("spec, phases, noise", [
    ("C31", "exact", 0.0), ("C31", "random", 0.0), ("C31", "misaligned", 0.1),
    ("C11", "random", 0.0), ("C3xC3", "random", 0.3), ("C5", "exact", 0.5)])
def test_clock_models_never_certify_a_wrong_input(spec, phases, noise):
    grp = group(spec)
    model = clock(grp, 48, phases=phases, frequencies=2, noise=noise, seed=7)
    truth = exact_truth(model, grp, 0)
    cert = _json(certify_model(model, grp, 0, "fourier"))
    assert cert["certified_inputs"] <= truth.correct
    assert check_stored(cert, model, grp).certified_inputs >= cert["certified_inputs"]
    if spec == "C31" and noise == 0.0:  # u lies in the kept irreps: no residual
        assert cert["certified_inputs"] == truth.correct > 0
    if grp.order < 12:  # the projection alone costs more than brute force: nothing kept
        assert cert["certified_inputs"] == 0


def test_certify_fourier_and_check_through_the_cli(tmp_path, capsys):
    run = zoo.export("C59", tmp_path / "run", n_models=2)
    out = tmp_path / "certs"
    assert main(["certify", str(run), "--all", "--method", "fourier", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "fourier" in text
    for k in range(2):
        assert main(["check", str(out / f"fourier_{k}.json"), str(run)]) == 0
        assert capsys.readouterr().out.startswith("OK")
    cert = json.loads((out / "fourier_0.json").read_text())
    cert["fourier"]["coef"] = (np.array(cert["fourier"]["coef"]) * 0).tolist()
    (out / "fourier_0.json").write_text(json.dumps(cert))
    assert main(["check", str(out / "fourier_0.json"), str(run)]) == 2
    assert "certified" in capsys.readouterr().err
