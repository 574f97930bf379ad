"""Real irreducible representations of a finite group, found numerically and verified.

Method (no character table needed): the real regular representation splits into isotypic
components, which are the eigenspaces of a generic symmetric element of the centre of the
group algebra (a random combination of class sums). Each isotypic component then splits into
copies of one real irrep along the eigenspaces of a generic symmetric element of the commutant
(the right regular action). Restricting the left regular action to one such copy gives
orthogonal matrices. Every result is checked (homomorphism, orthogonality, irreducibility
and type from the character, completeness) before it is returned.

Naming: ``<real dim>d-<k>``. Irreps are sorted by real dimension, then by their characters on
the canonical conjugacy classes (``Group.conjugacy_classes``: by element order, class size,
smallest element) compared lexicographically, larger values first; ``k`` counts within a
dimension. So ``1d-0`` is always the trivial irrep, and for S5 the names match the seed paper:
1d-1 sign, 4d-0 standard, 4d-1 standard⊗sign, 5d-0, 5d-1, 6d-0.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    import torch

    from rhoproof.groups.group import Group

IrrepType = Literal["real", "complex", "quaternionic"]
_TYPE_OF_INDICATOR: dict[int, IrrepType] = {1: "real", 0: "complex", -1: "quaternionic"}
_SCHUR_DIM = {"real": 1, "complex": 2, "quaternionic": 4}  # dim of the commutant = <χ, χ>
TOLERANCE = 1e-9
"""Largest homomorphism or orthogonality error accepted at construction."""


@dataclass(frozen=True, eq=False)
class Irrep:
    """A real irreducible representation: ``matrices[g]`` is the orthogonal matrix ρ(g).

    ``type`` is the Frobenius–Schur type of the underlying complex irrep: a real-type irrep of
    complex dimension d gives real dimension d; a complex-type pair or a quaternionic irrep of
    complex dimension d gives real dimension 2d.

    Examples
    --------
    >>> from rhoproof import group
    >>> rho = group("S4").irrep("3d-0")
    >>> rho.dim, rho.type, rho.matrices.shape
    (3, 'real', (24, 3, 3))
    >>> [(r.name, r.type) for r in group("C5").irreps]
    [('1d-0', 'real'), ('2d-0', 'complex'), ('2d-1', 'complex')]
    """

    name: str
    group_spec: str
    matrices: np.ndarray = field(repr=False)  # [|G|, d, d] float64
    type: IrrepType
    indicator: int  # Frobenius–Schur indicator of the complex constituent: +1, 0, -1

    def __repr__(self) -> str:
        return (f"Irrep({self.name!r}, dim={self.dim}, type={self.type!r}, "
                f"group={self.group_spec!r})")

    @property
    def dim(self) -> int:
        """Real dimension d."""
        return int(self.matrices.shape[1])

    @property
    def character(self) -> np.ndarray:
        """tr ρ(g) for every g, ``[|G|]``."""
        return np.trace(self.matrices, axis1=1, axis2=2)

    @property
    def schur_dim(self) -> int:
        """<χ, χ> = dimension of the commutant: 1, 2 or 4 for real, complex, quaternionic."""
        return _SCHUR_DIM[self.type]

    def tensor(self, dtype: torch.dtype | None = None) -> torch.Tensor:
        """ρ as a torch tensor (float64 by default), ``[|G|, d, d]``."""
        import torch  # here, not at the top: groups need no torch (start-up time)

        return torch.from_numpy(self.matrices.copy()).to(dtype or torch.float64)


class IrrepError(RuntimeError):
    """The numerical decomposition failed its own checks (an internal error, not user input)."""


def real_irreps(group: Group, seed: int = 0, attempts: int = 5) -> tuple[Irrep, ...]:
    """All real irreps of ``group``, verified and named (how: docs/groups.md, "Groups and irreps").

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.groups import real_irreps
    >>> [(r.name, r.dim) for r in real_irreps(group("S4"))]
    [('1d-0', 1), ('1d-1', 1), ('2d-0', 2), ('3d-0', 3), ('3d-1', 3)]
    """
    cached = _from_cache(group)
    if cached is not None:
        return cached
    young = _symmetric_n(group)
    if young:  # S_n, n ≥ YOUNG_FROM: Young's orthogonal form (``young``), verified as the rest
        from rhoproof.groups.young import symmetric_irreps

        try:
            return _to_cache(group, _name_and_verify(group, symmetric_irreps(group, young)))
        except IrrepError:  # not rhoproof's element order: the general construction
            pass
    last: Exception | None = None
    for attempt in range(attempts):
        rng = np.random.default_rng([seed, attempt])
        try:
            found = _decompose(group, rng)
            return _to_cache(group, _name_and_verify(group, found))
        except IrrepError as exc:  # an unlucky random draw; try another
            last = exc
    raise IrrepError(f"{group.spec}: real irrep decomposition failed: {last}")


CACHE_FROM = 720
"""Groups of at least this order keep their irreps in the disk cache (``cache_dir``)."""


def cache_dir() -> Path:
    """The folder where the irreps of groups of order ≥ CACHE_FROM are cached.

    $RHOPROOF_CACHE, else $XDG_CACHE_HOME/rhoproof, else ~/.cache/rhoproof; one file per group,
    ``irreps-<SHA-256 of its Cayley table>.npz``, verified again whenever it is read.

    Examples
    --------
    >>> import os
    >>> from rhoproof.groups.irreps import cache_dir
    >>> os.environ["RHOPROOF_CACHE"] = "/tmp/rhoproof-cache"
    >>> str(cache_dir())
    '/tmp/rhoproof-cache'
    >>> del os.environ["RHOPROOF_CACHE"]
    """
    root = os.environ.get("RHOPROOF_CACHE")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "rhoproof"


def _cache_file(group: Group) -> Path:
    return cache_dir() / f"irreps-{group.sha256}.npz"


def _from_cache(group: Group) -> tuple[Irrep, ...] | None:
    """The cached irreps of a large group, named and verified again (a damaged or foreign file
    is ignored and rebuilt); None when there are none."""
    if group.order < CACHE_FROM:
        return None
    path = _cache_file(group)
    try:
        with np.load(path, allow_pickle=False) as data:
            kinds = [str(v) for v in data["types"]]
            found = [(np.asarray(data[f"m{j}"], dtype=np.float64), kind)
                     for j, kind in enumerate(kinds)]
        if any(kind not in _SCHUR_DIM for _, kind in found):
            return None
        # named and verified anew, as if just built: the file's own names are not trusted
        return _name_and_verify(group, found)  # type: ignore[arg-type]
    except (OSError, KeyError, ValueError, IrrepError):
        return None


def _to_cache(group: Group, reps: tuple[Irrep, ...]) -> tuple[Irrep, ...]:
    """Store a large group's irreps (temp file, then rename; a cache that cannot be written
    is skipped)."""
    if group.order < CACHE_FROM:
        return reps
    path = _cache_file(group)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        arrays: dict[str, Any] = {"names": np.array([r.name for r in reps]),
                                  "types": np.array([r.type for r in reps])}
        arrays.update({f"m{j}": r.matrices for j, r in enumerate(reps)})
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass
    return reps


def _symmetric_n(group: Group) -> int:
    """n when ``group`` is the built-in S_n with n ≥ YOUNG_FROM, else 0."""
    from rhoproof.groups.young import YOUNG_FROM

    match = re.fullmatch(r"S(\d+)", group.spec)
    return int(match.group(1)) if match and int(match.group(1)) >= YOUNG_FROM else 0


def _character_of_projection(group: Group, basis: np.ndarray) -> np.ndarray:
    """Character of the left regular action restricted to span(basis), ``[|G|]``."""
    proj = basis @ basis.T  # [|G|, |G|]
    # tr(Π L(g)) = Σ_h Π[h, g⁻¹h]... written as Σ_h Π[g h, h]
    return proj[group.table_np, np.arange(group.order)[None, :]].sum(axis=1)


def _clusters(values: np.ndarray, tol: float) -> list[np.ndarray]:
    """Split sorted ``values`` into runs whose consecutive gaps are at most ``tol``."""
    breaks = np.nonzero(np.diff(values) > tol)[0] + 1
    return np.split(np.arange(values.size), breaks)


def _decompose(group: Group, rng: np.random.Generator) -> list[tuple[np.ndarray, IrrepType]]:
    n = group.order
    t, inv = group.table_np, group.inverses
    # 1. isotypic components: eigenspaces of a random symmetric central element.
    coeff = rng.standard_normal(len(group.conjugacy_classes))[group.class_of]  # [|G|]
    w = coeff + coeff[inv]
    central = w[t[:, inv]]  # Z[a, b] = w(a b⁻¹), symmetric, commutes with left and right action
    evals, evecs = np.linalg.eigh(central)
    scale = max(1.0, float(np.abs(evals).max()))
    found = []
    for idx in _clusters(evals, 1e-7 * scale):
        basis = evecs[:, idx]  # [|G|, D]
        chi = _character_of_projection(group, basis)
        big_d = len(idx)
        s = float(chi[t[np.arange(n), np.arange(n)]].sum()) / n  # (1/|G|) Σ χ(g²)
        norm = float(chi @ chi) / n
        kind, real_dim = _classify_isotypic(big_d, s, norm)
        # 2. one irreducible copy: eigenspace of a random symmetric commutant element.
        c2 = rng.standard_normal(n)
        w2 = c2 + c2[inv]
        commutant = w2[t[inv, :]]  # S[a, b] = w2(a⁻¹ b): right action, commutes with left
        restricted = basis.T @ commutant @ basis  # [D, D]
        ev2, vec2 = np.linalg.eigh((restricted + restricted.T) / 2)
        scale2 = max(1.0, float(np.abs(ev2).max()))
        first = ev2[real_dim - 1] - ev2[0]
        gap = ev2[real_dim] - ev2[real_dim - 1] if real_dim < big_d else np.inf
        if first > 1e-7 * scale2 or gap < 1e-5 * scale2:
            raise IrrepError(f"could not isolate one copy of a {real_dim}-dim irrep")
        copy = basis @ vec2[:, :real_dim]  # [|G|, d], orthonormal
        copy, _ = np.linalg.qr(copy)
        # ρ(g) = Qᵀ L(g) Q with (L(g) Q)[a] = Q[g⁻¹ a]
        mats = np.einsum("ak,gal->gkl", copy, copy[t[inv, :]])
        found.append((mats, kind))
    return found


def _classify_isotypic(big_d: int, s: float, norm: float) -> tuple[IrrepType, int]:
    """Type and real dimension of the irrep whose isotypic component has dimension D, from the
    Frobenius–Schur sum s = (1/|G|) Σ χ(g²) and <χ, χ> of the component's character.

    real type, complex dim d:   D = d², s = d, <χ,χ> = d², real dim d
    complex pair, complex dim d: D = 2d², s = 0, <χ,χ> = 2d², real dim 2d
    quaternionic, complex dim d: D = d², s = -d, <χ,χ> = d², real dim 2d
    """
    si = round(s)
    if abs(s - si) > 1e-6 or abs(norm - big_d) > 1e-6:
        raise IrrepError(f"component of dim {big_d} is not isotypic (s={s:.4g}, <χ,χ>={norm:.4g})")
    if si > 0 and si * si == big_d:
        return "real", si
    if si < 0 and si * si == big_d and si % 2 == 0:
        return "quaternionic", -2 * si
    d = round((big_d / 2) ** 0.5)
    if si == 0 and 2 * d * d == big_d:
        return "complex", 2 * d
    raise IrrepError(f"component of dim {big_d} with s={si} matches no irrep type")


def _name_and_verify(group: Group, found: list[tuple[np.ndarray, IrrepType]]) -> tuple[Irrep, ...]:
    reps = [cls[0] for cls in group.conjugacy_classes]

    def key(item: tuple[np.ndarray, IrrepType]) -> tuple:
        mats, _ = item
        chi = np.trace(mats, axis1=1, axis2=2)[reps]
        return (mats.shape[1], tuple(-np.round(chi, 6)))

    found = sorted(found, key=key)
    out = []
    counts: dict[int, int] = {}
    for mats, kind in found:
        d = mats.shape[1]
        k = counts.get(d, 0)
        counts[d] = k + 1
        indicator = {"real": 1, "complex": 0, "quaternionic": -1}[kind]
        rep = Irrep(f"{d}d-{k}", group.spec, mats, kind, indicator)
        verify_irrep(group, rep)
        out.append(rep)
    verify_complete(group, out)
    return tuple(out)


def verify_irrep(group: Group, rep: Irrep, tol: float = TOLERANCE) -> None:
    """Raise IrrepError unless ρ is an orthogonal homomorphism of the claimed type."""
    mats = rep.matrices
    n, d = mats.shape[0], mats.shape[1]
    if not np.isfinite(mats).all():  # NaN would pass every "error > tol" test below
        raise IrrepError(f"{rep.name}: matrices with NaN or infinite entries")
    eye = np.eye(d)
    orth = np.abs(np.einsum("gji,gjk->gik", mats, mats) - eye).max()
    if not orth <= tol:
        raise IrrepError(f"{rep.name}: orthogonality error {orth:.2e} > {tol:.0e}")
    hom = homomorphism_error(group, mats)
    if not hom <= tol:
        raise IrrepError(f"{rep.name}: homomorphism error {hom:.2e} > {tol:.0e}")
    chi = rep.character
    norm = float(chi @ chi) / n
    s = float(chi[group.table_np[np.arange(n), np.arange(n)]].sum()) / n
    expected_s = {"real": 1, "complex": 0, "quaternionic": -2}[rep.type]
    if not (abs(norm - rep.schur_dim) <= 1e-6 and abs(s - expected_s) <= 1e-6):
        raise IrrepError(f"{rep.name}: character says not irreducible of type {rep.type}")


ALL_PAIRS_BUDGET = 2 * 10**9
"""Multiply-adds above which the homomorphism check uses a generating set instead of all pairs."""


def homomorphism_error(group: Group, mats: np.ndarray, chunk: int = 64) -> float:
    """max over checked (g, h) of |ρ(g)ρ(h) − ρ(gh)|, in slabs of g to bound memory.

    All pairs when |G|²·d³ is within ``ALL_PAIRS_BUDGET``; otherwise g runs over
    ``group.generators`` and h over G, which is enough: if ρ(sh) = ρ(s)ρ(h) for every
    generator s and ρ(e) = I, then ρ(gh) = ρ(g)ρ(h) for every g, by induction on word length.
    """
    t = group.table_np
    n, d = mats.shape[0], mats.shape[1]
    rows = np.arange(n) if n * n * d**3 <= ALL_PAIRS_BUDGET else np.array(group.generators)
    worst = float(np.abs(mats[group.identity] - np.eye(d)).max())
    for g0 in range(0, rows.size, chunk):
        gs = rows[g0:g0 + chunk]
        prod = np.matmul(mats[gs][:, None], mats[None, :])  # [chunk, |G|, d, d]
        worst = float(np.maximum(worst, np.abs(prod - mats[t[gs]]).max()))  # NaN stays
    return worst


def verify_complete(group: Group, reps: list[Irrep]) -> None:
    """The real irreps are pairwise inequivalent and account for the regular representation:
    Σ d²/<χ,χ> = |G|, and their number equals the number of real classes (g ~ g⁻¹ merged)."""
    total = sum(r.dim**2 // r.schur_dim for r in reps)
    if total != group.order:
        raise IrrepError(f"Σ dim²/k = {total} != |G| = {group.order}")
    chars = np.stack([r.character for r in reps])  # [irreps, |G|]
    gram = chars @ chars.T / group.order
    expected = np.diag([float(r.schur_dim) for r in reps])
    if not np.abs(gram - expected).max() <= 1e-6:
        raise IrrepError("real irrep characters are not orthogonal: some irrep is repeated")
    inv_class = group.class_of[group.inverses[[c[0] for c in group.conjugacy_classes]]]
    real_classes = len({frozenset((k, int(j))) for k, j in enumerate(inv_class)})
    if real_classes != len(reps):
        raise IrrepError(f"{len(reps)} real irreps but {real_classes} real classes")
