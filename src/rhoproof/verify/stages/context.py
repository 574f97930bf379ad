"""What every stage of the V_irrep cascade shares (docs/soundness.md §2): the proof context,
fixed before the first stage (the real model, the exact ideal f* and its margins per orbit
[H1], the neuron groups and the bias column), and the work record the stages pass along (the
inputs still undecided, and per input the best lower bound δ on the margin found so far).

A stage (``ProofStage``) reads the context and the work, refines δ on the inputs it looks at,
and returns its ``Stage`` record; ``irrep.irrep_bound`` runs them in order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import torch

from rhoproof.groups import Group
from rhoproof.model import Folded
from rhoproof.rounding import TINY, U, down, lse_up, norm_up, up, widen
from rhoproof.verify.exact_ideal import ExactIdeal
from rhoproof.verify.logits import distance_at, distance_bound
from rhoproof.verify.records import Separable, Stage
from rhoproof.verify.symmetry import closure, input_orbits

Part = tuple[torch.Tensor, torch.Tensor]
"""One term of the per-output spread s_z(x, y): a column over the outputs z [G] and a factor
per input ([G, G] on the grid, [t] at gathered inputs)."""


@dataclass(frozen=True)
class IdealMargins:
    """The ideal's logits F*_O(z) = f*(z | x_O, y_O) at one representative per orbit O of its
    symmetry H on the inputs [H1] (one orbit, (e, e), when f* is bi-equivariant), enclosed
    from above (``f_up``), and what the stages read from them. At (x, y) = (g x_O, y_O h) the
    ideal's logit for z is F*_O(g⁻¹ z h⁻¹), its correct output z₀ = x_O y_O."""

    f_up: torch.Tensor  # [R, G] ≥ F*_O(z)
    fw: torch.Tensor  # [R, G] f_up with the correct output at −∞ (wrong outputs only)
    top: torch.Tensor  # [R, k] the k largest wrong w per orbit
    top1: torch.Tensor  # [R] the largest wrong value
    rest: torch.Tensor  # [R] the (k+1)-th largest (−∞ when there is none)
    margin: float  # ≤ min over orbits of F*_O(z₀) − max_{w≠z₀} F*_O(w)
    gap: float  # ≥ max over orbits of log Σ_{w≠z₀} e^{F*_O(w)} − F*_O(z₀)
    lse: torch.Tensor  # [R] ≥ log Σ_{w≠z₀} e^{F*_O(w)}
    orbit: torch.Tensor  # [G, G] the orbit of each input
    tg: torch.Tensor  # [G, G] the transport g of each input, (x, y) = (g x_O, y_O h)
    th: torch.Tensor  # [G, G] and h

    @property
    def count(self) -> int:
        return len(self.top1)


