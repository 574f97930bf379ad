"""Stage 1 of the V_irrep cascade [S1] (docs/soundness.md §2.1): a bound on every input's
error of the form a(x) + b(y) + K, so that the certified inputs are counted by sorting b and
binary search, O(|G| m + |G| log |G|), without visiting the |G|² inputs.

For an input (x, y) and a wrong output z, f(z) − f(xy) ≤ −M + a(x) + b(y) + K with M the
ideal's margin, a(x) = Σ_C ρ_i |Δℓ_i(x)| + Σ_Z ρ_i ℓ_i(x)⁺ (ρ_i the range of u_i over the
outputs), b(y) likewise, and K the unembedding-mismatch term (rearrangement per circuit or
Cauchy–Schwarz, the smaller) plus the bias range. Every quantity is an upper bound on the exact
real value (the real model as centre ± radius [F1], the ideal's tables with their ε [§3]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rhoproof.model import Folded
from rhoproof.verify.bounds import U, _down, _up, _widen, lse_up
from rhoproof.verify.records import ProofCircuit, SignProof

TINY = 1e-300
CE_BUCKETS = 32
"""Sorted b is cut into this many buckets for the stage-1 cross-entropy sum."""


@dataclass(frozen=True)
class Separable:
    """Stage 1's result for one model."""

    a: torch.Tensor  # [G] ≥ the x-term
    b: torch.Tensor  # [G] ≥ the y-term
    k: float  # ≥ the input-independent term (B) + (D)
    k_mismatch: float  # (B) alone, the smaller of its two bounds
    k_bias: float  # (D)
    margin: float  # ≤ F(e) − max_{w≠e} F(w)
    count: torch.Tensor  # [G] per x: how many y are certified (those with the smallest b)
    order: torch.Tensor  # [G] the y sorted by b, increasing
    ce_sum: float  # ≥ Σ over the certified inputs of their CE bound
    ops: int  # multiply-adds and comparisons, from the shapes touched

    @property
    def certified(self) -> int:
        return int(self.count.sum())

    def mask(self) -> torch.Tensor:
        """[G, G] bool, the certified inputs (an |G|² pass: for tests and plots, not the proof)."""
        g = self.a.shape[0]
        rank = torch.empty(g, dtype=torch.int64)
        rank[self.order] = torch.arange(g)
        return rank[None, :] < self.count[:, None]

    def undecided(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The inputs stage 1 left, (x, y) [t] each, enumerated directly: per x, the suffix
        of the sorted b from ``count[x]`` on, O(t)."""
        g = self.a.shape[0]
        lens = g - self.count  # [G]
        xs = torch.repeat_interleave(torch.arange(g), lens)
        start = torch.cumsum(lens, 0) - lens  # where each x's run begins
        pos = torch.arange(len(xs)) - torch.repeat_interleave(start, lens) \
            + torch.repeat_interleave(self.count, lens)
        return xs, self.order[pos]


def _sorted_dot(a: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Σ_j a_(j) r_(j), both sorted decreasingly, for each row of a ([G, P], ≥ 0) against
    r ([P], ≥ 0): an upper bound on Σ_j a_j r_τ(j) for every permutation τ (rearrangement),
    widened for the P-term sum."""
    top = a.sort(1, descending=True).values
    return (top * r.sort(descending=True).values[None]).sum(1) * (1 + _widen(r.numel())) + TINY


def _pair_table(c: ProofCircuit) -> tuple[torch.Tensor, int]:
    """≥ R[p, q] = ReLU(α_p + γ_q) flattened over B × C (a sign circuit: 2 at (+1, +1)), and
    the row length n_c: the pair of neuron i is p_i n_c + q_i."""
    if isinstance(c, SignProof):
        return torch.tensor([2.0, 0.0, 0.0, 0.0], dtype=torch.float64), 2
    r = torch.relu(c.alpha.to(torch.float64)[:, None] + c.gamma.to(torch.float64)[None])
    return (r * (1 + 2 * U) + TINY).flatten(), c.gamma.shape[0]


def separable_stage(f: Folded, fh: Folded, proof: list[ProofCircuit], eps: tuple[float, float,
                    float], radius: Folded | None, virtual: int, f_up: torch.Tensor,
                    f_low_e: float, e: int) -> Separable:
    """Stage 1 [S1] for one model. ``f`` the real model's float64 centre over all neurons
    (the last ``virtual`` are zero), ``radius`` its distance over the real ones (or None),
    ``fh`` the ideal's tables with ``eps`` = (ε_ℓr, ε_u, ε_β), ``f_up`` ≥ F(w) for every w,
    ``f_low_e`` ≤ F(e)."""
    eps_lr, eps_u, eps_b = eps
    left, right, u, bias = f.left[0], f.right[0], f.unembed[0], f.bias[0]
    lh, rh, uh, bh = fh.left[0], fh.right[0], fh.unembed[0], fh.bias[0]
    g, m = left.shape
    r_ = m - virtual
    wide = _widen(m + 2)
    zg = torch.zeros(g, m, dtype=torch.float64)
    el, er = (zg, zg) if radius is None else (_pad(radius.left[0], m), _pad(radius.right[0], m))
    eu = zg.T if radius is None else _pad(radius.unembed[0].T, m).T  # [m, G]
    eb = torch.zeros(g, dtype=torch.float64) if radius is None else radius.bias[0]
    in_circuit = torch.zeros(m, dtype=torch.bool)
    for c in proof:
        in_circuit[c.neurons] = True
    real = torch.arange(m) < r_
    live, others = in_circuit & real, ~in_circuit & real

    # ρ_i ≥ max_z u_i(z) − min_z u_i(z) for the real u_i ∈ û_i ± e_u,i
    rho = (u.max(1).values - u.min(1).values + 2 * eu.max(1).values) * (1 + 4 * U) + TINY
    # (A) and (C): per-x and per-y terms, nonnegative sums over the neurons
    def side(t: torch.Tensor, th: torch.Tensor, et: torch.Tensor) -> torch.Tensor:
        d = (t - th).abs() * (1 + U) + et + eps_lr * th.abs()  # ≥ |Δℓ_i(x)|
        pos = torch.relu(t + et) * (1 + 2 * U) + TINY  # ≥ ℓ_i(x)⁺
        x_terms = torch.where(live[None], d * (1 + 4 * U), torch.where(others[None], pos, 0.0))
        return (x_terms @ rho) * (1 + wide) + TINY  # [G]

    a = side(left, lh, el)
    b = side(right, rh, er)

    # (D): the range of Δβ = β − β* over the outputs
    db = bias - bh
    err = U * db.abs() + eb + eps_b
    hi, lo = _up(db + err, db.abs() + err), _down(db - err, db.abs() + err)
    k_bias = float(_up(hi.max() - lo.min(), hi.max().abs() + lo.min().abs()))

    # (B): Δu = u − u* over C ∪ V, its positive and negative parts as upper bounds
    du = u - uh
    du_err = U * du.abs() + eu + eps_u * uh.abs()
    pos = torch.relu(du + du_err) * (1 + 4 * U) + TINY  # ≥ Δu⁺, [m, G]
    neg = torch.relu(-du + du_err) * (1 + 4 * U) + TINY  # ≥ (−Δu)⁺
    b1 = 0.0
    n_sq = 0.0
    ops = 0
    for c in proof:
        rv, nc = _pair_table(c)
        pairs = c.p * nc + c.q  # [n]
        lam = c.scale.to(torch.float64)
        for part in (pos, neg):
            big_a = torch.zeros(g, rv.numel(), dtype=torch.float64).index_add_(
                1, pairs, (part[c.neurons] * lam[:, None]).T) * (1 + wide) + TINY
            b1 += float(_sorted_dot(big_a, rv).max())
        lam2 = torch.zeros(rv.numel(), dtype=torch.float64).index_add_(0, pairs, lam**2)
        n_sq += float(_sorted_dot(lam2[None] * (1 + wide) + TINY, rv**2 * (1 + 2 * U)).max())
        p_ = rv.numel()
        ops += 2 * g * (len(c.neurons) + p_ * (max(1, math.ceil(math.log2(p_))) + 1))
    b1 *= 1 + _widen(2 * len(proof) + 2)
    cv = in_circuit  # C ∪ V
    norm_bar = math.sqrt(n_sq * (1 + _widen(2 * len(proof) + 2)) + 1e-300) * (1 + 4 * U)
    b2 = (float(_norm_up(pos[cv]).max()) + float(_norm_up(neg[cv]).max())) * norm_bar \
        * (1 + 8 * U) + TINY if bool(cv.any()) else 0.0
    k_mis = min(b1, b2) if proof else 0.0
    k = k_mis + k_bias
    k = k * (1 + 4 * U) + TINY

    # certified iff b(y) < t(x) = M − K − a(x), all lowered; count by binary search
    top1 = float(f_up[torch.arange(g) != e].max()) if g > 1 else -math.inf
    margin = float(_down(torch.tensor(f_low_e - top1, dtype=torch.float64),
                         torch.tensor(abs(f_low_e) + abs(top1), dtype=torch.float64)))
    t1 = margin - k
    t1 = t1 - 4 * U * (abs(margin) + k) - TINY
    t = _down(t1 - a, abs(t1) + a)  # [G]
    if not math.isfinite(t1) or not bool(torch.isfinite(b).all()):
        t = torch.full_like(a, -math.inf)  # nothing certified; NaN never reaches the search
    t = torch.where(torch.isnan(t), -math.inf, t)
    order = torch.argsort(b, stable=True)
    bs = b[order]
    count = torch.searchsorted(bs, t, side="left")  # #{y : b(y) < t(x)}

    # CE of the certified inputs: log(1 + e^{a + b + K − F_e + T}), T ≥ log Σ_{w≠e} e^{F(w)}
    ce_sum = 0.0
    if g > 1 and int(count.sum()):
        big_t = lse_up(f_up[torch.arange(g) != e])
        const = _up(k - f_low_e + big_t, k + abs(f_low_e) + abs(big_t))
        size = math.ceil(g / CE_BUCKETS)
        starts = torch.arange(0, g, size)
        b_top = bs[torch.clamp(starts + size, max=g) - 1]  # each bucket's largest b
        n_in = torch.clamp(count[:, None] - starts[None], min=0, max=size)  # [G, buckets]
        expo = _up(a[:, None] + b_top[None] + const, a[:, None] + b_top[None] + abs(const))
        ce = torch.log1p(torch.exp(expo))
        ce_sum = float((n_in * ce).sum()) * (1 + _widen(g * len(starts)) + 1e-13) + TINY
        ops += 4 * g * len(starts)
    ops += 8 * g * m + 2 * g * math.ceil(math.log2(max(g, 2))) + 4 * m * g
    return Separable(a, b, k, k_mis, k_bias, margin, count, order, ce_sum, ops)


def _norm_up(t: torch.Tensor) -> torch.Tensor:
    """≥ the Euclidean norm over dim 0 [R2]."""
    n = t.shape[0]
    sq = (t * t).sum(0)
    return torch.sqrt(sq * (1 + _widen(n + 2)) + (n + 1) * 2.0**-1074) * (1 + 4 * U)


def _pad(t: torch.Tensor, m: int) -> torch.Tensor:
    """[G, r] → [G, m] with zero columns for the virtual neurons."""
    if t.shape[1] == m:
        return t.to(torch.float64)
    return torch.cat([t.to(torch.float64),
                      torch.zeros(t.shape[0], m - t.shape[1], dtype=torch.float64)], 1)


__all__ = ["CE_BUCKETS", "Separable", "separable_stage"]
