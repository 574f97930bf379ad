"""The independent checker: re-verifies a rhoproof certificate without trusting the prover.

Its trusted base (docs/soundness.md §6) is this package, numpy, Python's ``fractions`` and
``hashlib``, the ``safetensors.numpy`` reader, and the Cayley table it is handed, which must
hash (``table.table_sha256``) to the certificate's ``group_sha256``. It imports
nothing else from rhoproof (a test parses its imports). The steps:

1. ``weights.read_file``: hash the weights file, compare with the certificate's
   ``weights_sha256``, read the stored tensors (float32 or float64) and enclose the real model
   they stand for (``weights.enclosure``, [F1]);
2. ``parse.parse``: check that the certificate pins the group of the Cayley table it is
   checked against (and the weights' metadata, where it records one, the same group), then
   validate every field of the certificate into a typed ``Claim`` (types,
   finiteness, the safe range [R], shapes, index ranges), rejecting with the first problem;
3. recompute the bound, one module per verifier: ``brute`` (exact count, rationals where
   the float enclosures cannot decide), ``irrep`` (the facts of §1 from the integer tables
   in ``ideal``, stage 1 in ``separable``, then the per-input and per-output stages) and
   ``coset`` and ``fourier``; all rigorous float arithmetic is ``rounding``, the checker's own copy.

A claim is accepted when the recomputed bound is at least as strong: certified count ≥ the
claimed one (for V_brute: equal, both exact) and recomputed cross-entropy bound ≤ the claimed
one. A weaker claim than the data supports is still a true claim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rhoproof.check.brute import Exact, brute
from rhoproof.check.coset import coset
from rhoproof.check.fourier import fourier
from rhoproof.check.irrep import irrep
from rhoproof.check.limbs import decide
from rhoproof.check.parse import CheckFailed, Claim, check_format, parse, require
from rhoproof.check.table import table_sha256
from rhoproof.check.weights import StoredModel, enclosure, in_safe_range, read_file


@dataclass(frozen=True)
class CheckResult:
    """What the checker recomputed for an accepted certificate.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> from rhoproof.verify.certificate import check_certificate
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=1))
    >>> result = check_certificate(rhoproof.certify(run, 0), run)
    >>> result.certified_inputs, result.to_json()["method"]
    (576, 'irrep')
    """

    method: str
    instance: int
    certified_inputs: int  # recomputed (≥ the claimed count)
    accuracy: float  # certified_inputs / |G|²
    cross_entropy: float  # recomputed upper bound (≤ the claimed one)
    claim: Claim = field(repr=False)  # the parsed certificate: large, printed apart

    def to_json(self) -> dict[str, Any]:
        """The recomputed figures (the claim's data aside)."""
        return {"method": self.method, "instance": self.instance,
                "certified_inputs": self.certified_inputs, "accuracy": self.accuracy,
                "cross_entropy": self.cross_entropy}


def _exact(model: StoredModel, k: int, table: np.ndarray) -> Exact:
    """Exact decisions for instance k at chosen inputs (``limbs.decide``)."""
    return lambda xs, ys: decide(model.tensors, model.folded, k, xs, ys, table)


def recompute(claim: Claim, model: StoredModel, table: np.ndarray) -> tuple[int, float]:
    """(certified inputs, cross-entropy bound) recomputed from the claim's data.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> from rhoproof.check import recompute
    >>> from rhoproof.check.weights import read_file
    >>> from rhoproof.verify.certificate import check_certificate
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=1))
    >>> claim = check_certificate(rhoproof.certify(run, 0, "brute"), run).claim
    >>> digest, stored = read_file(run.path / "weights.safetensors")
    >>> recompute(claim, stored, run.group.table_np)[0]
    576
    """
    if claim.method != "brute" and claim.certified_inputs == 0 and \
            claim.cross_entropy == math.inf:
        return 0, math.inf  # nothing claimed (e.g. a model outside the safe range)
    center, radius = enclosure(model, claim.instance)
    if claim.method == "brute":
        return brute(center, radius, _exact(model, claim.instance, table), table)
    safe_center, safe_radius = in_safe_range(center, radius)
    if claim.method == "irrep":
        count, ce = irrep(claim, safe_center, safe_radius, table)
        if claim.exact and count < claim.certified_inputs:  # stage 4: decide the rest
            # by brute force; every input the stages certify is correct, so the union of
            # theirs and the truly correct ones is the truly correct ones
            exact = _exact(model, claim.instance, table)
            count = max(count, brute(center, radius, exact, table)[0])
        return count, ce
    if claim.method == "fourier":
        return fourier(claim, safe_center, safe_radius, table)
    return coset(claim, safe_center, safe_radius, table)


def check_model(cert: Any, model: StoredModel, table: Any, group: str) -> CheckResult:
    """Parse a certificate, recompute its bound and compare; CheckFailed unless the claims hold.

    The group is the one of the Cayley table ``table`` (labelled ``group``). No weights hash
    check: use ``check_file`` for a certificate bound to a weights file.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> from rhoproof.check import CheckFailed, check_model
    >>> from rhoproof.check.weights import read_file
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=1))
    >>> digest, stored = read_file(run.path / "weights.safetensors")
    >>> cert = rhoproof.certify(run, 0).to_json()
    >>> check_model(cert, stored, run.group.table_np, "S4").certified_inputs
    576
    >>> cert["cross_entropy"] /= 2  # a claim the data does not support
    >>> try:
    ...     check_model(cert, stored, run.group.table_np, "S4")
    ... except CheckFailed as exc:
    ...     print(str(exc).split(",")[0])
    claimed cross-entropy bound 0.0150...
    """
    table = np.asarray(table, dtype=np.int64)
    k, g, m = model.shape
    require(table.ndim == 2 and table.shape == (g, g), f"the model has {g} outputs, the "
            f"Cayley table is {table.shape}")
    digest = table_sha256(table)
    require(model.group_sha256 is None or model.group_sha256 == digest,
            f"the weights were trained on another group (their metadata's group_sha256 "
            f"{str(model.group_sha256)[:12]}... is not the table's {digest[:12]}...)")
    claim = parse(cert, g, m, k, group, digest)
    count, ce = recompute(claim, model, table)
    if claim.method == "brute":
        require(count == claim.certified_inputs,
                f"claimed {claim.certified_inputs} correct inputs, recomputed {count}")
    else:
        require(count >= claim.certified_inputs,
                f"claimed {claim.certified_inputs} certified inputs, recomputed {count}")
    require(ce <= claim.cross_entropy or (math.isinf(ce) and math.isinf(claim.cross_entropy)),
            f"claimed cross-entropy bound {claim.cross_entropy}, recomputed {ce}")
    return CheckResult(claim.method, claim.instance, count, count / g**2, ce, claim)


def check_file(cert: Any, weights: str | Path, table: Any, group: str) -> CheckResult:
    """``check_model`` for a certificate bound to a weights file, whose SHA-256 must match.

    The file's SHA-256 must be the certificate's ``weights_sha256``; raises CheckFailed
    otherwise, or unless the claims hold.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> from rhoproof.check import check_file
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=1))
    >>> cert = rhoproof.certify(run, 0).to_json()
    >>> check_file(cert, run.path / "weights.safetensors", run.group.table_np, "S4").accuracy
    1.0
    """
    check_format(cert)  # a file that is no certificate says so, not "other weights"
    require(cert.get("group") == group, f"the certificate is for {str(cert.get('group'))[:200]!r}"
            f", the run is {group}")  # said before the weights' hash, which would differ too
    digest, model = read_file(weights)
    require(cert.get("weights_sha256") == digest,
            "the certificate is for other weights (SHA-256 differs)")
    return check_model(cert, model, table, group)


__all__ = ["CheckFailed", "CheckResult", "Claim", "StoredModel", "check_file", "check_model",
           "recompute", "table_sha256"]
