"""The model zoo: runs trained by rhoproof itself (S4, A5, S5; 100 models each), shipped as
folded float32 weights with the exact config, command, seed and a SHA-256 checksum.

Folded weights (ℓ = E_L W_L, r = E_R W_R, u, β) are all that explanation and certification
read, and they are what ``fold()`` of the trained run returns, so results on a zoo run equal
results on the original run. ``index.json`` describes every entry; ``export`` writes a run
directory that every command accepts.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rhoproof.errors import UserError

if TYPE_CHECKING:  # torch is imported where weights are read: `zoo list` needs none
    from rhoproof.model import Folded

DATA = Path(__file__).parent / "data"


class ZooError(UserError):
    """An unknown zoo entry, or a zoo file that is missing or corrupt."""


@lru_cache(maxsize=1)
def index() -> dict[str, dict[str, Any]]:
    """Every zoo entry by group spec: file, checksum, config, command, training record.

    Examples
    --------
    >>> from rhoproof import zoo
    >>> sorted(zoo.index())
    ['A5', 'A6', 'C113', 'C59', 'Dic30', 'S4', 'S5']
    >>> zoo.index()["S4"]["models"]
    100
    """
    return json.loads((DATA / "index.json").read_text())


def entry(spec: str) -> dict[str, Any]:
    entries = index()
    if spec not in entries:
        raise ZooError(f"no zoo models for {spec!r}; the zoo has {', '.join(entries)}")
    return entries[spec]


def load(spec: str, n_models: int | None = None) -> Folded:
    """The zoo's folded weights for a group (the first ``n_models``), checksum verified.

    Examples
    --------
    >>> from rhoproof import zoo
    >>> f = zoo.load("S5", n_models=2)
    >>> tuple(f.left.shape), f.left.dtype
    ((2, 120, 128), torch.float32)
    """
    from safetensors.torch import load_file

    from rhoproof.model import FOLDED_NAMES, Folded

    e = entry(spec)
    path = DATA / e["file"]
    if not path.exists():
        raise ZooError(f"zoo file {path} is missing (a broken install?)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != e["sha256"]:
        raise ZooError(f"zoo file {path} is corrupt: SHA-256 {digest[:12]}…, expected "
                       f"{e['sha256'][:12]}…")
    tensors = load_file(str(path))
    k = e["models"] if n_models is None else n_models
    if not 1 <= k <= e["models"]:
        raise ZooError(f"the {spec} zoo has {e['models']} models, not {k}")
    return Folded(*(tensors[n][:k] for n in FOLDED_NAMES))


def export(spec: str, out: str | Path, n_models: int | None = None) -> Path:
    """Write the zoo entry (or its first ``n_models``) as a run directory at ``out``.

    Returns the run directory, which every command and ``rhoproof.load_run`` accepts.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> path = zoo.export("S4", tempfile.mkdtemp(), n_models=3)
    >>> sorted(p.name for p in path.iterdir())
    ['config.json', 'group.json', 'weights.safetensors']
    >>> rhoproof.load_run(path).n_instances
    3
    """
    from rhoproof.config import TrainConfig
    from rhoproof.groups import group
    from rhoproof.run import write_folded_run

    e = entry(spec)
    folded = load(spec, n_models)
    config = TrainConfig.from_dict({**e["config"], "n_instances": folded.n_instances})
    write_folded_run(Path(out), folded, config, {"zoo": {
        "group": spec, "sha256": e["sha256"], "command": e["command"],
        "models": folded.n_instances}}, group(config.group))
    return Path(out)


def pack(folded: Folded, path: Path) -> str:
    """Write folded weights as a zoo file (float32); returns its SHA-256."""
    import torch

    from rhoproof._io import atomic_save_tensors

    tensors = {n: t.detach().to(torch.float32).contiguous()
               for n, t in folded.tensors().items()}
    atomic_save_tensors(path, tensors, {"format": "rhoproof-zoo-1"})
    return hashlib.sha256(path.read_bytes()).hexdigest()


__all__ = ["DATA", "ZooError", "entry", "export", "index", "load", "pack"]
