"""V_fourier's per-input stage: a bound from a low-rank split of the unembedding
(docs/soundness.md §7, [P1]–[P5]), the certificate method ``fourier``. u = C·B + ρ for any
float matrices C [m, k] and B [k, |G|]; a set E of neurons is evaluated exactly; the residual
ρ enters one-sided, by Cauchy–Schwarz per neuron group. Soundness does not depend on the
choice of B, C, E or the groups; ``irrep_basis`` and ``fit`` make choices that leave a small
residual on models that use few irreps (for C_p, a few frequencies); ``search`` tries a ladder
of them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from rhoproof.groups import Group
from rhoproof.model import Folded
from rhoproof.rounding import (
    ETA,
    SAFE_HIGH,
    SAFE_LOW,
    TINY,
    U,
    ce_mean,
    ce_terms,
    lse_up,
    norm_up,
    up,
    widen,
)
from rhoproof.verify.bounds import brute_ops
from rhoproof.verify.logits import correct_logits

GUARD = 3.0
"""The prover's rounding allowances are GUARD times the checker's: two rigorous evaluations of
the same bound differ by at most the sum of their own allowances, so with GUARD ≥ 3 the
prover's upper bounds are never below (nor its correct logits above) the checker's, and an
honest certificate's claim is always confirmed (a red-team finding, docs/soundness.md §7)."""


@dataclass(frozen=True)
class LowRankSplit:
    """The choices of a low-rank split: basis B [k, |G|], coefficients C [m, k], the exactly
    evaluated neurons (bool [m]) and a group id per neuron (int64 [m]; ignored on E)."""

    basis: torch.Tensor
    coef: torch.Tensor
    exact: torch.Tensor
    groups: torch.Tensor


@dataclass(frozen=True)
class LowRankBound:
    """Which inputs the split certifies ([|G|, |G|] bool), its counted operations and its
    cross-entropy bound [P5]."""

    certified: torch.Tensor
    ops: int
    cross_entropy: float = math.inf

    @property
    def accuracy(self) -> float:
        return float(self.certified.double().mean())


def irrep_basis(group: Group, names: list[str]) -> torch.Tensor:
    """An orthonormal basis [k, |G|] of the constants and the matrix entries of the named
    irreps (for C_p: cos and sin of the chosen frequencies)."""
    # irrep by irrep (distinct irreps' entries are orthogonal, Schur), so each row belongs to
    # one irrep: the constant first, then each irrep's rows in the order named
    rows = [torch.full((1, group.order), group.order ** -0.5, dtype=torch.float64)]
    rows += [_entries(group, name) for name in names]
    return torch.cat(rows).contiguous()


def _entries(group: Group, name: str) -> torch.Tensor:
    """An orthonormal basis of one nontrivial irrep's matrix entries: [n, |G|] (a
    complex-type irrep's d² entries span only d²/2 functions: SVD, not QR without
    pivoting, whose extra columns would be arbitrary)."""
    mats = torch.from_numpy(group.irrep(name).matrices)
    _, s, vh = torch.linalg.svd(mats.reshape(group.order, -1).T, full_matrices=False)
    return vh[s > 1e-9 * s[0]]


def _safe(t: torch.Tensor) -> torch.Tensor:
    """The floats a certificate may hold ([R]: 0 or magnitude in [2⁻⁶⁴, 2⁶⁴]): smaller ones
    flushed to 0, larger ones clamped (any B, C is sound [P1])."""
    t = torch.where(t.abs() < SAFE_LOW, torch.zeros_like(t), t)
    return t.clamp(-SAFE_HIGH, SAFE_HIGH)


def strongest_irreps(u: torch.Tensor, group: Group, count: int) -> list[str]:
    """The ``count`` nontrivial irreps holding the most of ‖u‖² [m, |G|], strongest first."""
    energy = []
    for rho in group.irreps[1:]:
        basis = _entries(group, rho.name)
        energy.append((float(((u @ basis.T) ** 2).sum()), rho.name))
    return [name for _, name in sorted(energy, reverse=True)[:count]]


