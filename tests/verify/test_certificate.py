"""Certificates re-check, and a tampered certificate is rejected."""

import copy
import json

import pytest

from rhoproof.cli import main
from rhoproof.train import TrainConfig, train
from rhoproof.verify.certificate import CertificateError, certify_model, check_stored

from .. import builders


def test_certificate_round_trip_and_tampering():
    g, f = builders.planted_model(noise=1e-3, seed=3)
    cert = json.loads(json.dumps(certify_model(f, g, 0).to_json()))  # through JSON, as on disk
    assert cert["accuracy"] <= cert["brute"]["accuracy"]
    assert check_stored(cert, f, g).certified_inputs == cert["certified_inputs"]
    for tamper in (
        lambda c: c.update(certified_inputs=c["certified_inputs"] + 1),
        lambda c: c.update(accuracy=c["accuracy"] - 0.25),
        lambda c: c.update(cross_entropy=c["cross_entropy"] * 0.5),
        lambda c: _rho(c)["alpha"].__setitem__(0, 0.123),  # changes f*: the count moves
        lambda c: _rho(c).update(w=_rho(c)["w"] * 1.5),  # the pair weight scales f*
        lambda c: _rho(c)["scale"].__setitem__(0, -1.0),  # ReLU is not negatively homogeneous
        lambda c: _rho(c)["act_b"][5].reverse(),  # no longer a group action
        lambda c: _rho(c)["k"][0].__setitem__(1, 9.0),  # K no longer constant on orbits
        lambda c: _rho(c)["p"].__setitem__(0, (_rho(c)["p"][0] + 1) % 5),  # a pair left empty
        lambda c: _rho(c)["neurons"].__setitem__(0, _rho(c)["neurons"][1]),
        lambda c: c.update(t0=c["t0"] + 1.0),
        lambda c: c.update(group="S4"),
        lambda c: c.update(instance=5),
        lambda c: c.pop("proof"),
        lambda c: c.pop("accuracy"),
        lambda c: c.update(cross_entropy="small"),
        lambda c: c.update(format="other"),
    ):
        bad = copy.deepcopy(cert)
        tamper(bad)
        with pytest.raises(CertificateError):
            check_stored(bad, f, g)


def _rho(cert):
    return next(c for c in cert["proof"] if c["kind"] == "rho_set")


def test_brute_certificate():
    g, f = builders.planted_model()
    cert = certify_model(f, g, 0, method="brute")
    assert cert.accuracy == 1.0
    check_stored(cert, f, g)


def test_cli_certify_and_check(tmp_path, capsys):
    run = tmp_path / "r"
    train(TrainConfig(group="S4", n_instances=2, d_embed=32, d_hidden=48, epochs=1200,
                      train_frac=0.8, eval_every=1200), run, progress=False)
    out = str(tmp_path / "c")
    assert main(["certify", str(run), "--all", "--method", "all", "--out", out]) == 0
    assert "models certified >= 95%" in capsys.readouterr().out
    for i in range(2):
        for method in ("irrep", "coset", "brute"):
            assert main(["check", str(tmp_path / "c" / f"{method}_{i}.json"), str(run)]) == 0
            assert capsys.readouterr().out.startswith("OK")
    path = tmp_path / "c" / "irrep_0.json"
    cert = json.loads(path.read_text())
    cert["certified_inputs"] += 1  # a self-consistent edit of the claim
    cert["accuracy"] = cert["certified_inputs"] / 24**2
    path.write_text(json.dumps(cert))
    assert main(["check", str(path), str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rhoproof: error:") and "certified" in err
    cert["weights_sha256"] = "0" * 64
    path.write_text(json.dumps(cert))
    assert main(["check", str(path), str(run)]) == 2
    assert "other weights" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "missing.json"), str(run)]) == 2
    path.write_text("[1, 2]")
    assert main(["check", str(path), str(run)]) == 2
    assert "JSON object" in capsys.readouterr().err


def test_coset_certificate_round_trip_and_tampering():

    g, f = builders.constant_output_model()
    cert = json.loads(json.dumps(certify_model(f, g, 0, method="coset").to_json()))
    assert cert["certified_inputs"] == g.order  # the |G| inputs with xy = z0
    assert check_stored(cert, f, g).certified_inputs == g.order
    for tamper in (
        lambda c: c.update(certified_inputs=c["certified_inputs"] + 1),
        lambda c: c["coset"].update(subgroups=[[0, 1, 2, 3]]),  # 4 does not divide 6
        lambda c: c["coset"].update(left=c["coset"]["left"][:-1]),
        lambda c: c.pop("coset"),
    ):
        bad = copy.deepcopy(cert)
        tamper(bad)
        with pytest.raises(CertificateError):
            check_stored(bad, f, g)


