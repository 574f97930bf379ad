"""Import weights trained elsewhere as a rhoproof run directory.

Accepted: a safetensors file or a torch state dict (``torch.load(weights_only=True)``; a dict
of tensors, possibly under one key such as "model" or "state_dict", names possibly prefixed as
in "module.embedding_left"), holding either the seed paper's parameter names (also ours)

    embedding_left [K?, |G|, d_e], embedding_right [K?, |G|, d_e], linear_left [K?, d_e, m],
    linear_right [K?, d_e, m], unembedding [K?, m, |G|], unembed_bias [K?, |G|]

or folded tensors (left, right [K?, |G|, m], unembed [K?, m, |G|], bias [K?, |G|]), with or
without the instance axis K. A missing bias (the seed code's ``unembed_bias=False``) is taken
as zeros, and said so; any other missing tensor is named.

Element order and product. By default element i of the weights is element i of rhoproof's
group (``rhoproof groups SPEC`` lists them; S_n and A_n are permutations of 1..n in
lexicographic one-line order, multiplied right to left: (x·y)(i) = x(y(i))). Another source's
convention is given by
* ``table``: its Cayley table, in its element order (JSON list of rows, 0-based); an
  isomorphism onto rhoproof's group is searched for, and the weights relabelled by it; or
* ``labels``: its elements as permutations, in its order (cycle notation on 1..n such as GAP's
  "(1,2)(3,4,5)" and "()", or 0-based one-line image lists), with ``product`` "right-to-left"
  (ours) or "left-to-right" (GAP's: p*q applies p first); left-to-right swaps the roles of the
  left and right inputs.
Float32 and float64 weights keep their dtype; float16/bfloat16 become float32 (exactly).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rhoproof.config import PRODUCTS
from rhoproof.errors import RunError, UserError
from rhoproof.groups import Group
from rhoproof.groups import group as make_group
from rhoproof.groups.stored import is_table_spec
from rhoproof.model import FOLDED_NAMES, PARAM_NAMES, Folded, GroupMLP

PAPER_SHAPES = {"embedding_left": "[K?, |G|, d_e]", "embedding_right": "[K?, |G|, d_e]",
                "linear_left": "[K?, d_e, m]", "linear_right": "[K?, d_e, m]",
                "unembedding": "[K?, m, |G|]", "unembed_bias": "[K?, |G|]"}
FOLDED_SHAPES = {"left": "[K?, |G|, m]", "right": "[K?, |G|, m]", "unembed": "[K?, m, |G|]",
                 "bias": "[K?, |G|]"}


def _expected() -> str:
    return ("expected the seed paper's names " + ", ".join(f"{n} {s}" for n, s in
                                                            PAPER_SHAPES.items())
            + "; or folded " + ", ".join(f"{n} {s}" for n, s in FOLDED_SHAPES.items()))


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors in a safetensors file or torch state dict, by unprefixed name."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"{path}: no such file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            raw = load_file(str(path))
        else:
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any reader failure is a bad input file
        first = (str(exc).strip().splitlines() or [""])[0][:200]  # torch's text is long
        # a damaged pickle fails deep in the unpickler with e.g. "KeyError: 101", and torch's
        # safe loader refuses other objects with advice for its API: say what each means
        detail = "the file is truncated or damaged" if isinstance(
            exc, (KeyError, IndexError, EOFError)) or len(first) < 12 else first
        if "weights_only" in str(exc) or "Unpickl" in type(exc).__name__:
            detail = ("it holds Python objects other than tensors (save the model's "
                      "state_dict(), not the model)")
        detail = re.sub(r"\x1b\[[0-9;]*m", "", detail)
        raise RunError(f"{path}: not a readable safetensors file or torch state dict "
                       f"({detail})") from None
    if isinstance(raw, dict) and len(raw) == 1:
        (only,) = raw.values()
        if isinstance(only, dict):
            raw = only  # {"model": state_dict}
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise RunError(f"{path}: expected a dict of tensors (a state dict); {_expected()}")
    known = set(PARAM_NAMES) | set(FOLDED_NAMES)
    out: dict[str, torch.Tensor] = {}
    for name, t in raw.items():
        short = name.rsplit(".", 1)[-1]
        if short in known:
            if short in out:
                raise RunError(f"{path}: {short} appears twice ({name})")
            out[short] = t
    return out


def _with_instances(tensors: dict[str, torch.Tensor], names: tuple[str, ...], source: str
                    ) -> dict[str, torch.Tensor]:
    """Add the instance axis where it is missing (all or none must lack it)."""
    full = {"embedding_left": 3, "embedding_right": 3, "linear_left": 3, "linear_right": 3,
            "unembedding": 3, "unembed_bias": 2, "left": 3, "right": 3, "unembed": 3,
            "bias": 2}
    has = {n: tensors[n].dim() == full[n] for n in names}
    lacks = {n: tensors[n].dim() == full[n] - 1 for n in names}
    if all(lacks.values()):
        return {n: tensors[n][None] for n in names}
    if not all(has.values()):
        bad = [f"{n} {list(tensors[n].shape)}" for n in names if not has[n]]
        raise RunError(f"{source}: wrong number of dimensions for {', '.join(bad)}; "
                       f"{_expected()}")
    return {n: tensors[n] for n in names}


@dataclass(frozen=True)
class ImportReport:
    """Where an import went and what it assumed."""

    out: Path
    convention: str  # the element order and product the weights were read with
    notes: list[str] = field(default_factory=list)  # e.g. a bias taken as zeros
    accuracy: list[float] = field(default_factory=list)  # exact, per instance
    chance: float = 0.0

    @property
    def low(self) -> list[int]:
        """The models below ``LOW_ACCURACY`` (or twice chance): models imported to rhoproof
        are trained ones, so the element order or product is probably not the source's (7×
        chance on S5 is still far below what the source's models score)."""
        return [k for k, a in enumerate(self.accuracy) if a < self.floor]

    @property
    def floor(self) -> float:
        """The accuracy below which an imported model is suspect."""
        return max(LOW_ACCURACY, 2 * self.chance)

    @property
    def near_chance(self) -> bool:
        """Some model scores below ``LOW_ACCURACY`` (see ``low``)."""
        return bool(self.low)


