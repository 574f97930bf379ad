"""Red-team findings of issue 20 on the exact tie-breaking, as regressions."""

import torch

from rhoproof.evaluate import evaluate
from rhoproof.groups import group
from rhoproof.model import Folded
from rhoproof.testing import exact_truth
from rhoproof.verify.certificate import certify_model, check_stored


def test_limb_planes_below_the_smallest_subnormal_are_not_dropped():
    """torch.ldexp multiplies by 2**p, which is 0 below 2^-1074: the float bounds of a limb
    value lost a plane worth up to 2^-1033 and a wrong input counted as correct. The true
    difference here is about 2^-1035 − 2^-1040 > 0 (the input is wrong)."""
    g = group("C2")
    f64 = torch.float64
    left = torch.zeros(1, 2, 2, dtype=f64)
    left[0, :, 0] = (2**21 - 1) * 2.0**-3
    left[0, :, 1] = 1.0
    right = torch.zeros(1, 2, 2, dtype=f64)
    right[0, 0, 0] = 2.0**-1074
    unembed = torch.zeros(1, 2, 2, dtype=f64)
    unembed[0, 0, 1] = (2**21 - 1) * 2.0**-1074
    unembed[0, 1, 1] = -(2.0**-1040)
    model = Folded(left, right, unembed, torch.zeros(1, 2, dtype=f64))
    truth = exact_truth(model, g)
    assert float(evaluate(model, g).accuracy[0]) == truth.accuracy
    cert = certify_model(model, g, 0, "brute")
    assert cert.certified_inputs == truth.correct
    assert check_stored(cert, model, g).certified_inputs == truth.correct


def test_the_trivial_group_through_the_exact_path():
    """|G| = 1 has no wrong output: the exact path's cross-entropy of nothing is 0, not an
    IndexError (reached with logits that overflow the float enclosure)."""
    g = group("C1")
    big = torch.full((1, 1, 1), 2.0**1000, dtype=torch.float64)
    model = Folded(big, big, big.clone(), torch.zeros(1, 1, dtype=torch.float64))
    ev = evaluate(model, g)
    assert float(ev.accuracy[0]) == 1.0 and float(ev.loss[0]) < 1e-200
    cert = certify_model(model, g, 0, "brute")
    assert check_stored(cert, model, g).certified_inputs == 1
