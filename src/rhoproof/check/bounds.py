"""The checker's recomputation of each bound from a parsed ``Claim`` and the stored model.

* brute: every logit as a float64 centre with a rigorous error bound; inputs whose correct
  logit and largest wrong logit the bounds cannot separate are decided with exact rationals
  (``exact.ExactLogits``). The count is exact.
* irrep: the facts of docs/soundness.md §1 are re-derived from the integer tables (group
  actions, K constant on orbits and characters, each checked on a generating set derived and
  verified here, which implies every pair g, h by induction; complete double sums, or with a
  partial symmetry H [H1] pair weights invariant under H's generators); F*(w) is computed
  *exactly* from the tables (``exact.ideal_values``), or with H per orbit in float64 with its
  widening (``_ideal_at_orbits``); D, N, L and the per-output
  spreads in float64 with their own widenings (§2–3), plus the enclosure's radius [F1].
* coset: the coset means, the margin lower bound and the per-input bounds (§5).

Preconditions: the model and the certificate's floats are in the safe range [R] (``parse``,
``weights.in_safe_range``); that is what makes the relative-error widenings valid (§3.1).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from rhoproof.check.exact import ExactLogits, down, ideal_values, up
from rhoproof.check.parse import Claim, RhoSetTables, SignTables, require

U = 2.0**-53
ETA = 2.0**-1074
TINY = 1e-300


def _widen(n: int) -> float:
    return (n + 8) * U * 1.01


def _up(v: Any, scale: Any) -> Any:
    return v + 4 * U * scale + TINY


def _down(v: Any, scale: Any) -> Any:
    return v - 4 * U * scale - TINY


def _norm(a: np.ndarray, axis: int) -> np.ndarray:
    """≥ the Euclidean norm along ``axis``: squares that underflow are charged *inside* the
    root (n·η), so a lost tiny square is never amplified later [R2]."""
    n = a.shape[axis]
    return np.sqrt((a * a).sum(axis) * (1 + _widen(n + 2)) + (n + 1) * ETA) * (1 + 4 * U)


def group_facts(table: np.ndarray) -> tuple[int, np.ndarray]:
    """The identity and inverses from the Cayley table alone."""
    n = table.shape[0]
    require(table.shape == (n, n), "the Cayley table is not square")
    ids = np.nonzero((table == np.arange(n)[None]).all(1))[0]
    require(len(ids) == 1, "the Cayley table has no unique identity")
    e = int(ids[0])
    inv = np.argmax(table == e, axis=1)
    require(bool((table[np.arange(n), inv] == e).all()), "the Cayley table lacks inverses")
    return e, inv


# --- the stored model's correct and wrong logits --------------------------------------------


def _logit_bounds(c: dict, r: dict | None, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """centre and err with |f(z | x, y) − centre| ≤ err for x in xs, every y, z: [c, G, G]."""
    m = c["left"].shape[1]
    gam = (m + 4) * U * 1.01
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        hid = np.maximum(c["left"][xs][:, None, :] + c["right"][None], 0.0)  # [c, G, m]
        center = hid @ c["unembed"] + c["bias"]
        err = gam * (hid @ np.abs(c["unembed"]) + np.abs(c["bias"]))
        if r is not None:
            e_h = r["left"][xs][:, None, :] + r["right"][None]
            err = err + e_h @ (np.abs(c["unembed"]) + r["unembed"]) + hid @ r["unembed"] \
                + r["bias"]
        err = err * (1 + gam) + (4 * m + 8) * ETA
    return center, err


def correct_low(c: dict, r: dict | None, table: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """≤ f(xy | x, y) for all (x, y), one x at a time over its outputs z = xy."""
    g, m = c["left"].shape
    wide = _widen(m + 4)
    u, b = c["unembed"], c["bias"]
    out = np.empty((g, g))
    for x in range(g):
        ys = table[inv[x]]  # y = x⁻¹z for z = 0 .. |G| − 1
        hid = np.maximum(c["left"][x][None] + c["right"][ys], 0.0)  # [z, m]
        val = np.einsum("zm,mz->z", hid, u) + b
        err = wide * (np.einsum("zm,mz->z", hid, np.abs(u)) + np.abs(b)) + TINY
        if r is not None:
            e_h = r["left"][x][None] + r["right"][ys]
            err = err + (np.einsum("zm,mz->z", e_h, np.abs(u) + r["unembed"])
                         + np.einsum("zm,mz->z", hid, r["unembed"]) + r["bias"]) \
                * (1 + wide) + (2 * m + 4) * ETA
        out[x, ys] = _down(val - err, np.abs(val) + err)
    return out


def _ce(delta: np.ndarray, g: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.log1p((g - 1) * np.exp(-(delta - 2 * U * np.abs(delta) - TINY)))


def _ce_up(t: np.ndarray) -> np.ndarray:
    """≥ log(1 + Σ_j e^{t_j}) over the last axis (t: upper bounds on f(z) − f(xy)):
    M + log1p(Σ of e^{v − M} over the entries other than the largest), widened for exp, the
    sum, log1p and the rounding of v − M (docs/soundness.md [E2])."""
    full = np.concatenate([np.zeros(t.shape[:-1] + (1,)), t], -1)
    n = full.shape[-1]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        top = full.max(-1)
        terms = np.exp(full - top[..., None])
        np.put_along_axis(terms, full.argmax(-1)[..., None], 0.0, -1)
        l1p = np.log1p(terms.sum(-1))
        out = top + l1p * (1 + (n + 8) * 4 * U + 1e-13) + 8 * U * np.abs(top) + TINY
    return np.where(np.isnan(out), np.inf, out)


def _mean_up(ce: np.ndarray) -> float:
    bound = float(ce.mean()) * (1 + _widen(ce.size) + 1e-13) + TINY
    return bound if math.isfinite(bound) else math.inf


def brute(c: dict, r: dict | None, exact: ExactLogits, table: np.ndarray
          ) -> tuple[int, float]:
    """The exact count of correctly classified inputs and a CE upper bound."""
    g, m = c["left"].shape
    count, ce = 0, np.zeros((g, g))
    rows = max(1, (1 << 21) // (g * max(m, g)))
    for x0 in range(0, g, rows):
        xs = np.arange(x0, min(g, x0 + rows))
        center, err = _logit_bounds(c, r, xs)
        with np.errstate(over="ignore", invalid="ignore"):
            hi = center + err + 4 * U * (np.abs(center) + err) + TINY
            lo = center - err - 4 * U * (np.abs(center) + err) - TINY
        z = table[xs][..., None]  # [c, G, 1]
        lo_c = np.take_along_axis(lo, z, 2)[..., 0]
        hi_c = np.take_along_axis(hi, z, 2)[..., 0]
        hi_w, lo_w = hi.copy(), lo.copy()
        np.put_along_axis(hi_w, z, -np.inf, 2)
        np.put_along_axis(lo_w, z, -np.inf, 2)
        finite = np.isfinite(center).all(2) & np.isfinite(err).all(2)
        sure = (lo_c > hi_w.max(2)) & finite
        wrong = (hi_c <= lo_w.max(2)) & finite
        count += int(sure.sum())
        with np.errstate(over="ignore", invalid="ignore"):
            t = hi_w - lo_c[..., None]
            t = t + 4 * U * (np.abs(hi_w) + np.abs(lo_c)[..., None]) + TINY
        np.put_along_axis(t, z, -np.inf, 2)
        ce[xs] = _ce_up(t)
        for i, y in zip(*np.nonzero(~(sure | wrong))):
            x = int(xs[i])
            vals = exact.logits(x, int(y))
            zc = int(table[x, y])
            diffs = [up(v - vals[zc]) for j, v in enumerate(vals) if j != zc]
            count += int(all(v < vals[zc] for j, v in enumerate(vals) if j != zc))
            ce[x, y] = _ce_up(np.array([diffs]))[0]
    return count, _mean_up(ce)


# --- V_irrep --------------------------------------------------------------------------------


def generators(table: np.ndarray, e: int) -> list[int]:
    """A generating set of the group, derived and verified here from the Cayley table: the
    closure of {e} under right multiplication by the set is every element (in a finite group
    the monoid generated is the group)."""
    n = table.shape[0]
    seen = np.zeros(n, dtype=bool)
    seen[e] = True
    gens: list[int] = []
    frontier = np.array([e])
    while not seen.all():
        gens.append(int(np.nonzero(~seen)[0][0]))
        frontier = np.nonzero(seen)[0]
        while frontier.size:  # everything reachable with the generators so far
            nxt = np.unique(table[np.ix_(frontier, np.array(gens))])
            frontier = nxt[~seen[nxt]]
            seen[frontier] = True
    return gens


def _check_action(act: np.ndarray, table: np.ndarray, e: int, gens: list[int],
                  name: str) -> None:
    """act[g] permutes the points, act[e] = id, and act[s·h] = act[s] ∘ act[h] for every
    generator s and every h: by induction on the length of a word in the generators,
    act[gh] = act[g] ∘ act[h] for all g, h (docs/soundness.md §1). O(|gens| |G| n)."""
    n_pts = act.shape[1]
    require(bool((act[e] == np.arange(n_pts)).all()), f"{name}: the identity moves a point")
    require(bool((np.sort(act, 1) == np.arange(n_pts)).all()),
            f"{name}: some group element does not permute the points")
    for s in gens:  # act[table[s, h], p] == act[s, act[h, p]]
        require(bool((act[table[s]] == act[s][act]).all()), f"{name}: not a group action")


def _shares(weight: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, int]:
    """ω_i / Σ_{j with the same label} ω_j (totals correctly rounded by math.fsum) and the
    largest group; O(n log n) in the number of neurons."""
    order = np.argsort(label, kind="stable")
    starts = np.nonzero(np.r_[True, label[order][1:] != label[order][:-1]])[0]
    share, largest = np.zeros_like(weight), 0
    for a, b in zip(starts, np.r_[starts[1:], len(order)]):
        members = order[a:b]
        total = math.fsum(weight[members].tolist())
        require(total != 0, "a pair of the double sum has zero total weight")
        share[members] = weight[members] / total
        largest = max(largest, int(b - a))
    return share, largest


def _rho_set(c: RhoSetTables, table: np.ndarray, e: int, inv: np.ndarray, gens: list[int],
             out: dict, symmetry: np.ndarray | None) -> float:
    _check_action(c.act_b, table, e, gens, f"{c.irrep} B")
    _check_action(c.act_c, table, e, gens, f"{c.irrep} C")
    nb, nc = len(c.alpha), len(c.gamma)
    for h in gens:  # K is invariant under (p, q) -> (h·p, h·q) for the generators, so (the
        # actions being homomorphisms) under the whole group: constant on orbits
        require(bool((c.k[c.act_b[h][:, None], c.act_c[h][None, :]] == c.k).all()),
                f"{c.irrep}: K is not constant on orbits")
    pair = c.p * nc + c.q
    counts = np.bincount(pair, minlength=nb * nc)
    if symmetry is None:  # bi-equivariant: the complete double sum, one weight
        require(bool((counts > 0).all()), f"{c.irrep}: the double sum is incomplete")
        w_i: Any = c.w
    else:  # [H1]: the weights of the pairs present (0 elsewhere) are H-invariant: checked on
        # H's generators (s, h): W[s·p, h⁻¹·q] = W[p, q], which implies all of H
        w_eff = np.where(counts.reshape(nb, nc) > 0,
                         np.broadcast_to(np.asarray(c.w, dtype=np.float64), (nb, nc)), 0.0)
        for s_, h_ in symmetry:
            moved = w_eff[c.act_b[s_][:, None], c.act_c[inv[h_]][None, :]]
            require(bool((moved == w_eff).all()),
                    f"{c.irrep}: the pair weights are not invariant under the symmetry")
        w_i = w_eff[c.p, c.q]
    share, largest = _shares(c.weight, pair)
    lam = c.scale
    out["left"][:, c.neurons] = lam * c.alpha[c.act_b[inv][:, c.p]]
    out["right"][:, c.neurons] = lam * c.gamma[c.act_c[:, c.q]]
    kz = c.k[c.p[:, None], c.act_c[:, c.q].T]  # [n, G]
    out["unembed"][c.neurons] = _no_underflow(share, c.weight, w_i, lam, kz)
    return (largest + 8) * U * 1.01


def _no_underflow(share: np.ndarray, weight: np.ndarray, w: Any, lam: np.ndarray,
                  kz: np.ndarray) -> np.ndarray:
    """û = fl(fl(fl(c·W)/λ)·K), refused if a step whose exact value is nonzero fell below
    2⁻¹⁰⁰⁰: the relative bound ε_u|û| holds only without underflow (§3.1)."""
    w = np.broadcast_to(np.asarray(w, dtype=np.float64), share.shape)
    cw = share * w
    cwl = cw / lam
    u_hat = cwl[:, None] * kz
    live = (weight != 0) & (w != 0)
    small = 2.0**-1000
    require(bool((np.abs(np.stack([share, cw, cwl])[:, live]) >= small).all())
            and bool((np.abs(u_hat[live[:, None] & (kz != 0)]) >= small).all()),
            "an entry of the ideal unembedding underflows (outside the safe range)")
    return u_hat


def _sign(c: SignTables, table: np.ndarray, gens: list[int], out: dict) -> float:
    require(bool((np.abs(c.chi) == 1).all()), "a sign character must be ±1 on every element")
    require(bool(all((c.chi[table[s]] == c.chi[s] * c.chi).all() for s in gens)),
            f"{c.irrep}: χ(gh) ≠ χ(g)χ(h)")
    chi = c.chi.astype(np.float64)
    b, cc = 1.0 - 2.0 * c.p, 1.0 - 2.0 * c.q
    same = b == cc
    for key, cls in (("s", same), ("d", ~same)):
        plus, minus = cls & (b == 1), cls & (b == -1)
        require(plus.any() == minus.any(), f"{c.irrep}: mirrored classes not both present")
        if not plus.any():
            require((c.w_same if key == "s" else c.w_diff) == 0.0,
                    f"{c.irrep}: weight for an absent class")
    share, largest = _shares(c.weight, 2 * same.astype(np.int64) + (b == 1))  # 4 classes
    wc = np.where(same, c.w_same, c.w_diff)
    out["left"][:, c.neurons] = (c.scale * b)[None] * chi[:, None]
    out["right"][:, c.neurons] = (c.scale * cc)[None] * chi[:, None]
    out["unembed"][c.neurons] = _no_underflow(share, c.weight, wc, c.scale,
                                              np.broadcast_to(chi[None], (len(wc), len(chi))))
    return (largest + 8) * U * 1.01


def irrep_ideal(claim: Claim, table: np.ndarray, m: int) -> tuple[dict, float, float, float]:
    """The float tables f̂ of f* over m neurons and their error bounds (ε_ℓr, ε_u, ε_β)."""
    g = table.shape[0]
    e, inv = group_facts(table)
    gens = generators(table, e)  # χ(s·h) = χ(s)χ(h) for generators s: a homomorphism
    out: dict[str, np.ndarray] = {"left": np.zeros((g, m)), "right": np.zeros((g, m)),
                                  "unembed": np.zeros((m, g))}
    eps_u, taken = 4 * U, set[int]()
    bias, magnitude, n_sign = np.full(g, claim.t0), abs(claim.t0), 0
    for c in claim.circuits:
        mine = set(c.neurons.tolist())
        require(len(mine) == len(c.neurons) and not taken & mine,
                "circuit neurons repeated or shared")
        taken |= mine
        if isinstance(c, RhoSetTables):
            eps_u = max(eps_u, _rho_set(c, table, e, inv, gens, out, claim.symmetry))
        else:
            eps_u = max(eps_u, _sign(c, table, gens, out))
            beta = -(c.w_same + c.w_diff)
            bias = bias + beta * c.chi
            magnitude += abs(beta)
            n_sign += 1
    out["bias"] = bias
    eps_b = (2 * n_sign + 4) * U * 1.01 * magnitude + TINY
    return out, 2 * U, eps_u, eps_b


def _sorted_dot(a: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Σ_j a_(j) r_(j), both sorted decreasingly, per row of a ≥ 0 (rearrangement)."""
    return (-np.sort(-a, axis=1) * -np.sort(-r)[None]).sum(1) * (1 + _widen(r.size)) + TINY