LOW_ACCURACY = 0.5
"""Below this mean exact accuracy an import warns that the element order may be wrong."""


def _source_table(path: str | Path, order: int) -> np.ndarray:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: not a readable JSON Cayley table ({exc})") from None
    if isinstance(data, dict):
        data = data.get("table")
    try:
        table = np.asarray(data, dtype=np.int64)
    except (TypeError, ValueError):
        table = np.zeros(0, dtype=np.int64)
    if table.shape != (order, order) or table.min() < 0 or table.max() >= order:
        raise RunError(f"{path}: expected a {order}x{order} table of 0-based element indices")
    return table


def _element_orders(t: np.ndarray, e: int) -> np.ndarray:
    """The order of every element of the group with Cayley table ``t`` and identity ``e``."""
    out = np.ones(t.shape[0], dtype=np.int64)
    cur = np.arange(t.shape[0])
    while True:
        active = cur != e
        if not active.any():
            return out
        cur = np.where(active, t[cur, np.arange(t.shape[0])], cur)
        out += active


def _generates(table: np.ndarray, e: int, gens: list[int]) -> bool:
    """Whether ``gens`` generate the whole group (breadth-first closure)."""
    n = table.shape[0]
    seen = np.zeros(n, dtype=bool)
    seen[e] = True
    frontier = np.array([e])
    while frontier.size:
        nxt = np.unique(table[frontier][:, gens].ravel())
        frontier = nxt[~seen[nxt]]
        seen[frontier] = True
    return bool(seen.all())


def _extend(source: np.ndarray, target: np.ndarray, e_src: int, e_tgt: int, gens: list[int],
            images: list[int]) -> np.ndarray | None:
    """The homomorphism sending each generator to its image, extended along the generators,
    if it is a well-defined bijection that respects the whole table; else None."""
    n = source.shape[0]
    phi = np.full(n, -1, dtype=np.int64)
    phi[e_src] = e_tgt
    frontier = [e_src]
    while frontier:
        nxt = []
        for a in frontier:
            for s, img in zip(gens, images):
                b = int(source[a, s])
                v = int(target[phi[a], img])
                if phi[b] < 0:
                    phi[b] = v
                    nxt.append(b)
                elif phi[b] != v:
                    return None
        frontier = nxt
    if (phi < 0).any() or len(set(phi.tolist())) != n:
        return None
    return phi if bool((phi[source] == target[phi[:, None], phi[None, :]]).all()) else None


