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


def test_prover_and_checker_agree_on_every_grouping_and_honest_claims_pass():
    """Red-team findings (session 10): a neuron adding 2³⁰ to every logit made the checker's
    correct logit (its own rounding allowance) fall below the prover's, so honest claims were
    refused; the prover now widens by GUARD = 3 times the checker's allowances. And one group
    per neuron (the checker's cap allows m − 1) is summed without a loop over groups: the
    checker agrees with the prover's own evaluation of that split."""
    import torch

    from rhoproof.enclosure import enclose, for_proof
    from rhoproof.model import Folded
    from rhoproof.verify.lowrank import LowRankSplit, lowrank_bound

    grp = group("C59")
    base = zoo.load("C59", n_models=1).to(torch.float64)
    g = grp.order
    model = Folded(torch.cat([base.left, torch.full((1, g, 1), 2.0**30, dtype=torch.float64)], 2),
                   torch.cat([base.right, torch.zeros(1, g, 1, dtype=torch.float64)], 2),
                   torch.cat([base.unembed, torch.ones(1, 1, g, dtype=torch.float64)], 1),
                   base.bias)
    cert = _json(certify_model(model, grp, 0, "fourier"))
    assert cert["certified_inputs"] > 0.95 * g * g
    result = check_stored(cert, model, grp)
    assert result.certified_inputs >= cert["certified_inputs"]
    assert result.cross_entropy <= cert["cross_entropy"]
    m = model.d_hidden
    fo = cert["fourier"]
    k = len(fo["basis"])
    own = dict(cert, fourier=dict(fo, exact=[], groups=list(range(m))))
    f = for_proof(enclose(model)).center
    split = LowRankSplit(torch.tensor(fo["basis"], dtype=torch.float64),
                         torch.tensor(fo["coef"], dtype=torch.float64),
                         torch.zeros(m, dtype=torch.bool), torch.arange(m))
    assert k + m > m  # over the cap: the checker refuses it ...
    with pytest.raises(CertificateError, match="more than"):
        check_stored(own, model, grp)
    exact = fo["exact"]  # the honest exact neurons; the others in as many groups as allowed
    free = [i for i in reversed(range(m)) if i not in exact]  # the 2³⁰ neuron alone
    n_g = m - k - len(exact)
    groups = [0] * m
    for j, i in enumerate(free):
        groups[i] = min(j, n_g - 1)
    mask = torch.zeros(m, dtype=torch.bool)
    mask[exact] = True
    split = LowRankSplit(split.basis, split.coef, mask, torch.tensor(groups))
    bound = lowrank_bound(f, grp, split)
    claim = int(bound.certified.sum())
    own = dict(cert, certified_inputs=claim, accuracy=claim / g**2,
               cross_entropy=bound.cross_entropy * (1 + 1e-9),
               fourier=dict(fo, groups=groups))
    assert check_stored(own, model, grp).certified_inputs >= claim > 0.9 * g * g
