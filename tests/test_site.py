"""Issue 21: the documentation site covers the tool. The CLI reference page lists every command
and flag of the parser; the certificate format page explains every field of the schema; the
benchmarks page includes every result under bench/results/; every page is in the navigation;
the README is a landing page whose links resolve; every name the API reference documents has
a one-line promise, and an example that runs wherever one is cheap."""

import importlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "gen"))
import reference  # noqa: E402


def _sections(page: str) -> dict[str, str]:
    """The CLI page's text per command heading (``## `certify` ``, ``### `zoo list` ``)."""
    parts = re.split(r"^#{2,4} `([^`]+)`$", page, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_cli_page_lists_every_command_and_flag():
    page = reference.cli_markdown()
    sections = _sections(page)
    flags = reference.cli_flags()
    commands = [c for c in flags if c]
    assert {"train", "certify", "check", "zoo", "sweep"} <= set(commands)
    for command in commands:
        assert command in sections, f"no section for `{command}`"
        for flag in flags[command]:
            assert f"`{flag}`" in sections[command], f"`{command}`: {flag} not documented"


def test_every_certificate_field_is_explained():
    fields = reference.schema_fields()
    assert {"certified_inputs", "group_sha256", "stages", "act_b", "symmetry"} <= fields
    prose = (DOCS / "certificate.md").read_text()
    rendered = reference.schema_markdown()
    for name in fields:
        assert f"`{name}`" in prose, f"docs/certificate.md does not explain `{name}`"
        assert re.search(rf"`([\w\[\].]*\.)?{re.escape(name)}`", rendered), name


def test_every_benchmark_result_is_on_the_site():
    listed = {stem for _, _, stems, _ in reference.BENCHES for stem in stems}
    on_disk = {p.stem for p in (ROOT / "bench" / "results").glob("*.md")}
    assert on_disk == listed, f"not on the benchmarks page: {on_disk - listed}; " \
                              f"gone from bench/results: {listed - on_disk}"
    for script, command, _, _ in reference.BENCHES:
        assert (ROOT / "bench" / script).exists(), script
        assert script in command or "bench/" + script in command, command
    text, figures = reference.bench_markdown()
    assert figures and all(f"bench-results/{f.relative_to(reference.RESULTS).as_posix()}"
                           in text for f in figures)


def test_every_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*")
             if p.suffix in (".md", ".ipynb") and "gen" not in p.parts}
    generated = {"cli.md", "certificate-schema.md", "bench-results.md"}
    for page in pages | generated:
        assert re.search(rf":\s*{re.escape(page)}\s*$|- {re.escape(page)}\s*$", nav, re.M), page


def test_readme_is_a_landing_page_whose_links_resolve():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    assert len(links) >= 10
    for link in links:
        if "://" not in link:
            assert (ROOT / link).exists(), f"README links to a missing file: {link}"


def _api_targets() -> list[str]:
    return sorted({m for page in (DOCS / "api").glob("*.md")
                   for m in re.findall(r"^::: ([\w.]+)$", page.read_text(), re.M)})


MODULE_TARGETS = {"rhoproof.check"}  # whole modules the API reference renders on purpose


def _documented(target: str) -> list[tuple[str, object]]:
    """The objects a ``::: target`` line renders: the object, or a module's public names.
    mkdocstrings resolves a dotted path to a module first (``rhoproof.groups.group`` is the
    submodule, not the function), so a target that names a module is refused unless it is
    meant to be one."""
    if target not in MODULE_TARGETS:
        try:
            spec = importlib.util.find_spec(target)
        except ModuleNotFoundError:
            spec = None
        assert spec is None, f"::: {target} renders the module, not the name"
    module, _, name = target.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, ValueError, AttributeError):
        obj = importlib.import_module(target)
    if inspect.ismodule(obj):
        return [(f"{target}.{n}", getattr(obj, n)) for n in obj.__all__
                if inspect.isclass(getattr(obj, n)) or inspect.isfunction(getattr(obj, n))]
    return [(target, obj)]


# Names whose example would train, sweep or reproduce (minutes): documented without one.
NO_EXAMPLE = {"rhoproof.reproduce", "rhoproof.train.train", "rhoproof.sweep.run_sweep",
              "rhoproof.sweep.report", "rhoproof.explain.explain_models"}


@pytest.mark.parametrize("target", _api_targets())
def test_api_reference_names_have_a_promise_and_an_example(target):
    for name, obj in _documented(target):
        doc = inspect.getdoc(obj) or ""
        assert doc.strip(), f"{name} has no docstring"
        first = doc.splitlines()[0]
        assert first.rstrip().endswith((".", ":")), f"{name}: the promise is not one line"
        if name not in NO_EXAMPLE:
            assert "Examples\n--------" in doc and ">>> " in doc, f"{name} has no example"


