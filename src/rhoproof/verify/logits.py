"""The per-input quantities every proof against an ideal needs, shared by V_irrep's stages
(``verify.stages``) and V_coset (docs/soundness.md §2): the distance bound D ≥ ‖Δℓ(x) + Δr(y)‖,
the ideal's hidden norm N ≥ ‖h*(x, y)‖ from its circuits' tables, and the original's exact
correct logit L ≤ f(xy | x, y); each on the whole grid (matrix products) or gathered at given
inputs. Every value is widened for float64 rounding [R2] (``rhoproof.rounding``).
"""

from __future__ import annotations

import torch

from rhoproof.groups import Group
from rhoproof.model import Folded
from rhoproof.rounding import ETA, TINY, U, down, widen
from rhoproof.verify.records import ProofCircuit, SignProof


def distance_bound(dl: torch.Tensor, dr: torch.Tensor) -> torch.Tensor:
    """An upper bound on ‖dl(x) + dr(y)‖ (exact sum of the floats) for every (x, y): [G, G].

    dl, dr: [G, m]. ‖a + b‖² = A + B + 2C with A = ‖a‖², B = ‖b‖², C = a·b; the computed Â, B̂,
    Ĉ are within γ_m of A, B and of Σ|a_i b_i| ≤ √(AB) ≤ (A + B)/2, so the exact square is at
    most Ŝ + 2γ(Â + B̂)(1 + 2γ) + 4u(Â + B̂ + 2|Ĉ|) (the last for the three-term sum).
    """
    m = dl.shape[1]
    wide = widen(m + 2)
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
    if split is None or split >= m:  # no neuron from ``split`` on: that norm is 0 (TINY)
        total = total[:1]
    out = torch.sqrt(total * (1 + widen(m + 8)) + 4 * (m + 8) * ETA) * (1 + 4 * U) + TINY
    if split is None:
        return out[0]
    return out if len(out) == 2 else torch.cat([out, torch.full_like(out, TINY)])


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
    # Σ_q A_x[q, act_C[y, q]] = ⟨A_x, P_y⟩ with P_y the 0/1 matrix of q ↦ act_C[y, q]: one
    # product whose nonzero terms are the same nc exact values (any summation order)
    if nc <= 32:
        p_y = torch.zeros(g, nc, nc, dtype=torch.float64)
        p_y[torch.arange(g)[:, None], torch.arange(nc)[None, :], act_c] = 1.0
        return a_x.reshape(g, nc * nc) @ p_y.reshape(g, nc * nc).T  # [G_x, G_y]
    out = torch.empty(g, g, dtype=torch.float64)  # large ρ-sets: gathered, in slabs of x
    step = max(1, (1 << 23) // (g * nc))
    for x0 in range(0, g, step):
        out[x0:x0 + step] = a_x[x0:x0 + step, torch.arange(nc)[None, :], act_c].sum(-1)
    return out


def correct_logits(folded: Folded, group: Group, radius: Folded | None = None,
                   guard: float = 1.0) -> torch.Tensor:
    """Lower bounds on the exact correct logits f(xy | x, y) of every input: [G_x, G_y].

    Output-major: for each x and z, h(x, x⁻¹z) · [u(z), |u(z)|] is one batched product, so the
    value and its rounding bound (γ_m times Σ h_i |u_i(z)|, h ≥ 0) come together. With a
    ``radius`` (the model is centre ± radius, [F1]), f ≥ f̂ − Σ_i (|û_i| + e_u,i)(e_ℓ,i(x) +
    e_r,i(y)) − Σ_i e_u,i ĥ_i − e_β: two more columns and one more product of the same size.
    ``guard`` multiplies the rounding allowances: V_fourier uses 3, so that its bound is never
    above the checker's own, whose last bits differ (docs/soundness.md §7).
    """
    left, right, u, b = folded.left[0], folded.right[0], folded.unembed[0], folded.bias[0]
    g, m = left.shape
    wide = guard * widen(m + 4)
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
        out[xs[:, None], y_of[xs]] = down(val - err, val.abs() + err)  # to (x, y)
    return out


def distance_at(dl: torch.Tensor, dr: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor
                ) -> torch.Tensor:
    """``distance_bound`` at the inputs (xs, ys) only: [t], the same formula with a·b as a
    gathered dot product."""
    m = dl.shape[1]
    wide = widen(m + 2)
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
                   xs: torch.Tensor, ys: torch.Tensor, drop: torch.Tensor | None = None
                   ) -> torch.Tensor:
    """``hidden_norm_bound`` with ``split`` at the inputs (xs, ys) only: [2, t]; each term
    λ_i² R²[act_B[x⁻¹, p_i], act_C[y, q_i]] (sign: 4λ_i² when b_iχ(x) = c_iχ(y) = 1) is
    gathered directly. ``drop`` [m] (bool): neurons left out of both norms (an exact group
    [X1])."""
    inv = torch.from_numpy(group.inverses.copy())
    total = torch.zeros(2, len(xs), dtype=torch.float64)
    for c in proof:
        lam2 = c.scale.to(torch.float64) ** 2
        low = c.neurons < split
        keep = torch.ones_like(low) if drop is None else ~drop[c.neurons]
        if isinstance(c, SignProof):
            on_x = ((1 - 2 * c.p)[None] * c.chi[xs][:, None]) == 1  # [t, n]
            on_y = ((1 - 2 * c.q)[None] * c.chi[ys][:, None]) == 1
            sq = (on_x & on_y).to(torch.float64) * (4 * lam2)[None]
        else:
            r2 = torch.relu(c.alpha.to(torch.float64)[:, None]
                            + c.gamma.to(torch.float64)[None]) ** 2
            sq = r2[c.act_b[inv[xs]][:, c.p], c.act_c[ys][:, c.q]] * lam2[None]  # [t, n]
        total[0] += sq[:, low & keep].sum(1)
        total[1] += sq[:, ~low & keep].sum(1)
    return torch.sqrt(total * (1 + widen(m + 8)) + 4 * (m + 8) * ETA) * (1 + 4 * U) + TINY


def correct_logits_at(folded: Folded, group: Group, radius: Folded | None,
                      xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """``correct_logits`` at the inputs (xs, ys) only: [t], the same value and error terms."""
    left, right, u, b = folded.left[0], folded.right[0], folded.unembed[0], folded.bias[0]
    m = left.shape[1]
    wide = widen(m + 2)
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
        out[j:j + step] = down(val - err, val.abs() + err)
    return out


def padded(radius: Folded | None, virtual: int) -> Folded | None:
    """The radius over all neurons: the virtual ones are exact zeros."""
    if radius is None or not virtual:
        return radius
    g = radius.left.shape[1]
    zeros = torch.zeros(1, g, virtual, dtype=torch.float64)
    return Folded(torch.cat([radius.left, zeros], 2), torch.cat([radius.right, zeros], 2),
                  torch.cat([radius.unembed, zeros.transpose(1, 2)], 1), radius.bias)


__all__ = ["correct_logits", "correct_logits_at", "distance_at", "distance_bound",
           "hidden_norm_at", "hidden_norm_bound", "padded"]
