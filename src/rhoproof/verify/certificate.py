"""Certificates: what a proof claims and everything needed to re-check it, as JSON.

A certificate binds to the run's weights by SHA-256 and records the claimed bounds (the number
of certified inputs, the cross-entropy bound) and the data that defines the comparison model:
for V_irrep the integer action tables and float tables of f* (``proof``), for V_coset the
subgroups and target cosets (``coset``). ``check_certificate`` hands them to ``checker``, a
separate numpy module that shares no code with the prover, which re-derives every fact the
bound rests on and recomputes it. The explanation's circuits are kept for reading
(``circuits``) but are not trusted by the check. A non-brute certificate claims its
cross-entropy bound rounded up by CE_SLACK (relative), so that a recomputation whose last bits
differ (another summation order) still confirms it.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from rhoproof._io import load_certificate
from rhoproof.config import METHODS, SPARSITY_THRESHOLD
from rhoproof.enclosure import OutOfRange, enclose, for_proof
from rhoproof.errors import CertificateError, UserError
from rhoproof.explain.explanation import frequency_records, model_verdict
from rhoproof.explain.idealize import MIN_WEIGHT, IdealCircuit, idealize
from rhoproof.groups import Group
from rhoproof.model import Folded, GroupMLP, select_instance
from rhoproof.verify.attribution import attribute, neuron_labels
from rhoproof.verify.bounds import Bound, brute_bound, brute_ops
from rhoproof.verify.coset import coset_bound, coset_ideal
from rhoproof.verify.exact_ideal import ExactIdeal, exact_ideal
from rhoproof.verify.irrep import TOP_K, irrep_bound, irrep_frontier, per_output_mode
from rhoproof.verify.records import Certificate, CosetData, FourierData, Stage, Symmetry

if TYPE_CHECKING:
    from rhoproof.check import CheckResult
    from rhoproof.run import Run

FORMAT = Certificate.FORMAT
CE_SLACK = 2e-9
MAX_PAIRS_PER_NEURON = 8
"""A symmetric candidate's circuits have at most this many pairs per neuron (the checker's
cap: its stage 1 costs |G| n_b² n_c per circuit)."""
MISSING_SHARES = (0.0, 0.5, 0.75, 1.0)
"""The proof search completes circuits missing at most this share of their double sum with
virtual neurons, tries each, and keeps the best bound (any choice is sound)."""


def weights_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _circuit_to_json(c: IdealCircuit) -> dict[str, Any]:
    return {"irrep": c.irrep, "neurons": c.neurons.tolist(), "points_b": c.points_b.tolist(),
            "points_c": c.points_c.tolist(), "a": c.a.tolist(), "ratio": c.ratio,
            "p": c.p.tolist(), "q": c.q.tolist(), "scale": c.scale.tolist(),
            "weight": c.weight.tolist(), "bias": c.bias, "virtual": c.virtual}


def certify_model(model: GroupMLP | Folded, grp: Group, k: int, method: str = "irrep",
                  per_output: str = "auto", exact: bool = False,
                  threshold: float = SPARSITY_THRESHOLD, budget: float | None = None,
                  exact_neurons: Sequence[int] | None = None) -> Certificate:
    """The certificate of instance ``k`` of a stored model in memory, not yet bound to a file.

    The model is folded or unfolded, of any float dtype: the bound is about its tensors read
    as real numbers; timings are split into search / proof / brute force. ``per_output``
    (V_irrep): see ``irrep.per_output_mode``; ``exact`` (V_irrep): decide whatever the
    cascade leaves by brute force (stage 4), so the bound is the true accuracy.
    ``threshold``: the irrep-sparsity threshold of the proof's explanation (as ``explain``'s).
    ``budget`` (V_irrep): the best point of the bound-versus-cost frontier
    (``certify_frontier``) whose counted operations are at most ``budget`` × brute force's
    (``exact`` is then ignored: the frontier has the stage-4 points that fit).
    ``exact_neurons`` (V_irrep): the exact group R of the proof [X1], neuron indices (the
    virtual ones from m on; others are dropped), computed exactly where the cascade fails.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.testing import planted
    >>> from rhoproof.verify.certificate import certify_model
    >>> G = group("S4")
    >>> cert = certify_model(planted(G, "3d-0", 6, noise=0.001), G, 0)
    >>> cert.method, cert.accuracy, cert.verdict
    ('irrep', 1.0, 'explained')
    """
    return certify_with_bound(model, grp, k, method, per_output, exact, threshold, budget,
                              exact_neurons)[0]


def certify_frontier(model: GroupMLP | Folded, grp: Group, k: int, per_output: str = "auto",
                     threshold: float = SPARSITY_THRESHOLD, max_ratio: float = 1.0
                     ) -> list[Certificate]:
    """The V_irrep bound-versus-cost frontier of instance ``k``, one certificate per point.

    Cheapest first, each sound on its own (docs/soundness.md §2.2). The points: for each
    ideal the search tries, its cascade, then exact neuron groups R
    (``verify.frontier``), each with and without brute force on what is left; kept are those
    no cheaper point beats (in certified inputs or CE bound), within ``max_ratio`` of brute
    force's counted operations (beyond 1, V_brute itself is better). ``per_output`` "auto"
    tries both modes ("needed" is cheaper, "all" has the tighter CE bound). Empty for a model
    outside the proofs' safe range.

    Examples
    --------
    >>> import math
    >>> from rhoproof import group
    >>> from rhoproof.testing import planted
    >>> from rhoproof.verify.certificate import certify_frontier
    >>> G = group("S4")
    >>> model = planted(G, "3d-0", 6, noise=0.05)
    >>> points = certify_frontier(model, G, 0, max_ratio=math.inf)  # the end: all exact
    >>> points[0].accuracy, max(c.accuracy for c in points) == points[0].brute["accuracy"]
    (0.0104..., True)
    """
    return [c for c, _ in _frontier_with_bounds(model, grp, k, per_output, threshold,
                                                 max_ratio)]


def _frontier_with_bounds(model: GroupMLP | Folded, grp: Group, k: int, per_output: str,
                          threshold: float, max_ratio: float
                          ) -> list[tuple[Certificate, Bound]]:
    """``certify_frontier`` with each point's Bound."""
    stored = select_instance(model, k)
    head, truth, brute_s = _head(stored, grp, k, "irrep")
    try:
        enc = for_proof(enclose(stored))
    except OutOfRange:
        return []
    t1 = time.perf_counter()
    points = _irrep_points(head, stored, enc.center, enc.radius, grp, per_output, threshold,
                           max_ratio)
    total_s = time.perf_counter() - t1
    return [(_finish(c, b, total_s - proof_s, proof_s, brute_s), b)
            for c, b, proof_s in points]


