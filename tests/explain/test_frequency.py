"""Frequency clusters (issue 22, step 1): on a planted clock the amplitudes, phases and the
alignment χ − φ − ψ are recovered exactly; groups without 2-d complex-type irreps have none."""

import math

import torch

from rhoproof.explain.frequency import frequency_clusters
from rhoproof.groups import group
from rhoproof.model import Folded


def _clock(p: int, k: int, n: int, seed: int = 0, jitter: float = 0.0
           ) -> tuple[Folded, torch.Tensor]:
    """n neurons at frequency k of C_p with random phases φ, ψ and χ = φ + ψ + 0.3 (plus an
    even spread of ±``jitter``)."""
    gen = torch.Generator().manual_seed(seed)
    phi, psi = (torch.rand(n, generator=gen, dtype=torch.float64) * 2 * math.pi
                for _ in range(2))
    chi = phi + psi + 0.3 + jitter * torch.linspace(-1, 1, n, dtype=torch.float64)
    g = torch.arange(p, dtype=torch.float64)[:, None] * (2 * math.pi * k / p)
    left = (1.5 * torch.cos(g + phi))[None]  # [1, p, n]
    right = (0.7 * torch.cos(g + psi))[None]
    unembed = (2.0 * torch.cos(g + chi)).T[None]  # [1, n, p]
    return Folded(left, right, unembed, torch.zeros(1, p, dtype=torch.float64)), \
        torch.stack([phi, psi, chi], 1)


def test_a_planted_clock_is_recovered():
    grp = group("C7")
    model, phases = _clock(7, 3, 10)
    (cluster,) = frequency_clusters(model, grp)
    assert len(cluster.neurons) == 10 and abs(cluster.share - 1) < 1e-12
    assert torch.allclose(cluster.amplitude, torch.tensor([1.5, 0.7, 2.0],
                                                          dtype=torch.float64).expand(10, 3))
    # the irrep's rotation may run either way (θ or −θ): phases are recovered up to that sign
    # and a global shift per block, so compare the alignment, which is basis-free up to sign
    assert cluster.alignment_spread < 1e-9


def test_misaligned_phases_spread_the_alignment():
    grp = group("C7")
    model, _ = _clock(7, 2, 12, jitter=1.0)
    assert frequency_clusters(model, grp)[0].alignment_spread > 0.3


def test_groups_without_complex_type_irreps_have_no_clusters():
    for spec in ("S3", "S4", "D4", "C2xC2"):
        grp = group(spec)
        f = Folded(*(torch.randn(shape, dtype=torch.float64) for shape in
                     [(1, grp.order, 6), (1, grp.order, 6), (1, 6, grp.order), (1, grp.order)]))
        assert frequency_clusters(f, grp) == []


def test_the_explanation_reports_frequency_circuits_and_round_trips():
    import json

    from rhoproof import zoo
    from rhoproof.explain import explain_models
    from rhoproof.explain.explanation import Explanation

    (e,) = explain_models(zoo.load("C59", n_models=1), group("C59"))
    assert e.frequency and sum(c.share for c in e.frequency) > 0.8
    assert all(c.alignment_spread < 0.1 for c in e.frequency if c.neurons >= 5)
    back = Explanation.from_dict(json.loads(e.to_json()))
    assert back.frequency == e.frequency
    (s,) = explain_models(zoo.load("S4", n_models=1), group("S4"))
    assert s.frequency == []  # S4 has no complex-type irreps


def test_the_frequency_figure_is_drawn_for_clocks_only(tmp_path):
    from rhoproof.report.explain_plots import frequency_figure

    model, _ = _clock(7, 3, 10)
    path = frequency_figure(model, group("C7"), 0, tmp_path / "f.png")
    assert path is not None and path.exists() and path.with_suffix(".pdf").exists()
    s3 = Folded(*(torch.randn(shape, dtype=torch.float64) for shape in
                  [(1, 6, 4), (1, 6, 4), (1, 4, 6), (1, 6)]))
    assert frequency_figure(s3, group("S3"), 0, tmp_path / "s3.png") is None
