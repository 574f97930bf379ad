"""V_irrep, the ρ-set proof: a certified accuracy and cross-entropy bound from the exactly
bi-equivariant idealization f* (``exact_ideal``), in O(|G|² m) cheap operations plus
O(|G|² k) for the per-output terms, without the brute force's O(|G|³ m).

For an input (x, y) with answer z₀ = xy and any z (docs/soundness.md §2):

    |f(z | x, y) − f*(z | x, y)| ≤ s_z(x, y) := ‖u(z)‖ D + ‖u(z) − u*(z)‖ N + |β(z) − β*(z)|
    D ≥ ‖(ℓ − ℓ*)(x) + (r − r*)(y)‖,  N ≥ ‖h*(x, y)‖

(Cauchy–Schwarz, and ReLU is 1-Lipschitz), and f*(z | x, y) = F(x⁻¹zy⁻¹) exactly. So every
wrong logit is at most max_{w ≠ e} F(w) + s_{xwy}(x, y), and the input is certified when that
is below L(x, y), the original's exact correct logit (lower-rounded). Then
CE ≤ log(1 + (|G| − 1)e^{−δ}) with δ = L − that maximum, for any δ.

* The maximum: the paper's global version (largest F times largest spread) for every input;
  the per-output one over the k = TOP_K largest F(w), the rest bounded together by
  F_(k+1) + max_z s_z. Per-output terms are computed for every input ("all", the default
  while |G|³ ≤ PER_OUTPUT_ALL) or only where the global bound fails and the input is not
  hopeless ("needed": the same accuracy bound, a looser CE bound, less time).
* D comes from one matrix product: ‖a + b‖² = ‖a‖² + ‖b‖² + 2a·b.
* N is ‖h*‖ from the circuits' tables (a ρ-set circuit's hidden vector is a relabeling of
  λ_i ReLU(α_p + γ_q)), O(|G|² n_c) rather than O(|G|² m).
* L is one batched product per x over the outputs z = xy.

Every computed quantity is widened for float64 rounding (docs/soundness.md §3).

The cascade is the list ``STAGES``, one module each under ``verify.stages``: a stage takes the
shared ``ProofContext`` (the ideal's margins per orbit [H1] included) and the ``Work`` record
(the inputs still undecided and their margins so far), and returns its ``Stage`` record.
Adding a stage is one module with a ``run(ctx, work) -> Stage`` and one line in ``STAGES``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import replace

import torch

from rhoproof.config import PER_OUTPUT_MODES
from rhoproof.groups import Group
from rhoproof.model import Folded
from rhoproof.rounding import LOG_SLACK, TINY, U, ce_mean, ce_terms, lse_up, up, widen
from rhoproof.verify.bounds import Bound
from rhoproof.verify.exact_ideal import ExactIdeal
from rhoproof.verify.logits import correct_logits, distance_bound, hidden_norm_bound
from rhoproof.verify.records import Stage
from rhoproof.verify.stages import exact_group, per_input, per_output, separable
from rhoproof.verify.stages.context import ProofContext, ProofStage, Work, proof_context

TOP_K = 24
"""How many of the largest wrong values F(w) get their own per-output term."""

PER_OUTPUT_ALL = 2 * 10**7
"""Up to this |G|³ (S5: 1.7e6), the per-output bound is computed for every input."""

PLOT_INPUTS = 1 << 22
"""In mode "needed", the per-input margins and distances (for plots) are kept up to this many
inputs (S6: 518,400; S7's 25.4 million would take 400 MB)."""

STAGES: tuple[ProofStage, ...] = (separable.STAGE, per_input.STAGE, per_output.STAGE)
"""The cascade, in order: [S1] a(x) + b(y) + K; per input; per output."""


def per_output_mode(group: Group, per_output: str = "auto") -> str:
    """"all" (per-output terms for every input: the tightest CE bound) or "needed" (only
    where the global bound fails and the input is not hopeless: same accuracy bound, faster);
    "auto" is "all" while |G|³ ≤ PER_OUTPUT_ALL."""
    if per_output == "auto":
        return "all" if group.order**3 <= PER_OUTPUT_ALL else "needed"
    if per_output not in PER_OUTPUT_MODES:
        raise ValueError(f"per_output must be auto, all or needed, not {per_output!r}")
    return per_output


def irrep_bound(folded: Folded, ideal: ExactIdeal, group: Group, top_k: int = TOP_K,
                per_output: str = "auto", virtual: int = 0, radius: Folded | None = None,
                exact_neurons: Sequence[int] = ()) -> Bound:
    """V_irrep for one model (one-instance Folded) given its exact idealization f*.

    ``per_output`` as in ``per_output_mode``. The last ``virtual`` neurons of ``folded`` are
    virtual (all weights zero, ``certificate.with_virtual_neurons``): their terms of f* are
    charged apart, ‖u*_V(z)‖ ‖h*_V(x, y)‖, rather than through the whole layer's norms.
    ``exact_neurons`` (R, indices into the m neurons, virtual ones included): after stages
    1–3, the inputs they leave are tried again with R computed exactly [X1]
    (``stages.exact_group``; nothing is run when R is empty).

    Preconditions: ``folded`` (and ``radius``, the entrywise distance of the real model from
    it, over the real neurons) and the ideal's tables are in the safe range [R]
    (``enclosure.for_proof``, ``exact_ideal``). Cost: O(|G|² m) multiply-adds in three matrix
    products, plus O(|G|² (k + n_c)) for the per-output terms and ‖h*‖. Most users want
    ``certify``, which finds f*, encloses the stored model and records the result.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.explain import idealize
    >>> from rhoproof.testing import planted
    >>> from rhoproof.verify import exact_ideal, irrep_bound
    >>> G = group("S4")
    >>> f = planted(G, "3d-0", 6, noise=0.001)
    >>> _, report = idealize(f, G)
    >>> ideal = exact_ideal(G, f.d_hidden, report.ideal, f.bias[0].double())
    >>> b = irrep_bound(f, ideal, G)
    >>> b.accuracy, int(b.certified.sum())
    (1.0, 576)
    """
    sets = [exact_neurons] if len(exact_neurons) else []
    return irrep_frontier(folded, ideal, group, sets, top_k, per_output, virtual, radius)[-1]


def irrep_frontier(folded: Folded, ideal: ExactIdeal, group: Group,
                   sets: Sequence[Sequence[int]], top_k: int = TOP_K, per_output: str = "auto",
                   virtual: int = 0, radius: Folded | None = None) -> list[Bound]:
    """V_irrep's bound, then the same proof with each exact neuron group R of ``sets``.

    docs/soundness.md §2.2 [X1]: stages 1–3 run once, the exact-group stage once per R on
    what they leave. Returns len(sets) + 1 bounds, each sound on its own; arguments as
    ``irrep_bound``'s.

    Examples
    --------
    >>> from rhoproof import group
    >>> from rhoproof.explain import idealize
    >>> from rhoproof.testing import planted
    >>> from rhoproof.verify import exact_ideal
    >>> from rhoproof.verify.irrep import irrep_frontier
    >>> G = group("S4")
    >>> f = planted(G, "3d-0", 6, noise=0.05)
    >>> _, report = idealize(f, G)
    >>> ideal = exact_ideal(G, f.d_hidden, report.ideal, f.bias[0].double())
    >>> [round(b.accuracy, 3) for b in irrep_frontier(f, ideal, G, [range(f.d_hidden)])]
    [0.01, 0.826]
    """
    full = per_output_mode(group, per_output) == "all"
    ctx = proof_context(folded, ideal, group, top_k, full, virtual, radius)
    work = Work()
    records: list[Stage] = []
    for stage in STAGES:
        t0 = time.perf_counter()
        record = stage.run(ctx, work)
        records.append(replace(record, seconds=time.perf_counter() - t0))
    base = _bound(ctx, work, tuple(records))
    out = [base]
    for r_set in sets:
        neurons = torch.as_tensor(sorted({int(i) for i in r_set}), dtype=torch.int64)
        if len(neurons) and not (0 <= int(neurons[0]) and int(neurons[-1]) < ctx.m):
            raise ValueError(f"exact neurons must be in [0, {ctx.m})")
        assert base.certified is not None
        t0 = time.perf_counter()
        found = exact_group.run(ctx, work, base.certified, neurons)
        rec = replace(found.stage, seconds=time.perf_counter() - t0)
        out.append(_bound(ctx, work, (*records, rec), replace(found, stage=rec)))
    return out


def _cross_entropy(ctx: ProofContext, work: Work) -> torch.Tensor:
    """[CE2] per input the smallest of three upper bounds on its cross-entropy: the max-based
    one, log(1 + (|G| − 1) e^{−δ}); the whole distribution of the ideal's wrong values, every
    wrong logit at most F*(x⁻¹zy⁻¹) + s_max(x, y), so CE ≤ log(1 + e^{s_max − L} Σ_{w≠e}
    e^{F*(w)}) with the sum computed once; and with the per-output terms ("all"), the top k one
    by one and the rest together."""
    assert work.delta is not None and work.s_max is not None and work.l_low is not None
    mg, g = ctx.margins, ctx.g
    s_max, l_low = work.s_max, work.l_low
    ce = ce_terms(work.delta, g)
    if g <= 1:
        return ce
    t_sum = work.per_orbit(mg.lse, mg.orbit)
    t = up(s_max + t_sum - l_low, s_max + t_sum.abs() + l_low.abs())
    ce = torch.minimum(ce, torch.log1p(torch.exp(t)))
    if work.acc is not None:  # "all": the top k one by one, the rest together
        k = mg.top.shape[1]
        rest_terms = torch.zeros_like(work.acc)
        if g - 1 > k:
            rest_fw = mg.fw.clone()
            rest_fw.scatter_(1, mg.top, -torch.inf)
            rest_sum = work.take(lse_up(rest_fw, g - 1 - k)[mg.orbit])
            rest_terms = torch.exp(up(s_max + rest_sum - l_low,
                                      s_max + rest_sum.abs() + l_low.abs()))
        ce = torch.minimum(ce, torch.log1p(work.acc + rest_terms))
    return ce


def _bound(ctx: ProofContext, work: Work, stages: tuple[Stage, ...],
           extra: exact_group.ExactGroup | None = None) -> Bound:
    """The certified set and the bounds from the cascade's work (and the exact-group stage's
    ``extra``, at inputs the cascade left). Inputs stage 1 settles and the later stages never
    see carry stage 1's own CE bound [S1]."""
    assert work.delta is not None and work.s_max is not None and work.l_low is not None
    assert work.sep is not None and work.top1 is not None and work.stage1 is not None
    g, sep, mg = ctx.g, work.sep, ctx.margins
    ok = work.delta > 0
    ce = _cross_entropy(ctx, work)
    if extra is not None:  # each is an upper bound per input: keep the smaller
        if work.full:
            ce = ce.clone()
            ce[extra.xs, extra.ys] = torch.minimum(ce[extra.xs, extra.ys], extra.ce)
            ok = ok.clone()
            ok[extra.xs, extra.ys] |= extra.ok
        else:
            pos = torch.full((g, g), -1, dtype=torch.int64)
            pos[work.xs, work.ys] = torch.arange(len(work.xs))
            idx = pos[extra.xs, extra.ys]
            ce, ok = ce.clone(), ok.clone()
            ce[idx] = torch.minimum(ce[idx], extra.ce)
            ok[idx] |= extra.ok
    margins: torch.Tensor | None
    distances: torch.Tensor | None
    if work.full:
        certified = ok | work.stage1
        ce_bound = ce_mean(ce)
        margins, distances = work.l_low - work.top1, work.s_max
    else:
        certified = sep.mask()
        certified[work.xs, work.ys] = ok
        total = (sep.ce_sum + float(ce.sum()) * (1 + widen(max(1, ce.numel())) + LOG_SLACK)) \
            * (1 + 4 * U) + TINY
        ce_bound = total / (g * g) * (1 + 4 * U) + TINY if math.isfinite(total) else math.inf
        margins = distances = None  # for plots: kept up to PLOT_INPUTS inputs
        if g * g <= PLOT_INPUTS:
            margins = torch.full((g, g), math.nan, dtype=torch.float64)
            distances = margins.clone()
            margins[work.xs, work.ys], distances[work.xs, work.ys] = \
                work.l_low - work.top1, work.s_max
    return Bound("irrep", int(certified.sum()) / (g * g), ce_bound, mg.margin, certified,
                 margins, distances, stages=stages, separable=sep,
                 top_w=tuple(int(w) for w in mg.top.reshape(-1)), orbits=mg.count)


__all__ = ["PER_OUTPUT_ALL", "STAGES", "TOP_K", "correct_logits", "distance_bound",
           "hidden_norm_bound", "irrep_bound", "irrep_frontier", "per_output_mode"]
