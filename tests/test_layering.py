"""Data flows one way: no module imports (at the top or inside a function) from a stage after
its own. Stages: groups → model → train → explain → verify → report → sweep → cli (STYLE.md:
the sweep runs the whole pipeline per cell)."""

import ast
from pathlib import Path

import rhoproof

SRC = Path(rhoproof.__file__).parent

STAGES = [
    ("groups", {"groups", "errors", "_version", "_io"}),
    ("model", {"model", "config", "rounding", "threads", "enclosure", "exact", "evaluate", "step"}),
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
            for a in node.names:  # from rhoproof.verify.stages import per_input: a module
                sub = SRC.parent / Path(*f"{node.module}.{a.name}".split("."))
                if sub.with_suffix(".py").exists() or (sub / "__init__.py").exists():
                    names.add(f"{node.module}.{a.name}")
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


def _graph(package: Path, prefix: str) -> dict[str, set[str]]:
    """Module → the modules of the same package it imports, TYPE_CHECKING imports included."""
    graph = {}
    for file in sorted(package.rglob("*.py")):
        rel = file.relative_to(SRC.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        graph[module] = {n for n in _imports(file) if n.startswith(prefix) and n != module}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of the graph, or []."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_no_import_cycle_inside_verify_or_check():
    """The prover's modules and the checker's each form a layered graph (issue 20: stage
    modules are added without cycles)."""
    for package in ("verify", "check"):
        graph = _graph(SRC / package, f"rhoproof.{package}")
        # a package's __init__ re-exports its modules: it is the top, never imported inside
        graph = {k: v - {f"rhoproof.{package}"} for k, v in graph.items()}
        assert _cycle(graph) == [], f"import cycle in {package}: {' -> '.join(_cycle(graph))}"


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_the_lazy_names_have_their_real_types():
    """Issue 20: ``rhoproof.X`` loads lazily at run time, but a user's type checker sees the
    real object: every lazy name is imported under TYPE_CHECKING from the same module, and
    the package ships py.typed."""
    tree = ast.parse((SRC / "__init__.py").read_text())
    lazy = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                and getattr(node.targets[0], "id", "") == "_LAZY")
    assert isinstance(lazy, ast.Dict)
    wanted = {ast.literal_eval(k): ast.literal_eval(v) for k, v in zip(lazy.keys, lazy.values)}
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and getattr(node.test, "id", "") == "TYPE_CHECKING")
    typed = {a.name: node.module for node in block.body if isinstance(node, ast.ImportFrom)
             for a in node.names}
    assert typed == wanted
    assert (SRC / "py.typed").exists()


def test_lazy_functions_survive_their_submodules_imports():
    """New-user report (issue 20): after ``import rhoproof.train`` (or anything importing it),
    ``from rhoproof import evaluate, train`` gave modules, and ``rhoproof.explain`` the
    package, so the README's example failed. A fresh interpreter: submodules first."""
    import subprocess
    import sys

    code = ("import rhoproof, types\n"
            "from rhoproof.explain import assert_bi_equivariant\n"
            "import rhoproof.train, rhoproof.evaluate\n"
            "from rhoproof import evaluate, train\n"
            "assert callable(evaluate) and callable(train) and callable(rhoproof.explain)\n"
            "assert not any(isinstance(f, types.ModuleType)"
            " for f in (evaluate, train, rhoproof.explain))\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    import importlib.util

    shadowed = {n for n in rhoproof._LAZY if importlib.util.find_spec(f"rhoproof.{n}")}
    assert shadowed == set(rhoproof.SHADOWED)