def isomorphism(source: np.ndarray, grp: Group) -> np.ndarray | None:
    """φ with φ[source[i, j]] = φ[i]·φ[j] (φ[i]: rhoproof's element for the source's i), or
    None when the tables are not isomorphic. Backtracking over images of the source's
    generators (same element order), each candidate extended along the generators and checked
    on the whole table."""
    from rhoproof.groups.group import _magma_generators, validate_table

    validate_table(source, "the source table")
    n = source.shape[0]
    target = grp.table_np
    e_src = int(np.nonzero((source == np.arange(n)[None]).all(1))[0][0])
    rng = np.random.default_rng(0)  # a generating pair keeps the search small
    gens = next((pair for pair in (sorted(rng.choice(n, 2, replace=False).tolist())
                                   for _ in range(400)) if _generates(source, e_src, pair)),
                _magma_generators(source) or [])  # validated: a group, so not None
    o_src, o_tgt = _element_orders(source, e_src), _element_orders(target, grp.identity)
    cands = [np.nonzero(o_tgt == o_src[s])[0] for s in gens]

    def search(i: int, images: list[int]) -> np.ndarray | None:
        if i == len(gens):
            return _extend(source, target, e_src, grp.identity, gens, images)
        for c in cands[i]:
            found = search(i + 1, images + [int(c)])
            if found is not None:
                return found
        return None

    return search(0, [])


def _parse_permutation(label: object, n: int) -> tuple[int, ...]:
    """A permutation of 0..n−1 from cycle notation on 1..n or a 0-based image list."""
    if isinstance(label, list):
        if sorted(label) != list(range(n)):
            raise ValueError(f"{label} is not a permutation of 0..{n - 1}")
        return tuple(int(v) for v in label)
    if not isinstance(label, str):
        raise ValueError(f"{label!r} is not a permutation")
    text = label.strip()
    perm = list(range(n))
    if text in ("", "()", "e"):
        return tuple(perm)
    if not re.fullmatch(r"(\(\s*\d+(\s*[, ]\s*\d+)*\s*\))+", text):
        raise ValueError(f"{label!r} is not cycle notation")
    seen: set[int] = set()
    for cyc in re.findall(r"\(([^)]*)\)", text):
        pts = [int(v) - 1 for v in re.split(r"[,\s]+", cyc.strip())]
        if any(not 0 <= p < n for p in pts):
            raise ValueError(f"{label!r} moves points outside 1..{n}")
        if len(set(pts)) != len(pts) or seen & set(pts):
            raise ValueError(f"{label!r} is not a product of disjoint cycles")
        seen |= set(pts)
        for a, b in zip(pts, pts[1:] + pts[:1]):
            perm[a] = b
    return tuple(perm)


def _labels_map(path: str | Path, grp: Group) -> np.ndarray:
    """φ[i] = rhoproof's element for the source's i-th label."""
    from rhoproof.groups.specs import _perm_label

    try:
        labels = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: not a readable JSON list of labels ({exc})") from None
    if not isinstance(labels, list) or len(labels) != grp.order:
        raise RunError(f"{path}: expected a JSON list of {grp.order} element labels")
    if not re.fullmatch(r"[SA]\d+", grp.spec):
        raise RunError(f"--labels needs a permutation group (S_n or A_n), not {grp.spec}; "
                       f"use --table")
    n = int(grp.spec[1:])
    phi = []
    for i, lab in enumerate(labels):
        try:
            phi.append(grp.index(_perm_label(_parse_permutation(lab, n))))
        except (ValueError, UserError) as exc:
            raise RunError(f"{path}: label {i}: {exc}") from None
    if len(set(phi)) != grp.order:
        raise RunError(f"{path}: labels repeat an element")
    return np.asarray(phi, dtype=np.int64)


def _relabel(t: dict[str, torch.Tensor], phi: np.ndarray, names: tuple[str, ...]
             ) -> dict[str, torch.Tensor]:
    """Move the source's element i to rhoproof's φ[i] on every group axis."""
    where = torch.from_numpy(np.argsort(phi))  # new index j ← source index φ⁻¹(j)
    axes = {"embedding_left": 1, "embedding_right": 1, "unembedding": 2, "unembed_bias": 1,
            "left": 1, "right": 1, "unembed": 2, "bias": 1}
    return {n: (t[n].index_select(axes[n], where) if n in axes else t[n]) for n in names}


