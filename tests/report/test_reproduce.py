"""rhoproof reproduce: every stage's output, the report, resuming, and refusing a folder that
holds another reproduction."""

import json

import pytest

from rhoproof.cli import main
from rhoproof.errors import ConfigError
from rhoproof.report.reproduce import Reproduction, Settings
from rhoproof.report.writer import _behind, comparison
from rhoproof.zoo import ZooError

FIGURES = ("bounds", "margin_distance", "bi_equivariance", "one_minus_r2", "irreps")


def test_train_reproduction_end_to_end_and_resume(tmp_path, capsys):
    out = tmp_path / "rep"
    args = ["reproduce", "--group", "S3", "--train", "--models", "2", "--epochs", "300",
            "--out", str(out), "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| quantity | paper | rhoproof |" in printed and "report:" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["summary"]["models"] == 2 and len(results["models"]) == 2
    for row in results["models"]:  # every bound is below the truth
        assert row["irrep"] <= row["accuracy"] and row["coset"] <= row["accuracy"]
    report = (out / "report.md").read_text()
    assert "The paper reports no numbers for S3" in report
    assert "mean exact accuracy (all pairs)" in report
    assert results["summary"]["not_generalised"] == sum(
        r["accuracy"] < results["summary"]["generalised_threshold"] for r in results["models"])
    for name in FIGURES:
        assert (out / "figures" / f"{name}.png").stat().st_size > 0
        assert (out / "figures" / f"{name}.pdf").exists()
        assert f"figures/{name}.png" in report
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "certificates").iterdir()}
    assert len(stamps) == 6
    assert main(args) == 0  # again: every stage is reused
    again = capsys.readouterr().out
    assert again.count("done before, reused") == 4
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (out / "certificates").iterdir()}
    assert main(["reproduce", "--group", "S3", "--train", "--models", "3", "--out",
                 str(out), "--quiet"]) == 2  # another reproduction's folder
    assert "other settings" in capsys.readouterr().err


def test_zoo_reproduction_compares_with_the_paper(tmp_path):
    results = Reproduction(Settings(group="S4", models=3), tmp_path / "rep", progress=False,
                           log=lambda s: None).run()
    rows = {r["key"]: r for r in results["comparison"]}
    # issue 19: counts over different numbers of models say their percentages too
    assert rows["bound_ge_0.95"]["paper_shown"] == "17 / 100 (17%)"
    n = results["summary"]["bound_ge_0.95"]
    assert rows["bound_ge_0.95"]["rhoproof_shown"] == f"{n} / 3 ({n / 3:.0%})"
    assert rows["mean_bound_all"]["paper"] == 0.42
    assert all(r["irrep"] <= r["accuracy"] for r in results["models"])


def test_speed_ratios_leave_out_proofs_that_certify_nothing():
    """Issue 19: proofs with bound 0 gave proof/brute ratios in the table."""
    from rhoproof.report.pipeline import summarize_certificates
    from rhoproof.verify.records import Certificate

    def cert(k, acc, proof_s):
        return Certificate(method="irrep", group="S5", group_sha256="0" * 64, instance=k,
                           certified_inputs=round(acc * 14400), accuracy=acc,
                           cross_entropy=1.0, verdict="unexplained",
                           seconds={"proof": proof_s}, brute={"seconds": 1.0})

    (s,) = summarize_certificates([cert(0, 0.0, 5.0), cert(1, 0.99, 0.2), cert(2, 0.0, 9.0)])
    assert s.median_proof_over_brute == 0.2 and s.certified_any == 1
    assert "over the 1 models with a bound above 0" in s.line("S5")
    (none,) = summarize_certificates([cert(0, 0.0, 5.0)])
    assert none.median_proof_over_brute is None
    assert "ratios n/a (no model has a bound above 0)" in none.line("C59")
    rows = {r["key"]: r for r in comparison("C59", {"models": 1, "bound_ge_0.95": 0,
                                                    "proof_over_brute": None,
                                                    "bi_equivariance_idealized": None})}
    assert rows["proof_over_brute"]["rhoproof_shown"] == "n/a (V_irrep certified no model)"
    assert rows["bi_equivariance_idealized"]["rhoproof_shown"] == "n/a (nothing idealized)"


