"""Helpers for testing soundness, shipped so users can attack their own models: the exact truth
of a stored model by rational arithmetic, ``assert_sound``, and generators of adversarial
models and certificates (used by ``tests/`` and ``bench/adversarial.py``).

The truth here is written independently of ``rhoproof.exact`` and ``rhoproof.check``: every
stored float becomes an integer times one common power of two, logits are integer dot
products, and the cross-entropy is evaluated with ``decimal`` at 50 significant digits from the
exact logit differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rhoproof.groups import Group
from rhoproof.model import Folded, GroupMLP

_CTX = Context(prec=50, Emax=10**8, Emin=-10**8, traps=[])


@dataclass(frozen=True)
class Truth:
    """The stored model's exact behaviour, one instance.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof import zoo
    >>> from rhoproof.testing import exact_truth
    >>> t = exact_truth(zoo.load("S4", n_models=1), group("S4"))
    >>> t.correct, t.inputs, t.accuracy, str(t.cross_entropy)[:8]
    (576, 576, 1.0, '0.006369')
    """

    correct: int  # inputs whose correct logit is strictly the largest
    inputs: int
    cross_entropy: Decimal  # mean CE to 50 digits (rounded to nearest)
    mask: np.ndarray | None = None  # [G, G] bool: which inputs are correct

    def covers(self, certified: Any) -> bool:
        """Whether every input marked in ``certified`` ([G, G] bool) is truly correct."""
        assert self.mask is not None
        return not bool((np.asarray(certified, dtype=bool) & ~self.mask).any())

    @property
    def accuracy(self) -> float:
        return self.correct / self.inputs


def _scaled(arrays: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Every entry as an integer times 2**e0 (one e0 for all arrays)."""
    fr = [[Fraction(float(v)) for v in a.ravel()] for a in arrays]
    dens = [f.denominator for row in fr for f in row if f]
    e0 = -max(d.bit_length() - 1 for d in dens) if dens else 0
    out = []
    for a, row in zip(arrays, fr):
        ints = np.empty(a.size, dtype=object)
        ints[:] = [int(f * Fraction(2) ** -e0) for f in row]
        out.append(ints.reshape(a.shape))
    return out, e0


def exact_truth(model: GroupMLP | Folded, group: Group, k: int = 0) -> Truth:
    """Exact accuracy and 50-digit cross-entropy of instance k over all |G|² inputs.

    Rational arithmetic on the stored floats: the ground truth every soundness test uses.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.testing import exact_truth, planted
    >>> G = group("S3")
    >>> exact_truth(planted(G, "2d-0", 2), G).accuracy
    1.0
    """
    t = {n: v[k].detach().cpu().to(torch.float64).numpy() for n, v in model.tensors().items()}
    if isinstance(model, Folded):
        (left, right, u, b), e0 = _scaled([t["left"], t["right"], t["unembed"], t["bias"]])
        e_h = e0
    else:
        (el, wl, er, wr, u, b), e0 = _scaled([t["embedding_left"], t["linear_left"],
                                              t["embedding_right"], t["linear_right"],
                                              t["unembedding"], t["unembed_bias"]])
        left, right, e_h = el @ wl, er @ wr, 2 * e0
    g = group.order
    table = group.table_np
    correct, total = 0, Decimal(0)
    mask = np.zeros((g, g), dtype=bool)
    for x in range(g):
        hid = left[x][None, :] + right  # [y, m] at 2**e_h
        hid = np.where(hid > 0, hid, 0)
        # e0, e_h ≤ 0: the products are at 2**(e_h + e0), β moves there exactly
        logits = hid @ u + b[None, :] * (1 << -e_h)
        scale = e_h + e0
        for y in range(g):
            c = int(table[x, y])
            row = logits[y]
            diffs = [int(row[z]) - int(row[c]) for z in range(g) if z != c]
            mask[x, y] = all(d < 0 for d in diffs)
            correct += bool(mask[x, y])
            total = _CTX.add(total, _ce(diffs, scale))
    return Truth(correct, g * g, _CTX.divide(total, Decimal(g * g)), mask)


def _ce(diffs: list[int], scale: int) -> Decimal:
    """log(1 + Σ e^{d·2^scale}) to 50 digits, stably (factor out the largest exponent). Every
    operation, sums included, runs in the 50-digit context."""
    with localcontext(_CTX):
        two = Decimal(2) ** scale
        vals = [Decimal(d) * two for d in diffs] + [Decimal(0)]
        top = max(vals)
        # log(e^top · (1 + r)) with r the sum over all but one largest term, log1p(r) by its
        # series when r is small, so that a tiny cross-entropy keeps all 50 digits
        terms = sorted((+(v - top).exp() for v in vals), reverse=True)[1:]
        r = sum(terms, Decimal(0))
        if r < Decimal("1e-6"):
            return top + sum(((-1) ** (j + 1) * r**j / j for j in range(1, 12)), Decimal(0))
        return top + (1 + r).ln()


class UnsoundBound(AssertionError):
    """A certified bound contradicts the exact truth."""


def assert_sound(accuracy: float, cross_entropy: float, truth: Truth) -> None:
    """Raise UnsoundBound if a certified accuracy is above the truth or a certified CE below it.

    A real exception, not an ``assert``: it also fires under ``python -O``.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof import zoo
    >>> from rhoproof.testing import assert_sound, exact_truth
    >>> from rhoproof.verify.certificate import certify_model
    >>> model, G = zoo.load("S4", n_models=1), group("S4")
    >>> cert = certify_model(model, G, 0)
    >>> assert_sound(cert.accuracy, cert.cross_entropy, exact_truth(model, G))
    >>> assert_sound(1.0, 0.001, exact_truth(model, G))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rhoproof.testing.UnsoundBound: ...
    """
    if not accuracy <= truth.accuracy:
        raise UnsoundBound(f"certified accuracy {accuracy!r} is above the true "
                           f"{truth.accuracy!r}")
    if not (cross_entropy == math.inf or Decimal(cross_entropy) >= truth.cross_entropy):
        raise UnsoundBound(f"certified cross-entropy {cross_entropy!r} is below the true "
                           f"{truth.cross_entropy}")


