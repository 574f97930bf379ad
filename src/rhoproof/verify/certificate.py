"""Certificates: what a proof claims and everything needed to re-check it, as JSON.

A certificate binds to the run's weights by SHA-256, records the claimed bounds (the number of
certified inputs, the cross-entropy bound) and the idealized circuits' parameters, from which
``check_certificate`` rebuilds the exactly bi-equivariant model and recomputes the bounds
without the explanation search. Any edit to the bound or to a parameter changes the
recomputation, and the certificate is rejected.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch

from rhoproof.errors import UserError
from rhoproof.explain.idealize import MIN_WEIGHT, IdealCircuit, idealize
from rhoproof.groups import Group
from rhoproof.model import Folded
from rhoproof.verify.bounds import brute_bound, irrep_bound
from rhoproof.verify.exact_ideal import exact_ideal

FORMAT = "rhoproof-certificate-1"


class CertificateError(UserError):
    """A certificate that is malformed, for other weights, or whose claims do not hold."""


def weights_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _circuit_to_json(c: IdealCircuit) -> dict[str, Any]:
    return {"irrep": c.irrep, "neurons": c.neurons.tolist(), "points_b": c.points_b.tolist(),
            "points_c": c.points_c.tolist(), "a": c.a.tolist(), "ratio": c.ratio,
            "p": c.p.tolist(), "q": c.q.tolist(), "scale": c.scale.tolist(),
            "weight": c.weight.tolist(), "bias": c.bias}


def _circuit_from_json(d: dict[str, Any]) -> IdealCircuit:
    f64 = {"dtype": torch.float64}
    return IdealCircuit(str(d["irrep"]), torch.tensor(d["neurons"], dtype=torch.int64),
                        torch.tensor(d["points_b"], **f64), torch.tensor(d["points_c"], **f64),
                        torch.tensor(d["a"], **f64), float(d["ratio"]),
                        torch.tensor(d["p"], dtype=torch.int64),
                        torch.tensor(d["q"], dtype=torch.int64),
                        torch.tensor(d["scale"], **f64), torch.tensor(d["weight"], **f64),
                        float(d["bias"]))


def certify_model(folded: Folded, grp: Group, k: int, method: str = "irrep"
                  ) -> dict[str, Any]:
    """A certificate (a JSON-ready dict) for model ``k``; timings split search / proof /
    brute force."""
    f = folded.to(dtype=torch.float64).detach()
    g2 = grp.order**2
    t0 = time.perf_counter()
    truth = brute_bound(f.instance(k), grp)
    brute_s = time.perf_counter() - t0
    cert: dict[str, Any] = {"format": FORMAT, "method": method, "group": grp.spec,
                            "instance": k, "brute": {"accuracy": truth.accuracy,
                                                     "cross_entropy": truth.cross_entropy,
                                                     "seconds": brute_s}}
    if method == "brute":
        cert.update(certified_inputs=round(truth.accuracy * g2), accuracy=truth.accuracy,
                    cross_entropy=truth.cross_entropy, circuits=[], seconds={"proof": brute_s})
        return cert
    t1 = time.perf_counter()
    _, report = idealize(f, grp, k)
    t2 = time.perf_counter()
    ideal = exact_ideal(grp, f.d_hidden, report.ideal, f.bias[k])
    bound = irrep_bound(f.instance(k), ideal, grp)
    t3 = time.perf_counter()
    assert bound.certified is not None
    n, m = grp.order, f.d_hidden
    ops = {  # multiply-adds, to leading order
        "brute": 2 * n**3 * m,  # hidden layer of all |G|² pairs, then |G| logits each
        "proof_global": 6 * n**2 * m,  # D, N and the correct logit per input
        "proof_per_output": 4 * n**3,  # the max over z, where it is computed
        "ideal": sum(len(c.neurons) * 3 * n for c in report.ideal),  # tables of f̂
    }
    cert.update(verdict=report.verdict(), reasons=report.reasons(MIN_WEIGHT))
    cert.update(certified_inputs=int(bound.certified.sum()), accuracy=bound.accuracy, ops=ops,
                cross_entropy=bound.cross_entropy, margin=bound.margin,
                circuits=[_circuit_to_json(c) for c in report.ideal],
                excluded=ideal.excluded,
                seconds={"search": t2 - t1, "proof": t3 - t2, "brute": brute_s,
                         "proof_over_brute": (t3 - t2) / max(brute_s, 1e-12)})
    return cert


def check_certificate(cert: dict[str, Any], folded: Folded, grp: Group) -> dict[str, Any]:
    """Recompute a certificate's claims on the given model; raise CertificateError unless the
    recomputed certified-input count and cross-entropy bound equal the claimed ones."""
    if not isinstance(cert, dict) or cert.get("format") != FORMAT:
        raise CertificateError(f"not a {FORMAT} certificate")
    claimed = {key: cert.get(key) for key in ("certified_inputs", "accuracy", "cross_entropy")}
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
               for v in claimed.values()):
        raise CertificateError("malformed certificate: certified_inputs, accuracy and "
                               "cross_entropy must be numbers")
    try:
        if cert["group"] != grp.spec:
            raise CertificateError(f"certificate is for {cert['group']}, run is {grp.spec}")
        k = int(cert["instance"])
        f = folded.to(dtype=torch.float64).detach()
        if not 0 <= k < f.n_instances:
            raise CertificateError(f"instance {k} is not in the run")
        if cert["method"] == "brute":
            truth = brute_bound(f.instance(k), grp)
            count, ce = round(truth.accuracy * grp.order**2), truth.cross_entropy
        elif cert["method"] == "irrep":
            circuits = [_circuit_from_json(c) for c in cert["circuits"]]
            ideal = exact_ideal(grp, f.d_hidden, circuits, f.bias[k])
            bound = irrep_bound(f.instance(k), ideal, grp)
            assert bound.certified is not None
            count, ce = int(bound.certified.sum()), bound.cross_entropy
        else:
            raise CertificateError(f"unknown method {cert['method']!r}")
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        raise CertificateError(f"malformed certificate: {exc}") from None
    if count != claimed["certified_inputs"] or claimed["accuracy"] != count / grp.order**2:
        raise CertificateError(f"claimed {claimed['certified_inputs']} certified inputs, "
                               f"recomputed {count}")
    if not abs(ce - claimed["cross_entropy"]) <= 1e-9 * max(1.0, abs(ce)):
        raise CertificateError(f"claimed cross-entropy bound {claimed['cross_entropy']}, "
                               f"recomputed {ce}")
    return {"instance": k, "certified_inputs": count, "accuracy": count / grp.order**2,
            "cross_entropy": ce}


def certify(run: Any, instance: int = 0, method: str = "irrep") -> dict[str, Any]:
    """The certificate for one instance of a loaded run (``rhoproof.load_run``), bound to its
    weights file."""
    if not 0 <= instance < run.n_instances:
        raise UserError(f"instance {instance} out of range: the run has {run.n_instances}")
    if method not in ("irrep", "brute"):
        raise UserError(f"unknown method {method!r}; use irrep or brute")
    return bind_to_run(certify_model(run.model.fold(), run.group, instance, method), run)


def bind_to_run(cert: dict[str, Any], run: Any, digest: str | None = None) -> dict[str, Any]:
    """Record the run, the SHA-256 of its weights file (``digest`` if already known) and the
    package versions in ``cert``; ``check`` refuses a certificate for other weights."""
    from rhoproof.run import WEIGHTS, versions

    cert.update(run=str(run.path), versions=versions(),
                weights_sha256=digest or weights_digest(run.path / WEIGHTS))
    return cert


def load_certificate(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CertificateError(f"{path}: file not found") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CertificateError(f"{path}: not a readable JSON certificate: {exc}") from None
    if not isinstance(data, dict):
        raise CertificateError(f"{path}: a certificate is a JSON object, got "
                               f"{type(data).__name__}")
    return data


__all__ = ["CertificateError", "bind_to_run", "certify", "certify_model", "check_certificate",
           "load_certificate", "weights_digest"]
