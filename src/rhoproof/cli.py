"""The ``rhoproof`` command: parse arguments, call the library, print. No logic of its own."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rhoproof.errors import ConfigError, Interrupted, UserError

if TYPE_CHECKING:
    from rhoproof.config import TrainConfig


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2))


# --- groups --------------------------------------------------------------------------------


def _load_run(path: str, table: str | None = None) -> Any:
    """``load_run``, with a one-line note on stderr when the weights carry no group metadata
    (every file rhoproof writes does): then only config.json says which group they are for.
    ``table``: --table, for a run of an earlier version that names its group by a path."""
    from rhoproof.run import GROUP, WEIGHTS, load_run

    _warn_if_large_run(path)
    run = load_run(path, table)
    if run.info.get("group_stored_from"):
        unchecked = "" if run.info.get("group_stored_checked") else (
            " (the run recorded no training accuracy to check the table against: be sure it "
            "is the one it was trained on)")
        print(f"rhoproof: note: stored the group's table in {run.path / GROUP}; later commands "
              f"read it from there (no --table needed){unchecked}", file=sys.stderr)
    if run.info.get("planted"):
        print(f"rhoproof: note: {run.path} holds planted models ({run.info['planted']['command']}"
              f"): an exact ρ-set ideal plus noise, not trained ones", file=sys.stderr)
    if run.info.get("group_unverified"):
        print(f"rhoproof: note: {run.path / WEIGHTS} records no group; {run.group.spec} comes "
              f"from config.json alone (an edited config would not be noticed)", file=sys.stderr)
    return run


def _warn_if_large_run(path: str) -> None:
    """``_warn_if_large`` for the group a run directory's config.json names, before the run
    loads (the group's build is the long silent part); quiet when config.json is unreadable
    (``load_run`` then says what is wrong)."""
    from rhoproof.run import read_config

    try:
        spec = read_config(Path(path)).get("config", {}).get("group")
    except (UserError, OSError, ValueError, AttributeError):
        return
    if isinstance(spec, str) and not spec.startswith("table:"):
        try:
            _warn_if_large(spec)
        except UserError:
            return


def _count(n: int, noun: str) -> str:
    """'1 subgroup', '3 subgroups', '1 conjugacy class', '2 conjugacy classes'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith('ss') else 's'}"


SUBGROUPS_FROM = 5040
"""Group order from which ``groups`` refuses to enumerate subgroups (S7: not done in hours)."""


