"""The sweep file: a grid over groups × hyperparameters × seeds, read from TOML and validated
before anything runs; each point of the grid is a ``Cell`` (one vectorized run of K models,
then evaluate, explain and certify).

Format (every key but ``groups`` optional; a list is an axis of the grid, a scalar is fixed)::

    [sweep]
    name = "s4-a5"                  # names the default output folder
    groups = ["S4", "A5"]           # any group specs
    models = 20                     # K, models per cell (one vectorized run)
    seeds = [0, 1]
    epochs = 2000
    d_hidden = [64, 128]
    d_embed = 128
    weight_decay = [1e-4, 2e-4, 5e-4]
    lr = 1e-2
    train_frac = 0.4
    dtype = "float32"
    device = "cpu"                  # or "cuda": the cell trains on one GPU
    cpus = 1                        # cores (torch threads) per cell
    methods = ["irrep", "coset", "brute"]
    per_output = "auto"

    [groups.S4]                     # per-group values, replacing the ones above
    train_frac = 0.8
    epochs = 20000

No torch here: reading a sweep file imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rhoproof.config import DTYPES, PER_OUTPUT_MODES, REPORT_METHODS, TrainConfig
from rhoproof.errors import ConfigError, UserError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

METHODS = REPORT_METHODS  # the verifiers a cell runs (config: no torch import here)
CELL_FORMAT = "rhoproof-sweep-cell-1"

AXES = ("groups", "seeds", "epochs", "d_hidden", "d_embed", "weight_decay", "lr", "train_frac")
"""Keys that may be lists (grid axes); ``groups`` and ``seeds`` name one value each as
``group`` and ``seed``."""
FIXED = ("name", "models", "dtype", "device", "cpus", "methods", "per_output", "eval_every",
         "checkpoint_every")
"""Keys that take one value for the whole sweep (``methods`` is one list)."""
PER_GROUP = tuple(k for k in AXES if k != "groups") + ("models", "eval_every",
                                                         "checkpoint_every")
"""Keys a ``[groups.SPEC]`` table may set for that group."""
DEFAULTS: dict[str, Any] = {"seeds": [0], "models": 10, "dtype": "float32", "device": "cpu",
                            "cpus": 1, "methods": list(METHODS), "per_output": "auto"}
"""Everything else not given takes ``TrainConfig``'s default (the seed paper's recipe)."""


@dataclass(frozen=True)
class Cell:
    """One point of the grid: a training config and what is certified, with its resources."""

    config: TrainConfig
    methods: tuple[str, ...] = METHODS
    per_output: str = "auto"
    device: str = "cpu"
    cpus: int = 1
    table_sha256: str | None = None  # a table: group's file content (None: not read)

    def key(self) -> dict[str, Any]:
        """What determines the cell's results (its folder is named by this key's hash)."""
        key = {"format": CELL_FORMAT, "config": self.config.to_dict(),
               "methods": list(self.methods), "per_output": self.per_output,
               "device": self.device, "cpus": self.cpus}
        return key if self.table_sha256 is None else key | {"table_sha256": self.table_sha256}

    @property
    def id(self) -> str:
        """``<group>-<first 12 hex digits of the key's SHA-256>``, a safe folder name."""
        digest = hashlib.sha256(json.dumps(self.key(), sort_keys=True).encode()).hexdigest()
        return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', self.config.group)[:40]}-{digest[:12]}"

    def to_json(self) -> dict[str, Any]:
        return self.key()

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Cell:
        if d.get("format") != CELL_FORMAT:
            raise ConfigError(f"not a sweep cell record (format {d.get('format')!r})")
        return cls(TrainConfig.from_dict(d["config"]), tuple(d["methods"]), d["per_output"],
                   d["device"], int(d["cpus"]), d.get("table_sha256"))


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file: its name, its cells in grid order, and the swept keys."""

    name: str
    cells: tuple[Cell, ...]
    swept: tuple[str, ...]  # "group" if several, and TrainConfig fields varying within one
    source: dict[str, Any]  # the file's contents, as read

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "swept": list(self.swept), "source": self.source,
                "cells": [c.id for c in self.cells]}


def _bad(where: str, msg: str) -> ConfigError:
    return ConfigError(f"sweep file: {where}: {msg}")


def _number(where: str, v: Any, integer: bool) -> Any:
    ok = (isinstance(v, int) and not isinstance(v, bool)) if integer else \
        (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))
    if not ok:
        raise _bad(where, f"expected {'an integer' if integer else 'a number'}, got {v!r}")
    return v


INTEGER_KEYS = {"seeds", "epochs", "d_hidden", "d_embed", "models", "cpus", "eval_every",
                "checkpoint_every"}
FLOAT_KEYS = {"weight_decay", "lr", "train_frac"}


def _values(where: str, key: str, v: Any) -> list[Any]:
    """A key's value as a non-empty list of checked scalars."""
    vals = v if isinstance(v, list) else [v]
    if not vals:
        raise _bad(where, "an empty list leaves no cells")
    if key == "groups":
        from rhoproof.groups.specs import check_spec

        out = []
        for s in vals:
            if not isinstance(s, str):
                raise _bad(where, f"a group spec must be a string, got {s!r}")
            try:
                out.append(check_spec(s))
            except UserError as exc:
                raise _bad(where, f"{s!r}: {exc}") from None
        vals = out
    elif key in INTEGER_KEYS:
        vals = [_number(where, x, True) for x in vals]
    elif key in FLOAT_KEYS:  # 1 and 1.0 are one value (and one cell)
        vals = [float(_number(where, x, False)) for x in vals]
    if len(set(map(repr, vals))) != len(vals):
        raise _bad(where, f"repeated value in {vals!r}")
    return vals