BRUTE_FULL_MAX = 10**12
"""Above this many counted operations (|G|²m + |G|³m + |G|³: S6 at m = 256 is 9.6·10¹⁰, S7
3.3·10¹³) a proof's certificate does not run brute force for reference: it times brute
force on BRUTE_SAMPLE_ROWS rows of inputs and records the estimate (method brute always runs
in full)."""

BRUTE_SAMPLE_ROWS = 4
"""Rows x (all |G| inputs (x, y) each) brute force runs on when it is only estimated."""


def _head(stored: GroupMLP | Folded, grp: Group, k: int, method: str
          ) -> tuple[Certificate, Bound | None, float]:
    """The certificate's common fields (claiming nothing yet), brute force's truth and its
    time; above BRUTE_FULL_MAX (not for method brute) no truth, and the time estimated."""
    if method != "brute" and brute_ops(grp.order, stored.d_hidden) > BRUTE_FULL_MAX:
        est, brute = _brute_sample(stored, grp, k)
        return Certificate(method=method, group=grp.spec, group_sha256=grp.sha256, instance=k,
                           certified_inputs=0, accuracy=0.0, cross_entropy=math.inf,
                           brute=brute, seconds={}), None, est
    t0 = time.perf_counter()
    truth = brute_bound(stored, grp)
    brute_s = time.perf_counter() - t0
    assert truth.cross_entropy_lower is not None
    head = Certificate(method=method, group=grp.spec, group_sha256=grp.sha256, instance=k,
                       certified_inputs=0, accuracy=0.0, cross_entropy=math.inf,
                       brute={"accuracy": truth.accuracy, "cross_entropy": truth.cross_entropy,
                              "cross_entropy_lower": truth.cross_entropy_lower,
                              "seconds": brute_s}, seconds={})
    return head, truth, brute_s


def _brute_sample(stored: GroupMLP | Folded, grp: Group, k: int) -> tuple[float, dict]:
    """Brute force ([E1], exact) on BRUTE_SAMPLE_ROWS random rows x (seeded by the instance):
    its time scaled to all |G| rows, and what it found there (for reference only)."""
    from rhoproof.evaluate import decide_inputs

    g = grp.order
    rows = min(BRUTE_SAMPLE_ROWS, g)
    xs0 = torch.from_numpy(np.random.default_rng(k).choice(g, rows, replace=False))
    xs = xs0.repeat_interleave(g)
    ys = torch.arange(g).repeat(rows)
    t0 = time.perf_counter()
    correct, loss = decide_inputs(stored, grp, xs, ys)
    est = (time.perf_counter() - t0) * g / rows
    return est, {"seconds": est, "sampled_rows": rows,
                 "sample_accuracy": float(correct.double().mean()),
                 "sample_cross_entropy": float(loss.mean())}


def _finish(cert: Certificate, bound: Bound, search_s: float, proof_s: float, brute_s: float
            ) -> Certificate:
    """The certificate with the bound's claim and the timings."""
    assert bound.certified is not None
    return replace(cert, certified_inputs=int(bound.certified.sum()), accuracy=bound.accuracy,
                   cross_entropy=_claimed_ce(bound.cross_entropy), margin=bound.margin,
                   seconds={"search": search_s, "proof": proof_s, "brute": brute_s,
                            "proof_over_brute": proof_s / max(brute_s, 1e-12)})