def _command_lines() -> list[tuple[str, str]]:
    """(where, line) for every ``rhoproof ...`` line in a code block of the docs or README."""
    out = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        fence = False
        for i, line in enumerate(page.read_text().splitlines()):
            if line.startswith("```"):
                fence = not fence
                continue
            text = line.strip().removeprefix("$ ")
            if fence and text.startswith("rhoproof "):
                out.append((f"{page.name}:{i + 1}", text.split("  #")[0].split(" # ")[0]))
    return out


def test_commands_quoted_in_the_docs_exist_with_those_flags():
    """A hand-written command line in the docs cannot name a command or flag the parser
    lacks (so usage summaries, like the getting-started list, cannot drift)."""
    flags = reference.cli_flags()
    lines = _command_lines()
    assert len(lines) >= 30
    for where, line in lines:
        words = line.replace("[", " ").replace("]", " ").replace("|", " ").split()
        command = words[1]
        assert command in flags, f"{where}: unknown command {command!r}"
        known = flags[command]
        for w in words[2:]:
            if w.startswith("--"):
                assert w.split("=")[0] in known, f"{where}: `rhoproof {command}` has no {w}"


def _unescaped_pipes(line: str) -> int:
    count, tick, prev = 0, False, ""
    for ch in line:
        if ch == "`":
            tick = not tick
        elif ch == "|" and prev != "\\" and not tick:
            count += 1
        prev = ch
    return count


def test_table_rows_have_their_headers_cells():
    """An unescaped |G| in a table row splits it (the certificate page lost the `ops` row's
    keys that way, and --strict does not see it)."""
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        header, fence = None, False
        for i, line in enumerate(page.read_text().splitlines()):
            fence ^= line.startswith("```")
            if fence or not line.startswith("|"):
                header = None
            elif header is None:
                header = _unescaped_pipes(line)
            else:
                assert _unescaped_pipes(line) == header, f"{page.name}:{i + 1}: cells differ"


def test_v_fourier_figures_in_the_readme_and_proof_page_are_the_benchmarks():
    """The V_fourier rows of the README's results table and of docs/proof.md are the numbers
    in bench/results/fourier_zoo.json (models ≥ 95%, mean bound, median counted operations)."""
    import json

    bench = {g["group"]: g for g in json.loads(
        (ROOT / "bench" / "results" / "fourier_zoo.json").read_text())["groups"]}
    readme = (ROOT / "README.md").read_text()
    proof = (DOCS / "proof.md").read_text()
    for spec in ("C59", "C113", "Dic30"):
        g = bench[spec]
        count = f"{g['fourier_ge_0.95']} / {g['models']}"
        mean, ops = f"{g['fourier_mean']:.3f}", f"{g['median_ops_over_brute']:.2f}"
        row = next(line for line in readme.splitlines() if line.startswith(f"| {spec} "))
        assert f"{count} by V_fourier" in row and f"| {mean} | {ops} |" in row, row
        row = next(line for line in proof.splitlines()
                   if line.startswith(f"| {spec} |") and "V_fourier" not in line
                   and count in line)
        assert f"| {count} | {mean} | {ops} |" in row, row


def test_frontier_figures_in_the_readme_and_proof_page_are_the_benchmarks():
    """The frontier's budget table in docs/proof.md and the README's "Graceful" figures are the
    numbers in bench/results/frontier.json (models ≥ 95% within each budget, median area)."""
    import json

    bench = {s["group"]: s for s in json.loads(
        (ROOT / "bench" / "results" / "frontier.json").read_text())["summaries"]}
    proof = (DOCS / "proof.md").read_text()
    readme = " ".join((ROOT / "README.md").read_text().split())
    for spec in ("S4", "A5", "S5"):
        s = bench[spec]
        c = s["budget_certified_95"]
        cells = " | ".join(str(c[b]) for b in ("0.01", "0.03", "0.1", "0.3", "1.0"))
        row = next(line for line in proof.splitlines() if line.startswith(f"| {spec} | ")
                   and "median" not in line and f"({s['today_median_ops']:.2f})" in line)
        assert f"| {s['today_certified_95']} ({s['today_median_ops']:.2f}) | {cells} | " \
            f"{s['median_area']:.3f} |" in row, row
        assert f"{spec} {c['0.3']}" in readme, spec