def cmd_groups(args: argparse.Namespace) -> None:
    from rhoproof.groups import group
    from rhoproof.groups.specs import spec_order

    t0 = time.perf_counter()
    order = spec_order(args.spec)  # before the build: S7's table alone takes seconds
    if not args.no_subgroups and order is not None and order >= SUBGROUPS_FROM:
        raise UserError(f"enumerating the subgroups of {args.spec} (order {order}) is out of "
                        f"reach; add --no-subgroups")
    grp = group(args.spec)
    irreps = grp.irreps
    subgroups = None if args.no_subgroups else len(grp.subgroups)
    info = {
        "spec": grp.spec,
        "order": grp.order,
        "abelian": grp.is_abelian,
        "classes": len(grp.conjugacy_classes),
        "subgroups": subgroups,
        "irreps": [{"name": r.name, "dim": r.dim, "type": r.type,
                    "frobenius_schur": r.indicator} for r in irreps],
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if args.json:
        _print_json(info)
        return
    print(f"{grp.spec}: order {grp.order}, {_count(len(grp.conjugacy_classes), 'conjugacy class')}"
          + (f", {_count(subgroups, 'subgroup')}" if subgroups is not None else "")
          + (", abelian" if grp.is_abelian else ""))
    print(f"{'irrep':<8} {'dim':>4}  {'type':<13} {'FS':>3}")
    for r in irreps:
        print(f"{r.name:<8} {r.dim:>4}  {r.type:<13} {r.indicator:>+3d}")
    # a complex-type or quaternionic real irrep of real dimension d holds a complex irrep
    # of dimension d/2 (twice, or once with multiplicity 2): <chi, chi> = 2 or 4 counts it
    print(f"(real dims; sum over irreps of dim^2 / <chi,chi> = |G| = {grp.order}; "
          f"computed in {info['seconds']:.2f} s)")


# --- train ---------------------------------------------------------------------------------


TRAIN_OPTIONS = {"n_instances": "models"}
"""TrainConfig fields whose option has another name (the rest: --field-name)."""


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    import dataclasses

    from rhoproof.config import TrainConfig

    # every TrainConfig field with an option: --d-embed for d_embed, --models for n_instances
    options = {f.name: "--" + TRAIN_OPTIONS.get(f.name, f.name).replace("_", "-")
               for f in dataclasses.fields(TrainConfig)
               if TRAIN_OPTIONS.get(f.name, f.name).replace("-", "_") in vars(args)}
    fields = {name: getattr(args, TRAIN_OPTIONS.get(name, name)) for name in options}
    try:
        return TrainConfig(**{k: v for k, v in fields.items() if v is not None})
    except ConfigError as exc:  # name the option the user typed, not the config's field
        options.pop("group")
        raise ConfigError(re.sub(r"\b(" + "|".join(options) + r")\b",
                                 lambda m: options[m.group(1)], str(exc))) from None


def cmd_train(args: argparse.Namespace) -> None:
    from rhoproof.groups import group
    from rhoproof.run import train_config_of
    from rhoproof.train import train

    out = Path(args.out)
    if args.resume:
        fixed = [f"--{k.replace('_', '-')}" for k in ("group", "models", "seed", "d_embed",
                 "d_hidden", "train_frac", "lr", "weight_decay", "eval_every",
                 "checkpoint_every", "dtype") if getattr(args, k) is not None]
        if fixed:
            raise ConfigError(f"with --resume the config comes from {out}; only --epochs may "
                              f"change, not {', '.join(fixed)}")
        config = train_config_of(out)
        if args.epochs is not None:
            config = config.replace(epochs=args.epochs)
    else:
        config = _config_from_args(args)
    if not args.resume:  # fail fast on a bad spec, before creating the run directory (a
        group(config.group)  # resumed run reads its stored group, never the path)
    t0 = time.perf_counter()
    _, metrics = train(config, out, device=args.device, resume=args.resume,
                       progress=not args.quiet)
    _report_training(config, metrics, time.perf_counter() - t0, out)


def _report_training(config: Any, metrics: list[dict[str, Any]], seconds: float,
                     out: Path | None) -> None:
    from rhoproof.config import FITTED, GENERALISED
    from rhoproof.train import summarize_training

    s = summarize_training(metrics)
    if s is None:
        print("no epochs run" + (f"; run saved in {out}" if out is not None else ""))
        return
    acc, n = s.accuracy, len(s.accuracy)
    print(f"{config.group}: {config.n_instances} models, epoch {s.epoch}, "
          f"{seconds:.1f} s this session")
    print(f"  accuracy on all pairs: mean {sum(acc) / n:.4f}, min {min(acc):.4f}, "
          f"{s.perfect}/{n} at 100%")
    if s.perfect_since is not None:
        print(f"  every model at 100% from epoch {s.perfect_since[0]} "
              f"({s.perfect_since[1]:.1f} s)")
    elif s.perfect_then_fell is not None:
        print(f"  every model was at 100% at epoch {s.perfect_then_fell}, but {n - s.perfect} "
              f"fell back below it since")
    if s.lost:
        print(f"  note: {s.lost} of {n} models fitted the training pairs earlier and then lost "
              f"them (accuracy on them now below {FITTED}): try a smaller --lr or "
              f"--weight-decay")
    if s.unstable:
        print(f"  note: {s.unstable} of {n} models' training loss rose since the first "
              f"evaluation (training is unstable): try a smaller --lr")
    if s.slow:
        print(f"  note: {s.slow} of {n} models have not learned the training pairs yet "
              f"(accuracy on them below {FITTED}); train longer")
    if s.memorised:
        print(f"  warning: {s.memorised} of {n} models did not generalise (they fit the "
              f"training pairs, but accuracy on the held-out pairs is below {GENERALISED}: "
              f"they memorised the training split); train longer, or with more training pairs "
              f"or weight decay")
    if out is not None:
        print(f"  run saved in {out}")


# --- evaluate ------------------------------------------------------------------------------


def cmd_evaluate(args: argparse.Namespace) -> None:
    from rhoproof.evaluate import evaluate
    from rhoproof.train import resolve_device

    run = _load_run(args.run_dir, args.table)
    dev = resolve_device(args.device)
    from rhoproof.verify.bounds import brute_ops
    from rhoproof.verify.certificate import BRUTE_FULL_MAX

    ops = brute_ops(run.group.order, run.model.d_hidden) * run.n_instances
    if ops > BRUTE_FULL_MAX:  # S7 at m = 256: hours, where certify does not go
        print(f"rhoproof: note: evaluate computes every logit of every input: {ops:.1e} "
              f"operations, hours on a CPU (certify's bound does not need them)",
              file=sys.stderr)
    t0 = time.perf_counter()
    ev = evaluate(run.model, run.group) if dev.type == "cpu" else \
        evaluate(run.model.to(dev), run.group, exact=False)
    seconds = time.perf_counter() - t0
    summary = {"run": str(run.path), "group": run.group.spec, "epoch": run.epoch,
               "instances": run.n_instances, "seconds": round(seconds, 3), **ev.summary()}
    if args.json:
        _print_json({**summary, "accuracy": ev.accuracy.tolist(), "loss": ev.loss.tolist()})
        return
    print(f"{'instance':>8}  {'accuracy':>9}  {'loss':>10}")
    for k, (a, lo) in enumerate(zip(ev.accuracy.tolist(), ev.loss.tolist())):
        print(f"{k:>8}  {a:>9.5f}  {lo:>10.4g}")
    trained = f"imported from {run.info['imported_from']}" if run.info.get("imported_from") \
        else f"epoch {run.epoch}"  # an imported run has no epoch of ours
    print(f"{run.group.spec}, {trained}: mean accuracy {summary['mean_accuracy']:.5f}, "
          f"min {summary['min_accuracy']:.5f}, {summary['n_perfect']}/{run.n_instances} at "
          f"100%, mean loss {summary['mean_loss']:.4g} (all {run.group.order}² pairs, "
          f"{seconds:.2f} s)")


# --- explain -------------------------------------------------------------------------------


def _print_explanation(e: Any) -> None:
    counts = ", ".join(f"{n} ×{c}" for n, c in e.neuron_counts.items())
    print(f"model {e.instance}: {e.verdict.upper()}")
    print(f"  neurons: {counts}")
    cos = ", ".join(f"{n} ×{c}" for n, c in list(e.coset_subgroups.items())[:4])
    print(f"  coset concentration (live neurons, largest subgroup): {cos}")
    from rhoproof.explain.records import SignCircuitRecord

    for c in e.circuits:
        if isinstance(c, SignCircuitRecord):
            print(f"  circuit {c.irrep}: 1-d, {c.neurons} neurons, ρ-sets {{±1}} "
                  f"-> {c.status}")
            continue
        print(f"  circuit {c.irrep}: {c.neurons} neurons, B = {c.b_size} points "
              f"(stabilizer {c.b_stabilizer}), C = {c.c_size} points (stabilizer "
              f"{c.c_stabilizer}), {c.missing_pairs} of {c.pairs} pairs missing, "
              f"{c.duplicated_pairs} duplicated, a-variance {c.a_variance:.1e} "
              f"-> {c.status}")
    for r in e.reasons:
        print(f"  reason: {r}")
    if e.frequency:
        total = sum(c.share for c in e.frequency)
        parts = ", ".join(f"{c.irrep} ×{c.neurons} ({c.share:.0%})" for c in e.frequency)
        spread = sum(c.share * c.alignment_spread for c in e.frequency) / max(total, 1e-300)
        print(f"  frequency circuits (complex-type irreps; certify with --method fourier): "
              f"{parts}; {total:.0%} of u; alignment spread {spread:.3f} rad (share-weighted "
              f"mean; the verdict needs ≥ 80% and ≤ 0.1)")
    fa = e.faithfulness
    if fa is None:
        return
    r2 = ", ".join(f"{k} {v:.1e}" for k, v in fa.one_minus_r2.items())
    ideal = "n/a (nothing idealized)" if e.nothing_idealized else \
        f"{fa.bi_equivariance['idealized']:.1e}"
    print(f"  bi-equivariance score: original {fa.bi_equivariance['original']:.3g}, "
          f"idealized {ideal}")
    print(f"  1 - R²: {r2}")
    print(f"  accuracy: original {fa.accuracy['original']:.5f}, idealized "
          f"{fa.accuracy['idealized']:.5f}; loss: original {fa.loss['original']:.4g}, "
          f"idealized {fa.loss['idealized']:.4g}")
    swaps = [f"{k[len('swap_'):]} {v:.4g}" for k, v in fa.loss.items() if k.startswith("swap_")]
    if swaps:
        print(f"  loss with one part idealized: {', '.join(swaps)}")


def _select_instances(args: argparse.Namespace, k: int) -> list[int]:
    """--all, or the one --instance checked against the run's K models."""
    if args.all:
        return list(range(k))
    instance = 0 if args.instance is None else args.instance
    if not 0 <= instance < k:
        raise ConfigError(f"--instance {instance} out of range: the run has {k} models "
                          f"(0..{k - 1})")
    return [instance]


def cmd_explain(args: argparse.Namespace) -> None:
    from rhoproof.explain.explanation import FREQUENCY_VERDICT, explain_models
    from rhoproof.explain.idealize import coverage_note

    run = _load_run(args.run_dir, args.table)
    k = run.n_instances
    instances = _select_instances(args, k)
    if not 0 < args.threshold <= 1 or not 0 <= args.min_weight <= 1:
        raise ConfigError("--threshold must be in (0, 1] and --min-weight in [0, 1]")
    t0 = time.perf_counter()
    exps = explain_models(run.model.fold(), run.group, instances, threshold=args.threshold,
                          min_weight=args.min_weight,
                          progress=not args.json and len(instances) > 1)
    seconds = time.perf_counter() - t0
    n_expl = sum(e.verdict == "explained" for e in exps)
    n_freq = sum(e.verdict == FREQUENCY_VERDICT for e in exps)
    note = coverage_note(run.group)
    if args.json:
        _print_json({"run": str(run.path), "group": run.group.spec, "seconds": round(seconds, 3),
                     "explained": n_expl, "explained_by_frequency_circuits": n_freq,
                     "models": [e.to_dict() for e in exps]})
    else:
        if note:
            print(f"note: {note}")
        for e in exps:
            _print_explanation(e)
        freq = f", {n_freq} by frequency circuits" if n_freq else ""
        print(f"{run.group.spec}: {n_expl} of {len(exps)} models explained by ρ-set circuits"
              f"{freq} ({seconds:.1f} s)")
    if args.plots:
        from rhoproof.report.explain_plots import write_run_plots

        paths, _ = write_run_plots(exps, run, args.plots)
        if not args.json:
            print("plots: " + ", ".join(str(p) for p in paths))


# --- certify and check --------------------------------------------------------------------


def cmd_certify(args: argparse.Namespace) -> None:
    from rhoproof.explain.explanation import FREQUENCY_VERDICT
    from rhoproof.explain.idealize import coverage_note
    from rhoproof.report.pipeline import certify_run, share, summarize_certificates
    from rhoproof.report.stages import report_methods
    from rhoproof.verify.certificate import BRUTE_FULL_MAX

    budget = _frontier_options(args)
    run = _load_run(args.run_dir, args.table)
    instances = _select_instances(args, run.n_instances)
    out = Path(args.out) if args.out else run.path / "certificates"
    if args.frontier:
        _print_frontier(run, instances, out, args)
        return
    methods = list(report_methods(run.group)) if args.method == "all" else [args.method]
    # the same certificates as rhoproof.certify(run, i, method)
    certs = certify_run(run, instances, methods, out, args.per_output, exact=args.exact,
                        budget=budget)
    note = coverage_note(run.group) if "irrep" in methods else None
    if args.json:
        _print_json([c.summary_json() for c in certs])
        return
    if note:
        print(f"note: {note}")
    # the explanation's verdict (as `explain` prints it), whichever method is printed: the
    # irrep and fourier certificates carry it ("frequency": explained by frequency circuits)
    verdicts = {c.instance: c.verdict for c in certs if c.method in ("irrep", "fourier")}
    print(f"{'model':>5}  {'method':<7} {'verdict':<11} {'accuracy':>8} {'bound':>8} {'CE':>8} "
          f"{'CE bound':>9} {'proof s':>8} {'brute s':>8} {'ratio':>6}")
    for c in certs:
        verdict = verdicts.get(c.instance) or "-"
        verdict = "frequency" if verdict == FREQUENCY_VERDICT else verdict
        ratio = f"{share(c.proof_over_brute):>6}" if c.accuracy > 0 else f"{'–':>6}"
        ce = c.brute.get("cross_entropy", 0.0)
        true_acc, true_ce = (f"{c.brute['accuracy']:>8.5f}",
                             f"{ce:>8.4f}" if abs(ce) < 1e3 else f"{ce:>8.2g}") \
            if "accuracy" in c.brute else (f"{'–':>8}", f"{'–':>8}")  # brute force estimated
        print(f"{c.instance:>5}  {c.method:<7} {verdict:<11} {true_acc} "
              f"{c.accuracy:>8.5f} {true_ce} "
              f"{c.cross_entropy:>9.4g} {c.seconds['proof']:>8.4f} "
              f"{c.brute['seconds']:>8.4f}{'*' if 'sampled_rows' in c.brute else ''} {ratio}")
    sampled = [c for c in certs if "sampled_rows" in c.brute]
    if sampled:
        print(f"  * brute force not run (over {BRUTE_FULL_MAX:.0e} operations): its time "
              f"estimated from {sampled[0].brute['sampled_rows']} rows of inputs; accuracy "
              f"there " + ", ".join(f"model {c.instance}: {c.brute['sample_accuracy']:.5f}"
                                    for c in sampled))
    for c in certs:
        if c.refused and c.verdict != "refused":  # e.g. nothing within the budget
            print(f"  model {c.instance}: {c.refused}")
    lost = [(c.instance, c.attribution) for c in certs if c.attribution is not None]
    if lost:  # where each bound is lost (verify/attribution.py)
        print("where the irrep bound is lost:")
        for k, attribution in lost:
            print(f"  model {k}: {attribution.line()}")
        if budget is None:
            print("  (every proof from this one to brute force: --frontier; the best within "
                  "a share F of brute force's operations: --budget F)")
    for summary in summarize_certificates(certs):
        print(summary.line(run.group.spec))
        if summary.frontier:
            print(summary.frontier_line())
    print(f"certificates in {out}")


def _frontier_options(args: argparse.Namespace) -> float | None:
    """``certify``'s --budget (checked) and its incompatible options."""
    budget = args.budget
    if budget is not None and not (budget > 0 and math.isfinite(budget)):
        raise UserError(f"--budget must be a positive share of brute force's counted "
                        f"operations (e.g. 0.1), not {budget}")
    if (budget is not None or args.frontier) and args.method != "irrep":
        raise UserError("--budget and --frontier apply to --method irrep")
    if budget is not None and args.frontier:
        raise UserError("--budget picks one point of the frontier; --frontier writes them all: "
                        "use one")
    if (budget is not None or args.frontier) and args.exact:
        raise UserError("--exact does not combine with --budget or --frontier: the frontier "
                        "has its brute-force-on-the-rest points already")
    return budget


def _print_frontier(run: Any, instances: list[int], out: Path, args: argparse.Namespace
                    ) -> None:
    """``certify --frontier``: every model's points, cheapest first."""
    from rhoproof.report.pipeline import frontier_run

    tables = frontier_run(run, instances, out, args.per_output, progress=not args.json)
    if args.json:
        _print_json(tables)
        return
    for t in tables:
        k, points = t["instance"], t["points"]
        if not points:
            print(f"model {k}: no frontier (outside the proofs' safe range)")
            continue
        print(f"model {k} (true accuracy {t['truth']:.5f}; frontier area {t['area']:.3f}); "
              f"certificates {out / f'frontier_{k}'}/point_J.json:")
        print(f"  {'J':>2} {'ops/brute':>9} {'bound':>8} {'CE bound':>9}  proof")
        for j, p in enumerate(points):
            what = f"V_irrep cascade ({p['per_output']}"
            what += f", {p['virtual_neurons']} virtual neurons" if p["virtual_neurons"] else ""
            what += ", partial symmetry" if p["symmetry"] else ""
            what += ")"
            n = p["exact_neurons"]
            if n:
                what += f" + {n} neuron{'s' if n != 1 else ''} exact"
            if p["brute_rest"]:
                what += " + brute force on the rest"
            print(f"  {j:>2} {p['ops_over_brute']:>9.3f} {p['accuracy']:>8.5f} "
                  f"{p['cross_entropy']:>9.4g}  {what}")
    print("ops/brute: the proof's counted operations over brute force's (the search apart; "
          "wall time differs); area: under the best bound against log10 cost from 0.001 to 1 "
          "(V_brute's accuracy at 1), over the width")


def cmd_check(args: argparse.Namespace) -> None:
    from rhoproof._io import load_certificate

    cert = load_certificate(args.certificate)  # a bad file fails here, before torch loads
    from rhoproof.threads import set_threads

    set_threads(args.threads)
    from rhoproof.verify.certificate import check_certificate

    run = _load_run(args.run_dir, args.table)
    res = check_certificate(cert, run)
    if args.json:
        _print_json({"ok": True, "run": str(run.path), "inputs": run.group.order ** 2,
                     **res.to_json()})
        return
    claimed = res.claim.certified_inputs, res.claim.cross_entropy
    print(f"OK: model {res.instance} of {run.path}: the claim holds, {claimed[0]} of "
          f"{run.group.order ** 2} inputs certified (accuracy >= "
          f"{claimed[0] / run.group.order ** 2:.5f}), cross-entropy <= {claimed[1]:.4g} "
          f"({res.method}; recomputed: {res.certified_inputs} inputs, cross-entropy <= "
          f"{res.cross_entropy:.4g})")


# --- demo ----------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> None:
    from rhoproof.groups import group
    from rhoproof.report.pipeline import demo, demo_config

    out = Path(args.out)
    config = demo_config(args.models, args.epochs)
    grp = group(config.group)
    resume = (out / "config.json").exists()
    print(f"rhoproof demo: train {config.n_instances} {grp.spec} models (|G| = {grp.order}, "
          f"m = {config.d_hidden}, {config.train_frac:.0%} of pairs for training) for "
          f"{config.epochs} epochs on CPU, then check every one on all {grp.order ** 2} pairs"
          + (f" (resuming {out})" if resume else ""))
    res = demo(out, args.models, args.epochs, progress=not args.quiet)
    _report_training(res.run.config, res.metrics, res.seconds, None)
    ev = res.evaluation
    print(f"\nexact evaluation of {out} ({grp.order}² = {grp.order ** 2} pairs per model):")
    for k, (a, lo) in enumerate(zip(ev.accuracy.tolist(), ev.loss.tolist())):
        print(f"  model {k}: accuracy {a:.5f}  loss {lo:.4g}")
    print(f"\nρ-set explanation of each model (rhoproof explain {out} --all for details):")
    for e in res.explanations:
        kept = [c for c in e.circuits if c.status == "idealized"]
        shapes = ", ".join(f"{c.irrep} {c.shape}" for c in kept) or "none"
        acc = e.faithfulness.accuracy["idealized"] if e.faithfulness else float("nan")
        print(f"  model {e.instance}: {e.verdict}; idealized circuits: {shapes}; idealized "
              f"model accuracy {acc:.4f}" + (f"; {e.reasons[0]}" if e.reasons else ""))
    print(f"next: rhoproof evaluate {out}; rhoproof explain {out} --all --plots plots/")


# --- reproduce, zoo, import ---------------------------------------------------------------


def cmd_reproduce(args: argparse.Namespace) -> None:
    from rhoproof.groups.specs import check_spec
    from rhoproof.report.reproduce import Reproduction, Settings
    from rhoproof.report.writer import comparison_table

    spec = check_spec(args.group)  # a bad spec fails before any group is built
    settings = Settings(group=spec, models=args.models,
                        source="train" if args.train else "zoo", epochs=args.epochs,
                        seed=args.seed, device=args.device, frontier=args.frontier)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", spec)  # table:path/g.json -> table_path_g.json
    out = Path(args.out or f"reproduce-{name}" + ("-train" if args.train else ""))
    results = Reproduction(settings, out, progress=not args.quiet).run()
    print(f"\n{spec}: paper vs rhoproof ({results['summary']['models']} models)\n")
    print(comparison_table(results))
    print(f"\nreport: {out / 'report.md'}; figures in {out / 'figures'}; "
          f"all numbers in {out / 'results.json'}")


def cmd_zoo(args: argparse.Namespace) -> None:
    from rhoproof import zoo

    if args.action == "list":
        if args.out or args.models is not None:
            raise ConfigError("zoo list takes no --out or --models (those are for zoo export)")
        entries = zoo.index() if not args.group else {args.group: zoo.entry(args.group)}
        if args.json:
            _print_json({spec: {k: v for k, v in e.items() if k != "loss_trajectory"}
                         for spec, e in entries.items()})
            return
        print(f"{'group':<6} {'models':>6} {'m':>4} {'epochs':>6} {'MB':>5} {'mean acc':>9} "
              f"{'mean loss':>9}  sha256 (first 12)  command")
        for spec, e in entries.items():
            c = e["config"]
            print(f"{spec:<6} {e['models']:>6} {c['d_hidden']:>4} {e['epochs']:>6} "
                  f"{e['bytes'] / 2**20:>5.1f} {e['final']['mean_accuracy']:>9.6f} "
                  f"{e['final']['mean_loss']:>9.4g}  {e['sha256'][:12]}        {e['command']}")
    else:  # export
        if not args.group or not args.out:
            raise ConfigError("zoo export needs a group and --out, e.g. rhoproof zoo export S5 "
                              "--out runs/zoo-s5")
        path = zoo.export(args.group, args.out, args.models)
        print(f"wrote the {args.group} zoo as a run directory: {path}")


def cmd_plant(args: argparse.Namespace) -> None:
    import math

    from rhoproof.groups import group
    from rhoproof.testing import plant

    for flag, value in (("--models", args.models), ("--width", args.width)):
        if value < 1:
            raise ConfigError(f"plant needs {flag} ≥ 1, not {value}")
    if args.seed < 0:
        raise ConfigError(f"plant needs --seed ≥ 0, not {args.seed}")
    if not (math.isfinite(args.noise) and args.noise >= 0):
        raise ConfigError(f"--noise must be a finite number ≥ 0 (a multiple of the zoo's "
                          f"level), not {args.noise}")
    grp = group(args.group)  # a bad spec fails here, before anything is written
    try:
        path = plant(grp.spec, args.out, args.models, seed=args.seed, noise=args.noise,
                     width=args.width)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    from rhoproof.run import load_run

    info = load_run(path).info["planted"]
    print(f"wrote {args.models} planted {grp.spec} model{'s' if args.models > 1 else ''} "
          f"(circuits {', '.join(info['circuits'])}; width {args.width}; noise {args.noise:g}× "
          f"the zoo's; seed {args.seed}) to {path}: planted, not trained")


def cmd_import(args: argparse.Namespace) -> None:
    from rhoproof.importer import import_report
    from rhoproof.run import load_run

    rep = import_report(args.weights, args.group, args.out, table=args.table,
                        labels=args.labels, product=args.product)
    run = load_run(rep.out)
    print(f"imported {run.n_instances} {run.group.spec} model(s) (m = {run.config.d_hidden}, "
          f"{run.config.dtype}) into {rep.out}")
    print(f"  element order and product: {rep.convention}")
    for note in rep.notes:
        print(f"  note: {note}")
    mean = sum(rep.accuracy) / len(rep.accuracy)
    shown = ", ".join(f"{a:.4f}" for a in rep.accuracy[:8]) + (
        f", … ({len(rep.accuracy)} models)" if len(rep.accuracy) > 8 else "")
    print(f"  exact accuracy on {run.group.spec}: {shown}; mean {mean:.4f} (chance "
          f"{rep.chance:.4f})")
    if rep.near_chance:
        low = rep.low
        which = "the imported model(s)" if len(low) == len(rep.accuracy) else \
            f"{len(low)} of {len(rep.accuracy)} imported models (" + ", ".join(
                f"model {k}" for k in low[:5]) + ("…" if len(low) > 5 else "") + ")"
        print(f"warning: {which} score below {rep.floor:.2f} on "
              f"{run.group.spec}, below what trained models score; if the source orders or "
              f"multiplies elements differently, pass --table (its Cayley table) or --labels "
              f"and --product", file=sys.stderr)
    print(f"next: rhoproof evaluate {rep.out}")


# --- sweep -------------------------------------------------------------------------------


def cmd_sweep(args: argparse.Namespace) -> None:
    from rhoproof.sweep import load, report, run_sweep

    if args.report:
        if args.backend != "local" or args.address or args.jobs != 1 or args.num_cpus:
            raise ConfigError("--report only reads the store: it takes no --backend, "
                              "--address, --jobs or --num-cpus")
        spec = load(args.sweep_file)
        _print_sweep(report(Path(args.out or f"sweep-{spec.name}")))
        return
    from tqdm.auto import tqdm

    bar: list[Any] = []

    def start(todo: int, total: int) -> None:
        print(f"sweep: {total} cells, {total - todo} finished before, {todo} to run "
              f"({args.backend}" + (f", {args.jobs} processes" if args.jobs > 1 else "")
              + ")", flush=True)
        bar.append(tqdm(total=todo, unit="cell", desc="sweep", disable=args.quiet,
                        dynamic_ncols=True))

    def done(outcome: dict[str, Any]) -> None:
        bar[0].update(1)
        if outcome["status"] == "failed":
            bar[0].write(f"cell {outcome['cell']} failed: {outcome['error']}")

    try:
        table = run_sweep(args.sweep_file, args.out, backend=args.backend,
                          address=args.address, jobs=args.jobs, num_cpus=args.num_cpus,
                          on_start=start, on_result=done)
    finally:
        if bar:
            bar[0].close()
    _print_sweep(table)
    print(f"finished in {table['seconds']:.0f} s")
    failed = [c for c in table["cells"] if c["status"] == "failed"]
    if failed:  # the others finished; the exit status says not all did
        raise UserError(f"{len(failed)} of {len(table['cells'])} cells failed (the others "
                        f"finished); first: cell {failed[0]['cell']}: {failed[0]['error']}")


def cmd_sweep_report(args: argparse.Namespace) -> None:
    from rhoproof.sweep import report

    _print_sweep(report(Path(args.store)))


def _print_sweep(table: dict[str, Any]) -> None:
    from rhoproof.sweep.store import cells_text

    print(cells_text(table))
    counts = {s: sum(c["status"] == s for c in table["cells"])
              for s in ("done", "failed", "pending")}
    store = Path(table.get("store") or ".")
    print(f"{counts['done']} cells done, {counts['failed']} failed, {counts['pending']} "
          f"pending; results: {store / 'results.csv'} (per model), {store / 'cells.csv'} "
          f"(per cell)" + (f"; figures: {', '.join(table['figures'])}"
                           if table.get("figures") else ""))


# --- parser --------------------------------------------------------------------------------


class OptionError(UserError):
    """A command line argparse refused: one line, naming the bad option."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (no usage block) and a 'did you mean'."""

    def error(self, message: str) -> NoReturn:
        import difflib

        command = self.prog.removeprefix("rhoproof").strip()
        message = message.replace("argument command: invalid choice", "unknown command")
        m = re.search(r"(?:invalid choice|unknown command): '([^']*)' \(choose from (.*)\)",
                      message)
        if m:
            choices = re.findall(r"'([^']*)'", m.group(2))
            close = difflib.get_close_matches(m.group(1), choices, n=1, cutoff=0.7)
            message += f"; did you mean {close[0]}?" if close else ""
        m = re.match(r"unrecognized arguments: (.*)", message)
        if m:
            message = _unknown_options(self, m.group(1).split())
        raise OptionError((f"{command}: " if command else "") + message)

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        # argparse reports a missing required option before an unknown one; a typo in an
        # option name is the likelier mistake, so name it first
        argv = list(sys.argv[1:] if args is None else args)
        if argv and argv[0].startswith("-") and not any(
                o.startswith(argv[0].split("=")[0]) for o in self._option_string_actions):
            self.error("unrecognized arguments: " + argv[0])  # before "command is required"
        sub = self._subparsers._group_actions[0] if self._subparsers else None
        choices: dict[str, argparse.ArgumentParser] = getattr(sub, "choices", None) or {}
        if argv and argv[0] in choices:
            child = choices[argv[0]]
            known = child._option_string_actions
            unknown = [a for a in argv[1:] if a.startswith("-") and not _is_number(a)
                       and not any(o.startswith(a.split("=")[0]) for o in known)]
            if unknown:
                child.error("unrecognized arguments: " + " ".join(unknown))
        return super().parse_known_args(args, namespace)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _unknown_options(parser: argparse.ArgumentParser, args: list[str]) -> str:
    import difflib

    known = sorted(o for o in parser._option_string_actions if o.startswith("--"))
    names = [a.split("=")[0] for a in args if a.startswith("-")] or args
    close = difflib.get_close_matches(names[0], known, n=1, cutoff=0.7)
    what = "unrecognized option" if names[0].startswith("-") else "unexpected argument"
    return f"{what} {names[0]}" + (f" (did you mean {close[0]}?)" if close else "") + \
        (f" and {len(names) - 1} more" if len(names) > 1 else "")


def build_parser() -> argparse.ArgumentParser:
    from rhoproof._version import __version__
    from rhoproof.config import (
        BACKENDS,
        DEMO_CONFIG,
        DTYPES,
        METHODS,
        PER_OUTPUT_MODES,
        PRODUCTS,
        SPARSITY_THRESHOLD,
    )

    p = _Parser(prog="rhoproof", description=(
        "Train networks on finite-group multiplication, explain them, certify them."))
    p.add_argument("--version", action="version", version=f"rhoproof {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("groups", help="describe a group: order, classes, subgroups, irreps")
    g.add_argument("spec", help="group spec, e.g. S5, A5, D4, Q8, Dic3, C3xC5, table:PATH.json")
    g.add_argument("--json", action="store_true", help="machine-readable output")
    g.add_argument("--no-subgroups", action="store_true", help="skip subgroup enumeration")
    g.set_defaults(func=cmd_groups)

    t = sub.add_parser("train", help="train K models at once into a run directory")
    t.add_argument("--group", help="group spec (default S5)")
    t.add_argument("--models", type=int, help="number of instances K (default 1)")
    t.add_argument("--epochs", type=int, help="full-batch epochs (default 2000)")
    t.add_argument("--seed", type=int, help="run seed (default 0)")
    t.add_argument("--out", required=True, help="run directory to create (or resume)")
    t.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint")
    t.add_argument("--d-embed", type=int, help="embedding width d_e (default 128)")
    t.add_argument("--d-hidden", type=int, help="hidden width m (default 128)")
    t.add_argument("--train-frac", type=float, help="fraction of pairs to train on (0.4)")
    t.add_argument("--lr", type=float, help="Adam learning rate (1e-2)")
    t.add_argument("--weight-decay", type=float, help="L2 weight decay (2e-4)")
    t.add_argument("--eval-every", type=int, help="epochs between exact evaluations (50)")
    t.add_argument("--checkpoint-every", type=int, help="epochs between checkpoints (250)")
    t.add_argument("--dtype", choices=DTYPES, help="training dtype (float32)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="exact accuracy and loss of every model on all pairs",
                       epilog="example: rhoproof evaluate runs/s5")
    e.add_argument("run_dir", help="a run directory (from train, zoo export or import)")
    e.add_argument("--json", action="store_true", help="machine-readable output")
    e.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    e.set_defaults(func=cmd_evaluate)

    x = sub.add_parser("explain", help="find ρ-set circuits, idealize, and judge each model")
    x.add_argument("run_dir", help="a run directory (from train, zoo export or import)")
    which = x.add_mutually_exclusive_group()
    # default None, not 0: argparse's mutual exclusion does not see an explicit value equal to
    # the default, so "--instance 0 --all" would pass
    which.add_argument("--instance", type=int, help="model to explain (default 0)")
    which.add_argument("--all", action="store_true", help="explain every model of the run")
    x.add_argument("--json", action="store_true", help="machine-readable output")
    x.add_argument("--plots", metavar="DIR", help="write figures into DIR (PNG, and PDF beside "
                                                  "each)")
    x.add_argument("--threshold", type=float, default=SPARSITY_THRESHOLD,
                   help=f"irrep-sparsity threshold for assigning a neuron ({SPARSITY_THRESHOLD})")
    x.add_argument("--min-weight", type=float, default=0.01,
                   help="share of the weight a dropped part must carry to count against "
                        "the verdict (0.01)")
    x.set_defaults(func=cmd_explain)

    c = sub.add_parser("certify", help="certified accuracy and loss bounds, as certificates",
                       epilog="example: rhoproof certify runs/s5 --all --method all")
    c.add_argument("run_dir", help="a run directory (from train, zoo export or import)")
    which_c = c.add_mutually_exclusive_group()
    which_c.add_argument("--instance", type=int, help="model to certify (default 0)")
    which_c.add_argument("--all", action="store_true", help="certify every model of the run")
    c.add_argument("--method", choices=[*METHODS, "all"], default="irrep",
                   help="irrep (the ρ-set proof), coset (the coset-concentration baseline), "
                        "brute (exact), fourier (the low-rank split, for complex-type irreps "
                        "such as modular addition's), or all: the first three, and fourier "
                        "where the group has complex or quaternionic irreps")
    c.add_argument("--exact", action="store_true",
                   help="V_irrep: decide whatever the cascade leaves by brute force (stage 4), "
                        "so the bound is the true accuracy at a cost proportional to what the "
                        "explanation does not cover")
    c.add_argument("--budget", type=float, metavar="F",
                   help="V_irrep: the best proof on the bound-versus-cost frontier whose "
                        "counted operations are at most F x brute force's (e.g. 0.1; the "
                        "search apart, and wall time differs): the cascade, then neurons "
                        "computed exactly, then brute force on the rest; written to "
                        "OUT/irrep-budget-F_K.json")
    c.add_argument("--frontier", action="store_true",
                   help="V_irrep: write every point of the bound-versus-cost frontier, one "
                        "certificate each (OUT/frontier_K/point_J.json, a table in "
                        "OUT/frontier_K.json), and print them")
    c.add_argument("--per-output", choices=PER_OUTPUT_MODES, default="auto",
                   help="V_irrep's per-output terms: for every input (all: tightest CE bound), "
                        "only where needed (same accuracy bound, faster), or auto (all while "
                        "|G|^3 <= 2e7)")
    c.add_argument("--out", help="folder for the certificates (default RUN_DIR/certificates)")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=cmd_certify)

    k = sub.add_parser("check", help="re-verify a certificate against a run",
                       epilog="example: rhoproof check runs/s5/certificates/irrep_0.json runs/s5")
    k.add_argument("certificate", help="a certificate JSON file (from certify)")
    k.add_argument("run_dir", help="the run directory whose weights it is about")
    k.add_argument("--json", action="store_true", help="machine-readable output")
    k.set_defaults(func=cmd_check)

    r = sub.add_parser("reproduce", help="the whole pipeline for a group, from models to a "
                                         "report compared with the paper")
    r.add_argument("--group", required=True, help="group spec, e.g. S5, S4, A5, D6, table:F.json")
    which_r = r.add_mutually_exclusive_group()
    which_r.add_argument("--zoo", action="store_true",
                         help="use the shipped, pre-trained models (default)")
    which_r.add_argument("--train", action="store_true",
                         help="train the models here with the zoo's recipe (or the seed "
                              "paper's for groups without one)")
    r.add_argument("--models", type=int, help="number of models (default: all 100)")
    r.add_argument("--epochs", type=int, help="training epochs (default: the recipe's)")
    r.add_argument("--seed", type=int, default=0, help="training seed (0)")
    r.add_argument("--out", help="reproduction folder (default reproduce-GROUP[-train]); "
                                 "an existing one is resumed")
    r.add_argument("--device", default="cpu", help="training device (cpu or cuda)")
    r.add_argument("--frontier", action="store_true",
                   help="also every model's V_irrep bound-versus-cost frontier (certificates "
                        "per point, the report's budget table and figures; S5: about 10 s a "
                        "model)")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.set_defaults(func=cmd_reproduce)

    z = sub.add_parser("zoo", help="the shipped pre-trained models")
    z.add_argument("action", choices=["list", "export"],
                   help="list: the shipped groups and their recipes; export: one as a run")
    z.add_argument("group", nargs="?", help="the group (list: only its entry; export: required)")
    z.add_argument("--out", help="for export: run directory to write")
    z.add_argument("--models", type=int, help="for export: the first N models only")
    z.add_argument("--json", action="store_true", help="list: machine-readable output")
    z.set_defaults(func=cmd_zoo)

    pl = sub.add_parser("plant", help="models with a known explanation: an exact ρ-set ideal "
                                      "plus noise, as a run directory",
                        epilog="example: rhoproof plant --group S6 --models 4 --seed 0 --out "
                               "runs/planted-s6")
    pl.add_argument("--group", required=True, help="group spec, e.g. S5 or A6")
    pl.add_argument("--models", type=int, default=1, help="models to plant (1)")
    pl.add_argument("--seed", type=int, default=0, help="random seed (0)")
    pl.add_argument("--out", required=True, help="run directory to create")
    pl.add_argument("--noise", type=float, default=1.0,
                    help="noise as a multiple of the zoo's level (1; 0: the exact ideal)")
    pl.add_argument("--width", type=int, default=256, help="neurons per model (256)")
    pl.set_defaults(func=cmd_plant)

    im = sub.add_parser("import", help="make a run directory from weights trained elsewhere")
    im.add_argument("weights", help="safetensors file or torch state dict (paper's names or "
                                    "folded left/right/unembed/bias; instance axis optional)")
    im.add_argument("--group", required=True, help="group spec the weights are for")
    im.add_argument("--out", required=True, help="run directory to create")
    im.add_argument("--table", help="the source's Cayley table (JSON rows, 0-based, in its "
                                    "element order): the weights are relabelled by an "
                                    "isomorphism onto the group")
    im.add_argument("--labels", help="the source's elements in its order (JSON list: cycle "
                                     "notation on 1..n like GAP's \"(1,2)(3,4)\", or 0-based "
                                     "image lists); S_n and A_n only")
    im.add_argument("--product", default="right-to-left",
                    choices=PRODUCTS,
                    help="with --labels: how the source composes permutations (GAP: "
                         "left-to-right; rhoproof: right-to-left, the default)")
    im.set_defaults(func=cmd_import)

    d = sub.add_parser("demo", help="a quick start: train 4 S5 models and explain them")
    d.add_argument("--out", default="runs/demo-s5", help="run directory (default runs/demo-s5)")
    d.add_argument("--models", type=int, default=DEMO_CONFIG["n_instances"],
                   help=f"models to train ({DEMO_CONFIG['n_instances']})")
    d.add_argument("--epochs", type=int, default=DEMO_CONFIG["epochs"],
                   help=f"training epochs ({DEMO_CONFIG['epochs']})")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=cmd_demo)
    sw = sub.add_parser("sweep", help="a grid of runs over groups x hyperparameters x seeds: "
                                      "train, evaluate, explain, certify each cell",
                        epilog="example: rhoproof sweep study.toml --backend ray --address "
                               "auto --out sweeps/study (the file's format: docs/sweeps.md)")
    sw.add_argument("sweep_file", help="the grid, a TOML file")
    sw.add_argument("--backend", choices=BACKENDS, default="local",
                    help="local (default: this machine) or ray (a Ray cluster)")
    sw.add_argument("--address", help="ray: the cluster (auto, or HOST:PORT); default: start "
                                      "a local one for the sweep")
    sw.add_argument("--jobs", type=int, default=1,
                    help="local: cells run at once, each in its own process (default 1)")
    sw.add_argument("--num-cpus", type=int, help="ray without --address: the local cluster's "
                                                 "cores (default: all)")
    sw.add_argument("--out", help="the results store (default sweep-NAME); rerunning resumes "
                                  "it, skipping finished cells")
    sw.add_argument("--report", action="store_true",
                    help="only rewrite the results table and figures from the store")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.set_defaults(func=cmd_sweep)

    sr = sub.add_parser("sweep-report", help="the results table and figures of a sweep's store",
                        epilog="example: rhoproof sweep-report sweep-study")
    sr.add_argument("store", help="a sweep's results store (its --out)")
    sr.set_defaults(func=cmd_sweep_report)
    for name in ("evaluate", "explain", "certify", "check"):
        sub.choices[name].add_argument(
            "--table", metavar="PATH",
            help="only for a run written by rhoproof 0.2.x for a table:PATH group (such runs "
                 "do not store their group): the Cayley table it was trained on, stored into "
                 "the run once")
    for name in TORCH_COMMANDS:
        sub.choices[name].add_argument(
            "--threads", type=int, default=None,
            help="torch threads (default: the cores not busy with other work right now; "
                 "OMP_NUM_THREADS if set); see docs/benchmarks.md, 'Threads'")
    return p


