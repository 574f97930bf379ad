"""rhoproof: rho-set circuits and compact proofs for group-multiplication networks.

The pipeline, one module per stage: ``groups`` (finite groups and real irreps) → ``model``
(the seed paper's MLP, many instances at once) → ``train`` → ``evaluate`` (exact ground truth)
→ ``explain`` (irrep sparsity, cosets, ρ-set circuits, the idealized model) → ``verify``
(certified bounds, certificates, an independent checker) → ``report`` (figures and the
one-command reproduction) → ``sweep`` (grids of runs, here or on Ray); ``zoo`` holds
pre-trained models.
"""

import sys
import types
from typing import TYPE_CHECKING, Any

from rhoproof._version import __version__

if TYPE_CHECKING:  # the real types, for users' type checkers and IDEs
    from rhoproof.config import TrainConfig
    from rhoproof.errors import UserError
    from rhoproof.evaluate import Evaluation, evaluate
    from rhoproof.explain.explanation import Explanation, explain
    from rhoproof.groups import Group, Irrep, group
    from rhoproof.model import Folded, GroupMLP
    from rhoproof.run import Run, load_run
    from rhoproof.sweep import run_sweep
    from rhoproof.train import train
    from rhoproof.verify.certificate import certify

# The public names load on first use (PEP 562), so that `import rhoproof` and the command
# line's --version and --help do not import torch and every stage.
_LAZY = {
    "UserError": "rhoproof.errors", "Evaluation": "rhoproof.evaluate",
    "evaluate": "rhoproof.evaluate", "Explanation": "rhoproof.explain.explanation",
    "explain": "rhoproof.explain.explanation", "Group": "rhoproof.groups",
    "Irrep": "rhoproof.groups", "group": "rhoproof.groups", "Folded": "rhoproof.model",
    "GroupMLP": "rhoproof.model", "Run": "rhoproof.run", "load_run": "rhoproof.run",
    "TrainConfig": "rhoproof.config", "train": "rhoproof.train",
    "certify": "rhoproof.verify.certificate", "run_sweep": "rhoproof.sweep",
}


SHADOWED = ("evaluate", "explain", "train")
"""Lazy functions that share their name with a submodule (``rhoproof.evaluate``, the package
``rhoproof.explain``, ``rhoproof.train``). Python's import system sets a package attribute to
every submodule it loads, which would replace the function: the package's module class below
keeps the function. The submodules stay importable: ``from rhoproof.evaluate import ...``
(``import rhoproof.evaluate as m`` gives the function, as the attribute lookup comes first)."""


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in SHADOWED and isinstance(value, types.ModuleType):
            return  # keep rhoproof.evaluate etc. the functions
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rhoproof' has no attribute {name!r}")


def reproduce(group_spec: str, out: str, *, models: int | None = None, train: bool = False,
              epochs: int | None = None, seed: int = 0, device: str = "cpu",
              progress: bool = True) -> dict[str, Any]:
    """``rhoproof reproduce`` from Python: the whole pipeline for a group into the folder ``out``.

    Models (the zoo's, or ``train=True`` to train them here), exact evaluation, the
    explanation, every verifier on every model, and the report; returns the results (also in
    ``out/results.json``). Minutes on a CPU: ``make demo`` runs it for S5.
    """
    from rhoproof.groups import group as make_group
    from rhoproof.report.reproduce import Reproduction, Settings

    settings = Settings(group=make_group(group_spec).spec, models=models,
                        source="train" if train else "zoo", epochs=epochs, seed=seed,
                        device=device)
    return Reproduction(settings, out, progress=progress).run()

__all__ = ["Evaluation", "Explanation", "Folded", "Group", "GroupMLP", "Irrep", "Run",
           "TrainConfig", "UserError", "__version__", "certify", "evaluate", "explain", "group",
           "load_run", "reproduce", "run_sweep", "train"]
