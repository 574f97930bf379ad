"""Typed records of what a V_irrep proof rests on: one frozen dataclass per circuit kind of the
exactly bi-equivariant ideal f* (docs/soundness.md §1). ``to_json`` gives the certificate's
``proof`` entries (docs/certificate.md), ``from_json`` reads them back; the ``kind`` is a
field of the JSON, never guessed from its keys."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import torch


def _lists(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: (getattr(obj, n).tolist() if isinstance(getattr(obj, n), torch.Tensor)
                else getattr(obj, n)) for n in names}


@dataclass(frozen=True)
class RhoSetProof:
    """A ρ-set circuit of f*: the integer actions on B and C and the floats that define it."""

    kind: ClassVar[str] = "rho_set"
    irrep: str
    neurons: torch.Tensor  # [n] int64
    act_b: torch.Tensor  # [|G|, n_b] int64: act_B[g, p]
    act_c: torch.Tensor  # [|G|, n_c] int64
    alpha: torch.Tensor  # [n_b] float64
    gamma: torch.Tensor  # [n_c]
    k: torch.Tensor  # [n_b, n_c], constant on orbits of the diagonal action
    w: float | torch.Tensor  # the weight of every pair, or [n_b, n_c] per pair [H1]
    p: torch.Tensor  # [n] int64
    q: torch.Tensor  # [n] int64
    scale: torch.Tensor  # [n] λ_i > 0
    weight: torch.Tensor  # [n] ω_i

    FIELDS: ClassVar[tuple[str, ...]] = ("irrep", "neurons", "act_b", "act_c", "alpha", "gamma",
                                         "k", "w", "p", "q", "scale", "weight")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **_lists(self, self.FIELDS)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RhoSetProof:
        i64, f64 = torch.int64, torch.float64
        return cls(str(d["irrep"]), torch.tensor(d["neurons"], dtype=i64),
                   torch.tensor(d["act_b"], dtype=i64), torch.tensor(d["act_c"], dtype=i64),
                   torch.tensor(d["alpha"], dtype=f64), torch.tensor(d["gamma"], dtype=f64),
                   torch.tensor(d["k"], dtype=f64),
                   torch.tensor(d["w"], dtype=f64) if isinstance(d["w"], list) else float(d["w"]),
                   torch.tensor(d["p"], dtype=i64), torch.tensor(d["q"], dtype=i64),
                   torch.tensor(d["scale"], dtype=f64), torch.tensor(d["weight"], dtype=f64))


@dataclass(frozen=True)
class SignProof:
    """A 1-d (sign) circuit of f*: the character and the two class weights."""

    kind: ClassVar[str] = "sign"
    irrep: str
    neurons: torch.Tensor  # [n] int64
    chi: torch.Tensor  # [|G|] int64, ±1
    p: torch.Tensor  # [n] 0 for b_i = +1, 1 for −1
    q: torch.Tensor
    scale: torch.Tensor
    weight: torch.Tensor
    w_same: float
    w_diff: float

    FIELDS: ClassVar[tuple[str, ...]] = ("irrep", "neurons", "chi", "p", "q", "scale", "weight",
                                         "w_same", "w_diff")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **_lists(self, self.FIELDS)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SignProof:
        i64, f64 = torch.int64, torch.float64
        return cls(str(d["irrep"]), torch.tensor(d["neurons"], dtype=i64),
                   torch.tensor(d["chi"], dtype=i64), torch.tensor(d["p"], dtype=i64),
                   torch.tensor(d["q"], dtype=i64), torch.tensor(d["scale"], dtype=f64),
                   torch.tensor(d["weight"], dtype=f64), float(d["w_same"]), float(d["w_diff"]))


ProofCircuit = RhoSetProof | SignProof


def proof_from_json(d: dict[str, Any]) -> ProofCircuit:
    """The record named by ``d["kind"]``."""
    kinds: dict[str, Any] = {"rho_set": RhoSetProof, "sign": SignProof}
    if d.get("kind") not in kinds:
        raise ValueError(f"unknown proof circuit kind {d.get('kind')!r}")
    record: ProofCircuit = kinds[d["kind"]].from_json(d)
    return record


@dataclass(frozen=True)
class Separable:
    """Stage 1's result for one model [S1] (``verify.stages.separable``)."""

    a: torch.Tensor  # [G] ≥ the x-term
    b: torch.Tensor  # [G] ≥ the y-term
    k: float  # ≥ the input-independent term (B) + (D)
    k_mismatch: float  # (B) alone, the smaller of its two bounds
    k_bias: float  # (D)
    margin: float  # ≤ F(e) − max_{w≠e} F(w)
    count: torch.Tensor  # [G] per x: how many y are certified (those with the smallest b)
    order: torch.Tensor  # [G] the y sorted by b, increasing
    ce_sum: float  # ≥ Σ over the certified inputs of their CE bound
    ops: int  # multiply-adds and comparisons, from the shapes touched

    @property
    def certified(self) -> int:
        return int(self.count.sum())

    def mask(self) -> torch.Tensor:
        """[G, G] bool, the certified inputs (an |G|² pass: for tests and plots, not the proof)."""
        g = self.a.shape[0]
        rank = torch.empty(g, dtype=torch.int64)
        rank[self.order] = torch.arange(g)
        return rank[None, :] < self.count[:, None]

    def undecided(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The inputs stage 1 left, (x, y) [t] each, enumerated directly: per x, the suffix
        of the sorted b from ``count[x]`` on, O(t)."""
        g = self.a.shape[0]
        lens = g - self.count  # [G]
        xs = torch.repeat_interleave(torch.arange(g), lens)
        start = torch.cumsum(lens, 0) - lens  # where each x's run begins
        pos = torch.arange(len(xs)) - torch.repeat_interleave(start, lens) \
            + torch.repeat_interleave(self.count, lens)
        return xs, self.order[pos]


@dataclass(frozen=True)
class Stage:
    """One stage of a cascade (docs/soundness.md §2.1): inputs seen, certified, counted cost.

    How many inputs it looked at, how many it certified that no earlier stage had, its
    multiply-adds and comparisons (counted from the shapes it touched) and its wall time.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=1))
    >>> first = rhoproof.certify(run, 0).stages[0]
    >>> first.name, first.inputs, first.certified, first.ops > 0
    ('separable', 576, 576, True)
    """

    name: str
    inputs: int
    certified: int
    ops: int
    seconds: float

    NAMES: ClassVar[tuple[str, ...]] = ("separable", "per_input", "per_output",
                                         "exact_group", "exact", "lowrank")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "inputs": self.inputs, "certified": self.certified,
                "ops": self.ops, "seconds": self.seconds}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Stage:
        if set(d) != {"name", "inputs", "certified", "ops", "seconds"}:
            raise ValueError(f"a stage has the fields {sorted(d)}")
        if d["name"] not in cls.NAMES:
            raise ValueError(f"unknown stage {d['name']!r}")
        return cls(str(d["name"]), int(d["inputs"]), int(d["certified"]), int(d["ops"]),
                   float(d["seconds"]))


@dataclass(frozen=True)
class CosetData:
    """V_coset's idealization: the subgroups used and, per neuron, its left and right subgroup
    (index into ``subgroups``, −1 when dead) and an element of its target coset (−1)."""

    subgroups: tuple[tuple[int, ...], ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    target: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"subgroups": [list(s) for s in self.subgroups], "left": list(self.left),
                "right": list(self.right), "target": list(self.target)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CosetData:
        return cls(tuple(tuple(int(x) for x in s) for s in d["subgroups"]),
                   tuple(int(x) for x in d["left"]), tuple(int(x) for x in d["right"]),
                   tuple(int(x) for x in d["target"]))


@dataclass(frozen=True)
class FourierData:
    """V_fourier's split of the unembedding [P1]: the basis B [k, |G|] and coefficients
    C [m, k] (any floats: soundness does not depend on them), the exactly evaluated neurons
    and a residual group per neuron (ignored on the exact ones). ``irreps`` names the irreps
    B spans, for reading only (the checker does not trust it)."""

    irreps: tuple[str, ...]
    basis: tuple[tuple[float, ...], ...]
    coef: tuple[tuple[float, ...], ...]
    exact: tuple[int, ...]
    groups: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"irreps": list(self.irreps), "basis": [list(r) for r in self.basis],
                "coef": [list(r) for r in self.coef], "exact": list(self.exact),
                "groups": list(self.groups)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FourierData:
        return cls(tuple(str(n) for n in d["irreps"]),
                   tuple(tuple(float(v) for v in r) for r in d["basis"]),
                   tuple(tuple(float(v) for v in r) for r in d["coef"]),
                   tuple(int(i) for i in d["exact"]), tuple(int(i) for i in d["groups"]))


@dataclass(frozen=True)
class Attribution:
    """Where one model's bound is lost (JSON-ready with ``to_json``)."""

    uncertified: int  # inputs the proof left
    sampled: int  # inputs measured
    ideal_margin: float  # F*(e) − max_{w≠e} F*(w): ≤ 0 means the ideal itself is wrong
    shortfall: float  # median over the sample of max F*(w≠e) + s − L
    terms: dict[str, float]  # mean over the sample of each term of s
    groups: dict[str, float]  # "term: group" -> mean cost, largest first (top GROUPS)
    gain: dict[str, float]  # "term: group" -> share of the sample it alone would certify
    # neuron group -> what computing it exactly buys [X1]: {"neurons", "certified" (fraction
    # of all inputs then certified), "ops_over_brute" (that proof's counted operations)}
    exact: dict[str, dict[str, float]] = field(default_factory=dict)

    GROUPS = 8

    @property
    def leading(self) -> str:
        """The costliest "term: group" (by mean cost; JSON may reorder the keys)."""
        return max(self.groups, key=lambda k: self.groups[k], default="")

    def line(self) -> str:
        """One line for ``certify``."""
        if self.ideal_margin <= 0:
            return (f"{self.uncertified:,} inputs not certified: the idealized model has no "
                    f"margin ({self.ideal_margin:.3g}); what it drops costs most: "
                    f"{self.leading} ({self.groups.get(self.leading, 0.0):.3g})"
                    + self.buy_line())
        lead = self.leading
        return (f"{self.uncertified:,} inputs not certified, short by {self.shortfall:.3g} "
                f"(median); costliest: {lead} ({self.groups.get(lead, 0.0):.3g}; alone "
                f"would certify {self.gain.get(lead, 0.0):.0%} of them)") + self.buy_line()

    def buy_line(self) -> str:
        """What computing the costliest neuron group exactly would buy (empty if unmeasured)."""
        out = ""
        for name, e in self.exact.items():
            out += (f"; computing its {int(e['neurons'])} neurons (\"{name}\") exactly would "
                    f"certify {e['certified']:.1%} of all inputs for "
                    f"{e['ops_over_brute']:.0%} of brute force's counted operations")
        return out

    def to_json(self) -> dict[str, Any]:
        out = {"uncertified": self.uncertified, "sampled": self.sampled,
               "ideal_margin": self.ideal_margin, "shortfall": self.shortfall,
               "terms": dict(self.terms), "groups": dict(self.groups),
               "gain": dict(self.gain)}
        if self.exact:
            out["exact"] = {k: dict(v) for k, v in self.exact.items()}
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Attribution:
        return cls(int(d["uncertified"]), int(d["sampled"]), float(d["ideal_margin"]),
                   float(d["shortfall"]), {str(k): float(v) for k, v in d["terms"].items()},
                   {str(k): float(v) for k, v in d["groups"].items()},
                   {str(k): float(v) for k, v in d["gain"].items()},
                   {str(k): {str(a): float(b) for a, b in v.items()}
                    for k, v in (d.get("exact") or {}).items()})



