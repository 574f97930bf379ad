"""An independent checker for rhoproof certificates.

It shares no code with the prover (numpy only, no torch, nothing from ``explain`` or the other
``verify`` modules). From the certificate's tables, the Cayley table and the weights it
re-derives everything the claims rest on and recomputes them:

* brute: exact float64 evaluation of every input (a tie is an error);
* irrep: the ρ-set actions are group actions (checked for every pair g, h), each K is constant
  on the orbits of the diagonal action, every pair of each double sum has a neuron, scales are
  positive, neurons are used once, sign characters are homomorphisms. These make f* exactly
  bi-equivariant (docs/soundness.md §1); then the margin and the per-input bounds with the
  same rounding widenings as the prover (§2–3);
* coset: the coset means, the margin lower bound and the per-input bounds.

A claim is accepted only if the recomputed certified-input count equals it and the recomputed
cross-entropy bound is at most the claimed one (and within 1e-8 relative of it). Weights are
a dict of float64 arrays: left [G, m], right [G, m], unembed [m, G], bias [G].
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

U = 2.0**-53
TINY = 1e-300


class CheckFailed(ValueError):
    """The certificate's claims do not follow from its data."""


def _widen(n: int) -> float:
    return (n + 8) * U * 1.01


def _up(v: Any, scale: Any) -> Any:
    return v + 4 * U * scale + TINY


def _down(v: Any, scale: Any) -> Any:
    return v - 4 * U * scale - TINY


def _require(ok: bool, why: str) -> None:
    if not ok:
        raise CheckFailed(why)


# --- group facts from the Cayley table alone --------------------------------------------------


def _identity_and_inverses(table: np.ndarray) -> tuple[int, np.ndarray]:
    n = table.shape[0]
    ids = np.nonzero((table == np.arange(n)[None]).all(1))[0]
    _require(len(ids) == 1, "the Cayley table has no unique identity")
    e = int(ids[0])
    inv = np.argmax(table == e, axis=1)
    _require(bool((table[np.arange(n), inv] == e).all()), "the Cayley table lacks inverses")
    return e, inv


def _check_action(act: np.ndarray, table: np.ndarray, e: int, name: str) -> None:
    """act[g] permutes the points, act[e] = id and act[gh] = act[g] ∘ act[h] for all g, h."""
    n_pts = act.shape[1]
    _require(act.min() >= 0 and act.max() < n_pts, f"{name}: action indices out of range")
    _require(bool((act[e] == np.arange(n_pts)).all()), f"{name}: the identity moves a point")
    _require(bool((np.sort(act, 1) == np.arange(n_pts)).all()),
             f"{name}: some group element does not permute the points")
    for g in range(table.shape[0]):  # act[table[g, h], p] == act[g, act[h, p]]
        _require(bool((act[table[g]] == act[g][act]).all()), f"{name}: not a group action")


# --- the irrep proof's ideal f* ------------------------------------------------------------


def _arr(d: dict, key: str, dtype: Any) -> np.ndarray:
    return np.asarray(d[key], dtype=dtype)


