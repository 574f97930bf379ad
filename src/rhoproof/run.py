"""Run directories: what training writes and every later stage reads, validated on load.

Layout::

    config.json              {"format", "config": TrainConfig, "device", "versions", "created"}
    group.json               the group, pinned by its table's SHA-256 (groups/stored.py);
                             every stage reads the group from here, never from a table: path
    weights.safetensors      the parameters (instance axis first), metadata: group (the spec,
                             a label), group_sha256, epoch
    checkpoint.safetensors   parameters + Adam moments, metadata: epoch, step (for --resume)
    metrics.jsonl            one JSON record per evaluation (per-instance lists)
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from rhoproof._io import atomic_save_tensors, atomic_write_json, atomic_write_text, ensure_dir
from rhoproof.errors import ConfigError, RunError, UserError
from rhoproof.groups import MAX_ORDER, Group, group, group_from_json
from rhoproof.groups.specs import check_spec
from rhoproof.groups.stored import group_from_record, group_record, is_table_spec
from rhoproof.model import FOLDED_NAMES, PARAM_NAMES, Folded, GroupMLP

if TYPE_CHECKING:
    from rhoproof.config import TrainConfig

RUN_FORMAT = "rhoproof-run-1"
FOLDED_FORMAT = "rhoproof-folded-1"
"""weights.safetensors holding only the folded tensors left, right, unembed, bias."""
MAX_CONFIG_FILE = 1 << 20
"""Bytes: a run's config.json is under 2 KB."""
CONFIG, WEIGHTS, CHECKPOINT, METRICS, GROUP = ("config.json", "weights.safetensors",
                                               "checkpoint.safetensors", "metrics.jsonl",
                                               "group.json")


