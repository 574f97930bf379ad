"""The model every bound is about: the stored tensors, of whatever float dtype, read as real
numbers (docs/soundness.md §0).

A folded run stores ℓ, r, u, β directly; converting them to float64 is exact, so its
enclosure has radius zero. An unfolded run stores E_L, W_L, E_R, W_R, and ℓ = E_L W_L is a sum
of d_e products that float64 cannot hold exactly in general, so its enclosure is the float64
product (centre) with a rigorous entrywise radius [F1]:

    |fl(Σ_k a_k b_k) − Σ_k a_k b_k| ≤ γ_d Σ_k |a_k b_k| + d·η,    η = 2⁻¹⁰⁷⁴,

for any summation order (Higham, *Accuracy and Stability*, §3.1, with one underflow error of
at most η per product). Every path (evaluate, V_brute, V_irrep, V_coset, the checker) works on
this enclosure or on the exact rationals behind it, never on a float32 fold.

``for_proof`` puts an enclosure into the proofs' safe range [R]: every centre and radius entry
is 0 or has magnitude in [2⁻⁶⁴, 2⁶⁴]. Smaller centres are moved into the radius, smaller
nonzero radii are rounded up; anything larger is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rhoproof.model import Folded, GroupMLP
from rhoproof.rounding import ETA, SAFE_EXP, SAFE_HIGH, SAFE_LOW, U


@dataclass(frozen=True)
class Enclosure:
    """Float64 centres and nonnegative radii with |true − centre| ≤ radius entrywise, for
    ℓ, r, u, β of every instance; ``radius`` is None when the centres are exact."""

    center: Folded  # [K, |G|, m], [K, |G|, m], [K, m, |G|], [K, |G|] float64
    radius: Folded | None

    @property
    def exact(self) -> bool:
        return self.radius is None

    @property
    def n_instances(self) -> int:
        return self.center.n_instances

    def instance(self, k: int) -> Enclosure:
        return Enclosure(self.center.instance(k),
                         None if self.radius is None else self.radius.instance(k))


def _as_float64(t: torch.Tensor) -> torch.Tensor:
    if not t.is_floating_point():
        raise ValueError(f"model tensors must be floating point, got {t.dtype}")
    return t.detach().cpu().to(torch.float64)  # exact for float16/bfloat16/float32/float64


def fold_enclosure(e: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre and radius of E W (exact real product of the stored floats) [F1]:
    e [K, |G|, d], w [K, d, m] → two [K, |G|, m] float64 tensors."""
    e64, w64 = _as_float64(e), _as_float64(w)
    d = e64.shape[-1]
    center = e64 @ w64
    abs_sum = e64.abs() @ w64.abs()  # computed ≥ (1 − γ_d)·exact − d·η
    gamma = (d + 2) * U * 1.01
    radius = (abs_sum * gamma + 2 * (d + 1) * ETA) * (1 + 8 * U)
    return center, radius


def enclose(model: GroupMLP | Folded) -> Enclosure:
    """The stored weights of every instance as real numbers: exact centres for a folded model,
    centre ± radius for the fold E W of an unfolded one [F1]."""
    if isinstance(model, Folded):
        return Enclosure(Folded(*(_as_float64(t) for t in model.tensors().values())), None)
    p = model.tensors()
    left, left_r = fold_enclosure(p["embedding_left"], p["linear_left"])
    right, right_r = fold_enclosure(p["embedding_right"], p["linear_right"])
    u, b = _as_float64(p["unembedding"]), _as_float64(p["unembed_bias"])
    return Enclosure(Folded(left, right, u, b),
                     Folded(left_r, right_r, torch.zeros_like(u), torch.zeros_like(b)))


class OutOfRange(ValueError):
    """A model (or proof table) has a value the proofs' safe range [R] does not cover."""


def for_proof(enc: Enclosure) -> Enclosure:
    """The same real model as an enclosure inside the safe range [R]: centres below 2⁻⁶⁴ in
    magnitude become 0 with that much more radius, nonzero radii below 2⁻⁶⁴ are rounded up to
    it. Raises OutOfRange when a centre or radius is above 2⁶⁴ or not finite."""
    c = enc.center
    r = enc.radius if enc.radius is not None else Folded(*(torch.zeros_like(t)
                                                           for t in c.tensors().values()))
    centers, radii = [], []
    for name, ct, rt in zip(c.tensors(), c.tensors().values(), r.tensors().values()):
        if not bool(torch.isfinite(ct).all() and torch.isfinite(rt).all()):
            raise OutOfRange(f"{name} has a non-finite value")
        big = float(ct.abs().max()) if ct.numel() else 0.0
        wide = float(rt.max()) if rt.numel() else 0.0
        if big > SAFE_HIGH or wide > SAFE_HIGH / 2:
            raise OutOfRange(f"{name} has a value of magnitude {max(big, wide):.3g}, above the "
                             f"proofs' safe range 2^{SAFE_EXP}")
        tiny = (ct != 0) & (ct.abs() < SAFE_LOW)
        # |ct| < 2⁻⁶⁴ and rt ≤ 2⁶³: rt + |ct| stays ≤ 2⁶⁴, rounded up by the factor
        rt = torch.where(tiny, (rt + ct.abs()) * (1 + 4 * U), rt)
        ct = torch.where(tiny, torch.zeros_like(ct), ct)
        rt = torch.where((rt > 0) & (rt < SAFE_LOW), torch.full_like(rt, SAFE_LOW), rt)
        centers.append(ct)
        radii.append(rt)
    if not any(bool((t > 0).any()) for t in radii):
        return Enclosure(Folded(*centers), None)
    return Enclosure(Folded(*centers), Folded(*radii))


__all__ = ["Enclosure", "OutOfRange", "enclose", "fold_enclosure",
           "for_proof"]
