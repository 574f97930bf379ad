"""Sound accuracy and cross-entropy bounds: V_brute (exact) and V_irrep (the ρ-set proof).

V_irrep, for one model f and its exactly bi-equivariant idealization f̂ (``exact_ideal``):

1. F(w) = f̂(w | e, e) for every w, enclosed with a rounding bound; since
   f̂(z | x, y) = F(x⁻¹zy⁻¹) exactly, every wrong logit of f̂ on every input is at most
   U = max_{w ≠ e} F(w) (upper-rounded).
2. For every input, f(z | x, y) − f̂(z | x, y)
       = Σ_i u_i(z)(h_i − ĥ_i) + Σ_i (u_i(z) − û_i(z)) ĥ_i + (β − β̂)(z)
       ≤ ‖u(z)‖ ‖h − ĥ‖ + ‖u(z) − û(z)‖ ‖ĥ‖ + |β(z) − β̂(z)|          (Cauchy–Schwarz)
   and |h_i − ĥ_i| ≤ |Δℓ_i(x) + Δr_i(y)| because ReLU is 1-Lipschitz. So every wrong logit
       f(z | x, y) ≤ F(x⁻¹zy⁻¹) + ‖u(z)‖ ‖Δℓ(x) + Δr(y)‖ + ‖Δu(z)‖ ‖ĥ(x, y)‖ + |Δβ(z)|,
   maximized over z ≠ xy per input (per-output norms: tighter than the paper's 2→∞ norms,
   at O(|G|) per input; above |G|³ = PER_OUTPUT_ALL, computed only for the inputs the 2→∞
   version does not certify).
3. The input is certified when that maximum is below L(x, y), the original's correct logit
   (lower-rounded): then every wrong logit of f is below the correct one.
   Cross-entropy: with δ = L − max ≤ every margin, CE ≤ log(1 + (|G| − 1) e^{−δ}).

Rounding: every computed quantity is float64 and is widened by a forward-error factor: a sum
or dot product of n terms computed in floating point is within γ_n = n u / (1 − n u)
(u = 2⁻⁵³) of the exact value relative to the sum of absolute values (Higham, Thm 3.1);
a square root adds one more u. We widen each enclosure by (n + 8) u times the sum of absolute
terms (a superset of those bounds for n u < 0.01) plus 1e-300 for underflow.
Cost: O(|G|² m + |G|³) for the per-input terms and O(|G| m) for F and the norms, against
O(|G|³ m) for brute force.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rhoproof.evaluate import evaluate
from rhoproof.groups import Group
from rhoproof.model import Folded
from rhoproof.verify.exact_ideal import ExactIdeal, U

PER_OUTPUT_ALL = 2 * 10**7
"""Up to this |G|³, the per-output bound is computed for every input (S5: 1.7e6)."""


def _up(value: torch.Tensor | float, scale: torch.Tensor | float) -> torch.Tensor | float:
    """An upper bound on the exact result of a last addition that produced ``value``: the
    rounding error of a few final operations is at most 4u times the magnitudes involved."""
    return value + 4 * U * scale + 1e-300


def _down(value: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """A lower bound, likewise."""
    return value - 4 * U * scale - 1e-300


def _widen(n: int) -> float:
    """Relative widening for an n-term float64 sum (≥ γ_{n+2} for n u < 0.01)."""
    return (n + 8) * U * 1.01


@dataclass(frozen=True)
class Bound:
    """A certified lower bound on accuracy and upper bound on cross-entropy of one model."""

    method: str
    accuracy: float  # certified lower bound (V_brute: exact)
    cross_entropy: float  # certified upper bound (V_brute: exact, float64)
    margin: float | None = None  # V_irrep: lower bound on F(e) − max_{w≠e} F(w)
    certified: torch.Tensor | None = None  # [|G|, |G|] bool, V_irrep only


class InputTerms:
    """The per-input quantities every idealization proof needs, in slabs over x:
    D ≥ ‖(ℓ − ℓ*)(x) + (r − r*)(y)‖, N ≥ ‖h*(x, y)‖ and L ≤ f(xy | x, y), plus ĥ(x, y).

    ``f`` and ``fh`` are one-instance float64 models (the original and the stored tables of
    the ideal f*, with |ℓ̂ − ℓ*| ≤ eps_lr |ℓ̂| and likewise r̂). O(|G|² m) in all.
    """

    def __init__(self, f: Folded, fh: Folded, eps_lr: float, table: torch.Tensor) -> None:
        self.left, self.right, self.u, self.b = f.left[0], f.right[0], f.unembed[0], f.bias[0]
        self.lh, self.rh = fh.left[0], fh.right[0]
        self.g, self.m = self.left.shape
        self.eps_lr, self._table = eps_lr, table  # table: [G, G] Cayley table
        self.wide = _widen(self.m + 2)
        self.dl, self.dr = self.left - self.lh, self.right - self.rh  # one rounding each
        self.dl_norm, self.dr_norm = self.dl.norm(dim=1), self.dr.norm(dim=1)  # [G]
        self.lh_norm, self.rh_norm = self.lh.norm(dim=1), self.rh.norm(dim=1)

    def slabs(self):
        """x values per slab, bounding memory to a few [c, |G|, m] tensors."""
        rows = max(1, (1 << 22) // (self.g * max(self.m, self.g)))
        for x0 in range(0, self.g, rows):
            yield torch.arange(x0, min(self.g, x0 + rows))

    def __call__(self, xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(D, N, L, ĥ) for the inputs xs × G: [c, G], [c, G], [c, G], [c, G, m]."""
        wide, tiny, eps = self.wide, 1e-300, self.eps_lr
        # the sum of two rounded differences can cancel: add 3u(‖Δℓ(x)‖ + ‖Δr(y)‖); f̂ vs f*
        # adds eps_lr (‖ℓ̂(x)‖ + ‖r̂(y)‖)
        size = self.lh_norm[xs][:, None] + self.rh_norm[None]  # [c, G]
        d = ((self.dl[xs][:, None, :] + self.dr[None]).norm(dim=2)
             + 3 * U * (self.dl_norm[xs][:, None] + self.dr_norm[None])
             + eps * size) * (1 + wide) + tiny
        hid_hat = torch.relu(self.lh[xs][:, None, :] + self.rh[None])  # [c, G, m]
        n = (hid_hat.norm(dim=2) + (U + eps) * size) * (1 + wide) + tiny
        hid = torch.relu(self.left[xs][:, None, :] + self.right[None])  # [c, G, m]
        z = self._table[xs]  # [c, G]
        contrib = hid * self.u.T[z]  # [c, G, m]: h_i u_i(xy)
        correct = contrib.sum(2) + self.b[z]
        c_err = wide * (contrib.abs().sum(2) + self.b[z].abs()) + tiny
        l_low = _down(correct - c_err, correct.abs() + c_err)  # ≤ f(xy | x, y)
        return d, n, l_low, hid_hat


