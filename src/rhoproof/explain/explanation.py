"""The per-model explanation: circuits, verdict, and how faithful the idealized model is."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import torch
from tqdm.auto import tqdm

from rhoproof.config import SPARSITY_THRESHOLD
from rhoproof.evaluate import evaluate
from rhoproof.explain.cosets import coset_concentration
from rhoproof.explain.frequency import frequency_clusters
from rhoproof.explain.idealize import MIN_WEIGHT, bi_equivariance_score, idealize
from rhoproof.explain.records import (
    CircuitRecord,
    Faithfulness,
    FrequencyRecord,
    circuit_from_json,
)
from rhoproof.explain.rho_sets import RhoSet
from rhoproof.explain.sparsity import DEAD, irrep_sparsity
from rhoproof.groups import Group
from rhoproof.groups.cosets import subgroup_name
from rhoproof.model import Folded

if TYPE_CHECKING:
    from rhoproof.run import Run

BLOCKS = ("left", "right", "unembed", "bias")


@dataclass
class Explanation:
    """What rhoproof found in one model; serializes to JSON with ``to_json``.

    verdict: "explained" when every circuit carrying at least ``min_weight`` of the weight is
    a complete ρ-set circuit with a shared a (and mixed or uncovered neurons carry less);
    "explained by frequency circuits" when it is not, but the frequency clusters of
    complex-type irreps (``frequency``) hold at least FREQUENCY_SHARE of ‖u‖² with aligned
    phases (``frequency_verdict``); otherwise "unexplained", with ``reasons`` (the ρ-set
    explanation's, in both of the last two cases).

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=1))
    >>> e = rhoproof.explain(run, 0)
    >>> e.verdict, e.neuron_counts, [c.irrep for c in e.circuits]
    ('explained', {'1d-1': 4, '3d-0': 32, 'dead': 28}, ['1d-1', '3d-0', '3d-0'])
    >>> [(irrep, s.size) for irrep, s in e.rho_sets]  # two tetrahedra
    [('3d-0', 4), ('3d-0', 4)]
    """

    group: str
    instance: int
    verdict: str
    reasons: list[str]
    neuron_counts: dict[str, int]
    bias_shares: dict[str, float]
    coset_subgroups: dict[str, int]  # live neurons per coset-concentration subgroup
    circuits: list[CircuitRecord]
    zeroed: dict[str, dict[str, float]]
    faithfulness: Faithfulness | None = None
    # frequency clusters of 2-d complex-type irreps (issue 22)
    frequency: list[FrequencyRecord] = field(default_factory=list)
    _idealized: Folded | None = field(default=None, repr=False)
    _rho_sets: list[tuple[str, RhoSet]] = field(default_factory=list, repr=False)

    @property
    def nothing_idealized(self) -> bool:
        """No circuit was idealized: the idealized model is the constant bias alone, and its
        perfect bi-equivariance says nothing."""
        return nothing_idealized(self.circuits)

    @property
    def rho_sets(self) -> list[tuple[str, RhoSet]]:
        """The ρ-set B of every circuit found, with its irrep's name (empty for an
        explanation read back from JSON, which keeps only the circuits' summaries)."""
        return list(self._rho_sets)

    def idealized_model(self) -> Folded:
        """The idealized model (one instance, float64), same shapes as the original."""
        if self._idealized is None:
            raise ValueError("this explanation was loaded without its idealized model")
        return self._idealized

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)
               if not f.name.startswith("_")}
        out["circuits"] = [c.to_json() for c in self.circuits]
        out["faithfulness"] = None if self.faithfulness is None else self.faithfulness.to_json()
        out["frequency"] = [c.to_json() for c in self.frequency]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Explanation:
        """An explanation read back from ``to_dict`` (without its idealized model)."""
        return cls(d["group"], int(d["instance"]), d["verdict"], list(d["reasons"]),
                   dict(d["neuron_counts"]), dict(d["bias_shares"]),
                   dict(d["coset_subgroups"]), [circuit_from_json(c) for c in d["circuits"]],
                   dict(d["zeroed"]),
                   None if d.get("faithfulness") is None
                   else Faithfulness.from_json(d["faithfulness"]),
                   [FrequencyRecord.from_json(c) for c in d.get("frequency", [])])

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def nothing_idealized(circuits: list[CircuitRecord]) -> bool:
    """Whether no circuit has the status "idealized" (the ideal is then the bias alone)."""
    return not any(c.status == "idealized" for c in circuits)


