"""The command line: output, JSON, and one-line errors with exit code 2."""

import json

import pytest

from rhoproof.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_groups_table(capsys):
    code, out, _ = _run(capsys, "groups", "S4")
    assert code == 0
    assert "order 24, 5 conjugacy classes, 30 subgroups" in out
    assert "3d-0" in out and "real" in out


def test_groups_json(capsys):
    code, out, _ = _run(capsys, "groups", "Q8", "--json")
    data = json.loads(out)
    assert code == 0 and data["order"] == 8 and data["subgroups"] == 6
    assert [r["type"] for r in data["irreps"]].count("quaternionic") == 1


@pytest.mark.parametrize("argv, message", [  # issue 19: argparse's own errors, one line each
    (["train", "--dtype", "float8", "--out", "OUT"], "--dtype: invalid choice: 'float8'"),
    (["train", "--dtype", "float6", "--out", "OUT"], "did you mean float64?"),
    (["certify", "RUN", "--method", "foo"], "--method: invalid choice"),
    (["sweep", "f.toml", "--backend", "slurm"], "--backend: invalid choice"),
    (["zoo", "bogus"], "invalid choice: 'bogus'"),
    (["evaluate"], "evaluate: the following arguments are required: run_dir"),
    (["train", "--group", "S5", "--nonsense-flag"], "unrecognized option --nonsense-flag"),
    (["certify", "RUN", "--methd", "irrep"], "--methd (did you mean --method?)"),
    (["train", "--epochs", "abc", "--out", "OUT"], "--epochs: invalid int value: 'abc'"),
    (["explain", "RUN", "--instance", "0", "--all"], "not allowed with argument"),
    (["certify", "RUN", "--instance", "0", "--all"], "not allowed with argument"),
    (["evaluat", "RUN"], "unknown command: 'evaluat'"),
    (["sweep"], "sweep: the following arguments are required"),
    (["check", "c.json"], "check: the following arguments are required: run_dir"),
])
def test_option_errors_are_one_line(capsys, tmp_path, argv, message):
    argv = [a.replace("OUT", str(tmp_path / "r")).replace("RUN", str(tmp_path / "run"))
            for a in argv]
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("rhoproof: error:") and message in err, err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv, message", [
    (["groups", "S0"], "n must be at least 1"),
    (["groups", "XYZ"], "unknown group spec"),
    (["groups", "table:/nonexistent.json"], "not found"),
    (["evaluate", "/nonexistent-run"], "does not exist"),
    (["train", "--group", "S3", "--models", "0", "--out", "OUT"], "--models must be"),
    (["train", "--group", "Z5", "--out", "OUT"], "unknown group spec"),
    (["train", "--out", "OUT", "--resume"], "does not exist"),
    (["train", "--group", "S3", "--out", "OUT", "--resume"], "only --epochs may change"),
])
def test_errors_are_one_line_with_exit_code_2(capsys, tmp_path, argv, message):
    argv = [a.replace("OUT", str(tmp_path / "r")) for a in argv]
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("rhoproof: error:") and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_unwritable_output(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = _run(capsys, "train", "--group", "S3", "--epochs", "1", "--out",
                        str(blocker / "run"), "--quiet")
    assert code == 2 and "cannot create directory" in err


def test_train_then_evaluate(capsys, tmp_path):
    out = tmp_path / "r"
    code, text, _ = _run(capsys, "train", "--group", "C5", "--models", "2", "--epochs", "20",
                         "--d-embed", "8", "--d-hidden", "16", "--eval-every", "10",
                         "--out", str(out), "--quiet")
    assert code == 0 and "2 models, epoch 20" in text
    code, text, _ = _run(capsys, "evaluate", str(out), "--json")
    data = json.loads(text)
    assert code == 0 and data["instances"] == 2 and len(data["accuracy"]) == 2
    code, text, _ = _run(capsys, "evaluate", str(out))
    assert code == 0 and "mean accuracy" in text
    # resuming with more epochs extends the same run
    code, text, _ = _run(capsys, "train", "--out", str(out), "--resume", "--epochs", "30",
                         "--quiet")
    assert code == 0 and "epoch 30" in text


def test_demo_small(capsys, tmp_path):
    code, text, _ = _run(capsys, "demo", "--out", str(tmp_path / "d"), "--models", "1",
                         "--epochs", "10", "--quiet")
    assert code == 0 and "model 0: accuracy" in text


def test_thread_policy(monkeypatch, capsys):
    """Issue 13: a thread count chosen from the load, --threads, and OMP_NUM_THREADS."""
    import os

    import torch

    from rhoproof import threads as policy

    assert 0.0 <= policy.busy_cores() <= (os.cpu_count() or 1) + 0.01
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    for busy, threads in ((2.6, 1), (0.1, 4), (9.0, 1), (1.2, 3)):
        monkeypatch.setattr(policy, "busy_cores", lambda busy=busy: busy)
        assert policy.default_threads() == threads
    before = torch.get_num_threads()
    try:
        assert main(["groups", "S3", "--no-subgroups"]) == 0  # no torch work: untouched
        assert torch.get_num_threads() == before
        assert main(["evaluate", "nowhere", "--threads", "0"]) == 2
        assert "--threads must be a positive integer" in capsys.readouterr().err
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        main(["evaluate", "nowhere", "--threads", "1"])
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_small_cli_items(capsys, tmp_path):
    """Issue 13 (smaller items): plurals, --json for zoo list and check, help with examples."""
    assert main(["groups", "C1"]) == 0
    out = capsys.readouterr().out
    assert "1 conjugacy class" in out and "1 subgroup" in out and "classes" not in out
    assert main(["zoo", "list", "S4", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert set(listed) == {"S4"} and listed["S4"]["models"] == 100
    from rhoproof import zoo
    from rhoproof.run import load_run
    from rhoproof.verify.certificate import certify

    run_dir = zoo.export("S4", tmp_path / "s4", n_models=1)
    cert = tmp_path / "c.json"
    cert.write_text(json.dumps(certify(load_run(run_dir), 0, "irrep").to_json()))
    assert main(["check", str(cert), str(run_dir), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["ok"] and res["certified_inputs"] == 576 and res["method"] == "irrep"
    for cmd in ("evaluate", "certify", "check"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        assert "example: rhoproof" in capsys.readouterr().out


def test_large_groups_get_a_note_before_a_long_build(capsys, monkeypatch):
    """Issue 13: S7 built for minutes and GBs with no output."""
    from rhoproof import cli
    from rhoproof.groups.specs import spec_order

    assert spec_order("S7") == 5040 and spec_order("C3xC5") == 15
    monkeypatch.setattr(cli, "cmd_groups", lambda args: None)  # the note, not the build
    assert main(["groups", "S7"]) == 0
    assert "S7 has order 5040" in capsys.readouterr().err
    assert main(["groups", "S3"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("after", ["", "from rhoproof.cli import main; "])
def test_ctrl_c_while_the_command_line_starts_is_one_line(after):
    """Issue 13: the console script's first statements take over SIGINT, so a Ctrl-C that
    arrives while the CLI's modules import (or just after) gives one line and exit 130, not a
    traceback (tested deterministically: the process signals itself)."""
    import subprocess
    import sys

    code = ("import rhoproof._entry, os, signal, time; " + after +
            "os.kill(os.getpid(), signal.SIGINT); time.sleep(30)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 130 and res.stderr == "rhoproof: interrupted\n", res.stderr


def test_the_console_script_hands_ctrl_c_back_to_the_command(tmp_path):
    """After start-up, Ctrl-C is Python's KeyboardInterrupt again, which main turns into one
    line (and training into a checkpoint): main(restore_sigint=True) restores it."""
    import signal

    from rhoproof import _entry  # noqa: F401  (installs the start-up handler)

    try:
        assert main(["groups", "C2", "--no-subgroups"], restore_sigint=True) == 0
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.mark.parametrize("argv", [
    ["groups", "C5"], ["groups", "S4", "--json"], ["zoo", "list"],
    ["check", "/nonexistent.json", "run"], ["check", "README.md", "run"],
    ["sweep", "/nonexistent.toml"], ["train", "--dtype", "float8"], ["evaluat"],
])
def test_commands_that_need_no_torch_do_not_import_it(argv):
    """Issue 19: `rhoproof groups C5` took 3.2 s, nearly all of it importing torch."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys; from rhoproof.cli import main; main(sys.argv[1:]); "
            "print('torch' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                         timeout=60, cwd=Path(__file__).parents[1])
    assert res.stdout.splitlines()[-1] == "False", (res.stdout, res.stderr)


def test_check_of_a_file_that_is_no_certificate_says_so(capsys, tmp_path):
    """The fresh-clone review: `check config.json RUN` blamed the weights' SHA-256."""
    from rhoproof import zoo

    run = zoo.export("S4", tmp_path / "s4", 1)
    (tmp_path / "empty.json").write_text("{}")
    for bad in (tmp_path / "empty.json", run / "config.json"):
        code, _, err = _run(capsys, "check", str(bad), str(run))
        assert code == 2 and "not a rhoproof-certificate-3 certificate" in err, err


def test_an_unknown_top_level_option_is_named(capsys):
    code, _, err = _run(capsys, "--help-me")
    assert code == 2 and "unrecognized option --help-me (did you mean --help?)" in err


def test_oversized_certificate_and_config_are_one_line(tmp_path, capsys):
    """Issue 20: a certificate over 64 MiB, and a config.json over 1 MiB, are refused in one
    line (exit 2) before they are parsed. The files are sparse: nothing big is written."""
    import os

    from rhoproof._io import MAX_CERTIFICATE
    from rhoproof.run import MAX_CONFIG_FILE

    cert = tmp_path / "huge.json"
    cert.write_text("{}")
    os.truncate(cert, MAX_CERTIFICATE + 1)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    os.truncate(run / "config.json", MAX_CONFIG_FILE + 1)
    assert main(["check", str(cert), str(run)]) == 2
    err = capsys.readouterr().err
    assert "larger than any certificate" in err and len(err.strip().splitlines()) == 1
    assert main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err
    assert "larger than any run config" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("extra, message", [  # issue 23: --budget and --frontier
    (["--budget", "-0.1"], "--budget must be a positive share"),
    (["--budget", "nan"], "--budget must be a positive share"),
    (["--budget", "0.1", "--method", "coset"], "--budget and --frontier apply to --method irrep"),
    (["--frontier", "--method", "all"], "--budget and --frontier apply to --method irrep"),
    (["--budget", "0.1", "--frontier"], "use one"),
    (["--frontier", "--exact"], "--exact does not combine"),
])
def test_budget_errors_are_one_line(capsys, s4_run_dir, extra, message):
    code, out, err = _run(capsys, "certify", str(s4_run_dir), *extra)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_certify_budget_and_frontier(capsys, s4_run_dir, tmp_path):
    out = tmp_path / "certs"
    code, text, _ = _run(capsys, "certify", str(s4_run_dir), "--frontier", "--out", str(out))
    assert code == 0 and "frontier area" in text and "V_irrep cascade (needed)" in text
    table = json.loads((out / "frontier_0.json").read_text())
    assert table["truth"] == 1.0 and 0 < table["area"] < 1
    points = table["points"]
    assert points and [p["ops_over_brute"] for p in points] == \
        sorted(p["ops_over_brute"] for p in points)
    first = out / points[0]["certificate"]
    code, text, _ = _run(capsys, "check", str(first), str(s4_run_dir))
    assert code == 0 and text.startswith("OK:")
    budget = points[0]["ops_over_brute"]
    code, text, _ = _run(capsys, "certify", str(s4_run_dir), "--budget", str(budget * 1.001),
                         "--out", str(out), "--json")
    cert = json.loads(text)[0]
    assert (out / f"irrep-budget-{budget * 1.001:g}_0.json").exists()
    assert code == 0 and cert["ops"]["brute"] * budget * 1.001 >= sum(
        v for k, v in cert["ops"].items() if k.startswith("proof_"))
    assert cert["certified_inputs"] == max(p["certified_inputs"] for p in points
                                           if p["ops_over_brute"] <= budget * 1.001)


def test_groups_refuses_subgroups_of_s7_at_once(capsys, monkeypatch):
    """New-user finding (session 13): `groups S7` enumerated subgroups for ever; now refused
    before the group is built, naming --no-subgroups."""
    import rhoproof.groups

    def no_build(spec):
        raise AssertionError(f"built {spec}")

    monkeypatch.setattr(rhoproof.groups, "group", no_build)
    code, out, err = _run(capsys, "groups", "S7")
    assert code == 2 and out == "" and "--no-subgroups" in err.splitlines()[-1]