def ideal_margins(ideal: ExactIdeal, group: Group, top_k: int) -> IdealMargins:
    """F*_O at the orbit representatives [H1], enclosed: table errors of f̂ plus rounding of
    this evaluation (docs/soundness.md §2, §3)."""
    fh = ideal.folded
    lh, rh, uh, bh = fh.left[0], fh.right[0], fh.unembed[0], fh.bias[0]
    g, m = lh.shape
    e = group.identity
    wide = widen(m + 2)
    table = group.table
    orbits = None if ideal.symmetry is None else input_orbits(
        group, closure(group, ideal.symmetry))
    reps = torch.tensor([[e, e]]) if orbits is None else orbits.reps  # [R, 2]
    n_orb = len(reps)
    xo, yo = reps[:, 0], reps[:, 1]
    size_o = lh[xo].abs() + rh[yo].abs()  # [R, m]
    hid_o = torch.relu(lh[xo] + rh[yo])
    big_f = hid_o @ uh + bh  # [R, G]
    table_err = (size_o @ uh.abs()) * (U + ideal.eps_lr + 1.01 * ideal.eps_u) + ideal.eps_bias
    f_err = (table_err + wide * (hid_o @ uh.abs() + bh.abs())) * (1 + wide) + TINY
    f_up = up(big_f + f_err, big_f.abs() + f_err)  # F*_O(z) ≤ f_up[O, z]
    rows = torch.arange(n_orb)
    z0 = table[xo, yo]  # [R]
    f_low_c = down(big_f[rows, z0] - f_err[rows, z0], big_f[rows, z0].abs() + f_err[rows, z0])
    fw = f_up.clone()
    fw[rows, z0] = -torch.inf  # wrong outputs only
    order = torch.argsort(fw, dim=1, descending=True, stable=True)  # [R, G], z0 last
    k = min(top_k, g - 1)
    top = order[:, :k]  # [R, k]
    top1 = fw[rows, order[:, 0]] if g > 1 else torch.full((n_orb,), -torch.inf)  # [R]
    rest = fw[rows, order[:, k]] if g - 1 > k else torch.full((n_orb,), -torch.inf)
    margin_o = down(f_low_c - top1, f_low_c.abs() + top1.abs())  # [R]
    margin = float(margin_o.min()) if g > 1 else torch.inf
    lse_o = lse_up(fw, g - 1)  # [R]: ≥ log Σ_{z ≠ z0} e^{F*_O(z)}
    gap = float(up(lse_o - f_low_c, lse_o.abs() + f_low_c.abs()).max()) if g > 1 else -math.inf
    if orbits is None:  # one orbit; transport: (x, y) = (x·e, e·y)
        orb = torch.zeros((g, g), dtype=torch.int64)
        tg = torch.arange(g)[:, None].expand(g, g)
        th = torch.arange(g)[None, :].expand(g, g)
    else:
        orb, tg, th = orbits.orbit, orbits.tg, orbits.th
    return IdealMargins(f_up, fw, top, top1, rest, margin, gap, lse_o, orb, tg, th)


@dataclass(frozen=True)
class ProofContext:
    """Everything fixed before the first stage of one V_irrep proof.

    ``f`` is the real model's float64 centre over all m neurons (the last ``virtual`` ones
    virtual, all zero), ``radius`` its entrywise distance from the stored model over the real
    ones (None: exact), ``ideal`` the exact idealization f* with its tables' ε. Neurons split
    into groups for the Cauchy–Schwarz terms: circuit neurons ``live``, the other real neurons
    ``others`` (u* = h* = 0 there) and the virtual ones, from ``real`` on."""

    group: Group
    ideal: ExactIdeal
    f: Folded
    radius: Folded | None
    virtual: int
    full: bool  # per-output terms on every input ("all"), else only where still needed
    margins: IdealMargins
    live: torch.Tensor  # [n] circuit neurons among the real ones
    others: torch.Tensor  # [n'] the other real neurons
    col_c: torch.Tensor  # [G] ≥ (β − β*)⁺(z)
    wide: float

    @property
    def g(self) -> int:
        return self.group.order

    @property
    def m(self) -> int:
        return int(self.f.left.shape[2])

    @property
    def real(self) -> int:
        return self.m - self.virtual

    def rad_norm(self, pick: Callable[[Folded], torch.Tensor], dim: int) -> torch.Tensor:
        """‖pick(radius)‖ along ``dim``, rounded up; an exact 0 without a radius."""
        return ZERO if self.radius is None else norm_up(pick(self.radius), dim)


ZERO = torch.zeros((), dtype=torch.float64)
"""An exact 0 that broadcasts."""


def proof_context(folded: Folded, ideal: ExactIdeal, group: Group, top_k: int, full: bool,
                  virtual: int, radius: Folded | None) -> ProofContext:
    """The context of one proof (see ``irrep.irrep_bound`` for the preconditions)."""
    f = folded.to(dtype=torch.float64).detach()
    b, bh = f.bias[0], ideal.folded.bias[0]
    m = f.left.shape[2]
    wide = widen(m + 2)
    r = m - virtual  # real neurons first
    in_circuit = torch.zeros(m, dtype=torch.bool)
    for c in ideal.proof:
        in_circuit[c.neurons] = True
    live = torch.nonzero(in_circuit[:r])[:, 0]
    others = torch.nonzero(~in_circuit[:r])[:, 0]
    e_b = ZERO if radius is None else radius.bias[0]
    col_c = (torch.relu(b - bh) + e_b + ideal.eps_bias) * (1 + wide) + TINY
    return ProofContext(group, ideal, f, radius, virtual, full,
                        ideal_margins(ideal, group, top_k), live, others, col_c, wide)


