"""Rank-1 factors of the neurons of one irrep: the first step of the ρ-set explanation.

The seed paper's neurons in a real irrep ρ have the form

    ℓ_i(x) = b_iᵀ ρ(x) a,   r_i(y) = aᵀ ρ(y) c_i,   u_i(z) = κ_i b_iᵀ ρ(z) c_i,

with one vector a shared by the whole circuit. Writing each function on G in the basis of ρ's
matrix entries, f(g) = Σ_jk F_jk ρ(g)_jk, these say that the coefficient matrices are rank 1:
L_i = b_i aᵀ, R_i = a c_iᵀ, U_i = κ_i b_i c_iᵀ. This module computes L_i, R_i, U_i by least
squares, their best rank-1 factors, the shared a and how much it varies across neurons (the
paper flags a circuit when this "a-variance" exceeds 1e-5), and κ_i. Trained models often
hold several circuits in one irrep, each with its own a; ``split_by_a`` separates them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rhoproof.groups import Irrep


def entry_coefficients(values: torch.Tensor, rep: Irrep) -> torch.Tensor:
    """Least-squares F with f(g) ≈ Σ_jk F_jk ρ(g)_jk for functions on G along ``dim=-2``.

    values: [..., |G|, n] → [..., n, d, d]. For a real-type irrep the entries are orthogonal
    with squared norm |G|/d, so F = (d/|G|) Σ_g f(g) ρ(g); in general the minimum-norm
    solution (pseudo-inverse) is used, which covers complex and quaternionic types too.
    """
    mats = rep.tensor()  # [|G|, d, d]
    g, d = mats.shape[0], mats.shape[1]
    pinv = torch.linalg.pinv(mats.reshape(g, d * d))  # [d², |G|]
    coeff = pinv @ values.to(torch.float64)  # [..., d², n]
    return coeff.movedim(-1, -2).reshape(*values.shape[:-2], values.shape[-1], d, d)


@dataclass(frozen=True)
class RankOneFactors:
    """Rank-1 factors of one irrep's neurons in one model (n neurons, irrep dim d).

    b, c: [n, d] with ℓ_i ≈ b_iᵀρ(x)a and r_i ≈ aᵀρ(y)c_i; a: [d], unit norm, signs chosen so
    every neuron agrees with it; kappa: [n]; a_variance: mean over neurons of ‖â_i − a‖² for
    the unit vectors â_i read off each neuron's left and right factors (0 for an exact
    circuit); rank1_residual: per neuron, the largest of the three relative residuals
    ‖F − rank-1(F)‖²/‖F‖² over L_i, R_i, U_i.
    """

    irrep: str
    neurons: torch.Tensor  # [n] indices into the hidden layer
    a: torch.Tensor  # [d]
    b: torch.Tensor  # [n, d]
    c: torch.Tensor  # [n, d]
    kappa: torch.Tensor  # [n]
    a_variance: float
    rank1_residual: torch.Tensor  # [n]


def _top_pair(mats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                             torch.Tensor]:
    """Best rank-1 factor σ u vᵀ of each matrix and the relative residual: [n, d] ×2, [n] ×2."""
    u, s, vh = torch.linalg.svd(mats)
    total = (s**2).sum(-1).clamp_min(1e-300)
    return u[..., 0], s[..., 0], vh[..., 0, :], 1 - s[..., 0] ** 2 / total


def rank_one_factors(left: torch.Tensor, right: torch.Tensor, unembed: torch.Tensor,
                     rep: Irrep, neurons: torch.Tensor) -> RankOneFactors:
    """Factor the given neurons of one model in irrep ``rep``.

    left, right: [|G|, m] (ℓ, r of one model), unembed: [m, |G|]; neurons: [n] indices.
    """
    idx = neurons.to(torch.int64)
    lmat = entry_coefficients(left[:, idx], rep)  # [n, d, d] ≈ b_i aᵀ
    rmat = entry_coefficients(right[:, idx], rep)  # ≈ a c_iᵀ
    umat = entry_coefficients(unembed[idx].T, rep)  # ≈ κ_i b_i c_iᵀ
    bu, bs, av_left, res_l = _top_pair(lmat)
    av_right, cs, cv, res_r = _top_pair(rmat)
    _, _, _, res_u = _top_pair(umat)
    # consensus direction: principal axis of all per-neuron a estimates (sign-free)
    estimates = torch.cat([av_left, av_right])  # [2n, d]
    _, _, vh = torch.linalg.svd(estimates, full_matrices=False)
    a = vh[0]
    if a.sum() < 0:  # a fixed, if arbitrary, sign convention
        a = -a
    s_left = torch.sign(av_left @ a).where(av_left @ a != 0, torch.ones(()))
    s_right = torch.sign(av_right @ a).where(av_right @ a != 0, torch.ones(()))
    b = (bu * bs[:, None]) * s_left[:, None]  # ℓ_i = (σ u)ᵀ ρ (v) = (s σ u)ᵀ ρ (s v)
    c = (cv * cs[:, None]) * s_right[:, None]
    a_dev = torch.cat([av_left * s_left[:, None], av_right * s_right[:, None]]) - a
    a_variance = float((a_dev**2).sum(-1).mean())
    # κ_i: least squares of U_i ≈ κ b_i c_iᵀ
    outer = b[:, :, None] * c[:, None, :]
    kappa = (umat * outer).sum((1, 2)) / (outer**2).sum((1, 2)).clamp_min(1e-300)
    residual = torch.stack([res_l, res_r, res_u]).max(0).values
    return RankOneFactors(rep.name, idx, a, b, c, kappa, a_variance, residual)


def split_by_a(left: torch.Tensor, right: torch.Tensor, unembed: torch.Tensor, rep: Irrep,
               neurons: torch.Tensor, min_cos: float = 0.98) -> list[RankOneFactors]:
    """Group an irrep's neurons into circuits that share a (up to sign), then factor each.

    Each neuron's a is read off the right factor of its L_i; neurons join the first group whose
    first member's a has |cos| ≥ ``min_cos`` with theirs (greedy, in neuron order). The groups
    are returned largest first.
    """
    idx = neurons.to(torch.int64)
    if idx.numel() == 0:
        return []
    _, _, a_est, _ = _top_pair(entry_coefficients(left[:, idx], rep))  # [n, d] unit
    groups: list[list[int]] = []
    anchors: list[torch.Tensor] = []
    for i in range(idx.numel()):
        for members, anchor in zip(groups, anchors):
            if abs(float(a_est[i] @ anchor)) >= min_cos:
                members.append(i)
                break
        else:
            groups.append([i])
            anchors.append(a_est[i])
    groups.sort(key=len, reverse=True)
    return [rank_one_factors(left, right, unembed, rep, idx[members]) for members in groups]