def _one_minus_r2(original: Folded, ideal: Folded) -> dict[str, float]:
    """‖θ − θ̂‖² / ‖θ‖² per folded block."""
    out = {}
    for name in BLOCKS:
        a, b = getattr(original, name), getattr(ideal, name)
        out[name] = float(((a - b) ** 2).sum() / (a**2).sum().clamp_min(1e-300))
    return out


def _stack(folds: list[Folded]) -> Folded:
    return Folded(*(torch.cat([getattr(f, n) for f in folds]) for n in BLOCKS))


def _swap_irrep(orig: Folded, ideal: Folded, report: Any, irrep: str) -> Folded:
    """The original model with one irrep's idealized circuits (and, for a 1-d irrep, its bias
    component) swapped in."""
    idx = torch.tensor(report.ideal_neurons[irrep], dtype=torch.int64)
    left, right, unembed = orig.left.clone(), orig.right.clone(), orig.unembed.clone()
    left[:, :, idx], right[:, :, idx] = ideal.left[:, :, idx], ideal.right[:, :, idx]
    unembed[:, idx] = ideal.unembed[:, idx]
    bias = orig.bias.clone()
    if irrep in report.bias_parts:
        old, new = report.bias_parts[irrep]
        bias = bias - old + new
    return Folded(left, right, unembed, bias)


def explain_models(folded: Folded, group: Group, instances: list[int] | None = None,
                   threshold: float = SPARSITY_THRESHOLD, min_weight: float = MIN_WEIGHT,
                   progress: bool = False) -> list[Explanation]:
    """Explain the given instances (all by default) of a K-instance folded model.

    Faithfulness per model: bi-equivariance score of original and idealized; 1 − R² per block;
    accuracy and loss of the original, the idealized model, the four hybrids that swap one
    block for its idealized version and, per irrep, the hybrid that swaps that irrep's
    idealized circuits in (all evaluated together, exactly, on all pairs).
    """
    f = folded.to(dtype=torch.float64, device="cpu").detach()
    instances = list(range(f.n_instances)) if instances is None else instances
    chosen = Folded(*(getattr(f, n)[instances] for n in BLOCKS))
    sp = irrep_sparsity(chosen, group, threshold=threshold)  # row i is instance instances[i]
    cc = coset_concentration(chosen, group)
    out = []
    for row, k in enumerate(tqdm(instances, disable=not progress, desc="explain",
                                 unit="model")):
        ideal, report = idealize(f, group, k, threshold=threshold)
        reasons = report.reasons(min_share=min_weight)
        orig = f.instance(k)
        hybrids = [Folded(*(getattr(ideal if n == swap else orig, n) for n in BLOCKS))
                   for swap in BLOCKS]
        irrep_hybrids = [_swap_irrep(orig, ideal, report, name)
                         for name in report.ideal_neurons]
        models = [orig, ideal, *hybrids, *irrep_hybrids]
        ev = evaluate(_stack(models), group, exact=False)
        be = bi_equivariance_score(_stack([orig, ideal]), group)
        names = ["original", "idealized", *[f"swap_{b}" for b in BLOCKS],
                 *[f"swap_irrep_{n}" for n in report.ideal_neurons]]
        live = sp.assignment[row] != DEAD
        cosets = Counter(subgroup_name(group, group.subgroups[int(i)])
                         for i in cc.left_subgroup[row][live])
        faith = Faithfulness(
            bi_equivariance={"original": float(be[0]), "idealized": float(be[1])},
            one_minus_r2=_one_minus_r2(orig, ideal),
            accuracy=dict(zip(names, ev.accuracy.tolist())),
            loss=dict(zip(names, ev.loss.tolist())))
        bias = {name: float(sp.bias[row, j]) for j, name in enumerate(sp.irrep_names)}
        frequency = frequency_records(f, group, k)
        verdict = model_verdict(report.verdict(min_weight), frequency)
        out.append(Explanation(
            group=group.spec, instance=k,
            verdict=verdict, reasons=reasons,
            neuron_counts=sp.counts(row), bias_shares=bias,
            coset_subgroups=dict(cosets.most_common()), circuits=report.circuits,
            zeroed=report.zeroed, faithfulness=faith,
            frequency=frequency,
            _idealized=ideal,
            _rho_sets=[(c.irrep, c.b_set) for c in report.found]))
    return out


