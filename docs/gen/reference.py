"""Reference pages generated from the code, so they cannot drift from it: the command line
(from ``rhoproof.cli.build_parser``), the certificate's JSON Schema (from the shipped schema
file) and the benchmark results (from ``bench/results/``). ``pages.py`` writes them into the
site at build time; ``tests/test_site.py`` checks them against the parser, the schema and the
results folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
SCHEMA = ROOT / "src" / "rhoproof" / "verify" / "certificate.schema.json"


# ---------------------------------------------------------------- the command line

def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _prose(text: str) -> str:
    """A schema description as table text: brackets escaped (``act_b[g][p]`` is not a link)."""
    return _cell(text).replace("[", "\\[").replace("]", "\\]")


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _helps(p: argparse.ArgumentParser) -> dict[str, str]:
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {c.dest: c.help or "" for c in action._choices_actions}
    return {}


def _option_row(a: argparse.Action) -> str:
    """One table row: the flag and its metavar, its help, and its choices and default."""
    names = ", ".join(f"`{s}`" for s in a.option_strings) or f"`{a.metavar or a.dest}`"
    if a.option_strings and a.nargs != 0:
        names += f" `{a.metavar or a.dest.upper()}`"
    detail = []
    if a.choices is not None and not isinstance(a, argparse._SubParsersAction):
        detail.append("one of " + ", ".join(f"`{c}`" for c in a.choices))
    if a.required and a.option_strings:
        detail.append("required")
    if (a.default not in (None, False, argparse.SUPPRESS) and a.nargs != 0
            and a.option_strings and str(a.default) not in (a.help or "")):
        detail.append(f"default `{a.default}`")
    if not a.option_strings and a.nargs == "?":
        detail.append("optional")
    return f"| {names} | {_cell(a.help or '')} | {_cell('; '.join(detail))} |"


def _command(name: str, p: argparse.ArgumentParser, help_: str, level: int) -> list[str]:
    out = [f"{'#' * level} `{name}`", ""]
    if help_:
        out += [help_[0].upper() + help_[1:] + ".", ""]
    out += ["```", p.format_usage().replace("usage: ", "").strip(), "```", ""]
    rows = [_option_row(a) for a in p._actions
            if not isinstance(a, (argparse._HelpAction, argparse._VersionAction,
                                  argparse._SubParsersAction))]
    if rows:
        out += ["| argument | what it does | values |", "|---|---|---|", *rows, ""]
    if p.epilog:
        out += [p.epilog[0].upper() + p.epilog[1:], ""]
    subs = _subparsers(p)
    helps = _helps(p)
    for sub, sp in subs.items():
        out += _command(f"{name} {sub}", sp, helps.get(sub, ""), level + 1)
    return out


def cli_markdown() -> str:
    """The command-line reference page, every command and flag, from the parser itself."""
    import os

    from rhoproof.cli import build_parser

    os.environ["COLUMNS"] = "100"  # argparse wraps usage lines to the terminal: one width
    parser = build_parser()
    subs, helps = _subparsers(parser), _helps(parser)
    out = ["# Command-line reference", "",
           "Generated from `rhoproof.cli.build_parser()` when the site is built, so it lists "
           "exactly the commands and flags the installed `rhoproof` accepts (a test compares "
           "the two). `rhoproof COMMAND --help` prints the same. What the commands print and "
           "write is in the [getting started](getting-started.md) page, the "
           "[guide](guide.md) and the concept pages.", "",
           "```", parser.format_usage().replace("usage: ", "").strip(), "```", "",
           "| command | what it does |", "|---|---|"]
    out += [f"| [`{n}`](#{n.replace(' ', '-')}) | {_cell(helps.get(n, ''))} |" for n in subs]
    out += ["", "`rhoproof --version` prints the version. Every command exits with 0 on "
            "success, 2 with one line `rhoproof: error: ...` on anything a user can cause, "
            "and 130 on Ctrl-C (143 on SIGTERM), after checkpointing what it was training.", ""]
    for name, sp in subs.items():
        out += _command(name, sp, helps.get(name, ""), 2)
    return "\n".join(out) + "\n"


def cli_flags() -> dict[str, set[str]]:
    """Every command (``'zoo'``, ``'certify'``, ...) and the option strings and positional
    names it accepts; what the CLI page must mention."""
    from rhoproof.cli import build_parser

    found: dict[str, set[str]] = {}

    def walk(prefix: str, p: argparse.ArgumentParser) -> None:
        flags: set[str] = set()
        for a in p._actions:
            if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            flags |= set(a.option_strings) or {a.metavar or a.dest}
        found[prefix] = flags
        for sub, sp in _subparsers(p).items():
            walk(f"{prefix} {sub}".strip(), sp)

    walk("", build_parser())
    return found


# ---------------------------------------------------------------- the certificate schema

def _type(s: dict[str, Any]) -> str:
    if "const" in s:
        return f"`{json.dumps(s['const'])}`"
    if "enum" in s:
        return " or ".join(f"`{json.dumps(v)}`" for v in s["enum"])
    if "$ref" in s:
        name = s["$ref"].split("/")[-1]
        return f"[{name}](#{name.lower()})"
    t = s.get("type", "any")
    if "$ref" in s.get("items", {}) if isinstance(s.get("items"), dict) else False:
        return f"array of {_type(s['items'])}"
    t = " or ".join(t) if isinstance(t, list) else t
    if t == "array" and isinstance(s.get("items"), dict):
        return f"array of {_type(s['items'])}"
    if "oneOf" in s or "anyOf" in s:
        return " or ".join(_type(x) for x in s.get("oneOf", s.get("anyOf", [])))
    return t


def _limits(s: dict[str, Any]) -> str:
    keys = ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "pattern")
    return ", ".join(f"{k} `{s[k]}`" for k in keys if k in s)


def _object_rows(s: dict[str, Any], prefix: str, rows: list[str]) -> None:
    required = set(s.get("required", []))
    for name, sub in s.get("properties", {}).items():
        path = f"{prefix}{name}"
        rows.append(f"| `{_cell(path)}` | {_cell(_type(sub))} | {'yes' if name in required else ''}"
                    f" | {_cell(_limits(sub))} | {_prose(sub.get('description', ''))} |")
        if sub.get("type") == "object" and "properties" in sub:
            _object_rows(sub, path + ".", rows)
        items = sub.get("items")
        if isinstance(items, dict) and items.get("type") == "object":
            _object_rows(items, path + "[].", rows)
        extra = sub.get("additionalProperties")
        if isinstance(extra, dict) and "properties" in extra:  # a map of objects
            _object_rows(extra, path + ".KEY.", rows)


def schema_fields(schema: dict[str, Any] | None = None) -> set[str]:
    """Every property name the schema defines, at any depth (what the format page must
    explain)."""
    schema = schema or json.loads(SCHEMA.read_text())
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(props)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return names


def schema_markdown() -> str:
    """The JSON Schema of the certificate, rendered as tables, and the schema itself."""
    schema = json.loads(SCHEMA.read_text())
    head = ["| field | type | required | limits | description |", "|---|---|---|---|---|"]
    out = [f"# {schema['title']}", "", schema.get("description", ""), "",
           "Rendered from `src/rhoproof/verify/certificate.schema.json` (draft 2020-12), the "
           "file that ships with the package, when the site is built. What each field means "
           "and how the checker uses it: [the certificate format](certificate.md).", "",
           "## Top level", "", *head]
    rows: list[str] = []
    _object_rows(schema, "", rows)
    out += rows + [""]
    for cond in schema.get("allOf", []):
        out += ["Conditional: `" + _cell(json.dumps(cond.get("if", {}))) + "` then `"
                + _cell(json.dumps(cond.get("then", {}))) + "`", ""]
    for name, sub in schema.get("$defs", {}).items():
        out += [f"## {name}", "", _prose(sub.get("description", "")), ""]
        rows = []
        if "properties" in sub:
            _object_rows(sub, "", rows)
            out += head + rows + [""]
        else:
            out += [f"Type: {_type(sub)}. {_limits(sub)}", ""]
    out += ["## The schema file", "", "```json", json.dumps(schema, indent=2,
                                                            ensure_ascii=False), "```", ""]
    return "\n".join(out)


# ---------------------------------------------------------------- benchmark results

BENCHES: list[tuple[str, str, list[str], list[str]]] = [
    # (script, the command that reruns it, its result files' stems, figure folders)
    ("train_speed.py", "python bench/train_speed.py --epochs 10 --rounds 5",
     ["train_speed_cpu"], []),
    ("time_to_perfect.py", "rhoproof train --group S5 --models 100 --epochs 2000 --seed 0 "
     "--eval-every 25 --out runs/s5-100 && python bench/time_to_perfect.py runs/s5-100",
     ["time_to_perfect_S5"], []),
    ("threads.py", "python bench/threads.py", ["threads"], []),
    ("explain_summary.py", "python bench/explain_summary.py RUN_DIR  # runs/s5-100, "
     "runs/s4-20, runs/a5-10", ["explain_S5", "explain_S4", "explain_A5"],
     ["explain_s5_plots", "explain_s4_plots", "explain_a5_plots"]),
    ("explain_baselines.py", "python bench/explain_baselines.py runs/s5-100",
     ["explain_baselines_S5"], []),
    ("certify_s5.py", "rhoproof zoo export S5 --out runs/zoo-s5 && "
     "python bench/certify_s5.py runs/zoo-s5", ["certify_S5"], []),
    ("certify_speed.py", "python bench/certify_speed.py", ["certify_speed"], []),
    ("certify_scaling.py", "python bench/certify_scaling.py", ["certify_scaling"],
     ["certify_scaling"]),
    ("planted_noise.py", "python bench/planted_noise.py", ["planted_noise"], []),
    ("planted_s7.py", "python bench/planted_s7.py", ["planted_s7"], []),
    ("proof_time_before_after.py", "python bench/proof_time_before_after.py",
     ["proof_time_before_after"], []),
    ("coverage.py", "python bench/coverage.py --groups S4 A5 S5 A6 C59 Dic30 "
     "--before bench/results/coverage_before.json", ["coverage"], []),
    ("zoo_certificates.py", "python bench/zoo_certificates.py", ["zoo_certificates"], []),
    ("soundness_stress.py", "python bench/soundness_stress.py runs/zoo-s5 runs/zoo-a5 "
     "runs/zoo-s4", ["soundness_stress"], []),
    ("adversarial.py", "python bench/adversarial.py", ["adversarial"], []),
    ("fourier_zoo.py", "rhoproof train --group table:bench/groups/F20.json --models 20 "
     "--epochs 6000 --train-frac 0.9 --weight-decay 1e-3 --seed 0 --out runs/f20-20 && "
     "rhoproof train --group table:bench/groups/C13sdC3.json --models 20 --epochs 6000 "
     "--train-frac 0.9 --weight-decay 1e-3 --seed 0 --out runs/c13sdc3-20 && "
     "python bench/fourier_zoo.py --run F20=runs/f20-20 C13sdC3=runs/c13sdc3-20",
     ["fourier_zoo"], ["fourier_zoo"]),
    ("checker_worst_case.py", "python bench/checker_worst_case.py", ["checker_worst_case"], []),
    ("frontier.py", "python bench/frontier.py --groups S4 A5 S5", ["frontier"], ["frontier"]),
    ("sweep_study.py", "python bench/sweep_study.py", ["sweep_study"],
     ["sweep_study/figures"]),
    ("sweep_overhead.py", "python bench/sweep_overhead.py", ["sweep_overhead"], []),
]


def _docstring(script: Path) -> str:
    import ast

    doc = ast.get_docstring(ast.parse(script.read_text())) or ""
    return doc.split("\n\n")[0].replace("\n", " ")


def _demoted(text: str) -> list[str]:
    out, fence = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        if not fence and line.startswith("#"):
            line = "###" + line.lstrip("#") if line.startswith("# ") else "##" + line
        out.append(line)
    return out


def bench_markdown() -> tuple[str, list[Path]]:
    """All results under bench/results/, one section per script with its rerun command, and
    the figures the page shows (to copy into the site)."""
    out = ["# All benchmark results", "",
           "Each section is one script under `bench/`, the command that reruns it (from the "
           "repository root, after `make .venv/.installed`; `make bench` runs the main ones) "
           "and the markdown it last wrote under `bench/results/`, included as it is. The "
           "JSON beside each file holds the same figures with the seed, versions and "
           "configuration. Benchmarks never run in the test suite; the load on the machine "
           "is written beside each timing.", ""]
    figures: list[Path] = []
    for script, command, stems, folders in BENCHES:
        out += [f"## `bench/{script}`", "", _docstring(ROOT / "bench" / script), "",
                "```", command, "```", ""]
        for stem in stems:
            md = RESULTS / f"{stem}.md"
            out += [f"**`bench/results/{stem}.md`**", "", *_demoted(md.read_text()), ""]
        for folder in folders:
            for png in sorted((RESULTS / folder).glob("*.png")):
                rel = png.relative_to(RESULTS)
                figures.append(png)
                out += [f"![{rel}](bench-results/{rel.as_posix()})", "",
                        f"*`bench/results/{rel.as_posix()}`*", ""]
    return "\n".join(out) + "\n", figures
