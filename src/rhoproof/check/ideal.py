"""The facts of docs/soundness.md §1, re-derived by the checker from the certificate's integer
tables: group actions, K constant on orbits and characters (each checked on a generating set
derived and verified here, which implies every pair g, h by induction), complete double sums,
or with a partial symmetry H [H1] pair weights invariant under H's generators; then F*(w)
exactly from the tables (``exact.ideal_values``), or per orbit of H in float64 with its
widening (``ideal_at_orbits``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rhoproof.check.exact import ideal_values
from rhoproof.check.parse import Claim, RhoSetTables, SignTables, require
from rhoproof.check.rounding import (
    TINY,
    U,
    down,
    float_down,
    float_up,
    up,
    widen,
)
from rhoproof.check.table import group_facts


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

def ideal_at_orbits(claim: Claim, ih: dict, eps: tuple[float, float, float],
                     table: np.ndarray, e: int, k: int) -> tuple[np.ndarray, ...]:
    """The ideal's values at one input per orbit of its symmetry H [H1]: f_up [R, G] (≥ F*_O),
    f_low [R] (≤ F*_O at the orbit's correct output), order [R, G] (each orbit's top_w
    first, then its other wrong outputs by decreasing f_up, its correct output last), and per
    input its orbit and (g, h) ∈ H with (x, y) = (g x_O, y_O h), [G, G] each. Without a
    symmetry: one orbit, F*(w) = f*(w | e, e) *exactly* (``exact.ideal_values``)."""
    g = table.shape[0]
    if claim.symmetry is None:
        exact_f = ideal_values(claim.circuits, claim.t0, g)
        f_up = np.array([[float_up(q) for q in exact_f]])
        f_low = np.array([float_down(exact_f[e])])
        reps = np.array([[e, e]])
        # one orbit, (g, h) = (x, y): read-only broadcast views, not [G, G] arrays
        ar = np.arange(g)
        orb = np.broadcast_to(np.int64(0), (g, g))
        tg, th = np.broadcast_to(ar[:, None], (g, g)), np.broadcast_to(ar[None], (g, g))
    else:
        elements = _h_elements(claim.symmetry, table, e)
        # as the prover's cap (certificate.MAX_ORBIT_SHARE): one evaluation of f* per orbit
        # must stay a small part of the work, at most max(|G|, |G|²/32) orbits
        require(g * g <= len(elements) * max(g, g * g / 32),
                f"the symmetry has {g * g // len(elements)} orbits on the inputs, more than "
                f"max(|G|, |G|²/32)")
        orb = np.full((g, g), -1, dtype=np.int64)
        tg, th = np.zeros((g, g), dtype=np.int64), np.zeros((g, g), dtype=np.int64)
        rep_list: list[tuple[int, int]] = []
        xs, ys = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
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
               + widen(m + 2) * (hid @ np.abs(uh) + np.abs(bh))) * (1 + widen(m + 2)) + TINY
        f_up = up(val + err, np.abs(val) + err)
        z0 = table[reps[:, 0], reps[:, 1]]
        rr = np.arange(len(reps))
        f_low = down(val[rr, z0] - err[rr, z0], np.abs(val[rr, z0]) + err[rr, z0])
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


__all__ = ["generators", "ideal_at_orbits", "irrep_ideal"]