def certify_with_bound(model: GroupMLP | Folded, grp: Group, k: int, method: str = "irrep",
                       per_output: str = "auto", exact: bool = False,
                       threshold: float = SPARSITY_THRESHOLD, budget: float | None = None,
                       exact_neurons: Sequence[int] | None = None
                       ) -> tuple[Certificate, Bound | None]:
    """``certify_model`` and the verifier's Bound (per-input data for plots; None for
    brute or when the model is outside the proofs' safe range)."""
    if (budget is not None or exact_neurons is not None) and method != "irrep":
        raise ValueError(f"budget and exact_neurons apply to method 'irrep', not {method!r}")
    if budget is not None and exact_neurons is not None:
        raise ValueError("give a budget (the frontier picks the exact neurons) or "
                         "exact_neurons, not both")
    if exact_neurons is not None and any(int(i) < 0 for i in exact_neurons):
        raise ValueError("exact_neurons are neuron indices, 0 or more")
    if budget is not None:
        return _within_budget(model, grp, k, per_output, threshold, budget)
    stored = select_instance(model, k)
    g2 = grp.order**2
    head, truth, brute_s = _head(stored, grp, k, method)
    if method == "brute":
        assert truth is not None  # method brute always runs in full
        return replace(head, certified_inputs=round(truth.accuracy * g2),
                       accuracy=truth.accuracy, cross_entropy=_claimed_ce(truth.cross_entropy),
                       seconds={"proof": brute_s}), None
    try:  # the real model as centre ± radius in the safe range [R]
        enc = for_proof(enclose(stored))
    except OutOfRange as exc:
        reason = f"outside the proofs' safe range: {exc}"
        return replace(head, verdict="refused", reasons=(reason,), refused=reason, ops={},
                       seconds={"search": 0.0, "proof": 0.0, "brute": brute_s,
                                "proof_over_brute": 0.0}), None
    t1 = time.perf_counter()
    if method == "coset":
        cert, bound = _coset_proof(head, enc.center, enc.radius, grp)
        search_s, proof_s = 0.0, time.perf_counter() - t1  # the search is part of the proof
    elif method == "fourier":
        cert, bound, proof_s = _fourier_proof(head, enc.center, enc.radius, grp, threshold)
        search_s = time.perf_counter() - t1 - proof_s
    else:
        cert, bound, proof_s = _irrep_proof(head, stored, enc.center, enc.radius, grp,
                                            per_output, exact, threshold, exact_neurons)
        search_s = time.perf_counter() - t1 - proof_s  # search = everything but the proof
    return _finish(cert, bound, search_s, proof_s, brute_s), bound


def _within_budget(model: GroupMLP | Folded, grp: Group, k: int, per_output: str,
                   threshold: float, budget: float) -> tuple[Certificate, Bound | None]:
    """The frontier's best point (most certified inputs, then the smallest CE bound) whose
    counted operations are at most ``budget`` × brute force's; when none is, a certificate
    that claims nothing and says why."""
    if not budget > 0:
        raise ValueError(f"the budget must be a positive share of brute force's operations, "
                         f"not {budget}")
    # beyond 1, brute force itself is cheaper: the frontier stops there (its stage-4 points
    # give the true accuracy)
    points = _frontier_with_bounds(model, grp, k, per_output, threshold, 1.0)
    fits = [p for p in points if (p[0].ops_over_brute or 0.0) <= budget]
    if fits:
        return max(fits, key=lambda p: (p[0].certified_inputs, -p[0].cross_entropy))
    stored = select_instance(model, k)
    head, _, brute_s = _head(stored, grp, k, "irrep")
    reason = (f"no V_irrep proof costs at most {budget:g} × brute force's counted operations"
              + (f": the cheapest costs {points[0][0].ops_over_brute:.3g}" if points else
                 " (the model is outside the proofs' safe range)"))
    return replace(head, reasons=(reason,), refused=reason,
                   ops={"brute": brute_ops(grp.order, stored.d_hidden)},
                   seconds={"search": 0.0, "proof": 0.0, "brute": brute_s,
                            "proof_over_brute": 0.0}), None


