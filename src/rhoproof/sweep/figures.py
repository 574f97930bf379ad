"""Sweep figures: per swept hyperparameter, the certified fraction (bound ≥ 95%) and the mean
bound of each cell against the value, one line per group (means over the other axes)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

LOG_SCALE = {"weight_decay", "lr"}
PARAMS = ("weight_decay", "d_hidden", "d_embed", "lr", "train_frac", "epochs")


def write_sweep_figures(table: dict[str, Any], out: str | Path,
                        method: str = "irrep") -> list[Path]:
    """PNGs in ``out``: ``<param>.png`` for each swept hyperparameter (over the finished
    cells), or ``groups.png`` when only groups and seeds vary."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rhoproof._io import atomic_write_bytes, ensure_dir

    cells = [c for c in table["cells"] if c["status"] == "done"
             and c.get(f"{method}_mean_bound") is not None]
    out = Path(out)
    for old in out.glob("*.png") if out.is_dir() else ():  # an earlier grid's figures
        if old.stem in (*PARAMS, "group"):
            old.unlink(missing_ok=True)
    if not cells:
        return []
    out = ensure_dir(out)
    params = [p for p in PARAMS if p in table["swept"]] or ["group"]
    groups = list(dict.fromkeys(c["group"] for c in cells))
    written = []
    for param in params:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
        for ax, (field, label) in zip(axes, ((f"{method}_certified_95",
                                               "fraction certified ≥ 95%"),
                                              (f"{method}_mean_bound", "mean certified bound"))):
            for gi, g in enumerate(groups):
                mine = [c for c in cells if c["group"] == g]
                if param == "group":
                    xs, ys = [gi], [statistics.fmean(c[field] for c in mine)]
                    ax.bar(xs, ys, label=g, color=f"C{gi}")
                    continue
                by: dict[Any, list[float]] = defaultdict(list)
                for c in mine:
                    by[c[param]].append(c[field])
                xs = sorted(by)
                ax.scatter([c[param] for c in mine], [c[field] for c in mine], s=12,
                           alpha=0.5, color=f"C{gi}")
                ax.plot(xs, [statistics.fmean(by[x]) for x in xs], marker="o", label=g,
                        color=f"C{gi}")
            if param == "group":
                ax.set_xticks(range(len(groups)), groups)
            else:
                ax.set_xlabel(param)
                if param in LOG_SCALE:
                    ax.set_xscale("log")
                values = sorted({c[param] for c in cells})
                ax.set_xticks(values, [f"{v:g}" for v in values])
                ax.minorticks_off()
            ax.set_ylim(-0.03, 1.03)
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
        axes[0].legend(title="group", fontsize=8)
        fig.suptitle(f"{table['name']}: V_{method} by {param} (points: cells; lines: means)",
                     fontsize=10)
        path = out / f"{param}.png"
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120)
        plt.close(fig)
        atomic_write_bytes(path, buf.getvalue())
        written.append(path)
    return written


__all__ = ["write_sweep_figures"]
