"""Stage 1 of the V_irrep cascade, separable [S1] (docs/soundness.md §2.1): a bound on every input's
error of the form a(x) + b(y) + K, so that the certified inputs are counted by sorting b and
binary search, O(|G| m + |G| log |G|), without visiting the |G|² inputs.

For an input (x, y) and a wrong output z, f(z) − f(xy) ≤ −M + a(x) + b(y) + K with M the
ideal's margin, a(x) = Σ_C ρ_i |Δℓ_i(x)| + Σ_Z ρ_i ℓ_i(x)⁺ (ρ_i the range of u_i over the
outputs), b(y) likewise, and K the unembedding-mismatch term (rearrangement per circuit or
Cauchy–Schwarz, the smaller) plus the bias range. Every quantity is an upper bound on the exact
real value (the real model as centre ± radius [F1], the ideal's tables with their ε [§3]).
"""

from __future__ import annotations

import functools
import itertools
import math

import torch

from rhoproof.model import Folded
from rhoproof.rounding import LOG_SLACK, TINY, U, down, norm_up, up, widen
from rhoproof.verify.records import ProofCircuit, Separable, SignProof, Stage
from rhoproof.verify.stages.context import ProofContext, Work

CE_BUCKETS = 32
"""Sorted b is cut into this many buckets for the stage-1 cross-entropy sum."""