def _coset_proof(head: Certificate, f: Folded, radius: Folded | None, grp: Group
                 ) -> tuple[Certificate, Bound]:
    """V_coset's certificate fields and bound."""
    n, m = grp.order, f.d_hidden
    ideal_c = coset_ideal(f, grp)
    bound = coset_bound(f, ideal_c, grp, radius)
    subs = sorted({int(s_) for s_ in ideal_c.left_subgroup.tolist() if s_ >= 0}
                  | {int(s_) for s_ in ideal_c.right_subgroup.tolist() if s_ >= 0})
    where = {s_: j for j, s_ in enumerate(subs)}
    ids = [int(t) for t in ideal_c.target.tolist()]
    reps = _coset_representatives(grp, ideal_c)
    coset = CosetData(tuple(tuple(sorted(grp.subgroups[s_])) for s_ in subs),
                      tuple(where.get(int(s_), -1) for s_ in ideal_c.left_subgroup.tolist()),
                      tuple(where.get(int(s_), -1) for s_ in ideal_c.right_subgroup.tolist()),
                      tuple(reps[i] if t >= 0 else -1 for i, t in enumerate(ids)))
    ops = {"brute": brute_ops(n, m), "proof_global": 8 * n**2 * m,
           "proof_margin": 4 * n**2 * m, "search": 2 * len(grp.subgroups) * n * m}
    return replace(head, verdict=f"{ideal_c.explained} of {m} neurons coset-concentrated",
                   reasons=(), coset=coset, ops=ops), bound


def _verdict(report: Any, f: Folded, grp: Group) -> str:
    """The explanation's verdict, as ``explain`` gives it (ρ-sets, else frequency circuits)."""
    return model_verdict(report.verdict(), frequency_records(f, grp))


def _fourier_proof(head: Certificate, f: Folded, radius: Folded | None, grp: Group,
                   threshold: float = SPARSITY_THRESHOLD) -> tuple[Certificate, Bound, float]:
    """V_fourier's certificate fields, bound and proof seconds (``lowrank.search`` tries the
    ladder; the proof is the kept split's bound, timed there on its own)."""
    from rhoproof.verify.lowrank import search

    n, m = grp.order, f.d_hidden
    _, report = idealize(f, grp, 0, threshold=threshold)  # the verdict, as explain's
    found = search(f, grp, radius)
    low, proof_s, sp = found.bound, found.seconds, found.split
    data = FourierData(found.irreps, tuple(tuple(r) for r in sp.basis.tolist()),
                       tuple(tuple(r) for r in sp.coef.tolist()),
                       tuple(int(i) for i in torch.nonzero(sp.exact)[:, 0].tolist()),
                       tuple(int(i) for i in sp.groups.tolist()))
    stage = Stage("lowrank", n * n, int(low.certified.sum()), low.ops, proof_s)
    ops = {"brute": brute_ops(n, m), "proof_lowrank": low.ops, "search": found.search_ops}
    reasons = tuple(report.reasons(MIN_WEIGHT))
    if not found.irreps:  # the search kept no split (the constant row alone)
        reasons += (f"V_fourier kept no split: on {grp.spec} (|G| = {n}, m = {m}) every split "
                    f"of its ladder costs at least brute force's operations or exceeds the "
                    f"checker's caps",)
    bound = Bound("fourier", low.accuracy, low.cross_entropy, certified=low.certified,
                  stages=(stage,))
    cert = replace(head, verdict=_verdict(report, f, grp), reasons=reasons, fourier=data,
                   stages=(stage,), ops=ops)
    return cert, bound, proof_s


Tried = tuple[float, list[IdealCircuit], ExactIdeal, Bound, int, float]
"""A V_irrep candidate of the search: (proof seconds, circuits, f*, bound, virtual neurons,
missing share allowed)."""


def _irrep_search(f: Folded, radius: Folded | None, grp: Group, mode: str, threshold: float,
                  report: Any = None) -> tuple[Any, list[Tried], Tried]:
    """The explanation's report (``report``, if already made), every V_irrep candidate tried,
    and the best: circuits completed up to each missing share, and the [H1] candidates."""
    m = f.d_hidden
    if report is None:
        _, report = idealize(f, grp, 0, threshold=threshold, virtual=True)
    tried: list[Tried] = []
    for share in MISSING_SHARES:
        circuits = _renumber([c for c in report.ideal if c.missing_share <= share], m)
        if tried and len(circuits) == len(tried[-1][1]):
            continue
        ts = time.perf_counter()
        v = sum(c.virtual for c in circuits)
        if v > m:  # the checker's cap: no more virtual neurons than real ones
            continue
        padded = with_virtual_neurons(f, v)
        ideal = exact_ideal(grp, padded.d_hidden, circuits, f.bias[0])
        bound = irrep_bound(padded, ideal, grp, TOP_K, mode, v, radius)
        tried.append((time.perf_counter() - ts, circuits, ideal, bound, v, share))
    # [H1]: the circuits as they are (no virtual neurons), f* equivariant only under the
    # subgroup H that keeps every circuit's pairs, margins per orbit of H on the inputs
    for circuits, gens in symmetric_candidates(grp, report.ideal):
        if any(c.points_b.shape[0] * c.points_c.shape[0] > MAX_PAIRS_PER_NEURON * len(c.neurons)
               for c in circuits):  # the checker's cap on the pairs per neuron
            continue
        ts = time.perf_counter()
        ideal = exact_ideal(grp, m, circuits, f.bias[0], gens)
        bound = irrep_bound(f, ideal, grp, TOP_K, mode, 0, radius)
        tried.append((time.perf_counter() - ts, circuits, ideal, bound, 0, 0.0))
    best = max(tried, key=lambda c: (int(c[3].certified.sum())  # type: ignore[union-attr]
                                     , -c[3].orbits, -c[3].cross_entropy))
    return report, tried, best