def _warn_if_large(spec: str | None) -> None:
    """One line on stderr before a long silent build (``groups.specs.large_group_note``)."""
    if isinstance(spec, str):
        from rhoproof.groups.specs import large_group_note

        note = large_group_note(spec)  # a bad spec raises its own one-line error here
        if note:
            print(f"rhoproof: note: {note}", file=sys.stderr)


TORCH_COMMANDS = ("train", "evaluate", "explain", "certify", "check", "reproduce", "import",
                  "demo")
"""The commands whose work is torch's, and so take ``--threads``."""


def main(argv: list[str] | None = None, restore_sigint: bool = False) -> int:
    """Run the command line; every error a user can cause is one line and exit code 2.
    ``restore_sigint``: the console script's start-up handler (``_entry``) gives Ctrl-C back
    to Python's KeyboardInterrupt here, inside the try that turns it into one line."""
    try:
        if restore_sigint:
            import signal

            signal.signal(signal.SIGINT, signal.default_int_handler)
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command in ("groups", "train", "import", "plant") or (
                args.command == "reproduce" and args.train):  # commands that build the group
            _warn_if_large(getattr(args, "spec", None) or getattr(args, "group", None))
        if args.command in TORCH_COMMANDS and args.command != "check":  # check: after its
            from rhoproof.threads import set_threads

            set_threads(args.threads)  # certificate parses, so a bad one needs no torch
        args.func(args)
    except Interrupted as exc:  # checkpointed: not an error
        print(f"rhoproof: {exc}", file=sys.stderr)
        return 128 + exc.signum
    except UserError as exc:
        print(f"rhoproof: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rhoproof: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
