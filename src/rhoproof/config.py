"""Configuration records: what determines a training run's result, validated on creation.

No torch here: reading or validating a config imports nothing heavy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from rhoproof.errors import ConfigError

DTYPES = ("float32", "float64")
"""Parameter dtypes a run may train in."""

PER_OUTPUT_MODES = ("auto", "all", "needed")
METHODS = ("irrep", "coset", "brute", "fourier")
REPORT_METHODS = ("irrep", "coset", "brute")
"""The verifiers every report and sweep cell runs (``report.stages.report_methods`` adds
V_fourier for groups with an irrep that is not of real type)."""
"""The verifiers: V_irrep (the ρ-set proof), V_coset (the coset baseline), V_brute (exact),
V_fourier (the low-rank split of the unembedding, for complex-type irreps)."""
PRODUCTS = ("right-to-left", "left-to-right")
"""How imported weights' source multiplies permutations (``rhoproof import --product``)."""
BACKENDS = ("local", "ray")
"""Where a sweep runs its cells."""
"""V_irrep's per-output terms: ``auto``, for every input (``all``) or where needed."""

GENERALISED = 0.5
"""A model generalised if its accuracy on the pairs it was not trained on is at least this
(``train``'s warning, the report's, and a sweep's count)."""

SPARSITY_THRESHOLD = 0.95
"""A neuron belongs to an irrep when more than this share of each of ‖ℓ_i‖², ‖r_i‖², ‖u_i‖²
lies in it (``explain --threshold``); not to be confused with ``CERTIFIED``."""

CERTIFIED = 0.95
"""A model counts as certified when its bound is at least this (the seed paper's "certified
≥ 95%"); not to be confused with ``SPARSITY_THRESHOLD``."""

FITTED = 0.9
"""A model has learned its training pairs if its accuracy on them is at least this; below,
``train`` says to train longer rather than that it memorised (it has not even done that)."""

DEMO_CONFIG: dict[str, Any] = {"group": "S5", "n_instances": 4, "epochs": 1200, "seed": 0,
                               "eval_every": 100, "checkpoint_every": 500}
"""``rhoproof demo``: a few S5 models with the seed recipe, short enough for a laptop."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run's result (the seed paper's recipe by default).

    group: group spec, e.g. "S5" (see ``rhoproof.groups.specs``).
    n_instances: K, models trained together; instance k's init depends only on (seed, k).
    d_embed, d_hidden: embedding width d_e and hidden width m.
    train_frac: fraction of all |G|² pairs in the training set (one seeded split per run).
    epochs: full-batch steps. lr, beta1, beta2, eps: Adam.
    weight_decay: coupled L2 (added to the gradient, as torch.optim.Adam does) on all weights
        except the unembedding bias.
    seed: run seed; derives the split and every instance's init.
    eval_every: epochs between exact all-pairs evaluations written to metrics.jsonl.
    checkpoint_every: epochs between checkpoints (resume points).
    dtype: "float32" or "float64".

    Examples
    --------
    >>> from rhoproof import TrainConfig
    >>> c = TrainConfig(group="S4", n_instances=6, d_hidden=64, train_frac=0.8)
    >>> c.epochs, c.lr, c.weight_decay
    (2000, 0.01, 0.0002)
    >>> TrainConfig(train_frac=1.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rhoproof.errors.ConfigError: train_frac must be in (0, 1], got 1.5
    """

    group: str = "S5"
    n_instances: int = 1
    d_embed: int = 128
    d_hidden: int = 128
    train_frac: float = 0.4
    epochs: int = 2000
    lr: float = 1e-2
    beta1: float = 0.9
    beta2: float = 0.98
    eps: float = 1e-8
    weight_decay: float = 2e-4
    seed: int = 0
    eval_every: int = 50
    checkpoint_every: int = 250
    dtype: str = "float32"

    def __post_init__(self) -> None:
        for name in ("n_instances", "d_embed", "d_hidden", "eval_every", "checkpoint_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 0:
            raise ConfigError(f"epochs must be a non-negative integer, got {self.epochs!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.train_frac, (int, float)) or not 0 < self.train_frac <= 1:
            raise ConfigError(f"train_frac must be in (0, 1], got {self.train_frac!r}")
        for name in ("beta1", "beta2"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {v!r}")
        for name in ("lr", "eps", "weight_decay"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"{name} must be a finite non-negative number, got {v!r}")
        if self.dtype not in DTYPES:
            raise ConfigError(f"dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        if not isinstance(self.group, str):
            raise ConfigError(f"group must be a spec string, got {self.group!r}")
        from rhoproof.groups.specs import check_spec

        # one spelling per group (" S3" and "C2 x C3" as ``group`` names them), so config.json,
        # the weights' metadata and group.json agree
        object.__setattr__(self, "group", check_spec(self.group))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config fields: {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> TrainConfig:
        return TrainConfig.from_dict({**self.to_dict(), **changes})


__all__ = ["BACKENDS", "DEMO_CONFIG", "DTYPES", "GENERALISED", "METHODS", "PER_OUTPUT_MODES",
           "PRODUCTS", "REPORT_METHODS", "TrainConfig"]