@dataclass
class Work:
    """What the stages pass along within one proof. After stage 1, ``xs, ys`` [t] are the
    inputs the later stages look at (none, meaning the whole grid, when ``full``); their
    per-input values are [G, G] on the grid or [t] at the gathered inputs."""

    xs: torch.Tensor = field(default_factory=lambda: torch.empty(0, dtype=torch.int64))
    ys: torch.Tensor = field(default_factory=lambda: torch.empty(0, dtype=torch.int64))
    grid: bool = True  # per-input factors from the grid's matrix products
    full: bool = True  # the later stages see every input
    sep: Separable | None = None  # stage 1's result [S1]
    parts: list[Part] = field(default_factory=list)
    s_max: torch.Tensor | None = None  # the largest spread per input
    l_low: torch.Tensor | None = None  # ≤ the original's correct logit per input
    top1: torch.Tensor | None = None  # the largest wrong F*_O per input
    delta: torch.Tensor | None = None  # ≤ the margin per input (> 0: certified)
    stage1: torch.Tensor | None = None  # certified by stage 1, among those seen (all: [G, G])
    certified_before: torch.Tensor | None = None  # certified by stage 2 or stage 1
    acc: torch.Tensor | None = None  # Σ over the top w of e^{U_w − L} ("all" only)
    # stage 2's distance factors before widening, per group ("c": circuits, "z": the other
    # real neurons): (≥ the norm of the exact sum, the tables' ε and radius terms) [X1]
    raw: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)

    def narrow(self, ctx: ProofContext, xs: torch.Tensor, ys: torch.Tensor) -> None:
        """The later stages see the inputs (xs, ys) (ignored when ``ctx.full``); when most
        inputs are left, the grid's products are faster, then indexed (and the operations
        counted for the whole grid)."""
        self.full = ctx.full
        if not ctx.full:
            self.xs, self.ys = xs, ys
        self.grid = ctx.full or 4 * len(self.xs) >= ctx.g * ctx.g

    def counted(self, ctx: ProofContext) -> int:
        """The inputs a per-input stage pays for: the whole grid when it uses the grid."""
        return ctx.g * ctx.g if self.grid else len(self.xs)

    def take(self, v: torch.Tensor) -> torch.Tensor:
        """A grid value [G, G] at the inputs the later stages see."""
        return v if self.full or not self.grid else v[self.xs, self.ys]

    def at_xy(self, vx: torch.Tensor, vy: torch.Tensor) -> torch.Tensor:
        """vx(x) + vy(y) at those inputs."""
        return self.take(vx[:, None] + vy[None]) if self.grid else vx[self.xs] + vy[self.ys]

    def per_orbit(self, v: torch.Tensor, orbit: torch.Tensor) -> torch.Tensor:
        """A value per orbit [R] at those inputs."""
        return self.take(v[orbit]) if self.grid else v[orbit[self.xs, self.ys]]

    def dist(self, dl: torch.Tensor, dr: torch.Tensor) -> torch.Tensor:
        """≥ ‖dl(x) + dr(y)‖ at those inputs."""
        return self.take(distance_bound(dl, dr)) if self.grid else \
            distance_at(dl, dr, self.xs, self.ys)

    def spread(self, ctx: ProofContext, pick: Callable[[torch.Tensor], torch.Tensor | float]
               ) -> torch.Tensor:
        """Σ col[z]·factor + col_c[z] over ``parts``, widened for its ≤ 4 nonnegative terms'
        rounding; ``pick`` selects the column entries."""
        total = pick(ctx.col_c)
        for col, factor in self.parts:
            total = total + pick(col) * factor
        return torch.as_tensor(total, dtype=torch.float64) * (1 + 8 * U) + TINY


class ProofStage(Protocol):
    """One stage of the cascade: refines ``work`` and reports what it did (inputs seen, newly
    certified, counted operations; the caller times it)."""

    name: str

    def run(self, ctx: ProofContext, work: Work) -> Stage: ...


__all__ = ["IdealMargins", "Part", "ProofContext", "ProofStage", "Work", "ideal_margins",
           "proof_context"]
