"""The reproduction's report: results.json, report.md and the certification figures, built
from the stages' outputs; the paper's numbers come from ``paper_reference.json``."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rhoproof._io import atomic_write_json, atomic_write_text
from rhoproof.config import CERTIFIED, METHODS
from rhoproof.explain.explanation import FREQUENCY_VERDICT
from rhoproof.verify.records import Certificate

REFERENCE = Path(__file__).parent / "paper_reference.json"

# (key, label, which direction is better: "higher", "lower" or None for descriptive rows)
ROWS = [
    ("mean_accuracy", "mean exact accuracy (all pairs)", None),
    ("bound_ge_0.95", "models with V_irrep bound ≥ 0.95", "higher"),
    ("mean_bound_all", "mean V_irrep bound, all models", "higher"),
    ("mean_bound_explained", "mean V_irrep bound, explained models", "higher"),
    ("fraction_explained", "fraction of models explained by ρ-sets", "higher"),
    ("fraction_explained_paper_criterion",
     "fraction explained, the paper's looser test on our circuits", "higher"),
    ("mean_bound_explained_paper_criterion",
     "mean V_irrep bound over those models", "higher"),
    ("ce_bound_explained", "mean CE bound, explained models (nats)", "lower"),
    ("ce_true", "mean true CE (nats)", None),
    ("proof_over_brute", "proof / brute-force time (median, models with a bound > 0)", "lower"),
    ("proof_ops_over_brute", "proof / brute-force counted operations (median, models with a "
                             "bound > 0)", "lower"),
    ("bi_equivariance_random", "bi-equivariance score, random init", None),
    ("bi_equivariance_trained", "bi-equivariance score, trained", None),
    ("bi_equivariance_idealized", "bi-equivariance score, idealized", None),
    ("coset_bound_mean", "mean V_coset bound", "higher"),
    ("fourier_ge_0.95", "models with V_fourier bound ≥ 0.95", "higher"),
    ("fourier_bound_mean", "mean V_fourier bound", "higher"),
    ("fourier_ops_over_brute", "V_fourier / brute-force counted operations (median)", "lower"),
    ("fourier_proof_over_brute", "V_fourier / brute-force time (median)", "lower"),
]
FOURIER_ROWS = ("fourier_ge_0.95", "fourier_bound_mean", "fourier_ops_over_brute",
                "fourier_proof_over_brute")
"""Rows shown only where the report ran V_fourier (a group with complex-type irreps)."""


NOT_APPLICABLE = {
    "bi_equivariance_idealized": "n/a (nothing idealized)",
    "proof_over_brute": "n/a (V_irrep certified no model)",
    "proof_ops_over_brute": "n/a (V_irrep certified no model)",
    "fourier_ops_over_brute": "n/a (V_fourier certified no model)",
    "fourier_proof_over_brute": "n/a (V_fourier certified no model)",
}
"""What the table shows for a quantity that is undefined on this run, and why."""

WHY_BEHIND = {
    "bound_ge_0.95": "fewer models pass the explanation's verdict (next row), and an "
                     "unexplained model's bound is often 0; the reasons are listed below",
    "mean_bound_all": "unexplained models mostly get bound 0 (reasons below)",
    "mean_bound_explained": "explained models can still hold small incomplete circuits or "
                            "mixed neurons, whose weight goes into the error bound",
    "fraction_explained": "the verdict demands complete double sums and a shared a for "
                          "every circuit above 1% of the weight; see the reasons below",
    "fraction_explained_paper_criterion": "our circuits differ from the paper's: more of "
                                          "them have a varying a (reasons below)",
    "mean_bound_explained_paper_criterion": "incomplete circuits and mixed neurons, which "
                                            "that test ignores, go into the error bound",
    "ce_bound_explained": "the CE bound follows the accuracy bound's margins",
    "proof_over_brute": "our brute force is one batched float64 matrix product, not the "
                        "paper's Python loop over inputs, and at this |G| the proof's "
                        "O(|G|² m) passes cost about as much (bench/certify_speed.py)",
    "coset_bound_mean": "see the per-model table",
}


def paper_reference(spec: str) -> dict[str, Any]:
    """The paper's numbers for a group ({} if it reports none)."""
    return json.loads(REFERENCE.read_text())["groups"].get(spec, {})