def test_behind_the_paper_logic():
    assert _behind(0.3, 0.45, "higher") and not _behind(0.5, 0.45, "higher")
    assert not _behind(0.85, [0.82, 0.91], "higher")  # inside the paper's range
    assert _behind(5.0, 4.0, "lower") and not _behind(3.0, 4.0, "lower")
    assert not _behind(1.0, 2.0, None)
    rows = {r["key"]: r for r in comparison("S5", {"models": 50, "bound_ge_0.95": 30})}
    assert not rows["bound_ge_0.95"]["behind"]  # 30/50 = 0.6 beats 45/100


def test_bad_settings(tmp_path):
    with pytest.raises(ConfigError):
        Settings(group="S5", models=0)
    with pytest.raises(ConfigError):
        Settings(group="S5", source="web")
    with pytest.raises(ZooError, match="no zoo models"):  # before anything is written
        Reproduction(Settings(group="S3"), tmp_path / "rep", log=lambda s: None)
    assert not (tmp_path / "rep").exists()


def test_paper_criterion():
    from rhoproof.explain.records import RhoSetCircuitRecord, SignCircuitRecord
    from rhoproof.report.writer import paper_criterion

    sign = SignCircuitRecord("1d-1", 4, "idealized").to_json()
    full = RhoSetCircuitRecord("4d-0", 25, 5, 5, "S4 (24)", "S4 (24)", 24, 24, 0, 0, 1e-7,
                               "idealized").to_json()
    assert paper_criterion({"circuits": [sign, full]})
    assert not paper_criterion({"circuits": [{**full, "a_variance": 1e-3}]})
    assert paper_criterion({"circuits": [{**full, "missing_pairs": 3}]})  # 12%: not "bad"
    bad = {**full, "missing_pairs": 10}  # 40% missing
    assert not paper_criterion({"circuits": [bad]})
    assert paper_criterion({"circuits": [bad, full]})  # another circuit of the irrep is fine
    # no ρ-set circuit at all: not explained (issue 13: it passed vacuously)
    assert not paper_criterion({"circuits": []}) and not paper_criterion({"circuits": [sign]})


def test_python_api(tmp_path):
    import importlib

    rhoproof = importlib.import_module("rhoproof")
    results = rhoproof.reproduce("S4", str(tmp_path / "rep"), models=2, progress=False)
    assert results["summary"]["models"] == 2 and (tmp_path / "rep" / "report.md").exists()


@pytest.mark.parametrize("argv, message", [
    (["reproduce", "--group", "XYZ"], "unknown group spec"),
    (["reproduce", "--group", "S7"], "no zoo models"),
    (["reproduce", "--group", "S5", "--models", "0"], "positive integer"),
    (["reproduce", "--group", "S4", "--models", "1000"], "the S4 zoo has 100 models"),
    (["reproduce", "--group", "S4", "--epochs", "5"], "--epochs applies to --train only"),
    (["reproduce", "--group", "S4", "--seed", "3"], "--seed applies to --train only"),
    (["reproduce", "--group", "S4", "--train", "--device", "cuda:7"], "CUDA"),
    (["zoo", "export"], "needs a group and --out"),
])
def test_cli_errors_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("rhoproof: error:") and message in err and err.count("\n") == 1


def test_a_refused_reproduction_writes_nothing(tmp_path, monkeypatch):
    """Issue 13: a reproduction refused for its settings left settings.json behind, and the
    corrected command was then refused on the same folder ("other settings")."""
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--group", "S4", "--models", "1000", "--out", "rep"]) == 2
    assert main(["reproduce", "--group", "S4", "--train", "--device", "cuda:7", "--out",
                 "rep"]) == 2
    assert not (tmp_path / "rep" / "settings.json").exists()
    Reproduction(Settings(group="S4", models=2), tmp_path / "rep", log=lambda s: None)
    assert (tmp_path / "rep" / "settings.json").exists()  # the corrected one is accepted


def test_corrupt_settings_file(tmp_path):
    from rhoproof.errors import RunError

    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "settings.json").write_text("{not json")
    with pytest.raises(RunError, match="corrupt"):
        Reproduction(Settings(group="S4", models=2), tmp_path / "rep", log=lambda s: None)


def test_outputs_of_another_version_are_redone(tmp_path, monkeypatch):
    import importlib

    version = importlib.import_module("rhoproof._version")
    out = tmp_path / "rep"
    Reproduction(Settings(group="S4", models=2), out, progress=False, log=lambda s: None).run()
    monkeypatch.setattr(version, "__version__", "9.9.9")
    said = []
    Reproduction(Settings(group="S4", models=2), out, progress=False, log=said.append).run()
    assert sum("running" in s for s in said) == 4  # evaluate, explain, certify, report
    assert json.loads((out / "certificates" / "irrep_0.json").read_text()
                      )["versions"]["rhoproof"] == "9.9.9"


