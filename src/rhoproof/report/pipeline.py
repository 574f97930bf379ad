"""Library orchestration shared by the command line, ``reproduce`` and the sweep: certify a run
(methods × instances → certify → bind to the weights → write), summarize certificates per
verifier, and the small ``demo`` pipeline (train → evaluate → explain). The stage runner with
its freshness rule is ``report.stages``. The CLI only parses, calls these and prints."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rhoproof._io import atomic_write_json, ensure_dir
from rhoproof.config import CERTIFIED, DEMO_CONFIG, SPARSITY_THRESHOLD

if TYPE_CHECKING:
    from rhoproof.verify.records import Certificate


def certify_run(run: Any, instances: Iterable[int], methods: Iterable[str],
                out: str | Path, per_output: str = "auto",
                reuse: Callable[[Path], bool] | None = None,
                progress: bool = False, exact: bool = False,
                threshold: float = SPARSITY_THRESHOLD, budget: float | None = None
                ) -> list[Certificate]:
    """Certify every instance with every method and write each certificate atomically to
    ``out/<method>_<k>.json``, bound to the run's weights (SHA-256). ``reuse(path)`` says
    whether an existing file can stay (``reproduce`` resumes with it). ``budget``: V_irrep's
    best frontier point within that share of brute force's counted operations, written to
    ``out/irrep-budget-<F>_<k>.json``. Returns the certificates in order, methods outer,
    instances inner."""
    from tqdm.auto import tqdm

    from rhoproof.run import WEIGHTS
    from rhoproof.verify.certificate import bind_to_run, certify_model, weights_digest
    from rhoproof.verify.records import Certificate

    folder = ensure_dir(Path(out))
    digest = weights_digest(run.path / WEIGHTS)
    todo = [(m, k) for m in methods for k in instances]
    certs = []
    for method, k in tqdm(todo, disable=not progress, desc="certify", unit="certificate"):
        label = method if budget is None or method != "irrep" else f"irrep-budget-{budget:g}"
        path = folder / f"{label}_{k}.json"
        if reuse is not None and reuse(path):
            certs.append(Certificate.from_json(json.loads(path.read_text())))
            continue
        cert = bind_to_run(certify_model(run.model, run.group, k, method, per_output, exact,
                                         threshold, budget), run, digest)
        atomic_write_json(path, cert.to_json())
        certs.append(cert)
    return certs


def frontier_run(run: Any, instances: Iterable[int], out: str | Path,
                 per_output: str = "auto", progress: bool = False,
                 threshold: float = SPARSITY_THRESHOLD,
                 stamp: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every instance's V_irrep bound-versus-cost frontier (``certify_frontier``): each point's
    certificate written atomically to ``out/frontier_<k>/point_<j>.json`` (cheapest first),
    bound to the run's weights, and the model's record (``report.frontier.frontier_table``)
    to ``out/frontier_<k>.json``. With a ``stamp`` (weights, version, options), a model whose
    frontier_<k>.json carries the same stamp is reused, so an interrupted run resumes model
    by model. Returns the records."""
    from tqdm.auto import tqdm

    from rhoproof.report.frontier import frontier_table
    from rhoproof.run import WEIGHTS
    from rhoproof.verify.certificate import bind_to_run, certify_frontier, weights_digest

    folder = ensure_dir(Path(out))
    digest = weights_digest(run.path / WEIGHTS)
    result = []
    for k in tqdm(list(instances), disable=not progress, desc="frontier", unit="model"):
        path = folder / f"frontier_{k}.json"
        if stamp is not None:
            try:
                saved = json.loads(path.read_text())
            except (OSError, ValueError, RecursionError):
                saved = None
            if isinstance(saved, dict) and saved.get("stamp") == stamp:
                result.append(saved)
                continue
        points = [bind_to_run(c, run, digest) for c in certify_frontier(
            run.model, run.group, k, per_output, threshold)]
        sub = ensure_dir(folder / f"frontier_{k}")
        for old in sub.glob("point_*.json"):  # a previous frontier's points
            old.unlink()
        paths = []
        for j, c in enumerate(points):
            atomic_write_json(sub / f"point_{j}.json", c.to_json())
            paths.append(f"frontier_{k}/point_{j}.json")
        table = frontier_table(points, k, run.group.spec, paths)
        if stamp is not None:
            table["stamp"] = stamp
        atomic_write_json(path, table)
        result.append(table)
    return result


def share(v: float, digits: int = 2) -> str:
    """A ratio to ``digits`` decimals, or in scientific notation where that would print 0."""
    return f"{v:.{digits}f}" if v == 0 or abs(v) >= 10**-digits else f"{v:.1e}"