def zoo_reference(spec: str) -> dict[str, Any]:
    """The seed paper's own verifier run on rhoproof's shipped zoo of ``spec`` ({} if not
    measured): comparable only with a run of all of that zoo's models."""
    return json.loads(REFERENCE.read_text())["zoo_reference"]["groups"].get(spec, {})


def _percent(count: Any, total: int) -> str:
    """A count (or a range of counts) as a percentage of ``total``: the paper's models and ours
    differ in number, so the table says both."""
    if isinstance(count, list):
        return "–".join(f"{c / total:.0%}" for c in count)
    return f"{count / total:.0%}"


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, list):
        return "–".join(_fmt(x) for x in v)
    if isinstance(v, int):
        return str(v)
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4):
        return f"{v:.2e}"
    if v == int(v):  # 1.0 stays "1.000", not "1"
        return f"{v:.3f}"
    return f"{v:.3g}" if abs(v) >= 1 else f"{v:.3f}"


def _behind(ours: Any, paper: Any, better: str | None) -> bool:
    """Worse than every value the paper reports (ranges count in the paper's favour)."""
    if better is None or ours is None or paper is None:
        return False
    values = paper if isinstance(paper, list) else [paper]
    return ours < min(values) if better == "higher" else ours > max(values)


def certificates(out: Path, n: int) -> list[dict[str, Certificate]]:
    """Per model, its certificate by method, as written by the certify stage (V_fourier's
    only where the group called for it, ``stages.report_methods``)."""
    folder = out / "certificates"
    methods = [m for m in METHODS if m != "fourier" or (folder / "fourier_0.json").exists()]
    return [{m: Certificate.from_json(json.loads(
        (folder / f"{m}_{k}.json").read_text())) for m in methods}
        for k in range(n)]