def claim_is_justified(cert: dict[str, Any], truth: Truth) -> bool:
    """Whether a certificate's claims hold for the stored model.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof import zoo
    >>> from rhoproof.testing import claim_is_justified, exact_truth
    >>> from rhoproof.verify.certificate import certify_model
    >>> model, G = zoo.load("S4", n_models=1), group("S4")
    >>> cert = certify_model(model, G, 0).to_json()
    >>> claim_is_justified(cert, exact_truth(model, G))
    True
    >>> claim_is_justified({**cert, "cross_entropy": 0.0}, exact_truth(model, G))
    False
    """
    try:
        count, ce = int(cert["certified_inputs"]), float(cert["cross_entropy"])
    except (KeyError, TypeError, ValueError):
        return True  # no numeric claim: nothing to justify (the checker must reject it)
    return count <= truth.correct and (ce == math.inf or (not math.isnan(ce)
                                                          and Decimal(ce) >= truth.cross_entropy))


__all__ = ["Truth", "UnsoundBound", "assert_sound", "claim_is_justified", "exact_truth"]


def rho_set(group: Group, irrep: str, stabilizer_order: int) -> tuple[torch.Tensor, torch.Tensor]:
    """ρ and the orbit of a vector fixed by a subgroup of the given order.

    Shapes: ρ is [|G|, d, d], the orbit [n, d] with n = |G| / the subgroup's order.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.testing import rho_set
    >>> rho, points = rho_set(group("A5"), "3d-0", 5)  # the icosahedron's 12 vertices
    >>> tuple(rho.shape), tuple(points.shape)
    ((60, 3, 3), (12, 3))
    """
    rho = group.irrep(irrep).tensor()
    h = next(s for s in group.subgroups if len(s) == stabilizer_order)
    vecs, _, _ = torch.linalg.svd(rho[sorted(h)].mean(0))
    reps = [min(c) for c in group.left_cosets(h)]
    return rho, rho[reps] @ vecs[:, 0]


def planted(group: Group, irrep: str, stabilizer_order: int, *, noise: float = 0.0,
            dead: int = 2, seed: int = 0) -> Folded:
    """A float64 folded model of one complete ρ-set double sum, with known idealization.

    Its neurons are the double sum B × (−B) for ``irrep`` (positive scales drawn from ``seed``),
    plus ``dead`` dead neurons and a bias; plus Gaussian ``noise``. Its idealization is the
    planted circuit.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.testing import planted
    >>> f = planted(group("S4"), "3d-0", 6)  # B = the tetrahedron: 4 x 4 neurons, 2 dead
    >>> tuple(f.left.shape), f.left.dtype
    ((1, 24, 18), torch.float64)
    """
    gen = torch.Generator().manual_seed(seed)
    rho, pts = rho_set(group, irrep, stabilizer_order)
    d = rho.shape[1]
    a = torch.randn(d, dtype=torch.float64, generator=gen)
    cols_l, cols_r, rows_u = [], [], []
    for p in range(len(pts)):
        for q in range(len(pts)):
            s = 0.5 + float(torch.rand(1, generator=gen, dtype=torch.float64))
            cols_l.append(s * torch.einsum("d,gde,e->g", pts[p], rho, a))
            cols_r.append(s * torch.einsum("d,gde,e->g", a, rho, -pts[q]))
            rows_u.append(torch.einsum("d,gde,e->g", pts[p], rho, -pts[q]) / s)
    g = group.order
    left = torch.cat([torch.stack(cols_l, 1), torch.zeros(g, dead, dtype=torch.float64)], 1)
    right = torch.cat([torch.stack(cols_r, 1), torch.zeros(g, dead, dtype=torch.float64)], 1)
    unembed = torch.cat([torch.stack(rows_u, 0), torch.zeros(dead, g, dtype=torch.float64)], 0)
    bias = 0.1 * torch.randn(g, dtype=torch.float64, generator=gen)
    if noise:
        left = left + noise * torch.randn(left.shape, dtype=torch.float64, generator=gen)
        right = right + noise * torch.randn(right.shape, dtype=torch.float64, generator=gen)
        unembed = unembed + noise * torch.randn(unembed.shape, dtype=torch.float64,
                                                generator=gen)
    return Folded(left[None], right[None], unembed[None], bias[None])


