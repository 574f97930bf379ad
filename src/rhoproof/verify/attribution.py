"""Where a V_irrep bound is lost: for the inputs a proof did not certify, which term of the
bound and which neuron group costs the most, and by how much the margin falls short.

A diagnostic, not a bound: it is computed in plain float64 from the same quantities as the
proof's global bound (docs/soundness.md §2): an input is certified when

    L(x, y) > max_{w≠e} F*(w) + s(x, y),   s = bias + distance + unembedding + other + virtual

with bias = max_z (β − β*)⁺(z); distance = max_z ‖u_C(z)‖ · ‖(ℓ − ℓ*)_C(x) + (r − r*)_C(y)‖
over the circuit neurons C; unembedding = max_z ‖(u − u*)⁺_C(z)‖ · ‖h*_C(x, y)‖; other =
max_z ‖u_Z⁺(z)‖ · ‖ℓ_Z(x) + r_Z(y)‖ over the neurons no circuit uses; virtual = max_z
‖(−u*_V)⁺(z)‖ · ‖h*_V(x, y)‖ over the virtual neurons that complete double sums. The
shortfall is max F*(w≠e) + s − L. Each term is split over neuron groups (a circuit, or a
reason the explanation dropped neurons for): the distance term by each group's share of the
squared distance, the others in proportion to each group's own Cauchy–Schwarz product. A
group's *gain* is the share of the uncertified inputs whose shortfall is below that group's
cost, i.e. that removing this cost alone would certify (under the global bound; the proof's
per-output stage can only do better). Rounding terms of the proof are left out.
"""

from __future__ import annotations

from typing import Any

import torch

from rhoproof.groups import Group
from rhoproof.model import Folded
from rhoproof.verify.exact_ideal import ExactIdeal
from rhoproof.verify.records import Attribution

SAMPLE = 4096
"""At most this many uncertified inputs are measured (evenly spaced in row-major order)."""
TERMS = ("bias", "distance", "unembedding", "other neurons", "virtual neurons")