def _irrep_proof(head: Certificate, stored: GroupMLP | Folded, f: Folded,
                 radius: Folded | None, grp: Group, per_output: str, exact: bool,
                 threshold: float, exact_neurons: Sequence[int] | None = None
                 ) -> tuple[Certificate, Bound, float]:
    """V_irrep's certificate fields, bound and proof seconds: the search tries circuits
    completed up to each missing share, and the [H1] candidates, and keeps the best bound;
    then the exact group ``exact_neurons`` (indices ≥ m + virtual are dropped) and stage 4."""
    m = f.d_hidden
    mode = per_output_mode(grp, per_output)
    report, tried, best = _irrep_search(f, radius, grp, mode, threshold)
    proof_s, circuits, ideal, bound, v, share = best
    r_set = None
    if exact_neurons is not None:  # [X1] the exact group R on what the cascade left
        r_set = tuple(sorted({int(i) for i in exact_neurons if 0 <= int(i) < m + v}))
        t_r = time.perf_counter()
        bound = irrep_frontier(with_virtual_neurons(f, v), ideal, grp, [r_set], TOP_K, mode,
                               v, radius)[-1]
        proof_s += time.perf_counter() - t_r
    if exact:  # stage 4: brute force on what the cascade left
        t_ex = time.perf_counter()
        bound = _exact_stage(stored, grp, bound)
        proof_s += time.perf_counter() - t_ex
    cert = _irrep_fields(head, f, grp, report, tried, best, bound, mode, r_set,
                         buy=not exact and r_set is None, radius=radius)
    return cert, bound, proof_s


def _exact_buy(f: Folded, grp: Group, ideal: ExactIdeal, v: int, radius: Folded | None,
               labels: list[str], leading: str) -> dict[str, dict[str, float]]:
    """[X1] What computing the neuron group of the attribution's costliest entry ("term:
    group") exactly would buy: the fraction of inputs then certified and that proof's counted
    operations over brute force's ({} when the entry names no neuron group)."""
    name = leading.split(": ", 1)[1] if ": " in leading else ""
    r_set = [i for i, lab in enumerate(labels) if lab == name]
    if not r_set:
        return {}
    # priced in mode "needed", as the frontier's cheapest point with this group
    b = irrep_frontier(with_virtual_neurons(f, v), ideal, grp, [r_set], TOP_K, "needed", v,
                       radius)[-1]
    ops = sum(st.ops for st in b.stages)
    return {name: {"neurons": float(len(r_set)), "certified": b.accuracy,
                   "ops_over_brute": ops / brute_ops(grp.order, f.d_hidden)}}


def _irrep_points(head: Certificate, stored: GroupMLP | Folded, f: Folded,
                  radius: Folded | None, grp: Group, per_output: str, threshold: float,
                  max_ratio: float = math.inf) -> list[tuple[Certificate, Bound, float]]:
    """The V_irrep frontier [X1] (``verify.frontier``): for every ideal the search tried, its
    cascade, then each candidate exact group R, each point with and without brute force on
    the rest (stage 4), those within ``max_ratio`` of brute force's counted operations.
    Returns (certificate, bound, proof seconds) per point on the Pareto frontier, cheapest
    first; each certificate's ``search`` operations include every point tried."""
    from rhoproof.verify.frontier import (
        exact_sets,
        frontier,
        keep_pareto,
        neuron_scores,
        pareto,
    )

    n, m = grp.order, f.d_hidden
    # "auto" tries both per-output modes: "needed" is cheaper, "all" has the tighter CE bound
    modes = ("needed", "all") if per_output == "auto" else (per_output_mode(grp, per_output),)
    _, report = idealize(f, grp, 0, threshold=threshold, virtual=True)
    searched = [(mode, *_irrep_search(f, radius, grp, mode, threshold, report))
                for mode in modes]
    brute = brute_ops(n, m)
    per_input = m + n * m + n  # stage 4's counted operations per input
    found: list[tuple[str, Any, list[Tried], Tried, Bound, float, tuple[int, ...]]] = []
    for mode, report, tried, _ in searched:
        for cand in tried:
            proof_s, circuits, ideal, bound, v, _ = cand
            assert bound.certified is not None
            padded = with_virtual_neurons(f, v)
            score, price = neuron_scores(padded, ideal, bound.certified, v)
            labels = neuron_labels(m, v, circuits, report.zeroed_neurons)
            points = frontier(padded, ideal, grp, bound, exact_sets(score, price, labels),
                              mode, v, radius, m, TOP_K, max_ratio)
            for p in pareto(points):
                assert p.bound.certified is not None
                secs = proof_s + sum(st.seconds for st in p.bound.stages
                                     if st.name == "exact_group")
                found.append((mode, report, tried, cand, p.bound, secs, p.exact_neurons))
                left = int((~p.bound.certified).sum())
                if left and p.ops + left * per_input <= max_ratio * brute:
                    t_ex = time.perf_counter()
                    b4 = _exact_stage(stored, grp, p.bound)
                    found.append((mode, report, tried, cand, b4,
                                  secs + time.perf_counter() - t_ex, p.exact_neurons))
    tried_ops = sum(st.ops for *_, b, _, _ in found for st in b.stages
                    if st.name in ("exact_group", "exact"))
    certs = []
    for mode, report, tried, cand, b, secs, r_set in found:
        c = _irrep_fields(head, f, grp, report, tried, cand, b, mode, r_set or None)
        own = sum(st.ops for st in b.stages if st.name in ("exact_group", "exact"))
        assert c.ops is not None
        certs.append((replace(c, ops={**c.ops, "search": c.ops["search"] + tried_ops - own}),
                      b, secs))
    fits = [t for t in certs if max_ratio == math.inf or t[0].proof_ops <= max_ratio * brute]
    return keep_pareto(fits, lambda t: (t[0].proof_ops, t[1].accuracy, t[1].cross_entropy))


