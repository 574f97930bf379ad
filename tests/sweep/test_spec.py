"""The sweep file: validated up front (one line naming the bad key or value), expanded into
cells named by the hash of what determines their results."""

import pytest

from rhoproof.cli import main
from rhoproof.errors import ConfigError
from rhoproof.sweep.spec import load, parse

BASE = {"groups": ["C5", "S3"], "models": 2, "epochs": 5}


def test_the_grid_is_the_product_of_its_lists_with_per_group_values():
    s = parse({"sweep": {**BASE, "weight_decay": [1e-4, 2e-4], "seeds": [0, 1]},
               "groups": {"S3": {"d_hidden": [8, 16, 32], "train_frac": 0.8}}})
    c5 = [c for c in s.cells if c.config.group == "C5"]
    s3 = [c for c in s.cells if c.config.group == "S3"]
    assert len(c5) == 4 and len(s3) == 12
    assert {c.config.d_hidden for c in s3} == {8, 16, 32}
    assert {c.config.train_frac for c in s3} == {0.8} and {c.config.train_frac
                                                           for c in c5} == {0.4}
    assert s.swept == ("group", "seed", "d_hidden", "weight_decay")  # within a group
    assert len({c.id for c in s.cells}) == len(s.cells)  # distinct folders


def test_a_cell_is_named_by_what_determines_its_results():
    a = parse({"sweep": {**BASE, "weight_decay": [1e-4, 2e-4]}}).cells
    b = parse({"sweep": {**BASE, "weight_decay": [2e-4, 1e-4, 5e-4], "name": "other"}}).cells
    assert {c.id for c in a} < {c.id for c in b}  # a grown grid reuses every cell it had
    c = parse({"sweep": {**BASE, "weight_decay": [1e-4, 2e-4], "methods": ["irrep"]}}).cells
    assert not {x.id for x in a} & {x.id for x in c}  # other methods: other results


@pytest.mark.parametrize(("sweep", "says"), [
    ({"groups": ["S3"], "weightdecay": 1e-4}, "sweep.weightdecay: unknown key"),
    ({"models": 2}, "sweep.groups: missing"),
    ({"groups": ["S3", "X9"]}, "sweep.groups: 'X9'"),
    ({"groups": []}, "sweep.groups: an empty list"),
    ({"groups": ["S3"], "d_hidden": [16, "big"]}, "sweep.d_hidden: expected an integer"),
    ({"groups": ["S3"], "lr": True}, "sweep.lr: expected a number"),
    ({"groups": ["S3"], "weight_decay": [1e-4, 1e-4]}, "sweep.weight_decay: repeated"),
    ({"groups": ["S3"], "models": [2, 4]}, "sweep.models: takes one value"),
    ({"groups": ["S3"], "device": "tpu"}, "sweep.device: 'tpu' is not one of"),
    ({"groups": ["S3"], "methods": ["irrep", "magic"]}, "sweep.methods"),
    ({"groups": ["S3"], "train_frac": 1.5}, "train_frac must be in (0, 1]"),
    ({"groups": ["S3"], "epochs": -1}, "epochs must be a non-negative integer"),
    ({"groups": ["S3"], "name": "a b"}, "sweep.name"),
    ({"groups": ["S3"], "cpus": 0}, "sweep.cpus: must be a positive integer"),
])
def test_a_bad_key_or_value_is_named_in_one_line(sweep, says):
    with pytest.raises(ConfigError) as err:
        parse({"sweep": sweep})
    assert says in str(err.value) and "\n" not in str(err.value)


def test_bad_tables_are_named():
    with pytest.raises(ConfigError, match="groups.A5: 'A5' is not in sweep.groups"):
        parse({"sweep": {"groups": ["S3"]}, "groups": {"A5": {"epochs": 3}}})
    with pytest.raises(ConfigError, match=r"groups.S3.device: not a per-group key"):
        parse({"sweep": {"groups": ["S3"]}, "groups": {"S3": {"device": "cuda"}}})
    with pytest.raises(ConfigError, match="unknown table 'grid'"):
        parse({"sweep": {"groups": ["S3"]}, "grid": {}})
    with pytest.raises(ConfigError, match=r"\[sweep\]: missing"):
        parse({})


def test_the_command_line_refuses_a_bad_file_in_one_line_before_running(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[sweep]\ngroups = ["S3"]\nepochs = "many"\n')
    assert main(["sweep", str(bad), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err == "rhoproof: error: sweep file: sweep.epochs: expected an integer, got " \
                  "'many'\n"
    assert not (tmp_path / "s").exists()  # nothing was written
    bad.write_text("[sweep\n")
    assert main(["sweep", str(bad)]) == 2
    assert capsys.readouterr().err.startswith("rhoproof: error: sweep file ")
    assert main(["sweep", str(tmp_path / "none.toml")]) == 2
    assert "cannot read sweep file" in capsys.readouterr().err
    good = tmp_path / "good.toml"
    good.write_text('[sweep]\ngroups = ["S3"]\n')
    for argv in (["--backend", "local", "--address", "auto"], ["--backend", "ray",
                                                               "--jobs", "2"],
                 ["--jobs", "0"]):
        assert main(["sweep", str(good), "--out", str(tmp_path / "t"), *argv]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert load(good).name == "good"


def test_review_findings_in_the_file(tmp_path):
    """Found by a hostile review: 1 and 1.0 are one value; a table: group is keyed by its
    file's content; a repeated group table or method is refused."""
    one = parse({"sweep": {**BASE, "weight_decay": 1}}).cells
    assert one == parse({"sweep": {**BASE, "weight_decay": 1.0}}).cells
    with pytest.raises(ConfigError, match="repeated value"):
        parse({"sweep": {**BASE, "weight_decay": [1, 1.0]}})
    table = tmp_path / "g.json"
    table.write_text('{"elements": ["0", "1"], "table": [[0, 1], [1, 0]]}')
    a = parse({"sweep": {"groups": [f"table:{table}"]}}).cells[0]
    table.write_text('{"elements": ["0", "1", "2"], "table": [[0, 1, 2], [1, 2, 0], '
                     '[2, 0, 1]]}')
    b = parse({"sweep": {"groups": [f"table:{table}"]}}).cells[0]
    assert a.id != b.id and a.table_sha256 != b.table_sha256
    with pytest.raises(ConfigError, match="a second table for C3xC3"):
        parse({"sweep": {"groups": ["C3xC3"]},
               "groups": {"C3xC3": {"epochs": 3}, "C3 x C3": {"epochs": 7}}})
    with pytest.raises(ConfigError, match="sweep.methods"):
        parse({"sweep": {**BASE, "methods": ["irrep", "irrep"]}})
    with pytest.raises(ConfigError, match="models must be a positive integer"):
        parse({"sweep": {**BASE, "models": 0}})


def test_the_docs_list_the_per_group_keys_the_validator_takes():
    """Issue 19: bench/sweeps/study.toml set eval_every under [groups.SPEC] while the docs
    (then the README; docs/sweeps.md since issue 21) listed it as global only."""
    import re
    from pathlib import Path

    from rhoproof.sweep.spec import PER_GROUP, load

    readme = (Path(__file__).parents[2] / "docs" / "sweeps.md").read_text()
    sentence = re.search(r"Under `\[groups\.SPEC\]` a group\s+may set its own (.*?); the other",
                         readme, re.S).group(1)
    assert set(re.findall(r"`(\w+)`", sentence)) == set(PER_GROUP)
    assert load(Path(__file__).parents[2] / "bench" / "sweeps" / "study.toml").cells
