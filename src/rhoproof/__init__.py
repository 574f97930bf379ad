"""rhoproof: rho-set circuits and compact proofs for group-multiplication networks.

The pipeline, one module per stage: ``groups`` (finite groups and real irreps) → ``model``
(the seed paper's MLP, many instances at once) → ``train`` → ``evaluate`` (exact ground truth)
→ ``explain`` (irrep sparsity, cosets, ρ-set circuits, the idealized model) → ``verify``
(certified bounds, certificates, an independent checker) → ``report`` (figures and the
one-command reproduction); ``zoo`` holds pre-trained models.
"""

__version__ = "0.2.0"

from rhoproof.errors import UserError  # noqa: E402
from rhoproof.evaluate import Evaluation, evaluate  # noqa: E402
from rhoproof.explain.explanation import Explanation, explain  # noqa: E402
from rhoproof.groups import Group, Irrep, group  # noqa: E402
from rhoproof.model import Folded, GroupMLP  # noqa: E402
from rhoproof.run import Run, load_run  # noqa: E402
from rhoproof.train import TrainConfig, train  # noqa: E402
from rhoproof.verify.certificate import certify  # noqa: E402


def reproduce(group_spec: str, out: str, *, models: int | None = None, train: bool = False,
              epochs: int | None = None, seed: int = 0, device: str = "cpu",
              progress: bool = True) -> dict:
    """``rhoproof reproduce`` from Python: the whole pipeline into ``out``; returns the
    results (also in ``out/results.json``)."""
    from rhoproof.report.reproduce import Reproduction, Settings

    settings = Settings(group=group(group_spec).spec, models=models,
                        source="train" if train else "zoo", epochs=epochs, seed=seed,
                        device=device)
    return Reproduction(settings, out, progress=progress).run()

__all__ = ["Evaluation", "Explanation", "Folded", "Group", "GroupMLP", "Irrep", "Run",
           "TrainConfig", "UserError", "__version__", "certify", "evaluate", "explain", "group",
           "load_run", "reproduce", "train"]
