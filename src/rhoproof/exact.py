"""Exact evaluation of the stored model, for the inputs floating point cannot decide
(docs/soundness.md §0, [E1]), as vectorized integer arithmetic.

Every float16/32/64 value is a dyadic rational n·2^e. A tensor becomes *limbs*: integers below
2^B, held in float64 (exact below 2^53), with one common exponent, value = Σ_j L_j 2^(e₀ + jB).
Sums of limb tensors are exact limb-wise; a product of two is the convolution of their limb
planes, one matrix product per pair of nonzero planes, exact because every partial sum stays
an integer below 2^53 (B is chosen from the widths so that it does). Carrying (``_carry``)
brings every limb into [0, 2^B) but the top one, whose sign is the value's sign. So:

* ℓ(x), r(y): the stored floats (folded) or the exact products E W (unfolded);
* h = max(ℓ(x) + r(y), 0): the sign of a sum of two floats is the sign of its rounded float
  sum (folded); unfolded, the carried limbs give it;
* f(z) = Σ_i h_i u_i(z) + β(z), then f(z) − f(xy) carried: its sign decides the input, and
  rigorous float bounds on it feed the cross-entropy bounds.

Cost: the float brute force's matrix products times the number of pairs of nonzero limb
planes (one or two for integer-valued weights, the all-ties case; a few more for trained
float32 weights).
"""

from __future__ import annotations

import numpy as np
import torch

from rhoproof.model import Folded, GroupMLP
from rhoproof.rounding import ETA, U

EXACT_BELOW = 2.0**50
"""Every partial sum of limb products is kept below this, so that the logits' differences and
carries stay below 2^53, where float64 holds every integer exactly."""


class _TooWide(Exception):
    """The limb width was too large for an exact product: retry with narrower limbs."""


