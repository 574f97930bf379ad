"""Figures for ``rhoproof explain --plots DIR``; each is written atomically as PNG and PDF."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from rhoproof._io import atomic_write_bytes, ensure_dir
from rhoproof.explain.explanation import Explanation
from rhoproof.explain.rho_sets import RhoSet
from rhoproof.groups import Group
from rhoproof.run import Run


def _save(fig: plt.Figure, path: Path) -> Path:
    """``path`` (PNG) and the same figure as PDF beside it, each written atomically."""
    for fmt in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=130, bbox_inches="tight")
        atomic_write_bytes(path.with_suffix(f".{fmt}"), buf.getvalue())
    plt.close(fig)
    return path


def _side(e: Explanation) -> str:
    """The ρ-set verdict's side: "explained", or "unexplained" (which includes "explained by
    frequency circuits": no ρ-set idealization)."""
    return "explained" if e.verdict == "explained" else "unexplained"


def irrep_histogram(explanations: list[Explanation], path: Path) -> Path:
    """Neurons per irrep (and mixed/dead), summed over models, split by verdict."""
    labels = sorted({n for e in explanations for n in e.neuron_counts},
                    key=lambda n: (n in ("mixed", "dead"), n))
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bottom = torch.zeros(len(labels))
    for verdict, color in (("explained", "tab:blue"), ("unexplained", "tab:orange")):
        total: Counter[str] = Counter()
        for e in explanations:
            if _side(e) == verdict:
                total.update(e.neuron_counts)
        vals = torch.tensor([float(total[n]) for n in labels])
        ax.bar(labels, vals, bottom=bottom, color=color, label=f"{verdict} models")
        bottom += vals
    ax.set_xlabel("irrep of the neuron (real irreps; mixed = no irrep above threshold)")
    ax.set_ylabel("neurons, all models")
    ax.set_title(f"Irrep sparsity: neurons per irrep ({len(explanations)} models)")
    ax.legend()
    return _save(fig, path)


MEDIAN = {"color": "black", "linewidth": 2.2}
"""Box-plot medians drawn thick and black, visible on any box colour."""


def bi_equivariance_boxplot(explanations: list[Explanation], random_scores: torch.Tensor,
                            path: Path) -> Path:
    """The seed paper's bi-equivariance score for random, trained and idealized models."""
    faith = [e.faithfulness for e in explanations if e.faithfulness is not None]
    orig = [f.bi_equivariance["original"] for f in faith]
    # a model with nothing idealized has a constant ideal, perfectly (and vacuously)
    # bi-equivariant: it is left out rather than drawn at the floor
    ideal = [max(e.faithfulness.bi_equivariance["idealized"], 1e-18) for e in explanations
             if e.faithfulness is not None and not e.nothing_idealized]
    left_out = len(faith) - len(ideal)
    label = "idealized" + (f"\n({left_out} with nothing\nidealized left out)" if left_out else "")
    if not ideal:
        label = "idealized: n/a\n(nothing idealized)"
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.boxplot([random_scores.tolist(), orig, ideal or [float("nan")]],
               orientation="horizontal", tick_labels=["random init", "trained", label],
               medianprops=MEDIAN)
    ax.set_xscale("log")
    ax.set_xlabel("mean over z of std/|mean| of the correct logit over pairs with xy = z")
    ax.set_title("Bi-equivariance (0 = exactly bi-equivariant; idealized floored at 1e-18)")
    return _save(fig, path)


def r2_boxplot(explanations: list[Explanation], path: Path) -> Path:
    """1 − R² between original and idealized folded weights, per block and verdict."""
    blocks = ("left", "right", "unembed", "bias")
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for offset, verdict, color in ((-0.18, "explained", "tab:blue"),
                                   (0.18, "unexplained", "tab:orange")):
        data = [[max(e.faithfulness.one_minus_r2[b], 1e-18) for e in explanations
                 if _side(e) == verdict and e.faithfulness is not None] for b in blocks]
        if not any(data):
            continue
        pos = [i + offset for i in range(len(blocks))]
        kept = [(p, d) for p, d in zip(pos, data) if d]
        bp = ax.boxplot([d for _, d in kept], positions=[p for p, _ in kept], widths=0.3,
                        patch_artist=True, medianprops=MEDIAN)
        for box in bp["boxes"]:
            box.set_facecolor(color)
        ax.plot([], [], color=color, lw=6, label=f"{verdict} models")
    ax.set_xticks(range(len(blocks)), ["ℓ (left)", "r (right)", "u (unembed)", "β (bias)"])
    ax.set_yscale("log")
    ax.set_ylabel("1 − R² = ‖θ − θ̂‖² / ‖θ‖²")
    ax.set_title("Distance from the idealized model, per folded parameter block")
    ax.legend()
    return _save(fig, path)