def test_stage_outputs_follow_the_weights(tmp_path, capsys):
    """Issue 13: evaluate.json and explain.json were reused after the run's weights changed
    (trained further with --resume) while the certificates were redone; every stage output
    now records the weights' SHA-256 and is redone when it differs."""
    out = tmp_path / "rep"
    args = ["reproduce", "--group", "S3", "--train", "--models", "2", "--epochs", "200",
            "--out", str(out), "--quiet"]
    assert main(args) == 0
    before = json.loads((out / "evaluate.json").read_text())["weights_sha256"]
    assert main(["train", "--out", str(out / "run"), "--resume", "--epochs", "260",
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "[evaluate] running" in said and "[explain] running" in said
    assert "[certify] running" in said and "[models] done before, reused" in said
    after = json.loads((out / "evaluate.json").read_text())["weights_sha256"]
    explained = json.loads((out / "explain.json").read_text())["weights_sha256"]
    assert after == explained != before


def test_report_warns_about_models_that_did_not_generalise(tmp_path):
    """Issue 13: runs that memorised their training split passed silently."""
    out = tmp_path / "rep"
    assert main(["reproduce", "--group", "S3", "--train", "--models", "2", "--epochs", "3",
                 "--out", str(out), "--quiet"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["summary"]["not_generalised"] == 2
    assert "did not generalise" in (out / "report.md").read_text()


def test_figures_are_readable(tmp_path, monkeypatch):
    """Issue 13: box-plot medians were hard to see, and the 3-d ρ-set figures had unequal axes
    (the A4 tetrahedron's view hid a vertex)."""
    import torch

    from rhoproof.explain.rho_sets import smallest_rho_set
    from rhoproof.groups import group
    from rhoproof.report import explain_plots

    figures = []
    monkeypatch.setattr(explain_plots, "_save", lambda fig, path: figures.append(fig) or path)
    g = group("A4")
    rep = next(r for r in g.irreps if r.dim == 3)
    explain_plots.rho_set_figure(smallest_rho_set(g, rep), g, rep.name, tmp_path / "t.png")
    ax = figures[-1].axes[0]
    assert ax.get_xlim() == ax.get_ylim() == ax.get_zlim()
    explain_plots.bi_equivariance_boxplot([], torch.tensor([1.0, 2.0]), tmp_path / "b.png")
    thick = [line for line in figures[-1].axes[0].lines
             if line.get_color() == "black" and line.get_linewidth() >= 2]
    assert len(thick) == 3  # one thick black median per box (random, trained, idealized)


def test_one_stage_runner_with_one_freshness_rule(s4_run_dir, tmp_path):
    """Issue 20: reproduce and the sweep share report.stages; an artifact is reused only when
    made from these weights, by this version, with these options."""
    from rhoproof.report.stages import StageOptions, Stages
    from rhoproof.run import WEIGHTS, load_run
    from rhoproof.verify.certificate import weights_digest

    run = load_run(s4_run_dir)
    digest = weights_digest(run.path / WEIGHTS)
    heard: list[tuple[str, bool]] = []

    def stages(**options):
        return Stages(run, tmp_path, digest, StageOptions(methods=("irrep",), **options),
                      log=lambda name, reused: heard.append((name, reused)))

    first = stages()
    first.evaluate(), first.explain(), first.certify([0])
    stages().evaluate(), stages().explain(), stages().certify([0])
    assert heard == [("evaluate", False), ("explain", False), ("certify", False),
                     ("evaluate", True), ("explain", True), ("certify", True)]
    heard.clear()
    other = stages(threshold=0.9, per_output="needed")
    other.evaluate(), other.explain()
    certs = other.certify([0])
    assert heard == [("evaluate", True), ("explain", False), ("certify", False)]
    assert certs[0].per_output == "needed"
    assert json.loads((tmp_path / "explain.json").read_text())["options"]["threshold"] == 0.9
    heard.clear()
    Stages(run, tmp_path, "0" * 64).evaluate()  # other weights: redone
    assert heard == []  # (no log given) and the file now names the other digest
    assert json.loads((tmp_path / "evaluate.json").read_text())["weights_sha256"] == "0" * 64
