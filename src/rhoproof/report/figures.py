"""The report's certification figures (the explanation's own figures are in ``explain_plots``):
certified bound per model beside the true accuracy, and margin against logit-distance bound
for one model under V_irrep and V_coset. Every figure is written as PNG and PDF.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import MaxNLocator

from rhoproof.config import CERTIFIED
from rhoproof.report.explain_plots import _save
from rhoproof.verify.records import Certificate


def bounds_figure(rows: list[dict], group: str, path: Path) -> Path:
    """Per model: true accuracy (V_brute), V_irrep, V_coset and (where run) V_fourier bounds;
    explained models first, each side sorted by the V_irrep bound."""
    expl = sorted((r for r in rows if r["verdict"] == "explained"), key=lambda r: -r["irrep"])
    rest = sorted((r for r in rows if r["verdict"] != "explained"), key=lambda r: -r["irrep"])
    order = expl + rest
    xs = list(range(len(order)))
    fig, ax = plt.subplots(figsize=(10, 3.8))
    if rest:
        ax.axvspan(len(expl) - 0.5, len(order) - 0.5, color="0.92", zorder=0,
                   label="unexplained by ρ-sets")
    ax.scatter(xs, [r["accuracy"] for r in order], marker="_", s=90, color="black",
               label="V_brute (true accuracy)")
    ax.scatter(xs, [r["irrep"] for r in order], s=14, color="tab:blue", label="V_irrep bound")
    if all("coset" in r for r in order):
        ax.scatter(xs, [r["coset"] for r in order], s=14, marker="v", color="tab:orange",
                   label="V_coset bound")
    if all("fourier" in r for r in order):
        ax.scatter(xs, [r["fourier"] for r in order], s=14, marker="^", color="tab:purple",
                   label="V_fourier bound")
    ax.axhline(CERTIFIED, color="tab:green", lw=0.8, ls="--", label=f"{CERTIFIED}")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(f"models, ranked: the {len(expl)} explained first, then the {len(rest)} "
                  f"unexplained, each by V_irrep bound")
    ax.set_ylabel("accuracy on all |G|² inputs")
    ax.set_title(f"{group}: certified accuracy bound per model")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return _save(fig, path)


def frontier_figure(certs: list[Certificate], group: str, path: Path) -> Path:
    """The bound-versus-cost frontier: per V_irrep certificate, the certified fraction after
    each stage of the cascade against the cumulative counted operations as a fraction of brute
    force's (log axis); V_coset, V_fourier and brute force as points."""
    fig, ax = plt.subplots(figsize=(8.5, 4))
    for c in certs:
        if c.method == "irrep" and c.stages:
            pts = c.frontier
            ax.plot([p[2] for p in pts], [p[1] for p in pts], "-o", ms=3, lw=0.6,
                    color="tab:blue", alpha=0.35)
        elif c.method == "coset" and (c.ops or {}).get("brute"):
            ax.scatter([c.proof_ops / (c.ops or {})["brute"]], [c.accuracy], marker="v", s=14,
                       color="tab:orange")
        elif c.method == "fourier" and c.stages:
            ax.scatter([c.proof_ops / (c.ops or {})["brute"]], [c.accuracy], marker="^", s=14,
                       color="tab:purple")
    ax.scatter([1.0], [1.0], marker="s", color="black", s=20, label="V_brute (exact)")
    ax.plot([], [], "-o", color="tab:blue", ms=3, label="V_irrep cascade, one line per model")
    ax.scatter([], [], marker="v", color="tab:orange", s=14, label="V_coset")
    if any(c.method == "fourier" for c in certs):
        ax.scatter([], [], marker="^", color="tab:purple", s=14, label="V_fourier")
    ax.set_xscale("log")
    ax.set_xlabel("cumulative counted operations / brute force's")
    ax.set_ylabel("certified fraction of the |G|² inputs")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(f"{group}: bound against cost, stage by stage")
    # outside the axes: inside, it covered the V_coset points (issue 19)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _save(fig, path)


def margin_distance_figure(panels: list[tuple[str, torch.Tensor, torch.Tensor]], title: str,
                           path: Path, max_points: int = 4000) -> Path:
    """One panel per verifier: per input, the logit-distance bound (x) against the margin
    (y: the model's exact correct logit minus the idealized model's largest wrong logit);
    inputs above the diagonal are certified by the global bound."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    gen = torch.Generator().manual_seed(0)
    for ax, (name, margins, distances) in zip(axes[0], panels):
        m, d = margins.flatten(), distances.flatten()
        if m.numel() > max_points:  # a seeded sample keeps the plot light
            pick = torch.randperm(m.numel(), generator=gen)[:max_points]
            m, d = m[pick], d[pick]
        ax.scatter(d.tolist(), m.tolist(), s=4, alpha=0.5, color="tab:blue")
        lo = min(0.0, float(m.min()), float(d.min()))
        hi = max(float(m.max()), float(d.max())) * 1.05
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, label="margin = distance")
        ax.set_xlabel("logit-distance bound (global, per input)")
        ax.set_ylabel("correct logit − ideal's largest wrong logit")
        frac = float((margins > distances).double().mean())
        ax.set_title(f"{name}: {frac:.1%} above the diagonal", fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


__all__ = ["bounds_figure", "margin_distance_figure"]