def ce_terms(delta: torch.Tensor, g: int) -> torch.Tensor:
    """log(1 + (|G| − 1) e^{−δ}) per input, δ first lowered for its own subtraction's
    rounding."""
    return torch.log1p((g - 1) * torch.exp(-(delta - 2 * U * delta.abs() - 1e-300)))


def ce_mean(ce: torch.Tensor) -> float:
    """An upper bound on the exact mean of the CE terms: exp, log1p and the product are within
    a few ulps each and the mean of n terms adds γ_n; widen by both."""
    bound = float(ce.mean()) * (1 + _widen(ce.numel()) + 1e-13) + 1e-300
    return bound if math.isfinite(bound) else math.inf


def brute_bound(folded: Folded, group: Group) -> Bound:
    """V_brute: exact accuracy and cross-entropy over all |G|² pairs (float64)."""
    ev = evaluate(folded, group)
    return Bound("brute", float(ev.accuracy[0]), float(ev.loss[0]))


def irrep_bound(folded: Folded, ideal: ExactIdeal, group: Group) -> Bound:
    """V_irrep for one model (one-instance Folded) given its exact idealization f*."""
    f = folded.to(dtype=torch.float64).detach()
    h_ = ideal.folded
    u, b = f.unembed[0], f.bias[0]  # [m, G] [G]
    lh, rh, uh, bh = h_.left[0], h_.right[0], h_.unembed[0], h_.bias[0]
    g, m = lh.shape
    e = group.identity
    wide = _widen(m + 2)
    tiny = 1e-300
    eps_lr, eps_u, eps_b = ideal.eps_lr, ideal.eps_u, ideal.eps_bias

    # 1. F*(w) = f*(w | e, e), enclosed: table errors of f̂ plus rounding of this evaluation
    size_e = lh[e].abs() + rh[e].abs()  # [m] ≥ |ℓ̂_i(e)| + |r̂_i(e)|
    hid_e = torch.relu(lh[e] + rh[e])  # [m]
    terms = uh * hid_e[:, None]  # [m, G]
    big_f = terms.sum(0) + bh
    table_err = (uh.abs() * size_e[:, None]).sum(0) * (U + eps_lr + 1.01 * eps_u) + eps_b
    f_err = (table_err + wide * (terms.abs().sum(0) + bh.abs())) * (1 + wide) + tiny
    wrong = torch.ones(g, dtype=torch.bool)
    wrong[e] = False
    u_wrong = float(_up(big_f + f_err, big_f.abs() + f_err)[wrong].max())
    margin = float(big_f[e] - f_err[e]) - u_wrong

    # 2. per-output norms (upper bounds), original against f*: [G] each
    col_a = u.norm(dim=0) * (1 + wide) + tiny  # ‖u(z)‖
    col_b = ((u - uh).norm(dim=0) + eps_u * uh.norm(dim=0)) * (1 + wide) + tiny  # ‖u(z) − u*(z)‖
    col_c = ((b - bh).abs() + eps_b) * (1 + wide) + tiny  # |β(z) − β*(z)|
    big_a, big_b, big_c = float(col_a.max()), float(col_b.max()), float(col_c.max())
    f_up = _up(big_f + f_err, big_f.abs() + f_err)  # F*(w) ≤ f_up[w]
    f_up_wrong = f_up.clone()
    f_up_wrong[e] = -math.inf  # w = e is the correct output
    inv = torch.from_numpy(group.inverses.copy())
    table = group.table
    terms_of = InputTerms(f, h_, eps_lr, table)
    certified = torch.zeros(g, g, dtype=torch.bool)
    ce = torch.zeros(g, g, dtype=torch.float64)
    for xs in terms_of.slabs():
        d, n, l_low, _ = terms_of(xs)
        # the paper's bound with global norms, O(|G|² m): every wrong z has
        # f(z) ≤ max_{w≠e} F*(w) + max‖u‖ D + max‖Δu‖ N + max|Δβ|
        spread = (big_a * d + big_b * n + big_c) * (1 + 8 * U) + tiny
        delta = l_low - _up(u_wrong + spread, abs(u_wrong) + spread)
        # per output, tighter, O(|G|) per input: for every input while |G|³ is small (it also
        # tightens the CE bound), else only where the global bound fails
        todo = torch.nonzero(delta <= 0) if g**3 > PER_OUTPUT_ALL else \
            torch.nonzero(torch.ones_like(delta, dtype=torch.bool))
        if todo.numel():
            ci, yi = todo[:, 0], todo[:, 1]
            w = table[table[inv[xs[ci]]], inv[yi][:, None]]  # [t, z]: x⁻¹ z y⁻¹
            spread = (col_a * d[ci, yi][:, None] + col_b * n[ci, yi][:, None] + col_c) \
                * (1 + 8 * U) + tiny  # [t, z]
            f_w = f_up_wrong[w]  # [t, z]; −inf at the correct output
            wrong_up = torch.where(torch.isinf(f_w), f_w, _up(f_w + spread, f_w.abs() + spread))
            delta[ci, yi] = torch.maximum(delta[ci, yi], l_low[ci, yi] - wrong_up.max(1).values)
        certified[xs] = delta > 0
        ce[xs] = ce_terms(delta, g)
    return Bound("irrep", float(certified.double().mean()), ce_mean(ce), margin, certified)