def model_rows(certs: list[dict[str, Certificate]], explained: dict[str, Any],
               evaluated: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per model from the certificates, the explanation and the evaluation."""
    from rhoproof.explain.explanation import nothing_idealized
    from rhoproof.explain.records import circuit_from_json

    rows = []
    for k, cert in enumerate(certs):
        e = explained["models"][k]
        irrep, coset = cert["irrep"], cert["coset"]
        sec = irrep.seconds
        rows.append({
            "model": k, "verdict": e["verdict"], "reasons": e["reasons"],
            "accuracy": evaluated["accuracy"][k], "ce": evaluated["loss"][k],
            "irrep": irrep.accuracy, "irrep_ce": irrep.cross_entropy,
            "coset": coset.accuracy, "coset_ce": coset.cross_entropy,
            **({"fourier": cert["fourier"].accuracy,
                "fourier_ce": cert["fourier"].cross_entropy,
                "fourier_ops_over_brute": cert["fourier"].ops_over_brute}
               if "fourier" in cert else {}),
            "margin": irrep.margin, "virtual_neurons": irrep.virtual_neurons or 0,
            "proof_s": sec["proof"], "search_s": sec["search"], "brute_s": sec["brute"],
            "proof_over_brute": sec["proof_over_brute"],
            "bi_equivariance": e["faithfulness"]["bi_equivariance"],
            "nothing_idealized": nothing_idealized(
                [circuit_from_json(c) for c in e["circuits"]]),
            "attribution": None if irrep.attribution is None else irrep.attribution.to_json()})
    return rows


def paper_criterion(model: dict[str, Any]) -> bool:
    """The seed paper's looser test, applied to our circuits (notes §4.2, §5.2): a model is
    unexplained when some circuit's a varies (a-variance > 1e-5) or some irrep is "bad" (every
    one of its circuits misses 20–80% of its double sum); mixed neurons do not count. A model
    with no ρ-set circuit at all is not explained by it (it was, vacuously, before)."""
    from rhoproof.explain.records import RhoSetCircuitRecord, circuit_from_json

    by_irrep: dict[str, list[float]] = {}
    for c in map(circuit_from_json, model["circuits"]):
        if isinstance(c, RhoSetCircuitRecord):
            if c.a_variance > 1e-5:
                return False
            by_irrep.setdefault(c.irrep, []).append(c.missing_pairs / c.pairs)
    return bool(by_irrep) and not any(all(0.2 <= share <= 0.8 for share in shares)
                                      for shares in by_irrep.values())


def summarize(rows: list[dict[str, Any]], explained: dict[str, Any],
              certs: list[dict[str, Certificate]]) -> dict[str, Any]:
    from rhoproof.report.pipeline import summarize_certificates

    expl = [r for r in rows if r["verdict"] == "explained"]
    paper_ok = [r for r, m in zip(rows, explained["models"]) if paper_criterion(m)]
    # the per-verifier numbers are the same summary `rhoproof certify` prints
    per = {s.method: s for s in summarize_certificates(
        [c[m] for m in ("irrep", "coset", "fourier") for c in certs if m in c])}
    fourier = {} if "fourier" not in per else {
        "fourier_bound_mean": per["fourier"].mean_bound,
        "fourier_ge_0.95": per["fourier"].certified_95,
        "fourier_ops_over_brute": per["fourier"].median_ops_over_brute,
        "fourier_proof_over_brute": per["fourier"].median_proof_over_brute}
    return {
        "fraction_explained_paper_criterion": len(paper_ok) / len(rows),
        "mean_bound_explained_paper_criterion": _mean([r["irrep"] for r in paper_ok]),
        "models": len(rows),
        "mean_accuracy": _mean([r["accuracy"] for r in rows]),
        "bound_ge_0.95": per["irrep"].certified_95,
        "mean_bound_all": per["irrep"].mean_bound,
        "mean_bound_explained": _mean([r["irrep"] for r in expl]),
        "fraction_explained": len(expl) / len(rows),
        "ce_bound_explained": _mean([r["irrep_ce"] for r in expl]),
        "ce_true": _mean([r["ce"] for r in rows]),
        "proof_over_brute": per["irrep"].median_proof_over_brute,
        "proof_ops_over_brute": per["irrep"].median_ops_over_brute,
        "frontier": [{"stage": n, "mean_certified": a, "median_cost_over_brute": c}
                     for n, a, c in per["irrep"].frontier],
        "bi_equivariance_random": _mean(explained["bi_equivariance_random"]),
        "bi_equivariance_trained": _mean([r["bi_equivariance"]["original"] for r in rows]),
        # a model with nothing idealized has a constant ideal: 0 there would be vacuous
        "bi_equivariance_idealized": _mean([r["bi_equivariance"]["idealized"] for r in rows
                                            if not r["nothing_idealized"]]),
        "costliest_where_lost": loss_tally(rows),
        "coset_bound_mean": per["coset"].mean_bound,
        "coset_ge_0.95": per["coset"].certified_95,
        **fourier,
    }


def comparison(spec: str, summary: dict[str, Any], whole_zoo: bool = False
               ) -> list[dict[str, Any]]:
    """Rows of the paper-vs-rhoproof table; counts are compared as fractions of the models.
    With ``whole_zoo`` (the run is all of the shipped zoo's models), rows also carry the
    authors' verifier's numbers on those same models (``zoo_reference``), where measured."""
    ref = paper_reference(spec)
    same = zoo_reference(spec) if whole_zoo else {}
    out = []
    for key, label, better in ROWS:
        if key in FOURIER_ROWS and key not in summary:
            continue
        paper = ref.get(key, {})
        ours, theirs = summary.get(key), paper.get("value")
        shown = (_fmt(theirs) + (f" ({paper['note']})" if paper.get("note") else ""),
                 NOT_APPLICABLE.get(key, "–") if ours is None else _fmt(ours))
        if key in ("bound_ge_0.95", "fourier_ge_0.95"):  # a count: fractions of the models
            n_paper = ref.get("models", {}).get("value", 100)
            shown = (f"{_fmt(theirs)} / {n_paper} ({_percent(theirs, n_paper)})"
                     if theirs is not None else "–",
                     f"{ours} / {summary['models']} ({_percent(ours, summary['models'])})")
            ours = ours / summary["models"]
            theirs = None if theirs is None else (
                [v / n_paper for v in theirs] if isinstance(theirs, list) else theirs / n_paper)
        out.append({"key": key, "quantity": label, "rhoproof": summary.get(key),
                    "paper": paper.get("value"), "source": paper.get("source"),
                    "paper_shown": shown[0], "rhoproof_shown": shown[1],
                    "behind": _behind(ours, theirs, better)})
        if key in same:
            v = same[key]["value"]
            out[-1].update(same_models=v, same_models_source=same[key]["source"],
                           same_models_shown=f"{v} / {summary['models']} "
                           f"({_percent(v, summary['models'])})"
                           if key == "bound_ge_0.95" else _fmt(v))
    return out


def comparison_table(results: dict[str, Any]) -> str:
    """The paper-vs-rhoproof table as markdown."""
    rows = results["comparison"]
    same = any("same_models" in r for r in rows)  # the authors' verifier on these models
    head = ["quantity", "paper", *(["authors' verifier, these models"] if same else []),
            "rhoproof", "behind the paper"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["quantity"], row["paper_shown"],
                 *([row.get("same_models_shown", "–")] if same else []),
                 row["rhoproof_shown"], "**yes**" if row["behind"] else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _figures(repro: Any, run: Any, rows: list[dict[str, Any]]) -> dict[str, str]:
    """The certification figures; returns caption by file name."""
    from rhoproof.report.figures import bounds_figure, frontier_figure, margin_distance_figure
    from rhoproof.verify.certificate import certify_with_bound

    fig_dir = repro.out / "figures"
    spec = run.group.spec
    captions = {}
    four = any("fourier" in r for r in rows)
    bounds_figure(rows, spec, fig_dir / "bounds.png")
    frontier_figure([c[m] for c in certificates(repro.out, run.n_instances)
                     for m in ("irrep", "coset", "fourier") if m in c],
                    spec, fig_dir / "frontier.png")
    captions["frontier.png"] = (
        "Bound against cost: for each model, the certified fraction after each stage of "
        "V_irrep's cascade (separable, per input, per output) against the cumulative counted "
        "operations as a fraction of brute force's; V_coset"
        + (", V_fourier" if four else "") + " and V_brute as points.")
    captions["bounds.png"] = (
        "Certified accuracy per model: V_irrep (blue) and V_coset (orange) lower bounds"
        + (", V_fourier's (purple)," if four else "") + " beside the true accuracy from V_brute "
        "(black), models explained by ρ-sets first.")
    expl = [r for r in rows if r["verdict"] == "explained"]
    best = max(expl or rows, key=lambda r: (r["irrep"], -r["model"]))
    k = best["model"]
    which = ("the explained model with the highest V_irrep bound" if expl else
             "the model with the highest V_irrep bound" if best["irrep"] > 0 else
             "the first model: every V_irrep bound is 0")
    _, b_irrep = certify_with_bound(run.model, run.group, k, "irrep")
    _, b_coset = certify_with_bound(run.model, run.group, k, "coset")
    if b_irrep is None or b_coset is None:  # the model is outside the proofs' safe range
        return captions
    assert b_irrep.margins is not None and b_irrep.distances is not None
    assert b_coset.margins is not None and b_coset.distances is not None
    margin_distance_figure([(f"V_irrep (bound {b_irrep.accuracy:.1%})", b_irrep.margins,
                             b_irrep.distances),
                            (f"V_coset (bound {b_coset.accuracy:.1%})", b_coset.margins,
                             b_coset.distances)],
                           f"{spec} model {k}: margin against logit-distance bound, per input",
                           fig_dir / "margin_distance.png")
    captions["margin_distance.png"] = (
        f"Model {k} ({which}): for every input, the margin (the "
        f"model's exact correct logit minus the idealized model's largest wrong logit) against "
        f"the global (2→∞) logit-distance bound between the model and its idealization. Above "
        f"the diagonal an input is certified by the global bound; the bound in each title also "
        f"counts the per-output refinement. V_irrep's idealized wrong logits are the same for "
        f"every input (f* is bi-equivariant); V_coset's are not.")
    return captions


def _whole_zoo(settings: dict[str, Any], spec: str, models: int) -> bool:
    """Whether a reproduction ran every model of the shipped zoo for its group."""
    from rhoproof import zoo

    try:
        return settings.get("source") == "zoo" and models == zoo.entry(spec)["models"]
    except zoo.ZooError:
        return False


def write_report(repro: Any, run: Any, explained: dict[str, Any]) -> dict[str, Any]:
    """Write results.json, report.md and the certification figures; return the results."""
    from rhoproof.run import versions

    out = repro.out
    evaluated = json.loads((out / "evaluate.json").read_text())
    certs = certificates(out, run.n_instances)
    rows = model_rows(certs, explained, evaluated)
    summary = summarize(rows, explained, certs)
    # a model that did not generalise is near its training fraction: below halfway from there
    # to 1 it is counted (and the report says so)
    frac = run.config.train_frac
    summary["generalised_threshold"] = frac + (1 - frac) / 2
    summary["not_generalised"] = sum(r["accuracy"] < summary["generalised_threshold"]
                                     for r in rows)
    spec = run.group.spec
    captions = _figures(repro, run, rows)
    settings = json.loads((out / "settings.json").read_text())
    front = _frontier(repro, run)
    if front is not None:
        summary["budget_frontier"] = front
    whole = _whole_zoo(settings, spec, summary["models"])
    results = {"group": spec, "settings": settings, "summary": summary,
               "comparison": comparison(spec, summary, whole), "models": rows,
               "versions": versions(),
               "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    atomic_write_json(out / "results.json", results)
    atomic_write_text(out / "report.md", _markdown(results, explained, captions, run, out))
    return results


def _frontier(repro: Any, run: Any) -> dict[str, Any] | None:
    """The frontier stage's summary and figures (``reproduce --frontier``), when its
    frontier.json is for these weights and this version; else None."""
    from rhoproof._version import __version__
    from rhoproof.report.frontier import (
        budget_counts,
        budget_figure,
        median_area,
        small_multiples,
    )
    from rhoproof.report.stages import FRONTIER

    try:
        saved = json.loads((repro.out / FRONTIER).read_text())
    except (OSError, ValueError):
        return None
    if saved.get("weights_sha256") != repro._digest(run) or \
            saved.get("rhoproof_version") != __version__:
        return None
    recs = saved["models"]
    spec = run.group.spec
    budget_figure({spec: recs}, repro.out / "figures" / "frontier_budget.png")
    small_multiples(spec, recs, repro.out / "figures" / "frontier_models.png")
    short = [r["instance"] for r in recs if r["truth"] >= CERTIFIED
             and max((p["accuracy"] for p in r["points"] if p["ops_over_brute"] <= 0.3),
                     default=0.0) < CERTIFIED]
    return {"models": len(recs), "certified_95": budget_counts(recs),
            "median_area": median_area(recs),
            "areas": {str(r["instance"]): r["area"] for r in recs},
            "below_95_at_30_percent": short}


def _frontier_section(s: dict[str, Any]) -> list[str]:
    """The report's bound-versus-cost section (``reproduce --frontier``)."""
    f = s.get("budget_frontier")
    if f is None:
        return []
    counts = f["certified_95"]
    lines = ["## Bound versus cost: V_irrep's frontier", "",
             "Each model's proofs from the compact ρ-set proof to brute force "
             "(`certify --frontier`): the cascade, then exact neuron groups (docs/soundness.md "
             "§2.2), then brute force on what is left; every point is a certificate of its own "
             "(`certificates/frontier_<model>/`). Models certified ≥ 95% within a budget "
             "(counted operations as a share of brute force's; at 1, V_brute itself):", "",
             "| budget | " + " | ".join(f"≤ {b}" for b in counts) + " |",
             "|---|" + "---|" * len(counts),
             "| models ≥ 95% | " + " | ".join(str(v) for v in counts.values()) + " |", "",
             f"Median area under the frontiers: {f['median_area']:.3f} (log₁₀ cost on "
             f"[10⁻³, 1], 1 = full accuracy at 0.1% of brute force's cost). Truly ≥ 95% "
             f"accurate but not certified at ≤ 30%: "
             f"{len(f['below_95_at_30_percent'])} models"
             + (f" ({', '.join(map(str, f['below_95_at_30_percent'][:20]))}"
                f"{', …' if len(f['below_95_at_30_percent']) > 20 else ''})"
                if f["below_95_at_30_percent"] else "") + ".", "",
             "![frontier_budget.png](figures/frontier_budget.png)", "",
             "*Models certified ≥ 95% within each budget.*", "",
             "![frontier_models.png](figures/frontier_models.png)", "",
             "*Each model's frontier (best certified accuracy against counted operations / "
             "brute force's, log scale), titled with its area.*", ""]
    return lines


def loss_tally(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Over the models whose V_irrep bound is below 0.95: how often each "term: group" is the
    costliest (verify/attribution.py), most frequent first."""
    from rhoproof.verify.attribution import Attribution

    lead = Counter(Attribution.from_json(r["attribution"]).leading for r in rows
                   if r["irrep"] < CERTIFIED and r.get("attribution"))
    return dict(lead.most_common())


def _loss_table(rows: list[dict[str, Any]]) -> list[str]:
    """The report's section on where the bound is lost, over the models below 0.95."""
    from rhoproof.verify.attribution import Attribution

    failing = [r for r in rows if r["irrep"] < CERTIFIED and r.get("attribution")]
    lines = ["## Where V_irrep's bound is lost", ""]
    if not failing:
        return lines + ["Every model is certified at 0.95 or more.", ""]
    lines += [f"{len(failing)} models are certified below 0.95 by V_irrep. For each, over its "
              "uncertified "
              "inputs: how far the global bound falls short (median, in logits), the ideal's "
              "own margin, and the costliest term of the bound with its neuron group, its mean "
              "cost and the share of those inputs that removing it alone would certify "
              "(`verify/attribution.py`). How often each is the costliest:", ""]
    lines += [f"- {k}: {v} model{'s' if v != 1 else ''}" for k, v in loss_tally(rows).items()]
    lines += ["", "| model | V_irrep bound | uncertified | short by | ideal margin | costliest |"
              " cost | alone certifies |", "|---|---|---|---|---|---|---|---|"]
    for r in failing:
        a = Attribution.from_json(r["attribution"])
        lines.append(f"| {r['model']} | {r['irrep']:.4f} | {a.uncertified} | "
                     f"{a.shortfall:.3g} | {a.ideal_margin:.3g} | {a.leading} | "
                     f"{a.groups.get(a.leading, 0.0):.3g} | {a.gain.get(a.leading, 0.0):.0%} |")
    return lines + [""]


def _markdown(results: dict[str, Any], explained: dict[str, Any], captions: dict[str, str],
              run: Any, out: Path) -> str:
    s, spec = results["summary"], results["group"]
    st = results["settings"]
    four = "fourier_bound_mean" in s  # V_fourier ran (a group with complex-type irreps)
    source = ("the shipped model zoo" if st["source"] == "zoo" else
              f"models trained here ({run.config.epochs} epochs, seed {run.config.seed})")
    lines = [f"# rhoproof reproduction: {spec}", "",
             f"{s['models']} models of {spec} from {source}; exact accuracy by V_brute, "
             f"ρ-set explanations, and certified bounds by V_irrep, V_coset"
             f"{' and V_fourier' if four else ''}. Generated "
             f"{results['created']} with rhoproof {results['versions']['rhoproof']}, torch "
             f"{results['versions']['torch']}. All numbers below are computed from the files "
             f"in this folder; the paper's come from `paper_reference.json` (sources in "
             f"`results.json`).", ""]
    from rhoproof.explain.idealize import coverage_note

    note = coverage_note(run.group)
    if note:
        lines += [f"**Note:** {note}.", ""]
    lines += ["## Paper vs rhoproof", "", comparison_table(results), ""]
    if s.get("not_generalised"):
        lines += [f"**Warning: {s['not_generalised']} of {s['models']} models did not "
                  f"generalise** (exact accuracy below {s['generalised_threshold']:.2f}, halfway "
                  f"from the training fraction to 1: they memorised the training split). Their "
                  f"bounds say little about the recipe; train longer or with another recipe.",
                  ""]
    behind = [r for r in results["comparison"] if r["behind"]]
    if behind:
        lines += ["Where rhoproof is behind the paper, and why (as measured here):", ""]
        lines += [f"- {r['quantity']}: {WHY_BEHIND.get(r['key'], 'see the per-model table')}"
                  for r in behind]
        lines += [""]
    if not paper_reference(spec):
        lines += [f"The paper reports no numbers for {spec}; the table shows ours only.", ""]
    lines += ["## Figures", ""]
    fig_dir = Path("figures")
    for name, caption in [("bounds.png", captions["bounds.png"]),
                          ("margin_distance.png", captions["margin_distance.png"]),
                          ("frontier.png", captions["frontier.png"]),
                          ("bi_equivariance.png", "Bi-equivariance score (mean over z of "
                           "std/|mean| of the correct logit over the pairs with xy = z) of "
                           "randomly initialized, trained and idealized models."),
                          ("one_minus_r2.png", "1 − R² between each model's weights and its "
                           "idealization, per parameter block, explained vs unexplained."),
                          ("irreps.png", "Irrep sparsity: neurons per irrep over all models.")]:
        lines += [f"![{name}]({fig_dir / name})", "", f"*{caption}*", ""]
    for png in sorted((out / "figures").glob("frequency_*.png")):
        lines += [f"![{png.name}]({fig_dir / png.name})", "",
                  f"*Frequency circuits of model {png.stem.split('_')[-1]}: each cluster's input "
                  f"phases on the torus, and every logit against t = x·y·z⁻¹ (the clock of "
                  f"modular addition).*", ""]
    rho = [n for n in explained.get("rho_set_figures", []) if n.endswith(".png")]
    built = explained.get("constructed_rho_set_figures", [])
    for name in rho:
        lines += [f"![{name}]({fig_dir / name})", "",
                  f"*A ρ-set of irrep {name[8:-4]} found in a trained model's circuits (its "
                  f"points, with edges between nearest neighbours).*", ""]
    for name in built:
        irrep = name[len("rho_set_"):-len("_constructed.png")]
        lines += [f"![{name}]({fig_dir / name})", "",
                  f"*The smallest ρ-set of the 3-d irrep {irrep}, constructed as the orbit of a "
                  f"vector fixed by the largest subgroup that fixes one: no circuit of these "
                  f"models uses {irrep}, so this one was not found in a model.*", ""]
    if not rho and not built:
        lines += ["*No ρ-set of a 2-d or 3-d irrep occurs in these models' circuits, and "
                  f"{spec} has no real 3-d irrep to draw one for.*", ""]
    reasons = Counter(reason.split(" (")[0] for r in results["models"] for reason in r["reasons"])
    n_freq = sum(r["verdict"] == FREQUENCY_VERDICT for r in results["models"])
    freq = (f" {n_freq} of them are explained by frequency circuits instead (complex-type "
            f"irreps; V_fourier certifies without an idealization)." if n_freq else "")
    lines += ["## Why models are unexplained by ρ-sets", "",
              f"{sum(r['verdict'] != 'explained' for r in results['models'])} of {s['models']} "
              f"models are not explained by ρ-set circuits.{freq} The ρ-set explanation's "
              f"reasons (a model can have several):", ""]
    lines += [f"- {reason}: {count} model{'s' if count != 1 else ''}"
              for reason, count in reasons.most_common()] or [
        "- none"]
    lines += ["", *_loss_table(results["models"]), *_frontier_section(s), "## Per model", "",
              "| model | verdict | accuracy | V_irrep bound | V_coset bound | "
              + ("V_fourier bound (ops / brute; CE bound) | " if four else "")
              + "CE | V_irrep CE bound | virtual neurons | V_irrep proof/brute |",
              "|---|---|---|---|---|" + ("---|" if four else "") + "---|---|---|---|"]
    for r in results["models"]:
        ratio = f"{r['proof_over_brute']:.2f}" if r["irrep"] > 0 else "– (bound 0)"
        cost = r.get("fourier_ops_over_brute")
        fo = (f" {r['fourier']:.4f} ({'–' if cost is None else f'{cost:.2f}'}; "
              f"{_fmt(r['fourier_ce'])}) |" if four else "")
        lines.append(f"| {r['model']} | {r['verdict']} | {r['accuracy']:.5f} | {r['irrep']:.4f}"
                     f" | {r['coset']:.4f} |{fo} {r['ce']:.4f} | {_fmt(r['irrep_ce'])} | "
                     f"{r['virtual_neurons']} | {ratio} |")
    lines += ["", "Certificates: `certificates/<method>_<model>.json`; re-check one with "
              "`rhoproof check certificates/irrep_0.json run`.", ""]
    return "\n".join(lines)


__all__ = ["comparison_table", "paper_reference", "write_report"]
