"""The proof's idealized model f*: a real-number model that is *exactly* bi-equivariant, and
its float64 tables f̂ with bounds on how far they are from f*.

The explanation's idealized model evaluates ρ(g) in floats, so its bi-equivariance holds only
up to rounding. A proof may not rely on that. Here ρ is used only to find the combinatorics,
which are then checked exactly with integers:

* act_B[g, p]: the index of the point ρ(g)b_p of the ρ-set B (likewise C). The proof checks,
  with the Cayley table, that act is a group action (act[e] = id, act[sh] = act[s]∘act[h] for
  every generator s and every h, every row a permutation). This check can fail: on a set that
  is not a ρ-set the nearest points do not form an action.
* f* is defined from stored floats by exact real arithmetic: tables α[p] (≈ b_p·a),
  γ[q] (≈ ρ_c a·c_q) and K[p, q] (≈ b_p·c_q averaged over each orbit of the diagonal action,
  one float per orbit, so K is exactly orbit-constant), per-neuron scales λ_i > 0, the pair
  weight W and shares c_i = ω_i / Σ_{j on the pair} ω_j (so each pair's shares sum to 1):
      ℓ*_i(x) = λ_i α[act_B[x⁻¹, p_i]],  r*_i(y) = λ_i γ[act_C[y, q_i]],
      u*_i(z) = (c_i W / λ_i) K[p_i, act_C[z, q_i]].
  By positive homogeneity each pair contributes exactly W K[p, act_C[z,q]] ReLU(α[act_B[x⁻¹,p]]
  + γ[act_C[y,q]]), and relabeling the complete double sum by the action gives
  f*(gz | gx, y) = f*(z | x, y) = f*(zg | x, yg).
* One-dimensional circuits (χ = ±1, checked to be a homomorphism with the Cayley table) use
  χ(z)(2W(χ(x), χ(y)) + β_χ) with W(1,1) = W(−1,−1) = W_s, W(1,−1) = W(−1,1) = W_d and
  β_χ = −(W_s + W_d), exact in reals.
* The stored tables f̂ = fl(f*) satisfy |ℓ̂ − ℓ*| ≤ ε_lr |ℓ̂| (same for r), |û − u*| ≤
  ε_u |û| and |β̂ − β*| ≤ ε_β; ``irrep_bound`` carries these into the proof.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rhoproof.explain.idealize import IdealCircuit
from rhoproof.groups import Group
from rhoproof.model import Folded
from rhoproof.rounding import SAFE_HIGH, SAFE_LOW, TINY, U
from rhoproof.verify.records import ProofCircuit, RhoSetProof, SignProof
from rhoproof.verify.symmetry import pair_orbits

POINT_TOL = 1e-6
"""How close ρ(g)b_p must be to a point of B for the nearest-point map to be accepted."""


class ProofCheckError(ValueError):
    """A check the proof relies on failed; the circuit cannot be used."""


def in_range(t: torch.Tensor, name: str) -> torch.Tensor:
    """A table of f*'s definition put into the safe range [R]: magnitudes below 2⁻⁶⁴ become
    0 (f* is *defined* by the stored tables, so any values give a valid ideal), magnitudes
    above 2⁶⁴ make the circuit unusable."""
    t = t.to(torch.float64)
    if not bool(torch.isfinite(t).all()) or (t.numel() and float(t.abs().max()) > SAFE_HIGH):
        raise ProofCheckError(f"{name} is outside the safe range 2^±64")
    return torch.where(t.abs() < SAFE_LOW, torch.zeros_like(t), t)


def _scalar_in_range(v: float, name: str) -> float:
    return float(in_range(torch.tensor([v], dtype=torch.float64), name)[0])


def action_table(group: Group, rho: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """act[g, p] = index of ρ(g) points[p] among ``points``, checked to be a group action.

    rho: [|G|, d, d], points: [n, d] → [|G|, n] int64. Raises ProofCheckError if some
    ρ(g)b_p is farther than POINT_TOL from every point, or if the map is not an action.
    """
    images = torch.einsum("gde,pe->gpd", rho, points)  # [|G|, n, d]
    # the nearest point by ‖a‖² − 2a·b + ‖b‖² (one product), then its distance directly
    sq = (points * points).sum(1)  # [n]
    act = (sq[None, None] - 2 * images @ points.T).argmin(dim=2)  # [|G|, n]
    best = (images - points[act]).norm(dim=2)  # [|G|, n]
    if float(best.max()) > POINT_TOL:
        raise ProofCheckError(f"not a ρ-set: some ρ(g)b is {float(best.max()):.2e} from every "
                              f"point")
    n = points.shape[0]
    ident = torch.arange(n)
    if not torch.equal(act[group.identity], ident):
        raise ProofCheckError("not a ρ-set: the identity does not fix every point")
    table = group.table
    for s in group.generators:
        # act[s·h, p] must equal act[s, act[h, p]] for every h and p
        if not torch.equal(act[table[s]], act[s][act]):
            raise ProofCheckError("not a ρ-set: the nearest-point map is not a group action")
    if not bool((torch.sort(act, dim=1).values == ident).all()):
        raise ProofCheckError("not a ρ-set: some ρ(g) does not permute the points")
    return act


@dataclass
class ExactIdeal:
    """The float tables f̂ of the exactly bi-equivariant f* and their error bounds."""

    folded: Folded  # one instance, float64: f̂
    eps_lr: float  # |ℓ̂ − ℓ*| ≤ eps_lr |ℓ̂| and |r̂ − r*| ≤ eps_lr |r̂|, entrywise
    eps_u: float  # |û − u*| ≤ eps_u |û|, entrywise
    eps_bias: float  # |β̂ − β*| ≤ eps_bias, entrywise
    circuits: list[str]
    excluded: list[str]  # circuits dropped because a proof check failed, with the reason
    proof: list[ProofCircuit]  # per used circuit, the tables that define f* (``proof_json``)
    t0: float  # the bias's constant part
    symmetry: torch.Tensor | None = None  # [k, 2] generators of H [H1]; None: all of G × G


def _pair_totals(weight: torch.Tensor, pair: torch.Tensor, n_pairs: int) -> torch.Tensor:
    """Σ_{i on pair j} ω_i per pair, correctly rounded (math.fsum), so a checker gets the same
    floats in any summation order; 0 for a pair without neurons. [n_pairs]"""
    groups: list[list[float]] = [[] for _ in range(n_pairs)]
    for j, w in zip(pair.tolist(), weight.tolist()):
        groups[j].append(w)
    return torch.tensor([math.fsum(ws) for ws in groups], dtype=torch.float64)


def _shares(weight: torch.Tensor, pair: torch.Tensor, totals: torch.Tensor
            ) -> tuple[torch.Tensor, int]:
    """c_i = ω_i / Σ_{pair} ω (float; ``totals`` from ``_pair_totals``) and the largest pair
    size (for the rounding bound)."""
    if (totals[pair] == 0).any():
        raise ProofCheckError("a pair of the double sum has zero total weight")
    return weight / totals[pair], int(torch.bincount(pair, minlength=len(totals)).max())


def _symmetric_weights(group: Group, c: IdealCircuit, act_b: torch.Tensor, act_c: torch.Tensor,
                       gens: torch.Tensor, totals: torch.Tensor) -> torch.Tensor:
    """[H1] The pair weights W [n_b, n_c] of a circuit under the partial symmetry H generated
    by ``gens``: on each H-orbit of pairs the mean of the pairs' total weights (one float per
    orbit, so W is exactly H-invariant; checked), 0 off the pairs present. The pairs present
    must be a union of H-orbits."""
    nb, nc = act_b.shape[1], act_c.shape[1]
    pair = c.p * nc + c.q
    present = torch.bincount(pair, minlength=nb * nc) > 0
    label = pair_orbits(group, act_b, act_c, gens)
    if not torch.equal(present, present[label]):
        raise ProofCheckError("the pairs present are not invariant under the symmetry")
    w = torch.zeros(nb * nc, dtype=torch.float64)
    for lab in torch.unique(label[present]).tolist():
        members = label == lab
        w[members] = math.fsum(totals[members].tolist()) / int(members.sum())
    w = in_range(w, "W")
    inv = torch.from_numpy(group.inverses.copy())
    for s, h in gens.tolist():  # W[s·p, h⁻¹·q] = W[p, q]
        moved = w[(act_b[s][:, None] * nc + act_c[int(inv[h])][None, :]).reshape(-1)]
        if not torch.equal(moved, w):
            raise ProofCheckError("the pair weights are not invariant under the symmetry")
    return w.reshape(nb, nc)


def _check_neurons(c: IdealCircuit, m: int, taken: set[int]) -> None:
    """Neurons in range, used once, with positive scales (ReLU is only positively
    homogeneous)."""
    neurons = c.neurons.tolist()
    if any(not 0 <= i < m for i in neurons) or len(set(neurons)) != len(neurons):
        raise ProofCheckError("neuron indices out of range or repeated")
    if taken.intersection(neurons):
        raise ProofCheckError("a neuron is claimed by two circuits")
    if not bool((c.scale > 0).all()):
        raise ProofCheckError("a neuron scale is not positive")
    if not bool(((c.scale >= SAFE_LOW) & (c.scale <= SAFE_HIGH)).all()):
        raise ProofCheckError("a neuron scale is outside the safe range 2^±64")
    w = c.weight.abs()
    if not bool((((w >= SAFE_LOW) | (w == 0)) & (w <= SAFE_HIGH)).all()):
        raise ProofCheckError("a neuron weight is outside the safe range 2^±64")


def _circuit_tables(group: Group, c: IdealCircuit, out: dict[str, torch.Tensor],
                    gens: torch.Tensor | None = None) -> tuple[float, RhoSetProof]:
    """Fill the circuit's neurons; returns the relative error bound of its û entries and the
    tables that define f* (what a checker needs). Without ``gens`` the double sum must be
    complete and every pair weighs the same W; with them, pair weights are H-invariant [H1]."""
    rho = group.irrep(c.irrep).tensor()
    act_b = action_table(group, rho, c.points_b)
    act_c = action_table(group, rho, c.points_c)
    nb, nc = c.points_b.shape[0], c.points_c.shape[0]
    pair = c.p * nc + c.q
    totals = _pair_totals(c.weight, pair, nb * nc)
    w: float | torch.Tensor
    if gens is None:
        if (torch.bincount(pair, minlength=nb * nc) == 0).any():
            raise ProofCheckError("double sum incomplete")
        w = _scalar_in_range(float(torch.zeros(nb * nc, dtype=torch.float64).index_add_(
            0, pair, c.weight).mean()), "the pair weight W")
        w_i: float | torch.Tensor = w
    else:
        w = _symmetric_weights(group, c, act_b, act_c, gens, totals)
        w_i = w.reshape(-1)[pair]
    share, max_pair = _shares(c.weight, pair, totals)
    alpha = in_range(c.points_b @ c.a, "α")  # [nb] stored: part of f*'s definition
    gamma = in_range(c.ratio * (c.points_c @ c.a), "γ")  # [nc]
    k = c.points_b @ c.points_c.T  # [nb, nc]
    images = act_b[:, :, None] * nc + act_c[:, None, :]  # [|G|, nb, nc]: g·(p, q)
    label = images.min(dim=0).values.reshape(-1)  # smallest pair index in the orbit
    _, inverse = torch.unique(label, return_inverse=True)
    sums = torch.zeros(int(inverse.max()) + 1, dtype=torch.float64).index_add_(
        0, inverse, k.reshape(-1))
    sizes = torch.bincount(inverse).to(torch.float64)
    k_orbit = in_range((sums / sizes)[inverse].reshape(nb, nc), "K")  # one float per orbit
    inv = torch.from_numpy(group.inverses.copy())
    lam, p, q, neurons = c.scale, c.p, c.q, c.neurons
    out["left"][:, neurons] = lam[None] * alpha[act_b[inv][:, p]]  # [G, n]
    out["right"][:, neurons] = lam[None] * gamma[act_c[:, q]]
    out["unembed"][neurons] = _no_underflow(share, c.weight, w_i, lam,
                                            k_orbit[p[:, None], act_c[:, q].T])
    tables = RhoSetProof(c.irrep, neurons, act_b, act_c, alpha, gamma, k_orbit, w, p, q, lam,
                         c.weight)
    # û = fl(fl(fl(c·W)/λ)·K) with c = fl(ω / fl(Σ_pair ω)): γ_{max_pair} + 5 roundings
    return (max_pair + 8) * U * 1.01, tables


def _no_underflow(share: torch.Tensor, weight: torch.Tensor, w: float | torch.Tensor,
                  lam: torch.Tensor, kz: torch.Tensor) -> torch.Tensor:
    """û = fl(fl(fl(c·W)/λ)·K), refused if a step whose exact value is nonzero fell below
    2⁻¹⁰⁰⁰: the relative bound ε_u|û| holds only without underflow (§3.1)."""
    w_t = torch.as_tensor(w, dtype=torch.float64).expand(share.shape)
    cw = share * w_t
    cwl = cw / lam
    u_hat = cwl[:, None] * kz
    live = (weight != 0) & (w_t != 0)
    small = 2.0**-1000
    if not bool((torch.stack([share, cw, cwl])[:, live].abs() >= small).all()) or \
            not bool((u_hat[live[:, None] & (kz != 0)].abs() >= small).all()):
        raise ProofCheckError("an entry of the ideal unembedding underflows")
    return u_hat


def _one_dim_tables(group: Group, c: IdealCircuit, out: dict[str, torch.Tensor]
                    ) -> tuple[float, torch.Tensor, float, SignProof]:
    """Fill a 1-d circuit; returns (β_χ, χ as exact ±1, relative error bound of its û, the
    tables that define it)."""
    raw = torch.from_numpy(group.irrep(c.irrep).character.copy())
    chi = torch.sign(raw)
    if float((raw - chi).abs().max()) > 1e-9:
        raise ProofCheckError(f"{c.irrep} is not a ±1 character")
    table = group.table
    if not torch.equal(chi[table], chi[:, None] * chi[None, :]):
        raise ProofCheckError(f"{c.irrep}: χ(gh) ≠ χ(g)χ(h)")
    b = 1.0 - 2.0 * c.p.to(torch.float64)  # ±1
    cc = 1.0 - 2.0 * c.q.to(torch.float64)
    same = b == cc
    classes = {("s", 1.0): same & (b == 1), ("s", -1.0): same & (b == -1),
               ("d", 1.0): ~same & (b == 1), ("d", -1.0): ~same & (b == -1)}
    w_class = {}
    for key in ("s", "d"):
        plus, minus = classes[(key, 1.0)], classes[(key, -1.0)]
        if bool(plus.any()) != bool(minus.any()):
            raise ProofCheckError(f"{c.irrep}: mirrored classes not both present")
        w_class[key] = _scalar_in_range(float((c.weight[plus].sum() + c.weight[minus].sum())
                                              / 2), "a sign-circuit weight")
    share = torch.zeros_like(c.weight)
    for members in classes.values():
        if members.any():
            total = math.fsum(c.weight[members].tolist())
            if total == 0:
                raise ProofCheckError(f"{c.irrep}: a class has zero total weight")
            share[members] = c.weight[members] / total
    lam, neurons = c.scale, c.neurons
    wc = torch.where(same, torch.tensor(w_class["s"], dtype=torch.float64),
                     torch.tensor(w_class["d"], dtype=torch.float64))  # [n]
    out["left"][:, neurons] = (lam * b)[None] * chi[:, None]
    out["right"][:, neurons] = (lam * cc)[None] * chi[:, None]
    out["unembed"][neurons] = _no_underflow(share, c.weight, wc, lam,
                                            chi[None].expand(len(wc), -1))
    largest = max(int(m.sum()) for m in classes.values())
    tables = SignProof(c.irrep, neurons, chi.to(torch.int64), c.p, c.q, lam, c.weight,
                       w_class["s"], w_class["d"])
    return -(w_class["s"] + w_class["d"]), chi, (largest + 8) * U * 1.01, tables


def proof_json(proof: list[ProofCircuit]) -> list[dict]:
    """The proof tables as JSON-ready lists (for a certificate)."""
    return [c.to_json() for c in proof]


def exact_ideal(group: Group, m: int, circuits: list[IdealCircuit], bias: torch.Tensor,
                symmetry: torch.Tensor | None = None) -> ExactIdeal:
    """The exactly bi-equivariant f* (as float tables f̂ with error bounds) from the
    explanation's idealized circuits; the bias keeps the original's trivial part. With
    ``symmetry`` ([k, 2] generators of H ≤ G × G^op), f* is only H-equivariant [H1]: circuits
    may be incomplete and their pair weights vary across H-orbits.

    Circuits whose checks fail are left out (their neurons are zero) and listed.
    """
    g = group.order
    out = {"left": torch.zeros(g, m, dtype=torch.float64),
           "right": torch.zeros(g, m, dtype=torch.float64),
           "unembed": torch.zeros(m, g, dtype=torch.float64)}
    t0 = float(bias.to(torch.float64).mean())
    try:
        t0 = _scalar_in_range(t0, "t0")
    except ProofCheckError:
        t0 = 0.0
    bias_terms: list[tuple[float, torch.Tensor]] = []
    eps_u = 4 * U
    used: list[str] = []
    excluded: list[str] = []
    proof: list[ProofCircuit] = []
    taken: set[int] = set()
    for c in circuits:
        saved = {k: v.clone() for k, v in out.items()}
        try:
            _check_neurons(c, m, taken)
            tables: ProofCircuit
            if c.points_b.shape[1] == 1:
                beta, chi, eps, tables = _one_dim_tables(group, c, out)
                bias_terms.append((beta, chi))
            else:
                eps, tables = _circuit_tables(group, c, out, symmetry)
            eps_u = max(eps_u, eps)
            taken.update(c.neurons.tolist())
            proof.append(tables)
            used.append(c.irrep)
        except ProofCheckError as exc:
            out = saved
            excluded.append(f"{c.irrep}: {exc}")
    bias_hat = torch.full((g,), t0, dtype=torch.float64)
    for beta, chi in bias_terms:
        bias_hat = bias_hat + beta * chi
    # β* = t0 + Σ β_χ χ with β_χ = −(W_s + W_d) real: one rounding each, then the sum
    magnitude = abs(t0) + sum(abs(beta) for beta, _ in bias_terms)
    eps_bias = (2 * len(bias_terms) + 4) * U * 1.01 * magnitude + TINY
    folded = Folded(out["left"][None], out["right"][None], out["unembed"][None], bias_hat[None])
    return ExactIdeal(folded, 2 * U, eps_u, eps_bias, used, excluded, proof, t0, symmetry)