def fit(u: torch.Tensor, group: Group, irreps: list[str], n_exact: int = 0,
        grouped: bool = True) -> LowRankSplit:
    """A split of u [m, |G|] onto the named irreps (and the constants): C by least squares on
    an orthonormal basis, the ``n_exact`` neurons with the largest residual exact, and with
    ``grouped`` one group per irrep (each neuron in the irrep holding most of its u), else one
    group."""
    u = u.to(torch.float64)
    basis = _safe(irrep_basis(group, irreps))
    coef = _safe(u @ basis.T)  # [m, k]
    resid = (u - coef @ basis).norm(dim=1)
    exact = torch.zeros(u.shape[0], dtype=torch.bool)
    exact[torch.argsort(resid, descending=True)[:n_exact]] = True
    groups = torch.zeros(u.shape[0], dtype=torch.int64)
    if grouped and irreps:
        share = torch.stack([((u @ _entries(group, n).T) ** 2).sum(1)
                             for n in irreps], 1)  # [m, irreps]
        groups = share.argmax(1)
    return LowRankSplit(basis, coef, exact, groups)


def lowrank_bound(folded: Folded, group: Group, split: LowRankSplit,
                  radius: Folded | None = None) -> LowRankBound:
    """The inputs a split certifies, and its cross-entropy bound ([P1]–[P5]).

    ``folded`` is one instance, the centre of the stored model's enclosure, ``radius`` its
    entrywise radius [F1]; both in the safe range [R]. Cost: |G|²m(2 + k) +
    |G|³(k + |E| + n_g).

    Examples
    --------
    >>> from rhoproof import group, zoo
    >>> from rhoproof.enclosure import enclose, for_proof
    >>> from rhoproof.verify.lowrank import fit, lowrank_bound, strongest_irreps
    >>> G = group("C59")
    >>> f = for_proof(enclose(zoo.load("C59", n_models=1))).center  # exact: radius 0
    >>> u = f.unembed[0]
    >>> split = fit(u, G, strongest_irreps(u, G, 10), n_exact=8)  # 10 frequencies, 8 exact
    >>> bound = lowrank_bound(f, G, split)
    >>> round(bound.accuracy, 3), bound.cross_entropy < 1.0
    (0.916, True)
    """
    left, right = folded.left[0], folded.right[0]
    u, beta = folded.unembed[0], folded.bias[0]
    g, m = left.shape
    zeros = Folded(*(torch.zeros_like(t) for t in folded.tensors().values()))
    rad = radius if radius is not None else zeros
    el, er, eu, eb = rad.left[0], rad.right[0], rad.unembed[0], rad.bias[0]
    B, C = split.basis, split.coef  # [k, G], [m, k]
    k = B.shape[0]
    ex, nx = split.exact, ~split.exact
    n_e = int(ex.sum())
    ids = split.groups[nx]
    group_ids = ids.unique()

    # Û = C·B and its rounding [P3]; the residual's upper bound ρ̄ and ‖w(z)‖
    u_hat = C @ B  # [m, G]
    # ≥ |Û − fl(Û)|, times GUARD: the checker's fl(Û) differs in its last bits (see GUARD)
    u_err = GUARD * (widen(k) * (C.abs() @ B.abs()) + k * ETA)
    diff = u - u_hat
    rho_up = diff + u_err + eu
    rho_up = rho_up + 4 * U * (diff.abs() + u_err + eu) + TINY  # [m, G], ≥ ρ (rounded up)
    rho_pos = rho_up.clamp_min(0)
    rho_norm = torch.stack([norm_up(rho_pos[nx][ids == gid], 0) for gid in group_ids]) \
        if len(group_ids) else torch.zeros(0, g, dtype=torch.float64)  # [n_g, G]
    w_abs = torch.where(ex[:, None], u.abs(), u_hat.abs() + u_err)  # [m, G] ≥ |w_i(z)|
    w_norm = norm_up(w_abs, 0)  # [G]
    eu_norm = norm_up(eu[ex], 0) if n_e else torch.zeros(g, dtype=torch.float64)
    b_max = B.abs().max(1).values  # [k]
    u_max = u[ex].abs().max(1).values if n_e else torch.zeros(0, dtype=torch.float64)

    low = correct_logits(folded, group, radius, GUARD)  # [G_x, G_y], ≤ f(xy | x, y)
    table = group.table  # [G, G]: xy
    certified = torch.zeros(g, g, dtype=torch.bool)
    ce = torch.zeros(g, g, dtype=torch.float64)
    wide_a, wide_m = widen(m), widen(k + n_e + 2)
    rows = max(1, (1 << 21) // max(1, g * max(m, g)))
    for x0 in range(0, g, rows):
        xs = torch.arange(x0, min(g, x0 + rows))
        s = left[xs][:, None, :] + right[None, :, :]  # [c, G, m]
        h = s.clamp_min(0)
        e_h = ((el[xs][:, None, :] + er[None]) * (1 + 2 * U) + 2 * U * s.abs()) * (1 + 4 * U) \
            + TINY  # ≥ |h − ĥ| entrywise, every rounding of this sum included
        hn, he = h[..., nx], h[..., ex]
        a = hn @ C[nx]  # [c, G, k]
        a_err = wide_a * (hn @ C[nx].abs()) + m * ETA
        main = a @ B + beta  # [c, G, G_z]
        if n_e:
            main = main + he @ u[ex]
        m_err = (wide_m * ((a.abs() + a_err) @ b_max + he @ u_max) + a_err @ b_max)[..., None] \
            + wide_m * beta.abs() + (k + n_e + 4) * ETA + TINY  # [c, G, G_z]
        m_err = GUARD * m_err
        spread = w_norm * norm_up(e_h, 2)[..., None]  # [c, G, G_z]
        h_up = (h + e_h) * (1 + 2 * U)  # ≥ h entrywise
        extra = eu_norm * norm_up(h_up[..., ex], 2)[..., None] if n_e else 0.0
        resid = torch.zeros_like(main)
        for j, gid in enumerate(group_ids):
            hg = norm_up(h_up[..., nx][..., ids == gid], 2)  # [c, G]
            resid = resid + hg[..., None] * rho_norm[j]
        pos = m_err + spread + extra + resid + eb  # nonnegative terms
        # the last sums: γ relative to the absolute values (main may be negative); with
        # GUARD and the longest sum (m terms, a norm), so that no term's last bits in the
        # checker's code can exceed the prover's
        upper = main + pos + GUARD * widen(m + k + len(group_ids) + 8) * (main.abs() + pos) \
            + TINY
        z_ok = table[xs]  # [c, G]: the correct z
        upper.scatter_(2, z_ok[..., None], float("-inf"))
        top = upper.max(2).values  # [c, G]: ≥ every wrong logit
        certified[xs] = low[xs] > top
        delta = low[xs] - top  # [P5]: ce_terms lowers it for this subtraction's rounding
        ce_max = ce_terms(torch.nan_to_num(delta, nan=-math.inf), g)
        # [P5] per output: log(1 + Σ_z e^{upper(z) − L}), each difference rounded up
        lo = low[xs][..., None]
        diff = upper - lo
        t = torch.where(torch.isfinite(upper), up(diff, upper.abs() + lo.abs()), diff)
        t = torch.nan_to_num(t, nan=math.inf)
        rows_t = torch.cat([torch.zeros(*t.shape[:2], 1, dtype=t.dtype), t], 2)
        ce_sum = lse_up(rows_t.reshape(-1, g + 1), g + 1).reshape(t.shape[:2])
        ce[xs] = torch.minimum(ce_max, torch.nan_to_num(ce_sum, nan=math.inf))
    ops = lowrank_ops(g, m, k, n_e, len(group_ids))
    return LowRankBound(certified, ops, ce_mean(ce))


def lowrank_ops(g: int, m: int, k: int, n_exact: int, n_groups: int) -> int:
    """The stage's counted multiply-adds and comparisons: the hidden layer and the correct
    logits (2|G|²m), the projection A = ĥC (|G|²mk) and every output of every input
    (|G|³(k + |E| + n_g))."""
    return 2 * g * g * m + g * g * m * k + g ** 3 * (k + n_exact + n_groups)


LADDER: tuple[tuple[int, int], ...] = ((8, 0), (10, 8), (12, 16), (16, 16))
"""The splits ``search`` tries, cheapest first: (irreps kept, exact neurons), one residual
group per kept irrep. Every choice is sound; the ladder trades cost for bound."""
SMALL_LADDER: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (3, 0), (4, 0))
"""Tried first on groups with at most 8 nontrivial irreps, where LADDER's first rung is
already every irrep (the whole space, costlier than brute force): S4's models, for one, need
two irreps (3d-0 and 1d-1)."""