FREQUENCY_VERDICT = "explained by frequency circuits"
FREQUENCY_SHARE = 0.8
"""The share of ‖u‖² (beyond each neuron's mean) frequency clusters must hold together."""
FREQUENCY_ALIGNMENT = 0.1
"""The largest share-weighted mean alignment spread (radians) of χ − φ − ψ over clusters."""


def frequency_verdict(clusters: list[FrequencyRecord]) -> bool:
    """Whether frequency circuits explain a model (the clusters of ``Explanation.frequency``).

    They must hold ≥ FREQUENCY_SHARE of ‖u‖² together and their phases align (share-weighted
    mean alignment spread ≤ FREQUENCY_ALIGNMENT rad).

    Examples
    --------
    >>> from rhoproof.explain.explanation import frequency_verdict
    >>> from rhoproof.explain.records import FrequencyRecord
    >>> frequency_verdict([FrequencyRecord("2d-4", 30, 0.5, 0.01, 0.1),
    ...                    FrequencyRecord("2d-2", 25, 0.38, 0.02, 0.1)])
    True
    >>> frequency_verdict([FrequencyRecord("2d-4", 30, 0.5, 0.01, 0.1)])  # half of u
    False
    """
    total = sum(c.share for c in clusters)
    if total < FREQUENCY_SHARE:
        return False
    spread = sum(c.share * c.alignment_spread for c in clusters) / total
    return spread <= FREQUENCY_ALIGNMENT


def model_verdict(rho_set_verdict: str, clusters: list[FrequencyRecord]) -> str:
    """The model's verdict: the ρ-set explanation's, or FREQUENCY_VERDICT where that is not
    "explained" and ``frequency_verdict`` holds. ``explain`` and every certificate use it."""
    if rho_set_verdict != "explained" and frequency_verdict(clusters):
        return FREQUENCY_VERDICT
    return rho_set_verdict


def frequency_records(folded: Folded, group: Group, k: int = 0) -> list[FrequencyRecord]:
    """The frequency clusters of instance k as records (``explain.frequency``)."""
    return [FrequencyRecord(c.irrep, len(c.neurons), c.share, c.alignment_spread,
                            c.phase_concentration)
            for c in frequency_clusters(folded, group, k)]


def explain(run: Run, instance: int = 0, **options: Any) -> Explanation:
    """Explain one instance of a loaded run; options as in ``explain_models``.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=2))
    >>> e = rhoproof.explain(run, 1)
    >>> e.instance, e.verdict in ("explained", "unexplained"), e.faithfulness is not None
    (1, True, True)
    """
    if not 0 <= instance < run.n_instances:
        from rhoproof.errors import UserError

        raise UserError(f"instance {instance} out of range: the run has {run.n_instances}")
    return explain_models(run.model.fold(), run.group, [instance], **options)[0]