def import_weights(path: str | Path, spec: str, out: str | Path, *, table: str | Path | None
                   = None, labels: str | Path | None = None, product: str = "right-to-left"
                   ) -> Path:
    """Write the weights at ``path`` for group ``spec`` as a run directory at ``out``; see
    ``import_report`` for the conventions and what is said about them."""
    return import_report(path, spec, out, table=table, labels=labels, product=product).out


def _stored_group(path: str | Path) -> tuple[str | None, str | None]:
    """The group (spec, table SHA-256) a safetensors file says its models are for (rhoproof
    writes both in the metadata), each None where not recorded."""
    if Path(path).suffix != ".safetensors":
        return None, None
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except (OSError, SafetensorError):  # read_weights already read the file: only a file
        return None, None  # changed or removed since can land here
    return meta.get("group") or None, meta.get("group_sha256") or None


def import_report(path: str | Path, spec: str, out: str | Path, *,
                  table: str | Path | None = None, labels: str | Path | None = None,
                  product: str = "right-to-left") -> ImportReport:
    """``import_weights`` returning what it assumed, its notes, and the exact accuracy of
    every imported model (near chance means the convention is probably wrong)."""
    from rhoproof.config import TrainConfig
    from rhoproof.run import write_stored_run

    _check_options(product, table, labels)
    grp = make_group(spec)
    tensors = read_weights(path)
    if table is None and labels is None:
        _check_stored_group(path, grp, spec)
    source = str(path)
    notes: list[str] = []
    names, t = _named_tensors(tensors, source, notes)
    k, d, m = _check_shapes(t, names, grp, source, spec)
    t, convention = _relabelled(t, names, grp, table, labels, product)
    dtype = torch.float64 if any(v.dtype == torch.float64 for v in t.values()) else \
        torch.float32
    t = {n: v.to(dtype) for n, v in t.items()}  # one dtype per run (float32 → 64 is exact)
    config = TrainConfig(group=grp.spec, n_instances=int(k), d_embed=int(d),
                         d_hidden=int(m), epochs=0,
                         dtype="float64" if dtype == torch.float64 else "float32")
    info = {"imported_from": str(Path(path).resolve()), "imported_names": "paper"
            if names == PARAM_NAMES else "folded", "element_order": convention,
            "import_notes": notes}
    out = Path(out)
    model: GroupMLP | Folded = Folded(*(t[n] for n in FOLDED_NAMES)) \
        if names == FOLDED_NAMES else GroupMLP.from_tensors(t)
    write_stored_run(out, model, config, info, grp)
    return _report(out, convention, notes, model, grp)


def _check_options(product: str, table: str | Path | None, labels: str | Path | None) -> None:
    if product not in PRODUCTS:
        raise RunError(f"product must be right-to-left or left-to-right, not {product!r}")
    if table is not None and labels is not None:
        raise RunError("give --table or --labels, not both")
    if product != "right-to-left" and labels is None:
        raise RunError("--product goes with --labels (a --table already fixes the product, and "
                       "without either the elements are rhoproof's own)")


def _check_stored_group(path: str | Path, grp: Group, spec: str) -> None:
    """Without --table or --labels, the group the weights' metadata records (if any) must be
    this one."""
    stored, stored_sha = _stored_group(path)
    if stored is not None and stored != grp.spec and not (
            stored_sha is not None and stored_sha == grp.sha256):
        raise RunError(f"{path} records that its models are for {stored}, not {grp.spec};"
                       f" import it with --group {stored} (or relabel with "
                       f"--table/--labels)")
    if stored_sha is not None and stored_sha != grp.sha256:
        raise RunError(f"{path} records that its models are for another table of "
                       f"{stored} (group SHA-256 {stored_sha[:12]}..., {spec} here is "
                       f"{grp.sha256[:12]}...); pass the table it was trained on")