def rho_set_figure(rho_set: RhoSet, group: Group, irrep: str, path: Path, note: str = ""
                   ) -> Path:
    """A ρ-set of a 2-d or 3-d irrep drawn in the plane or in 3-d, with edges to nearest
    neighbours (a tetrahedron for S4, an icosahedron for A5)."""
    pts = rho_set.points
    d = pts.shape[1]
    dist = torch.cdist(pts, pts)
    nearest = dist[dist > 1e-6].min() if pts.shape[0] > 1 else torch.tensor(0.0)
    fig = plt.figure(figsize=(4.5, 4.5))
    ax: Any = fig.add_subplot(projection="3d" if d == 3 else None)  # Axes3D when d = 3
    coords = [pts[:, i].tolist() for i in range(d)]
    if d == 3:
        ax.scatter(*coords, s=40, color="tab:red", depthshade=False)
    else:
        ax.scatter(*coords, s=40, color="tab:red")
    for i in range(pts.shape[0]):
        for j in range(i + 1, pts.shape[0]):
            if dist[i, j] < nearest * 1.05:
                ax.plot(*[[pts[i, c].item(), pts[j, c].item()] for c in range(d)],
                        color="gray", lw=0.8)
    ax.set_title(f"{group.spec} {irrep}: ρ-set of {rho_set.size} points{note}\n"
                 f"(stabilizer of order {len(rho_set.stabilizer)}; edges join nearest points)")
    ax.set_xlabel("e1")
    ax.set_ylabel("e2")
    if d == 3:
        ax.set_zlabel("e3")
        # one scale on every axis (a cube of the points' radius), and a view that looks along
        # no symmetry axis, so no vertex hides behind another
        r = float(pts.abs().max()) * 1.1
        ax.set_xlim(-r, r)
        ax.set_ylim(-r, r)
        ax.set_zlim(-r, r)
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=17, azim=-58)
    else:
        ax.set_aspect("equal")
    return _save(fig, path)


def write_explain_plots(explanations: list[Explanation], random_scores: torch.Tensor,
                        rho_sets: list[tuple[str, RhoSet]], group: Group, out: str | Path
                        ) -> list[Path]:
    """All explain figures into ``out``; returns the paths written."""
    out = ensure_dir(out)
    paths = [irrep_histogram(explanations, out / "irreps.png"),
             bi_equivariance_boxplot(explanations, random_scores, out / "bi_equivariance.png"),
             r2_boxplot(explanations, out / "one_minus_r2.png")]
    for irrep, rs in rho_sets:
        paths.append(rho_set_figure(rs, group, irrep, out / f"rho_set_{irrep}.png"))
    return paths


def frequency_figure(folded: Any, group: Group, k: int, path: Path) -> Path | None:
    """Model k's frequency circuits (``explain.frequency``): left, each neuron's input phases
    (φ, ψ) on the torus, one colour per cluster; right, every logit f(z | x, y) against
    t = x·y·z⁻¹ (x + y − z for C_n), the clock's single variable: the correct logits (t = e)
    stand apart. None when the group has no 2-d complex-type irrep."""
    from rhoproof.explain.frequency import frequency_clusters

    clusters = frequency_clusters(folded, group, k)
    if not clusters:
        return None
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.2))
    for c in clusters[:8]:
        ax.scatter(c.phase[:, 0], c.phase[:, 1], s=14,
                   label=f"{c.irrep}: {len(c.neurons)} neurons, {c.share:.0%} of u")
    ax.set_xlim(-torch.pi, torch.pi)
    ax.set_ylim(-torch.pi, torch.pi)
    ax.set_xlabel("φ (phase of ℓ)")
    ax.set_ylabel("ψ (phase of r)")
    ax.set_title(f"{group.spec} model {k}: neurons' input phases per frequency")
    ax.legend(fontsize=7, loc="upper right")
    f = folded.instance(k).to(dtype=torch.float64)
    g = group.order
    xs, ys = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
    logits = f.logits(xs.reshape(-1), ys.reshape(-1))[0].reshape(g, g, g)  # [x, y, z]
    inv = torch.from_numpy(group.inverses.copy())
    xy = group.table  # [x, y]
    t = group.table[xy[:, :, None], inv[None, None, :]]  # [x, y, z]: x·y·z⁻¹
    lo = torch.full((g,), float("inf"), dtype=torch.float64).scatter_reduce(
        0, t.reshape(-1), logits.reshape(-1), "amin")
    hi = torch.full((g,), float("-inf"), dtype=torch.float64).scatter_reduce(
        0, t.reshape(-1), logits.reshape(-1), "amax")
    ts = torch.arange(g)
    bx.vlines(ts, lo, hi, color="tab:blue", lw=1.5, label="range over (x, y)")
    e = group.identity
    bx.vlines([e], lo[e], hi[e], color="tab:red", lw=3, label="t = e (the correct logits)")
    bx.set_xlabel("t = x·y·z⁻¹ (element index)")
    bx.set_ylabel("logit f(z | x, y)")
    bx.set_title("logits against t: a clock depends on t alone")
    bx.legend(fontsize=7)
    return _save(fig, path)


def write_run_plots(explanations: list[Explanation], run: Run, out: str | Path
                    ) -> tuple[list[Path], torch.Tensor]:
    """The explain figures for a run's explanations, with random-init models of the run's
    shapes (seed + 1) for the bi-equivariance baseline and the first ρ-set of each 2-d or
    3-d irrep; returns the paths and the random models' scores."""
    from rhoproof.explain.idealize import bi_equivariance_score
    from rhoproof.model import GroupMLP

    random = GroupMLP(run.group.order, min(run.n_instances, 100), run.config.d_embed,
                      run.config.d_hidden, seed=run.config.seed + 1).fold()
    scores = bi_equivariance_score(random, run.group)
    rho_sets, seen = [], set()
    for e in explanations:
        for irrep, rs in e._rho_sets:
            if rs.points.shape[1] in (2, 3) and irrep not in seen:
                seen.add(irrep)
                rho_sets.append((irrep, rs))
    paths = write_explain_plots(explanations, scores, rho_sets, run.group, out)
    first = next((e for e in explanations if e.frequency), None)
    if first is not None:
        made = frequency_figure(run.model.fold(), run.group, first.instance,
                                Path(out) / f"frequency_{first.instance}.png")
        if made is not None:
            paths.append(made)
    return paths, scores
