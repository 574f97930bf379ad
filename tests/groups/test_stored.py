"""Issue 19 §1: a run and a certificate name their group by its content (the SHA-256 of its
Cayley table), so they mean the same group from every working directory."""

import json
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from rhoproof.check import CheckFailed, check_file, table_sha256
from rhoproof.cli import main
from rhoproof.errors import GroupSpecError, RunError
from rhoproof.groups import group
from rhoproof.groups.group import table_sha256 as prover_table_sha256
from rhoproof.groups.stored import group_from_record, group_record
from rhoproof.run import GROUP, WEIGHTS, load_run


def _f20() -> np.ndarray:
    """The Frobenius group F20: x -> a·x + b on Z/5, a in {1, 2, 3, 4}; index 5·(a-1) + b."""
    maps = [(a, b) for a in range(1, 5) for b in range(5)]
    idx = {ab: i for i, ab in enumerate(maps)}
    # (a1, b1)∘(a2, b2): x -> a1(a2 x + b2) + b1
    return np.array([[idx[(a1 * a2 % 5, (a1 * b2 + b1) % 5)] for (a2, b2) in maps]
                     for (a1, b1) in maps])


def _write_table(path, table):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"elements": [f"g{i}" for i in range(len(table))],
                                "table": np.asarray(table).tolist()}))


@pytest.fixture(scope="module")
def f20_run(tmp_path_factory):
    """A run trained on table:tables/f20.json in directory A."""
    base = tmp_path_factory.mktemp("pin")
    a = base / "A"
    _write_table(a / "tables" / "f20.json", _f20())
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(a)
        assert main(["train", "--group", "table:tables/f20.json", "--models", "2", "--epochs",
                     "300", "--d-embed", "16", "--d-hidden", "32", "--train-frac", "0.9",
                     "--out", "run", "--quiet"]) == 0
    return base


def _evaluate_json(capsys, run):
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    return out["accuracy"] if "accuracy" in out else [m["accuracy"] for m in out["models"]]


def test_the_reproduction_gives_the_same_answer_from_any_directory(f20_run, capsys,
                                                                    monkeypatch):
    """Train in A; in B a different tables/f20.json (C20's table) stands at the same relative
    path. Before: evaluate in B reported another accuracy, certify wrote a certificate for the
    wrong group and check accepted it. Now every stage reads the run's stored table."""
    a, b = f20_run / "A", f20_run / "B"
    _write_table(b / "tables" / "f20.json", group("C20").table_np)
    run_a = a / "run"
    assert (run_a / GROUP).exists()
    monkeypatch.chdir(a)
    in_a = _evaluate_json(capsys, run_a)
    assert main(["certify", str(run_a), "--method", "brute", "--out", str(a / "certs")]) == 0
    monkeypatch.chdir(b)
    assert _evaluate_json(capsys, run_a) == in_a  # the same numbers from B
    assert load_run(run_a).group.sha256 == prover_table_sha256(_f20())
    assert main(["check", str(a / "certs" / "brute_0.json"), str(run_a)]) == 0
    assert main(["certify", str(run_a), "--method", "brute", "--out", str(b / "certs")]) == 0
    cert_b = json.loads((b / "certs" / "brute_0.json").read_text())
    cert_a = json.loads((a / "certs" / "brute_0.json").read_text())
    assert cert_b["group_sha256"] == cert_a["group_sha256"] == table_sha256(_f20())
    assert cert_b["certified_inputs"] == cert_a["certified_inputs"]


def test_a_certificate_for_another_table_is_refused(f20_run, tmp_path):
    run = f20_run / "A" / "run"
    loaded = load_run(run)
    from rhoproof.verify.certificate import certify

    cert = json.loads(json.dumps(certify(loaded, 0, "brute").to_json()))
    weights = run / WEIGHTS
    res = check_file(cert, weights, _f20(), loaded.group.spec)
    assert res.certified_inputs == cert["certified_inputs"]
    assert res.claim.group_sha256 == table_sha256(_f20()) != res.claim.weights_sha256
    c20 = group("C20").table_np  # same order, same label: only the hash tells them apart
    with pytest.raises(CheckFailed, match="another group"):
        check_file(cert, weights, c20, loaded.group.spec)
    forged = {**cert, "group_sha256": table_sha256(c20)}
    with pytest.raises(CheckFailed, match="another group"):
        check_file(forged, weights, _f20(), loaded.group.spec)
    # weights whose metadata records another group are refused whatever the certificate says
    tensors = load_file(str(weights))
    other = tmp_path / "w.safetensors"
    save_file(tensors, str(other), {"format": "rhoproof-run-1", "group": loaded.group.spec,
                                    "group_sha256": table_sha256(c20)})
    import hashlib

    moved = {**cert, "weights_sha256": hashlib.sha256(other.read_bytes()).hexdigest()}
    with pytest.raises(CheckFailed, match="trained on another group"):
        check_file(moved, other, _f20(), loaded.group.spec)