def _irrep_fields(head: Certificate, f: Folded, grp: Group, report: Any, tried: list[Tried],
                  best: Tried, bound: Bound, mode: str,
                  exact_neurons: tuple[int, ...] | None = None, buy: bool = False,
                  radius: Folded | None = None) -> Certificate:
    """V_irrep's certificate fields for the search's ``best`` candidate with the proof
    ``bound`` (its cascade, possibly with an exact group and stage 4); ``buy``: measure what
    computing the attribution's costliest neuron group exactly would certify, and cost."""
    n, m = grp.order, f.d_hidden
    _, circuits, ideal, best_bound, v, share = best
    assert bound.certified is not None
    labels = neuron_labels(m, v, circuits, report.zeroed_neurons)
    attribution = attribute(  # where the bound is lost (a diagnostic, not timed)
        with_virtual_neurons(f, v), ideal, grp, bound.certified, labels, v)
    if buy and attribution is not None:
        attribution = replace(attribution, exact=_exact_buy(
            f, grp, ideal, v, radius, labels, attribution.leading))
    ops = {  # multiply-adds and comparisons, counted from the shapes each stage touched
        "brute": brute_ops(n, m),
        **{f"proof_{s.name}": s.ops for s in bound.stages},
        "ideal": sum(len(c.neurons) * 3 * n for c in circuits),  # tables of f̂
        # the search, apart: the irrep projections of the explanation (2|G|²m, both
        # sides) and the cascades of the circuit choices tried and not kept
        "search": 2 * n * n * m + sum(st.ops for t in tried if t is not best
                                      for st in t[3].stages),
    }
    symmetry = None if ideal.symmetry is None else Symmetry(
        tuple((int(g_), int(h_)) for g_, h_ in ideal.symmetry.tolist()), bound.orbits)
    return replace(head, verdict=_verdict(report, f, grp),
                   reasons=tuple(report.reasons(MIN_WEIGHT)),
                   circuits=tuple(_circuit_to_json(c) for c in circuits),
                   excluded=tuple(ideal.excluded), proof=tuple(ideal.proof), t0=ideal.t0,
                   top_k=TOP_K, per_output=mode, virtual_neurons=v,
                   missing_share_allowed=share, stages=tuple(bound.stages),
                   top_w=tuple(bound.top_w), attribution=attribution, symmetry=symmetry,
                   exact_neurons=exact_neurons, ops=ops)


MAX_ORBIT_SHARE = 1 / 32
"""[H1] candidates keep the ideal's orbits on the inputs at most this share of |G|² (or |G|,
if more), so that its margins (one evaluation of f* per orbit, 3|G|m operations each) stay a
small part of the proof's cost: at most 3/32 of brute force's |G|³m, or 3/|G| of it."""
MAX_SYMMETRIC_CANDIDATES = 4


