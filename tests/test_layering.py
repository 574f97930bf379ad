"""Data flows one way: no module imports (at the top or inside a function) from a stage after
its own. Stages: groups → model → train → explain → verify → report → sweep → cli (STYLE.md:
the sweep runs the whole pipeline per cell)."""

import ast
from pathlib import Path

import rhoproof

SRC = Path(rhoproof.__file__).parent

STAGES = [
    ("groups", {"groups", "errors", "_version", "_io"}),
    ("model", {"model", "config", "enclosure", "exact", "evaluate", "step"}),
    ("train", {"train", "run", "zoo", "importer"}),
    ("explain", {"explain"}),
    ("verify", {"verify", "check"}),
    ("report", {"report", "testing"}),
    ("sweep", {"sweep"}),
    ("cli", {"cli", "_entry"}),
]


def _stage(module: str) -> int:
    """The stage of ``rhoproof.<top>...``."""
    top = module.split(".")[1] if module.count(".") else ""
    for i, (_, members) in enumerate(STAGES):
        if top in members:
            return i
    raise AssertionError(f"{module} is in no stage: add it to STAGES")


def _imports(file: Path) -> set[str]:
    tree = ast.parse(file.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "rhoproof":  # from rhoproof import run
                names |= {f"rhoproof.{a.name}" for a in node.names}
    return {n for n in names if n.startswith("rhoproof.")}


def test_every_import_goes_to_the_same_or_an_earlier_stage():
    bad = []
    for file in sorted(SRC.rglob("*.py")):
        rel = file.relative_to(SRC.parent).with_suffix("")
        module = ".".join(rel.parts)
        if module in ("rhoproof.__init__", "rhoproof.__main__"):
            continue  # the package root re-exports (lazily) from every stage
        here = _stage(module.removesuffix(".__init__"))
        for name in sorted(_imports(file)):
            if _stage(name) > here:
                bad.append(f"{module} ({STAGES[here][0]}) imports {name} "
                           f"({STAGES[_stage(name)][0]})")
    assert bad == [], "\n".join(bad)


def test_the_checker_imports_no_other_stage():
    for file in sorted((SRC / "check").glob("*.py")):
        assert all(n.startswith("rhoproof.check") for n in _imports(file)), file.name
