"""Exact neuron groups in V_irrep [X1] (docs/soundness.md §2.2) and the bound-versus-cost
frontier: every certified input is truly correct for any R, the checker recomputes the same
and refuses forged groups, and the frontier's points are sound, ordered and end at the truth."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from rhoproof.groups import group
from rhoproof.testing import claim_is_justified, exact_truth, planted, tampered
from rhoproof.verify.certificate import (
    CertificateError,
    certify_frontier,
    certify_model,
    certify_with_bound,
    check_stored,
)
from rhoproof.verify.frontier import frontier_area


@pytest.mark.parametrize(("noise", "seed"), [(0.02, 1), (0.1, 2), (0.3, 3)])
def test_any_exact_group_certifies_only_correct_inputs(noise, seed):
    g = group("S4")
    model = planted(g, "3d-0", 6, noise=noise, seed=seed)
    truth = exact_truth(model, g)
    rng = np.random.default_rng(seed)
    m = model.d_hidden
    base = certify_with_bound(model, g, 0, "irrep", "all")[1]
    for r_set in ([], [0], sorted(rng.choice(m, m // 2, replace=False).tolist()),
                  list(range(m))):
        for mode in ("all", "needed"):
            cert, bound = certify_with_bound(model, g, 0, "irrep", mode, exact_neurons=r_set)
            assert truth.covers(bound.certified)
            assert bool((bound.certified | ~base.certified).all())  # never loses an input
            d = json.loads(json.dumps(cert.to_json()))
            assert claim_is_justified(d, truth)
            res = check_stored(d, model, g)
            assert res.certified_inputs == cert.certified_inputs
            assert res.cross_entropy <= cert.cross_entropy
            assert d["exact_neurons"] == r_set
            if r_set:
                assert [s["name"] for s in d["stages"]][-1] == "exact_group"


def test_all_neurons_exact_comes_close_to_the_truth():
    g = group("S4")
    model = planted(g, "3d-0", 6, noise=0.05)
    truth = exact_truth(model, g)
    none = certify_model(model, g, 0)
    every = certify_model(model, g, 0, exact_neurons=range(model.d_hidden))
    assert none.accuracy < 0.05 < truth.accuracy - 0.5
    # only the bias's one-sided difference and the tables' rounding stay bounded
    assert truth.accuracy - 0.02 <= every.accuracy <= truth.accuracy
    assert every.cross_entropy < none.cross_entropy


def test_checker_refuses_forged_exact_groups():
    g = group("S4")
    model = planted(g, "3d-0", 6, noise=0.05)
    truth = exact_truth(model, g)
    cert = json.loads(json.dumps(certify_model(model, g, 0, exact_neurons=range(9)).to_json()))
    assert cert["certified_inputs"] > 0
    forged = tampered(cert, np.random.default_rng(0), g.order)
    names = {name for name, _ in forged}
    assert {"no exact group", "exact neuron twice", "exact neuron out of range",
            "exact group, claim all"} <= names
    for name, c in forged:
        try:
            check_stored(c, model, g)
            accepted = True
        except CertificateError:
            accepted = False
        assert not accepted or claim_is_justified(c, truth), name
    # the claim needs its group: without it the cascade alone certifies less
    bare = {k: v for k, v in cert.items() if k != "exact_neurons"}
    with pytest.raises(CertificateError, match="certified inputs"):
        check_stored(bare, model, g)
    for bad, why in (([0, 0], "twice"), ([-1], "outside"), ([True], "integers"),
                     ("0", "list"), (list(range(10**4)), "lists")):
        with pytest.raises(CertificateError, match=why):
            check_stored({**cert, "exact_neurons": bad}, model, g)


def test_frontier_points_are_sound_ordered_and_end_at_the_truth():
    g = group("S4")
    model = planted(g, "3d-0", 6, noise=0.05)
    truth = exact_truth(model, g)
    points = certify_frontier(model, g, 0, max_ratio=math.inf)
    costs = [c.ops_over_brute for c in points]
    assert costs == sorted(costs) and len(points) >= 3
    best = -1.0
    for c in points:
        d = json.loads(json.dumps(c.to_json()))
        assert claim_is_justified(d, truth)
        assert check_stored(d, model, g).certified_inputs >= c.certified_inputs
        # each point beats every cheaper one in accuracy or in its CE bound
        assert c.accuracy > best or c.cross_entropy < min(
            p.cross_entropy for p in points if p.ops_over_brute < c.ops_over_brute)
        best = max(best, c.accuracy)
    assert best == truth.accuracy  # brute force on the rest reaches the truth
    capped = certify_frontier(model, g, 0, max_ratio=costs[1])
    assert all(c.ops_over_brute <= costs[1] for c in capped) and len(capped) >= 2


def test_budget_takes_the_best_point_within_it():
    from rhoproof import zoo

    g, models = group("S4"), zoo.load("S4", 1)
    points = certify_frontier(models, g, 0)
    for budget in (points[0].ops_over_brute, 1.0):
        cert = certify_model(models, g, 0, budget=budget)
        fits = [c for c in points if c.ops_over_brute <= budget]
        assert cert.ops_over_brute <= budget
        assert cert.certified_inputs == max(c.certified_inputs for c in fits)
        check_stored(cert, models, g)
    nothing = certify_model(models, g, 0, budget=1e-6)
    assert nothing.certified_inputs == 0 and "no V_irrep proof costs" in nothing.reasons[0]
    assert check_stored(nothing, models, g).certified_inputs == 0
    with pytest.raises(ValueError, match="positive"):
        certify_model(models, g, 0, budget=-1.0)


def test_frontier_area():
    assert frontier_area([]) == 0.0
    assert frontier_area([(1e-3, 1.0)]) == pytest.approx(1.0)
    assert frontier_area([(1.0, 1.0)]) == pytest.approx(0.0)
    assert frontier_area([(0.01, 0.5), (0.1, 1.0)]) == pytest.approx((0.5 + 1.0) / 3)
    assert frontier_area([(2.0, 1.0)]) == 0.0  # beyond brute force's cost: not on the curve


def test_exact_group_stage_counts_its_operations():
    g = group("S4")
    model = planted(g, "3d-0", 6, noise=0.05)
    cert, bound = certify_with_bound(model, g, 0, "irrep", "all", exact_neurons=[0, 1, 2])
    stage = cert.stages[-1]
    left = int((~certify_with_bound(model, g, 0, "irrep", "all")[1].certified).sum())
    assert stage.name == "exact_group" and stage.inputs == left
    assert cert.ops["proof_exact_group"] == stage.ops > left * g.order * 3
    assert torch.is_tensor(bound.certified)


def test_checker_runs_the_exact_group_where_its_own_cascade_certified():
    """Red-team finding (issue 23): on this float32 near-tie model the checker's cascade
    certifies an input the prover's does not (exact F* against a float enclosure), so the
    prover's CE bound there is the exact group's; a checker that ran the exact group only on
    its own leftovers refused the honest CE claim."""
    from rhoproof.model import Folded

    w = {"left": [[1.0, 2.0], [-2.0, 1.0], [-2.0, -2.0], [-1.0, 2.0], [1.9999998807907104, 0.0],
                  [-1.0000001192092896, 1.0], [-1.0, -2.0], [-2.0, 2.0]],
         "right": [[-2.0, 0.0], [-1.0, 1.0], [-2.0, 0.0], [-2.0, 0.0], [2.0, 0.0],
                   [-1.0000001192092896, -2.0], [1.401298464324817e-45, -1.0], [1.0, 2.0]],
         "unembed": [[0.0, 1.0, -2.0, -2.0, -2.0, 2.0, 2.0, 1.0000001192092896],
                     [-1.0, 1.0000001192092896, 1.0, -2.0, -1.0, 2.0, -1.0, -2.0]],
         "bias": [-1.0, 2.000000238418579, 2.0, -2.0, 2.0, 1.0, 2.0, -0.9999999403953552]}
    model = Folded(*(torch.tensor([w[k]], dtype=torch.float32)
                     for k in ("left", "right", "unembed", "bias")))
    g = group("D4")
    truth = exact_truth(model, g)
    for r_set in ([], [0], [1], [0, 1]):
        cert = json.loads(json.dumps(certify_model(model, g, 0, per_output="needed",
                                                   exact_neurons=r_set).to_json()))
        assert claim_is_justified(cert, truth)
        assert check_stored(cert, model, g).cross_entropy <= cert["cross_entropy"]


def test_checker_ce_is_the_same_summed_in_slabs(monkeypatch):
    """The checker sums its per-input CE bounds (stage 1's, then the least of it and the later
    stages' and [X1]'s) a slab of rows at a time so that |G| = 5040 needs no [G, G] floats;
    slabs of a few rows give the same count and, to the summation's rounding, the same CE."""
    import importlib

    check_irrep = importlib.import_module("rhoproof.check.irrep")  # the module, not the function
    g = group("S4")
    for noise, seed, mode, r_set in ((0.0002, 3, "needed", []),  # stage 1 settles all
                                     (0.01, 1, "needed", []), (0.01, 1, "all", []),
                                     (0.01, 1, "needed", [0, 5, 9])):  # partly certified
        model = planted(g, "3d-0", 6, noise=noise, seed=seed)
        cert = json.loads(json.dumps(certify_model(model, g, 0, "irrep", mode,
                                                   exact_neurons=r_set).to_json()))
        whole = check_stored(cert, model, g)
        monkeypatch.setattr(check_irrep, "SLAB", 3 * g.order)  # 3 rows a slab
        slabs = check_stored(cert, model, g)
        monkeypatch.undo()
        assert slabs.certified_inputs == whole.certified_inputs
        assert 0 < whole.certified_inputs
        assert math.isfinite(whole.cross_entropy)
        assert math.isclose(slabs.cross_entropy, whole.cross_entropy, rel_tol=1e-12)
