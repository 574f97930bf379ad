"""V_irrep, the ρ-set proof: a certified accuracy and cross-entropy bound from the exactly
bi-equivariant idealization f* (``exact_ideal``), in O(|G|² m) cheap operations plus
O(|G|² k) for the per-output terms, without the brute force's O(|G|³ m).

For an input (x, y) with answer z₀ = xy and any z (docs/soundness.md §2):

    |f(z | x, y) − f*(z | x, y)| ≤ s_z(x, y) := ‖u(z)‖ D + ‖u(z) − u*(z)‖ N + |β(z) − β*(z)|
    D ≥ ‖(ℓ − ℓ*)(x) + (r − r*)(y)‖,  N ≥ ‖h*(x, y)‖

(Cauchy–Schwarz, and ReLU is 1-Lipschitz), and f*(z | x, y) = F(x⁻¹zy⁻¹) exactly. So every
wrong logit is at most max_{w ≠ e} F(w) + s_{xwy}(x, y), and the input is certified when that
is below L(x, y), the original's exact correct logit (lower-rounded). Then
CE ≤ log(1 + (|G| − 1)e^{−δ}) with δ = L − that maximum, for any δ.

* The maximum: the paper's global version (largest F times largest spread) for every input;
  the per-output one over the k = TOP_K largest F(w), the rest bounded together by
  F_(k+1) + max_z s_z. Per-output terms are computed for every input ("all", the default
  while |G|³ ≤ PER_OUTPUT_ALL) or only where the global bound fails and the input is not
  hopeless ("needed": the same accuracy bound, a looser CE bound, less time).
* D comes from one matrix product: ‖a + b‖² = ‖a‖² + ‖b‖² + 2a·b.
* N is ‖h*‖ from the circuits' tables (a ρ-set circuit's hidden vector is a relabeling of
  λ_i ReLU(α_p + γ_q)), O(|G|² n_c) rather than O(|G|² m).
* L is one batched product per x over the outputs z = xy.

Every computed quantity is widened for float64 rounding (docs/soundness.md §3).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch

from rhoproof.config import PER_OUTPUT_MODES
from rhoproof.groups import Group
from rhoproof.model import Folded
from rhoproof.verify.bounds import Bound, U, _down, _up, _widen, ce_mean, ce_terms, lse_up
from rhoproof.verify.exact_ideal import ExactIdeal
from rhoproof.verify.records import ProofCircuit, SignProof, Stage
from rhoproof.verify.separable import separable_stage
from rhoproof.verify.symmetry import closure, input_orbits

TOP_K = 24
"""How many of the largest wrong values F(w) get their own per-output term."""

TINY = 1e-300
ETA = 2.0**-1074
PER_OUTPUT_ALL = 2 * 10**7
"""Up to this |G|³ (S5: 1.7e6), the per-output bound is computed for every input."""


def norm_up(t: torch.Tensor, dim: int) -> torch.Tensor:
    """An upper bound on the Euclidean norm along ``dim`` [R2]: the sum of squares is widened
    by γ_n and by n·η for squares that underflow *before* the square root, so a lost tiny
    square can never be amplified later; the root adds 4u."""
    n = t.shape[dim]
    sq = (t * t).sum(dim)
    return torch.sqrt(sq * (1 + _widen(n + 2)) + (n + 1) * ETA) * (1 + 4 * U)


def distance_bound(dl: torch.Tensor, dr: torch.Tensor) -> torch.Tensor:
    """An upper bound on ‖dl(x) + dr(y)‖ (exact sum of the floats) for every (x, y): [G, G].

    dl, dr: [G, m]. ‖a + b‖² = A + B + 2C with A = ‖a‖², B = ‖b‖², C = a·b; the computed Â, B̂,
    Ĉ are within γ_m of A, B and of Σ|a_i b_i| ≤ √(AB) ≤ (A + B)/2, so the exact square is at
    most Ŝ + 2γ(Â + B̂)(1 + 2γ) + 4u(Â + B̂ + 2|Ĉ|) (the last for the three-term sum).
    """
    m = dl.shape[1]
    wide = _widen(m + 2)
    a = (dl * dl).sum(1)  # [G]
    b = (dr * dr).sum(1)
    c = dl @ dr.T  # [G, G]
    s = a[:, None] + b[None] + 2 * c
    ab = a[:, None] + b[None]
    s_up = s + 2 * wide * ab * (1 + 2 * wide) + 4 * U * (ab + 2 * c.abs())
    return torch.sqrt(s_up.clamp_min(0) + 2 * (m + 2) * ETA) * (1 + 4 * U) + TINY


def hidden_norm_bound(proof: list[ProofCircuit], group: Group, m: int,
                      split: int | None = None
                      ) -> torch.Tensor:
    """An upper bound on ‖h*(x, y)‖ for every (x, y), from the circuits' tables: [G, G]; with
    ``split``, [2, G, G]: the norms over the neurons below ``split`` and from it on.

    ρ-set circuit: h*_i(x, y) = λ_i R[act_B[x⁻¹, p_i], act_C[y, q_i]] with R = ReLU(α_p + γ_q)
    (λ_i > 0), so Σ_i h*_i² = Σ_q A_x[q, act_C[y, q]] with A_x[q, q'] = Σ_{i: q_i = q} λ_i²
    R²[act_B[x⁻¹, p_i], q']. Sign circuit: h*_i = 2λ_i when b_iχ(x) = c_iχ(y) = 1, else 0.
    All terms are nonnegative, each within a few ulps, summed over at most m neurons.
    """
    g = group.order
    inv = torch.from_numpy(group.inverses.copy())
    total = torch.zeros(2, g, g, dtype=torch.float64)
    for c in proof:
        scale = c.scale.to(torch.float64)
        low = c.neurons < (m if split is None else split)
        for part, keep in ((0, low), (1, ~low)):
            if keep.any():
                total[part] += _circuit_norm_sq(c, group, inv, scale, keep)
    out = torch.sqrt(total * (1 + _widen(m + 8)) + 4 * (m + 8) * ETA) * (1 + 4 * U) + TINY
    return out[0] if split is None else out


def _circuit_norm_sq(c: ProofCircuit, group: Group, inv: torch.Tensor, scale: torch.Tensor,
                     keep: torch.Tensor) -> torch.Tensor:
    """Σ h*_i(x, y)² over the circuit's neurons selected by ``keep``: [G, G]."""
    g = group.order
    lam2 = scale[keep] ** 2  # [n]
    p, q = c.p[keep], c.q[keep]
    if isinstance(c, SignProof):
        chi = c.chi  # [G] ±1
        on_x = ((1 - 2 * p)[None] * chi[:, None]) == 1  # [G, n]: b_i χ(x) = 1
        on_y = ((1 - 2 * q)[None] * chi[:, None]) == 1
        return (on_x.to(torch.float64) * (4 * lam2)) @ on_y.to(torch.float64).T
    act_b, act_c = c.act_b, c.act_c  # [G, n_b], [G, n_c]
    alpha, gamma = c.alpha.to(torch.float64), c.gamma.to(torch.float64)
    r2 = torch.relu(alpha[:, None] + gamma[None]) ** 2  # [nb, nc]
    nc = gamma.shape[0]
    rx = r2[act_b[inv][:, p]] * lam2[None, :, None]  # [G, n, nc]
    a_x = torch.zeros(g, nc, nc, dtype=torch.float64).index_add_(1, q, rx)  # [G, q, q']
    return a_x[:, torch.arange(nc)[None, :], act_c].sum(-1)  # [G_x, G_y]


def correct_logits(folded: Folded, group: Group, radius: Folded | None = None
                   ) -> torch.Tensor:
    """Lower bounds on the exact correct logits f(xy | x, y) of every input: [G_x, G_y].

    Output-major: for each x and z, h(x, x⁻¹z) · [u(z), |u(z)|] is one batched product, so the
    value and its rounding bound (γ_m times Σ h_i |u_i(z)|, h ≥ 0) come together. With a
    ``radius`` (the model is centre ± radius, [F1]), f ≥ f̂ − Σ_i (|û_i| + e_u,i)(e_ℓ,i(x) +
    e_r,i(y)) − Σ_i e_u,i ĥ_i − e_β: two more columns and one more product of the same size.
    """
    left, right, u, b = folded.left[0], folded.right[0], folded.unembed[0], folded.bias[0]
    g, m = left.shape
    wide = _widen(m + 2)
    inv = torch.from_numpy(group.inverses.copy())
    y_of = group.table[inv]  # [x, z]: y = x⁻¹z
    cols = [u.T, u.T.abs()]
    if radius is not None:
        el, er, eu, eb = (radius.left[0], radius.right[0], radius.unembed[0],
                          radius.bias[0])
        cols += [eu.T, u.T.abs() + eu.T]
    pair = torch.stack(cols, 2)  # [z, m, 2 or 4]
    out = torch.empty(g, g, dtype=torch.float64)
    rows = max(1, (1 << 22) // max(1, g * m))
    buf = torch.empty(g * rows * m, dtype=torch.float64)
    for x0 in range(0, g, rows):
        xs = torch.arange(x0, min(g, x0 + rows))
        c = len(xs)
        hid = buf[:g * c * m].view(g, c, m)  # [z, x, m]: h(x, x⁻¹z), built in place
        torch.index_select(right, 0, y_of[xs].T.reshape(-1), out=hid.view(g * c, m))
        hid.add_(left[xs][None]).relu_()
        res = torch.bmm(hid, pair)  # [z, x, 2 or 4]
        val = res[..., 0].T + b[None]  # [x, z]
        err = wide * (res[..., 1].T + b.abs()[None]) + TINY
        if radius is not None:  # e_h(x, x⁻¹z) = e_ℓ(x) + e_r(x⁻¹z), then (|û| + e_u)·e_h
            torch.index_select(er, 0, y_of[xs].T.reshape(-1), out=hid.view(g * c, m))
            hid.add_(el[xs][None])
            spread = torch.bmm(hid, pair[..., 3:4])[..., 0].T  # [x, z]
            err = err + (spread + res[..., 2].T + eb[None]) * (1 + wide) + (2 * m + 4) * ETA
        out[xs[:, None], y_of[xs]] = _down(val - err, val.abs() + err)  # to (x, y)
    return out


def distance_at(dl: torch.Tensor, dr: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor
                ) -> torch.Tensor:
    """``distance_bound`` at the inputs (xs, ys) only: [t], the same formula with a·b as a
    gathered dot product."""
    m = dl.shape[1]
    wide = _widen(m + 2)
    a = (dl * dl).sum(1)[xs]
    b = (dr * dr).sum(1)[ys]
    c = _rowdot(dl, dr, xs, ys)
    s = a + b + 2 * c
    ab = a + b
    s_up = s + 2 * wide * ab * (1 + 2 * wide) + 4 * U * (ab + 2 * c.abs())
    return torch.sqrt(s_up.clamp_min(0) + 2 * (m + 2) * ETA) * (1 + 4 * U) + TINY


def _rowdot(p: torch.Tensor, q: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor
            ) -> torch.Tensor:
    """p[xs_j] · q[ys_j] for every j, in slabs: [t]."""
    out = torch.empty(len(xs), dtype=torch.float64)
    step = max(1, (1 << 22) // max(1, p.shape[1]))
    for j in range(0, len(xs), step):
        out[j:j + step] = (p[xs[j:j + step]] * q[ys[j:j + step]]).sum(1)
    return out


def hidden_norm_at(proof: list[ProofCircuit], group: Group, m: int, split: int,
                   xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """``hidden_norm_bound`` with ``split`` at the inputs (xs, ys) only: [2, t]; each term
    λ_i² R²[act_B[x⁻¹, p_i], act_C[y, q_i]] (sign: 4λ_i² when b_iχ(x) = c_iχ(y) = 1) is
    gathered directly."""
    inv = torch.from_numpy(group.inverses.copy())
    total = torch.zeros(2, len(xs), dtype=torch.float64)
    for c in proof:
        lam2 = c.scale.to(torch.float64) ** 2
        low = c.neurons < split
        if isinstance(c, SignProof):
            on_x = ((1 - 2 * c.p)[None] * c.chi[xs][:, None]) == 1  # [t, n]
            on_y = ((1 - 2 * c.q)[None] * c.chi[ys][:, None]) == 1
            sq = (on_x & on_y).to(torch.float64) * (4 * lam2)[None]
        else:
            r2 = torch.relu(c.alpha.to(torch.float64)[:, None]
                            + c.gamma.to(torch.float64)[None]) ** 2
            sq = r2[c.act_b[inv[xs]][:, c.p], c.act_c[ys][:, c.q]] * lam2[None]  # [t, n]
        total[0] += sq[:, low].sum(1)
        total[1] += sq[:, ~low].sum(1)
    return torch.sqrt(total * (1 + _widen(m + 8)) + 4 * (m + 8) * ETA) * (1 + 4 * U) + TINY


def correct_logits_at(folded: Folded, group: Group, radius: Folded | None,
                      xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """``correct_logits`` at the inputs (xs, ys) only: [t], the same value and error terms."""
    left, right, u, b = folded.left[0], folded.right[0], folded.unembed[0], folded.bias[0]
    m = left.shape[1]
    wide = _widen(m + 2)
    z = group.table[xs, ys]
    out = torch.empty(len(xs), dtype=torch.float64)
    step = max(1, (1 << 21) // max(1, m))
    for j in range(0, len(xs), step):
        x, y, zz = xs[j:j + step], ys[j:j + step], z[j:j + step]
        hid = torch.relu(left[x] + right[y])  # [c, m]
        uz = u[:, zz].T  # [c, m]
        val = (hid * uz).sum(1) + b[zz]
        err = wide * ((hid * uz.abs()).sum(1) + b[zz].abs()) + TINY
        if radius is not None:
            el, er, eu, eb = (radius.left[0], radius.right[0], radius.unembed[0],
                              radius.bias[0])
            spread = ((el[x] + er[y]) * (uz.abs() + eu[:, zz].T)).sum(1)
            err = err + (spread + (hid * eu[:, zz].T).sum(1) + eb[zz]) * (1 + wide) \
                + (2 * m + 4) * ETA
        out[j:j + step] = _down(val - err, val.abs() + err)
    return out


def per_output_mode(group: Group, per_output: str = "auto") -> str:
    """"all" (per-output terms for every input: the tightest CE bound) or "needed" (only
    where the global bound fails and the input is not hopeless: same accuracy bound, faster);
    "auto" is "all" while |G|³ ≤ PER_OUTPUT_ALL."""
    if per_output == "auto":
        return "all" if group.order**3 <= PER_OUTPUT_ALL else "needed"
    if per_output not in PER_OUTPUT_MODES:
        raise ValueError(f"per_output must be auto, all or needed, not {per_output!r}")
    return per_output


def _per_output_grid(parts: list, col_c: torch.Tensor, f_up: torch.Tensor, top: torch.Tensor,
                     table: torch.Tensor, l_low: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """For every input, [G, G] each: the max over the top w of U_w = F(w) + s_{xwy}(x, y), and
    Σ_w e^{U_w − L(x, y)} over them (for the cross-entropy bound [CE2]; each argument rounded
    up, so each term is an upper bound up to exp's own ulp).

    For a fixed w, output x·w·y is row (x·w) of the Cayley table, so each column of the
    spread, gathered once as col[table] ([G, G]), is read by whole rows."""
    g = table.shape[0]
    by_row = [(col[table], factor) for col, factor in parts]  # col[z] at (xw, y)
    c_row = col_c[table]
    wrong = torch.full((g, g), -torch.inf, dtype=torch.float64)
    acc = torch.zeros((g, g), dtype=torch.float64)
    low = l_low[:, None, :]  # [G, 1, G]
    step = max(1, (1 << 21) // (g * g))
    for j in range(0, len(top), step):
        w = top[j:j + step]
        xw = table[:, w]  # [G, kc]: x·w
        total = c_row[xw]  # [G, kc, G]
        for col_row, factor in by_row:  # same operation order as ``spread``
            total = total + col_row[xw] * factor[:, None, :]
        s_z = total * (1 + 8 * U) + TINY
        fw = f_up[w][None, :, None]
        up_w = _up(fw + s_z, fw.abs() + s_z)  # [G, kc, G]
        wrong = torch.maximum(wrong, up_w.max(1).values)
        acc += torch.exp(_up(up_w - low, up_w.abs() + low.abs())).sum(1)
    return wrong, acc


def irrep_bound(folded: Folded, ideal: ExactIdeal, group: Group, top_k: int = TOP_K,
                per_output: str = "auto", virtual: int = 0, radius: Folded | None = None
                ) -> Bound:
    """V_irrep for one model (one-instance Folded) given its exact idealization f*;
    ``per_output`` as in ``per_output_mode``. The last ``virtual`` neurons of ``folded`` are
    virtual (all weights zero, ``certificate.with_virtual_neurons``): their terms of f* are
    charged apart, ‖u*_V(z)‖ ‖h*_V(x, y)‖, rather than through the whole layer's norms.

    Preconditions: ``folded`` (and ``radius``, the entrywise distance of the real model from
    it, over the real neurons) and the ideal's tables are in the safe range [R]
    (``enclosure.for_proof``, ``exact_ideal``). Cost: O(|G|² m) multiply-adds in three matrix
    products, plus O(|G|² (k + n_c)) for the per-output terms and ‖h*‖."""
    f = folded.to(dtype=torch.float64).detach()
    fh = ideal.folded
    u, b = f.unembed[0], f.bias[0]  # [m, G], [G]
    lh, rh, uh, bh = fh.left[0], fh.right[0], fh.unembed[0], fh.bias[0]
    g, m = lh.shape
    e = group.identity
    wide = _widen(m + 2)
    eps_lr, eps_u, eps_b = ideal.eps_lr, ideal.eps_u, ideal.eps_bias
    table = group.table

    # F*_O(z) = f*(z | x_O, y_O) at one representative per orbit of the ideal's symmetry H
    # [H1] (one orbit, (e, e), when f* is bi-equivariant), enclosed: table errors of f̂ plus
    # rounding of this evaluation. At (x, y) = (g x_O, y_O h) the ideal's logit for z is
    # F*_O(g⁻¹ z h⁻¹), its correct output z₀ = x_O y_O.
    orbits = None if ideal.symmetry is None else input_orbits(
        group, closure(group, ideal.symmetry))
    reps = torch.tensor([[e, e]]) if orbits is None else orbits.reps  # [R, 2]
    n_orb = len(reps)
    xo, yo = reps[:, 0], reps[:, 1]
    size_o = lh[xo].abs() + rh[yo].abs()  # [R, m]
    hid_o = torch.relu(lh[xo] + rh[yo])
    big_f = hid_o @ uh + bh  # [R, G]
    table_err = (size_o @ uh.abs()) * (U + eps_lr + 1.01 * eps_u) + eps_b
    f_err = (table_err + wide * (hid_o @ uh.abs() + bh.abs())) * (1 + wide) + TINY
    f_up = _up(big_f + f_err, big_f.abs() + f_err)  # F*_O(z) ≤ f_up[O, z]
    rows = torch.arange(n_orb)
    z0 = table[xo, yo]  # [R]
    f_low_c = _down(big_f[rows, z0] - f_err[rows, z0], big_f[rows, z0].abs() + f_err[rows, z0])
    fw = f_up.clone()
    fw[rows, z0] = -torch.inf  # wrong outputs only
    order = torch.argsort(fw, dim=1, descending=True, stable=True)  # [R, G], z0 last
    k = min(top_k, g - 1)
    top = order[:, :k]  # [R, k]
    top1 = fw[rows, order[:, 0]] if g > 1 else torch.full((n_orb,), -torch.inf)  # [R]
    rest = fw[rows, order[:, k]] if g - 1 > k else torch.full((n_orb,), -torch.inf)
    margin_o = _down(f_low_c - top1, f_low_c.abs() + top1.abs())  # [R]
    margin = float(margin_o.min()) if g > 1 else torch.inf
    lse_o = lse_up(fw, g - 1)  # [R]: ≥ log Σ_{z ≠ z0} e^{F*_O(z)}
    gap = float(_up(lse_o - f_low_c, lse_o.abs() + f_low_c.abs()).max()) if g > 1 else -math.inf
    orb = torch.zeros((g, g), dtype=torch.int64) if orbits is None else orbits.orbit
    if orbits is None:  # transport: (x, y) = (x·e, e·y)
        tg = torch.arange(g)[:, None].expand(g, g)
        th = torch.arange(g)[None, :].expand(g, g)
    else:
        tg, th = orbits.tg, orbits.th

    # per-output spreads s_z = Σ col[z]·factor + col_c[z], by neuron group (Cauchy–Schwarz per
    # group is tighter than over the whole layer): circuit neurons C (‖u_C(z)‖ D_C +
    # ‖Δu_C(z)‖ N), the other real neurons Z, where u* = h* = 0 so their term is u_Z(z)·h_Z
    # (‖u_Z(z)‖ ‖ℓ_Z(x) + r_Z(y)‖), and the virtual ones V (u = h = 0, term −u*_V(z)·h*_V)
    r = m - virtual  # real neurons first
    in_circuit = torch.zeros(m, dtype=torch.bool)
    for c in ideal.proof:
        in_circuit[c.neurons] = True
    live = torch.nonzero(in_circuit[:r])[:, 0]
    others = torch.nonzero(~in_circuit[:r])[:, 0]
    # Only upper bounds on wrong logits are needed (the correct logit is exact), so every
    # term multiplying a nonnegative vector (h*, h_Z, h*_V ≥ 0) keeps only its positive part:
    # Σ_i a_i h_i ≤ Σ_i a_i⁺ h_i ≤ ‖a⁺‖ ‖h‖. Rounding keeps signs, so fl(a)⁺ is a⁺ up to a
    # relative u, covered by the (1 + wide) factors.
    # The real model is f̂ ± radius [F1]: (a + δ)⁺ ≤ a⁺ + |δ| and ‖a + δ‖ ≤ ‖a‖ + ‖δ‖, so each
    # column gains the norm of its radius, each D the norms of e_ℓ(x) and e_r(y)
    zero = torch.zeros((), dtype=torch.float64)  # an exact 0 that broadcasts

    def rad_norm(pick: Callable[[Folded], torch.Tensor], dim: int) -> torch.Tensor:
        return zero if radius is None else norm_up(pick(radius), dim)

    e_b = zero if radius is None else radius.bias[0]
    col_c = (torch.relu(b - bh) + e_b + eps_b) * (1 + wide) + TINY  # ≥ (β − β*)⁺(z)
    # stage 1 [S1]: a(x) + b(y) + K, no per-input work
    t_sep = time.perf_counter()
    sep = separable_stage(f, fh, ideal.proof, (eps_lr, eps_u, eps_b), radius, virtual,
                          margin, gap)
    stages = [Stage("separable", g * g, sep.certified, sep.ops, time.perf_counter() - t_sep)]
    mode = per_output_mode(group, per_output)
    full = mode == "all"  # stages 2-3 on every input (tightest CE), else on what is left
    none = torch.empty(0, dtype=torch.int64)
    xs, ys = (none, none) if full else sep.undecided()  # [t]: the inputs stages 2-3 see
    # stage 2 factors, per input: [G, G] on the grid (matrix products), or [t] gathered at
    # the inputs left; when most are left, the grid's products are faster, then indexed (and
    # the operations counted for the whole grid)
    grid = full or 4 * len(xs) >= g * g
    t_cnt = g * g if grid else len(xs)

    def take(v: torch.Tensor) -> torch.Tensor:
        return v if full or not grid else v[xs, ys]

    def lr_radius(cols: torch.Tensor) -> torch.Tensor:  # ‖e_ℓ(x)‖ + ‖e_r(y)‖
        if radius is None:
            return zero
        ln = rad_norm(lambda t: t.left[0][:, cols], 1)
        rn = rad_norm(lambda t: t.right[0][:, cols], 1)
        return take(ln[:, None] + rn[None]) if grid else ln[xs] + rn[ys]

    def dist(dl: torch.Tensor, dr: torch.Tensor) -> torch.Tensor:
        return take(distance_bound(dl, dr)) if grid else distance_at(dl, dr, xs, ys)

    def at_xy(vx: torch.Tensor, vy: torch.Tensor) -> torch.Tensor:
        return take(vx[:, None] + vy[None]) if grid else vx[xs] + vy[ys]

    t_two = time.perf_counter()
    parts = []  # (per-output column [G], per-input factor)
    if grid:
        n, n_v = (take(t) for t in hidden_norm_bound(ideal.proof, group, m, split=r))
    else:
        n, n_v = hidden_norm_at(ideal.proof, group, m, r, xs, ys)
    if len(live):
        eu_c = rad_norm(lambda t: t.unembed[0][live], 0)
        col_a = (norm_up(u[live], 0) + eu_c) * (1 + wide) + TINY  # ≥ ‖u_C(z)‖
        col_b = (norm_up(torch.relu(u[live] - uh[live]), 0) + eps_u * norm_up(uh[live], 0)
                 + eu_c) * (1 + wide) + TINY  # ≥ ‖(u_C(z) − u*_C(z))⁺‖
        dl = f.left[0][:, live] - lh[:, live]  # one rounding of an exact difference each
        dr = f.right[0][:, live] - rh[:, live]
        d = (dist(dl, dr)
             + 2 * U * at_xy(norm_up(dl, 1), norm_up(dr, 1))
             + eps_lr * at_xy(norm_up(lh[:, live], 1), norm_up(rh[:, live], 1))
             + lr_radius(live)) * (1 + wide) + TINY
        parts += [(col_a, d), (col_b, n)]
    if len(others):  # ℓ_Z, r_Z are the centres themselves: only their radius to add
        parts.append(((norm_up(torch.relu(u[others]), 0)
                       + rad_norm(lambda t: t.unembed[0][others], 0)) * (1 + wide) + TINY,
                      (dist(f.left[0][:, others], f.right[0][:, others])
                       + lr_radius(others)) * (1 + wide) + TINY))
    if virtual:  # the term is −u*_V(z)·h*_V: ‖(−u*_V(z))⁺‖ ≤ ‖(−û_V(z))⁺‖ + eps_u ‖û_V(z)‖
        col_v = (norm_up(torch.relu(-uh[r:]), 0) + eps_u * norm_up(uh[r:], 0)) \
            * (1 + wide) + TINY
        parts.append((col_v, n_v))

    def spread(pick: Callable[[torch.Tensor], Any], where: Any = None,
               extra: tuple = ()) -> torch.Tensor:
        """Σ col[z]·factor + col_c[z], widened for its ≤ 4 nonnegative terms' rounding;
        ``pick`` selects the column entries, ``where`` the inputs."""
        total = pick(col_c)
        for col, factor in parts:
            total = total + pick(col) * (factor if where is None else factor[where])[extra]
        return total * (1 + 8 * U) + TINY

    # every wrong logit, globally: the largest wrong F*_O plus the largest spread
    s_max = spread(lambda col: float(col.max()))  # [G, G] or [t]
    top1_in = take(top1[orb]) if grid else top1[orb[xs, ys]]  # per input
    pad = _padded(radius, virtual)
    l_low = take(correct_logits(f, group, pad)) if grid else \
        correct_logits_at(f, group, pad, xs, ys)
    delta = l_low - _up(top1_in + s_max, top1_in.abs() + s_max)
    ops2 = t_cnt * (3 * m + sum(len(c.neurons) for c in ideal.proof) + 4 * len(parts)) \
        + (3 * n_orb * g * m if n_orb > 1 else 0)  # F*_O at the orbit representatives [H1]
    global_ok = delta > 0
    # inputs stage 1 certified, among those stages 2-3 see (none when they see only the rest)
    stage1 = sep.mask() if full else torch.zeros_like(global_ok)
    new2 = int((global_ok & ~stage1).sum())
    stages.append(Stage("per_input", t_cnt, new2, ops2, time.perf_counter() - t_two))
    # stage 3, per output: for every input ("all": it also tightens the CE bound), or only
    # where stage 2 fails and the input could still succeed. Hopeless: even the smallest spread
    # on the largest F*(w) is ≥ L (monotone rounding keeps this exact)
    t_three = time.perf_counter()
    acc = None  # Σ over the top w of e^{U_w − L}, per input ("all" only)
    if full and n_orb == 1:  # z = x·w·y: whole rows of the Cayley table
        wrong, acc = _per_output_grid(parts, col_c, f_up[0], top[0], table, l_low)
        sel = None
        n3 = g * g
    else:
        if full:  # every input, flattened
            s_min = None
            sel = torch.arange(g * g)
            x3, y3 = sel // g, sel % g
            flat = [(col, factor.reshape(-1)) for col, factor in parts]
            l3 = l_low.reshape(-1)
        else:  # where stage 2 fails and the input is not hopeless
            s_min = spread(lambda col: float(col.min()))
            sel = torch.nonzero((delta <= 0) & (l_low > top1_in + s_min))[:, 0]  # into [t]
            x3, y3 = xs[sel], ys[sel]
            flat = [(col, factor[sel]) for col, factor in parts]
            l3 = l_low[sel]
        o3 = orb[x3, y3]
        wrong, acc3 = _per_output_at(flat, col_c, f_up, top, o3, tg[x3, y3], th[x3, y3],
                                     table, l3, full)
        if full:
            acc = acc3.reshape(g, g)
            wrong = wrong.reshape(g, g)
            sel = None
        n3 = len(x3)
    if g - 1 > k:  # the other outputs together
        rest_in = take(rest[orb]) if grid else rest[orb[xs, ys]]
        sm, rm = (s_max, rest_in) if sel is None else (s_max[sel], rest_in[sel])
        wrong = torch.maximum(wrong, _up(rm + sm, rm.abs() + sm))
    if sel is None:
        delta = torch.maximum(delta, l_low - wrong)
    elif wrong.numel():
        delta[sel] = torch.maximum(delta[sel], l_low[sel] - wrong)
    ok = delta > 0
    new3 = int((ok & ~global_ok & ~stage1).sum())
    stages.append(Stage("per_output", n3, new3, n3 * 8 * min(k, g - 1) * (len(parts) + 1),
                        time.perf_counter() - t_three))
    # [CE2] the whole distribution of the ideal's wrong values: every wrong logit is at most
    # F*(x⁻¹zy⁻¹) + s_max(x, y), so CE(x, y) ≤ log(1 + e^{s_max − L} Σ_{w≠e} e^{F*(w)}), with the
    # sum computed once; with the per-output terms ("all"), the top k one by one. Per input the
    # smallest of these and the max-based bound (each is an upper bound). Inputs that stage 1
    # settles and stages 2-3 never see carry stage 1's own CE bound [S1].
    ce = ce_terms(delta, g)
    if g > 1:
        t_sum = take(lse_o[orb]) if grid else lse_o[orb[xs, ys]]
        t = _up(s_max + t_sum - l_low, s_max + t_sum.abs() + l_low.abs())
        ce = torch.minimum(ce, torch.log1p(torch.exp(t)))
        if acc is not None:  # "all": the top k one by one, the rest together
            rest_terms = torch.zeros_like(acc)
            if g - 1 > k:
                rest_fw = fw.clone()
                rest_fw.scatter_(1, top, -torch.inf)
                rest_sum = take(lse_up(rest_fw, g - 1 - k)[orb])
                rest_terms = torch.exp(_up(s_max + rest_sum - l_low,
                                           s_max + rest_sum.abs() + l_low.abs()))
            ce = torch.minimum(ce, torch.log1p(acc + rest_terms))
    if full:
        certified = ok | stage1
        ce_bound = ce_mean(ce)
        margins, distances = l_low - top1_in, s_max
    else:
        certified = sep.mask()
        certified[xs, ys] = ok
        total = (sep.ce_sum + float(ce.sum()) * (1 + _widen(max(1, ce.numel())) + 1e-13)) \
            * (1 + 4 * U) + TINY
        ce_bound = total / (g * g) * (1 + 4 * U) + TINY if math.isfinite(total) else math.inf
        margins = torch.full((g, g), math.nan, dtype=torch.float64)
        distances = margins.clone()
        margins[xs, ys], distances[xs, ys] = l_low - top1_in, s_max
    return Bound("irrep", float(certified.double().mean()), ce_bound, margin, certified,
                 margins, distances, stages=tuple(stages), separable=sep,
                 top_w=tuple(int(w) for w in top.reshape(-1)), orbits=n_orb)


def _per_output_at(parts: list, col_c: torch.Tensor, f_up: torch.Tensor, top: torch.Tensor,
                   orb: torch.Tensor, tg: torch.Tensor, th: torch.Tensor, table: torch.Tensor,
                   l_low: torch.Tensor, want_acc: bool
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-output bound at t inputs given by their orbit ``orb`` and transport (tg, th)
    [t] each: for each of the orbit's top w, output z = tg·w·th with U_w = F*_O(w) + s_z;
    returns max_w U_w and (``want_acc``) Σ_w e^{U_w − L} [t] each. ``parts``: (column [G],
    factor [t]) as in ``spread``."""
    t, k = len(orb), top.shape[1]
    wrong = torch.full((t,), -torch.inf, dtype=torch.float64)
    acc = torch.zeros(t, dtype=torch.float64)
    step = max(1, (1 << 21) // max(1, k))
    for j in range(0, t, step):
        sl = slice(j, j + step)
        w = top[orb[sl]]  # [c, k]
        z = table[table[tg[sl, None], w], th[sl, None]]  # [c, k]
        total = col_c[z]
        for col, factor in parts:  # same operation order as ``spread``
            total = total + col[z] * factor[sl, None]
        s_z = total * (1 + 8 * U) + TINY
        fw = f_up[orb[sl, None], w]
        up_w = _up(fw + s_z, fw.abs() + s_z)  # [c, k]
        wrong[sl] = up_w.max(1).values
        if want_acc:
            low = l_low[sl, None]
            acc[sl] = torch.exp(_up(up_w - low, up_w.abs() + low.abs())).sum(1)
    return wrong, acc


def _padded(radius: Folded | None, virtual: int) -> Folded | None:
    """The radius over all neurons: the virtual ones are exact zeros."""
    if radius is None or not virtual:
        return radius
    g = radius.left.shape[1]
    zeros = torch.zeros(1, g, virtual, dtype=torch.float64)
    return Folded(torch.cat([radius.left, zeros], 2), torch.cat([radius.right, zeros], 2),
                  torch.cat([radius.unembed, zeros.transpose(1, 2)], 1), radius.bias)


__all__ = ["TOP_K", "correct_logits", "distance_bound", "hidden_norm_bound", "irrep_bound",
           "norm_up", "per_output_mode"]
