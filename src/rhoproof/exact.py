"""Exact rational evaluation of the stored model, for the few inputs floating point cannot
decide (docs/soundness.md §0).

Every float16/32/64 value is a dyadic rational n·2^e. A tensor becomes Python integers with one
common exponent (``Dyadic``), and the model's logits are computed with integer arithmetic only:
ℓ(x) = E_L[x] W_L (or the stored ℓ), h = max(ℓ(x) + r(y), 0), f = h·U + β. Cost per input
O(m |G|) big-integer operations (plus O(d m) per distinct x or y of an unfolded model), so it
is only used where the rigorous float enclosure of ``evaluate`` leaves the answer open.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from rhoproof.model import Folded, GroupMLP


@dataclass(frozen=True)
class Dyadic:
    """An array of integers ``ints`` (numpy object array) worth ``ints · 2**exp``."""

    ints: np.ndarray
    exp: int

    @classmethod
    def of(cls, t: torch.Tensor | np.ndarray) -> Dyadic:
        a = t.detach().cpu().to(torch.float64).numpy() if isinstance(t, torch.Tensor) \
            else np.asarray(t, dtype=np.float64)
        if not np.isfinite(a).all():
            raise ValueError("exact evaluation needs finite weights")
        mant, ex = np.frexp(a)
        ints = (mant * 2.0**53).astype(np.int64)  # exact: 53-bit significands
        exps = ex.astype(np.int64) - 53
        nz = ints != 0
        e0 = int(exps[nz].min()) if nz.any() else 0
        shifts = np.where(nz, exps - e0, 0)
        flat = [int(n) << int(s) for n, s in zip(ints.ravel().tolist(), shifts.ravel().tolist())]
        out = np.empty(a.shape, dtype=object)
        out.ravel()[:] = flat
        return cls(out, e0)

    def at(self, exp: int) -> np.ndarray:
        """The same values as integers at the smaller exponent ``exp``."""
        shift = self.exp - exp
        if shift < 0:
            raise ValueError("can only move to a smaller exponent")
        return self.ints if shift == 0 else self.ints * (1 << shift)


class ExactModel:
    """One instance of the stored model, evaluated exactly; rows of ℓ and r are cached."""

    def __init__(self, model: GroupMLP | Folded, k: int) -> None:
        if isinstance(model, Folded):
            self._left, self._right = Dyadic.of(model.left[k]), Dyadic.of(model.right[k])
            self._fold = None
            u, b = model.unembed[k], model.bias[k]
        else:
            p = model.tensors()
            self._fold = (Dyadic.of(p["embedding_left"][k]), Dyadic.of(p["linear_left"][k]),
                          Dyadic.of(p["embedding_right"][k]), Dyadic.of(p["linear_right"][k]))
            u, b = p["unembedding"][k], p["unembed_bias"][k]
        self.unembed, self.bias = Dyadic.of(u), Dyadic.of(b)  # [m, G], [G]
        self._rows: dict[tuple[str, int], tuple[np.ndarray, int]] = {}

    def _row(self, side: str, x: int) -> tuple[np.ndarray, int]:
        """ℓ(x) (side "l") or r(x) (side "r") as (integers [m], exponent)."""
        key = (side, x)
        if key not in self._rows:
            if self._fold is None:
                t = self._left if side == "l" else self._right
                self._rows[key] = (t.ints[x], t.exp)
            else:
                e, w = self._fold[:2] if side == "l" else self._fold[2:]
                self._rows[key] = (e.ints[x] @ w.ints, e.exp + w.exp)
        return self._rows[key]

    def logits(self, x: int, ys: list[int]) -> tuple[np.ndarray, int]:
        """Exact logits f(z | x, y) for each y in ys: (integers [len(ys), G], exponent)."""
        lx, el = self._row("l", x)
        rows = [self._row("r", y) for y in ys]
        eh = min([el] + [er for _, er in rows])
        lx = lx * (1 << (el - eh)) if el != eh else lx
        hid = np.stack([np.maximum(lx + (ry * (1 << (er - eh)) if er != eh else ry), 0)
                        for ry, er in rows])  # [n, m] objects
        prod = hid @ self.unembed.ints  # [n, G] at exponent eh + unembed.exp
        ep = eh + self.unembed.exp
        e = min(ep, self.bias.exp)
        out = prod * (1 << (ep - e)) if ep != e else prod
        return out + self.bias.at(e)[None], e


def to_float_up(n: int, exp: int) -> float:
    """The smallest float ≥ n·2^exp (±inf when it does not fit)."""
    q = Fraction(n) * Fraction(2) ** exp
    try:
        v = float(q)  # correctly rounded (int/int true division)
    except OverflowError:
        return math.inf if n > 0 else -math.inf
    return math.nextafter(v, math.inf) if Fraction(v) < q else v


def decide(model: GroupMLP | Folded, k: int, inputs: list[tuple[int, int]], table: np.ndarray
           ) -> dict[tuple[int, int], tuple[bool, list[float], list[float]]]:
    """For each input (x, y): whether the correct logit is strictly the largest, exactly, and
    upper and lower bounds (floats) on f(z) − f(xy) for every z ≠ xy (for the cross-entropy
    bounds)."""
    ex = ExactModel(model, k)
    by_x: dict[int, list[int]] = {}
    for x, y in inputs:
        by_x.setdefault(x, []).append(y)
    out = {}
    for x, ys in by_x.items():
        vals, e = ex.logits(x, ys)
        for j, y in enumerate(ys):
            c = int(table[x, y])
            row = vals[j]
            others = [int(row[z]) - int(row[c]) for z in range(len(row)) if z != c]
            ok = all(d < 0 for d in others)
            out[(x, y)] = (ok, [to_float_up(d, e) for d in others],
                           [-to_float_up(-d, e) for d in others])
    return out


__all__ = ["Dyadic", "ExactModel", "decide", "to_float_up"]
