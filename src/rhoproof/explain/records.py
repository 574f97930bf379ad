"""Typed records of the explanation: one frozen dataclass per circuit kind and one for
faithfulness. Each has ``to_json`` (a JSON-ready dict that names its ``kind``) and
``from_json``; no code decides a record's kind from which keys a dict happens to have.

The JSON keys are the ones ``rhoproof explain --json`` has always written (``B``, ``C``,
``B_stabilizer``, …), now with ``kind`` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class SignCircuitRecord:
    """A 1-d (sign) circuit: neurons ±χ(x), ±χ(y) on the ρ-sets {±1}."""

    kind: ClassVar[str] = "sign"
    irrep: str
    neurons: int  # how many neurons
    status: str  # "idealized" or why not

    @property
    def shape(self) -> str:
        return "2x2"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "irrep": self.irrep, "neurons": self.neurons, "B": 2,
                "C": 2, "status": self.status}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SignCircuitRecord:
        return cls(str(d["irrep"]), int(d["neurons"]), str(d["status"]))


@dataclass(frozen=True)
class RhoSetCircuitRecord:
    """A ρ-set circuit of an irrep of dimension > 1: its ρ-sets B and C, how complete its
    double sum B × C is, and whether it was idealized."""

    kind: ClassVar[str] = "rho_set"
    irrep: str
    neurons: int
    b_size: int  # |B|
    c_size: int
    b_stabilizer: str  # readable name of the stabilizer of a point of B
    c_stabilizer: str
    b_stabilizer_order: int
    c_stabilizer_order: int
    missing_pairs: int  # pairs of B × C with no neuron
    duplicated_pairs: int
    a_variance: float
    status: str  # "idealized" or why not

    @property
    def pairs(self) -> int:
        return self.b_size * self.c_size

    @property
    def shape(self) -> str:
        return f"{self.b_size}x{self.c_size}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "irrep": self.irrep, "neurons": self.neurons,
                "B": self.b_size, "C": self.c_size, "B_stabilizer": self.b_stabilizer,
                "C_stabilizer": self.c_stabilizer,
                "B_stabilizer_order": self.b_stabilizer_order,
                "C_stabilizer_order": self.c_stabilizer_order,
                "missing_pairs": self.missing_pairs, "duplicated_pairs": self.duplicated_pairs,
                "a_variance": self.a_variance, "status": self.status}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RhoSetCircuitRecord:
        return cls(str(d["irrep"]), int(d["neurons"]), int(d["B"]), int(d["C"]),
                   str(d["B_stabilizer"]), str(d["C_stabilizer"]),
                   int(d["B_stabilizer_order"]), int(d["C_stabilizer_order"]),
                   int(d["missing_pairs"]), int(d["duplicated_pairs"]), float(d["a_variance"]),
                   str(d["status"]))


CircuitRecord = SignCircuitRecord | RhoSetCircuitRecord
_KINDS: dict[str, Any] = {"sign": SignCircuitRecord, "rho_set": RhoSetCircuitRecord}


def circuit_from_json(d: dict[str, Any]) -> CircuitRecord:
    """The record named by ``d["kind"]``."""
    kind = d.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"unknown circuit kind {kind!r}")
    record: CircuitRecord = _KINDS[kind].from_json(d)
    return record


@dataclass(frozen=True)
class Faithfulness:
    """How close the idealized model is to the original (all evaluated together on all
    pairs): bi-equivariance scores, 1 − R² per folded block, and accuracy and loss of the
    original, the idealized model and the hybrids (one block, or one irrep, swapped in)."""

    bi_equivariance: dict[str, float]  # "original", "idealized"
    one_minus_r2: dict[str, float]  # per block: left, right, unembed, bias
    accuracy: dict[str, float]  # per model: original, idealized, swap_<block>, swap_irrep_<n>
    loss: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"bi_equivariance": dict(self.bi_equivariance),
                "one_minus_r2": dict(self.one_minus_r2), "accuracy": dict(self.accuracy),
                "loss": dict(self.loss)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Faithfulness:
        return cls(dict(d["bi_equivariance"]), dict(d["one_minus_r2"]), dict(d["accuracy"]),
                   dict(d["loss"]))


@dataclass(frozen=True)
class FrequencyRecord:
    """A frequency cluster's summary (``explain.frequency.FrequencyCluster``): the irrep, its
    neurons, their share of ‖u‖², the alignment spread (radians) and phase concentration."""

    irrep: str
    neurons: int
    share: float
    alignment_spread: float
    phase_concentration: float

    def to_json(self) -> dict[str, Any]:
        return {"irrep": self.irrep, "neurons": self.neurons, "share": self.share,
                "alignment_spread": self.alignment_spread,
                "phase_concentration": self.phase_concentration}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FrequencyRecord:
        return cls(str(d["irrep"]), int(d["neurons"]), float(d["share"]),
                   float(d["alignment_spread"]), float(d["phase_concentration"]))


__all__ = ["CircuitRecord", "Faithfulness", "FrequencyRecord", "RhoSetCircuitRecord",
           "SignCircuitRecord", "circuit_from_json"]
