"""Import weights trained elsewhere as a rhoproof run directory.

Accepted: a safetensors file or a torch state dict (``torch.load(weights_only=True)``; a dict
of tensors, possibly under one key such as "model" or "state_dict", names possibly prefixed as
in "module.embedding_left"), holding either the seed paper's parameter names (also ours)

    embedding_left [K?, |G|, d_e], embedding_right [K?, |G|, d_e], linear_left [K?, d_e, m],
    linear_right [K?, d_e, m], unembedding [K?, m, |G|], unembed_bias [K?, |G|]

or folded tensors (left, right [K?, |G|, m], unembed [K?, m, |G|], bias [K?, |G|]), with or
without the instance axis K. Anything else gets an error that lists what was expected.
"""

from __future__ import annotations

from pathlib import Path

import torch

from rhoproof.errors import RunError
from rhoproof.groups import group as make_group
from rhoproof.model import FOLDED_NAMES, PARAM_NAMES, Folded, GroupMLP

PAPER_SHAPES = {"embedding_left": "[K?, |G|, d_e]", "embedding_right": "[K?, |G|, d_e]",
                "linear_left": "[K?, d_e, m]", "linear_right": "[K?, d_e, m]",
                "unembedding": "[K?, m, |G|]", "unembed_bias": "[K?, |G|]"}
FOLDED_SHAPES = {"left": "[K?, |G|, m]", "right": "[K?, |G|, m]", "unembed": "[K?, m, |G|]",
                 "bias": "[K?, |G|]"}


def _expected() -> str:
    return ("expected the seed paper's names " + ", ".join(f"{n} {s}" for n, s in
                                                            PAPER_SHAPES.items())
            + "; or folded " + ", ".join(f"{n} {s}" for n, s in FOLDED_SHAPES.items()))


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors in a safetensors file or torch state dict, by unprefixed name."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"{path}: no such file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            raw = load_file(str(path))
        else:
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any reader failure is a bad input file
        raise RunError(f"{path}: not a readable safetensors file or torch state dict "
                       f"({type(exc).__name__}: {exc})") from None
    if isinstance(raw, dict) and len(raw) == 1 and isinstance(next(iter(raw.values())), dict):
        raw = next(iter(raw.values()))  # {"model": state_dict}
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise RunError(f"{path}: expected a dict of tensors (a state dict); {_expected()}")
    known = set(PARAM_NAMES) | set(FOLDED_NAMES)
    out: dict[str, torch.Tensor] = {}
    for name, t in raw.items():
        short = name.rsplit(".", 1)[-1]
        if short in known:
            if short in out:
                raise RunError(f"{path}: {short} appears twice ({name})")
            out[short] = t
    return out


def _with_instances(tensors: dict[str, torch.Tensor], names: tuple[str, ...], source: str
                    ) -> dict[str, torch.Tensor]:
    """Add the instance axis where it is missing (all or none must lack it)."""
    full = {"embedding_left": 3, "embedding_right": 3, "linear_left": 3, "linear_right": 3,
            "unembedding": 3, "unembed_bias": 2, "left": 3, "right": 3, "unembed": 3,
            "bias": 2}
    has = {n: tensors[n].dim() == full[n] for n in names}
    lacks = {n: tensors[n].dim() == full[n] - 1 for n in names}
    if all(lacks.values()):
        return {n: tensors[n][None] for n in names}
    if not all(has.values()):
        bad = [f"{n} {list(tensors[n].shape)}" for n in names if not has[n]]
        raise RunError(f"{source}: wrong number of dimensions for {', '.join(bad)}; "
                       f"{_expected()}")
    return {n: tensors[n] for n in names}


def import_weights(path: str | Path, spec: str, out: str | Path) -> Path:
    """Write the weights at ``path`` for group ``spec`` as a run directory at ``out``."""
    from rhoproof._io import atomic_save_tensors, atomic_write_json, ensure_dir
    from rhoproof.run import CONFIG, RUN_FORMAT, WEIGHTS, versions, write_folded_run
    from rhoproof.train import TrainConfig

    grp = make_group(spec)
    tensors = read_weights(path)
    source = str(path)
    if all(n in tensors for n in PARAM_NAMES):
        names: tuple[str, ...] = PARAM_NAMES
    elif all(n in tensors for n in FOLDED_NAMES):
        names = FOLDED_NAMES
    else:
        found = ", ".join(f"{n} {list(t.shape)}" for n, t in tensors.items()) or "none"
        raise RunError(f"{source}: found {found}; {_expected()}")
    t = {n: v.detach().to(torch.float32) for n, v in _with_instances(tensors, names,
                                                                     source).items()}
    g = grp.order
    if names == PARAM_NAMES:
        k, g_in, d = t["embedding_left"].shape
        m = t["linear_left"].shape[2]
        expected = {"embedding_left": (k, g, d), "embedding_right": (k, g, d),
                    "linear_left": (k, d, m), "linear_right": (k, d, m),
                    "unembedding": (k, m, g), "unembed_bias": (k, g)}
    else:
        k, g_in, m = t["left"].shape
        d = m
        expected = {"left": (k, g, m), "right": (k, g, m), "unembed": (k, m, g), "bias": (k, g)}
    if g_in != g:
        raise RunError(f"{source}: weights are for a group of order {g_in}, {spec} has order "
                       f"{g}")
    for n, shape in expected.items():
        if tuple(t[n].shape) != shape:
            raise RunError(f"{source}: {n} has shape {list(t[n].shape)}, expected "
                           f"{list(shape)} for {spec}; {_expected()}")
        if not torch.isfinite(t[n]).all():
            raise RunError(f"{source}: {n} contains NaN or infinite values")
    config = TrainConfig(group=grp.spec, n_instances=int(k), d_embed=int(d),
                         d_hidden=int(m), epochs=0)
    info = {"imported_from": str(Path(path).resolve()), "imported_names": "paper"
            if names == PARAM_NAMES else "folded"}
    out = Path(out)
    if names == FOLDED_NAMES:
        write_folded_run(out, Folded(*(t[n] for n in FOLDED_NAMES)), config, info)
        return out
    ensure_dir(out)
    if (out / CONFIG).exists():
        raise RunError(f"{out} already holds a run; choose another --out")
    model = GroupMLP.from_tensors(t)
    atomic_save_tensors(out / WEIGHTS, model.tensors(),
                        {"format": RUN_FORMAT, "epoch": "0", "group": grp.spec})
    atomic_write_json(out / CONFIG, {"format": RUN_FORMAT, "config": config.to_dict(),
                                     "device": "cpu", "versions": versions(), **info})
    return out


__all__ = ["import_weights", "read_weights"]