def _rho_set(c: dict, table: np.ndarray, e: int, inv: np.ndarray, out: dict) -> float:
    act_b, act_c = _arr(c, "act_b", np.int64), _arr(c, "act_c", np.int64)
    g = table.shape[0]
    _require(act_b.ndim == 2 and act_c.ndim == 2 and act_b.shape[0] == g == act_c.shape[0],
             "action tables have the wrong shape")
    _check_action(act_b, table, e, f"{c['irrep']} B")
    _check_action(act_c, table, e, f"{c['irrep']} C")
    nb, nc = act_b.shape[1], act_c.shape[1]
    k = _arr(c, "k", np.float64)
    alpha, gamma = _arr(c, "alpha", np.float64), _arr(c, "gamma", np.float64)
    _require(k.shape == (nb, nc) and alpha.shape == (nb,) and gamma.shape == (nc,),
             "circuit tables have the wrong shape")
    for h in range(g):  # K is constant on the orbits of (p, q) -> (h·p, h·q)
        _require(bool((k[act_b[h][:, None], act_c[h][None, :]] == k).all()),
                 f"{c['irrep']}: K is not constant on orbits")
    p, q = _arr(c, "p", np.int64), _arr(c, "q", np.int64)
    _require(p.min() >= 0 and p.max() < nb and q.min() >= 0 and q.max() < nc,
             "pair indices out of range")
    pair = p * nc + q
    counts = np.bincount(pair, minlength=nb * nc)
    _require(bool((counts > 0).all()), f"{c['irrep']}: the double sum is incomplete")
    weight, lam = _arr(c, "weight", np.float64), _arr(c, "scale", np.float64)
    totals = np.array([math.fsum(weight[pair == j]) for j in range(nb * nc)])
    _require(bool((totals != 0).all()), "a pair has zero total weight")
    share = weight / totals[pair]
    w = float(c["w"])
    neurons = _arr(c, "neurons", np.int64)
    out["left"][:, neurons] = lam * alpha[act_b[inv][:, p]]
    out["right"][:, neurons] = lam * gamma[act_c[:, q]]
    out["unembed"][neurons] = (share * w / lam)[:, None] * k[p[:, None], act_c[:, q].T]
    return (int(counts.max()) + 8) * U * 1.01


def _sign(c: dict, table: np.ndarray, out: dict) -> tuple[float, np.ndarray, float]:
    chi = _arr(c, "chi", np.int64)
    _require(chi.shape == (table.shape[0],) and bool((np.abs(chi) == 1).all()),
             "a sign character must be ±1 on every element")
    _require(bool((chi[table] == chi[:, None] * chi[None, :]).all()),
             f"{c['irrep']}: χ(gh) ≠ χ(g)χ(h)")
    chi_f = chi.astype(np.float64)
    p, q = _arr(c, "p", np.int64), _arr(c, "q", np.int64)
    _require(bool(np.isin(p, [0, 1]).all() and np.isin(q, [0, 1]).all()), "sign labels not 0/1")
    b, cc = 1.0 - 2.0 * p, 1.0 - 2.0 * q
    weight, lam = _arr(c, "weight", np.float64), _arr(c, "scale", np.float64)
    same = b == cc
    w_of = {"s": float(c["w_same"]), "d": float(c["w_diff"])}
    share = np.zeros_like(weight)
    largest = 0
    for key, cls in (("s", same), ("d", ~same)):
        plus, minus = cls & (b == 1), cls & (b == -1)
        _require(plus.any() == minus.any(), f"{c['irrep']}: mirrored classes not both present")
        if not plus.any():
            _require(w_of[key] == 0.0, f"{c['irrep']}: weight for an absent class")
        for members in (plus, minus):
            if members.any():
                total = math.fsum(weight[members])
                _require(total != 0, "a sign class has zero total weight")
                share[members] = weight[members] / total
                largest = max(largest, int(members.sum()))
    wc = np.where(same, w_of["s"], w_of["d"])
    neurons = _arr(c, "neurons", np.int64)
    out["left"][:, neurons] = (lam * b)[None] * chi_f[:, None]
    out["right"][:, neurons] = (lam * cc)[None] * chi_f[:, None]
    out["unembed"][neurons] = (share * wc / lam)[:, None] * chi_f[None]
    return -(w_of["s"] + w_of["d"]), chi_f, (largest + 8) * U * 1.01


