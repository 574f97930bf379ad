"""Issue 19: command outputs quoted in the docs come from real runs. Every code block of a
page under docs/ preceded by ``<!-- checked -->`` is run here: each ``$ rhoproof ...`` line is
executed (in a folder holding ``runs/zoo-s5``, the shipped S5 zoo) and what it prints must
match the lines below it, up to timings and float rounding noise (see ``_normalize``); a line
``...`` stands for any number of lines."""

import re
import shlex
from pathlib import Path

import pytest

from rhoproof.cli import main

DOCS = Path(__file__).parents[1] / "docs"
GUIDE = DOCS / "guide.md"
MARK = "<!-- checked -->"

_TIMES = [
    # certify's table: proof s, brute s and ratio vary from run to run
    (re.compile(r"^(\s*\d+\s+\w+\s+\S+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\S+)\s+[\d.]+\s+[\d.]+\s+"
                r"(?:[\d.]+|–)$"), r"\1 <times>"),
    (re.compile(r"(median proof/brute time )[\d.]+"), r"\1<t>"),
    (re.compile(r"\(\d+\.\d+ s\)"), "(<t> s)"),
    (re.compile(r"computed in \d+\.\d+ s\)"), "computed in <t> s)"),
    # the report table's time ratio, and so whether it is behind (operations are counted: kept)
    (re.compile(r"^(\| proof / brute-force time [^|]*\|).*$"), r"\1 <times>"),
    # the idealized model's bi-equivariance is float error: its size, not its digits
    (re.compile(r"^(  bi-equivariance score: .*idealized )\d\.\de-1\d$"), r"\1<float error>"),
    (re.compile(r"^(\| bi-equivariance score, idealized \|.*\| )\d\.\d+e-1\d( \|.*)$"),
     r"\1<float error>\2"),
]


def _normalize(line: str) -> str:
    line = line.rstrip()
    for pattern, repl in _TIMES:
        line = pattern.sub(repl, line)
    return line


def _blocks() -> list[tuple[str, list[str]]]:
    """(page:line, lines) of every checked code block of every page."""
    out = []
    for page in sorted(DOCS.glob("*.md")):
        lines = page.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip() == MARK:
                where = f"{page.name}:{i + 1}"
                assert lines[i + 1].startswith("```"), f"{where}: {MARK} before no block"
                end = next(j for j in range(i + 2, len(lines)) if lines[j].startswith("```"))
                out.append((where, lines[i + 2:end]))
    return out


def _matches(expected: list[str], got: list[str]) -> bool:
    if not expected:
        return not got
    if expected[0] == "...":
        return any(_matches(expected[1:], got[k:]) for k in range(len(got) + 1))
    return bool(got) and _normalize(expected[0]) == _normalize(got[0]) and \
        _matches(expected[1:], got[1:])


def _commands(block: list[str]) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for line in block:
        if line.startswith("$ "):
            out.append((line[2:].split("  #")[0].strip(), []))
        else:
            assert out, f"a checked block must start with a $ command: {line!r}"
            out[-1][1].append(line)
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from rhoproof import zoo

    d = tmp_path_factory.mktemp("guide")
    zoo.export("S5", d / "runs" / "zoo-s5")
    return d


def _cases() -> list:
    blocks = _blocks()
    assert len(blocks) >= 6, "the docs' checked blocks went missing"
    return [pytest.param(block, id=where, marks=[pytest.mark.slow] if any(
        "reproduce" in line for line in block if line.startswith("$ ")) else [])
        for where, block in blocks]


@pytest.mark.parametrize("block", _cases())
def test_quoted_outputs_are_what_the_tool_prints(block, workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    for command, expected in _commands(block):
        argv = shlex.split(command)
        assert argv[0] == "rhoproof"
        if argv[1:3] == ["zoo", "export"] and (workdir / argv[-1]).exists() and not expected:
            continue  # the module's folder holds the export already
        capsys.readouterr()
        assert main(argv[1:]) == 0, command
        got = capsys.readouterr().out.splitlines()
        assert _matches(expected, got), (
            f"$ {command}\n--- the guide says:\n" + "\n".join(expected)
            + "\n--- the tool printed:\n" + "\n".join(got))


def test_the_readme_quotes_the_checked_demo_table():
    """The README's `make demo` table is the guide's, which the slow test checks against a
    real run (so neither can go stale alone)."""
    def table(text: str) -> list[str]:
        lines = text.splitlines()
        start = next(i for i, line in enumerate(lines)
                     if line.startswith("| quantity | paper | authors' verifier"))
        end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
        return [_normalize(line) for line in lines[start:end]]

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert table(readme) == table(GUIDE.read_text())
