"""V_coset: the coset-concentration baseline (Stander et al. 2024; seed paper §4.6), made sound.

The idealization follows the paper's baseline:

* per neuron, H = the largest subgroup with ℓ_i constant on right cosets Hx and r_i constant
  on left cosets yH' of a conjugate H' (``explain.cosets``, partition variance < 0.01). A
  neuron with only the trivial subgroup is not explained: it is dead in f̂ (ℓ̂ = r̂ = 0, û = u);
* ℓ̂_i = the mean of ℓ_i over each coset Hx, r̂_i = the mean of r_i over each coset yH';
* û_i = the mean of u_i outside T_i, and min(that mean, u_i(z)) on T_i, where T_i is the right
  coset of H on which u_i is lowest (the output coset the neuron votes against);
* unlike the paper, the bias is kept (β̂ = β), which can only help this baseline.

The margin is where the paper's formula is not obviously sound (it multiplies a minimum total
activation by a sum of unembedding differences), so it is replaced by a proved one. For an
output z and any input with xy = z, and any z' ≠ z,

    f̂(z | x, y) − f̂(z' | x, y) = Σ_i d_i ĥ_i(x, y) + β(z) − β(z'),  d_i = û_i(z) − û_i(z')
                               ≥ Σ_i (d_i⁺ lo_i(z) − d_i⁻ hi_i(z)) + β(z) − β(z')

with lo_i(z), hi_i(z) the min and max of ĥ_i over the |G| inputs with xy = z (a sum of minima
is at most the minimum of the sum). So M(z) = min over z' of the right side bounds the ideal
margin of every input with answer z, at O(|G|² m) in all. Every wrong logit of the original is
then f(z') ≤ f̂(z') + err ≤ f̂(z | x, y) − M(z) + err with err the paper's 2→∞ logit distance
(as in V_irrep), and the input is certified when that is below L(x, y), the original's correct
logit (with the one-sided Δu term of ``irrep``: ĥ ≥ 0, so only (u − û)⁺ can raise a wrong
logit). f̂ is the stored floats themselves, so only the rounding of this evaluation is widened.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from rhoproof.explain.cosets import coset_concentration
from rhoproof.groups import Group
from rhoproof.groups.cosets import coset_ids
from rhoproof.model import Folded
from rhoproof.rounding import ETA, TINY, U, ce_mean, ce_terms, down, norm_up, up, widen
from rhoproof.verify.bounds import Bound
from rhoproof.verify.logits import correct_logits

THRESHOLD = 0.01
"""Partition variance below which a neuron counts as constant on cosets (the paper's)."""


@dataclass
class CosetIdeal:
    """The coset-idealized model f̂ of one instance and what defines it."""

    folded: Folded  # one instance, float64
    left_subgroup: torch.Tensor  # [m] index into group.subgroups; −1: dead (not explained)
    right_subgroup: torch.Tensor  # [m]
    target: torch.Tensor  # [m] id of T_i among the right cosets of H (−1: dead)

    @property
    def explained(self) -> int:
        """Neurons with a nontrivial coset structure."""
        return int((self.left_subgroup >= 0).sum())


class InputTerms:
    """V_coset's per-input quantities, in slabs over x (V_irrep computes its own in
    ``irrep``): D ≥ ‖(ℓ − ℓ*)(x) + (r − r*)(y)‖, N ≥ ‖h*(x, y)‖, L ≤ f(xy | x, y) and ĥ(x, y).

    ``f`` and ``fh`` are one-instance float64 models (the original and the stored tables of
    the ideal f̂, with |ℓ̂ − ℓ*| ≤ eps_lr |ℓ̂| and likewise r̂). O(|G|² m) in all.
    """

    def __init__(self, f: Folded, fh: Folded, eps_lr: float, table: torch.Tensor) -> None:
        self.left, self.right, self.u, self.b = f.left[0], f.right[0], f.unembed[0], f.bias[0]
        self.lh, self.rh = fh.left[0], fh.right[0]
        self.g, self.m = self.left.shape
        self.eps_lr, self._table = eps_lr, table  # table: [G, G] Cayley table
        self.wide = widen(self.m + 2)
        self.dl, self.dr = self.left - self.lh, self.right - self.rh  # one rounding each
        self.dl_norm, self.dr_norm = norm_up(self.dl, 1), norm_up(self.dr, 1)  # [G]
        self.lh_norm, self.rh_norm = norm_up(self.lh, 1), norm_up(self.rh, 1)

    def slabs(self) -> Iterator[torch.Tensor]:
        """x values per slab, bounding memory to a few [c, |G|, m] tensors."""
        rows = max(1, (1 << 22) // (self.g * max(self.m, self.g)))
        for x0 in range(0, self.g, rows):
            yield torch.arange(x0, min(self.g, x0 + rows))

    def __call__(self, xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(D, N, L, ĥ) for the inputs xs × G: [c, G], [c, G], [c, G], [c, G, m]."""
        wide, tiny, eps = self.wide, TINY, self.eps_lr
        # the sum of two rounded differences can cancel: add 3u(‖Δℓ(x)‖ + ‖Δr(y)‖); f̂ vs f*
        # adds eps_lr (‖ℓ̂(x)‖ + ‖r̂(y)‖)
        size = self.lh_norm[xs][:, None] + self.rh_norm[None]  # [c, G]
        d = (norm_up(self.dl[xs][:, None, :] + self.dr[None], 2)
             + 3 * U * (self.dl_norm[xs][:, None] + self.dr_norm[None])
             + eps * size) * (1 + wide) + tiny
        hid_hat = torch.relu(self.lh[xs][:, None, :] + self.rh[None])  # [c, G, m]
        n = (norm_up(hid_hat, 2) + (U + eps) * size) * (1 + wide) + tiny
        hid = torch.relu(self.left[xs][:, None, :] + self.right[None])  # [c, G, m]
        z = self._table[xs]  # [c, G]
        contrib = hid * self.u.T[z]  # [c, G, m]: h_i u_i(xy)
        correct = contrib.sum(2) + self.b[z]
        c_err = wide * (contrib.abs().sum(2) + self.b[z].abs()) + tiny
        l_low = down(correct - c_err, correct.abs() + c_err)  # ≤ f(xy | x, y)
        return d, n, l_low, hid_hat


def coset_ideal(folded: Folded, group: Group, threshold: float = THRESHOLD,
                subgroups: tuple[torch.Tensor, torch.Tensor] | None = None) -> CosetIdeal:
    """Idealize a one-instance model by coset means. ``subgroups`` (H, H' per neuron, −1 for
    dead) replaces the search, as when re-checking a certificate."""
    f = folded.to(dtype=torch.float64).detach()
    left, right, u, b = f.left[0], f.right[0], f.unembed[0], f.bias[0]
    g, m = left.shape
    if subgroups is None:
        cc = coset_concentration(f, group, threshold)
        sizes = cc.subgroup_order[0]
        h_left = torch.where(sizes > 1, cc.left_subgroup[0], -1)
        h_right = torch.where(sizes > 1, cc.right_subgroup[0], -1)
    else:
        h_left, h_right = (s.to(torch.int64) for s in subgroups)
        n_sub = len(group.subgroups)
        if h_left.shape != (m,) or h_right.shape != (m,) or not (
                (h_left >= -1) & (h_left < n_sub) & (h_right >= -1) & (h_right < n_sub)).all():
            raise ValueError("subgroup indices do not match the model")
        if not torch.equal(h_left < 0, h_right < 0):
            raise ValueError("a neuron has a left subgroup but no right one, or the reverse")
        for i in torch.nonzero(h_left >= 0)[:, 0].tolist():
            hl, hr = group.subgroups[int(h_left[i])], group.subgroups[int(h_right[i])]
            if hr not in group.conjugates(hl):
                raise ValueError(f"neuron {i}: the right subgroup is not a conjugate of the "
                                 f"left one")
    lh, rh, uh = torch.zeros_like(left), torch.zeros_like(right), u.clone()
    target = torch.full((m,), -1, dtype=torch.int64)
    right_ids, left_ids = coset_ids(group, "right"), coset_ids(group, "left")
    for s in torch.unique(h_left[h_left >= 0]).tolist():
        cols = torch.nonzero(h_left == s)[:, 0]
        ids = right_ids[s]  # [G]: coset Hx of each x
        lh[:, cols] = _block_means(left[:, cols], ids)
        # T_i: the right coset of H with the lowest mean of u_i
        means = _block_means(u[cols].T, ids)  # [G, c]
        low = means.argmin(0)  # [c] an element of T_i
        t_ids = ids[low]  # [c]
        target[cols] = t_ids
        on_t = ids[:, None] == t_ids[None]  # [G, c]
        off = torch.where(on_t, 0.0, u[cols].T).sum(0) / (~on_t).sum(0).clamp_min(1)  # [c]
        uh[cols] = torch.where(on_t, torch.minimum(off[None], u[cols].T), off[None]).T
    for s in torch.unique(h_right[h_right >= 0]).tolist():
        cols = torch.nonzero(h_right == s)[:, 0]
        rh[:, cols] = _block_means(right[:, cols], left_ids[s])
    ideal = Folded(lh[None], rh[None], uh[None], b.clone()[None])
    return CosetIdeal(ideal, h_left, h_right, target)


def _block_means(values: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """values: [G, c] → each entry replaced by the mean over its block of ``ids`` ([G])."""
    n = int(ids.max()) + 1
    sums = torch.zeros(n, values.shape[1], dtype=values.dtype).index_add_(0, ids, values)
    return (sums / torch.bincount(ids, minlength=n).to(values.dtype)[:, None])[ids]


def coset_margins(ideal: CosetIdeal, group: Group) -> torch.Tensor:
    """M(z) ≤ f̂(z | x, y) − max_{z' ≠ z} f̂(z' | x, y) for every input with xy = z: [G].

    Rounding: ĥ = ReLU(fl(ℓ̂ + r̂)) is within relative u of the exact value, so lo and hi are;
    d and each product add one rounding, and the m-term sum adds γ_m: the sum is widened by
    (m + 12)u · 1.01 times its absolute terms.
    """
    fh = ideal.folded
    lh, rh, uh, b = fh.left[0], fh.right[0], fh.unembed[0], fh.bias[0]
    g, m = lh.shape
    inv = torch.from_numpy(group.inverses.copy())
    table = group.table
    wide = widen(m + 4)
    out = torch.empty(g, dtype=torch.float64)
    chunk = max(1, (1 << 22) // max(1, g * m))
    for z0 in range(0, g, chunk):
        zs = torch.arange(z0, min(g, z0 + chunk))  # [c]
        ys = table[inv][:, zs].T  # [c, x]: y = x⁻¹z
        hid = torch.relu(lh[None] + rh[ys])  # [c, x, m]
        lo, hi = hid.min(1).values, hid.max(1).values  # [c, m]
        d = uh.T[zs][:, None, :] - uh.T[None]  # [c, z', m]
        terms = torch.relu(d) * lo[:, None] - torch.relu(-d) * hi[:, None]
        db = b[zs][:, None] - b[None]  # [c, z']
        val = terms.sum(2) + db
        err = wide * (terms.abs().sum(2) + db.abs()) + (2 * m + 2) * ETA + TINY
        low = down(val - err, val.abs() + err)
        low[torch.arange(len(zs)), zs] = torch.inf  # z' = z is not a wrong output
        out[zs] = low.min(1).values
    return out


def coset_bound(folded: Folded, ideal: CosetIdeal, group: Group, radius: Folded | None = None
                ) -> Bound:
    """V_coset for one model against its coset idealization (the seed paper's baseline).

    The model is a one-instance Folded, the centre of the stored model's enclosure, ``radius``
    its entrywise radius [F1]. Preconditions: both in the safe range [R]. Cost: O(|G|² m)
    plus O(|G|³ m) elementwise for the margins.

    Examples
    --------
    >>> import torch
    >>> from rhoproof import group
    >>> from rhoproof import zoo
    >>> from rhoproof.verify import coset_bound, coset_ideal
    >>> f, G = zoo.load("S4", n_models=1).to(dtype=torch.float64), group("S4")
    >>> b = coset_bound(f, coset_ideal(f, G), G)
    >>> b.method, b.accuracy  # the coset explanation certifies nothing on the zoo
    ('coset', 0.0)
    """
    f = folded.to(dtype=torch.float64).detach()
    fh = ideal.folded
    u, b, uh = f.unembed[0], f.bias[0], fh.unembed[0]
    g, m = uh.shape[1], uh.shape[0]
    wide, tiny = widen(m + 2), TINY
    margin = coset_margins(ideal, group)  # [G]
    # the paper's logit distance with 2→∞ norms; f̂ is exactly its stored floats (eps = 0)
    # the real model is f̂ ± radius: ‖u‖ and ‖(u − û)⁺‖ grow by ‖e_u‖, D by ‖e_ℓ‖ + ‖e_r‖, the
    # bias difference (β − β̂)⁺ is at most e_β, and L comes from ``irrep.correct_logits``
    e_u = 0.0 if radius is None else float(norm_up(radius.unembed[0], 0).max())
    e_b = 0.0 if radius is None else float(radius.bias[0].max())
    big_a = (float(norm_up(u, 0).max()) + e_u) * (1 + wide) + tiny
    big_b = (float(norm_up(torch.relu(u - uh), 0).max()) + e_u) * (1 + wide) + tiny  # ĥ ≥ 0
    table = group.table
    terms_of = InputTerms(f, fh, 0.0, table)
    certified = torch.zeros(g, g, dtype=torch.bool)
    ce = torch.zeros(g, g, dtype=torch.float64)
    margins, distances = torch.zeros(g, g, dtype=torch.float64), torch.zeros_like(ce)
    l_all = None if radius is None else correct_logits(f, group, radius)
    for xs in terms_of.slabs():
        d, n, l_low, hid_hat = terms_of(xs)
        if radius is not None:
            assert l_all is not None
            l_low = l_all[xs]
            d = d + (norm_up(radius.left[0][xs], 1)[:, None]
                     + norm_up(radius.right[0], 1)[None]) * (1 + wide)
        z = table[xs]  # [c, G]
        contrib = hid_hat * uh.T[z]  # [c, G, m]
        ideal_correct = contrib.sum(2) + b[z]
        ideal_up = ideal_correct + wide * (contrib.abs().sum(2) + b[z].abs()) \
            + (2 * m + 2) * ETA + tiny
        spread = (big_a * d + big_b * n + e_b) * (1 + 8 * U) + tiny
        wrong = ideal_up - margin[z] + spread  # ≥ every wrong logit of f, up to rounding
        wrong_up = up(wrong, ideal_up.abs() + margin[z].abs() + spread)
        delta = l_low - wrong_up
        margins[xs], distances[xs] = l_low - ideal_up + margin[z], spread
        certified[xs] = delta > 0
        ce[xs] = ce_terms(delta, g)
    return Bound("coset", float(certified.double().mean()), ce_mean(ce),
                 float(margin.min()), certified, margins, distances)


__all__ = ["CosetIdeal", "coset_bound", "coset_ideal", "coset_margins"]