def _assignment(v: np.ndarray, r_hat: np.ndarray, exact_r: bool) -> np.ndarray:
    """≥ max over π, σ of Σ_{p,q} V[p, q] R[πp, σq] per z ([G, nb, nc] signed) [S1 (B1)]: row p
    against row p' of R at best (both rows sorted), then the best assignment of rows, by
    enumerating the permutations (nb ≤ 6) or each row's best; rounding and R̂'s error charged
    through the same bound on |V|."""
    g, nb, nc = v.shape
    rs = -np.sort(-r_hat, axis=1)
    w = np.einsum("zpj,rj->zpr", -np.sort(-v, axis=2), rs)
    w_abs = np.einsum("zpj,rj->zpr", -np.sort(-np.abs(v), axis=2), rs)
    if nb <= 6:
        perms = np.array(list(itertools.permutations(range(nb))))
        best = w[:, np.arange(nb)[None, :], perms].sum(2).max(1)
        best_abs = w_abs[:, np.arange(nb)[None, :], perms].sum(2).max(1)
    else:
        best, best_abs = w.max(2).sum(1), w_abs.max(2).sum(1)
    slack = (0.0 if exact_r else 2 * U) + _widen(nc) + _widen(nb)
    return best + slack * best_abs * (1 + 2 * slack) + TINY