@dataclass(frozen=True)
class VerifierSummary:
    """One verifier over a set of certificates."""

    method: str
    models: int
    certified_95: int  # models with a bound of at least 0.95
    mean_bound: float
    mean_bound_explained: float | None  # over the models the ρ-set explanation explains
    median_proof_over_brute: float | None  # over the models with a bound > 0 (None: none)
    median_ops_over_brute: float | None = None  # counted operations (V_irrep's cascade)
    certified_any: int = 0  # models with a bound > 0: the ones the speed ratios are over
    frontier: tuple[tuple[str, float, float], ...] = ()  # (stage, mean certified, ops/brute)

    def line(self, spec: str) -> str:
        expl = "none" if self.mean_bound_explained is None else \
            f"{self.mean_bound_explained:.4f}"
        head = (f"{spec} ({self.method}): {self.certified_95} of {self.models} models "
                f"certified >= 95%; mean bound {self.mean_bound:.4f} (explained models: {expl})")
        if self.median_proof_over_brute is None:
            return head + "; proof/brute ratios n/a (no model has a bound above 0)"
        over = "" if self.certified_any == self.models else \
            f" (over the {self.certified_any} models with a bound above 0)"
        return (head + f"; median proof/brute time {share(self.median_proof_over_brute, 2)}"
                + ("" if self.median_ops_over_brute is None else
                   f", counted operations {share(self.median_ops_over_brute, 4)}") + over)

    def frontier_line(self) -> str:
        """The bound-versus-cost frontier: mean certified fraction after each stage against
        the median cumulative cost as a fraction of brute force's counted operations."""
        return "  frontier: " + "; ".join(f"{name} {acc:.4f} at {cost:.2e}"
                                           for name, acc, cost in self.frontier)


def summarize_certificates(certs: list[Certificate]) -> list[VerifierSummary]:
    """Per verifier: models ≥ 95%, mean bound (all / explained), median proof/brute time and
    counted operations over the models with a bound above 0 (a proof that certifies nothing
    is not fast at anything). "Explained" is the verdict the verifier works from: the ρ-set
    explanation's "explained", and for V_fourier also "explained by frequency circuits" (the
    irrep certificates' verdict where there are some, else each certificate's own)."""
    from rhoproof.explain.explanation import FREQUENCY_VERDICT

    verdicts = {c.instance: c.verdict for c in certs if c.method == "irrep"}
    out = []
    for method in dict.fromkeys(c.method for c in certs):
        mine = [c for c in certs if c.method == method]
        bounds = [c.accuracy for c in mine]
        ok = ("explained", FREQUENCY_VERDICT) if method == "fourier" else ("explained",)
        expl = [c.accuracy for c in mine if verdicts.get(c.instance, c.verdict) in ok]
        # a proof that certifies nothing has no speed worth a ratio: leave it out
        certified = [c for c in mine if c.accuracy > 0]
        ops, stages = _cascade_summary(certified)[0], _cascade_summary(mine)[1]
        out.append(VerifierSummary(
            method, len(mine), sum(b >= CERTIFIED for b in bounds), sum(bounds) / len(bounds),
            sum(expl) / len(expl) if expl else None,
            statistics.median(c.proof_over_brute for c in certified) if certified else None,
            median_ops_over_brute=ops, frontier=stages, certified_any=len(certified)))
    return out


def _cascade_summary(certs: list[Certificate]
                     ) -> tuple[float | None, tuple[tuple[str, float, float], ...]]:
    ratios = [r for r in (c.ops_over_brute for c in certs) if r is not None]
    if not ratios:
        return None, ()
    fronts = [c.frontier for c in certs if c.stages]
    names = [name for name, _, _ in fronts[0]] if fronts else []
    stages = tuple((name, statistics.fmean(f[j][1] if len(f) > j else 0.0 for f in fronts),
                    statistics.median(f[j][2] for f in fronts if len(f) > j))
                   for j, name in enumerate(names))
    return statistics.median(ratios), stages


@dataclass(frozen=True)
class DemoResult:
    """What ``demo`` produced: the run, its training record, exact evaluation, explanations."""

    run: Any  # Run
    metrics: list[dict[str, Any]]
    seconds: float
    evaluation: Any  # Evaluation
    explanations: list[Any]  # Explanation


def demo_config(models: int, epochs: int) -> Any:  # TrainConfig
    from rhoproof.config import TrainConfig

    return TrainConfig(**{**DEMO_CONFIG, "n_instances": models, "epochs": epochs})


def demo(out: str | Path, models: int, epochs: int, progress: bool = True) -> DemoResult:
    """``rhoproof demo``: train (or resume) a few S5 models, evaluate them exactly and explain
    them."""
    from rhoproof.evaluate import evaluate
    from rhoproof.explain.explanation import explain_models
    from rhoproof.run import load_run
    from rhoproof.train import train

    out = Path(out)
    config = demo_config(models, epochs)
    t0 = time.perf_counter()
    _, metrics = train(config, out, resume=(out / "config.json").exists(), progress=progress)
    seconds = time.perf_counter() - t0
    run = load_run(out)
    return DemoResult(run, metrics, seconds, evaluate(run.model, run.group),
                      explain_models(run.model.fold(), run.group))


__all__ = ["DEMO_CONFIG", "DemoResult", "VerifierSummary", "certify_run", "demo", "demo_config",
           "summarize_certificates"]