def symmetric_candidates(grp: Group, ideal: list[IdealCircuit]
                         ) -> list[tuple[list[IdealCircuit], torch.Tensor]]:
    """[H1] Circuit sets for an ideal with a partial symmetry, with H's generators: the
    complete circuits, then the incomplete ones (without virtual neurons, largest weight
    first) added one at a time while the orbits on the inputs stay within the cap; every ρ-set
    circuit carries its raw pair weights, averaged over H's orbits of pairs. Empty when no
    circuit is incomplete (H would be all of G × G). (Candidates inside the diagonal
    {(g, g⁻¹)}, which let a complete circuit weigh its pairs by diagonal-action orbit, were
    tried: < 0.1% more bound on the A5 zoo for 40% more proof cost; not kept.)"""
    from rhoproof.verify.exact_ideal import ProofCheckError, action_table
    from rhoproof.verify.symmetry import generators, pattern_stabilizer

    def strip(c: IdealCircuit) -> IdealCircuit:
        n = len(c.neurons) - c.virtual
        raw = c.weight if c.raw_weight is None else c.raw_weight
        return replace(c, neurons=c.neurons[:n], p=c.p[:n], q=c.q[:n], scale=c.scale[:n],
                       weight=raw[:n], virtual=0, raw_weight=None)

    base = [strip(c) for c in ideal if not c.virtual]
    extra = sorted((strip(c) for c in ideal if c.virtual),
                   key=lambda c: -float(c.weight.abs().sum()))
    if not extra:
        return []
    cap = max(float(grp.order), grp.order**2 * MAX_ORBIT_SHARE)
    out: list[tuple[list[IdealCircuit], torch.Tensor]] = []
    acts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    chosen = list(base)
    for c in extra:
        if c.points_b.shape[1] == 1:
            continue
        try:
            rho = grp.irrep(c.irrep).tensor()
            ab, ac = action_table(grp, rho, c.points_b), action_table(grp, rho, c.points_c)
        except ProofCheckError:
            continue
        nb, nc = ab.shape[1], ac.shape[1]
        present = torch.zeros(nb * nc, dtype=torch.bool)
        present[c.p * nc + c.q] = True
        trial = [*acts, (ab, ac, present.reshape(nb, nc))]
        elements = pattern_stabilizer(grp, trial)
        if grp.order**2 / len(elements) > cap:
            continue
        acts = trial
        chosen.append(c)
        out.append((list(chosen), generators(grp, elements)))
        if len(out) == MAX_SYMMETRIC_CANDIDATES:
            break
    return out


def _exact_stage(stored: GroupMLP | Folded, grp: Group, bound: Bound) -> Bound:
    """Stage 4 of the cascade: the inputs no earlier stage certified, decided exactly
    ([E1], ``evaluate.decide_inputs``) at brute force's cost per input; the CE bound is kept."""
    from rhoproof.evaluate import decide_inputs

    assert bound.certified is not None
    t0 = time.perf_counter()
    xs, ys = torch.nonzero(~bound.certified, as_tuple=True)
    correct, _ = decide_inputs(stored, grp, xs, ys)
    certified = bound.certified.clone()
    certified[xs[correct], ys[correct]] = True
    n, m = grp.order, stored.d_hidden
    stage = Stage("exact", len(xs), int(correct.sum()), len(xs) * (m + n * m + n),
                  time.perf_counter() - t0)
    return replace(bound, certified=certified, accuracy=float(certified.double().mean()),
                    stages=(*bound.stages, stage))


def _claimed_ce(ce: float) -> float:
    """The cross-entropy bound as claimed: rounded up by CE_SLACK (relative) so that a checker
    whose summation order differs in the last bits still confirms it."""
    return ce * (1 + CE_SLACK) if math.isfinite(ce) else math.inf


def _renumber(circuits: list[IdealCircuit], m: int) -> list[IdealCircuit]:
    """The circuits with their virtual neurons numbered m, m + 1, … in order."""
    out, nxt = [], m
    for c in circuits:
        if c.virtual:
            real = c.neurons[:len(c.neurons) - c.virtual]
            c = replace(c, neurons=torch.cat([real, torch.arange(nxt, nxt + c.virtual)]))
            nxt += c.virtual
        out.append(c)
    return out


def with_virtual_neurons(folded: Folded, v: int) -> Folded:
    """The same one-instance model with v more hidden neurons whose weights are all zero: it
    computes exactly the same function (ReLU(0 + 0) · 0 = 0), and the proof may pair the new
    neurons with the missing terms of a circuit's double sum."""
    if v == 0:
        return folded
    g = folded.left.shape[1]
    zeros = torch.zeros(1, g, v, dtype=folded.left.dtype)
    return Folded(torch.cat([folded.left, zeros], 2), torch.cat([folded.right, zeros], 2),
                  torch.cat([folded.unembed, zeros.transpose(1, 2)], 1), folded.bias)


def _coset_representatives(grp: Group, ideal: Any) -> list[int]:
    """An element of each neuron's target coset T_i (−1 when dead)."""
    from rhoproof.groups.cosets import coset_ids

    ids = coset_ids(grp, "right")
    out = []
    for s, t in zip(ideal.left_subgroup.tolist(), ideal.target.tolist()):
        out.append(int(torch.nonzero(ids[s] == t)[0, 0]) if s >= 0 else -1)
    return out


def _as_json(cert: Certificate | dict[str, Any]) -> Any:
    """What the checker reads: the certificate's JSON (a dict already read from a file is
    passed on as it is, unvalidated: the checker's parser is the judge)."""
    return cert.to_json() if isinstance(cert, Certificate) else cert