def separable(claim: Claim, c: dict, r: dict | None, ih: dict, eps: tuple[float, float, float],
              margin: float, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Stage 1 [S1] (docs/soundness.md §2.1), recomputed: the [G, G] mask of inputs with
    a(x) + b(y) + K below the ideal's margin (≤ ``margin`` at every input), and every input's
    stage-1 CE bound log(1 + e^{a + b + K + gap}) with gap ≥ log Σ_{w≠e} e^{F(w)} − F(e) at
    every input ([G, G]; +inf where it does not apply). ``c`` and ``r`` cover all neurons
    (virtual ones zero); every term is an upper bound on its exact value."""
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
    alive = _up(top_l + top_r, np.abs(top_l) + np.abs(top_r)) > 0

    def side(t: np.ndarray, th: np.ndarray, et: np.ndarray) -> np.ndarray:
        d = (np.abs(t - th) * (1 + U) + et + eps_lr * np.abs(th)) * (1 + 4 * U)
        pos = np.maximum(t + et, 0) * (1 + 2 * U) + TINY
        terms = np.where(live[None], d, np.where((others & alive)[None], pos, 0.0))
        return (terms * rho[None]).sum(1) * (1 + _widen(m + 2)) + TINY

    a, b = side(c["left"], ih["left"], r["left"]), side(c["right"], ih["right"], r["right"])
    db = c["bias"] - ih["bias"]
    err = U * np.abs(db) + r["bias"] + eps_b
    hi, lo = _up(db + err, np.abs(db) + err), _down(db - err, np.abs(db) + err)
    k_bias = _up(hi.max() - lo.min(), abs(hi.max()) + abs(lo.min()))
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
            big = big + _widen(m + 2) * big_abs + TINY
            bound = _assignment(big.reshape(g, nb, nc), r_hat, exact_r)
            per_z[j] += bound
            per_mag[j] += np.abs(bound)
        rv = r_hat.ravel() * (1 + 2 * U) + TINY
        lam2 = np.zeros(rv.size)
        np.add.at(lam2, pair, circ.scale**2)
        n_sq += float(_sorted_dot(lam2[None] * (1 + _widen(m + 2)) + TINY,
                                  rv**2 * (1 + 2 * U)).max())
    wide_c = 1 + _widen(2 * len(claim.circuits) + 2)
    k_mis = 0.0
    if claim.circuits:  # one z for all circuits, then the largest over z
        k_mis = sum(float((per_z[j] + _widen(len(claim.circuits) + 2) * per_mag[j]).max())
                    for j in (0, 1))
        k_mis = k_mis + 4 * U * abs(k_mis) + TINY
    if in_c.any():
        n_bar = math.sqrt(n_sq * wide_c + TINY) * (1 + 4 * U)
        k_mis = min(k_mis, (float(_norm(parts[0][in_c], 0).max())
                            + float(_norm(parts[1][in_c], 0).max())) * n_bar * (1 + 8 * U)
                    + TINY)
    k = k_mis + k_bias
    k = k + 4 * U * abs(k) + TINY  # k_mis may be negative (signed terms)
    t1 = _down(margin - k, abs(margin) + abs(k))
    with np.errstate(invalid="ignore", over="ignore"):
        t = _down(t1 - a, abs(t1) + a)  # [G]
        ok = b[None, :] < t[:, None]  # compared directly, not by search: a second route
        ok = ok & np.isfinite(t)[:, None] & np.isfinite(b)[None, :]
        ce = np.full((g, g), np.inf)
        if g > 1:
            const = _up(k + gap, abs(k) + abs(gap))
            ab = a[:, None] + b[None]
            ce = np.log1p(np.exp(_up(ab + const, ab + abs(const))))
            ce = np.where(ok & ~np.isnan(ce), ce, np.inf)
    return ok, ce


def irrep(claim: Claim, c: dict, r: dict | None, table: np.ndarray) -> tuple[int, float]:
    """Recompute V_irrep's certified count and CE bound (docs/soundness.md §2–3)."""
    g = table.shape[0]
    v = claim.virtual_neurons
    if v:  # zero-weight neurons: the same function, room for a circuit's missing terms
        c = {"left": np.hstack([c["left"], np.zeros((g, v))]),
             "right": np.hstack([c["right"], np.zeros((g, v))]),
             "unembed": np.vstack([c["unembed"], np.zeros((v, g))]), "bias": c["bias"]}
        if r is not None:
            r = {"left": np.hstack([r["left"], np.zeros((g, v))]),
                 "right": np.hstack([r["right"], np.zeros((g, v))]),
                 "unembed": np.vstack([r["unembed"], np.zeros((v, g))]), "bias": r["bias"]}
    m = c["left"].shape[1]
    ih, eps_lr, eps_u, eps_b = irrep_ideal(claim, table, m)
    e, inv = group_facts(table)
    wide = _widen(m + 2)
    u, b, uh, bh, lh, rh = c["unembed"], c["bias"], ih["unembed"], ih["bias"], ih["left"], \
        ih["right"]
    k = min(claim.top_k, g - 1)
    f_up, f_low, order, orb, tg, th = _ideal_at_orbits(claim, ih, (eps_lr, eps_u, eps_b),
                                                       table, e, k)
    n_orb = len(f_up)
    rows = np.arange(n_orb)
    wrong_up = f_up.copy()
    wrong_up[rows, order[:, -1]] = -np.inf  # the last column is each orbit's correct output
    top1 = wrong_up.max(1) if g > 1 else np.full(n_orb, -np.inf)  # [R]
    lse = np.array([_lse_up(wrong_up[j, order[j, :-1]]) for j in rows]) if g > 1 else \
        np.full(n_orb, -np.inf)
    real = m - v
    in_circuit = np.zeros(m, dtype=bool)
    for circ in claim.circuits:
        in_circuit[circ.neurons] = True
    live, others = np.nonzero(in_circuit[:real])[0], np.nonzero(~in_circuit[:real])[0]
    # stage 1 [S1] first; in mode "needed" the later stages see only what it leaves (as the
    # prover), so the checker is as sub-quadratic as the proof; in "all", every input
    with np.errstate(invalid="ignore"):
        margin = float(_down(f_low - top1, np.abs(f_low) + np.abs(top1)).min()) if g > 1 \
            else math.inf
        gap = float(_up(lse - f_low, np.abs(lse) + np.abs(f_low)).max()) if g > 1 \
            else -math.inf
    stage1, ce1 = separable(claim, c, r, ih, (eps_lr, eps_u, eps_b), margin, gap)
    xs, ys = np.nonzero(~stage1 if claim.per_output == "needed" else np.ones((g, g), bool))

    def rnorm(key: str, idx: np.ndarray, axis: int) -> Any:
        if r is None:
            return 0.0
        t = r[key][idx] if key == "unembed" else r[key][:, idx]
        return _norm(t, axis)

    col_c = (np.maximum(b - bh, 0) + (0.0 if r is None else r["bias"]) + eps_b) * (1 + wide) \
        + TINY
    n, n_v = _hidden_norm_at(claim, inv, m, real, xs, ys)
    parts = []  # Cauchy–Schwarz per neuron group: circuits, other real neurons, virtual
    if len(live):
        eu = rnorm("unembed", live, 0)
        col_a = (_norm(u[live], 0) + eu) * (1 + wide) + TINY
        col_b = (_norm(np.maximum(u[live] - uh[live], 0), 0) + eps_u * _norm(uh[live], 0) + eu) \
            * (1 + wide) + TINY
        dl, dr = c["left"][:, live] - lh[:, live], c["right"][:, live] - rh[:, live]
        rad = 0.0 if r is None else rnorm("left", live, 1)[xs] + rnorm("right", live, 1)[ys]
        d = (_distance_at(dl, dr, xs, ys) + 2 * U * (_norm(dl, 1)[xs] + _norm(dr, 1)[ys])
             + eps_lr * (_norm(lh[:, live], 1)[xs] + _norm(rh[:, live], 1)[ys])
             + rad) * (1 + wide) + TINY
        parts += [(col_a, d), (col_b, n)]
    if len(others):  # u* = h* = 0 there: ‖u_Z(z)⁺‖ ‖ℓ_Z(x) + r_Z(y)‖
        rad = 0.0 if r is None else rnorm("left", others, 1)[xs] + rnorm("right", others, 1)[ys]
        parts.append(((_norm(np.maximum(u[others], 0), 0) + rnorm("unembed", others, 0))
                      * (1 + wide) + TINY,
                      (_distance_at(c["left"][:, others], c["right"][:, others], xs, ys) + rad)
                      * (1 + wide) + TINY))
    if v:  # ‖(−u*_V(z))⁺‖ ‖h*_V(x, y)‖
        parts.append(((_norm(np.maximum(-uh[real:], 0), 0) + eps_u * _norm(uh[real:], 0))
                      * (1 + wide) + TINY, n_v))

    def spread(pick: Any, where: Any = None) -> np.ndarray:
        total = pick(col_c)
        for col, factor in parts:
            total = total + pick(col) * (factor if where is None else factor[where])
        return total * (1 + 8 * U) + TINY

    s_max = spread(np.max)  # [t]
    o_in = orb[xs, ys]  # each input's orbit
    t1_in = top1[o_in]
    l_low = correct_low_at(c, r, table, xs, ys)
    delta = l_low - _up(t1_in + s_max, np.abs(t1_in) + s_max)
    if claim.per_output == "all":
        todo = np.arange(len(xs))
    else:  # as the prover: skip the globally certified and the hopeless
        todo = np.nonzero((delta <= 0) & (l_low > t1_in + spread(np.min)))[0]
    gi, hi_, oi = tg[xs[todo], ys[todo]], th[xs[todo], ys[todo]], o_in[todo]
    wrong = np.full(len(todo), -np.inf)
    acc = np.zeros(len(todo))  # Σ over the top w of e^{U_w − L} (the CE bound [CE2])
    low = l_low[todo]
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(k):
            w_ = order[oi, j]
            z = table[table[gi, w_], hi_]  # g·w·h: at (x, y) = (g x_O, y_O h) [H1]
            sz = spread(lambda col, z=z: col[z], todo)
            fw = f_up[oi, w_]
            up_w = _up(fw + sz, np.abs(fw) + sz)
            wrong = np.maximum(wrong, up_w)
            acc += np.exp(_up(up_w - low, np.abs(up_w) + np.abs(low)))
    if g - 1 > k:
        rest, sm = f_up[oi, order[oi, k]], s_max[todo]
        wrong = np.maximum(wrong, _up(rest + sm, np.abs(rest) + sm))
    delta[todo] = np.maximum(delta[todo], l_low[todo] - wrong)
    delta = np.where(np.isnan(delta), -np.inf, delta)
    # [CE2]: every wrong logit is at most F*(x⁻¹zy⁻¹) + s_max, so CE ≤ log(1 + e^{s_max − L}
    # Σ_{w≠e} e^{F*(w)}); for per_output "all", the top k one by one and the rest together
    ce = _ce(delta, g)
    if g > 1:
        with np.errstate(over="ignore", invalid="ignore"):
            t_all = lse[o_in]
            t = _up(s_max + t_all - l_low, s_max + np.abs(t_all) + np.abs(l_low))
            ce = np.minimum(ce, np.log1p(np.exp(t)))
            if claim.per_output == "all":
                rest_terms = np.zeros(len(todo))
                if g - 1 > k:
                    t_rest = np.array([_lse_up(f_up[j, order[j, k:-1]]) for j in rows])[oi]
                    rest_terms = np.exp(_up(s_max[todo] + t_rest - low,
                                            s_max[todo] + np.abs(t_rest) + np.abs(low)))
                ce[todo] = np.minimum(ce[todo], np.log1p(acc + rest_terms))
        ce = np.where(np.isnan(ce), np.inf, ce)
    certified = stage1.copy()
    certified[xs, ys] |= delta > 0
    ce_all = ce1.copy()  # each is an upper bound per input
    ce_all[xs, ys] = np.minimum(ce1[xs, ys], ce)
    return int(certified.sum()), _mean_up(ce_all)


def _h_elements(gens: np.ndarray, table: np.ndarray, e: int) -> np.ndarray:
    """H ≤ G × G^op generated by ``gens`` [k, 2], all its elements [|H|, 2]: closure of
    {(e, e)} under left multiplication by the generators, (s, t)(g, h) = (sg, ht)."""
    g = table.shape[0]
    seen = np.zeros((g, g), dtype=bool)
    seen[e, e] = True
    frontier = np.array([[e, e]])
    while len(frontier) and len(gens):
        nxt = np.stack([table[gens[:, None, 0], frontier[None, :, 0]],
                        table[frontier[None, :, 1], gens[:, None, 1]]], -1).reshape(-1, 2)
        nxt = np.unique(nxt[~seen[nxt[:, 0], nxt[:, 1]]], axis=0)
        seen[nxt[:, 0], nxt[:, 1]] = True
        frontier = nxt
    return np.argwhere(seen)


def _ideal_at_orbits(claim: Claim, ih: dict, eps: tuple[float, float, float],
                     table: np.ndarray, e: int, k: int) -> tuple[np.ndarray, ...]:
    """The ideal's values at one input per orbit of its symmetry H [H1]: f_up [R, G] (≥ F*_O),
    f_low [R] (≤ F*_O at the orbit's correct output), order [R, G] (each orbit's top_w
    first, then its other wrong outputs by decreasing f_up, its correct output last), and per
    input its orbit and (g, h) ∈ H with (x, y) = (g x_O, y_O h), [G, G] each. Without a
    symmetry: one orbit, F*(w) = f*(w | e, e) *exactly* (``exact.ideal_values``)."""
    g = table.shape[0]
    xs, ys = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
    if claim.symmetry is None:
        exact_f = ideal_values(claim.circuits, claim.t0, g)
        f_up = np.array([[up(q) for q in exact_f]])
        f_low = np.array([down(exact_f[e])])
        reps = np.array([[e, e]])
        orb, tg, th = np.zeros((g, g), dtype=np.int64), xs, ys
    else:
        elements = _h_elements(claim.symmetry, table, e)
        orb = np.full((g, g), -1, dtype=np.int64)
        tg, th = np.zeros((g, g), dtype=np.int64), np.zeros((g, g), dtype=np.int64)
        rep_list: list[tuple[int, int]] = []
        for x, y in zip(xs.ravel(), ys.ravel()):  # H acts freely: |H| new inputs per orbit
            if orb[x, y] < 0:
                ox, oy = table[elements[:, 0], x], table[y, elements[:, 1]]
                orb[ox, oy] = len(rep_list)
                tg[ox, oy], th[ox, oy] = elements[:, 0], elements[:, 1]
                rep_list.append((int(x), int(y)))
        reps = np.array(rep_list)
        eps_lr, eps_u, eps_b = eps
        lh, rh, uh, bh = ih["left"], ih["right"], ih["unembed"], ih["bias"]
        m = lh.shape[1]
        hid = np.maximum(lh[reps[:, 0]] + rh[reps[:, 1]], 0.0)  # [R, m]
        val = hid @ uh + bh  # [R, G]
        size = np.abs(lh[reps[:, 0]]) + np.abs(rh[reps[:, 1]])
        err = ((size @ np.abs(uh)) * (U + eps_lr + 1.01 * eps_u) + eps_b
               + _widen(m + 2) * (hid @ np.abs(uh) + np.abs(bh))) * (1 + _widen(m + 2)) + TINY
        f_up = _up(val + err, np.abs(val) + err)
        z0 = table[reps[:, 0], reps[:, 1]]
        rr = np.arange(len(reps))
        f_low = _down(val[rr, z0] - err[rr, z0], np.abs(val[rr, z0]) + err[rr, z0])
    z0 = table[reps[:, 0], reps[:, 1]]
    n_orb = len(reps)
    top = None
    if claim.top_w is not None:  # the prover's choice (any distinct wrong w is valid)
        require(len(claim.top_w) == n_orb * k, "top_w must list top_k outputs per orbit")
        top = np.array(claim.top_w, dtype=np.int64).reshape(n_orb, k)
        require(not bool((top == z0[:, None]).any()), "top_w contains a correct output")
    order = np.empty((n_orb, g), dtype=np.int64)
    for j in range(n_orb):
        wrong = np.delete(np.arange(g), z0[j])
        if top is not None:
            others = np.setdiff1d(wrong, top[j])
            row = np.concatenate([top[j], others[np.argsort(-f_up[j, others], kind="stable")]])
        else:
            row = wrong[np.argsort(-f_up[j, wrong], kind="stable")]
        order[j] = np.append(row, z0[j])
    return f_up, f_low, order, orb, tg, th


def _distance_at(dl: np.ndarray, dr: np.ndarray, xs: np.ndarray, ys: np.ndarray
                 ) -> np.ndarray:
    """≥ ‖dl(x) + dr(y)‖ (the exact sum of the floats) at the inputs (xs, ys), computed
    directly, in slabs: fl(a + b) is within u|a + b| of a + b entrywise, so the exact norm is at
    most the norm of the rounded sums times (1 + 2u). (The prover uses ‖a‖² + ‖b‖² + 2a·b;
    this is a different computation of the same bound.)"""
    out = np.empty(len(xs))
    step = max(1, (1 << 21) // max(1, dl.shape[1]))
    for j in range(0, len(xs), step):
        out[j:j + step] = _norm(dl[xs[j:j + step]] + dr[ys[j:j + step]], 1)
    return out * (1 + 2 * U) + TINY


def _hidden_norm_at(claim: Claim, inv: np.ndarray, m: int, split: int, xs: np.ndarray,
                    ys: np.ndarray) -> np.ndarray:
    """≥ ‖h*(x, y)‖ at the inputs (xs, ys), over the neurons below ``split`` and from it on:
    [2, t]; each term gathered directly (sign: 4λ² when b χ(x) = c χ(y) = 1)."""
    total = np.zeros((2, len(xs)))
    for c in claim.circuits:
        low = c.neurons < split
        lam2 = c.scale**2
        if isinstance(c, SignTables):
            on = (((1 - 2 * c.p)[None] * c.chi[xs][:, None]) == 1) \
                & (((1 - 2 * c.q)[None] * c.chi[ys][:, None]) == 1)
            sq = on * (4 * lam2)[None]
        else:
            r2 = np.maximum(c.alpha[:, None] + c.gamma[None], 0.0) ** 2
            sq = r2[c.act_b[inv[xs]][:, c.p], c.act_c[ys][:, c.q]] * lam2[None]  # [t, n]
        total[0] += sq[:, low].sum(1)
        total[1] += sq[:, ~low].sum(1)
    return np.sqrt(total * (1 + _widen(m + 8)) + 4 * (m + 8) * ETA) * (1 + 4 * U) + TINY


def correct_low_at(c: dict, r: dict | None, table: np.ndarray, xs: np.ndarray,
                   ys: np.ndarray) -> np.ndarray:
    """≤ f(xy | x, y) at the inputs (xs, ys), in slabs."""
    m = c["left"].shape[1]
    wide = _widen(m + 4)
    u, b = c["unembed"], c["bias"]
    out = np.empty(len(xs))
    step = max(1, (1 << 20) // max(1, m))
    for j in range(0, len(xs), step):
        x, y = xs[j:j + step], ys[j:j + step]
        z = table[x, y]
        hid = np.maximum(c["left"][x] + c["right"][y], 0.0)  # [t, m]
        uz = u[:, z].T
        val = (hid * uz).sum(1) + b[z]
        err = wide * ((hid * np.abs(uz)).sum(1) + np.abs(b[z])) + TINY
        if r is not None:
            e_h = r["left"][x] + r["right"][y]
            eu = r["unembed"][:, z].T
            err = err + ((e_h * (np.abs(uz) + eu)).sum(1) + (hid * eu).sum(1) + r["bias"][z]) \
                * (1 + wide) + (2 * m + 4) * ETA
        out[j:j + step] = _down(val - err, np.abs(val) + err)
    return out


def _lse_up(v: np.ndarray) -> float:
    """≥ log Σ_j e^{v_j} (docs/soundness.md [CE2])."""
    m = float(np.max(v))
    if not math.isfinite(m):
        return m if m > 0 else -math.inf
    ls = math.log(float(np.exp(v - m).sum()))
    return m + ls + (v.size + 8) * 4 * U + 1e-13 + 8 * U * (abs(m) + abs(ls)) + TINY


# --- V_coset --------------------------------------------------------------------------------


def _means(v: np.ndarray, ids: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, weights=v) / counts)[inverse]


def coset(claim: Claim, c: dict, r: dict | None, table: np.ndarray) -> tuple[int, float]:
    """Recompute V_coset (docs/soundness.md §5) with the enclosure's radius."""
    spec = claim.coset
    assert spec is not None
    g, m = c["left"].shape
    _, inv = group_facts(table)
    for s in spec.subgroups:  # closed under the product: a subgroup
        require(len(s) > 0 and bool(np.isin(table[np.ix_(s, s)], s).all()),
                "a listed set is no subgroup")
    ih = {"left": np.zeros((g, m)), "right": np.zeros((g, m)), "unembed": c["unembed"].copy()}
    for i in np.nonzero(spec.left >= 0)[0]:
        right_ids = table[spec.subgroups[spec.left[i]], :].min(0)  # coset Hx, least element
        left_ids = table[:, spec.subgroups[spec.right[i]]].min(1)  # coset yH'
        ih["left"][:, i] = _means(c["left"][:, i], right_ids)
        ih["right"][:, i] = _means(c["right"][:, i], left_ids)
        ui = c["unembed"][i]
        on_t = right_ids == right_ids[spec.target[i]]
        off = ui[~on_t].sum() / max(1, int((~on_t).sum()))
        ih["unembed"][i] = np.where(on_t, np.minimum(off, ui), off)
    uh, b = ih["unembed"], c["bias"]
    wide, wide4 = _widen(m + 2), _widen(m + 4)
    margin = np.empty(g)
    for z in range(g):
        hid = np.maximum(ih["left"] + ih["right"][table[inv, z]], 0.0)  # [x, m], y = x⁻¹z
        lo, hi = hid.min(0), hid.max(0)
        d = uh[:, z][None] - uh.T  # [z', m]
        terms = np.maximum(d, 0) * lo - np.maximum(-d, 0) * hi
        db = b[z] - b
        val = terms.sum(1) + db
        err = wide4 * (np.abs(terms).sum(1) + np.abs(db)) + (2 * m + 2) * ETA + TINY
        low = _down(val - err, np.abs(val) + err)
        low[z] = np.inf
        margin[z] = low.min()
    eu = 0.0 if r is None else _norm(r["unembed"], 0).max()
    big_a = (_norm(c["unembed"], 0).max() + eu) * (1 + wide) + TINY
    big_b = (_norm(np.maximum(c["unembed"] - uh, 0), 0).max() + eu) * (1 + wide) + TINY
    e_b = 0.0 if r is None else float(r["bias"].max())
    l_low = correct_low(c, r, table, inv)
    dl, dr = c["left"] - ih["left"], c["right"] - ih["right"]
    count, ce = 0, np.zeros((g, g))
    rows = max(1, (1 << 21) // (g * max(m, g)))
    for x0 in range(0, g, rows):
        xs = np.arange(x0, min(g, x0 + rows))
        rad: Any = 0.0 if r is None else \
            _norm(r["left"][xs], 1)[:, None] + _norm(r["right"], 1)[None]
        d = (_norm(dl[xs][:, None, :] + dr[None], 2)
             + 3 * U * (_norm(dl[xs], 1)[:, None] + _norm(dr, 1)[None]) + rad) * (1 + wide) + TINY
        hid_hat = np.maximum(ih["left"][xs][:, None, :] + ih["right"][None], 0.0)
        n_hat = (_norm(hid_hat, 2) + U * (_norm(ih["left"][xs], 1)[:, None]
                                          + _norm(ih["right"], 1)[None])) * (1 + wide) + TINY
        zs = table[xs]
        contrib = hid_hat * uh.T[zs]
        ideal_up = contrib.sum(2) + b[zs] + wide * (np.abs(contrib).sum(2) + np.abs(b[zs])) \
            + (2 * m + 2) * ETA + TINY
        spread = (big_a * d + big_b * n_hat + e_b) * (1 + 8 * U) + TINY
        wrong = _up(ideal_up - margin[zs] + spread, np.abs(ideal_up) + np.abs(margin[zs]) + spread)
        delta = l_low[xs] - wrong
        delta = np.where(np.isnan(delta), -np.inf, delta)
        count += int((delta > 0).sum())
        ce[xs] = _ce(delta, g)
    return count, _mean_up(ce)


__all__ = ["brute", "coset", "correct_low", "group_facts", "irrep", "irrep_ideal"]
