"""The checker's own parser: a certificate (parsed JSON) becomes a typed, validated ``Claim``
before any arithmetic, or is rejected with the first problem found.

Every field is checked for type (an integer is never a bool, a number is never a string),
finiteness, range and shape. Every float that enters the bound must lie in the safe range [R]
(0 or magnitude in [2⁻⁶⁴, 2⁶⁴]; scales strictly positive), which the rounding argument of
docs/soundness.md §3.1 needs. Nothing here imports the prover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rhoproof.check.rounding import SAFE_HIGH, SAFE_LOW

FORMAT = "rhoproof-certificate-3"
OLD_FORMATS = ("rhoproof-certificate-1", "rhoproof-certificate-2")
"""Formats of rhoproof 0.1 and 0.2, which name the group by spec (a table: path) only."""


MAX_TOP_K = 32
"""The most per-output terms per orbit a certificate may ask for (the prover's TOP_K is 24)."""
MAX_PAIRS_PER_NEURON = 8
"""The most pairs of a ρ-set circuit's double sum per neuron it lists (the zoo's: 4.5)."""


class CheckFailed(ValueError):
    """The certificate is malformed, or its claims do not follow from its data.

    The message is the first problem found, in one line.

    Examples
    --------
    >>> from rhoproof.check import CheckFailed
    >>> from rhoproof.check.parse import check_format
    >>> try:
    ...     check_format({"format": "rhoproof-certificate-1"})
    ... except CheckFailed as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    rhoproof-certificate-1 is an older certificate format that does not pin its group ...
    """


def require(ok: bool, why: str) -> None:
    if not ok:
        raise CheckFailed(why)


@dataclass(frozen=True)
class RhoSetTables:
    """A ρ-set circuit's data: integer actions and the floats that define f* (§1)."""

    irrep: str
    neurons: np.ndarray  # [n] int
    act_b: np.ndarray  # [|G|, n_b] int
    act_c: np.ndarray  # [|G|, n_c] int
    alpha: np.ndarray  # [n_b]
    gamma: np.ndarray  # [n_c]
    k: np.ndarray  # [n_b, n_c]
    w: float | np.ndarray  # one weight for every pair, or [n_b, n_c] with a symmetry [H1]
    p: np.ndarray  # [n] int
    q: np.ndarray  # [n] int
    scale: np.ndarray  # [n] > 0
    weight: np.ndarray  # [n]


@dataclass(frozen=True)
class SignTables:
    """A 1-d (sign) circuit's data."""

    irrep: str
    neurons: np.ndarray
    chi: np.ndarray  # [|G|] ±1
    p: np.ndarray  # [n] 0/1
    q: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    w_same: float
    w_diff: float


@dataclass(frozen=True)
class CosetTables:
    subgroups: tuple[np.ndarray, ...]
    left: np.ndarray  # [m] index into subgroups, −1: dead
    right: np.ndarray
    target: np.ndarray  # [m] an element of the target coset, −1: dead


@dataclass(frozen=True)
class FourierTables:
    """V_fourier's split [P1]: any floats B, C; the exact neurons; a group per neuron."""

    basis: np.ndarray  # [k, |G|]
    coef: np.ndarray  # [m, k]
    exact: np.ndarray  # [m] bool
    groups: np.ndarray  # [m] int, ignored on the exact neurons


@dataclass(frozen=True)
class Claim:
    """What a certificate claims and the data it offers in support.

    ``rhoproof.check.parse`` builds it from the certificate's JSON with the checker's own code
    (types, finiteness, the safe range, shapes, index ranges, caps); nothing else reads the JSON.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> from rhoproof.verify.certificate import check_certificate
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=1))
    >>> claim = check_certificate(rhoproof.certify(run, 0), run).claim
    >>> claim.method, claim.certified_inputs
    ('irrep', 576)
    """

    method: str  # "irrep", "coset", "fourier" or "brute"
    group: str  # the spec, a label only; the group is pinned by group_sha256
    group_sha256: str
    instance: int
    certified_inputs: int
    accuracy: float
    cross_entropy: float
    weights_sha256: str | None
    per_output: str = "all"
    top_k: int = 1
    virtual_neurons: int = 0
    t0: float = 0.0
    circuits: tuple[RhoSetTables | SignTables, ...] = ()
    coset: CosetTables | None = None
    fourier: FourierTables | None = None
    exact: bool = False  # V_irrep made with --exact: brute force decides what the stages leave
    top_w: tuple[int, ...] | None = None  # the w with their own per-output terms
    symmetry: np.ndarray | None = None  # [k, 2] generators (g, h) of H [H1]; None: G × G
    exact_neurons: np.ndarray | None = None  # [|R|] the exact group R [X1]; None: no stage


def _number(v: Any, name: str) -> float:
    require(isinstance(v, (int, float)) and not isinstance(v, bool), f"{name} is not a number")
    try:
        return float(v)
    except OverflowError:  # an integer beyond the float range
        raise CheckFailed(f"{name} is too large") from None


def _safe(v: float, name: str) -> float:
    require(math.isfinite(v), f"{name} is not finite")
    require(v == 0 or SAFE_LOW <= abs(v) <= SAFE_HIGH, f"{name} = {v!r} is outside the safe "
            f"range (0 or magnitude in [2^-64, 2^64])")
    return v


def _integer(v: Any, name: str, lo: int, hi: int) -> int:
    require(isinstance(v, int) and not isinstance(v, bool), f"{name} is not an integer")
    require(lo <= v <= hi, f"{name} = {v} is out of range [{lo}, {hi}]")
    return int(v)


def _flat(v: Any, shape: tuple[int, ...], name: str) -> list:
    """The nested list v, checked to have ``shape``, flattened."""
    if not shape:
        return [v]
    require(isinstance(v, list) and len(v) == shape[0],
            f"{name} must be a list of length {shape[0]}")
    out: list = []
    for row in v:
        out.extend(_flat(row, shape[1:], name))
    return out


def _ints(v: Any, shape: tuple[int, ...], name: str, lo: int, hi: int) -> np.ndarray:
    flat = _flat(v, shape, name)
    require(all(isinstance(x, int) and not isinstance(x, bool) for x in flat),
            f"{name} must hold integers")
    require(all(lo <= x <= hi for x in flat), f"{name} has an entry outside [{lo}, {hi}]")
    return np.array(flat, dtype=np.int64).reshape(shape)


def _floats(v: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    flat = [_safe(_number(x, name), name) for x in _flat(v, shape, name)]
    return np.array(flat, dtype=np.float64).reshape(shape)


def _length(v: Any, name: str) -> int:
    require(isinstance(v, list), f"{name} must be a list")
    return len(v)


def _circuit(c: Any, g: int, m: int) -> RhoSetTables | SignTables:
    require(isinstance(c, dict), "a proof circuit must be an object")
    kind, irrep = c.get("kind"), c.get("irrep")
    require(isinstance(irrep, str), "a circuit's irrep must be a name")
    n = _length(c.get("neurons"), "neurons")
    require(n > 0, "a circuit has no neurons")
    neurons = _ints(c["neurons"], (n,), "neurons", 0, m - 1)
    scale = _floats(c.get("scale"), (n,), "scale")
    require(bool((scale > 0).all()), "a scale is not positive")
    weight = _floats(c.get("weight"), (n,), "weight")
    if kind == "rho_set":
        nb, nc = _length(c.get("alpha"), "alpha"), _length(c.get("gamma"), "gamma")
        require(nb > 0 and nc > 0, "empty ρ-set")
        # a ρ-set is an orbit of ρ(G): at most |G| points (the checker's work on a circuit
        # grows with |G| n_b n_c)
        require(nb <= g and nc <= g, f"a ρ-set has more than |G| = {g} points")
        # a complete double sum has a neuron on every pair; with a symmetry [H1] pairs may be
        # missing, but stage 1 costs |G| n_b² n_c per circuit: at most MAX_PAIRS_PER_NEURON
        # pairs per neuron keeps it within the per-input stage's |G|² m
        require(nb * nc <= MAX_PAIRS_PER_NEURON * n, f"a ρ-set circuit has {nb * nc} pairs "
                f"for {n} neurons (at most {MAX_PAIRS_PER_NEURON} per neuron)")
        return RhoSetTables(
            irrep, neurons, _ints(c.get("act_b"), (g, nb), "act_b", 0, nb - 1),
            _ints(c.get("act_c"), (g, nc), "act_c", 0, nc - 1),
            _floats(c["alpha"], (nb,), "alpha"), _floats(c["gamma"], (nc,), "gamma"),
            _floats(c.get("k"), (nb, nc), "k"),
            _floats(c.get("w"), (nb, nc), "w") if isinstance(c.get("w"), list)
            else _safe(_number(c.get("w"), "w"), "w"),
            _ints(c.get("p"), (n,), "p", 0, nb - 1), _ints(c.get("q"), (n,), "q", 0, nc - 1),
            scale, weight)
    if kind == "sign":
        return SignTables(
            irrep, neurons, _ints(c.get("chi"), (g,), "chi", -1, 1),
            _ints(c.get("p"), (n,), "p", 0, 1), _ints(c.get("q"), (n,), "q", 0, 1), scale,
            weight, _safe(_number(c.get("w_same"), "w_same"), "w_same"),
            _safe(_number(c.get("w_diff"), "w_diff"), "w_diff"))
    raise CheckFailed(f"unknown circuit kind {kind!r}")


def _fourier(spec: Any, g: int, m: int) -> FourierTables:
    """V_fourier's split, validated. Cap: k + |E| + n_g ≤ m rows per output, so that the
    checker's |G|³(k + |E| + n_g) stays within brute force's |G|³m (the prover never keeps a
    split costing more than brute force)."""
    require(isinstance(spec, dict), "a fourier certificate needs its split (fourier)")
    k = _length(spec.get("basis"), "basis")
    require(1 <= k <= min(g, m), f"basis has {k} rows; a split has 1 to min(|G|, m) = "
            f"{min(g, m)}")
    basis = _floats(spec["basis"], (k, g), "basis")
    coef = _floats(spec.get("coef"), (m, k), "coef")
    n_e = _length(spec.get("exact"), "exact")
    require(n_e <= m, f"exact lists {n_e} neurons; the model has {m}")
    ids = _ints(spec["exact"], (n_e,), "exact", 0, m - 1)
    require(len(set(ids.tolist())) == n_e, "exact lists a neuron twice")
    groups = _ints(spec.get("groups"), (m,), "groups", 0, m - 1)
    exact = np.zeros(m, dtype=bool)
    exact[ids] = True
    n_g = len(np.unique(groups[~exact]))
    require(k + n_e + n_g <= m, f"the split has {k} basis rows, {n_e} exact neurons and "
            f"{n_g} groups: more than the model's m = {m} per output")
    names = spec.get("irreps", [])
    require(isinstance(names, list) and len(names) <= g
            and all(isinstance(n, str) and len(n) <= 64 for n in names),
            "irreps must be a list of names")
    return FourierTables(basis, coef, exact, groups)


def check_format(cert: Any) -> None:
    """A certificate is a JSON object of this format (older ones get their own message)."""
    require(isinstance(cert, dict), "a certificate is a JSON object")
    fmt = cert.get("format")
    require(fmt not in OLD_FORMATS, f"{fmt} is an older certificate format that does not "
            f"pin its group by content; certify the model again (format {FORMAT})")
    require(fmt == FORMAT, f"not a {FORMAT} certificate")


def parse(cert: Any, g: int, m: int, n_instances: int, group: str, table_sha256: str) -> Claim:
    """Validate every field of a certificate for a model with |G| = g, m hidden neurons and
    ``n_instances`` instances of the group labelled ``group`` whose canonical Cayley table
    hashes to ``table_sha256``; raises CheckFailed with the first problem. The hash is what
    pins the group; the label must match too, so that what a certificate says it is about is
    never misleading."""
    check_format(cert)
    method = cert.get("method")
    require(method in ("irrep", "coset", "fourier", "brute"), f"unknown method {method!r}")
    group_sha = cert.get("group_sha256")
    require(isinstance(group_sha, str) and len(group_sha) == 64,
            "group_sha256 must be a SHA-256 hex digest")
    require(group_sha == table_sha256, f"the certificate is for another group: its "
            f"group_sha256 {group_sha[:12]}... is not the SHA-256 {table_sha256[:12]}... of "
            f"the Cayley table checked against ({group})")
    label = cert.get("group")
    require(label == group, f"certificate is for {str(label)[:200]!r}, the model is {group}")
    instance = _integer(cert.get("instance"), "instance", 0, n_instances - 1)
    count = _integer(cert.get("certified_inputs"), "certified_inputs", 0, g * g)
    accuracy = _number(cert.get("accuracy"), "accuracy")
    require(accuracy == count / (g * g), "accuracy is not certified_inputs / |G|²")
    ce = _number(cert.get("cross_entropy"), "cross_entropy")
    require(not math.isnan(ce) and ce >= 0, "cross_entropy must be a nonnegative number")
    sha = cert.get("weights_sha256")
    require(sha is None or (isinstance(sha, str) and len(sha) == 64),
            "weights_sha256 must be a SHA-256 hex digest")
    base = dict(method=method, group=label, group_sha256=group_sha, instance=instance,
                certified_inputs=count, accuracy=accuracy, cross_entropy=ce,
                weights_sha256=sha)
    if method == "brute" or (count == 0 and ce == math.inf):
        return Claim(**base)  # V_brute, or a trivial claim (true of every model)
    if method == "coset":
        spec = cert.get("coset")
        require(isinstance(spec, dict), "a coset certificate needs its coset data")
        n_sub = _length(spec.get("subgroups"), "subgroups")
        # caps: the checker's work on a list must be what an honest certificate's would be
        # (a subgroup with repeated elements cost the square of its length)
        require(n_sub <= 2 * m, f"subgroups lists {n_sub} sets; the {m} neurons use at most "
                f"{2 * m}")
        for s in spec["subgroups"]:
            require(_length(s, "subgroup") <= g, f"a subgroup lists more than |G| = {g} "
                    f"elements")
        subs = tuple(_ints(s, (_length(s, "subgroup"),), "subgroup", 0, g - 1)
                     for s in spec["subgroups"])
        require(all(len(set(s.tolist())) == len(s) for s in subs),
                "a subgroup repeats an element")
        require(len({tuple(sorted(s.tolist())) for s in subs}) == n_sub,
                "subgroups lists a set twice")
        left = _ints(spec.get("left"), (m,), "left", -1, n_sub - 1)
        right = _ints(spec.get("right"), (m,), "right", -1, n_sub - 1)
        target = _ints(spec.get("target"), (m,), "target", -1, g - 1)
        require(bool(((left < 0) == (right < 0)).all() and ((left < 0) == (target < 0)).all()),
                "a neuron is dead on one side only")
        return Claim(**base, coset=CosetTables(subs, left, right, target))
    if method == "fourier":
        return Claim(**base, fourier=_fourier(cert.get("fourier"), g, m))
    per_output = cert.get("per_output")
    require(per_output in ("all", "needed"), "per_output must be all or needed")
    # the per-output stage costs |G|² top_k: the prover uses 24; more would let a certificate
    # make the checker redo brute force's |G|³ work
    top_k = _integer(cert.get("top_k"), "top_k", 1, MAX_TOP_K)
    # a proof adds at most as many virtual neurons as the model has real ones (the checker's
    # arrays grow with m + virtual_neurons)
    virtual = _integer(cert.get("virtual_neurons", 0), "virtual_neurons", 0, m)
    t0 = _safe(_number(cert.get("t0"), "t0"), "t0")
    _length(cert.get("proof"), "proof")
    require(len(cert["proof"]) <= m + virtual, "the proof lists more circuits than neurons")
    circuits = tuple(_circuit(c, g, m + virtual) for c in cert["proof"])
    listed = [i for c in circuits for i in c.neurons.tolist()]
    used = set(listed)
    require(len(used) == len(listed), "a neuron is in two circuits, or twice in one")
    require(set(range(m, m + virtual)) <= used, "a virtual neuron is not used by any circuit")
    # a virtual neuron fills a missing pair of its circuit's double sum: no more of them than
    # pairs (the checker's arrays grow with m + virtual_neurons times |G|)
    pairs = sum(c.k.size if isinstance(c, RhoSetTables) else 4 for c in circuits)
    require(virtual <= pairs, f"virtual_neurons = {virtual} exceeds the {pairs} pairs of the "
            f"circuits' double sums")
    stages = cert.get("stages", [])
    require(isinstance(stages, list) and len(stages) <= 5
            and all(isinstance(st, dict) for st in stages),
            "stages must be a list of at most 5 objects")
    for st in stages:  # bookkeeping, not trusted, but well formed
        require(set(st) == {"name", "inputs", "certified", "ops", "seconds"}
                and st["name"] in ("separable", "per_input", "per_output", "exact_group",
                                   "exact"),
                "a stage must have name, inputs, certified, ops and seconds")
        for key in ("inputs", "certified", "ops"):
            _integer(st[key], f"stage {key}", 0, 10**18)
        require(_number(st["seconds"], "stage seconds") >= 0, "stage seconds is negative")
    exact = any(st.get("name") == "exact" for st in stages)
    exact_neurons = None
    if "exact_neurons" in cert:  # [X1]: any set R is sound; its stage costs the checker
        # |G|² · |G| · 2|R| at most, 2(m + virtual)/m times brute force's
        n_r = _length(cert["exact_neurons"], "exact_neurons")
        require(n_r <= m + virtual, f"exact_neurons lists {n_r} neurons; the proof has "
                f"{m + virtual}")
        exact_neurons = _ints(cert["exact_neurons"], (n_r,), "exact_neurons", 0,
                              m + virtual - 1)
        require(len(set(exact_neurons.tolist())) == n_r, "exact_neurons lists a neuron twice")
        require(bool((np.diff(exact_neurons) > 0).all()), "exact_neurons must be sorted")
    symmetry = None
    if "symmetry" in cert:  # [H1]: generators of H; the checker derives H and its orbits
        spec = cert["symmetry"]
        require(isinstance(spec, dict) and set(spec) <= {"generators", "orbits"},
                "symmetry must be an object with generators")
        n_gen = _length(spec.get("generators"), "symmetry generators")
        # a subgroup of G × G^op has a generating set of at most log2 |G|² elements (each new
        # one at least doubles what is generated); the orbit search costs n_gen·|G|²
        require(n_gen <= 2 * g.bit_length(), f"symmetry lists {n_gen} generators; a subgroup "
                f"of G × G needs at most {2 * g.bit_length()}")
        symmetry = _ints(spec["generators"], (n_gen, 2), "symmetry generators", 0, g - 1)
        require(len({tuple(x) for x in symmetry.tolist()}) == n_gen,
                "symmetry repeats a generator")
    for c in circuits:
        require(symmetry is not None or not isinstance(getattr(c, "w", 0.0), np.ndarray),
                "a table of pair weights needs a symmetry")
    top_w = None
    if "top_w" in cert:  # per orbit of the symmetry, k each (one orbit without symmetry)
        n_top, k = _length(cert["top_w"], "top_w"), min(top_k, g - 1)
        require(n_top <= g * g * max(k, 1), "top_w is longer than top_k per input")
        if k == 0:  # |G| = 1: no wrong output at all
            require(n_top == 0, "top_w lists outputs of a group with no wrong output")
        else:
            require(n_top == k if symmetry is None else n_top % k == 0 and n_top > 0,
                    "top_w must list top_k outputs (per orbit)")
        top_w = tuple(int(w) for w in _ints(cert["top_w"], (n_top,), "top_w", 0, g - 1))
        require(k == 0 or all(len(set(top_w[j:j + k])) == k for j in range(0, n_top, k)),
                "top_w repeats an element")
    return Claim(**base, per_output=per_output, top_k=top_k, virtual_neurons=virtual, t0=t0,
                 circuits=circuits, exact=exact, top_w=top_w, symmetry=symmetry,
                 exact_neurons=exact_neurons)


__all__ = ["CheckFailed", "Claim", "CosetTables", "FORMAT", "FourierTables", "RhoSetTables",
           "SignTables", "check_format", "parse", "require"]
