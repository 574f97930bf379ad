"""Frequency circuits: the neurons of 2-d complex-type irreps (every nontrivial irrep of C_n,
and the 2-d complex-type irreps of any group) read as the clock of modular addition. Such an
irrep acts by rotations ρ(g) = R(θ(g)), so a neuron on it has ℓ_i(x) ≈ a_i cos(θ(x) + φ_i),
r_i(y) ≈ b_i cos(θ(y) + ψ_i) and u_i(z) ≈ c_i cos(θ(z) + χ_i) at continuous phases, not points
of a finite ρ-set. For a clock, the output phase follows the input phases: χ_i − φ_i − ψ_i is
the same for every neuron of the irrep (the *alignment*). Issue 22, step 1: a measurement,
not yet part of the verdict or the proof.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rhoproof.groups import Group
from rhoproof.model import Folded


@dataclass(frozen=True)
class FrequencyCluster:
    """The neurons whose ℓ, r and u are each mostly on one 2-d complex-type irrep.

    ``amplitude`` [n, 3] and ``phase`` [n, 3] are a, b, c and φ, ψ, χ per neuron (columns ℓ,
    r, u); ``share`` is the part of the model's ‖u‖² (beyond each neuron's mean) the cluster's
    neurons hold on the irrep; ``alignment_spread`` the circular standard deviation of
    χ − φ − ψ (0 for a perfect clock); ``phase_concentration`` the mean resultant length of
    the phases φ (0 when they are spread evenly around the circle, 1 when all equal).
    """

    irrep: str
    neurons: torch.Tensor  # [n] int64
    amplitude: torch.Tensor  # [n, 3]
    phase: torch.Tensor  # [n, 3], radians
    share: float
    alignment_spread: float
    phase_concentration: float


def _rotation_basis(group: Group, name: str) -> torch.Tensor | None:
    """cos θ(g), sin θ(g) as two orthonormal functions on G [2, |G|], when the irrep is 2-d
    and acts by rotations R(θ(g)); None otherwise."""
    rho = group.irrep(name)
    if rho.dim != 2 or rho.type != "complex":
        return None
    mats = torch.from_numpy(rho.matrices)  # [G, 2, 2]
    theta = torch.atan2(mats[:, 1, 0], mats[:, 0, 0])
    if not torch.allclose(mats[:, 1, 1], mats[:, 0, 0], atol=1e-9):
        return None  # not rotations in this basis (never seen: a real form is conjugate)
    basis = torch.stack([torch.cos(theta), torch.sin(theta)]) * math.sqrt(2 / group.order)
    return basis


def _amp_phase(v: torch.Tensor, basis: torch.Tensor, order: int) -> tuple[torch.Tensor,
                                                                         torch.Tensor]:
    """Amplitude and phase of v [n, G] ≈ a cos(θ + φ): (a, φ), each [n]."""
    c = v @ basis.T * math.sqrt(2 / order)  # [n, 2]: a cos φ, −a sin φ
    return torch.hypot(c[:, 0], c[:, 1]), torch.atan2(-c[:, 1], c[:, 0])


def _circular(angles: torch.Tensor) -> tuple[float, float]:
    """(mean resultant length R, circular standard deviation √(−2 ln R))."""
    if angles.numel() == 0:
        return 0.0, 0.0
    r = float(torch.hypot(torch.cos(angles).mean(), torch.sin(angles).mean()))
    return r, math.sqrt(-2 * math.log(max(r, 1e-300)))


def frequency_clusters(folded: Folded, group: Group, k: int = 0, threshold: float = 0.5
                       ) -> list[FrequencyCluster]:
    """The frequency clusters of model ``k``: a neuron joins the 2-d complex-type irrep that
    holds the most of its ℓ, r and u (each beyond its mean) when that irrep holds more than
    ``threshold`` of each; clusters sorted by share, largest first.

    Examples
    --------
    >>> from rhoproof import group, zoo
    >>> from rhoproof.explain.frequency import frequency_clusters
    >>> clusters = frequency_clusters(zoo.load("C59", n_models=1), group("C59"))
    >>> sum(c.share for c in clusters) > 0.8, clusters[0].alignment_spread < 0.1
    (True, True)
    """
    left, right = folded.left[k].double().T, folded.right[k].double().T  # [m, G]
    u = folded.unembed[k].double()  # [m, G]
    blocks = [b - b.mean(1, keepdim=True) for b in (left, right, u)]
    total_u = float((blocks[2] ** 2).sum())
    names, bases = [], []
    for rho in group.irreps:
        basis = _rotation_basis(group, rho.name)
        if basis is not None:
            names.append(rho.name)
            bases.append(basis)
    if not names or total_u == 0.0:
        return []
    stacked = torch.stack(bases)  # [n_irreps, 2, G]
    # energy share of each block on each irrep: [3, m, n_irreps]
    energy = torch.stack([((b[:, None, None, :] * stacked[None]).sum(-1) ** 2).sum(-1)
                          for b in blocks])
    norms = torch.stack([(b ** 2).sum(1) for b in blocks])[..., None].clamp_min(1e-300)
    share = energy / norms
    best = share.sum(0).argmax(1)  # [m]
    on = (share[:, torch.arange(u.shape[0]), best] > threshold).all(0)
    out = []
    for j, name in enumerate(names):
        neurons = torch.nonzero(on & (best == j)).flatten()
        if len(neurons) == 0:
            continue
        amp, ph = zip(*(_amp_phase(b[neurons], bases[j], group.order) for b in blocks))
        amplitude, phase = torch.stack(amp, 1), torch.stack(ph, 1)
        _, spread = _circular(phase[:, 2] - phase[:, 0] - phase[:, 1])
        concentration, _ = _circular(phase[:, 0])
        out.append(FrequencyCluster(name, neurons, amplitude, phase,
                                    float(energy[2, neurons, j].sum()) / total_u, spread,
                                    concentration))
    return sorted(out, key=lambda c: -c.share)


__all__ = ["FrequencyCluster", "frequency_clusters"]