@dataclass(frozen=True)
class Searched:
    """The split ``search`` keeps, its bound and the seconds that bound took (the proof), the
    irreps it names and the counted operations of the splits it tried and did not keep."""

    split: LowRankSplit
    bound: LowRankBound
    seconds: float
    irreps: tuple[str, ...]
    search_ops: int


def search(folded: Folded, group: Group, radius: Folded | None = None,
           ladder: tuple[tuple[int, int], ...] = LADDER) -> Searched:
    """The best split of the ladder for a one-instance model (enclosure centre and radius).

    Splits are tried up to the first that certifies every input, skipping any that would cost
    brute force's operations or more or exceed the checker's caps; kept: the one certifying
    most (then the cheapest).

    Examples
    --------
    >>> from rhoproof import group, zoo
    >>> from rhoproof.enclosure import enclose, for_proof
    >>> from rhoproof.verify.lowrank import search
    >>> found = search(for_proof(enclose(zoo.load("C113", n_models=1))).center, group("C113"))
    >>> found.bound.accuracy, len(found.irreps), int(found.split.exact.sum())
    (1.0, 16, 16)
    """
    u = folded.unembed[0].to(torch.float64)
    g, m = group.order, folded.d_hidden
    brute = brute_ops(g, m)
    n_irreps = len(group.irreps) - 1
    order = strongest_irreps(u, group, n_irreps)
    if n_irreps <= 8 and ladder == LADDER:
        ladder = SMALL_LADDER + ladder
    tried: list[tuple[LowRankSplit, LowRankBound, float, tuple[str, ...]]] = []
    seen: set[tuple[int, int]] = set()
    for count, n_exact in ladder:
        names = tuple(order[:min(count, n_irreps)])
        n_exact = min(n_exact, m)
        if (len(names), n_exact) in seen:
            continue
        seen.add((len(names), n_exact))
        split = fit(u, group, list(names), n_exact, grouped=True)
        k, n_g = split.basis.shape[0], int(split.groups[~split.exact].unique().numel())
        if lowrank_ops(g, m, k, n_exact, n_g) >= brute or k > min(g, m) \
                or k + n_exact + n_g > m:  # the checker's caps (docs/soundness.md §7)
            continue
        tried.append(_timed(folded, group, split, radius, names))
        if bool(tried[-1][1].certified.all()):
            break
    if not tried:  # every split costs more than brute force: the constant row alone
        tried.append(_timed(folded, group, fit(u, group, [], 0, grouped=False), radius, ()))
    best = max(tried, key=lambda t: (int(t[1].certified.sum()), -t[1].ops))
    # the search: every irrep's share of u (|G|·m per irrep entry row) and the splits not kept
    search_ops = m * g * sum(r.dim ** 2 for r in group.irreps[1:]) \
        + sum(t[1].ops for t in tried if t is not best)
    return Searched(best[0], best[1], best[2], best[3], search_ops)


def _timed(folded: Folded, group: Group, split: LowRankSplit, radius: Folded | None,
           names: tuple[str, ...]
           ) -> tuple[LowRankSplit, LowRankBound, float, tuple[str, ...]]:
    """A split, its bound and the seconds the bound took."""
    t0 = time.perf_counter()
    bound = lowrank_bound(folded, group, split, radius)
    return split, bound, time.perf_counter() - t0, names


__all__ = ["LADDER", "SMALL_LADDER", "LowRankBound", "LowRankSplit", "Searched", "fit",
           "irrep_basis", "lowrank_bound", "lowrank_ops", "search", "strongest_irreps"]
