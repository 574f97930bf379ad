"""The V_irrep cascade (docs/soundness.md §2.1): stage 1 [S1] is sound on its own, its
undecided set is exactly its complement, the cascade loses no input against running every
stage on every input, and the counts it records add up."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rhoproof.groups import group
from rhoproof.testing import exact_truth, planted
from rhoproof.verify.certificate import certify_with_bound
from rhoproof.verify.records import Separable


@pytest.mark.parametrize(("noise", "seed"), [(0.0, 0), (0.02, 1), (0.1, 2), (0.4, 3)])
def test_stage_one_certifies_only_correct_inputs(noise, seed):
    g = group("S3")
    model = planted(g, "2d-0", 2, noise=noise, seed=seed)
    truth = exact_truth(model, g)
    for mode in ("all", "needed"):
        cert, bound = certify_with_bound(model, g, 0, "irrep", mode)
        sep = bound.separable
        assert truth.covers(sep.mask()) and truth.covers(bound.certified)
        assert cert.stages is not None and cert.stages[0].certified == sep.certified
    if noise == 0.0:  # the exact circuit: nothing to pay, every input settled by stage 1
        assert sep.certified == g.order**2


def test_undecided_is_the_complement():
    gen = torch.Generator().manual_seed(0)
    g = 11
    for _ in range(20):
        b = torch.rand(g, generator=gen, dtype=torch.float64)
        order = torch.argsort(b, stable=True)
        count = torch.randint(0, g + 1, (g,), generator=gen)
        sep = Separable(torch.zeros(g), b, 0.0, 0.0, 0.0, 1.0, count, order, 0.0, 0)
        xs, ys = sep.undecided()
        left = np.ones((g, g), dtype=bool)
        left[xs.numpy(), ys.numpy()] = False
        assert np.array_equal(left, sep.mask().numpy())
        assert len(xs) == g * g - int(count.sum())
        # per x, the certified are those with the smallest b
        for x in range(g):
            mine = sep.mask()[x]
            assert mine.sum() == count[x]
            if 0 < count[x] < g:
                assert b[mine].max() <= b[~mine].min()


def test_cascade_loses_nothing_and_counts_add_up(s4_zoo):
    g, models = s4_zoo
    for k in (0, 2, 11):
        full, b_full = certify_with_bound(models, g, k, "irrep", "all")
        lean, b_lean = certify_with_bound(models, g, k, "irrep", "needed")
        assert full.certified_inputs == lean.certified_inputs
        assert torch.equal(b_full.certified, b_lean.certified)
        for cert in (full, lean):
            assert cert.stages is not None
            assert sum(s.certified for s in cert.stages) == cert.certified_inputs
            assert [s.name for s in cert.stages] == ["separable", "per_input", "per_output"]
        assert lean.stages is not None and lean.ops is not None
        # "needed": stage 2 sees only what stage 1 left, or (when that is a quarter of the
        # inputs or more) computes on the whole grid, and is charged for it
        left = g.order**2 - lean.stages[0].certified
        assert lean.stages[1].inputs == (left if 4 * left < g.order**2 else g.order**2)
        # stage 1 is O(|G| m): at S4 already under 5% of brute force's |G|³ m
        assert lean.ops["proof_separable"] * 20 < lean.ops["brute"]


@pytest.fixture(scope="module")
def s4_zoo():
    from rhoproof import zoo

    return group("S4"), zoo.load("S4", 12)


def test_exact_stage_reaches_the_truth_and_the_checker_confirms_it(s4_zoo):
    from rhoproof.verify.certificate import CertificateError, check_stored

    g, models = s4_zoo
    model = planted(group("S3"), "2d-0", 2, noise=0.4, seed=3)  # partly certified
    for grp, mdl, k in ((g, models, 11), (group("S3"), model, 0)):
        plain = certify_with_bound(mdl, grp, k, "irrep", "needed")[0]
        cert = certify_with_bound(mdl, grp, k, "irrep", "needed", exact=True)[0]
        assert cert.accuracy == cert.brute["accuracy"] >= plain.accuracy
        assert cert.stages is not None and cert.stages[-1].name == "exact"
        assert cert.stages[-1].inputs == grp.order**2 - plain.certified_inputs
        assert check_stored(cert, mdl, grp).certified_inputs == cert.certified_inputs
        forged = dict(cert.to_json(), certified_inputs=cert.certified_inputs + 1)
        forged["accuracy"] = forged["certified_inputs"] / grp.order**2
        if forged["accuracy"] <= 1:
            with pytest.raises(CertificateError):
                check_stored(forged, mdl, grp)


def test_gathered_factors_equal_the_grid(s4_zoo):
    """Stages 2-3 on a few inputs gather D, ‖h*‖ and L there; the same bounds as the grid's
    matrix-product forms, to rounding."""
    from rhoproof.enclosure import enclose, for_proof
    from rhoproof.explain.idealize import idealize
    from rhoproof.model import select_instance
    from rhoproof.verify.certificate import _renumber, with_virtual_neurons
    from rhoproof.verify.exact_ideal import exact_ideal
    from rhoproof.verify.logits import (
        correct_logits,
        correct_logits_at,
        distance_at,
        distance_bound,
        hidden_norm_at,
        hidden_norm_bound,
    )

    g, models = s4_zoo
    enc = for_proof(enclose(select_instance(models, 2)))
    f = enc.center
    _, report = idealize(f, g, 0, virtual=True)
    circuits = _renumber(report.ideal, f.d_hidden)
    v = sum(c.virtual for c in circuits)
    padded = with_virtual_neurons(f, v)
    ideal = exact_ideal(g, padded.d_hidden, circuits, f.bias[0])
    gen = torch.Generator().manual_seed(0)
    xs, ys = torch.randint(0, g.order, (50,), generator=gen), \
        torch.randint(0, g.order, (50,), generator=gen)
    dl = padded.left[0] - ideal.folded.left[0]
    dr = padded.right[0] - ideal.folded.right[0]
    close = dict(rtol=1e-12, atol=1e-300)
    assert torch.allclose(distance_at(dl, dr, xs, ys), distance_bound(dl, dr)[xs, ys], **close)
    split = f.d_hidden
    assert torch.allclose(hidden_norm_at(ideal.proof, g, padded.d_hidden, split, xs, ys),
                          hidden_norm_bound(ideal.proof, g, padded.d_hidden, split)[:, xs, ys],
                          **close)
    assert torch.allclose(correct_logits_at(padded, g, None, xs, ys),
                          correct_logits(padded, g, None)[xs, ys], **close)


def test_cli_exact_and_frontier(tmp_path, capsys):
    from rhoproof.cli import main

    run = tmp_path / "r"
    assert main(["zoo", "export", "S4", "--models", "12", "--out", str(run)]) == 0
    out = tmp_path / "c"
    assert main(["certify", str(run), "--instance", "11", "--exact", "--per-output", "needed",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "counted operations" in text and "frontier: separable" in text
    cert = json.loads((out / "irrep_11.json").read_text())
    assert cert["stages"][-1]["name"] == "exact"
    assert cert["accuracy"] == cert["brute"]["accuracy"]
    assert main(["check", str(out / "irrep_11.json"), str(run)]) == 0
    assert capsys.readouterr().out.startswith("OK")


def test_checker_uses_the_provers_top_w():
    """S5 zoo model 94: near-ties in F(w) at the top-k boundary made the checker's own choice
    of top w differ from the prover's, and its CE bound exceed the claim by 6e-7 (relative).
    The certificate now records the choice (any is valid); a bad one is refused."""
    from rhoproof import zoo
    from rhoproof.verify.certificate import CertificateError, certify_model, check_stored

    g = group("S5")
    models = zoo.load("S5", 95)
    cert = json.loads(json.dumps(certify_model(models, g, 94, "irrep").to_json()))
    assert check_stored(cert, models, g).cross_entropy <= cert["cross_entropy"]
    for bad in ([g.identity] + cert["top_w"][1:], cert["top_w"][:1] * len(cert["top_w"]),
                cert["top_w"][:-1]):
        with pytest.raises(CertificateError):
            check_stored(dict(cert, top_w=bad), models, g)


def test_checker_rejects_malformed_stages():
    """``stages`` is bookkeeping the checker does not trust, but it must be well formed."""
    from rhoproof.verify.certificate import CertificateError, check_stored

    g = group("S3")
    model = planted(g, "2d-0", 2, noise=0.02, seed=1)
    cert = json.loads(json.dumps(
        certify_with_bound(model, g, 0, "irrep", "needed")[0].to_json()))
    assert check_stored(cert, model, g).certified_inputs == cert["certified_inputs"]
    good = cert["stages"][0]
    for bad in ("x", [1], [{"name": "exact"}], [dict(good, name="magic")],
                [dict(good, ops=-1)], [dict(good, inputs=True)], [dict(good, seconds="1")]):
        with pytest.raises(CertificateError):
            check_stored(dict(cert, stages=bad), model, g)


@pytest.mark.parametrize("shift", [12, 16, 20])
def test_checker_accepts_honest_claims_when_weights_cancel(shift):
    """Red-team finding (issue 24): ℓ + v and r − v leave the function unchanged but make
    ‖Δℓ(x)‖², ‖Δr(y)‖² huge against ‖Δℓ(x) + Δr(y)‖²; the checker's grid distance by
    ‖a‖² + ‖b‖² + 2a·b was then rounding noise above the prover's and refused honest CE claims.
    It takes the direct norm where the terms cancel."""
    from rhoproof.model import Folded
    from rhoproof.verify.certificate import check_stored

    grp = group("S4")
    f = planted(grp, "3d-0", 6, noise=1e-3, seed=1).to(torch.float64)
    v = torch.from_numpy(np.random.default_rng(shift).standard_normal(f.left.shape[2])
                         * 2.0**shift)
    left, right = f.left.clone(), f.right.clone()
    left[0] += v[None]
    right[0] -= v[None]
    g = Folded(left, right, f.unembed, f.bias)
    truth = exact_truth(g, grp)
    for mode in ("all", "needed"):
        cert, _ = certify_with_bound(g, grp, 0, "irrep", mode)
        res = check_stored(cert, g, grp)  # raises if refused
        assert res.certified_inputs >= cert.certified_inputs
        assert cert.certified_inputs <= truth.correct