def _split(vec: torch.Tensor, weight: torch.Tensor, labels: list[str], cols: torch.Tensor
           ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per label: (‖weight_label column‖ max over z, ‖vec_label(x, y)‖) over neurons ``cols``;
    vec: [t, n] (per input, per neuron), weight: [n, G]."""
    out: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    names = [labels[int(i)] for i in cols]
    for name in dict.fromkeys(names):
        sel = torch.tensor([j for j, lab in enumerate(names) if lab == name])
        out[name] = (weight[sel].norm(dim=0).max(), vec[:, sel].norm(dim=1))
    return out


def attribute(folded: Folded, ideal: ExactIdeal, group: Group, certified: torch.Tensor,
              labels: list[str], virtual: int = 0) -> Attribution | None:
    """The attribution for one model (one-instance ``folded`` with its ``virtual`` neurons
    last, as the proof saw it) and its proof's ``certified`` mask [G, G]; ``labels`` names the
    group of every neuron (virtual ones included). None when every input is certified."""
    xs, ys = torch.nonzero(~certified, as_tuple=True)
    if len(xs) == 0:
        return None
    pick = torch.unique(torch.linspace(0, len(xs) - 1, min(SAMPLE, len(xs))).round().long())
    x, y = xs[pick], ys[pick]
    f = folded.to(dtype=torch.float64)
    left, right, u, b = f.left[0], f.right[0], f.unembed[0], f.bias[0]
    lh, rh, uh, bh = (t[0] for t in (ideal.folded.left, ideal.folded.right,
                                     ideal.folded.unembed, ideal.folded.bias))
    g, m = left.shape
    r = m - virtual
    e = group.identity
    big_f = torch.relu(lh[e] + rh[e]) @ uh + bh  # [G]: F*(w)
    wrong = torch.cat([big_f[:e], big_f[e + 1:]])
    top1 = float(wrong.max()) if len(wrong) else float("-inf")
    z = group.table[x, y]
    correct = (torch.relu(left[x] + right[y]) * u[:, z].T).sum(1) + b[z]  # [t]: L
    in_circuit = torch.zeros(m, dtype=torch.bool)
    for c in ideal.proof:
        in_circuit[c.neurons] = True
    live = torch.nonzero(in_circuit[:r])[:, 0]
    others = torch.nonzero(~in_circuit[:r])[:, 0]
    cost: dict[str, torch.Tensor] = {"bias": torch.relu(b - bh).max().expand(len(x))}
    terms = {name: torch.zeros(len(x), dtype=torch.float64) for name in TERMS}
    terms["bias"] = cost["bias"]
    if len(live):  # distance: one product, split by each group's share of D²
        vec = (left[x][:, live] - lh[x][:, live]) + (right[y][:, live] - rh[y][:, live])
        dist = vec.norm(dim=1)
        terms["distance"] = u[live].norm(dim=0).max() * dist
        names = [labels[int(i)] for i in live]
        for name in dict.fromkeys(names):
            sel = torch.tensor([j for j, lab in enumerate(names) if lab == name])
            share = (vec[:, sel] ** 2).sum(1) / (dist**2).clamp_min(1e-300)
            cost[f"distance: {name}"] = terms["distance"] * share
        hid = torch.relu(lh[x][:, live] + rh[y][:, live])
        terms["unembedding"] = torch.relu(u[live] - uh[live]).norm(dim=0).max() \
            * hid.norm(dim=1)
        _spread("unembedding", terms, cost,
                _split(hid, torch.relu(u[live] - uh[live]), labels, live))
    if len(others):
        vec = left[x][:, others] + right[y][:, others]
        terms["other neurons"] = torch.relu(u[others]).norm(dim=0).max() * vec.norm(dim=1)
        _spread("other neurons", terms, cost,
                _split(vec, torch.relu(u[others]), labels, others))
    if virtual:
        hid = torch.relu(lh[x][:, r:] + rh[y][:, r:])
        terms["virtual neurons"] = torch.relu(-uh[r:]).norm(dim=0).max() * hid.norm(dim=1)
        _spread("virtual neurons", terms, cost,
                _split(hid, torch.relu(-uh[r:]), labels, torch.arange(r, m)))
    spread = sum(terms.values())
    assert isinstance(spread, torch.Tensor)
    short = top1 + spread - correct  # [t]
    means = {k: float(v.mean()) for k, v in cost.items() if float(v.mean()) > 0}
    order = sorted(means, key=lambda k: -means[k])[:Attribution.GROUPS]
    return Attribution(
        uncertified=len(xs), sampled=len(x),
        ideal_margin=float(big_f[e]) - top1, shortfall=float(short.median()),
        terms={k: float(v.mean()) for k, v in terms.items()},
        groups={k: means[k] for k in order},
        gain={k: float((short <= cost[k]).double().mean()) for k in order})


def _spread(term: str, terms: dict[str, torch.Tensor], cost: dict[str, torch.Tensor],
            parts: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Split ``terms[term]`` over groups in proportion to each group's own product."""
    own = {name: col * vec for name, (col, vec) in parts.items()}
    total = sum(own.values())
    assert isinstance(total, torch.Tensor)
    for name, v in own.items():
        cost[f"{term}: {name}"] = terms[term] * v / total.clamp_min(1e-300)


def neuron_labels(m: int, virtual: int, circuits: list[Any], zeroed: dict[str, list[int]]
                  ) -> list[str]:
    """A group name for every neuron of the proof's layer (m real + ``virtual``): the circuit
    it belongs to ("4d-0 5x5 #2", "1d-1 sign"), or the reason the explanation dropped it."""
    labels = ["idealized, not used"] * (m + virtual)
    for reason, ids in zeroed.items():
        for i in ids:
            if i < m:
                labels[i] = reason
    seen: dict[str, int] = {}
    for c in circuits:
        nb, nc = c.points_b.shape[0], c.points_c.shape[0]
        base = f"{c.irrep} sign" if c.points_b.shape[1] == 1 else f"{c.irrep} {nb}x{nc}"
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base} #{seen[base]}"
        for i in c.neurons.tolist():
            labels[i] = name
    return labels


__all__ = ["Attribution", "attribute", "neuron_labels"]