def test_older_certificate_formats_are_refused_with_a_reason(f20_run):
    from rhoproof.verify.certificate import CertificateError, certify, check_certificate

    run = load_run(f20_run / "A" / "run")
    cert = certify(run, 0, "brute")
    old = {k: v for k, v in cert.to_json().items() if k != "group_sha256"} | {
        "format": "rhoproof-certificate-2"}
    with pytest.raises(CertificateError, match="older certificate format"):
        check_certificate(old, run)


def test_a_hand_edited_stored_table_is_refused(f20_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(f20_run / "A" / "run", run)
    record = json.loads((run / GROUP).read_text())
    not_a_group = json.loads(json.dumps(record))
    not_a_group["table"][0][0] = 1  # e·e = g1: no identity any more
    (run / GROUP).write_text(json.dumps(not_a_group))
    assert main(["evaluate", str(run)]) == 2
    assert "the stored table is not a group" in capsys.readouterr().err
    relabelled = json.loads(json.dumps(record))  # a group, but another table: hash mismatch
    perm = np.r_[0, np.arange(1, 20)[::-1]]  # a relabelling fixing the identity
    inv = np.argsort(perm)
    relabelled["table"] = inv[_f20()[np.ix_(perm, perm)]].tolist()
    (run / GROUP).write_text(json.dumps(relabelled))
    assert main(["evaluate", str(run)]) == 2
    assert "hashes to" in capsys.readouterr().err
    (run / GROUP).write_text(json.dumps({**relabelled, "sha256": prover_table_sha256(
        np.array(relabelled["table"]))}))  # hash fixed too: the weights' metadata disagrees
    assert main(["evaluate", str(run)]) == 2
    assert "trained on another table" in capsys.readouterr().err


def test_a_run_of_an_earlier_version_asks_for_its_table_once(f20_run, tmp_path, capsys,
                                                             monkeypatch):
    """0.2 runs name a table: group by path only: refused with one line; --table stores the
    copy; a --table that is another group is refused; nothing is re-resolved silently."""
    run = tmp_path / "old"
    shutil.copytree(f20_run / "A" / "run", run)
    (run / GROUP).unlink()
    weights = run / WEIGHTS
    save_file(load_file(str(weights)), str(weights), {"format": "rhoproof-run-1",
                                                      "group": "table:tables/f20.json"})
    monkeypatch.chdir(f20_run / "B")  # where tables/f20.json is C20's table
    assert main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err
    assert "earlier rhoproof" in err and "--table PATH" in err and len(err.splitlines()) == 1
    assert not (run / GROUP).exists()
    f20_file = f20_run / "A" / "tables" / "f20.json"
    assert main(["evaluate", str(run), "--table", str(f20_file)]) == 0
    assert "stored the group's table" in capsys.readouterr().err
    assert json.loads((run / GROUP).read_text())["sha256"] == table_sha256(_f20())
    assert main(["evaluate", str(run)]) == 0  # from now on the stored copy
    assert main(["evaluate", str(run), "--table", "tables/f20.json"]) == 2
    assert "is not the group stored" in capsys.readouterr().err


def test_group_records_round_trip_and_pin_builtin_specs():
    for spec in ("S4", "C3xC5", "Q8"):
        grp = group(spec)
        assert group_from_record(group_record(grp), "g.json") == grp
    rec = group_record(group("S4"))
    with pytest.raises(GroupSpecError, match="hashes to"):
        group_from_record({**rec, "sha256": "0" * 64}, "g.json")
    with pytest.raises(GroupSpecError, match="order"):
        group_from_record({**rec, "order": 25}, "g.json")
    with pytest.raises(GroupSpecError, match="not a stored group"):
        group_from_record([], "g.json")
    # the prover's and the checker's hashes agree (two implementations of one definition)
    for spec in ("S4", "D5", "C1"):
        assert group(spec).sha256 == table_sha256(group(spec).table_np)


def test_a_wrong_table_is_refused_by_load_run(f20_run, tmp_path):
    run = tmp_path / "old2"
    shutil.copytree(f20_run / "A" / "run", run)
    with pytest.raises(RunError, match="is not the group stored"):
        load_run(run, table=f20_run / "B" / "tables" / "f20.json")


def test_a_reproduction_folder_is_pinned_to_its_table(f20_run, tmp_path, capsys, monkeypatch):
    """reproduce --group table:PATH reused a folder made from another table at that path."""
    out = tmp_path / "rep"
    argv = ["reproduce", "--group", "table:tables/f20.json", "--train", "--models", "2",
            "--epochs", "20", "--out", str(out), "--quiet"]
    monkeypatch.chdir(f20_run / "A")
    assert main(argv) == 0
    monkeypatch.chdir(f20_run / "B")  # tables/f20.json here is C20's table
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "group_sha256" in err and err.count("\n") == 1


# --- the red-team review of issue 19 (each a regression test) ---------------------------------


def _as_old_run(src, dst):
    """A copy of ``src`` as rhoproof 0.2 wrote it: no group.json, no group hash anywhere."""
    from safetensors import safe_open

    shutil.copytree(src, dst)
    (dst / GROUP).unlink()
    for name in (WEIGHTS, "checkpoint.safetensors"):
        if not (dst / name).exists():
            continue
        with safe_open(str(dst / name), "np") as fh:
            meta = {k: v for k, v in (fh.metadata() or {}).items() if k != "group_sha256"}
        save_file(load_file(str(dst / name)), str(dst / name), meta)


def test_a_non_group_table_is_refused_in_quadratic_time():
    """A table that is not a Latin square made the generator search cubic (order 2400: 194 s,
    order 5040: ~30 min per command)."""
    n = 2400
    i = np.arange(n)
    t = np.minimum(np.maximum(i[:, None], i[None, :]) + 1, n - 1)
    t[0, :], t[:, 0], t[i, i] = i, i, 0
    from rhoproof.groups.group import validate_table

    with pytest.raises(GroupSpecError, match="repeats an element"):
        validate_table(t)
    loop = np.array([[0, 1, 2, 3, 4], [1, 0, 3, 4, 2], [2, 4, 0, 1, 3], [3, 2, 4, 0, 1],
                     [4, 3, 1, 2, 0]])  # a Latin square with identity and inverses, not a group
    with pytest.raises(GroupSpecError, match="not associative"):
        validate_table(loop)


def test_a_wrong_table_for_an_old_run_is_refused_and_not_stored(f20_run, tmp_path, capsys):
    old = tmp_path / "old"
    _as_old_run(f20_run / "A" / "run", old)
    c20, s4 = tmp_path / "c20.json", tmp_path / "s4.json"
    _write_table(c20, group("C20").table_np)
    _write_table(s4, group("S4").table_np)
    assert main(["evaluate", str(old), "--table", str(s4)]) == 2  # another order: shapes
    assert main(["evaluate", str(old), "--table", str(c20)]) == 2  # same order: the metrics
    err = capsys.readouterr().err
    assert "is not the table this run was trained on" in err
    assert not (old / GROUP).exists()  # a refused table is never stored
    assert main(["train", "--out", str(old), "--resume", "--epochs", "310", "--quiet"]) == 2
    assert "rhoproof evaluate" in capsys.readouterr().err  # train has no --table: say which
    assert main(["evaluate", str(old), "--table", str(f20_run / "A" / "tables" / "f20.json")]) \
        == 0
    assert json.loads((old / GROUP).read_text())["sha256"] == table_sha256(_f20())


def test_resume_refuses_a_swapped_group_and_never_opens_the_path(f20_run, tmp_path,
                                                                  monkeypatch, capsys):
    run = tmp_path / "r"
    shutil.copytree(f20_run / "A" / "run", run)
    monkeypatch.chdir(tmp_path)  # no tables/f20.json here: the stored copy is what counts
    assert main(["train", "--out", str(run), "--resume", "--epochs", "310", "--quiet"]) == 0
    rec = group_record(group("C20"))
    rec["spec"] = "table:tables/f20.json"
    rec["elements"], rec["table"] = [str(i) for i in range(20)], group("C20").table_np.tolist()
    (run / GROUP).write_text(json.dumps(rec))
    capsys.readouterr()
    assert main(["train", "--out", str(run), "--resume", "--epochs", "320", "--quiet"]) == 2
    assert "trained on another table" in capsys.readouterr().err


def test_a_spec_spelled_otherwise_names_one_group(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "--group", " C2 x C3", "--epochs", "2", "--d-hidden", "8", "--out",
                 str(out), "--quiet"]) == 0
    assert json.loads((out / "config.json").read_text())["config"]["group"] == "C2xC3"
    assert main(["evaluate", str(out)]) == 0