def check_certificate(cert: Certificate | dict[str, Any], run: Run) -> CheckResult:
    """Re-verify a certificate against a loaded run with the independent checker.

    The certificate is the record or JSON read from a file; the checker (``rhoproof.check``)
    checks the weights file's SHA-256, every field, then the recomputed bound, and raises
    CertificateError unless the claims hold.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> from rhoproof.errors import CertificateError
    >>> from rhoproof.verify.certificate import check_certificate
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=1))
    >>> cert = rhoproof.certify(run, 0)
    >>> check_certificate(cert, run).certified_inputs
    576
    >>> forged = {**cert.to_json(), "cross_entropy": 0.001}
    >>> try:
    ...     check_certificate(forged, run)
    ... except CertificateError as exc:
    ...     print(str(exc)[:48])
    check failed: claimed cross-entropy bound 0.001,
    """
    from rhoproof.check import CheckFailed, check_file
    from rhoproof.run import WEIGHTS

    try:
        return check_file(_as_json(cert), run.path / WEIGHTS, run.group.table_np,
                          run.group.spec)
    except CheckFailed as exc:
        raise CertificateError(f"check failed: {exc}") from None


def check_stored(cert: Certificate | dict[str, Any], model: GroupMLP | Folded, grp: Group
                 ) -> CheckResult:
    """``check_certificate`` for a model in memory, without the weights-file hash.

    For tests and benchmarks: the same checker on the model's tensors.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.testing import planted
    >>> from rhoproof.verify.certificate import certify_model, check_stored
    >>> G = group("S4")
    >>> model = planted(G, "3d-0", 6, noise=0.001)
    >>> check_stored(certify_model(model, G, 0), model, G).accuracy
    1.0
    """
    from rhoproof.check import CheckFailed, StoredModel, check_model
    from rhoproof.check.weights import stored_model

    folded = isinstance(model, Folded)
    tensors = {n: (t if t.dtype in (torch.float32, torch.float64) else t.float())
               .detach().cpu().numpy() for n, t in model.tensors().items()}
    try:
        stored: StoredModel = stored_model(tensors, folded)
        return check_model(_as_json(cert), stored, grp.table_np, grp.spec)
    except CheckFailed as exc:
        raise CertificateError(f"check failed: {exc}") from None


def certify(run: Run, instance: int = 0, method: str = "irrep", per_output: str = "auto",
            exact: bool = False, budget: float | None = None) -> Certificate:
    """The certificate for one instance of a loaded run, bound to its weights file.

    ``method``: ``"irrep"`` (the ρ-set proof), ``"coset"``, ``"fourier"`` or ``"brute"``;
    ``per_output``, ``exact`` and ``budget`` (the best V_irrep proof within that share of
    brute force's counted operations) as in ``certify_model``. ``cert.to_json()`` is what
    ``rhoproof certify`` writes.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=1))
    >>> cert = rhoproof.certify(run, 0)
    >>> cert.accuracy, cert.certified_inputs, round(cert.cross_entropy, 4)
    (1.0, 576, 0.03)
    >>> [(s.name, s.certified) for s in cert.stages]  # the cascade: stage 1 settles all 576
    [('separable', 576), ('per_input', 0), ('per_output', 0)]
    """
    if not 0 <= instance < run.n_instances:
        raise UserError(f"instance {instance} out of range: the run has {run.n_instances}")
    if method not in METHODS:
        raise UserError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    try:
        per_output_mode(run.group, per_output)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if budget is not None and not (budget > 0 and math.isfinite(budget)):
        raise UserError(f"--budget must be a positive number (a share of brute force's "
                        f"operations, e.g. 0.1), not {budget}")
    if budget is not None and method != "irrep":
        raise UserError("--budget applies to --method irrep only")
    return bind_to_run(certify_model(run.model, run.group, instance, method, per_output, exact,
                                     budget=budget), run)


def bind_to_run(cert: Certificate, run: Run, digest: str | None = None) -> Certificate:
    """The certificate bound to a run: its path, its weights file's SHA-256 and the versions.

    ``digest``: the SHA-256 if already known. ``check`` refuses the result for other weights.

    Examples
    --------
    >>> import tempfile
    >>> import rhoproof
    >>> from rhoproof import zoo
    >>> from rhoproof.verify.certificate import bind_to_run, certify_model
    >>> run = rhoproof.load_run(zoo.export("S4", tempfile.mkdtemp(), n_models=1))
    >>> cert = certify_model(run.model, run.group, 0)
    >>> cert.weights_sha256 is None, len(bind_to_run(cert, run).weights_sha256)
    (True, 64)
    """
    from rhoproof.run import WEIGHTS, versions

    return replace(cert, run=str(run.path), versions=versions(),
                   weights_sha256=digest or weights_digest(run.path / WEIGHTS))


__all__ = ["Certificate", "CertificateError", "CheckResult", "bind_to_run", "certify",
           "certify_frontier", "certify_model", "check_certificate", "check_stored",
           "load_certificate", "weights_digest"]
