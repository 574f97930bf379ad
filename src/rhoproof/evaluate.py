"""Exact (brute-force) evaluation over all |G|² pairs: the ground truth for every bound.

An input counts as correct only when the correct logit is strictly larger than every other
logit (a tie is an error), so a certified lower bound can never be flattered by a tie.

The model is the stored tensors read as real numbers (``enclosure``). Every logit is computed
in float64 with a rigorous error bound [E1] (docs/soundness.md §0); an input whose correct logit
and largest wrong logit the bounds cannot separate is decided by exact integer arithmetic on
the stored floats (``exact``). So the accuracy is exact, and the cross-entropy reported is a
rigorous upper bound (its per-input terms use the logit bounds). ``exact=False`` gives the old
plain evaluation in ``dtype`` (training metrics only: fast, not a claim).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rhoproof.enclosure import enclose
from rhoproof.groups import Group
from rhoproof.model import Folded, GroupMLP, select_instance
from rhoproof.rounding import ETA, LOG_SLACK, TINY, U

DEFAULT_CHUNK_BYTES = 32 * 2**20
"""Per-chunk working memory; small chunks reuse freed memory instead of faulting in new pages."""


@dataclass(frozen=True)
class Evaluation:
    """Per-instance accuracy and mean cross-entropy over all |G|² pairs.

    ``correct`` and ``loss`` hold every pair, indexed ``x·|G| + y`` (None unless asked for).

    Examples
    --------
    >>> from rhoproof import evaluate, group
    >>> from rhoproof import zoo
    >>> ev = evaluate(zoo.load("S4", n_models=2), group("S4"))
    >>> ev.accuracy.tolist()
    [1.0, 1.0]
    """

    accuracy: torch.Tensor  # [K] float64 (exact when ``exact``)
    loss: torch.Tensor  # [K] float64 (an upper bound on the exact mean when ``exact``)
    loss_lower: torch.Tensor | None = None  # [K] a lower bound on the exact mean (``exact``)
    correct: torch.Tensor | None = None  # [K, |G|²] bool
    pair_loss: torch.Tensor | None = None  # [K, |G|²] float64
    exact: bool = False
    decided_exactly: int = 0  # inputs the float bounds left open, decided by integers

    def summary(self) -> dict[str, float]:
        return {
            "mean_accuracy": float(self.accuracy.mean()),
            "min_accuracy": float(self.accuracy.min()),
            "n_perfect": int((self.accuracy == 1.0).sum()),
            "mean_loss": float(self.loss.mean()),
            "max_loss": float(self.loss.max()),
            "exact": self.exact,
            "decided_exactly": self.decided_exactly,
        }


def _chunk_rows(folded: Folded, chunk_bytes: int, elem_bytes: int) -> int:
    """How many x values fit in one chunk: memory ~ K·rows·|G|·(m + 2|G|) elements."""
    k, g, m = folded.n_instances, folded.group_order, folded.d_hidden
    per_row = k * g * (m + 2 * g) * elem_bytes
    return max(1, min(g, chunk_bytes // max(per_row, 1)))


@torch.no_grad()
def evaluate(model: GroupMLP | Folded, group: Group, *, exact: bool = True,
             dtype: torch.dtype = torch.float64, keep_pairs: bool = False,
             chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Evaluation:
    """Accuracy and cross-entropy of every instance on every pair (x, y), label x·y.

    ``exact`` (default): exact accuracy of the stored model and a rigorous cross-entropy upper
    bound (CPU, float64 plus integers). Otherwise a plain forward pass in ``dtype`` on the
    model's device. Vectorized over instances and pairs, batched over x so memory stays near
    ``chunk_bytes``. Cost: O(K |G|³ m) multiply-adds (three products of that size when exact).

    Examples
    --------
    >>> from rhoproof import evaluate, group
    >>> from rhoproof import zoo
    >>> ev = evaluate(zoo.load("S4", n_models=3), group("S4"))
    >>> ev.accuracy.tolist(), [round(float(x), 4) for x in ev.loss]
    ([1.0, 1.0, 1.0], [0.0064, 0.0064, 0.0068])
    """
    if exact:
        return _evaluate_exact(model, group, keep_pairs, chunk_bytes)
    folded = model.fold() if isinstance(model, GroupMLP) else model
    if folded.group_order != group.order:
        raise ValueError(f"model has {folded.group_order} outputs, group {group.spec} has "
                         f"order {group.order}")
    folded = folded.to(dtype=dtype)
    device = folded.left.device
    k, g = folded.n_instances, group.order
    table = group.table.to(device)  # [|G|, |G|]
    rows = _chunk_rows(folded, chunk_bytes, torch.finfo(dtype).bits // 8)
    correct_all = torch.empty(k, g, g, dtype=torch.bool, device=device)
    loss_all = torch.empty(k, g, g, dtype=dtype, device=device)
    for x0 in range(0, g, rows):
        x1 = min(g, x0 + rows)
        rows_here = x1 - x0
        # [K, rows·|G|, m]: hidden activations for x in [x0, x1) and every y
        hidden = torch.relu(folded.left[:, x0:x1, None, :] + folded.right[:, None, :, :])
        hidden = hidden.reshape(k, rows_here * g, -1)
        logits = torch.baddbmm(folded.bias[:, None, :], hidden, folded.unembed)
        logits = logits.view(k, rows_here, g, g)  # [K, rows, |G| (y), |G| (z)]
        labels = table[x0:x1].expand(k, -1, -1)  # [K, rows, |G|]
        correct_logit = logits.gather(-1, labels[..., None])[..., 0]
        others = logits.scatter(-1, labels[..., None], float("-inf"))
        correct_all[:, x0:x1] = correct_logit > others.amax(-1)
        loss_all[:, x0:x1] = torch.logsumexp(logits, -1) - correct_logit
    correct_flat = correct_all.reshape(k, g * g)
    loss_flat = loss_all.reshape(k, g * g)
    return Evaluation(
        accuracy=correct_flat.to(torch.float64).mean(1).cpu(),
        loss=loss_flat.to(torch.float64).mean(1).cpu(),
        correct=correct_flat.cpu() if keep_pairs else None,
        pair_loss=loss_flat.to(torch.float64).cpu() if keep_pairs else None,
    )


def ce_upper(t: torch.Tensor) -> torch.Tensor:
    """Upper bounds on log(1 + Σ_j e^{t_j}) over the last axis, where t holds upper bounds on
    f(z) − f(xy) for the wrong z [E2]. With M the largest of 0 and the t_j, the value is
    M + log1p(R), R the sum of e^{v − M} over the other n − 1 entries v. Each exp is within 2u,
    the sum adds γ_n, log1p is within 2u relative and 1-Lipschitz in R, and v − M rounds by
    u|v − M|: a factor e^{u|v−M|} ≤ 1 + 10⁻¹³ while e^{v−M} ≥ e^{−900}, below that the term is
    under 10⁻³⁹⁰ (covered by 10⁻³⁰⁰)."""
    n = t.shape[-1] + 1
    full = torch.cat([t.new_zeros(t.shape[:-1] + (1,)), t], -1)  # [..., n]; |G| = 1: [..., 1]
    top, arg = full.max(-1)
    rest = torch.exp(full - top[..., None]).scatter(-1, arg[..., None], 0.0).sum(-1)
    l1p = torch.log1p(rest)
    bound = top + l1p * (1 + (n + 8) * 4 * U + LOG_SLACK) + 8 * U * top.abs() + TINY
    return torch.where(torch.isnan(bound), torch.inf, bound)


def ce_lower(t: torch.Tensor) -> torch.Tensor:
    """Lower bounds on log(1 + Σ_j e^{t_j}) over the last axis, where t holds *lower* bounds
    on f(z) − f(xy) [E2]: the same computation as ``ce_upper`` rounded the other way (terms
    below e^{−900} may be dropped: that only lowers the sum)."""
    n = t.shape[-1] + 1
    full = torch.cat([t.new_zeros(t.shape[:-1] + (1,)), t], -1)
    top, arg = full.max(-1)
    rest = torch.exp(full - top[..., None]).scatter(-1, arg[..., None], 0.0).sum(-1)
    l1p = torch.log1p(rest)
    bound = top + l1p * (1 - (n + 8) * 4 * U - LOG_SLACK) - 8 * U * top.abs() - TINY
    return torch.where(torch.isnan(bound), 0.0, bound.clamp_min(0.0))


def _decide_rows(c: Folded, r: Folded | None, hidden: torch.Tensor, e_h: torch.Tensor | None,
                 labels: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """[E1] for N inputs of each of K instances, given their hidden vectors ĥ = relu(fl(ℓ̂ +
    r̂)) ([K, N, m]), the radius e_ℓ(x) + e_r(y) of the pre-activations ([K, N, m] or None)
    and the correct outputs ([K, N]): (surely correct, undecided, CE upper, CE lower), [K, N]
    each. Logits are centre ± err with |f − centre| ≤ err."""
    m = c.d_hidden
    gam = (m + 4) * U * 1.01
    center = torch.baddbmm(c.bias[:, None, :], hidden, c.unembed)  # [K, N, G]
    # rounding of the m-term dot product and of h = relu(fl(ℓ + r)) (relative u each)
    err = gam * (torch.bmm(hidden, c.unembed.abs()) + c.bias.abs()[:, None, :])
    if r is not None and e_h is not None:  # |h − ĥ| ≤ e_ℓ(x) + e_r(y) (1-Lipschitz); e_u, e_β
        err = err + torch.bmm(e_h, c.unembed.abs() + r.unembed) + torch.bmm(hidden, r.unembed) \
            + r.bias[:, None, :]
    err = err * (1 + gam) + (4 * m + 8) * ETA  # the error terms' own rounding, underflow
    hi = center + err + 4 * U * (center.abs() + err) + TINY  # ≥ f(z | x, y)
    lo = center - err - 4 * U * (center.abs() + err) - TINY  # ≤ f(z | x, y)
    lab = labels[..., None]
    lo_c, hi_c = lo.gather(-1, lab)[..., 0], hi.gather(-1, lab)[..., 0]
    hi_w, lo_w = hi.scatter(-1, lab, -torch.inf), lo.scatter(-1, lab, -torch.inf)
    sure = lo_c > hi_w.amax(-1)  # correct for every real value in the bounds
    wrong = hi_c <= lo_w.amax(-1)  # some wrong logit is ≥ the correct one
    undecided = ~(sure | wrong)
    undecided |= ~torch.isfinite(center).all(-1) | ~torch.isfinite(err).all(-1)
    t = hi_w - lo_c[..., None]  # t_z ≥ f(z) − f(xy) for the wrong z
    t = t + 4 * U * (hi_w.abs() + lo_c.abs()[..., None]) + TINY
    t_low = lo_w - hi_c[..., None]  # ≤ f(z) − f(xy)
    t_low = t_low - 4 * U * (lo_w.abs() + hi_c.abs()[..., None]) - TINY
    return (sure, undecided, ce_upper(t.scatter(-1, lab, -torch.inf)),
            ce_lower(t_low.scatter(-1, lab, -torch.inf)))


def decide_inputs(model: GroupMLP | Folded, group: Group, xs: torch.Tensor, ys: torch.Tensor,
                  k: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """[E1] at the inputs (xs, ys) of instance ``k`` only ([t] each): whether each is correct,
    exactly, and a rigorous CE upper bound for each; O(t |G| m), what brute force costs for
    those inputs (a cascade's last stage)."""
    enc = enclose(select_instance(model, k))
    c, r = enc.center, enc.radius
    correct = torch.zeros(len(xs), dtype=torch.bool)
    loss = torch.zeros(len(xs), dtype=torch.float64)
    rows = max(1, (1 << 22) // max(1, group.order * c.d_hidden))
    undecided_all = torch.zeros(len(xs), dtype=torch.bool)
    for j in range(0, len(xs), rows):
        x, y = xs[j:j + rows], ys[j:j + rows]
        hidden = torch.relu(c.left[0, x] + c.right[0, y])[None]  # [1, t, m]
        e_h = None if r is None else (r.left[0, x] + r.right[0, y])[None]
        sure, undecided, up, _ = _decide_rows(c, r, hidden, e_h, group.table[x, y][None])
        correct[j:j + rows] = sure[0] & ~undecided[0]
        loss[j:j + rows] = up[0]
        undecided_all[j:j + rows] = undecided[0]
    if bool(undecided_all.any()):  # exactly, in limbs (``exact``)
        from rhoproof.exact import decide

        at = torch.nonzero(undecided_all)[:, 0]
        ok, _, up_t = decide(model, k, xs[at], ys[at], group.table)
        correct[at] = ok
        loss[at] = ce_upper(up_t)
    return correct, loss


def _evaluate_exact(model: GroupMLP | Folded, group: Group, keep_pairs: bool,
                    chunk_bytes: int) -> Evaluation:
    """[E1]: logits as centre ± err with |f − centre| ≤ err; decided where they separate,
    exactly (integers) where they do not."""
    enc = enclose(model)
    c, r = enc.center, enc.radius
    if c.group_order != group.order:
        raise ValueError(f"model has {c.group_order} outputs, group {group.spec} has "
                         f"order {group.order}")
    k, g, m = c.n_instances, group.order, c.d_hidden
    table = group.table  # [|G|, |G|]
    rows = _chunk_rows(c, chunk_bytes // 3, 8)
    correct_all = torch.empty(k, g, g, dtype=torch.bool)
    loss_all = torch.empty(k, g, g, dtype=torch.float64)
    loss_low = torch.empty(k, g, g, dtype=torch.float64)
    open_inputs = torch.zeros(k, g, g, dtype=torch.bool)
    for x0 in range(0, g, rows):
        x1 = min(g, x0 + rows)
        n = x1 - x0
        pre = c.left[:, x0:x1, None, :] + c.right[:, None, :, :]  # [K, n, G, m]
        e_h = None if r is None else \
            (r.left[:, x0:x1, None, :] + r.right[:, None, :, :]).reshape(k, n * g, m)
        labels = table[x0:x1].expand(k, -1, -1).reshape(k, n * g)
        sure, undecided, up_t, low_t = _decide_rows(
            c, r, torch.relu(pre).reshape(k, n * g, m), e_h, labels)
        correct_all[:, x0:x1] = (sure & ~undecided).view(k, n, g)
        loss_all[:, x0:x1] = up_t.view(k, n, g)
        loss_low[:, x0:x1] = low_t.view(k, n, g)
        open_inputs[:, x0:x1] = undecided.view(k, n, g)
    decided = int(open_inputs.sum())
    if decided:  # exactly, in limbs (``exact``), per instance
        from rhoproof.exact import decide

        for kk in range(k):
            xs, ys = torch.nonzero(open_inputs[kk], as_tuple=True)
            if len(xs):
                ok, low_t, up_t = decide(model, kk, xs, ys, table)
                correct_all[kk, xs, ys] = ok
                loss_all[kk, xs, ys] = ce_upper(up_t)
                loss_low[kk, xs, ys] = ce_lower(low_t)
    correct_flat = correct_all.reshape(k, g * g)
    loss_flat = loss_all.reshape(k, g * g)
    n_pairs = g * g
    # the mean of |G|² nonnegative upper bounds, rounded up: γ_{|G|²} plus the division
    mean = loss_flat.mean(1) * (1 + (n_pairs + 8) * U * 1.01) + TINY
    mean = torch.where(torch.isfinite(mean), mean, torch.inf)
    # divide first, so that a sum of huge finite terms cannot overflow to +inf (an overflowed
    # lower bound would be above the truth); γ_{n+1} covers the divisions and the sum
    low = (loss_low.reshape(k, g * g) / n_pairs).sum(1) * (1 - (n_pairs + 9) * U * 1.01) \
        - TINY
    low = torch.where(torch.isfinite(low), low.clamp_min(0.0), 0.0)
    return Evaluation(
        accuracy=correct_flat.to(torch.float64).mean(1),
        loss=mean,
        loss_lower=low,
        correct=correct_flat if keep_pairs else None,
        pair_loss=loss_flat if keep_pairs else None,
        exact=True,
        decided_exactly=decided,
    )