def _irrep_ideal(cert: dict, table: np.ndarray, m: int) -> tuple[dict, float, float, float]:
    g = table.shape[0]
    e, inv = _identity_and_inverses(table)
    out = {"left": np.zeros((g, m)), "right": np.zeros((g, m)), "unembed": np.zeros((m, g))}
    eps_u = 4 * U
    taken: set[int] = set()
    bias_terms = []
    for c in cert["proof"]:
        neurons = _arr(c, "neurons", np.int64)
        n = len(neurons)
        _require(neurons.ndim == 1 and n > 0 and neurons.min() >= 0 and neurons.max() < m
                 and len(set(neurons.tolist())) == n and not taken & set(neurons.tolist()),
                 "circuit neurons out of range, repeated or shared")
        taken |= set(neurons.tolist())
        for key in ("p", "q", "scale", "weight"):
            _require(np.shape(c[key]) == (n,), f"circuit field {key} has the wrong length")
        _require(bool((_arr(c, "scale", np.float64) > 0).all()), "a scale is not positive")
        if c["kind"] == "rho_set":
            eps_u = max(eps_u, _rho_set(c, table, e, inv, out))
        elif c["kind"] == "sign":
            beta, chi, eps = _sign(c, table, out)
            bias_terms.append((beta, chi))
            eps_u = max(eps_u, eps)
        else:
            raise CheckFailed(f"unknown circuit kind {c['kind']!r}")
    t0 = float(cert["t0"])
    bias = np.full(g, t0)
    for beta, chi in bias_terms:
        bias = bias + beta * chi
    magnitude = abs(t0) + sum(abs(beta) for beta, _ in bias_terms)
    out["bias"] = bias
    eps_b = (2 * len(bias_terms) + 4) * U * 1.01 * magnitude + TINY
    return out, 2 * U, eps_u, eps_b


# --- per-input terms, shared by both proofs ------------------------------------------------


