"""``rhoproof reproduce``: the whole pipeline for one group, from models to report.

Stages, each leaving its output in the reproduction folder, written atomically, so that an
interrupted run picks up where it stopped and finished stages are not redone (outputs of
another rhoproof version are redone):

    models    run/                    the zoo's models, or models trained with the recipe
    evaluate  evaluate.json           exact accuracy and loss of every model
    explain   explain.json, figures/  ρ-set explanations; irrep, bi-equivariance, 1 − R², ρ-sets
    certify   certificates/*.json     V_irrep, V_coset, V_brute per model (resumed per file)
    report    results.json, report.md, figures/bounds, figures/margin_distance

``settings.json`` records what was asked; a folder holding another reproduction is refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rhoproof._io import atomic_write_json, ensure_dir
from rhoproof.errors import ConfigError, RunError
from rhoproof.groups.stored import is_table_spec

if TYPE_CHECKING:
    from rhoproof.config import TrainConfig
    from rhoproof.explain.explanation import Explanation
    from rhoproof.report.stages import Stages
    from rhoproof.run import Run

SETTINGS = "settings.json"


@dataclass(frozen=True)
class Settings:
    """What a reproduction was asked for (``rhoproof reproduce`` options)."""

    group: str
    models: int | None = None  # None: the zoo's all, or 100 when training
    source: str = "zoo"  # "zoo" or "train"
    epochs: int | None = None  # training only: None is the recipe's
    seed: int = 0
    device: str = "cpu"
    frontier: bool = False  # also every model's bound-versus-cost frontier (issue 23)

    def __post_init__(self) -> None:
        if self.source not in ("zoo", "train"):
            raise ConfigError(f"source must be zoo or train, not {self.source!r}")
        if self.models is not None and (isinstance(self.models, bool) or self.models < 1):
            raise ConfigError(f"--models must be a positive integer, got {self.models}")
        if self.epochs is not None and self.epochs < 0:
            raise ConfigError(f"--epochs must be non-negative, got {self.epochs}")
        if self.source == "zoo":  # options that only training reads are refused, not ignored
            for name, value, default in (("--epochs", self.epochs, None), ("--seed", self.seed, 0),
                                         ("--device", self.device, "cpu")):
                if value != default:
                    raise ConfigError(f"{name} applies to --train only: the zoo's models are "
                                      f"trained already")


def recipe(spec: str, models: int, epochs: int | None, seed: int) -> TrainConfig:
    """The zoo's training recipe for the group if it has one, else the seed paper's."""
    from rhoproof import zoo
    from rhoproof.config import TrainConfig

    base = zoo.index()[spec]["config"] if spec in zoo.index() else {"group": spec}
    cfg = {**base, "group": spec, "n_instances": models, "seed": seed}
    if epochs is not None:
        cfg["epochs"] = epochs
    cfg["eval_every"] = min(cfg.get("eval_every", 50), max(1, cfg.get("epochs", 2000)))
    return TrainConfig.from_dict(cfg)


class Reproduction:
    """One reproduction folder; ``run()`` does what is missing, stage by stage."""

    def __init__(self, settings: Settings, out: str | Path, progress: bool = True,
                 log: Callable[[str], None] = print) -> None:
        from rhoproof import zoo
        from rhoproof.groups import group
        from rhoproof.groups.specs import check_spec

        # every setting is validated before settings.json is written, so a corrected command
        # may reuse the folder
        if settings.source == "zoo":  # fails before any table is built or file written
            available = zoo.entry(check_spec(settings.group))["models"]
            if settings.models is not None and settings.models > available:
                raise ConfigError(f"--models {settings.models}: the {settings.group} zoo has "
                                  f"{available} models")
        self.grp = group(settings.group)
        if settings.source == "train":
            from rhoproof.train import resolve_device

            resolve_device(settings.device)
            recipe(self.grp.spec, settings.models or 100, settings.epochs, settings.seed)
        self.settings, self.out = settings, ensure_dir(out)
        self.progress, self.log = progress, log
        self._digests: dict[tuple[str, int, int, int], str] = {}
        self._check_settings()

    # --- bookkeeping ------------------------------------------------------------------

    def _check_settings(self) -> None:
        path = self.out / SETTINGS
        mine = asdict(self.settings) | {"group": self.grp.spec}
        del mine["frontier"]  # additive: a folder can gain its frontier later
        if is_table_spec(self.grp.spec):  # a path means another table elsewhere: the
            mine["group_sha256"] = self.grp.sha256  # folder is pinned to the table's content
        if path.exists():
            try:
                theirs = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise RunError(f"{path} is corrupt: {exc}") from None
            if theirs != mine:
                diff = ", ".join(f"{k}: {theirs.get(k)!r} there, {v!r} asked"
                                 for k, v in mine.items() if theirs.get(k) != v)
                raise RunError(f"{self.out} holds a reproduction with other settings ({diff});"
                               f" choose another --out")
        else:
            atomic_write_json(path, mine)

    def _digest(self, run: Any) -> str:
        """SHA-256 of the run's weights file, hashed once per version of the file (every stage
        asks for it)."""
        from rhoproof.run import WEIGHTS
        from rhoproof.verify.certificate import weights_digest

        path = run.path / WEIGHTS
        stat = path.stat()
        key = (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if key not in self._digests:
            self._digests[key] = weights_digest(path)
        return self._digests[key]

    def _stage(self, name: str, done: bool) -> bool:
        self.log(f"[{name}] " + ("done before, reused" if done else "running"))
        return not done

    def run(self) -> dict[str, Any]:
        t0 = time.perf_counter()
        run = self.models()
        self.evaluate(run)
        explanations = self.explain(run)
        self.certify(run)
        if self.settings.frontier:
            self._stages(run).frontier()
        results = self.report(run, explanations)
        self.log(f"reproduction of {self.grp.spec} finished in "
                 f"{time.perf_counter() - t0:.0f} s: {self.out / 'report.md'}")
        return results

    # --- stages -------------------------------------------------------------------------

    def models(self) -> Run:
        from rhoproof import zoo
        from rhoproof.run import load_run
        from rhoproof.train import train

        s, path = self.settings, self.out / "run"
        if s.source == "zoo":
            if self._stage("models", (path / "weights.safetensors").exists()):
                n = s.models
                self.log(f"  exporting {n or zoo.entry(self.grp.spec)['models']} "
                         f"{self.grp.spec} models from the zoo")
                zoo.export(self.grp.spec, path, n)
            return load_run(path)
        config = recipe(self.grp.spec, s.models or 100, s.epochs, s.seed)
        finished = False
        if (path / "weights.safetensors").exists():
            finished = load_run(path).epoch >= config.epochs
        if self._stage("models", finished):
            resume = (path / "checkpoint.safetensors").exists()
            train(config, path, device=s.device, resume=resume, progress=self.progress)
        return load_run(path)

    def _stages(self, run: Run) -> Stages:
        from rhoproof.report.stages import StageOptions, Stages, report_methods

        def log(name: str, reused: bool) -> None:
            self._stage(name, reused)

        return Stages(run, self.out, self._digest(run), StageOptions(report_methods(run.group)),
                      progress=self.progress, log=log)

    def evaluate(self, run: Run) -> dict[str, Any]:
        return self._stages(run).evaluate()

    def explain(self, run: Run) -> dict[str, Any]:
        return self._stages(run).explain(lambda exps: self._figures(run, exps))

    def _figures(self, run: Run, exps: list[Explanation]) -> dict[str, Any]:
        """The explanation's figures, and the 3-d ρ-sets the paper draws if none was found;
        what explain.json records of them."""
        from rhoproof.explain.rho_sets import smallest_rho_set
        from rhoproof.report.explain_plots import rho_set_figure, write_run_plots

        figures, be_random = write_run_plots(exps, run, self.out / "figures")
        found = {p.stem[len("rho_set_"):] for p in figures if p.stem.startswith("rho_set")}
        built = []
        for rep in run.group.irreps:
            if rep.dim == 3 and rep.type == "real" and rep.name not in found and (
                    rs := smallest_rho_set(run.group, rep)) is not None:
                built.append(rho_set_figure(
                    rs, run.group, rep.name,
                    self.out / "figures" / f"rho_set_{rep.name}_constructed.png",
                    " (constructed)").name)
        return {"constructed_rho_set_figures": built,
                "bi_equivariance_random": be_random.tolist(),
                "rho_set_figures": [p.name for p in figures if p.name.startswith("rho_set")]}

    def certify(self, run: Run) -> None:
        self._stages(run).certify()

    def report(self, run: Run, explained: dict[str, Any]) -> dict[str, Any]:
        from rhoproof.report.writer import write_report

        self._stage("report", False)  # cheap: always rewritten from the stages' outputs
        return write_report(self, run, explained)


__all__ = ["Reproduction", "Settings", "recipe"]