def _sorted_dot(a: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Σ_j a_(j) r_(j), both sorted decreasingly, for each row of a ([G, P], ≥ 0) against
    r ([P], ≥ 0): an upper bound on Σ_j a_j r_τ(j) for every permutation τ (rearrangement),
    widened for the P-term sum."""
    top = a.sort(1, descending=True).values
    return (top * r.sort(descending=True).values[None]).sum(1) * (1 + widen(r.numel())) + TINY


MAX_ENUMERATED = 6
"""Up to this ρ-set size the assignment over B is maximized by enumerating every permutation;
beyond it, each row takes its own best column (a looser but valid bound)."""


def _pair_values(c: ProofCircuit) -> torch.Tensor:
    """R̂[p, q] = fl(α_p + γ_q)⁺, within u|R̂| of the exact R (sign circuits: exact)."""
    if isinstance(c, SignProof):
        return torch.tensor([[2.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    return torch.relu(c.alpha.to(torch.float64)[:, None] + c.gamma.to(torch.float64)[None])


def _assignment_bound(v: torch.Tensor, r_hat: torch.Tensor, exact_r: bool) -> torch.Tensor:
    """≥ max over π ∈ Sym(B), σ ∈ Sym(C) of Σ_{p,q} V[p, q] R[πp, σq], per row of v
    ([G, nb, nc], signed) [S1 (B1)]: for each π the sum is at most Σ_p W[p, πp] with
    W[p, p'] = Σ_j V[p, ·]_(j) R[p', ·]_(j) (each row's best column permutation, by the
    rearrangement inequality), and the largest assignment over π is found by enumerating every
    permutation (nb ≤ MAX_ENUMERATED) or bounded by each row's largest W. Rounding: every sorted
    dot, assignment sum and R̂'s own error are charged through the same bound on |V| (R ≥ 0);
    exact_r: R̂ is R exactly."""
    g, nb, nc = v.shape
    rs = r_hat.sort(1, descending=True).values  # [nb, nc]
    both = torch.cat([v, v.abs()]).sort(2, descending=True).values  # [2G, nb, nc]
    w = torch.einsum("zpj,rj->zpr", both, rs).reshape(2 * g, nb * nb)  # [2G, nb·nb]
    if nb <= MAX_ENUMERATED:  # Σ_p W[p, πp] for every π: exact 0/1 weights, nb terms each
        sums = (w @ _permutation_matrix(nb)).max(1).values  # [2G]
    else:
        sums = w.view(2 * g, nb, nb).max(2).values.sum(1)
    best, best_abs = sums[:g], sums[g:]
    slack = (0.0 if exact_r else 2 * U) + widen(nc) + widen(nb)
    return best + slack * best_abs * (1 + 2 * slack) + TINY


@functools.cache
def _permutation_matrix(nb: int) -> torch.Tensor:
    """[nb·nb, nb!] with a 1 at (p·nb + π(p), π) for every permutation π of range(nb): a row
    vector W (flattened [nb, nb]) times it gives Σ_p W[p, π(p)] for every π."""
    perms = list(itertools.permutations(range(nb)))
    mat = torch.zeros(nb * nb, len(perms), dtype=torch.float64)
    for j, perm in enumerate(perms):
        for p, q in enumerate(perm):
            mat[p * nb + q, j] = 1.0
    return mat


def _pair_table(c: ProofCircuit) -> tuple[torch.Tensor, int]:
    """≥ R[p, q] = ReLU(α_p + γ_q) flattened over B × C (a sign circuit: 2 at (+1, +1)), and
    the row length n_c: the pair of neuron i is p_i n_c + q_i."""
    if isinstance(c, SignProof):
        return torch.tensor([2.0, 0.0, 0.0, 0.0], dtype=torch.float64), 2
    r = torch.relu(c.alpha.to(torch.float64)[:, None] + c.gamma.to(torch.float64)[None])
    return (r * (1 + 2 * U) + TINY).flatten(), c.gamma.shape[0]


def separable_stage(f: Folded, fh: Folded, proof: list[ProofCircuit], eps: tuple[float, float,
                    float], radius: Folded | None, virtual: int, margin: float, gap: float
                    ) -> Separable:
    """Stage 1 [S1] for one model. ``f`` the real model's float64 centre over all neurons
    (the last ``virtual`` are zero), ``radius`` its distance over the real ones (or None),
    ``fh`` the ideal's tables with ``eps`` = (ε_ℓr, ε_u, ε_β); ``margin`` ≤ the ideal's
    margin at every input (F(e) − max_{w≠e} F(w); with a partial symmetry [H1], the smallest
    over the orbits) and ``gap`` ≥ log Σ_{w≠e} e^{F(w)} − F(e) (the largest over the
    orbits)."""
    eps_lr, eps_u, eps_b = eps
    left, right, u, bias = f.left[0], f.right[0], f.unembed[0], f.bias[0]
    lh, rh, uh, bh = fh.left[0], fh.right[0], fh.unembed[0], fh.bias[0]
    g, m = left.shape
    r_ = m - virtual
    wide = widen(m + 2)
    zg = torch.zeros(g, m, dtype=torch.float64)
    el, er = (zg, zg) if radius is None else (_pad(radius.left[0], m), _pad(radius.right[0], m))
    eu = zg.T if radius is None else _pad(radius.unembed[0].T, m).T  # [m, G]
    eb = torch.zeros(g, dtype=torch.float64) if radius is None else radius.bias[0]
    in_circuit = torch.zeros(m, dtype=torch.bool)
    for c in proof:
        in_circuit[c.neurons] = True
    real = torch.arange(m) < r_
    live, others = in_circuit & real, ~in_circuit & real

    # ρ_i ≥ max_z u_i(z) − min_z u_i(z) for the real u_i ∈ û_i ± e_u,i
    rho = (u.max(1).values - u.min(1).values + 2 * eu.max(1).values) * (1 + 4 * U) + TINY
    # (A): per-x and per-y terms. (C): h_i ≤ ℓ_i(x)⁺ + r_i(y)⁺, except for a neuron that is
    # dead on every input (max ℓ_i + max r_i ≤ 0, upper bounds): then h_i = 0 and it costs 0
    top_l = (left + el).max(0).values
    top_l = top_l + 2 * U * top_l.abs() + TINY  # ≥ max_x ℓ_i(x) (the sum rounds by ≤ u)
    top_r = (right + er).max(0).values
    top_r = top_r + 2 * U * top_r.abs() + TINY
    alive = up(top_l + top_r, top_l.abs() + top_r.abs()) > 0  # [m]

    def side(t: torch.Tensor, th: torch.Tensor, et: torch.Tensor) -> torch.Tensor:
        d = (t - th).abs() * (1 + U) + et + eps_lr * th.abs()  # ≥ |Δℓ_i(x)|
        pos = torch.relu(t + et) * (1 + 2 * U) + TINY  # ≥ ℓ_i(x)⁺
        x_terms = torch.where(live[None], d * (1 + 4 * U),
                              torch.where((others & alive)[None], pos, 0.0))
        return (x_terms @ rho) * (1 + wide) + TINY  # [G]

    a = side(left, lh, el)
    b = side(right, rh, er)

    # (D): the range of Δβ = β − β* over the outputs
    db = bias - bh
    err = U * db.abs() + eb + eps_b
    hi, lo = up(db + err, db.abs() + err), down(db - err, db.abs() + err)
    k_bias = float(up(hi.max() - lo.min(), hi.max().abs() + lo.min().abs()))

    # (B): Δu = u − u* over C ∪ V; upper endpoints of ±Δu (signed), and of its positive and
    # negative parts for the Cauchy–Schwarz form
    du = u - uh
    du_err = U * du.abs() + eu + eps_u * uh.abs()
    pos = torch.relu(du + du_err) * (1 + 4 * U) + TINY  # ≥ Δu⁺, [m, G]
    neg = torch.relu(-du + du_err) * (1 + 4 * U) + TINY  # ≥ (−Δu)⁺
    signed = ((du + du_err) * (1 + 4 * U) + TINY, (-du + du_err) * (1 + 4 * U) + TINY)
    per_z = [torch.zeros(g, dtype=torch.float64), torch.zeros(g, dtype=torch.float64)]
    per_mag = [torch.zeros(g, dtype=torch.float64), torch.zeros(g, dtype=torch.float64)]
    n_sq = 0.0
    ops = 0
    for c in proof:
        rv, nc = _pair_table(c)
        r_hat = _pair_values(c)  # [nb, nc]: fl(α + γ)⁺ (sign: exact)
        nb = r_hat.shape[0]
        pairs = c.p * nc + c.q  # [n]
        lam = c.scale.to(torch.float64)
        for j, part in enumerate(signed):  # V[p, q] = Σ_{i on (p, q)} λ_i (±Δu_i(z)), upper
            terms = (part[c.neurons] * lam[:, None]).T  # [G, n]
            big_v = torch.zeros(g, nb * nc, dtype=torch.float64).index_add_(1, pairs, terms)
            big_abs = torch.zeros(g, nb * nc, dtype=torch.float64).index_add_(
                1, pairs, terms.abs())
            big_v = big_v + wide * big_abs + TINY
            bound_c = _assignment_bound(big_v.view(g, nb, nc), r_hat, isinstance(c, SignProof))
            per_z[j] += bound_c
            per_mag[j] += bound_c.abs()
        lam2 = torch.zeros(rv.numel(), dtype=torch.float64).index_add_(0, pairs, lam**2)
        n_sq += float(_sorted_dot(lam2[None] * (1 + wide) + TINY, rv**2 * (1 + 2 * U)).max())
        n_perm = math.factorial(nb) if nb <= MAX_ENUMERATED else nb
        ops += 2 * g * (2 * len(c.neurons) + nb * nc * (max(1, math.ceil(math.log2(nc))) + 1)
                        + nb * nb * nc + n_perm * nb)
    # the same z for every circuit, then the largest over z (§2.1 (B1)); the sums over the
    # circuits widened by their magnitudes
    wide_c = widen(len(proof) + 2)
    b1 = sum(float((per_z[j] + wide_c * per_mag[j]).max()) for j in (0, 1)) if proof else 0.0
    b1 = b1 + 4 * U * abs(b1) + TINY
    cv = in_circuit  # C ∪ V
    norm_bar = math.sqrt(n_sq * (1 + widen(2 * len(proof) + 2)) + TINY) * (1 + 4 * U)
    b2 = (float(norm_up(pos[cv], 0).max()) + float(norm_up(neg[cv], 0).max())) * norm_bar \
        * (1 + 8 * U) + TINY if bool(cv.any()) else 0.0
    k_mis = min(b1, b2) if proof else 0.0
    k = k_mis + k_bias
    k = k + 4 * U * abs(k) + TINY  # k_mis may be negative (signed terms)

    # certified iff b(y) < t(x) = M − K − a(x), all lowered; count by binary search
    t1 = margin - k
    t1 = t1 - 4 * U * (abs(margin) + abs(k)) - TINY
    t = down(t1 - a, abs(t1) + a)  # [G]
    if not math.isfinite(t1) or not bool(torch.isfinite(b).all()):
        t = torch.full_like(a, -math.inf)  # nothing certified; NaN never reaches the search
    t = torch.where(torch.isnan(t), -math.inf, t)
    order = torch.argsort(b, stable=True)
    bs = b[order]
    count = torch.searchsorted(bs, t, side="left")  # #{y : b(y) < t(x)}

    # CE of the certified inputs: log(1 + e^{a + b + K − F_e + T}), T ≥ log Σ_{w≠e} e^{F(w)}
    ce_sum = 0.0
    if g > 1 and int(count.sum()):
        const = up(k + gap, abs(k) + abs(gap))
        size = math.ceil(g / CE_BUCKETS)
        starts = torch.arange(0, g, size)
        b_top = bs[torch.clamp(starts + size, max=g) - 1]  # each bucket's largest b
        n_in = torch.clamp(count[:, None] - starts[None], min=0, max=size)  # [G, buckets]
        expo = up(a[:, None] + b_top[None] + const, a[:, None] + b_top[None] + abs(const))
        ce = torch.log1p(torch.exp(expo))
        ce_sum = float((n_in * ce).sum()) * (1 + widen(g * len(starts)) + LOG_SLACK) + TINY
        ops += 4 * g * len(starts)
    ops += 8 * g * m + 2 * g * math.ceil(math.log2(max(g, 2))) + 4 * m * g
    return Separable(a, b, k, k_mis, k_bias, margin, count, order, ce_sum, ops)


def _pad(t: torch.Tensor, m: int) -> torch.Tensor:
    """[G, r] → [G, m] with zero columns for the virtual neurons."""
    if t.shape[1] == m:
        return t.to(torch.float64)
    return torch.cat([t.to(torch.float64),
                      torch.zeros(t.shape[0], m - t.shape[1], dtype=torch.float64)], 1)


class SeparableStage:
    """Stage 1 as a cascade stage: certifies what a(x) + b(y) + K settles, and narrows the
    later stages to the rest (unless they see every input, ``ctx.full``)."""

    name = "separable"

    def run(self, ctx: ProofContext, work: Work) -> Stage:
        ideal = ctx.ideal
        sep = separable_stage(ctx.f, ideal.folded, ideal.proof,
                              (ideal.eps_lr, ideal.eps_u, ideal.eps_bias), ctx.radius,
                              ctx.virtual, ctx.margins.margin, ctx.margins.gap)
        work.sep = sep
        xs, ys = _NONE if ctx.full else sep.undecided()
        work.narrow(ctx, xs, ys)
        return Stage(self.name, ctx.g * ctx.g, sep.certified, sep.ops, 0.0)


_NONE = (torch.empty(0, dtype=torch.int64), torch.empty(0, dtype=torch.int64))
STAGE = SeparableStage()

__all__ = ["CE_BUCKETS", "STAGE", "SeparableStage", "separable_stage"]