def versions() -> dict[str, str]:
    from rhoproof._version import __version__

    return {"rhoproof": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def _write_group(out: Path, grp: Group) -> None:
    """group.json, one table row per line (compact: an order-5040 table is ~130 MB)."""
    rec = group_record(grp)
    table = rec.pop("table", None)
    text = json.dumps(rec, indent=1)
    if table is not None:
        rows = ",\n".join(json.dumps(r, separators=(",", ":")) for r in table)
        text = text[:-2] + ',\n "table": [\n' + rows + "\n ]\n}"
    atomic_write_text(out / GROUP, text + "\n")


def start_run(out: Path, config: Any, device: str, grp: Group) -> None:
    """Create a new run directory for models of ``grp``; refuse to overwrite an existing run."""
    ensure_dir(out)
    if (out / CONFIG).exists() and ((out / CHECKPOINT).exists() or (out / WEIGHTS).exists()):
        raise RunError(f"{out} already holds a run; use --resume to continue it or choose "
                       f"another --out")
    # a config.json alone is a run stopped before its first checkpoint: nothing to keep
    _write_group(out, grp)
    atomic_write_json(out / CONFIG, {
        "format": RUN_FORMAT,
        "config": config.to_dict(),
        "device": device,
        "versions": versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })


def save_checkpoint(out: Path, model: GroupMLP, state: Any, epoch: int,
                    metrics: list[dict[str, Any]], grp: Group, elapsed_s: float = 0.0) -> None:
    """Write metrics, weights and checkpoint, each atomically (metrics first: on resume,
    records past the checkpoint's epoch are dropped)."""
    atomic_write_text(out / METRICS, "".join(json.dumps(r) + "\n" for r in metrics))
    weights = model.tensors()
    meta = {"format": RUN_FORMAT, "epoch": str(epoch), "group": grp.spec,
            "group_sha256": grp.sha256}
    atomic_save_tensors(out / WEIGHTS, weights, meta)
    tensors = dict(weights)
    for name in PARAM_NAMES:
        tensors[f"adam.exp_avg.{name}"] = state.exp_avg[name]
        tensors[f"adam.exp_avg_sq.{name}"] = state.exp_avg_sq[name]
    atomic_save_tensors(out / CHECKPOINT, tensors, {**meta, "step": str(state.step),
                                                    "elapsed_s": repr(float(elapsed_s))})


def read_config(path: Path) -> dict[str, Any]:
    """The parsed config.json of a run, or RunError saying what is wrong."""
    if not path.exists():
        raise RunError(f"run directory {path} does not exist (make one with rhoproof train, "
                       f"export shipped models: rhoproof zoo export GROUP --out DIR, or plant "
                       f"models with a known answer: rhoproof plant --group GROUP --out DIR)")
    if not path.is_dir():
        raise RunError(f"{path} is not a run directory")
    cfg = path / CONFIG
    if not cfg.exists():
        raise RunError(f"{path} is not a run directory: {CONFIG} is missing")
    try:
        if cfg.stat().st_size > MAX_CONFIG_FILE:
            raise RunError(f"{cfg} is corrupt: larger than any run config "
                           f"({MAX_CONFIG_FILE} bytes)")
        data = json.loads(cfg.read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RunError(f"{cfg} is corrupt: {str(exc)[:200]}") from None
    if not isinstance(data, dict) or data.get("format") != RUN_FORMAT or not isinstance(
            data.get("config"), dict):
        raise RunError(f"{cfg} is not a rhoproof run config (format {RUN_FORMAT!r})")
    return data


def train_config_of(path: Path) -> TrainConfig:
    from rhoproof.config import TrainConfig

    try:
        return TrainConfig.from_dict(read_config(path)["config"])
    except ConfigError as exc:
        raise RunError(f"{path / CONFIG}: {exc}") from None


def _load_tensors(file: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if not file.exists():
        raise RunError(f"{file} is missing")
    try:
        tensors = load_file(str(file))
        with open(file, "rb") as fh:
            header_len = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(header_len))
        meta = header.get("__metadata__", {}) or {}
    except (SafetensorError, OSError, ValueError, json.JSONDecodeError) as exc:
        raise RunError(f"{file} is corrupt: {exc}") from None
    return tensors, meta


def check_tensors(tensors: dict[str, torch.Tensor], expected: dict[str, tuple[int, ...]],
                  source: str) -> None:
    """Names, shapes and finiteness of model tensors, or RunError listing what was expected."""
    missing = [n for n in expected if n not in tensors]
    if missing:
        want = ", ".join(f"{n}{list(s)}" for n, s in expected.items())
        raise RunError(f"{source}: missing tensors {', '.join(missing)}; expected {want}")
    for name, shape in expected.items():
        if tensors[name].dtype not in (torch.float32, torch.float64):  # as the checker reads
            raise RunError(f"{source}: {name} is {str(tensors[name].dtype).removeprefix('torch.')}"
                           f"; a run holds float32 or float64 weights (`rhoproof import` "
                           f"converts other float dtypes exactly)")
        got = tuple(tensors[name].shape)
        if got != shape:
            raise RunError(f"{source}: {name} has shape {list(got)}, expected {list(shape)} "
                           f"(group or config mismatch)")
        if not torch.isfinite(tensors[name]).all():
            raise RunError(f"{source}: {name} contains NaN or infinite values")


def load_checkpoint(out: Path, config: Any, model: GroupMLP, state: Any, grp: Group
                    ) -> tuple[int, list[dict[str, Any]], float]:
    """Restore model and Adam state from ``out``; return (epoch, metrics up to that epoch,
    training seconds up to the checkpoint over every earlier attempt)."""
    saved = train_config_of(out)
    if saved.replace(epochs=config.epochs) != config:
        diff = [k for k, v in config.to_dict().items()
                if k != "epochs" and saved.to_dict()[k] != v]
        raise RunError(f"cannot resume {out}: config differs in {', '.join(diff)}")
    tensors, meta = _load_tensors(out / CHECKPOINT)
    expected = model.expected_shapes()
    for name in PARAM_NAMES:
        expected[f"adam.exp_avg.{name}"] = expected[name]
        expected[f"adam.exp_avg_sq.{name}"] = expected[name]
    check_tensors(tensors, expected, str(out / CHECKPOINT))
    if meta.get("group_sha256", grp.sha256) != grp.sha256:
        raise RunError(f"{out / CHECKPOINT} was trained on another table than the one stored "
                       f"in {out / GROUP} (group SHA-256 {str(meta['group_sha256'])[:12]}..., "
                       f"stored {grp.sha256[:12]}...)")
    try:
        epoch, step = int(meta["epoch"]), int(meta["step"])
    except (KeyError, ValueError):
        raise RunError(f"{out / CHECKPOINT}: metadata lacks epoch/step") from None
    if epoch > config.epochs:
        raise RunError(f"checkpoint in {out} is at epoch {epoch}, past --epochs {config.epochs}")
    with torch.no_grad():
        for name in PARAM_NAMES:
            p = getattr(model, name)
            p.copy_(tensors[name].to(p))
            state.exp_avg[name].copy_(tensors[f"adam.exp_avg.{name}"].to(p))
            state.exp_avg_sq[name].copy_(tensors[f"adam.exp_avg_sq.{name}"].to(p))
    state.step = step
    metrics = [r for r in read_metrics(out) if r["epoch"] <= epoch]
    try:  # checkpoints of rhoproof 0.2 lack it: the last evaluation's time is a lower bound
        elapsed = float(meta["elapsed_s"])
    except (KeyError, ValueError):
        elapsed = metrics[-1]["elapsed_s"] if metrics else 0.0
    if saved.epochs != config.epochs:  # record the extended target
        data = read_config(out)
        data["config"] = config.to_dict()
        atomic_write_json(out / CONFIG, data)
    return epoch, metrics, elapsed


def read_metrics(path: Path) -> list[dict[str, Any]]:
    file = path / METRICS
    if not file.exists():
        return []
    records = []
    for i, line in enumerate(file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            raise RunError(f"{file}: line {i} is not valid JSON") from None
        if not isinstance(rec, dict) or "epoch" not in rec:
            raise RunError(f"{file}: line {i} is not a metrics record")
        records.append(rec)
    return records


@dataclass(frozen=True)
class Run:
    """A trained run loaded from disk and checked against its own config.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=2))
    >>> run.group.spec, run.n_instances, run.config.d_hidden, type(run.model).__name__
    ('S4', 2, 64, 'Folded')
    """

    path: Path
    config: Any  # TrainConfig
    group: Group
    model: GroupMLP | Folded  # a Folded for folded runs (zoo, imports); both have fold()
    epoch: int
    metrics: list[dict[str, Any]]
    info: dict[str, Any]

    @property
    def n_instances(self) -> int:
        return self.model.n_instances


MAX_GROUP_FILE = 8 * MAX_ORDER**2 + 2**20
"""Largest group.json read (bytes): an order-5040 table written compactly, and labels."""


def _same_spec(a: str, b: str) -> bool:
    """Two spellings of one spec (" S3" and "S3"; 0.2 kept the one typed)."""
    try:
        return check_spec(a) == check_spec(b)
    except UserError:
        return a == b


def _read_group_file(file: Path) -> Group:
    if not file.is_file():
        raise RunError(f"{file} is not a regular file")
    if file.stat().st_size > MAX_GROUP_FILE:
        raise RunError(f"{file} is larger than any group's table ({MAX_GROUP_FILE} bytes)")
    try:
        data = json.loads(file.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError: bad JSON, or an integer beyond Python's digit limit
        raise RunError(f"{file} is corrupt: {type(exc).__name__}: {str(exc)[:200]}") from None
    try:
        return group_from_record(data, str(file))
    except UserError as exc:
        raise RunError(str(exc)) from None


def read_group(path: Path, spec: str, table: str | Path | None = None
               ) -> tuple[Group, bool]:
    """The group of the run in ``path`` (whose config names it ``spec``) from its stored
    ``group.json``, never from the path a ``table:`` spec names; and whether it came from
    ``table`` and is not stored yet (``load_run`` stores it once every check has passed).

    A run written before groups were stored has no ``group.json``: a built-in spec is rebuilt
    from the grammar (it means the same group everywhere; a ``table`` must be that table),
    while a ``table:`` spec needs ``table``, the Cayley-table file it was trained on. With a
    stored group, ``table`` must be the same group (same table hash)."""
    file = path / GROUP
    given = None
    if table is not None:
        try:
            read = group_from_json(table)
            given = Group(spec, read.table_np, read.labels)
        except UserError as exc:
            raise RunError(f"--table: {exc}") from None
    if file.exists() or file.is_symlink():
        grp = _read_group_file(file)
        if not _same_spec(grp.spec, spec):
            raise RunError(f"{file} stores {grp.spec}, but {CONFIG} says {spec}")
        if given is not None and given.sha256 != grp.sha256:
            raise RunError(f"--table {table} is not the group stored in {file} (its table "
                           f"hashes differently); leave out --table")
        return grp, False
    if not is_table_spec(spec):
        try:
            grp = group(spec)
        except UserError as exc:
            raise RunError(f"{path / CONFIG}: {exc}") from None
        if given is not None and given.sha256 != grp.sha256:
            raise RunError(f"--table {table} is not {grp.spec}'s table (a built-in spec needs "
                           f"no --table)")
        return grp, False
    if given is None:
        raise RunError(f"{path} was written by an earlier rhoproof: it names its group only by "
                       f"the path {spec!r}, which means another table in another directory; "
                       f"pass --table PATH (the Cayley table it was trained on) once to "
                       f"evaluate, explain, certify or check, e.g. `rhoproof evaluate {path} "
                       f"--table PATH`, and the run keeps a copy")
    return given, True


def _check_against_metrics(path: Path, model: GroupMLP | Folded, grp: Group, epoch: int,
                           table: str | Path) -> bool:
    """A --table for a 0.2 run must reproduce the accuracy training recorded at the weights'
    epoch (where it recorded one: True): another table of the same order would not."""
    from rhoproof.evaluate import evaluate

    rec = next((r for r in read_metrics(path) if r.get("epoch") == epoch
                and isinstance(r.get("acc"), list)), None)
    if rec is None:
        return False
    got = evaluate(model, grp, exact=False).accuracy.tolist()
    for k, (a, b) in enumerate(zip(got, rec["acc"])):
        if abs(a - float(b)) > ACCURACY_TOLERANCE:
            raise RunError(f"--table {table} is not the table this run was trained on: model "
                           f"{k} scores {a:.4f} on it, but {METRICS} recorded {float(b):.4f} at "
                           f"epoch {epoch}")
    return True


ACCURACY_TOLERANCE = 0.01
"""How far the accuracy on a --table may be from what training recorded (the recorded one was
computed in the training dtype; a wrong table of the same order misses by far more)."""


def load_run(path: str | Path, table: str | Path | None = None) -> Run:
    """Load and validate a run directory: config, stored group, weight names, shapes and values.

    ``table``: see ``read_group`` (only for runs of earlier versions); it is stored in the
    run only once every check has passed. Anything wrong is a RunError naming it.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=2))
    >>> run.n_instances, run.group.order
    (2, 24)
    >>> rhoproof.load_run(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rhoproof.errors.RunError: ...
    """
    path = Path(path)
    info = read_config(path)
    config = train_config_of(path)
    tensors, meta = _load_tensors(path / WEIGHTS)
    if not _same_spec(meta.get("group", config.group), config.group):
        raise RunError(f"{path / WEIGHTS} was trained on {meta['group']}, but {CONFIG} says "
                       f"{config.group}")
    grp, from_table = read_group(path, config.group, table)
    if meta.get("group_sha256", grp.sha256) != grp.sha256:
        raise RunError(f"{path / WEIGHTS} was trained on another table of {config.group} "
                       f"(group SHA-256 {str(meta['group_sha256'])[:12]}..., the run's group "
                       f"is {grp.sha256[:12]}...)")
    k, d, m, g = config.n_instances, config.d_embed, config.d_hidden, grp.order
    model: GroupMLP | Folded
    if meta.get("format") == FOLDED_FORMAT:  # folded weights only (zoo, imports)
        expected = {"left": (k, g, m), "right": (k, g, m), "unembed": (k, m, g), "bias": (k, g)}
        check_tensors(tensors, expected, str(path / WEIGHTS))
        model = Folded(*(tensors[n] for n in FOLDED_NAMES))
    else:
        expected = {"embedding_left": (k, g, d), "embedding_right": (k, g, d),
                    "linear_left": (k, d, m), "linear_right": (k, d, m),
                    "unembedding": (k, m, g), "unembed_bias": (k, g)}
        check_tensors(tensors, expected, str(path / WEIGHTS))
        model = GroupMLP.from_tensors(tensors)
    try:
        epoch = int(meta.get("epoch", config.epochs))
    except ValueError:
        raise RunError(f"{path / WEIGHTS}: bad epoch metadata") from None
    if "group" not in meta:  # hand-made weights: nothing to check the config's group against
        info = {**info, "group_unverified": True}
    if from_table:
        assert table is not None
        checked = _check_against_metrics(path, model, grp, epoch, table)
        _write_group(path, grp)
        info = {**info, "group_stored_from": str(table), "group_stored_checked": checked}
    return Run(path, config, grp, model, epoch, read_metrics(path), info)


def write_stored_run(out: Path, model: GroupMLP | Folded, config: Any, info: dict[str, Any],
                     grp: Group) -> None:
    """A run directory holding a model as given (zoo exports and imports): folded tensors
    (format ``rhoproof-folded-1``) or the paper's parameters, float32 or float64 as given
    (other dtypes become float32, exactly). ``info`` goes into config.json beside the config.
    Refuses to overwrite a run; every file is written atomically."""
    ensure_dir(out)
    if (out / CONFIG).exists():
        raise RunError(f"{out} already holds a run; choose another --out")
    tensors = {n: (t.detach() if t.dtype in (torch.float32, torch.float64)
                   else t.detach().to(torch.float32)).contiguous()
               for n, t in model.tensors().items()}
    fmt = FOLDED_FORMAT if isinstance(model, Folded) else RUN_FORMAT
    _write_group(out, grp)
    atomic_save_tensors(out / WEIGHTS, tensors,
                        {"format": fmt, "epoch": str(config.epochs), "group": config.group,
                         "group_sha256": grp.sha256})
    atomic_write_json(out / CONFIG, {
        "format": RUN_FORMAT, "config": config.to_dict(), "device": "cpu",
        "versions": versions(), "created": datetime.now(timezone.utc).isoformat(
            timespec="seconds"), **info})


def write_folded_run(out: Path, folded: Folded, config: Any, info: dict[str, Any],
                     grp: Group) -> None:
    """``write_stored_run`` for a folded model."""
    write_stored_run(out, folded, config, info, grp)
