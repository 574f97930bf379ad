"""The checker's stage 1 of V_irrep [S1] (docs/soundness.md §2.1): a(x) + b(y) + K per input,
with its own assignment bound over the ρ-set permutations."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from rhoproof.check.parse import Claim, SignTables
from rhoproof.check.rounding import (
    TINY,
    U,
    down,
    norm_up,
    up,
    widen,
)


def _sorted_dot(a: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Σ_j a_(j) r_(j), both sorted decreasingly, per row of a ≥ 0 (rearrangement)."""
    return (-np.sort(-a, axis=1) * -np.sort(-r)[None]).sum(1) * (1 + widen(r.size)) + TINY

def _assignment(v: np.ndarray, r_hat: np.ndarray, exact_r: bool) -> np.ndarray:
    """≥ max over π, σ of Σ_{p,q} V[p, q] R[πp, σq] per z ([G, nb, nc] signed) [S1 (B1)]: row p
    against row p' of R at best (both rows sorted), then the best assignment of rows, by
    enumerating the permutations (nb ≤ 6) or each row's best; rounding and R̂'s error charged
    through the same bound on |V|."""
    g, nb, nc = v.shape
    rs = -np.sort(-r_hat, axis=1)
    pick = None
    if nb <= 6:  # Σ_p W[p, π(p)] for every π as one product with a 0/1 matrix (exact terms)
        perms = np.array(list(itertools.permutations(range(nb))))
        pick = np.zeros((nb * nb, len(perms)))
        pick[np.arange(nb)[None, :] * nb + perms, np.arange(len(perms))[:, None]] = 1.0
    best, best_abs = np.empty(g), np.empty(g)
    # a slab of z at a time: W is [z, nb, nb], and a hostile ρ-set may have nb = |G|
    step = max(1, (1 << 22) // (nb * max(nb, nc)))
    for z0 in range(0, g, step):
        vz = v[z0:z0 + step]
        w = np.einsum("zpj,rj->zpr", -np.sort(-vz, axis=2), rs)
        w_abs = np.einsum("zpj,rj->zpr", -np.sort(-np.abs(vz), axis=2), rs)
        if pick is not None:
            best[z0:z0 + step] = (w.reshape(len(vz), nb * nb) @ pick).max(1)
            best_abs[z0:z0 + step] = (w_abs.reshape(len(vz), nb * nb) @ pick).max(1)
        else:
            best[z0:z0 + step], best_abs[z0:z0 + step] = w.max(2).sum(1), w_abs.max(2).sum(1)
    slack = (0.0 if exact_r else 2 * U) + widen(nc) + widen(nb)
    return best + slack * best_abs * (1 + 2 * slack) + TINY

def separable(claim: Claim, c: dict, r: dict | None, ih: dict, eps: tuple[float, float, float],
              margin: float, gap: float
              ) -> tuple[np.ndarray, Callable[[int, int], np.ndarray]]:
    """Stage 1 [S1] (docs/soundness.md §2.1), recomputed: the [G, G] mask of inputs with
    a(x) + b(y) + K below the ideal's margin (≤ ``margin`` at every input), and every input's
    stage-1 CE bound log(1 + e^{a + b + K + gap}) with gap ≥ log Σ_{w≠e} e^{F(w)} − F(e) at
    every input, as a function of a slab of rows (x0, x1) → [x1 − x0, G] (+inf where it does
    not apply), so that no [G, G] float array is needed at |G| = 5040. ``c`` and ``r`` cover
    all neurons (virtual ones zero); every term is an upper bound on its exact value."""
    eps_lr, eps_u, eps_b = eps
    g, m = c["left"].shape
    real = m - claim.virtual_neurons
    zero = {k: np.zeros_like(v) for k, v in c.items()}
    r = zero if r is None else r
    in_c = np.zeros(m, dtype=bool)
    for circ in claim.circuits:
        in_c[circ.neurons] = True
    live = in_c & (np.arange(m) < real)
    others = ~in_c & (np.arange(m) < real)
    u, eu = c["unembed"], r["unembed"]
    rho = (u.max(1) - u.min(1) + 2 * eu.max(1)) * (1 + 4 * U) + TINY  # ≥ range of u_i

    # a neuron outside the circuits that is dead on every input (max ℓ + max r ≤ 0) costs 0
    top_l, top_r = (c["left"] + r["left"]).max(0), (c["right"] + r["right"]).max(0)
    top_l, top_r = top_l + 2 * U * np.abs(top_l) + TINY, top_r + 2 * U * np.abs(top_r) + TINY
    alive = up(top_l + top_r, np.abs(top_l) + np.abs(top_r)) > 0

    def side(t: np.ndarray, th: np.ndarray, et: np.ndarray) -> np.ndarray:
        d = (np.abs(t - th) * (1 + U) + et + eps_lr * np.abs(th)) * (1 + 4 * U)
        pos = np.maximum(t + et, 0) * (1 + 2 * U) + TINY
        terms = np.where(live[None], d, np.where((others & alive)[None], pos, 0.0))
        return (terms * rho[None]).sum(1) * (1 + widen(m + 2)) + TINY

    a, b = side(c["left"], ih["left"], r["left"]), side(c["right"], ih["right"], r["right"])
    db = c["bias"] - ih["bias"]
    err = U * np.abs(db) + r["bias"] + eps_b
    hi, lo = up(db + err, np.abs(db) + err), down(db - err, np.abs(db) + err)
    k_bias = up(hi.max() - lo.min(), abs(hi.max()) + abs(lo.min()))
    du = u - ih["unembed"]
    du_err = U * np.abs(du) + eu + eps_u * np.abs(ih["unembed"])
    parts = [np.maximum(du + du_err, 0) * (1 + 4 * U) + TINY,
             np.maximum(-du + du_err, 0) * (1 + 4 * U) + TINY]
    signed = [(du + du_err) * (1 + 4 * U) + TINY, (-du + du_err) * (1 + 4 * U) + TINY]
    per_z, per_mag = np.zeros((2, g)), np.zeros((2, g))
    n_sq = 0.0
    for circ in claim.circuits:
        if isinstance(circ, SignTables):
            r_hat, exact_r = np.array([[2.0, 0.0], [0.0, 0.0]]), True
        else:
            r_hat, exact_r = np.maximum(circ.alpha[:, None] + circ.gamma[None], 0.0), False
        nb, nc = r_hat.shape
        pair = circ.p * nc + circ.q
        cols: Any = (slice(None), pair)  # big[:, pair_i] += ..., repeated pairs summed
        for j, part in enumerate(signed):
            terms = (part[circ.neurons] * circ.scale[:, None]).T  # [G, n]
            big, big_abs = np.zeros((g, nb * nc)), np.zeros((g, nb * nc))
            np.add.at(big, cols, terms)
            np.add.at(big_abs, cols, np.abs(terms))
            big = big + widen(m + 2) * big_abs + TINY
            bound = _assignment(big.reshape(g, nb, nc), r_hat, exact_r)
            per_z[j] += bound
            per_mag[j] += np.abs(bound)
        rv = r_hat.ravel() * (1 + 2 * U) + TINY
        lam2 = np.zeros(rv.size)
        np.add.at(lam2, pair, circ.scale**2)
        n_sq += float(_sorted_dot(lam2[None] * (1 + widen(m + 2)) + TINY,
                                  rv**2 * (1 + 2 * U)).max())
    wide_c = 1 + widen(2 * len(claim.circuits) + 2)
    k_mis = 0.0
    if claim.circuits:  # one z for all circuits, then the largest over z
        k_mis = sum(float((per_z[j] + widen(len(claim.circuits) + 2) * per_mag[j]).max())
                    for j in (0, 1))
        k_mis = k_mis + 4 * U * abs(k_mis) + TINY
    if in_c.any():
        n_bar = math.sqrt(n_sq * wide_c + TINY) * (1 + 4 * U)
        k_mis = min(k_mis, (float(norm_up(parts[0][in_c], 0).max())
                            + float(norm_up(parts[1][in_c], 0).max())) * n_bar * (1 + 8 * U)
                    + TINY)
    k = k_mis + k_bias
    k = k + 4 * U * abs(k) + TINY  # k_mis may be negative (signed terms)
    t1 = down(margin - k, abs(margin) + abs(k))
    with np.errstate(invalid="ignore", over="ignore"):
        t = down(t1 - a, abs(t1) + a)  # [G]
        ok = b[None, :] < t[:, None]  # compared directly, not by search: a second route
        ok = ok & np.isfinite(t)[:, None] & np.isfinite(b)[None, :]
    const = up(k + gap, abs(k) + abs(gap)) if g > 1 else math.inf

    def ce_rows(x0: int, x1: int) -> np.ndarray:
        """Stage 1's CE bound log(1 + e^{a + b + K + gap}) at the rows x0..x1 ([x1 − x0, G];
        +inf where stage 1 does not certify): computed a slab at a time, never on the whole
        grid at once."""
        with np.errstate(invalid="ignore", over="ignore"):
            ab = a[x0:x1, None] + b[None]
            ce = np.log1p(np.exp(up(ab + const, ab + abs(const))))
            return np.where(ok[x0:x1] & ~np.isnan(ce), ce, np.inf)

    return ok, ce_rows


__all__ = ["separable"]
