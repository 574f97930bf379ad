"""The checker's view of the model: the weights file's bytes, hashed and read here, and the
real numbers they stand for (docs/soundness.md §0 and §6).

A folded file (metadata format ``rhoproof-folded-1``) stores ℓ, r, u, β; any other rhoproof
run stores E_L, W_L, E_R, W_R, W_U, β and ℓ = E_L W_L is enclosed as centre ± radius with
|fl(Σ a_k b_k) − Σ a_k b_k| ≤ γ_d Σ |a_k b_k| + d·η [F1]. Float32 and float64 are read as they
are: converting them to float64 is exact.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rhoproof.check.parse import CheckFailed, require
from rhoproof.check.rounding import ETA, SAFE_HIGH, SAFE_LOW, U

FOLDED_FORMAT = "rhoproof-folded-1"
FOLDED = ("left", "right", "unembed", "bias")
UNFOLDED = ("embedding_left", "linear_left", "embedding_right", "linear_right", "unembedding",
            "unembed_bias")


@dataclass(frozen=True)
class StoredModel:
    """The tensors of a weights file as stored (float32 or float64), instance axis first.

    Examples
    --------
    >>> import tempfile
    >>> from rhoproof import zoo
    >>> from rhoproof.check.weights import read_file
    >>> run = zoo.export("S4", tempfile.mkdtemp(), n_models=2)
    >>> digest, stored = read_file(run / "weights.safetensors")
    >>> stored.tensors["left"].shape, stored.tensors["left"].dtype
    ((2, 24, 64), dtype('float32'))
    """

    tensors: dict[str, np.ndarray]
    folded: bool
    group_sha256: str | None = None  # the group the file's metadata says (None: not recorded)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(instances, |G|, m)."""
        u = self.tensors["unembed" if self.folded else "unembedding"]
        return int(u.shape[0]), int(u.shape[2]), int(u.shape[1])


def read_file(path: str | Path) -> tuple[str, StoredModel]:
    """(SHA-256 of the file, its model); CheckFailed if it is not a readable weights file."""
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        from safetensors.numpy import load

        tensors = load(data)
        n = int.from_bytes(data[:8], "little")
        meta = json.loads(data[8:8 + n]).get("__metadata__") or {}
    except Exception as exc:  # any reader failure: not a weights file
        raise CheckFailed(f"{path}: not a readable safetensors file ({exc})") from None
    group_sha = meta.get("group_sha256") if isinstance(meta, dict) else None
    require(group_sha is None or (isinstance(group_sha, str) and len(group_sha) == 64),
            f"{path}: the metadata's group_sha256 is not a SHA-256 hex digest")
    model = stored_model(tensors, isinstance(meta, dict) and meta.get("format") == FOLDED_FORMAT)
    return digest, StoredModel(model.tensors, model.folded, group_sha)


def stored_model(tensors: dict[str, np.ndarray], folded: bool) -> StoredModel:
    """Validate names, dtypes, shapes and finiteness of a model's tensors."""
    names = FOLDED if folded else UNFOLDED
    for name in names:
        require(name in tensors, f"the weights lack {name}")
        arr = np.asarray(tensors[name])
        require(arr.dtype in (np.float32, np.float64), f"{name} is {arr.dtype}, not float32/64")
        require(bool(np.isfinite(arr).all()), f"{name} is not finite")
    t = {n: np.asarray(tensors[n]) for n in names}
    dims = {"left": 3, "right": 3, "unembed": 3, "bias": 2, "embedding_left": 3,
            "linear_left": 3, "embedding_right": 3, "linear_right": 3, "unembedding": 3,
            "unembed_bias": 2}
    for name in names:
        require(t[name].ndim == dims[name], f"{name} has {t[name].ndim} axes, not {dims[name]}")
    if folded:
        k, g, m = t["left"].shape
        ok = (t["right"].shape == (k, g, m) and t["unembed"].shape == (k, m, g)
              and t["bias"].shape == (k, g))
    else:
        k, g, d = t["embedding_left"].shape
        m = t["linear_left"].shape[2]
        ok = (t["embedding_right"].shape == (k, g, d) and t["linear_left"].shape == (k, d, m)
              and t["linear_right"].shape == (k, d, m) and t["unembedding"].shape == (k, m, g)
              and t["unembed_bias"].shape == (k, g))
    require(ok, "the weights' shapes do not fit together")
    return StoredModel(t, folded)


def _fold(e: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    e, w = e.astype(np.float64), w.astype(np.float64)
    d = e.shape[-1]
    with np.errstate(over="ignore", invalid="ignore"):
        center = e @ w
        radius = (np.abs(e) @ np.abs(w) * ((d + 2) * U * 1.01) + 2 * (d + 1) * ETA) * (1 + 8 * U)
    return center, radius


def enclosure(model: StoredModel, k: int) -> tuple[dict[str, np.ndarray], dict | None]:
    """Centres (float64) and radii (None when exact) of ℓ [G, m], r [G, m], u [m, G], β [G]
    for instance k."""
    t = model.tensors
    if model.folded:
        return {n: t[n][k].astype(np.float64) for n in FOLDED}, None
    left, left_r = _fold(t["embedding_left"][k], t["linear_left"][k])
    right, right_r = _fold(t["embedding_right"][k], t["linear_right"][k])
    u, b = t["unembedding"][k].astype(np.float64), t["unembed_bias"][k].astype(np.float64)
    return ({"left": left, "right": right, "unembed": u, "bias": b},
            {"left": left_r, "right": right_r, "unembed": np.zeros_like(u),
             "bias": np.zeros_like(b)})


def in_safe_range(center: dict, radius: dict | None) -> tuple[dict, dict | None]:
    """The same real model inside [R]: centres below 2⁻⁶⁴ move into the radius, nonzero radii
    below 2⁻⁶⁴ round up to it; a centre above 2⁶⁴ or a radius above 2⁶³ fails the check."""
    out_c, out_r, any_r = {}, {}, False
    for n, c in center.items():
        r = np.zeros_like(c) if radius is None else radius[n]
        require(bool(np.isfinite(c).all() and np.isfinite(r).all()),
                f"{n} is not finite after folding")
        require(bool((np.abs(c) <= SAFE_HIGH).all() and (r <= SAFE_HIGH / 2).all()),
                f"{n} has a value above the safe range 2^64: nothing can be certified")
        tiny = (c != 0) & (np.abs(c) < SAFE_LOW)
        r = np.where(tiny, (r + np.abs(c)) * (1 + 4 * U), r)
        c = np.where(tiny, 0.0, c)
        r = np.where((r > 0) & (r < SAFE_LOW), SAFE_LOW, r)
        out_c[n], out_r[n] = c, r
        any_r |= bool((r > 0).any())
    return out_c, (out_r if any_r else None)


__all__ = ["StoredModel", "enclosure", "in_safe_range", "read_file", "stored_model"]
