"""One stage runner for ``reproduce`` and the sweep's cells: evaluate → explain → certify on a
run, each stage writing one artifact in a folder, with one writer per artifact and one
freshness rule: an artifact is reused only if it was made from these weights (SHA-256), by
this rhoproof version, with these options; anything else is redone.

    evaluate.json          exact accuracy and loss of every model
    explain.json           the ρ-set explanation of every model (plus what the caller adds)
    certificates/*.json    one certificate per method and model (resumed per file), with
    certify.json           the weights, version and options they were made with
    frontier.json          (reproduce --frontier) every model's bound-versus-cost frontier,
                           its points' certificates in certificates/frontier_<k>/

``reproduce`` adds its figures to explain.json through ``extras``; the sweep adds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rhoproof._io import atomic_write_json, ensure_dir
from rhoproof.config import REPORT_METHODS, SPARSITY_THRESHOLD

if TYPE_CHECKING:
    from rhoproof.explain.explanation import Explanation
    from rhoproof.run import Run
    from rhoproof.verify.records import Certificate

EVALUATE, EXPLAIN, CERTIFICATES = "evaluate.json", "explain.json", "certificates"
FRONTIER = "frontier.json"
STAMP = "certify.json"
"""Beside certificates/: the weights, version and options the certificates were made with."""


def report_methods(group: Any) -> tuple[str, ...]:
    """REPORT_METHODS, and ``fourier`` when some irrep of ``group`` is complex or quaternionic
    (the irreps V_irrep's ρ-sets do not cover)."""
    extra = ("fourier",) if any(r.type != "real" for r in group.irreps) else ()
    return REPORT_METHODS + extra


@dataclass(frozen=True)
class StageOptions:
    """What the stages' results depend on besides the weights and the version."""

    methods: tuple[str, ...] = REPORT_METHODS
    per_output: str = "auto"
    threshold: float = SPARSITY_THRESHOLD  # the explanation's, and the proof search's


@dataclass
class Stages:
    """The stages of one run into ``folder``; ``log(name, reused)`` hears of each."""

    run: Run
    folder: Path
    digest: str
    options: StageOptions = StageOptions()
    progress: bool = False
    log: Callable[[str, bool], None] | None = None

    def _stamp(self) -> dict[str, Any]:
        from rhoproof._version import __version__

        return {"rhoproof_version": __version__, "weights_sha256": self.digest,
                "options": asdict(self.options)}

    def is_fresh(self, path: Path, options: Iterable[str]) -> bool:
        """A stage's JSON made from these weights by this version with these ``options``
        (the names of the StageOptions the stage depends on)."""
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError):
            return False
        stamp = self._stamp()
        return isinstance(saved, dict) and all(
            saved.get(k) == stamp[k] for k in ("rhoproof_version", "weights_sha256")) and all(
            (saved.get("options") or {}).get(k) == stamp["options"][k] for k in options)

    def _announce(self, name: str, reused: bool) -> None:
        if self.log is not None:
            self.log(name, reused)

    def evaluate(self) -> dict[str, Any]:
        """evaluate.json: exact accuracy and loss of every model."""
        from rhoproof.evaluate import evaluate

        path = self.folder / EVALUATE
        fresh = self.is_fresh(path, ())
        self._announce("evaluate", fresh)
        if not fresh:
            ev = evaluate(self.run.model, self.run.group)
            atomic_write_json(path, {**self._stamp(), "accuracy": ev.accuracy.tolist(),
                                     "loss": ev.loss.tolist(), **ev.summary()})
        return json.loads(path.read_text())

    def explain(self, extras: Callable[[list[Explanation]], dict[str, Any]] | None = None
                ) -> dict[str, Any]:
        """explain.json: every model's explanation at the options' threshold, and whatever
        ``extras`` makes of the explanations (figures)."""
        import time

        from rhoproof.explain.explanation import explain_models

        path = self.folder / EXPLAIN
        fresh = self.is_fresh(path, ("threshold",))
        self._announce("explain", fresh)
        if not fresh:
            t0 = time.perf_counter()
            exps = explain_models(self.run.model.fold(), self.run.group,
                                  threshold=self.options.threshold, progress=self.progress)
            seconds = time.perf_counter() - t0
            atomic_write_json(path, {**self._stamp(), "seconds": seconds,
                                     **(extras(exps) if extras else {}),
                                     "models": [e.to_dict() for e in exps]})
        return json.loads(path.read_text())

    def certificate_is_fresh(self, path: Path) -> bool:
        """A certificate for these weights, in this format, by this version (the options it
        was made with are the folder's stamp, ``certify``)."""
        from rhoproof._version import __version__
        from rhoproof.verify.certificate import FORMAT

        try:
            cert = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError):
            return False
        return (isinstance(cert, dict) and cert.get("weights_sha256") == self.digest
                and cert.get("format") == FORMAT
                and (cert.get("versions") or {}).get("rhoproof") == __version__)

    def certify(self, instances: Iterable[int] | None = None) -> list[Certificate]:
        """certificates/<method>_<k>.json for every method and model, each reused if fresh;
        certify.json stamps the options they were made with (other options: all redone)."""
        from rhoproof.report.pipeline import certify_run

        folder = ensure_dir(self.folder / CERTIFICATES)
        stamp = self.folder / STAMP
        same_options = self.is_fresh(stamp, ("per_output", "threshold"))
        todo = list(range(self.run.n_instances) if instances is None else instances)
        fresh = same_options and all(self.certificate_is_fresh(folder / f"{m}_{k}.json")
                                     for m in self.options.methods for k in todo)
        self._announce("certify", fresh)
        certs = certify_run(self.run, todo, self.options.methods, folder,
                            self.options.per_output, progress=self.progress and not fresh,
                            reuse=self.certificate_is_fresh if same_options else None,
                            threshold=self.options.threshold)
        if not same_options:
            atomic_write_json(stamp, self._stamp())
        return certs

    def frontier(self, instances: Iterable[int] | None = None) -> dict[str, Any]:
        """frontier.json: every model's V_irrep bound-versus-cost frontier (issue 23), one
        certificate per point in certificates/frontier_<k>/ (``pipeline.frontier_run``) and
        its record (``report.frontier.frontier_table``); redone unless made from these
        weights by this version with these options."""
        from rhoproof.report.pipeline import frontier_run

        path = self.folder / FRONTIER
        fresh = self.is_fresh(path, ("per_output", "threshold"))
        self._announce("frontier", fresh)
        if not fresh:  # models done before with this stamp are reused one by one
            todo = list(range(self.run.n_instances) if instances is None else instances)
            tables = frontier_run(self.run, todo, self.folder / CERTIFICATES,
                                  self.options.per_output, progress=self.progress,
                                  threshold=self.options.threshold, stamp=self._stamp())
            atomic_write_json(path, {**self._stamp(), "models": [
                {k: v for k, v in t.items() if k != "stamp"} for t in tables]})
        return json.loads(path.read_text())


__all__ = ["CERTIFICATES", "EVALUATE", "EXPLAIN", "FRONTIER", "REPORT_METHODS", "StageOptions",
           "Stages", "report_methods"]
