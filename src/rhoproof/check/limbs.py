"""The checker's exact evaluation of the stored model at the inputs its float enclosures cannot
decide, in vectorized integer arithmetic (its own code; the prover's is ``rhoproof.exact``).

A float is n·2^e with an integer n < 2^53. An array becomes base-2^B digits held in float64:
value = Σ_j D_j 2^(e₀ + jB), |D_j| < 2^B. Float64 adds and multiplies integers below 2^53
exactly, so digit-wise sums are exact, a product is a convolution of digit planes (one matrix
product per pair of nonzero planes), and every partial sum is kept below 2^50 (the width B is
narrowed until it is). ``_normalize`` carries every digit into [0, 2^B) except the top one,
whose sign is the value's.
"""

from __future__ import annotations

import numpy as np

from rhoproof.check.rounding import ETA, U

LIMIT = 2.0**50


class Narrower(Exception):
    """A product of digits could exceed LIMIT: use narrower digits."""


def _mantissas(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a = n·2^e with n odd (or 0) and |n| < 2^53: the lowest set bit is at 2^e."""
    frac, ex = np.frexp(np.asarray(a, dtype=np.float64))
    n = np.ldexp(frac, 53).astype(np.int64)  # exact
    bit = np.where(n != 0, n & -n, 1)
    tz = np.round(np.log2(bit.astype(np.float64))).astype(np.int64)
    return (n // bit).astype(np.float64), ex.astype(np.int64) - 53 + tz


def lowest_bit(*arrays: np.ndarray) -> int:
    """The exponent of the lowest set bit over all entries (0 if all are zero)."""
    best = None
    for a in arrays:
        n, e = _mantissas(a)
        if (n != 0).any():
            low = int(e[n != 0].min())
            best = low if best is None else min(best, low)
    return 0 if best is None else best


def digits(a: np.ndarray, base_exp: int, width: int) -> np.ndarray:
    """a [...] as digits [..., P] at ``base_exp`` (at most the lowest bit of every entry)."""
    n, e = _mantissas(a)
    shift = np.where(n != 0, e - base_exp, 0)
    assert (shift >= 0).all()
    pos, off = np.divmod(shift, width)
    mag = np.ldexp(np.abs(n), off)  # < 2^(53 + width), exact
    sgn = np.sign(n)
    pieces = (53 + 2 * width - 1) // width
    out = np.zeros(a.shape + (int(pos.max(initial=0)) + pieces,))
    for i in range(pieces):
        whole = np.floor(np.ldexp(mag, -i * width))
        digit = whole - np.ldexp(np.floor(np.ldexp(whole, -width)), width)
        idx = (pos + i)[..., None]
        np.put_along_axis(out, idx, np.take_along_axis(out, idx, -1) + (sgn * digit)[..., None],
                          -1)
    return out


def _normalize(d: np.ndarray, width: int) -> np.ndarray:
    planes = np.concatenate([np.moveaxis(d, -1, 0), np.zeros((60 // width + 2,) + d.shape[:-1])])
    radix = 2.0**width
    for j in range(len(planes) - 1):  # plane by plane, each contiguous
        carry = np.floor(planes[j] / radix)
        planes[j] -= carry * radix
        planes[j + 1] += carry
    return np.moveaxis(planes, 0, -1)


def signs(d: np.ndarray, width: int) -> np.ndarray:
    """−1, 0 or 1 per value of digits [..., P]."""
    n = _normalize(d.copy(), width)
    return np.where(n[..., -1] < 0, -1, np.where((n != 0).any(-1), 1, 0))


def _convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Digits of Σ_i a[t, i] b[i, z]: a [t, m, Pa], b [m, G, Pb] → [t, G, Pa + Pb − 1]."""
    pa, pb = a.shape[-1], b.shape[-1]
    used_a = [j for j in range(pa) if a[..., j].any()]
    used_b = [j for j in range(pb) if b[..., j].any()]
    out = np.zeros((pa + pb - 1, a.shape[0], b.shape[1]))  # plane-major while summing
    if not used_a or not used_b:
        return np.moveaxis(out, 0, -1)
    if a.shape[1] * min(len(used_a), len(used_b)) * np.abs(a).max() * np.abs(b).max() \
            >= LIMIT:
        raise Narrower
    planes_a = {i: np.ascontiguousarray(a[..., i]) for i in used_a}
    planes_b = {j: np.ascontiguousarray(b[..., j]) for j in used_b}
    for i in used_a:
        for j in used_b:
            out[i + j] += planes_a[i] @ planes_b[j]
    return np.moveaxis(out, 0, -1)


def _used(d: np.ndarray) -> int:
    """The number of planes up to the last nonzero one (at least 1)."""
    live = np.nonzero(d.reshape(-1, d.shape[-1]).any(0))[0]
    return int(live[-1]) + 1 if len(live) else 1


def _pad(d: np.ndarray, size: int) -> np.ndarray:
    extra = size - d.shape[-1]
    return d if extra <= 0 else np.concatenate([d, np.zeros(d.shape[:-1] + (extra,))], -1)


class IntegerLogits:
    """One instance of the stored model (folded ℓ, r, u, β or unfolded E_L, W_L, E_R, W_R,
    W_U, β), evaluated exactly at chosen inputs."""

    def __init__(self, tensors: dict[str, np.ndarray], folded: bool, k: int, width: int
                 ) -> None:
        self.width, self.folded = width, folded
        f64 = {n: np.asarray(t[k], dtype=np.float64) for n, t in tensors.items()}
        if folded:
            sides: tuple[np.ndarray, ...] = (f64["left"], f64["right"])
            self.u, self.b = f64["unembed"], f64["bias"]
        else:
            sides = (f64["embedding_left"], f64["linear_left"], f64["embedding_right"],
                     f64["linear_right"])
            self.u, self.b = f64["unembedding"], f64["unembed_bias"]
        low = lowest_bit(*sides)
        if folded:
            self.l_f, self.r_f = sides
            self.left, self.right = (digits(s, low, width) for s in sides)
            self.e_h = low
        else:
            el, wl, er, wr = (digits(s, low, width) for s in sides)
            self.left, self.right = _convolve(el, wl), _convolve(er, wr)
            self.e_h = 2 * low
        size = max(_used(self.left), _used(self.right))
        self.left, self.right = (_pad(d[..., :size], size) for d in (self.left, self.right))
        self.e_u = lowest_bit(self.u)
        self.unembed = digits(self.u, self.e_u, width)
        self.unembed = self.unembed[..., :_used(self.unembed)]

    def differences(self, xs: np.ndarray, ys: np.ndarray, zc: np.ndarray
                    ) -> tuple[np.ndarray, int]:
        """Digits of f(z) − f(zc) [t, G, P] (as computed, not normalized) and their base
        exponent."""
        pre = self.left[xs] + self.right[ys]  # [t, m, P]
        if self.folded:  # a float sum of two floats has the sign of the exact sum
            alive = (self.l_f[xs] + self.r_f[ys]) > 0
        else:
            n = _normalize(pre.copy(), self.width)
            alive = (n[..., -1] >= 0) & (n != 0).any(-1)
            pre = n
        hid = np.where(alive[..., None], pre, 0.0)
        prod = _convolve(hid, self.unembed)
        e_p = self.e_h + self.e_u
        gap = max(0, e_p - lowest_bit(self.b))
        steps = -(-gap // self.width)
        e_out = e_p - steps * self.width
        bias = digits(self.b, e_out, self.width)
        total = np.zeros(prod.shape[:2] + (max(prod.shape[-1] + steps, bias.shape[-1]),))
        total[..., steps:steps + prod.shape[-1]] += prod
        total[..., :bias.shape[-1]] += bias
        return total - total[np.arange(len(zc)), zc][:, None, :], e_out


def decide(tensors: dict[str, np.ndarray], folded: bool, k: int, xs: np.ndarray,
           ys: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At the inputs (xs, ys): whether f(xy) is strictly the largest logit, exactly [t], and
    upper float bounds on f(z) − f(xy) for the z ≠ xy [t, |G| − 1]."""
    m = np.asarray(tensors["unembed" if folded else "unembedding"][k]).shape[0]
    width = max(2, (46 - (16 * max(m, 1)).bit_length()) // 2)
    while True:
        try:
            return _decide(IntegerLogits(tensors, folded, k, width), xs, ys, table)
        except Narrower:
            width -= 2
            if width < 2:
                raise


def _decide(model: IntegerLogits, xs: np.ndarray, ys: np.ndarray, table: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    g = table.shape[0]
    ok = np.zeros(len(xs), dtype=bool)
    up = np.zeros((len(xs), max(g - 1, 0)))
    planes = model.left.shape[-1] + model.unembed.shape[-1]  # of a logit's digits
    step = max(1, (1 << 22) // max(1, max(g, model.unembed.shape[0]) * planes))  # tens of MB
    for s in range(0, len(xs), step):
        x, y = xs[s:s + step], ys[s:s + step]
        zc = table[x, y]
        diff, e = model.differences(x, y, zc)
        others = np.ones((len(x), g), dtype=bool)
        others[np.arange(len(x)), zc] = False
        # the digits as computed (normalized, a negative value's would cancel each other):
        # their float sum, widened by (P + 2)u of the terms' magnitudes and P underflows
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            terms = np.ldexp(diff, (e + model.width * np.arange(diff.shape[-1]))[None, None])
            mid = terms.sum(-1)
            slack = (diff.shape[-1] + 2) * U * 1.01 * np.abs(terms).sum(-1) \
                + diff.shape[-1] * ETA
            hi = np.where(np.isnan(mid + slack), np.inf, mid + slack)
            lo = np.where(np.isnan(mid - slack), -np.inf, mid - slack)
        # signs: where the float bounds exclude 0; 0 where every digit is; else normalized
        sign = np.where(lo > 0, 1, np.where(hi < 0, -1, 0))
        undecided = (lo <= 0) & (hi >= 0) & (diff != 0).any(-1)
        if undecided.any():
            sign[undecided] = signs(diff[undecided], model.width)
        ok[s:s + step] = ((sign < 0) | ~others).all(1)
        up[s:s + step] = hi[others].reshape(len(x), g - 1)
    return ok, up


__all__ = ["IntegerLogits", "decide", "digits", "lowest_bit", "signs"]