@dataclass(frozen=True)
class Symmetry:
    """[H1] The partial symmetry of a V_irrep ideal: generators (g, h) of H ≤ G × G^op and the
    number of orbits of H on the inputs (bookkeeping; the checker derives them itself)."""

    generators: tuple[tuple[int, int], ...]
    orbits: int

    def to_json(self) -> dict[str, Any]:
        return {"generators": [list(gh) for gh in self.generators], "orbits": self.orbits}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Symmetry:
        if set(d) != {"generators", "orbits"}:
            raise ValueError(f"a symmetry has the fields {sorted(d)}")
        return cls(tuple((int(g), int(h)) for g, h in d["generators"]), int(d["orbits"]))


@dataclass(frozen=True)
class Certificate:
    """A certificate: the claim about one model, the data that supports it, and bookkeeping.

    The format is documented in docs/certificate.md, with a JSON Schema
    (``certificate.schema.json``). ``to_json`` writes the format version first and leaves
    out the fields a method does not have; ``from_json`` reads it back.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> from rhoproof.verify.records import Certificate
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=1))
    >>> cert = rhoproof.certify(run, 0)
    >>> d = cert.to_json()
    >>> d["format"], d["certified_inputs"], Certificate.from_json(d).to_json() == d
    ('rhoproof-certificate-3', 576, True)
    >>> cert.proof_ops <= d["ops"]["brute"]  # the proof's counted operations
    True
    """

    FORMAT: ClassVar[str] = "rhoproof-certificate-3"
    method: str
    group: str  # the spec, a label only
    group_sha256: str  # what pins the group: the SHA-256 of its canonical Cayley table
    instance: int
    certified_inputs: int
    accuracy: float
    cross_entropy: float
    brute: dict[str, float]
    seconds: dict[str, float]
    circuits: tuple[dict[str, Any], ...] = ()  # the explanation's circuits, for reading
    ops: dict[str, int] | None = None
    stages: tuple[Stage, ...] | None = None  # V_irrep's cascade, in order
    margin: float | None = None
    verdict: str | None = None
    reasons: tuple[str, ...] | None = None
    refused: str | None = None
    excluded: tuple[str, ...] | None = None
    proof: tuple[ProofCircuit, ...] | None = None
    t0: float | None = None
    top_k: int | None = None
    top_w: tuple[int, ...] | None = None
    per_output: str | None = None
    virtual_neurons: int | None = None
    missing_share_allowed: float | None = None
    coset: CosetData | None = None
    fourier: FourierData | None = None  # V_fourier's split [P1]
    attribution: Attribution | None = None  # V_irrep: where the bound is lost (diagnostic)
    symmetry: Symmetry | None = None  # V_irrep [H1]: H's generators, orbit count
    exact_neurons: tuple[int, ...] | None = None  # V_irrep [X1]: the exact group R
    run: str | None = None
    weights_sha256: str | None = None
    versions: dict[str, str] | None = None

    @property
    def proof_over_brute(self) -> float:
        """The proof's wall time over brute force's, measured in the same process."""
        return self.seconds["proof"] / max(self.brute["seconds"], 1e-12)

    @property
    def proof_ops(self) -> int:
        """The proof's cost in counted operations: the sum of the ``proof_*`` entries of
        ``ops`` (``brute`` is in the same units)."""
        return sum(v for k, v in (self.ops or {}).items() if k.startswith("proof_"))

    @property
    def ops_over_brute(self) -> float | None:
        """The proof's counted operations over brute force's (None without a cascade)."""
        brute = (self.ops or {}).get("brute")
        if not brute or not self.stages:
            return None
        return self.proof_ops / brute

    @property
    def frontier(self) -> list[tuple[str, float, float]]:
        """Per stage of a V_irrep cascade: (name, certified fraction after it, cumulative
        counted operations over brute force's)."""
        g2 = self.certified_inputs / self.accuracy if self.accuracy else None
        brute = (self.ops or {}).get("brute")
        out, done, cost = [], 0, 0
        for st in self.stages or ():
            done += st.certified
            cost += st.ops
            if g2 and brute:
                out.append((st.name, done / g2, cost / brute))
        return out

    def summary_json(self) -> dict[str, Any]:
        """The JSON without the bulky proof data (circuits, proof tables, coset data): what
        ``certify --json`` prints."""
        return {k: v for k, v in self.to_json().items()
                if k not in ("circuits", "proof", "coset", "fourier")}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": self.FORMAT}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None:
                if f.name == "margin" and self.method != "brute":
                    out["margin"] = None
                continue
            if f.name in ("proof", "stages"):
                v = [c.to_json() for c in v]
            elif f.name in ("coset", "fourier", "attribution", "symmetry"):
                v = v.to_json()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Certificate:
        """The record of a certificate dict; ValueError on another format or unknown fields.
        (Validation of the claim is the checker's job, ``rhoproof.check``.)"""
        if d.get("format") != cls.FORMAT:
            raise ValueError(f"not a {cls.FORMAT} certificate")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known - {"format"})
        if unknown:
            raise ValueError(f"unknown certificate fields: {', '.join(unknown)}")
        kw = {k: v for k, v in d.items() if k != "format"}
        for name in ("circuits", "reasons", "excluded", "top_w", "exact_neurons"):
            if kw.get(name) is not None:
                kw[name] = tuple(kw[name])
        if kw.get("proof") is not None:
            kw["proof"] = tuple(proof_from_json(c) for c in kw["proof"])
        if kw.get("stages") is not None:
            kw["stages"] = tuple(Stage.from_json(st) for st in kw["stages"])
        if kw.get("coset") is not None:
            kw["coset"] = CosetData.from_json(kw["coset"])
        if kw.get("fourier") is not None:
            kw["fourier"] = FourierData.from_json(kw["fourier"])
        if kw.get("attribution") is not None:
            kw["attribution"] = Attribution.from_json(kw["attribution"])
        if kw.get("symmetry") is not None:
            kw["symmetry"] = Symmetry.from_json(kw["symmetry"])
        return cls(**kw)


__all__ = ["Attribution", "Certificate", "CosetData", "FourierData", "ProofCircuit",
           "RhoSetProof", "Separable", "SignProof", "Stage", "Symmetry", "proof_from_json"]