def _slabs(g: int, m: int):
    rows = max(1, (1 << 22) // (g * max(m, g)))
    for x0 in range(0, g, rows):
        yield np.arange(x0, min(g, x0 + rows))


def _input_terms(w: dict, ih: dict, xs: np.ndarray, eps: float, table: np.ndarray):
    """D ≥ ‖Δℓ(x) + Δr(y)‖, N ≥ ‖ĥ‖, L ≤ f(xy | x, y) and ĥ for xs × G."""
    m = w["left"].shape[1]
    wide = _widen(m + 2)
    dl, dr = w["left"] - ih["left"], w["right"] - ih["right"]
    size = np.linalg.norm(ih["left"][xs], axis=1)[:, None] \
        + np.linalg.norm(ih["right"], axis=1)[None]
    d = (np.linalg.norm(dl[xs][:, None, :] + dr[None], axis=2)
         + 3 * U * (np.linalg.norm(dl[xs], axis=1)[:, None] + np.linalg.norm(dr, axis=1)[None])
         + eps * size) * (1 + wide) + TINY
    hid_hat = np.maximum(ih["left"][xs][:, None, :] + ih["right"][None], 0.0)
    n = (np.linalg.norm(hid_hat, axis=2) + (U + eps) * size) * (1 + wide) + TINY
    hid = np.maximum(w["left"][xs][:, None, :] + w["right"][None], 0.0)
    z = table[xs]
    contrib = hid * w["unembed"].T[z]
    correct = contrib.sum(2) + w["bias"][z]
    c_err = wide * (np.abs(contrib).sum(2) + np.abs(w["bias"][z])) + TINY
    return d, n, _down(correct - c_err, np.abs(correct) + c_err), hid_hat


def _ce(delta: np.ndarray, g: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.log1p((g - 1) * np.exp(-(delta - 2 * U * np.abs(delta) - TINY)))


def _ce_mean(ce: np.ndarray) -> float:
    bound = float(ce.mean()) * (1 + _widen(ce.size) + 1e-13) + TINY
    return bound if np.isfinite(bound) else float("inf")


def _distance(dl: np.ndarray, dr: np.ndarray) -> np.ndarray:
    """≥ ‖dl(x) + dr(y)‖ for all (x, y) via ‖a‖² + ‖b‖² + 2a·b (soundness.md §3)."""
    wide = _widen(dl.shape[1] + 2)
    a, b = (dl * dl).sum(1), (dr * dr).sum(1)
    c = dl @ dr.T
    ab = a[:, None] + b[None]
    s = a[:, None] + b[None] + 2 * c
    s_up = s + 2 * wide * ab * (1 + 2 * wide) + 4 * U * (ab + 2 * np.abs(c))
    return np.sqrt(np.maximum(s_up, 0)) * (1 + 4 * U) + TINY


def _hidden_norm(proof: list, table: np.ndarray, inv: np.ndarray, m: int, split: int
                 ) -> np.ndarray:
    """≥ ‖h*(x, y)‖ over the neurons below ``split`` and from it on, for all (x, y), from the
    circuit tables (all terms nonnegative): [2, G, G]."""
    g = table.shape[0]
    total = np.zeros((2, g, g))
    for c in proof:
        low = np.asarray(c["neurons"], np.int64) < split
        for part, keep in ((0, low), (1, ~low)):
            if keep.any():
                total[part] += _circuit_norm_sq(c, inv, keep, g)
    return np.sqrt(total * (1 + _widen(m + 8))) * (1 + 4 * U) + TINY


def _circuit_norm_sq(c: dict, inv: np.ndarray, keep: np.ndarray, g: int) -> np.ndarray:
    lam2 = np.asarray(c["scale"], dtype=np.float64)[keep] ** 2
    p, q = np.asarray(c["p"], np.int64)[keep], np.asarray(c["q"], np.int64)[keep]
    if c["kind"] == "sign":  # h*_i = 2λ_i when b_i χ(x) = c_i χ(y) = 1
        chi = np.asarray(c["chi"], np.int64)
        on_x = ((1 - 2 * p)[None] * chi[:, None]) == 1  # [G, n]
        on_y = ((1 - 2 * q)[None] * chi[:, None]) == 1
        return (on_x * (4 * lam2)) @ on_y.T.astype(np.float64)
    act_b, act_c = np.asarray(c["act_b"], np.int64), np.asarray(c["act_c"], np.int64)
    alpha, gamma = np.asarray(c["alpha"], np.float64), np.asarray(c["gamma"], np.float64)
    r2 = np.maximum(alpha[:, None] + gamma[None], 0.0) ** 2  # [nb, nc]
    nc = len(gamma)
    rx = r2[act_b[inv][:, p]] * lam2[None, :, None]  # [G, n, nc]: λ_i² R²[act_B[x⁻¹, p_i]]
    a_x = np.zeros((g, nc, nc))
    for j in range(len(q)):
        a_x[:, q[j], :] += rx[:, j, :]
    return a_x[:, np.arange(nc)[None, :], act_c].sum(-1)


def _correct(w: dict, table: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """≤ f(xy | x, y) for all (x, y)."""
    g, m = w["left"].shape
    wide = _widen(m + 2)
    u, b = w["unembed"], w["bias"]
    out = np.empty((g, g))
    for x in range(g):
        ys = table[inv[x]]  # y = x⁻¹z for each z
        hid = np.maximum(w["left"][x][None] + w["right"][ys], 0.0)  # [z, m]
        val = np.einsum("zm,mz->z", hid, u) + b
        err = wide * (np.einsum("zm,mz->z", hid, np.abs(u)) + np.abs(b)) + TINY
        out[x, ys] = _down(val - err, np.abs(val) + err)
    return out


def _irrep_bound(w: dict, ih: dict, eps: tuple[float, float, float], cert: dict,
                 table: np.ndarray) -> tuple[int, float]:
    eps_lr, eps_u, eps_b = eps
    g, m = w["left"].shape
    e, inv = _identity_and_inverses(table)
    wide = _widen(m + 2)
    u, b, uh, bh = w["unembed"], w["bias"], ih["unembed"], ih["bias"]
    lh, rh = ih["left"], ih["right"]
    size_e = np.abs(lh[e]) + np.abs(rh[e])
    terms = uh * np.maximum(lh[e] + rh[e], 0.0)[:, None]
    big_f = terms.sum(0) + bh
    table_err = (np.abs(uh) * size_e[:, None]).sum(0) * (U + eps_lr + 1.01 * eps_u) + eps_b
    f_err = (table_err + wide * (np.abs(terms).sum(0) + np.abs(bh))) * (1 + wide) + TINY
    f_up = _up(big_f + f_err, np.abs(big_f) + f_err)
    wrong_w = np.delete(np.arange(g), e)
    order = wrong_w[np.argsort(-f_up[wrong_w], kind="stable")]
    k = min(int(cert["top_k"]), g - 1)
    _require(k >= 1 or g == 1, "top_k must be positive")
    v = cert.get("virtual_neurons", 0)
    r = m - v  # real neurons first; the virtual ones (zero weights) are charged apart
    in_circuit = np.zeros(m, dtype=bool)
    for c in cert["proof"]:
        in_circuit[np.asarray(c["neurons"], np.int64)] = True
    live, others = np.nonzero(in_circuit[:r])[0], np.nonzero(~in_circuit[:r])[0]
    # upper bounds on wrong logits only: positive parts where the vector multiplied is ≥ 0
    col_c = (np.maximum(b - bh, 0) + eps_b) * (1 + wide) + TINY
    n, n_v = _hidden_norm(cert["proof"], table, inv, m, r)
    parts = []  # Cauchy–Schwarz per neuron group: circuits, other real neurons, virtual
    if len(live):
        col_a = np.linalg.norm(u[live], axis=0) * (1 + wide) + TINY
        col_b = (np.linalg.norm(np.maximum(u[live] - uh[live], 0), axis=0)
                 + eps_u * np.linalg.norm(uh[live], axis=0)) * (1 + wide) + TINY
        dl, dr = w["left"][:, live] - lh[:, live], w["right"][:, live] - rh[:, live]
        d = (_distance(dl, dr)
             + 2 * U * (np.linalg.norm(dl, axis=1)[:, None] + np.linalg.norm(dr, axis=1)[None])
             + eps_lr * (np.linalg.norm(lh[:, live], axis=1)[:, None]
                         + np.linalg.norm(rh[:, live], axis=1)[None])) * (1 + wide) + TINY
        parts += [(col_a, d), (col_b, n)]
    if len(others):  # u* = h* = 0 there: ‖u_Z(z)⁺‖ ‖ℓ_Z(x) + r_Z(y)‖
        parts.append((np.linalg.norm(np.maximum(u[others], 0), axis=0) * (1 + wide) + TINY,
                      _distance(w["left"][:, others], w["right"][:, others]) * (1 + wide)
                      + TINY))
    if v:  # ‖(−u*_V(z))⁺‖ ‖h*_V(x, y)‖
        parts.append(((np.linalg.norm(np.maximum(-uh[r:], 0), axis=0)
                       + eps_u * np.linalg.norm(uh[r:], axis=0)) * (1 + wide) + TINY, n_v))

    def spread(pick, where=None):
        total = pick(col_c)
        for col, factor in parts:
            total = total + pick(col) * (factor if where is None else factor[where])
        return total * (1 + 8 * U) + TINY

    s_max = spread(np.max)
    top1 = f_up[order[0]] if g > 1 else -np.inf
    l_low = _correct(w, table, inv)
    delta = l_low - _up(top1 + s_max, abs(top1) + s_max)
    mode = cert["per_output"]
    _require(mode in ("all", "needed"), "per_output must be all or needed")
    if mode == "all":
        todo = np.ones((g, g), dtype=bool)
    else:  # as the prover: skip the globally certified and the hopeless
        todo = (delta <= 0) & (l_low > top1 + spread(np.min))
    xi, yi = np.nonzero(todo)
    wrong = np.full(len(xi), -np.inf)
    for w_ in order[:k]:
        z = table[table[xi, w_], yi]  # x·w·y
        sz = spread(lambda col, z=z: col[z], (xi, yi))
        wrong = np.maximum(wrong, _up(f_up[w_] + sz, abs(f_up[w_]) + sz))
    if g - 1 > k:
        rest, sm = f_up[order[k]], s_max[xi, yi]
        wrong = np.maximum(wrong, _up(rest + sm, abs(rest) + sm))
    delta[xi, yi] = np.maximum(delta[xi, yi], l_low[xi, yi] - wrong)
    ce = _ce(delta, g)
    return int((delta > 0).sum()), _ce_mean(ce)


# --- the coset baseline --------------------------------------------------------------------


def _coset_ideal(cert: dict, w: dict, table: np.ndarray) -> dict:
    g, m = w["left"].shape
    spec = cert["coset"]
    subs = [np.asarray(s, dtype=np.int64) for s in spec["subgroups"]]
    for s in subs:  # closed under the product: a subgroup
        _require(len(s) > 0 and s.min() >= 0 and s.max() < g
                 and bool(np.isin(table[np.ix_(s, s)], s).all()), "a listed set is no subgroup")
    hl, hr = np.asarray(spec["left"], np.int64), np.asarray(spec["right"], np.int64)
    target = np.asarray(spec["target"], np.int64)
    _require(hl.shape == hr.shape == target.shape == (m,), "coset fields have the wrong length")
    _require(bool(((hl < 0) == (hr < 0)).all() and (hl < len(subs)).all()
                  and (hr < len(subs)).all() and (target < g).all()), "bad coset indices")
    out = {"left": np.zeros((g, m)), "right": np.zeros((g, m)), "unembed": w["unembed"].copy(),
           "bias": w["bias"].copy()}
    for i in np.nonzero(hl >= 0)[0]:
        right_ids = table[subs[hl[i]], :].min(0)  # coset Hx, labeled by its least element
        left_ids = table[:, subs[hr[i]]].min(1)  # coset yH'
        out["left"][:, i] = _means(w["left"][:, i], right_ids)
        out["right"][:, i] = _means(w["right"][:, i], left_ids)
        ui = w["unembed"][i]
        on_t = right_ids == right_ids[target[i]]
        off = ui[~on_t].sum() / max(1, int((~on_t).sum()))
        out["unembed"][i] = np.where(on_t, np.minimum(off, ui), off)
    return out


def _means(v: np.ndarray, ids: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, weights=v) / counts)[inverse]


def _coset_bound(w: dict, ih: dict, table: np.ndarray) -> tuple[int, float]:
    g, m = w["left"].shape
    _, inv = _identity_and_inverses(table)
    uh, b = ih["unembed"], ih["bias"]
    wide, wide4 = _widen(m + 2), _widen(m + 4)
    margin = np.empty(g)
    for z in range(g):
        hid = np.maximum(ih["left"] + ih["right"][table[inv, z]], 0.0)  # [x, m], y = x⁻¹z
        lo, hi = hid.min(0), hid.max(0)
        d = uh[:, z][None] - uh.T  # [z', m]
        terms = np.maximum(d, 0) * lo - np.maximum(-d, 0) * hi
        db = b[z] - b
        val = terms.sum(1) + db
        err = wide4 * (np.abs(terms).sum(1) + np.abs(db)) + TINY
        low = _down(val - err, np.abs(val) + err)
        low[z] = np.inf
        margin[z] = low.min()
    big_a = np.linalg.norm(w["unembed"], axis=0).max() * (1 + wide) + TINY
    big_b = np.linalg.norm(np.maximum(w["unembed"] - uh, 0), axis=0).max() * (1 + wide) + TINY
    count, ce = 0, np.zeros((g, g))
    for xs in _slabs(g, m):
        d, n, l_low, hid_hat = _input_terms(w, ih, xs, 0.0, table)
        z = table[xs]
        contrib = hid_hat * uh.T[z]
        ideal_up = contrib.sum(2) + b[z] + wide * (np.abs(contrib).sum(2) + np.abs(b[z])) + TINY
        spread = (big_a * d + big_b * n) * (1 + 8 * U) + TINY
        wrong = _up(ideal_up - margin[z] + spread,
                    np.abs(ideal_up) + np.abs(margin[z]) + spread)
        delta = l_low - wrong
        count += int((delta > 0).sum())
        ce[xs] = _ce(delta, g)
    return count, _ce_mean(ce)


# --- brute force and the entry point -------------------------------------------------------


def _brute(w: dict, table: np.ndarray) -> tuple[int, float]:
    g, m = w["left"].shape
    count, total = 0, 0.0
    for xs in _slabs(g, m):
        hid = np.maximum(w["left"][xs][:, None, :] + w["right"][None], 0.0)
        logits = hid @ w["unembed"] + w["bias"]  # [c, G, G]
        z = table[xs]
        correct = np.take_along_axis(logits, z[..., None], 2)[..., 0]
        np.put_along_axis(logits, z[..., None], -np.inf, 2)
        best = logits.max(2)
        count += int((correct > best).sum())
        top = np.maximum(best, correct)
        lse = top + np.log(np.exp(logits - top[..., None]).sum(2) + np.exp(correct - top))
        total += float((lse - correct).sum())
    return count, total / g**2


def recompute(cert: dict, weights: dict[str, np.ndarray], table: np.ndarray
              ) -> tuple[int, float]:
    """(certified inputs, cross-entropy bound) recomputed from the certificate's data."""
    w = {k: np.asarray(weights[k], dtype=np.float64) for k in ("left", "right", "unembed",
                                                                "bias")}
    table = np.asarray(table, dtype=np.int64)
    for v in w.values():
        _require(bool(np.isfinite(v).all()), "the weights are not finite")
    method = cert["method"]
    if method == "brute":
        return _brute(w, table)
    if method == "irrep":
        v = cert.get("virtual_neurons", 0)
        _require(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10**6,
                 "virtual_neurons must be a count")
        if v:  # zero-weight neurons: the same function, room for a circuit's missing terms
            g = table.shape[0]
            w = {"left": np.hstack([w["left"], np.zeros((g, v))]),
                 "right": np.hstack([w["right"], np.zeros((g, v))]),
                 "unembed": np.vstack([w["unembed"], np.zeros((v, g))]), "bias": w["bias"]}
        ih, eps_lr, eps_u, eps_b = _irrep_ideal(cert, table, w["left"].shape[1])
        return _irrep_bound(w, ih, (eps_lr, eps_u, eps_b), cert, table)
    if method == "coset":
        return _coset_bound(w, _coset_ideal(cert, w, table), table)
    raise CheckFailed(f"unknown method {method!r}")


def check(cert: dict, weights: dict[str, np.ndarray], table: np.ndarray) -> tuple[int, float]:
    """Recompute and compare; raises CheckFailed unless the claims hold."""
    count, ce = recompute(cert, weights, table)
    claimed_n, claimed_ce = cert["certified_inputs"], cert["cross_entropy"]
    g2 = table.shape[0] ** 2
    if count != claimed_n or cert["accuracy"] != count / g2:
        raise CheckFailed(f"claimed {claimed_n} certified inputs, recomputed {count}")
    if cert["method"] == "brute":
        ok = abs(ce - claimed_ce) <= 1e-9 * max(1.0, abs(ce))
    else:
        ok = ce <= claimed_ce <= ce * (1 + 1e-8) + 1e-300 or ce == claimed_ce == float("inf")
    if not ok:
        raise CheckFailed(f"claimed cross-entropy bound {claimed_ce}, recomputed {ce}")
    return count, ce


__all__ = ["CheckFailed", "check", "recompute"]
