"""Exact (brute-force) evaluation over all |G|² pairs: the ground truth for every bound.

An input counts as correct only when the correct logit is strictly larger than every other
logit (a tie is an error), so a certified lower bound can never be flattered by a tie.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rhoproof.groups import Group
from rhoproof.model import Folded, GroupMLP

DEFAULT_CHUNK_BYTES = 32 * 2**20
"""Per-chunk working memory; small chunks reuse freed memory instead of faulting in new pages."""


@dataclass(frozen=True)
class Evaluation:
    """Per-instance accuracy and mean cross-entropy over all |G|² pairs.

    ``correct`` and ``loss`` hold every pair, indexed ``x·|G| + y`` (None unless asked for).
    """

    accuracy: torch.Tensor  # [K] float64
    loss: torch.Tensor  # [K] float64
    correct: torch.Tensor | None = None  # [K, |G|²] bool
    pair_loss: torch.Tensor | None = None  # [K, |G|²] float64

    def summary(self) -> dict[str, float]:
        return {
            "mean_accuracy": float(self.accuracy.mean()),
            "min_accuracy": float(self.accuracy.min()),
            "n_perfect": int((self.accuracy == 1.0).sum()),
            "mean_loss": float(self.loss.mean()),
            "max_loss": float(self.loss.max()),
        }


def _chunk_rows(folded: Folded, chunk_bytes: int, elem_bytes: int) -> int:
    """How many x values fit in one chunk: memory ~ K·rows·|G|·(m + 2|G|) elements."""
    k, g, m = folded.n_instances, folded.group_order, folded.d_hidden
    per_row = k * g * (m + 2 * g) * elem_bytes
    return max(1, min(g, chunk_bytes // max(per_row, 1)))


@torch.no_grad()
def evaluate(model: GroupMLP | Folded, group: Group, *, dtype: torch.dtype = torch.float64,
             keep_pairs: bool = False, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Evaluation:
    """Accuracy and cross-entropy of every instance on every pair (x, y), label x·y.

    Vectorized over instances and pairs, batched over x so memory stays near ``chunk_bytes``.
    Cost: O(K |G|² m + K |G|³ m) multiply-adds (the second term is the unembedding).
    """
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
