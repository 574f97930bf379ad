"""Coverage (issue 12): models the ρ-set explanation used to drop now get a bound, and it is
still sound and accepted by the checker."""

from __future__ import annotations

import pytest

from rhoproof import zoo
from rhoproof.explain.idealize import A_VARIANCE_MAX, idealize
from rhoproof.groups import group
from rhoproof.verify.certificate import certify_model, check_stored


@pytest.mark.parametrize("k", [36, 12])
def test_a_variance_is_not_a_gate(k):
    """S5 zoo models 36 (complete circuits, a-variance just over the paper's 1e-5, the
    authors' verifier certifies 0.9994 of it) and 12: the circuit is idealized with its
    consensus a and the bound decides; both are certified in full."""
    g = group("S5")
    f = zoo.load("S5", k + 1)
    _, report = idealize(f, g, k)
    varied = [c for c in report.circuits
              if getattr(c, "a_variance", 0.0) > A_VARIANCE_MAX and c.status == "idealized"]
    assert varied, "the case this test is about: an idealized circuit whose a varies"
    cert = certify_model(f, g, k)
    assert cert.accuracy == 1.0 == cert.brute["accuracy"]
    assert check_stored(cert, f, g).certified_inputs == cert.certified_inputs


def _with_junk(g, scale, seed=0):
    """The planted S3 triangle circuit (2d-0) with its first dead neuron replaced by random
    weights of size ``scale``: a neuron no circuit explains."""
    import torch

    from rhoproof.model import Folded
    from rhoproof.testing import planted

    f = planted(g, "2d-0", 2, dead=2)
    gen = torch.Generator().manual_seed(seed)
    left, right, unembed = f.left.clone(), f.right.clone(), f.unembed.clone()
    j = left.shape[2] - 2
    left[0, :, j] = scale * torch.randn(g.order, generator=gen, dtype=torch.float64)
    right[0, :, j] = scale * torch.randn(g.order, generator=gen, dtype=torch.float64)
    unembed[0, j] = scale * torch.randn(g.order, generator=gen, dtype=torch.float64)
    return Folded(left, right, unembed, f.bias)


def test_attribution_names_the_neuron_that_costs_the_bound():
    from rhoproof.verify.attribution import TERMS, Attribution

    g = group("S3")
    clean = certify_model(_with_junk(g, 0.0), g, 0)
    assert clean.accuracy == 1.0 and clean.attribution is None
    record = certify_model(_with_junk(g, 1.0), g, 0)
    assert record.accuracy < 1.0 and record.attribution is not None
    a = record.attribution
    cert = record.to_json()
    assert Attribution.from_json(cert["attribution"]) == a  # through JSON unchanged
    assert a.uncertified == round((1 - cert["accuracy"]) * g.order**2)
    assert a.sampled == min(a.uncertified, 4096) and set(a.terms) == set(TERMS)
    assert a.ideal_margin > 0 and a.shortfall > 0
    # the junk neuron is the costliest group, and removing its cost would certify inputs
    assert a.leading.startswith("other neurons: ")
    assert a.groups[a.leading] == pytest.approx(a.terms["other neurons"])
    assert 0 < a.gain[a.leading] <= 1
    # the groups of a term split it: their costs add up to the term's mean
    for term, mean in a.terms.items():
        parts = [v for k, v in a.groups.items() if k.split(": ")[0] == term]
        if parts and len(a.groups) < Attribution.GROUPS:
            assert sum(parts) == pytest.approx(mean)
    assert a.line().startswith(f"{a.uncertified:,} inputs not certified")
    # the costliest group does not depend on the order of the JSON keys
    shuffled = dict(sorted(cert["attribution"]["groups"].items()))
    assert Attribution.from_json({**cert["attribution"], "groups": shuffled}).leading == a.leading


def test_certify_prints_where_the_bound_is_lost(tmp_path, capsys):
    from rhoproof.cli import main

    run_dir = zoo.export("S4", tmp_path / "s4", n_models=12)  # model 11 is certified at 0
    assert main(["certify", str(run_dir), "--instance", "11"]) == 0
    out = capsys.readouterr().out
    assert "where the irrep bound is lost:" in out and "model 11: 576 inputs not certified" in out