def _named_tensors(tensors: dict[str, torch.Tensor], source: str, notes: list[str]
                   ) -> tuple[tuple[str, ...], dict[str, torch.Tensor]]:
    """Which naming the weights use (the paper's or folded), a zero bias where none is
    stored (noted), and the tensors with an instance axis, float."""
    for names_, unembed, bias in ((PARAM_NAMES, "unembedding", "unembed_bias"),
                                  (FOLDED_NAMES, "unembed", "bias")):
        if bias not in tensors and all(n in tensors for n in names_ if n != bias):
            u = tensors[unembed]  # [K?, m, |G|] → the bias is [K?, |G|]
            tensors[bias] = torch.zeros(u.shape[:-2] + u.shape[-1:], dtype=u.dtype)
            notes.append(f"no {bias} in the weights: taken as zeros (as the seed code's "
                         f"unembed_bias=False)")
    if all(n in tensors for n in PARAM_NAMES):
        names: tuple[str, ...] = PARAM_NAMES
    elif all(n in tensors for n in FOLDED_NAMES):
        names = FOLDED_NAMES
    else:
        best = max((PARAM_NAMES, FOLDED_NAMES), key=lambda ns: sum(n in tensors for n in ns))
        missing = [n for n in best if n not in tensors]
        found = ", ".join(f"{n} {list(t.shape)}" for n, t in tensors.items()) or "none"
        raise RunError(f"{source}: missing {', '.join(missing)} (found {found}); "
                       f"{_expected()}")
    t = {n: v.detach() for n, v in _with_instances(tensors, names, source).items()}
    return names, {n: v if v.dtype in (torch.float32, torch.float64) else v.to(torch.float32)
                   for n, v in t.items()}


def _check_shapes(t: dict[str, torch.Tensor], names: tuple[str, ...], grp: Group,
                  source: str, spec: str) -> tuple[int, int, int]:
    """(instances, embedding width, hidden width), after checking every shape against the
    group and every value finite."""
    g = grp.order
    if names == PARAM_NAMES:
        k, g_in, d = t["embedding_left"].shape
        m = t["linear_left"].shape[2]
        expected = {"embedding_left": (k, g, d), "embedding_right": (k, g, d),
                    "linear_left": (k, d, m), "linear_right": (k, d, m),
                    "unembedding": (k, m, g), "unembed_bias": (k, g)}
    else:
        k, g_in, m = t["left"].shape
        d = m
        expected = {"left": (k, g, m), "right": (k, g, m), "unembed": (k, m, g), "bias": (k, g)}
    if g_in != g:
        raise RunError(f"{source}: weights are for a group of order {g_in}, {spec} has order "
                       f"{g}")
    for n, shape in expected.items():
        if tuple(t[n].shape) != shape:
            raise RunError(f"{source}: {n} has shape {list(t[n].shape)}, expected "
                           f"{list(shape)} for {spec}; {_expected()}")
        if not torch.isfinite(t[n]).all():
            raise RunError(f"{source}: {n} contains NaN or infinite values")
    return int(k), int(d), int(m)


def _relabelled(t: dict[str, torch.Tensor], names: tuple[str, ...], grp: Group,
                table: str | Path | None, labels: str | Path | None, product: str
                ) -> tuple[dict[str, torch.Tensor], str]:
    """The tensors in rhoproof's element order, and the convention assumed, in words."""
    if table is not None:
        phi = isomorphism(_source_table(table, grp.order), grp)
        if phi is None:
            raise RunError(f"{table}: the source's Cayley table is not isomorphic to "
                           f"{grp.spec}")
        return _relabel(t, phi, names), (f"the source's element order and product from the "
                                         f"Cayley table {table}")
    if labels is not None:
        t = _relabel(t, _labels_map(labels, grp), names)
        if product == "left-to-right":  # source x*y is our y·x: swap the two inputs
            swap = {"embedding_left": "embedding_right", "linear_left": "linear_right",
                    "left": "right"}
            swap |= {v: k for k, v in swap.items()}
            t = {n: t[swap.get(n, n)] for n in names}
        return t, f"the source's elements as labelled in {labels}, multiplied {product}"
    if is_table_spec(grp.spec):
        return t, (f"the element order and product of the Cayley table {grp.spec} "
                   f"(stored in the run)")
    if re.fullmatch(r"[SA]\d+", grp.spec):
        return t, (f"rhoproof's element order for {grp.spec} (permutations in "
                   f"lexicographic one-line order: rhoproof.groups.group({grp.spec!r})"
                   f".labels), product right to left: (x·y)(i) = x(y(i))")
    return t, (f"rhoproof's element order for {grp.spec} "
               f"(rhoproof.groups.group({grp.spec!r}).labels)")


def _report(out: Path, convention: str, notes: list[str], model: GroupMLP | Folded,
            grp: Group) -> ImportReport:
    from rhoproof.evaluate import evaluate

    acc = evaluate(model, grp).accuracy.tolist()
    return ImportReport(out, convention, notes, acc, 1 / grp.order)


__all__ = ["ImportReport", "import_report", "import_weights", "isomorphism", "read_weights"]