def test_checker_shares_no_code_with_the_prover():
    """The checker's trusted base is its own package, numpy, the safetensors numpy reader and
    the standard library: no module of it imports the prover (or torch)."""
    import ast
    from pathlib import Path

    import rhoproof.check

    allowed = {"__future__", "math", "typing", "numpy", "fractions", "hashlib", "json", "itertools",
               "dataclasses", "pathlib", "safetensors.numpy", "rhoproof.check", "collections.abc"}
    files = sorted(Path(rhoproof.check.__file__).parent.glob("*.py"))
    assert len(files) >= 5
    for file in files:
        tree = ast.parse(file.read_text())
        imported = {alias.name for node in ast.walk(tree)
                    if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        for name in imported:
            assert name in allowed or name.startswith("rhoproof.check."), (file.name, name)


def test_virtual_neurons_complete_a_circuit_soundly(monkeypatch):
    from rhoproof.verify import certificate
    from rhoproof.verify.bounds import brute_bound
    from rhoproof.verify.certificate import with_virtual_neurons

    # virtual neurons only: no partial-symmetry candidate [H1] (tests/verify/test_symmetry.py)
    monkeypatch.setattr(certificate, "symmetric_candidates", lambda grp, ideal: [])
    # two pairs of the 4d-0 circuit missing
    g, f = builders.planted_model(noise=1e-3, seed=2, drop=2)
    truth = brute_bound(f, g)
    ext = with_virtual_neurons(f, 2)
    same = brute_bound(ext, g)  # the same function: the same exact accuracy; the CE upper
    # bound's rounding allowance grows with m, in the last bits only
    assert ext.d_hidden == f.d_hidden + 2 and same.accuracy == truth.accuracy
    assert same.cross_entropy == pytest.approx(truth.cross_entropy, rel=1e-12)
    cert = json.loads(json.dumps(certify_model(f, g, 0).to_json()))
    assert cert["virtual_neurons"] == 2 and cert["verdict"] == "unexplained"
    assert cert["certified_inputs"] > 0  # the zeroed circuit alone certifies nothing
    assert cert["accuracy"] <= truth.accuracy and cert["cross_entropy"] >= truth.cross_entropy_lower
    assert check_stored(cert, f, g).certified_inputs == cert["certified_inputs"]
    for tamper in (lambda c: c.update(virtual_neurons=1),
                   lambda c: c.update(virtual_neurons=True),
                   lambda c: _rho(c)["neurons"].__setitem__(-1, f.d_hidden + 5)):
        bad = copy.deepcopy(cert)
        tamper(bad)
        with pytest.raises(CertificateError):
            check_stored(bad, f, g)


def test_lists_a_certificate_carries_are_capped():
    """Issue 20: a certificate under 200 KB made the checker use minutes and GBs with a list
    whose length and repetitions were not limited (a subgroup's elements: cost the square of
    the length; symmetry generators and virtual neurons: cost times |G|²). Every list is
    capped by what the group and model make meaningful: ρ-sets of at most |G| points, each
    neuron in one circuit, at most m virtual neurons, top_w at most top_k per input, at most
    max(|G|, |G|²/32) orbits of a symmetry (the prover's own cap), at most 5 stages."""
    g, f = builders.constant_output_model()
    cert = json.loads(json.dumps(certify_model(f, g, 0, method="coset").to_json()))
    sub = cert["coset"]["subgroups"][0]
    for tamper, why in (
        (lambda c: c["coset"].update(subgroups=[sub * 20000]), "more than"),
        (lambda c: c["coset"].update(subgroups=[[sub[0], sub[0]]]), "repeats an element"),
        (lambda c: c["coset"].update(subgroups=[sub, sub]), "a set twice"),
    ):
        bad = copy.deepcopy(cert)
        tamper(bad)
        with pytest.raises(CertificateError, match=why):
            check_stored(bad, f, g)
    g, f = builders.planted_model(noise=1e-3, seed=3)
    cert = json.loads(json.dumps(certify_model(f, g, 0).to_json()))
    n = g.order
    for tamper, why in (
        (lambda c: c.update(symmetry={"generators": [[0, 0]] * 5000, "orbits": 1}),
         "generators"),
        (lambda c: c.update(symmetry={"generators": [[1, 0], [1, 0]], "orbits": 1}),
         "repeats a generator"),
        (lambda c: _many_virtual(c, f.d_hidden, 1000), "virtual_neurons = 1000 is out of"),
        (lambda c: _many_virtual(c, f.d_hidden, f.d_hidden), "exceeds the"),
        (lambda c: _rho(c).update(alpha=[1.0] * (n + 1)), "more than |G|"),
        (lambda c: _rho(c).update(alpha=[1.0] * n, gamma=[1.0] * n), "pairs for"),
        (lambda c: _rho(c).update(neurons=[_rho(c)["neurons"][0]] * len(_rho(c)["neurons"])),
         "a neuron is in two circuits"),
        (lambda c: c.update(stages=c["stages"] * 3), "at most 5"),
        (lambda c: c.update(top_w=c["top_w"] * (n * n + 1)), "longer than"),
        (lambda c: c.update(symmetry={"generators": [[g.identity, g.identity]], "orbits": 1}),
         "orbits on the inputs"),
    ):
        bad = copy.deepcopy(cert)
        tamper(bad)
        with pytest.raises(CertificateError, match=why):
            check_stored(bad, f, g)
    assert n > 1


def _many_virtual(cert, m, v):
    """v virtual neurons, all used by the first ρ-set circuit (as if each filled a pair)."""
    c = _rho(cert)
    c["neurons"] += list(range(m, m + v))
    for key, value in (("p", 0), ("q", 0), ("scale", 1.0), ("weight", 1.0)):
        c[key] += [value] * v
    cert["virtual_neurons"] = v


def test_the_prover_stays_within_the_checkers_caps():
    """The checker's caps are protocol constants: the prover's own choices stay inside them."""
    from rhoproof.check.parse import MAX_PAIRS_PER_NEURON, MAX_TOP_K
    from rhoproof.verify import certificate
    from rhoproof.verify.irrep import TOP_K

    assert TOP_K <= MAX_TOP_K
    assert certificate.MAX_PAIRS_PER_NEURON == MAX_PAIRS_PER_NEURON