def clock(group: Group, m: int, *, phases: str = "random", frequencies: int = 2,
          noise: float = 0.0, seed: int = 0) -> Folded:
    """A float64 folded clock model: modular addition's mechanism, on complex-type irreps.

    It uses the first ``frequencies`` complex-type irreps (for C_p, frequencies 1, 2, …).

    Neuron i uses one of those irreps ρ and unit vectors b_i, c_i: ReLU(b_iᵀρ(x)a + aᵀρ(y)c_i)
    with unembedding b_iᵀρ(z)c_i, so the phases are the angles of b_i and c_i. ``phases``:
    ``"exact"`` (per irrep, every pair (b, c) of a regular k-gon B and C = −B: a complete
    ρ-set double sum, the neurons left over dead), ``"random"`` (uniform angles) or
    ``"misaligned"`` (random, and u's c_i turned by up to 0.5 rad). Plus Gaussian ``noise``
    on ℓ and u, and a small bias.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.testing import clock
    >>> tuple(clock(group("C7"), 12).unembed.shape)
    (1, 12, 7)
    """
    gen = torch.Generator().manual_seed(seed)
    rhos = [r for r in group.irreps if r.type == "complex"][:max(1, frequencies)]
    if not rhos:
        raise ValueError(f"{group.spec} has no complex-type irrep")
    g = group.order
    a = torch.tensor([1.0, 0.0], dtype=torch.float64)
    k = max(1, int(math.isqrt(m // len(rhos))))
    angles: list[tuple[int, float, float, float]] = []  # (irrep, θ_b, θ_c, u's θ_c)
    for i in range(m):
        j = i % len(rhos)
        if phases == "exact":
            n = i // len(rhos)
            if n >= k * k:
                continue  # dead
            tb, tc = 2 * math.pi * (n // k) / k, 2 * math.pi * (n % k) / k + math.pi
        else:
            tb, tc = (2 * math.pi * float(t) for t in torch.rand(2, generator=gen,
                                                                 dtype=torch.float64))
        turn = 0.5 * (2 * float(torch.rand(1, generator=gen, dtype=torch.float64)) - 1) \
            if phases == "misaligned" else 0.0
        angles.append((j, tb, tc, tc + turn))
    left = torch.zeros(g, m, dtype=torch.float64)
    right = torch.zeros(g, m, dtype=torch.float64)
    unembed = torch.zeros(m, g, dtype=torch.float64)
    for i, (j, tb, tc, tu) in enumerate(angles):
        rho = rhos[j].tensor(torch.float64)  # [G, 2, 2]
        b, c, cu = (torch.tensor([math.cos(t), math.sin(t)], dtype=torch.float64)
                    for t in (tb, tc, tu))
        left[:, i] = torch.einsum("d,gde,e->g", b, rho, a)
        right[:, i] = torch.einsum("d,gde,e->g", a, rho, c)
        unembed[i] = torch.einsum("d,gde,e->g", b, rho, cu)
    bias = 0.01 * torch.randn(g, dtype=torch.float64, generator=gen)
    if noise:
        left = left + noise * torch.randn(left.shape, dtype=torch.float64, generator=gen)
        unembed = unembed + noise * torch.randn(unembed.shape, dtype=torch.float64,
                                                generator=gen)
    return Folded(left[None], right[None], unembed[None], bias[None])


# --- adversarial models and certificates ------------------------------------------------------

SCALES = (-300, -163, -70, -64, -40, 0, 40, 64, 70, 153, 300)
"""Powers of two by which adversarial models are scaled (predictions are unchanged)."""


def _scaled_model(f: Folded, a: int, b: int) -> Folded:
    """ℓ, r times 2^a, u times 2^b, β times 2^(a+b): the same predictions (exactly, unless a
    value leaves the float range)."""
    return Folded(f.left * 2.0**a, f.right * 2.0**a, f.unembed * 2.0**b, f.bias * 2.0**(a + b))


def _unfolded(f: Folded, dtype: torch.dtype, rng: np.random.Generator) -> GroupMLP:
    """An unfolded model whose fold E W approximates f's ℓ, r with rounding in every entry."""
    g = f.left.shape[1]
    d = g + 2
    out = {}
    for side, name in (("left", "embedding_left"), ("right", "embedding_right")):
        e = torch.from_numpy(rng.standard_normal((g, d))).to(dtype)
        w = torch.linalg.lstsq(e.double(), getattr(f, side)[0]).solution.to(dtype)
        out[name], out["linear_" + side] = e[None], w[None]
    out["unembedding"] = f.unembed.to(dtype)
    out["unembed_bias"] = f.bias.to(dtype)
    return GroupMLP.from_tensors(out)


def _ulp_nudge(t: torch.Tensor, rng: np.random.Generator, count: int) -> torch.Tensor:
    a = t.detach().cpu().numpy().copy()
    flat = a.reshape(-1)
    for i in rng.choice(flat.size, size=min(count, flat.size), replace=False):
        flat[i] = np.nextafter(flat[i], np.inf if rng.random() < 0.5 else -np.inf)
    return torch.from_numpy(a)


def adversarial_model(rng: np.random.Generator, group_of: Any) -> tuple[str, Group, Any]:
    """(description, group, stored model) drawn from the adversarial families: planted circuits
    (float64/float32, folded/unfolded, scaled by 2^±300), dead neurons with huge ℓ and tiny u,
    random models, exact ties, ties nudged by one ulp, subnormals."""
    kind = rng.choice(["planted", "planted_unfolded", "dead_huge", "random", "ties",
                       "near_tie", "subnormal", "clock"])
    if kind == "clock":  # modular addition's mechanism: exact, random, misaligned phases
        spec = str(rng.choice(["C5", "C7", "C11", "C3xC3", "C31"]))
        grp = group_of(spec)
        phases = str(rng.choice(["exact", "random", "misaligned"]))
        noise = float(rng.choice([0.0, 1e-3, 0.1, 0.5]))
        m = int(rng.choice([6, 12, 24, 48]))
        f = clock(grp, m, phases=phases, frequencies=int(rng.integers(1, 4)), noise=noise,
                  seed=int(rng.integers(1 << 30)))
        a, b = int(rng.choice(SCALES)), int(rng.choice(SCALES))
        dtype = torch.float64 if rng.random() < 0.6 else torch.float32
        if dtype == torch.float32:
            a, b = int(np.clip(a, -60, 60)), int(np.clip(b, -60, 60))
        f = _scaled_model(f, a, b).to(dtype)
        if rng.random() < 0.3:  # a near-tie: one ulp nudges
            f = Folded(*(_ulp_nudge(t, rng, 2) for t in f.tensors().values()))
        return f"clock {spec} {phases} m={m} noise {noise} 2^{a}/2^{b} {dtype}", grp, f
    if kind in ("planted", "planted_unfolded", "dead_huge"):
        spec, irrep, stab = [("S3", "2d-0", 2), ("S4", "3d-0", 6)][int(rng.random() < 0.25)]
        grp = group_of(spec)
        noise = float(rng.choice([0.0, 1e-4, 1e-3, 1e-2]))
        f = planted(grp, irrep, stab, noise=noise, seed=int(rng.integers(1 << 30)))
        if kind == "dead_huge":  # the last two neurons: ℓ = 2^s (huge), u = 2^-t (tiny)
            s, t = int(rng.choice([40, 70, 153, 300])), int(rng.choice([40, 70, 163, 300]))
            left, unembed = f.left.clone(), f.unembed.clone()
            left[0, :, -2:] = 2.0**s * (1 + torch.rand(grp.order, 2, dtype=torch.float64))
            unembed[0, -2:] = 2.0**-t * torch.randn(2, grp.order, dtype=torch.float64)
            f = Folded(left, f.right, unembed, f.bias)
            return f"dead_huge 2^{s} 2^-{t} {spec} noise {noise}", grp, f
        a, b = int(rng.choice(SCALES)), int(rng.choice(SCALES))
        if kind == "planted_unfolded" or rng.random() < 0.3:
            a, b = int(np.clip(a, -40, 40)), int(np.clip(b, -40, 40))
            dtype = torch.float32
        else:
            dtype = torch.float64
        f = _scaled_model(f, a, b)
        desc = f"{kind} {spec} noise {noise} 2^{a}/2^{b} {dtype}"
        if kind == "planted_unfolded":
            return desc, grp, _unfolded(f, dtype, rng)
        return desc, grp, f.to(dtype)
    spec = str(rng.choice(["C2", "C3", "S3", "C2xC2", "D4"]))
    grp = group_of(spec)
    g, m = grp.order, int(rng.integers(2, 9))
    if kind in ("ties", "near_tie"):
        ints = [torch.from_numpy(rng.integers(-2, 3, size=s).astype(np.float32))[None]
                for s in ((g, m), (g, m), (m, g), (g,))]
        f = Folded(*ints)
        if kind == "near_tie":
            f = Folded(*(_ulp_nudge(t, rng, 2) for t in f.tensors().values()))
        return f"{kind} {spec} m={m}", grp, f
    dtype = torch.float64 if rng.random() < 0.6 else torch.float32
    model = GroupMLP(g, 1, int(rng.integers(2, 6)), m, seed=int(rng.integers(1 << 30)),
                     dtype=dtype)
    if kind == "subnormal":
        tiny = 5e-324 if dtype == torch.float64 else 1e-45
        with torch.no_grad():
            for p in model.parameters():
                mask = torch.from_numpy(rng.random(tuple(p.shape)) < 0.3)
                p[mask] = tiny * torch.from_numpy(rng.integers(1, 4, size=tuple(p.shape))).to(
                    dtype)[mask]
        return f"subnormal {spec} {dtype}", grp, model
    if rng.random() < 0.5:
        return f"random unfolded {spec} {dtype}", grp, model
    f = model.fold().detach()
    a, b = int(rng.choice(SCALES)), int(rng.choice(SCALES))
    if dtype == torch.float32:
        a, b = int(np.clip(a, -60, 60)), int(np.clip(b, -60, 60))
    return f"random folded {spec} {dtype} 2^{a}/2^{b}", grp, _scaled_model(f, a, b)


def lookup_forgery(group: Group, m: int, scale: float, claim: int, ce: float) -> dict:
    """A V_irrep certificate whose 'circuit' is a lookup table on the regular action (B = C =
    G, K[p, q] = −[p ≠ q]) carried by |G|² virtual neurons with scales ``scale``: it passes
    every structural check; it claims ``claim`` inputs and cross-entropy ``ce``."""
    g = group.order
    act = group.table_np.tolist()  # act[h][p] = h·p
    s = [float(2 * i - g + 1) for i in range(g)]
    pairs = [(p, q) for p in range(g) for q in range(g)]
    return {"format": "rhoproof-certificate-3", "method": "irrep", "group": group.spec,
            "group_sha256": group.sha256,
            "instance": 0, "certified_inputs": claim, "accuracy": claim / g**2,
            "cross_entropy": ce, "per_output": "all", "top_k": 24, "virtual_neurons": g * g,
            "t0": 0.0, "proof": [{
                "kind": "rho_set", "irrep": "lookup", "neurons": list(range(m, m + g * g)),
                "act_b": act, "act_c": act, "alpha": s, "gamma": s,
                "k": [[0.0 if p == q else -1.0 for q in range(g)] for p in range(g)],
                "w": 1.0, "p": [p for p, _ in pairs], "q": [q for _, q in pairs],
                "scale": [scale] * (g * g), "weight": [1.0] * (g * g)}]}


def regular_rho_set(group: Group, side: str, claim: int = 1, ce: float = 100.0) -> dict:
    """A V_irrep certificate built to cost the checker memory: one circuit whose ρ-set on
    ``side`` ("B" or "C") is the whole group under the regular action (the other side one
    point), on |G|/8 neurons (the parser's pairs-per-neuron cap), made legal by a symmetry
    H = {e} × G or G × {e}; per_output "all". It claims ``claim`` inputs and cross-entropy
    ``ce`` (red-team finding, session 13: [G, G, G] arrays in the checker before).

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.testing import regular_rho_set
    >>> cert = regular_rho_set(group("S4"), "B")
    >>> len(cert["proof"][0]["alpha"]), len(cert["proof"][0]["neurons"])
    (24, 3)
    """
    g, e = group.order, group.identity
    n = max(1, g // 8)
    regular, point = group.table_np.tolist(), [[0]] * g
    circ: dict = {"kind": "rho_set", "irrep": "regular", "neurons": list(range(n)),
                  "scale": [1.0] * n, "weight": [1.0] * n, "w": 1.0}
    if side == "B":
        circ |= {"alpha": [1.0] * g, "gamma": [1.0], "act_b": regular, "act_c": point,
                 "k": [[1.0]] * g, "p": list(range(n)), "q": [0] * n}
        sym = [[e, h] for h in group.generators]
    else:
        circ |= {"alpha": [1.0], "gamma": [1.0] * g, "act_b": point, "act_c": regular,
                 "k": [[1.0] * g], "p": [0] * n, "q": list(range(n))}
        sym = [[h, e] for h in group.generators]
    return {"format": "rhoproof-certificate-3", "method": "irrep", "group": group.spec,
            "group_sha256": group.sha256, "instance": 0, "certified_inputs": claim,
            "accuracy": claim / g**2, "cross_entropy": ce, "per_output": "all", "top_k": 1,
            "t0": 0.0, "symmetry": {"generators": sym}, "proof": [circ]}


def tampered(cert: dict, rng: np.random.Generator, g: int) -> list[tuple[str, dict]]:
    """Edits of an honest certificate: raised claims (kept self-consistent), lowered CE claims,
    non-finite and extreme floats, scales near underflow, edited supporting data."""
    import copy

    out = []

    def edit(name: str, fn: Any) -> None:
        c = copy.deepcopy(cert)
        try:
            fn(c)
        except (KeyError, IndexError, TypeError, StopIteration):
            return
        out.append((name, c))

    def claim(c: dict, n: int) -> None:
        c["certified_inputs"] = n
        c["accuracy"] = n / g**2

    n0 = int(cert["certified_inputs"])
    if n0 < g * g:
        edit("claim+1", lambda c: claim(c, n0 + 1))
        edit("claim all", lambda c: claim(c, g * g))
    edit("ce/2", lambda c: c.update(cross_entropy=c["cross_entropy"] * 0.5))
    # a certificate pinned to another group: its claim says nothing about this one
    edit("other group", lambda c: c.update(group_sha256=format(
        int(c["group_sha256"], 16) ^ (1 << int(rng.integers(256))), "064x")))
    edit("ce tiny", lambda c: c.update(cross_entropy=1e-300))
    rho = [c for c in cert.get("proof", []) if c.get("kind") == "rho_set"]
    if rho:
        fields = ["alpha", "gamma", "scale", "weight"]
        for value in (float("nan"), float("inf"), 1e308, 5e-324, 2.0**-70, -1.0):
            field = str(rng.choice(fields))
            edit(f"{field}[0]={value}",
                 lambda c, f=field, v=value: [x for x in c["proof"]
                                              if x["kind"] == "rho_set"][0][f].__setitem__(0, v))
        edit("w*2", lambda c: [x for x in c["proof"] if x["kind"] == "rho_set"][0].update(
            w=[x for x in c["proof"] if x["kind"] == "rho_set"][0]["w"] * 2))
        edit("alpha*1.1", lambda c: [x for x in c["proof"] if x["kind"] == "rho_set"][0].update(
            alpha=[a * 1.1 for a in [x for x in c["proof"] if x["kind"] == "rho_set"][0]
                   ["alpha"]]))
        edit("t0+1", lambda c: c.update(t0=c["t0"] + 1.0))
        edit("all scales 1e-163", lambda c: [x.update(scale=[1e-163] * len(x["scale"]))
                                             for x in c["proof"]])
    if "fourier" in cert:  # any B, C is sound: edits move the recomputed count, never the truth
        fo = cert["fourier"]
        m, k = len(fo["coef"]), len(fo["basis"])
        for value in (float("nan"), float("inf"), 1e308, 5e-324, 2.0**-70):
            edit(f"coef[0][0]={value}", lambda c, v=value: c["fourier"]["coef"][0]
                 .__setitem__(0, v))
            edit(f"basis[0][0]={value}", lambda c, v=value: c["fourier"]["basis"][0]
                 .__setitem__(0, v))
        edit("coef*0", lambda c: c["fourier"].update(coef=[[0.0] * k for _ in range(m)]))
        edit("coef*4", lambda c: c["fourier"].update(
            coef=[[4 * v for v in row] for row in c["fourier"]["coef"]]))
        edit("basis rows reversed", lambda c: c["fourier"]["basis"].reverse())
        edit("no exact neurons", lambda c: c["fourier"].update(exact=[]))
        edit("every neuron its own group", lambda c: c["fourier"].update(
            groups=list(range(m))))
        edit("one group", lambda c: c["fourier"].update(groups=[0] * m))
        edit("exact twice", lambda c: c["fourier"].update(exact=[0, 0]))
        edit("group out of range", lambda c: c["fourier"]["groups"].__setitem__(0, m))
        edit("too many rows", lambda c: c["fourier"].update(
            basis=c["fourier"]["basis"] * (g + 1)))
        edit("coef row short", lambda c: c["fourier"]["coef"][0].pop())
        edit("no split", lambda c: c.pop("fourier"))
    if "exact_neurons" in cert:  # [X1]: any R is sound; edits move the recomputed count
        r_set = list(cert["exact_neurons"])
        edit("no exact group", lambda c: c.pop("exact_neurons"))
        edit("exact group emptied", lambda c: c.update(exact_neurons=[]))
        edit("exact group halved", lambda c: c.update(exact_neurons=r_set[::2]))
        if r_set:
            edit("exact neuron twice", lambda c: c["exact_neurons"].append(r_set[0]))
            edit("exact neuron -1", lambda c: c["exact_neurons"].__setitem__(0, -1))
            edit("exact neuron 1.5", lambda c: c["exact_neurons"].__setitem__(0, 1.5))
            edit("exact neuron True", lambda c: c["exact_neurons"].__setitem__(0, True))
        edit("exact neuron out of range", lambda c: c["exact_neurons"].append(10**9))
        edit("exact group, claim all", lambda c: (c.update(certified_inputs=g * g,
                                                           accuracy=1.0)))
        edit("exact group as a string", lambda c: c.update(exact_neurons="0,1"))
    return out


def _exact_group_cases(rng: np.random.Generator, model: Any, grp: Group, truth: Truth,
                       desc: str, m: int, res: dict) -> list[tuple[str, dict]]:
    """[X1] exact groups in V_irrep, both per-output modes: a random R and every neuron (the
    virtual ones included; indices past the proof's layer are dropped by the prover). Each
    bound is judged against the truth per input (into ``res``); returns the honest and
    tampered certificates for the checker."""
    import json

    from rhoproof.verify.certificate import certify_with_bound

    certs: list[tuple[str, dict]] = []
    r_rand = sorted(int(i) for i in rng.choice(m, size=max(1, m // 3), replace=False))
    for label, r_set in (("random R", r_rand), ("all neurons R", list(range(65 * m)))):
        for mode in ("all", "needed"):
            cert_r, bound_r = certify_with_bound(model, grp, 0, "irrep", mode,
                                                 exact_neurons=r_set)
            cert = json.loads(json.dumps(cert_r.to_json()))
            res["bounds"] += 1
            res["nonzero_bounds"] += cert["certified_inputs"] > 0
            res["nonzero_exact_group"] = res.get("nonzero_exact_group", 0) \
                + int(cert["certified_inputs"] > 0)
            if not claim_is_justified(cert, truth) or (
                    bound_r is not None and bound_r.certified is not None
                    and not truth.covers(bound_r.certified)):
                res["unsound"].append(f"{desc}: irrep {label} ({mode}) claims "
                                      f"{cert['certified_inputs']} (truth {truth.correct})")
            certs.append((f"irrep {label} {mode} honest", cert))
            certs += [(f"irrep {label} {mode} {name}", c)
                      for name, c in tampered(cert, rng, grp.order)]
    return certs


def run_case(rng: np.random.Generator, group_of: Any) -> dict:
    """One adversarial case: a model, the exact truth, every verifier's bound, evaluate, and
    every certificate (honest, tampered, forged) through the checker. Returns counts and the
    failures (an unsound bound, a wrong evaluation, an accepted unjustified claim)."""
    import json

    from rhoproof.evaluate import evaluate
    from rhoproof.verify.certificate import (
        CertificateError,
        certify_model,
        certify_with_bound,
        check_stored,
    )

    desc, grp, model = adversarial_model(rng, group_of)
    truth = exact_truth(model, grp)
    res: dict[str, Any] = {
        "case": desc, "bounds": 0, "nonzero_bounds": 0, "unsound": [], "certificates": 0,
        "unjustified": 0, "accepted_unjustified": [], "rejected_honest": [],
        "evaluate_wrong": []}
    ev = evaluate(model, grp)
    low = 0.0 if ev.loss_lower is None else float(ev.loss_lower[0])
    if float(ev.accuracy[0]) != truth.accuracy or not (
            math.isinf(float(ev.loss[0])) or Decimal(float(ev.loss[0])) >= truth.cross_entropy) \
            or Decimal(low) > truth.cross_entropy:
        res["evaluate_wrong"].append(desc)
    g = grp.order
    m = model.d_hidden if isinstance(model, Folded) else int(model.linear_left.shape[2])
    certs: list[tuple[str, dict]] = []
    for method in ("irrep", "coset", "brute", "fourier"):
        cert = json.loads(json.dumps(certify_model(model, grp, 0, method).to_json()))
        res["bounds"] += 1
        res["nonzero_bounds"] += cert["certified_inputs"] > 0
        res[f"nonzero_{method}"] = int(cert["certified_inputs"] > 0)
        if not claim_is_justified(cert, truth):
            res["unsound"].append(f"{desc}: {method} claims {cert['certified_inputs']} "
                                  f"(truth {truth.correct}), CE {cert['cross_entropy']}")
        certs.append((f"{method} honest", cert))
        certs += [(f"{method} {name}", c) for name, c in tampered(cert, rng, g)]
    # per input, in both per-output modes: every certified input, and every input stage 1
    # certifies on its own [S1], is truly correct; stages 2-3 see exactly what stage 1 left
    certs += _exact_group_cases(rng, model, grp, truth, desc, m, res)
    for mode in ("all", "needed"):
        _, bound = certify_with_bound(model, grp, 0, "irrep", mode)
        if bound is None or bound.certified is None:
            continue
        sep = bound.separable
        if not truth.covers(bound.certified) or (sep is not None
                                                 and not truth.covers(sep.mask())):
            res["unsound"].append(f"{desc}: irrep ({mode}) certifies a wrong input")
        if sep is not None:
            xs, ys = sep.undecided()
            left = np.ones((g, g), dtype=bool)
            left[xs.numpy(), ys.numpy()] = False
            if not np.array_equal(left, sep.mask().numpy()) or len(xs) != g * g - sep.certified:
                res["unsound"].append(f"{desc}: stage 1's undecided set is not its complement")
    for scale in (1e-163, 5e-324, 2.0**-64, 1.0, 1e10):
        certs.append((f"lookup forgery scale {scale}",
                      lookup_forgery(grp, m, scale, g * g, 1e-300)))
    for name, cert in certs:
        res["certificates"] += 1
        # a certificate for another group (its group_sha256) justifies nothing about this one
        justified = claim_is_justified(cert, truth) and not name.endswith("other group")
        res["unjustified"] += not justified
        try:
            check_stored(cert, model, grp)
            accepted = True
        except CertificateError:
            accepted = False
        if accepted and not justified:
            res["accepted_unjustified"].append(f"{desc}: {name}")
        if name.endswith("honest") and not accepted:
            res["rejected_honest"].append(f"{desc}: {name}")
    return res


# --- planted models (``rhoproof plant``) ----------------------------------------------------

PLANTED_NOISE = {"unembedding": 0.33, "distance": 0.045, "others": 0.02, "bias": 0.02}
"""Default noise of a planted model, as the size of each of the proof's terms against the
ideal's margin (docs/soundness.md §2): ‖Δu_C(z)‖ N (unembedding), ‖u_C(z)‖ D (distance),
‖u_Z(z)‖ ‖ℓ_Z(x) + r_Z(y)‖ (the neurons outside the circuits) at their medians over outputs
and inputs, and the spread of Δβ: the median over the zoo's S4, A5 and S5 models certified
≥ 95% (per group 0.20 / 0.65 / 0.33, 0.019 / 0.048 / 0.045, 0.020 / 0.000 / 0.043, 0.012 /
0.026 / 0.020; ``bench/planted_noise.py``). White noise at these levels stands in for the
trained models' deviations from their ideals."""

PLANTED_MARGIN = 6.0
"""The planted ideal's logit margin F*(e) − max_{w≠e} F*(w) (the zoo's median is 5.8–6.8)."""


def rho_orbit(group: Group, irrep: str) -> torch.Tensor:
    """A small ρ-set of ``irrep``, [n, d]: the orbit of a vector fixed by many elements.

    The orbit under ρ(G) of a unit vector fixed by as many elements as a greedy pass finds
    (n = |G| / its stabilizer's order).

    No subgroup enumeration (so it runs for S7): the fixed space is cut down element by
    element, elements with the largest character first (they fix the most), keeping an element
    only while something stays fixed. Deterministic.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.testing import rho_orbit
    >>> tuple(rho_orbit(group("S5"), "4d-0").shape)  # the simplex: S4 fixes a vertex
    (5, 4)
    """
    rho = group.irrep(irrep).matrices  # [G, d, d]
    eye = np.eye(rho.shape[1])
    chi = np.round(np.trace(rho, axis1=1, axis2=2), 9)
    rng = np.random.default_rng(0)
    best: np.ndarray | None = None
    for attempt in range(ORBIT_TRIES):  # ties within a character value in a new order each
        tie = np.arange(len(chi)) if attempt == 0 else rng.permutation(len(chi))
        basis = eye
        for g in np.lexsort((tie, -chi)):
            m = (rho[g] - eye) @ basis  # fixed vectors of ρ(g) within span(basis)
            _, s, vt = np.linalg.svd(m)
            null = vt[int((s > 1e-9).sum()):]
            if 0 < len(null) < basis.shape[1]:
                basis, _ = np.linalg.qr(basis @ null.T)
        v = basis[:, 0] / np.linalg.norm(basis[:, 0])
        images = rho @ v  # [G, d]
        _, first = np.unique(np.round(images, 8), axis=0, return_index=True)
        if best is None or len(first) < len(best):
            best = images[np.sort(first)]
    assert best is not None
    return torch.from_numpy(best.copy())


SAMPLE = 4096
"""Random inputs over which ``planted_model`` takes the medians that size its noise."""

ORBIT_TRIES = 8
"""Greedy passes of ``rho_orbit`` (each orders the elements of equal character anew)."""


def _faithful(irrep: Any) -> bool:
    """Whether ρ(g) = I only at the identity (χ(g) = d exactly there)."""
    chi = irrep.character
    return int((np.abs(chi - irrep.dim) < 1e-9).sum()) == 1  # ρ(g) = I only at e


def planted_circuits(group: Group, width: int = 256) -> list[tuple[str, torch.Tensor | None]]:
    """The circuits of ``group``'s planted models, as (irrep name, ρ-set points or None).

    Complete double sums B × (−B) of the
    faithful real-type irrep with the smallest ρ-set (the standard irrep of S_n and A_n) and of
    the next one that fits in ``width`` neurons, plus the sign circuit (``1d`` with a ±1
    character, points None) where the group has one. Raises ValueError when not even the
    first fits.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.testing import planted_circuits
    >>> [(name, None if b is None else len(b)) for name, b in planted_circuits(group("S5"))]
    [('4d-0', 5), ('5d-1', 6), ('1d-1', None)]
    """
    cands = []
    for r in group.irreps:
        if r.type == "real" and r.dim >= 2 and _faithful(r):
            pts = rho_orbit(group, r.name)
            cands.append((len(pts), r.dim, r.name, pts))
    cands.sort(key=lambda c: c[:3])
    sign = [r.name for r in group.irreps if r.dim == 1 and r.name != "1d-0"
            and bool((np.abs(np.abs(r.character) - 1) < 1e-9).all())][:1]
    chosen: list[tuple[str, torch.Tensor | None]] = []
    used = 4 * len(sign)
    for n, _, name, pts in cands:
        if len(chosen) < 2 and used + n * n <= width:
            chosen.append((name, pts))
            used += n * n
    if not cands:
        raise ValueError(f"{group.spec} has no faithful real-type irrep of dimension ≥ 2, so no "
                         f"ρ-set model can be planted (complex-type irreps, e.g. C_n's, are "
                         f"V_fourier's: --method fourier)")
    if not chosen:
        need = min(c[0] ** 2 for c in cands)
        raise ValueError(f"{group.spec}: no faithful real irrep's double sum fits in {width} "
                         f"neurons (the smallest needs {need})")
    return chosen + [(name, None) for name in sign]


def _circuit_scales(mean_squares: list[torch.Tensor], sizes: list[int]) -> torch.Tensor:
    """Per neuron, its circuit's root mean square entry, normalized so that the squares
    average 1 over all circuit neurons: [Σ sizes]."""
    per = torch.cat([ms.sqrt().expand(n) for ms, n in zip(mean_squares, sizes)])
    return per / per.pow(2).mean().sqrt()


def planted_model(group: Group | str, models: int = 1, *, width: int = 256,
                  noise: float = 1.0, seed: int = 0) -> Folded:
    """``models`` float32 folded models of ``group`` whose explanation is known.

    An exact ρ-set ideal (``planted_circuits``) plus noise. ``group`` is a Group or a spec
    such as "S5"; certify the models with ``rhoproof.verify.certificate.certify_model(f, G,
    k)`` (``rhoproof.certify`` takes a run directory: ``plant`` writes one).

    Each circuit's neurons are s·ReLU(b_pᵀρ(x)a + aᵀρ(y)(−b_q)) with unembedding
    b_pᵀρ(z)(−b_q)/s (s uniform in [0.5, 1.5], a a random unit vector), every pair of B × B
    once; the sign circuit's four neurons s·ReLU(bχ(x) + cχ(y)), b, c = ±1, with unembedding
    ±χ(z)/s (+ when b = c). Each circuit is scaled so that F_c(e) is 1 above its next value
    (the sign circuit ties e with its kernel), the sum to margin PLANTED_MARGIN; the
    neurons left over are dead (zero). Then white Gaussian noise on every weight, sized so that
    each of the proof's terms is ``noise`` × PLANTED_NOISE of the margin (the zoo's level), and
    the weights are rounded to float32 (the stored model is the truth). Everything is drawn
    from ``seed``.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.testing import exact_truth, planted_model
    >>> G = group("S4")
    >>> f = planted_model(G, 2, width=96, seed=1)
    >>> tuple(f.left.shape), f.left.dtype, exact_truth(f, G, 1).accuracy
    ((2, 24, 96), torch.float32, 1.0)
    """
    if isinstance(group, str):  # a spec, as plant() takes
        from rhoproof.groups import group as build

        group = build(group)
    if models < 1 or width < 1 or not noise >= 0:
        raise ValueError("planted_model needs models ≥ 1, width ≥ 1 and noise ≥ 0")
    return _planted_models(group, planted_circuits(group, width), models, width, noise, seed)


def _planted_models(group: Group, circuits: list[tuple[str, torch.Tensor | None]], models: int,
                    width: int, noise: float, seed: int) -> Folded:
    """``planted_model`` given its circuits (``planted_circuits``)."""
    gen = torch.Generator().manual_seed(seed)
    g, e = group.order, group.identity
    out = []
    for _ in range(models):
        cols_l, cols_r, rows_u = [], [], []
        for name, pts in circuits:
            ir = group.irrep(name)
            rho = torch.from_numpy(ir.matrices)
            if pts is None:  # the sign circuit
                chi = torch.from_numpy(ir.character.copy())
                ll, rr, uu = [], [], []
                for b in (1.0, -1.0):
                    for c in (1.0, -1.0):
                        s = 0.5 + float(torch.rand(1, generator=gen, dtype=torch.float64))
                        ll.append(s * b * chi)
                        rr.append(s * c * chi)
                        uu.append((1.0 if b == c else -1.0) * chi / s)
            else:
                a = torch.randn(rho.shape[1], dtype=torch.float64, generator=gen)
                a = a / a.norm()
                ell = torch.einsum("pd,gde,e->gp", pts, rho, a)  # b_pᵀρ(x)a  [G, n]
                arr = torch.einsum("d,gde,qe->gq", a, rho, -pts)  # aᵀρ(y)(−b_q)
                unb = torch.einsum("pd,gde,qe->gpq", pts, rho, -pts)  # b_pᵀρ(z)(−b_q)
                ll, rr, uu = [], [], []
                for p in range(len(pts)):
                    for q in range(len(pts)):
                        s = 0.5 + float(torch.rand(1, generator=gen, dtype=torch.float64))
                        ll.append(s * ell[:, p])
                        rr.append(s * arr[:, q])
                        uu.append(unb[:, p, q] / s)
            lc, rc, uc = torch.stack(ll, 1), torch.stack(rr, 1), torch.stack(uu, 0)
            f_c = torch.relu(lc[e] + rc[e]) @ uc  # F_c(w) = f_c(w | e, e)
            below = f_c[f_c < f_c[e] - 1e-9]  # the sign circuit ties e with its kernel
            gap = float(f_c[e] - below.max()) if len(below) else 0.0
            if not (gap > 1e-9 and bool((f_c <= f_c[e] + 1e-9).all())):
                raise ValueError(f"{group.spec}: the planted {name} circuit has no margin")
            cols_l.append(lc)
            cols_r.append(rc)
            rows_u.append(uc / gap)
        used = sum(t.shape[1] for t in cols_l)
        left = torch.cat([*cols_l, torch.zeros(g, width - used, dtype=torch.float64)], 1)
        right = torch.cat([*cols_r, torch.zeros(g, width - used, dtype=torch.float64)], 1)
        unembed = torch.cat([*rows_u, torch.zeros(width - used, g, dtype=torch.float64)], 0)
        f_all = torch.relu(left[e] + right[e]) @ unembed
        margin = float(f_all[e] - torch.cat([f_all[:e], f_all[e + 1:]]).max())
        unembed = unembed * (PLANTED_MARGIN / margin)
        # white noise sized so that each proof term is noise × PLANTED_NOISE of the margin,
        # its medians taken over SAMPLE random inputs
        n_c, n_z = used, width - used
        xs = torch.randint(g, (SAMPLE,), generator=gen)
        ys = torch.randint(g, (SAMPLE,), generator=gen)
        n_med = float(torch.relu(left[xs, :n_c] + right[ys, :n_c]).norm(dim=1).median())
        u_med = float(unembed[:n_c].norm(dim=0).median())
        k = {name: noise * level * PLANTED_MARGIN for name, level in PLANTED_NOISE.items()}
        sd_u = k["unembedding"] / (math.sqrt(n_c) * n_med)
        sd_lr = k["distance"] / (math.sqrt(2 * n_c) * u_med)
        sd_z = math.sqrt(k["others"] / (math.sqrt(2) * n_z)) if n_z else 0.0

        def gauss(*shape: int) -> torch.Tensor:
            return torch.randn(shape, dtype=torch.float64, generator=gen)

        # within the circuits, each circuit's share at its own scale (a small circuit, like the
        # sign circuit, keeps its shape), the total as above
        sizes = [t.shape[1] for t in cols_l]
        w_lr = _circuit_scales([t.pow(2).mean() for t in cols_l], sizes)
        w_u = _circuit_scales([t.pow(2).mean() for t in rows_u], sizes)
        left[:, :n_c] += sd_lr * w_lr[None] * gauss(g, n_c)
        right[:, :n_c] += sd_lr * w_lr[None] * gauss(g, n_c)
        unembed[:n_c] += sd_u * w_u[:, None] * gauss(n_c, g)
        left[:, n_c:] += sd_z * gauss(g, n_z)
        right[:, n_c:] += sd_z * gauss(g, n_z)
        unembed[n_c:] += sd_z * gauss(n_z, g)
        bias = k["bias"] * gauss(g)
        out.append((left, right, unembed, bias))
    return Folded(*(torch.stack([o[j] for o in out]).to(torch.float32) for j in range(4)))


def plant(spec: str, out: str | Path, models: int = 1, *, seed: int = 0, noise: float = 1.0,
          width: int = 256) -> Path:
    """Write ``models`` planted models of the group ``spec`` as a run directory at ``out``.

    The models of ``planted_model``; config.json says they are planted, with the circuits, the
    noise and the seed. Every command reads it like a trained run (and notes that it is
    planted).

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof.testing import plant
    >>> run = rhoproof.load_run(plant("S4", tempfile.mkdtemp() + "/p", 2, width=96))
    >>> run.n_instances, run.info["planted"]["circuits"]
    (2, ['3d-0', '3d-1', '1d-1'])
    """
    from rhoproof.config import TrainConfig
    from rhoproof.groups import group
    from rhoproof.run import write_folded_run

    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not (out / "config.json").exists():
        raise ValueError(f"{out} is a folder with other files in it; give --out a new or "
                         f"empty folder")  # (an existing run is refused by the run writer)
    grp = group(spec)
    if models < 1 or width < 1 or not noise >= 0:
        raise ValueError("plant needs models ≥ 1, width ≥ 1 and noise ≥ 0")
    circuits = planted_circuits(grp, width)  # once: the search for small ρ-sets is the slow part
    folded = _planted_models(grp, circuits, models, width, noise, seed)
    config = TrainConfig(group=grp.spec, n_instances=models, d_embed=width, d_hidden=width,
                         epochs=0, seed=seed)
    names = [name for name, _ in circuits]
    write_folded_run(out, folded, config, {"planted": {
        "circuits": names, "width": width, "models": models, "seed": seed, "noise": noise,
        "noise_levels": PLANTED_NOISE, "margin": PLANTED_MARGIN,
        "command": f"rhoproof plant --group {grp.spec} --models {models} --seed {seed} "
                   f"--noise {noise:g} --width {width}"}}, grp)
    return out


__all__ += ["PLANTED_MARGIN", "PLANTED_NOISE", "SCALES", "adversarial_model", "clock",
            "lookup_forgery", "plant", "planted", "planted_circuits", "planted_model",
            "regular_rho_set", "rho_orbit", "rho_set", "run_case", "tampered"]
