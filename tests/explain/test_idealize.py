"""The idealized model: exact circuits are kept as they are, noisy ones become exactly
bi-equivariant, and what cannot be idealized is zeroed with a reason."""

import pytest
import torch

from rhoproof.explain.idealize import assert_bi_equivariant, bi_equivariance_score, idealize
from rhoproof.groups import group
from rhoproof.model import Folded, GroupMLP

from .. import builders


def test_an_exact_circuit_model_is_its_own_idealization():
    g, f = builders.planted_model()
    assert_bi_equivariant(f, g)
    ideal, report = idealize(f, g)
    for name in ("left", "right", "unembed", "bias"):
        assert torch.allclose(getattr(ideal, name), getattr(f, name), atol=1e-9), name
    assert report.reasons() == [] and list(report.zeroed) == ["dead"]
    assert report.zeroed["dead"]["neurons"] == 3
    assert sorted(c.irrep for c in report.circuits) == ["1d-1", "4d-0"]


def test_noisy_circuits_idealize_to_an_exactly_bi_equivariant_model():
    g, f = builders.planted_model(noise=1e-3, seed=1)
    with pytest.raises(AssertionError):
        assert_bi_equivariant(f, g)
    ideal, report = idealize(f, g)
    assert_bi_equivariant(ideal, g)
    assert float(bi_equivariance_score(ideal, g)[0]) < 1e-9
    assert float(bi_equivariance_score(f, g)[0]) > 1e-6
    # and it stays close to the original
    assert (ideal.left - f.left).norm() / f.left.norm() < 1e-2


def test_incomplete_double_sum_is_zeroed_with_a_reason():
    g, f = builders.planted_model(drop=3)
    ideal, report = idealize(f, g)
    assert any("double sum incomplete" in r for r in report.reasons())
    entry = report.zeroed["4d-0: double sum incomplete"]
    assert entry["neurons"] == 22 and 0.1 < entry["weight_share"] < 1
    assert_bi_equivariant(ideal, g)  # what is left (the sign circuit) is still exact


@pytest.mark.parametrize("spec", ["C5", "S3"])
def test_degenerate_models_give_a_report_not_an_exception(spec):
    g = group(spec)
    random = GroupMLP(g.order, 1, 8, 12, seed=0).fold()
    ideal, report = idealize(random, g)
    assert ideal.left.shape == random.left.shape
    dead = Folded(*(torch.zeros_like(t) for t in (random.left, random.right, random.unembed,
                                                  random.bias)))
    ideal, report = idealize(dead, g)
    assert report.zeroed == {"dead": {"neurons": 12, "weight_share": 0.0}}
    assert report.reasons() == [] and float(ideal.unembed.abs().max()) == 0


def test_complex_irreps_are_reported_not_dropped():
    g = group("C5")
    rep = g.irrep("2d-0")
    rho = rep.tensor()
    left = torch.einsum("gde,e->gd", rho, torch.tensor([1.0, 0.0], dtype=torch.float64))
    f = Folded(left[None], left[None], left.T[None].clone(), torch.zeros(1, 5,
               dtype=torch.float64))
    _, report = idealize(f, g)
    assert any("complex-type" in r for r in report.reasons())


def test_hybrids_of_an_exact_model_change_nothing():
    from rhoproof.explain.explanation import explain_models

    g, f = builders.planted_model()
    (e,) = explain_models(f, g)
    assert e.verdict == "explained"
    loss = e.faithfulness.loss
    assert {"swap_irrep_4d-0", "swap_irrep_1d-1", "swap_bias"} <= set(loss)
    assert all(v == pytest.approx(loss["original"], abs=1e-9) for v in loss.values())