def _scalar(where: str, key: str, v: Any) -> Any:
    if isinstance(v, list):
        raise _bad(where, f"takes one value, not a list ({key} is fixed for the sweep)")
    return _values(where, key, v)[0]


def parse(data: dict[str, Any], name: str = "sweep") -> SweepSpec:
    """Validate a sweep file's contents and expand its grid; one ConfigError naming the first
    bad key or value."""
    grid = _sweep_table(data)
    axes = {k: _values(f"sweep.{k}", k, grid[k]) for k in AXES if k in grid}
    fixed = _fixed(grid)
    methods = grid["methods"]
    sweep_name = grid.get("name", name)
    if not isinstance(sweep_name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", sweep_name):
        raise _bad("sweep.name", f"{sweep_name!r}: use letters, digits, '_', '.', '-'")
    per_group = _per_group(data, axes["groups"])
    table_digest = {s: table_file_digest(s) for s in axes["groups"] if s.startswith("table:")}
    cells, seen = [], set()
    for spec in axes["groups"]:
        mine = dict(axes)
        mine_fixed = dict(fixed)
        for key, v in per_group.get(spec, {}).items():
            where = f"groups.{spec}.{key}"
            if key in AXES:
                mine[key] = _values(where, key, v)
            else:
                mine_fixed[key] = _scalar(where, key, v)
        names = [k for k in AXES if k != "groups" and k in mine]
        for combo in itertools.product(*(mine[k] for k in names)):
            cfg = dict(zip(names, combo))
            cfg["seed"] = cfg.pop("seeds")
            config = _cell_config(spec, cfg, mine_fixed, grid["dtype"])
            cell = Cell(config, tuple(methods), grid["per_output"], grid["device"],
                        mine_fixed.get("cpus", 1), table_digest.get(spec))
            if cell.id not in seen:
                seen.add(cell.id)
                cells.append(cell)
    groups = {c.config.group for c in cells}
    swept = (("group",) if len(groups) > 1 else ()) + tuple(  # varying within a group
        k for k in ("seed", "epochs", "d_hidden", "d_embed", "weight_decay", "lr", "train_frac")
        if any(len({getattr(c.config, k) for c in cells if c.config.group == g}) > 1
               for g in groups))
    return SweepSpec(sweep_name, tuple(cells), swept, data)


def _sweep_table(data: dict[str, Any]) -> dict[str, Any]:
    """The [sweep] table over the defaults, its keys and choices checked."""
    if set(data) - {"sweep", "groups"}:
        raise _bad("top level", f"unknown table {sorted(set(data) - {'sweep', 'groups'})[0]!r}"
                   f" (expected [sweep] and [groups.SPEC])")
    top = data.get("sweep")
    if not isinstance(top, dict):
        raise _bad("[sweep]", "missing (the grid goes in a [sweep] table)")
    for key in top:
        if key not in AXES and key not in FIXED:
            raise _bad(f"sweep.{key}", f"unknown key (known: {', '.join(AXES + FIXED)})")
    if "groups" not in top:
        raise _bad("sweep.groups", "missing: name at least one group, e.g. groups = [\"S4\"]")
    grid = {**DEFAULTS, **top}
    for key, allowed in (("dtype", DTYPES), ("device", ("cpu", "cuda")),
                         ("per_output", PER_OUTPUT_MODES)):
        if grid[key] not in allowed:
            raise _bad(f"sweep.{key}", f"{grid[key]!r} is not one of {', '.join(allowed)}")
    methods = grid["methods"]
    if not isinstance(methods, list) or not methods or any(m not in METHODS for m in methods) \
            or len(set(methods)) != len(methods):
        raise _bad("sweep.methods", f"expected a list of distinct {', '.join(METHODS)}, got "
                                    f"{methods!r}")
    return grid


def _fixed(grid: dict[str, Any]) -> dict[str, Any]:
    """The keys fixed for the whole sweep (one value each)."""
    fixed: dict[str, Any] = {}
    for key in ("models", "cpus", "eval_every", "checkpoint_every"):
        if key in grid:
            fixed[key] = _scalar(f"sweep.{key}", key, grid[key])
    if fixed.get("cpus", 1) < 1:
        raise _bad("sweep.cpus", f"must be a positive integer, got {fixed['cpus']!r}")
    return fixed


def _per_group(data: dict[str, Any], groups: list[Any]) -> dict[str, dict[str, Any]]:
    """The [groups.SPEC] overrides, by canonical spec, each for a group of the sweep."""
    overrides = data.get("groups", {})
    if not isinstance(overrides, dict):
        raise _bad("[groups]", "expected tables [groups.SPEC]")
    per_group: dict[str, dict[str, Any]] = {}
    for spec, table in overrides.items():
        where = f"groups.{spec}"
        canonical = _values(where, "groups", spec)[0]
        if canonical not in groups:
            raise _bad(where, f"{spec!r} is not in sweep.groups")
        if not isinstance(table, dict):
            raise _bad(where, "expected a table of values for this group")
        if canonical in per_group:
            raise _bad(where, f"a second table for {canonical}")
        for key in table:
            if key not in PER_GROUP:
                raise _bad(f"{where}.{key}", f"not a per-group key (those are: "
                                             f"{', '.join(PER_GROUP)})")
        per_group[canonical] = table
    return per_group


def _cell_config(spec: str, cfg: dict[str, Any], fixed: dict[str, Any], dtype: str
                 ) -> TrainConfig:
    """One cell's training configuration; a bad combination is one ConfigError."""
    fields: dict[str, Any] = {**cfg, "group": spec, "n_instances": fixed.get("models"),
                              "dtype": dtype,
                              **{k: fixed[k] for k in ("eval_every", "checkpoint_every")
                                 if k in fixed}}
    if "epochs" in fields and "eval_every" not in fields:  # an evaluation at the end
        fields["eval_every"] = min(50, max(1, fields["epochs"]))
    try:
        return TrainConfig(**fields)
    except UserError as exc:
        msg = str(exc).replace("n_instances", "models")
        raise _bad(f"the cell of {spec} with {cfg}", msg) from None


def table_file_digest(spec: str) -> str | None:
    """SHA-256 of a ``table:`` group's file, so an edited table makes new cells; None where
    the driver cannot read it (on a cluster it may exist only on the workers' filesystem)."""
    try:
        return hashlib.sha256(Path(spec[len("table:"):]).read_bytes()).hexdigest()
    except OSError:
        return None


def load(path: str | Path) -> SweepSpec:
    r"""Read and validate a sweep TOML file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from rhoproof.sweep import load
    >>> path = Path(tempfile.mkdtemp()) / "study.toml"
    >>> _ = path.write_text('[sweep]\ngroups = ["S3", "C5"]\nweight_decay = [1e-4, 2e-4]\n')
    >>> spec = load(path)
    >>> spec.name, len(spec.cells), spec.swept
    ('study', 4, ('group', 'weight_decay'))
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read sweep file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"sweep file {path} is not valid TOML: {exc}") from None
    return parse(data, name=re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem)[:64] or "sweep")


def cell_summary(cell: Cell) -> dict[str, Any]:
    """The grid coordinates of a cell, for tables."""
    c = cell.config
    return {"group": c.group, "seed": c.seed, "epochs": c.epochs, "d_hidden": c.d_hidden,
            "d_embed": c.d_embed, "weight_decay": c.weight_decay, "lr": c.lr,
            "train_frac": c.train_frac, "models": c.n_instances}


__all__ = ["AXES", "Cell", "SweepSpec", "cell_summary", "load", "parse"]