@pytest.mark.parametrize("text", [
    '{"format": "rhoproof-group-1", "spec": "table:t.json", "order": 2, "sha256": "' + "0" * 64
    + '", "elements": ["a", "b"], "table": [[0, 1], [1, 1180591620717411303424]]}',
    '{"order": ' + "1" * 5000 + "}",
    "[" * 200000,
])
def test_a_hostile_group_json_is_one_line(f20_run, tmp_path, capsys, text):
    run = tmp_path / "r"
    shutil.copytree(f20_run / "A" / "run", run)
    (run / GROUP).write_text(text)
    assert main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rhoproof: error:") and err.count("\n") == 1


def test_a_group_json_that_is_not_a_file_is_refused(f20_run, tmp_path, capsys):
    run = tmp_path / "r"
    shutil.copytree(f20_run / "A" / "run", run)
    (run / GROUP).unlink()
    (run / GROUP).symlink_to("/dev/zero")
    assert main(["evaluate", str(run)]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_a_table_for_a_builtin_spec_must_be_its_table(tmp_path, capsys):
    from rhoproof import zoo

    old = tmp_path / "old"
    _as_old_run(zoo.export("S4", tmp_path / "s4", 1), old)
    c6 = tmp_path / "c6.json"
    _write_table(c6, group("C6").table_np)
    assert main(["evaluate", str(old), "--table", str(c6)]) == 2
    assert "is not S4's table" in capsys.readouterr().err
    assert main(["evaluate", str(old)]) == 0 and not (old / GROUP).exists()
