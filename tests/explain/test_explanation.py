"""The explanation of real (small, quickly trained) models: structural invariants only."""

import json

import pytest

from rhoproof.cli import main
from rhoproof.explain.explanation import Explanation, explain, explain_models
from rhoproof.explain.idealize import assert_bi_equivariant
from rhoproof.explain.records import RhoSetCircuitRecord
from rhoproof.run import load_run
from rhoproof.train import TrainConfig, train


@pytest.fixture(scope="module")
def s4_run(s4_run_dir):
    return s4_run_dir


@pytest.fixture(scope="module")
def c5_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "c5"
    train(TrainConfig(group="C5", n_instances=2, d_embed=8, d_hidden=16, epochs=300,
                      train_frac=0.8, eval_every=300), out, progress=False)
    return out


def test_explanations_of_trained_models_are_consistent(s4_run):
    run = load_run(s4_run)
    for e in explain_models(run.model.fold(), run.group):
        assert e.verdict in ("explained", "unexplained")
        assert (e.verdict == "explained") == (e.reasons == [])
        names = {r.name for r in run.group.irreps}
        assert set(e.neuron_counts) <= names | {"mixed", "dead"}
        assert sum(e.neuron_counts.values()) == run.config.d_hidden
        assert_bi_equivariant(e.idealized_model(), run.group, atol=1e-8)
        assert e.faithfulness.bi_equivariance["idealized"] < 1e-8
        for c in e.circuits:
            if isinstance(c, RhoSetCircuitRecord):  # a ρ-set has |G| / |stabilizer| points
                assert c.b_size * c.b_stabilizer_order == run.group.order
                assert c.c_size * c.c_stabilizer_order == run.group.order
        back = Explanation.from_dict(json.loads(e.to_json()))  # typed records round-trip
        assert back.circuits == e.circuits and back.faithfulness == e.faithfulness


def test_api_and_range_check(s4_run):
    from rhoproof.errors import UserError

    run = load_run(s4_run)
    assert explain(run, 1).instance == 1
    with pytest.raises(UserError):
        explain(run, 3)


def test_cyclic_group_gets_a_verdict_not_an_exception(c5_run):
    run = load_run(c5_run)
    e = explain(run, 0)
    assert e.verdict == "unexplained"
    assert any("complex-type" in r for r in e.reasons)


def test_cli_json_text_and_plots(s4_run, tmp_path, capsys):
    assert main(["explain", str(s4_run), "--all", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["models"]) == 3 and data["group"] == "S4"
    assert main(["explain", str(s4_run), "--instance", "2", "--plots", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "model 2:" in out and "models explained" in out
    pngs = sorted(p.name for p in (tmp_path / "p").glob("*.png"))
    assert {"irreps.png", "bi_equivariance.png", "one_minus_r2.png"} <= set(pngs)
    assert all((tmp_path / "p" / n).read_bytes()[:4] == b"\x89PNG" for n in pngs)
    assert all((tmp_path / "p" / n).with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
               for n in pngs)


def test_cli_instance_out_of_range(s4_run, capsys):
    assert main(["explain", str(s4_run), "--instance", "7"]) == 2
    assert "out of range" in capsys.readouterr().err


def test_complex_type_irreps_get_their_own_diagnosis(tmp_path, capsys):
    """Issue 19: on C59, explain and certify blamed 'mixed neurons (94.8% of the weight)' when
    the neurons are single-frequency ones of complex-type irreps, which V_irrep does not
    cover; and printed a vacuous 'idealized 0.0e+00' and a speed ratio for a bound of 0."""
    from rhoproof import zoo
    from rhoproof.cli import main

    run = zoo.export("C59", tmp_path / "c59", 2)
    assert main(["explain", str(run), "--all"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("note: C59 has complex-type irreps: V_irrep does not cover")
    assert out.count("note:") == 1
    reasons = [line for line in out.splitlines() if "reason:" in line]
    assert len(reasons) <= 2 * 2  # grouped: not one line per irrep
    assert all("complex-type irreps not covered by V_irrep yet" in r or "mixed" in r
               for r in reasons)
    big_mixed = [r for r in reasons if r.strip().startswith("reason: mixed neurons")
                 and float(r.split(", ")[-1].split("%")[0]) > 50]
    assert not big_mixed, big_mixed
    assert "idealized n/a (nothing idealized)" in out and "idealized 0.0e+00" not in out
    assert main(["certify", str(run), "--all"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("note: C59 has complex-type irreps") and out.count("note:") == 1
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("0 ", "1 "))]
    assert rows and all(r[-1] == "–" for r in rows)  # bound 0: no speed ratio
    assert "proof/brute ratios n/a" in out


def test_groups_of_real_irreps_get_no_coverage_note():
    from rhoproof.explain.idealize import coverage_note
    from rhoproof.groups import group

    assert coverage_note(group("S5")) is None and coverage_note(group("A5")) is None
    assert "complex" in coverage_note(group("C5")) and "quaternionic" in coverage_note(
        group("Q8"))