def _frexp(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(odd integer significands as float64, exponents) with a = n·2^e exactly, e the
    exponent of the lowest set bit; zero: n = 0."""
    mant, ex = torch.frexp(a.to(torch.float64))
    ints = (mant * 2.0**53).to(torch.int64)  # exact, |n| < 2^53
    low = torch.where(ints != 0, ints & -ints, torch.ones_like(ints))  # lowest set bit
    tz = torch.log2(low.to(torch.float64)).round().to(torch.int64)  # exact: a power of two
    return (ints // low).to(torch.float64), ex.to(torch.int64) - 53 + tz


def low_exponent(*tensors: torch.Tensor) -> int:
    """The smallest exponent e with every entry an integer multiple of 2^e."""
    lows = []
    for t in tensors:
        n, e = _frexp(t)
        nz = n != 0
        if bool(nz.any()):
            lows.append(int(e[nz].min()))
    return min(lows) if lows else 0


def limbs(a: torch.Tensor, e0: int, bits: int) -> torch.Tensor:
    """a [...] as limbs [..., L] with base exponent ``e0`` (≤ ``low_exponent(a)``):
    a = Σ_j L_j 2^(e0 + j·bits), |L_j| < 2^bits, signs carried by every limb."""
    n, e = _frexp(a)
    s = torch.where(n != 0, e - e0, torch.zeros_like(e))
    if bool((s < 0).any()):
        raise ValueError("limbs: e0 above an entry's lowest bit")
    q, o = s // bits, s % bits
    v = torch.ldexp(n.abs(), o.to(torch.float64))  # exact: a power-of-two scaling
    sign = torch.sign(n)
    chunks = -(-(53 + bits) // bits)
    size = (int(q.max()) if q.numel() else 0) + chunks
    out = torch.zeros(a.shape + (size,), dtype=torch.float64)
    scale = 2.0**-bits
    for c in range(chunks):
        x = torch.floor(v * 2.0 ** (-c * bits))  # exact: ≤ 53 significant bits
        part = x - torch.floor(x * scale) * 2.0**bits  # x mod 2^bits, exact
        out.scatter_add_(-1, (q + c).unsqueeze(-1), (sign * part).unsqueeze(-1))
    return out


def _carry(x: torch.Tensor, bits: int) -> torch.Tensor:
    """The same values with every limb but the top in [0, 2^bits) (floor division), planes
    added on top so that the top limb is small; its sign is the value's sign."""
    extra = -(-53 // bits) + 1
    planes = torch.cat([x.movedim(-1, 0),  # plane-major: each plane contiguous
                        torch.zeros((extra,) + x.shape[:-1], dtype=torch.float64)], 0)
    base = 2.0**bits
    for j in range(planes.shape[0] - 1):
        c = torch.floor(planes[j] / base)  # exact: a power-of-two division of an integer
        planes[j] -= c * base
        planes[j + 1] += c
    return planes.movedim(0, -1)


def sign_of(x: torch.Tensor, bits: int) -> torch.Tensor:
    """The sign (−1, 0, 1) of limb values [..., L]."""
    c = _carry(x, bits)
    return torch.where(c[..., -1] < 0, -1, torch.where((c != 0).any(-1), 1, 0))


def _product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Limb convolution of a [t, m, La] and b [m, G, Lb]: [t, G, La + Lb − 1], exact when
    m · min(La, Lb) · max|a| · max|b| < 2^53 (the caller's choice of B). Pairs of all-zero
    planes are skipped."""
    t, m, la = a.shape
    g, lb = b.shape[1], b.shape[2]
    out = torch.zeros(la + lb - 1, t, g, dtype=torch.float64)  # plane-major while summing
    live_a = [j for j in range(la) if bool(a[:, :, j].any())]
    live_b = [k for k in range(lb) if bool(b[:, :, k].any())]
    if live_a and live_b:
        biggest = float(a.abs().max()) * float(b.abs().max())
        if m * min(len(live_a), len(live_b)) * biggest >= EXACT_BELOW:
            raise _TooWide
    planes_a = {j: a[:, :, j].contiguous() for j in live_a}
    planes_b = {k: b[:, :, k].contiguous() for k in live_b}
    for j in live_a:
        for k in live_b:
            out[j + k] += planes_a[j] @ planes_b[k]
    return out.movedim(0, -1)


def _bits(width: int) -> int:
    """A first limb width B: width · 16 planes · 2^(2B + 2) ≤ 2^50 (narrowed if a product
    turns out wider, ``_TooWide``)."""
    need = max(1, width * 16).bit_length()
    return max(2, (50 - 2 - need) // 2)


class ExactModel:
    """One instance of the stored model, evaluated exactly with limbs."""

    def __init__(self, model: GroupMLP | Folded, k: int, bits: int | None = None) -> None:
        self.folded = isinstance(model, Folded)
        if isinstance(model, Folded):
            left, right = model.left[k], model.right[k]
            u, b = model.unembed[k], model.bias[k]
            self._lr: tuple[torch.Tensor, ...] = (left.to(torch.float64),
                                                  right.to(torch.float64))
        else:
            p = model.tensors()
            self._lr = tuple(p[n][k].to(torch.float64) for n in (
                "embedding_left", "linear_left", "embedding_right", "linear_right"))
            u, b = p["unembedding"][k], p["unembed_bias"][k]
        self.u, self.b = u.to(torch.float64), b.to(torch.float64)
        m, g = self.u.shape
        inner = 1 if self.folded else self._lr[0].shape[1]
        self.bits = bits or _bits(max(m, inner))
        e = low_exponent(*self._lr)
        self.e_lr = e if self.folded else 2 * e  # base of ℓ and r
        if self.folded:
            self.left, self.right = (limbs(t, e, self.bits) for t in self._lr)
        else:
            el, wl, er, wr = (limbs(t, e, self.bits) for t in self._lr)
            self.left = _product(el, wl)  # exact ℓ = E_L W_L, limbs [G, m, ·]
            self.right = _product(er, wr)
            size = max(self.left.shape[-1], self.right.shape[-1])
            self.left, self.right = (_pad(t, size) for t in (self.left, self.right))
        size = max(_used(self.left), _used(self.right))
        self.left, self.right = (_pad(t[..., :size], size) for t in (self.left, self.right))
        self.e_u = low_exponent(self.u)
        self.unembed = limbs(self.u, self.e_u, self.bits)  # [m, G, Lu]
        self.unembed = self.unembed[..., :_used(self.unembed)]

    def hidden(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        """h(x, y) as limbs [t, m, L] at base ``e_lr``, every limb below 2^(B+1) in size."""
        pre = _pad(self.left[xs], self.right.shape[-1]) + _pad(self.right[ys],
                                                               self.left.shape[-1])
        if self.folded:  # the sign of ℓ + r is the sign of its rounded float sum
            on = (self._lr[0][xs] + self._lr[1][ys]) > 0
            return torch.where(on[..., None], pre, 0.0)
        c = _carry(pre, self.bits)
        positive = (c[..., -1] >= 0) & (c != 0).any(-1)
        return torch.where(positive[..., None], c, 0.0)

    def differences(self, xs: torch.Tensor, ys: torch.Tensor, zc: torch.Tensor
                    ) -> tuple[torch.Tensor, int]:
        """f(z) − f(zc) for every z, as limbs [t, G, L] (each below 2^52 in size, not
        carried) at the returned exponent."""
        prod = _product(self.hidden(xs, ys), self.unembed)  # [t, G, ·] at e_lr + e_u
        e_p = self.e_lr + self.e_u
        e_b = min(e_p, low_exponent(self.b))
        e_b = e_p - self.bits * (-(-(e_p - e_b) // self.bits))  # ≡ e_p mod B, ≤ both
        shift = (e_p - e_b) // self.bits
        bias = limbs(self.b, e_b, self.bits)  # [G, Lb]
        size = max(prod.shape[-1] + shift, bias.shape[-1])
        f = torch.zeros(prod.shape[:2] + (size,), dtype=torch.float64)
        f[..., shift:shift + prod.shape[-1]] += prod
        f[..., :bias.shape[-1]] += bias[None]
        return f - f[torch.arange(len(zc)), zc][:, None, :], e_b


def _used(t: torch.Tensor) -> int:
    """The number of limb planes up to the last nonzero one (at least 1)."""
    live = torch.nonzero(t.reshape(-1, t.shape[-1]).any(0))[:, 0]
    return int(live[-1]) + 1 if len(live) else 1


def _pad(t: torch.Tensor, size: int) -> torch.Tensor:
    if t.shape[-1] >= size:
        return t
    return torch.cat([t, torch.zeros(t.shape[:-1] + (size - t.shape[-1],),
                                     dtype=torch.float64)], -1)


def float_bounds(x: torch.Tensor, e: int, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Floats below and above each limb value [..., L] at exponent e, limbs not carried (as
    computed: a carried negative value's limbs would cancel each other): the float sum of the
    exact terms L_j 2^(e + jB), each a correctly rounded ``np.ldexp`` (exact unless subnormal:
    then within η), widened by (L + 2)u of their magnitudes plus L·η."""
    n = x.shape[-1]
    powers = np.array([e + j * bits for j in range(n)], dtype=np.int64)
    with np.errstate(over="ignore", under="ignore"):  # correctly rounded, even subnormal
        # (torch.ldexp multiplies by 2**p, which flushes to 0 below 2^-1074: not used here)
        terms = torch.from_numpy(np.ldexp(x.detach().cpu().numpy(), powers))
    with torch.no_grad():
        s = terms.sum(-1)
        err = (n + 2) * U * 1.01 * terms.abs().sum(-1) + n * ETA  # ETA: one underflow each
        up, low = s + err, s - err
    up = torch.where(torch.isnan(up), torch.inf, up)
    low = torch.where(torch.isnan(low), -torch.inf, low)
    return low, up


def decide(model: GroupMLP | Folded, k: int, xs: torch.Tensor, ys: torch.Tensor,
           table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For the inputs (xs, ys) [t] of instance ``k``: whether the correct logit is strictly
    the largest, exactly [t]; and lower and upper float bounds on f(z) − f(xy) for every
    z ≠ xy [t, |G| − 1] (for the cross-entropy bounds)."""
    bits = None
    while True:
        try:
            return _decide(ExactModel(model, k, bits), xs, ys, table)
        except _TooWide:  # narrower limbs: more planes, each product smaller
            bits = (bits or _bits(model.d_hidden)) - 2
            if bits < 2:
                raise ValueError("exact evaluation: the weights span too many binary "
                                 "orders of magnitude") from None


def _decide(ex: ExactModel, xs: torch.Tensor, ys: torch.Tensor, table: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = ex.u.shape[1]
    t = len(xs)
    ok = torch.zeros(t, dtype=torch.bool)
    low = torch.empty(t, max(g - 1, 0), dtype=torch.float64)
    up = torch.empty_like(low)
    planes = ex.left.shape[-1] + ex.unembed.shape[-1]  # of a logit's limbs
    step = max(1, (1 << 22) // max(1, max(g, ex.u.shape[0]) * planes))  # tens of MB per buffer
    for j in range(0, t, step):
        x, y = xs[j:j + step], ys[j:j + step]
        zc = table[x, y]
        diff, e = ex.differences(x, y, zc)  # [c, G, L]
        wrong = torch.ones(len(x), g, dtype=torch.bool)
        wrong[torch.arange(len(x)), zc] = False
        lo, hi = float_bounds(diff, e, ex.bits)  # [c, G], rigorous
        # the sign: from the float bounds where they exclude 0, 0 where every limb is 0, by
        # carrying the limbs where neither decides
        sign = torch.where(lo > 0, 1, torch.where(hi < 0, -1, 0))
        open_ = (lo <= 0) & (hi >= 0) & (diff != 0).any(-1)
        if bool(open_.any()):
            sign[open_] = sign_of(diff[open_], ex.bits)  # exact
        ok[j:j + step] = ((sign < 0) | ~wrong).all(1)
        low[j:j + step] = lo[wrong].view(len(x), g - 1)
        up[j:j + step] = hi[wrong].view(len(x), g - 1)
    return ok, low, up


__all__ = ["ExactModel", "decide", "float_bounds", "limbs", "low_exponent", "sign_of"]
