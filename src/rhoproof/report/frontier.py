"""The bound-versus-cost frontier in reports (issue 23): per model, the points of
``certify_frontier`` as plain records; per group, the models certified ≥ 95% within each
budget, the median area under the frontiers, and two figures (models against budget, and the
per-model frontiers as small multiples). Used by ``reproduce --frontier`` and
``bench/frontier.py``.

A record (``frontier_table``): {"instance", "group", "truth" (V_brute's exact accuracy),
"true_ce", "area", "points": [{"ops_over_brute", "accuracy", "certified_inputs",
"cross_entropy", "exact_neurons" (how many), "brute_rest", "per_output", "virtual_neurons",
"symmetry", "certificate" (its file, when written)}]}; ``certify --frontier`` writes one per
model (frontier_<k>.json), ``reproduce --frontier`` collects them in frontier.json.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from rhoproof.verify.frontier import frontier_area

BUDGETS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
"""The budgets of the report's table: counted operations as a share of brute force's."""


def frontier_row(c: Any, path: str | None = None) -> dict[str, Any]:
    """One frontier point for a table: its cost (counted operations over brute force's), its
    bound, what it computes exactly, which ideal and per-output mode, and its certificate
    file."""
    names = [s.name for s in c.stages or ()]
    row = {"ops_over_brute": c.ops_over_brute, "accuracy": c.accuracy,
           "certified_inputs": c.certified_inputs, "cross_entropy": c.cross_entropy,
           "exact_neurons": len(c.exact_neurons or ()), "brute_rest": "exact" in names,
           "per_output": c.per_output, "virtual_neurons": c.virtual_neurons,
           "symmetry": c.symmetry is not None}
    if path is not None:
        row["certificate"] = path
    return row


def frontier_table(points: list[Any], instance: int, group: str,
                   paths: list[str] | None = None) -> dict[str, Any]:
    """A model's frontier as a record, from its certificates (cheapest first): the rows, V_brute's
    exact accuracy and CE (the curve's end, at cost 1) and the area under the curve."""
    truth = points[0].brute["accuracy"] if points else 0.0
    rows = [frontier_row(c, None if paths is None else paths[j]) for j, c in enumerate(points)]
    area = frontier_area([(p["ops_over_brute"], p["accuracy"]) for p in rows] + [(1.0, truth)])
    return {"instance": instance, "group": group, "truth": truth,
            "true_ce": points[0].brute["cross_entropy"] if points else None,
            "area": area, "points": rows}


def best_within(rec: dict[str, Any], budget: float) -> float:
    """The best certified accuracy at counted cost ≤ ``budget`` (V_brute's truth at 1).

    Examples
    --------
    >>> from rhoproof.report.frontier import best_within
    >>> rec = {"truth": 1.0, "points": [{"ops_over_brute": 0.05, "accuracy": 0.9},
    ...                                 {"ops_over_brute": 0.4, "accuracy": 0.99}]}
    >>> best_within(rec, 0.01), best_within(rec, 0.1), best_within(rec, 1.0)
    (0.0, 0.9, 1.0)
    """
    acc = [p["accuracy"] for p in rec["points"] if p["ops_over_brute"] <= budget]
    if budget >= 1.0:
        acc.append(rec["truth"])
    return max(acc, default=0.0)


def budget_counts(recs: list[dict[str, Any]], budgets: tuple[float, ...] = BUDGETS,
                  level: float = 0.95) -> dict[str, int]:
    """Models certified ≥ ``level`` within each budget (keys: the budgets as strings)."""
    return {str(b): sum(best_within(r, b) >= level for r in recs) for b in budgets}


def median_area(recs: list[dict[str, Any]]) -> float | None:
    """The median area under the models' frontiers (None without models)."""
    return statistics.median(r["area"] for r in recs) if recs else None


def budget_figure(groups: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    """Models certified ≥ 95% against the budget (log scale), one step curve per group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    fine = [10 ** (e / 8) for e in range(-24, 1)]
    for spec, recs in groups.items():
        ax.step(fine, [sum(best_within(r, b) >= 0.95 for r in recs) for b in fine],
                where="post", label=f"{spec} ({len(recs)} models)")
    ax.set_xscale("log")
    ax.set_xlabel("budget: counted operations / brute force's")
    ax.set_ylabel("models certified ≥ 95%")
    ax.set_title("V_irrep's frontier: models certified ≥ 95% within a budget")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def small_multiples(spec: str, recs: list[dict[str, Any]], path: Path, most: int = 40) -> Path:
    """The first ``most`` models' frontiers: best certified accuracy against counted cost
    (log scale, 10⁻³ to 1, V_brute's truth at 1), titled with each model's area."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    show = recs[:most]
    cols = max(1, min(8, len(show)))
    rows = max(1, (len(show) + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2 * cols, 1.6 * rows), sharex=True,
                             sharey=True, squeeze=False)
    for ax, r in zip(axes.flat, show):
        pts = sorted((p["ops_over_brute"], p["accuracy"]) for p in r["points"])
        pts.append((1.0, r["truth"]))
        xs, ys, best = [1e-3], [0.0], 0.0
        for c, a in pts:
            best = max(best, a)
            xs.append(min(max(c, 1e-3), 1.0))
            ys.append(best)
        ax.step(xs, ys, where="post", lw=1)
        ax.axhline(0.95, color="0.7", lw=0.5, ls=":")
        ax.set_xscale("log")
        ax.set_xlim(1e-3, 1.05)
        ax.set_ylim(-0.02, 1.05)
        ax.set_title(f"model {r['instance']}: area {r['area']:.2f}", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(show):]:
        ax.axis("off")
    fig.suptitle(f"{spec}: certified accuracy against counted operations / brute force's "
                 f"(models {show[0]['instance'] if show else 0}–"
                 f"{show[-1]['instance'] if show else 0})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


__all__ = ["BUDGETS", "best_within", "budget_counts", "budget_figure", "frontier_row",
           "frontier_table", "median_area", "small_multiples"]
