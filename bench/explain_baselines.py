"""Irrep sparsity and coset concentration over every model of a run (the earlier explanations).

Writes bench/results/explain_baselines_<group>.json and .md: per irrep, how many models use it
and how many neurons it holds; the fraction of neurons that are single-irrep, mixed or dead;
the unembedding bias's largest 1-d irrep share; the distribution of coset-concentration
subgroups; and the wall time. Usage: python bench/explain_baselines.py RUN_DIR
"""

from __future__ import annotations

import json
import time
from collections import Counter

import torch
from _common import load_run_from_args

from rhoproof.explain import DEAD, MIXED, coset_concentration, irrep_sparsity, subgroup_name
from rhoproof.explain.circuits import find_circuits
from rhoproof.explain.factors import rank_one_factors
from rhoproof.explain.rho_sets import fit_rho_sets
from rhoproof.run import versions


def main() -> None:
    run, out = load_run_from_args(__doc__)
    grp, folded = run.group, run.model.fold().detach()
    k, m = run.n_instances, run.config.d_hidden
    t0 = time.perf_counter()
    sp = irrep_sparsity(folded, grp)
    t1 = time.perf_counter()
    cc = coset_concentration(folded, grp)
    t2 = time.perf_counter()
    f64 = folded.to(dtype=torch.float64)
    a_var = []  # (model, irrep, neurons, a-variance) for every irrep of dimension > 1 in use
    rho_sets = []  # (model, irrep, "B" or "C", fit cost, [(size, stabilizer name), ...])
    circuits = []  # (model, irrep, neurons, |B|, |C|, missing pairs, duplicated, a-variance)
    for i in range(k):
        for j, rep in enumerate(grp.irreps):
            idx = torch.nonzero(sp.assignment[i] == j)[:, 0]
            if len(idx) and rep.dim > 1:
                fac = rank_one_factors(f64.left[i], f64.right[i], f64.unembed[i], rep, idx)
                a_var.append((i, rep.name, len(idx), fac.a_variance))
                for circ in find_circuits(f64.left[i], f64.right[i], f64.unembed[i], rep, grp,
                                          idx):
                    circuits.append((i, rep.name, circ.neurons.numel(), circ.b_set.size,
                                     circ.c_set.size, circ.missing, circ.duplicated,
                                     circ.factors.a_variance))
                for side, vecs in (("B", fac.b), ("C", fac.c)):
                    fit = fit_rho_sets(vecs, rep, grp)
                    rho_sets.append((i, rep.name, side, fit.cost, [
                        (s.size, subgroup_name(grp, s.stabilizer)) for s in fit.rho_sets]))
    t3 = time.perf_counter()
    names = sp.irrep_names
    a = sp.assignment
    irreps = {}
    for j, name in enumerate(names):
        per_model = (a == j).sum(1)
        if per_model.any():
            irreps[name] = {"models_using": int((per_model > 0).sum()),
                            "neurons_total": int(per_model.sum())}
    # The trivial part of β (a constant shift of all logits) changes no prediction or loss and
    # its gradient is zero (only Adam's per-coordinate scaling moves it): measure the rest.
    one_d = [j for j, r in enumerate(grp.irreps) if r.dim == 1 and j != 0]
    nontrivial = sp.bias[:, 1:].sum(1, keepdim=True).clamp_min(1e-300)
    shares = sp.bias[:, one_d] / nontrivial  # [K, nontrivial 1-d irreps]
    bias_best = shares.max(1).values
    bias_irrep = Counter(names[one_d[int(i)]] for i in shares.argmax(1))
    live = a != DEAD
    concentrated = (cc.subgroup_order > 1) & live
    subgroups = Counter(subgroup_name(grp, grp.subgroups[int(i)])
                        for i in cc.left_subgroup[live])
    summary = {
        "run": str(run.path), "group": grp.spec, "instances": k, "d_hidden": m,
        "versions": versions(),
        "threshold_irrep": sp.threshold, "dead_norm": sp.dead_norm,
        "threshold_coset": cc.threshold,
        "irreps": irreps,
        "neurons": {"single_irrep": int(((a >= 0)).sum()), "mixed": int((a == MIXED).sum()),
                    "dead": int((a == DEAD).sum()), "total": k * m},
        "models_with_no_mixed_neuron": int(((a == MIXED).sum(1) == 0).sum()),
        "bias_top_1d_irrep": dict(bias_irrep),
        "bias_top_1d_fraction": {"mean": float(bias_best.mean()),
                                 "min": float(bias_best.min())},
        "coset_concentrated_live_neurons": int(concentrated.sum()),
        "live_neurons": int(live.sum()),
        "coset_subgroups_of_live_neurons": dict(subgroups.most_common()),
        "a_variance": {"pairs": len(a_var),
                       "below_1e-5": sum(v < 1e-5 for *_, v in a_var),
                       "per_pair": [{"model": i, "irrep": n, "neurons": c, "a_variance": v}
                                    for i, n, c, v in a_var]},
        "rho_sets": {
            "fits_below_1e-3": sum(c < 1e-3 for *_, c, _ in rho_sets), "fits": len(rho_sets),
            "shapes": dict(Counter(f"{rep}: " + " + ".join(f"{n}x{s}" for n, s in sets)
                                   for _, rep, _, c, sets in rho_sets if c < 1e-3)
                           .most_common()),
            "per_fit": [{"model": i, "irrep": rep, "side": side, "cost": c,
                         "rho_sets": [{"size": n, "stabilizer": s} for n, s in sets]}
                        for i, rep, side, c, sets in rho_sets]},
        "circuits": {
            "total": len(circuits),
            "complete": sum(c[5] == 0 for c in circuits),
            "complete_with_shared_a": sum(c[5] == 0 and c[7] < 1e-5 for c in circuits),
            "models_whose_circuits_all_complete_with_shared_a": sum(
                all(c[5] == 0 and c[7] < 1e-5 for c in circuits if c[0] == i)
                and any(c[0] == i for c in circuits) for i in range(k)),
            "per_circuit": [{"model": c[0], "irrep": c[1], "neurons": c[2], "B": c[3],
                             "C": c[4], "missing_pairs": c[5], "duplicated_pairs": c[6],
                             "a_variance": c[7]} for c in circuits]},
        "seconds": {"irrep_sparsity": round(t1 - t0, 3),
                    "coset_concentration": round(t2 - t1, 3),
                    "rank_one_factors_and_rho_sets": round(t3 - t2, 3)},
    }
    stem = f"explain_baselines_{grp.spec}"
    (out / f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    n = summary["neurons"]
    lines = [f"{grp.spec}: {k} models of {run.path} (m = {m}), irrep threshold "
             f"{sp.threshold}, coset threshold {cc.threshold}", "",
             "| irrep | models using it | neurons (all models) |", "|---|---|---|"]
    lines += [f"| {name} | {v['models_using']} | {v['neurons_total']} |"
              for name, v in irreps.items()]
    lines += ["", f"neurons: {n['single_irrep']} single-irrep, {n['mixed']} mixed, "
              f"{n['dead']} dead of {n['total']}; models with no mixed neuron: "
              f"{summary['models_with_no_mixed_neuron']}/{k}",
              f"unembedding bias without its (inert) trivial part: largest 1-d irrep share mean "
              f"{summary['bias_top_1d_fraction']['mean']:.4f}, min "
              f"{summary['bias_top_1d_fraction']['min']:.4f} (irrep: {dict(bias_irrep)})",
              f"coset concentration: {summary['coset_concentrated_live_neurons']} of "
              f"{summary['live_neurons']} live neurons on a nontrivial subgroup; subgroups: "
              f"{dict(subgroups.most_common())}",
              f"shared a: a-variance below 1e-5 in {summary['a_variance']['below_1e-5']} of "
              f"{len(a_var)} (model, irrep) pairs with irrep dimension > 1",
              f"ρ-sets (orbit k-means, ≤3 per side, fit below 1e-3 in "
              f"{summary['rho_sets']['fits_below_1e-3']} of {len(rho_sets)} fits): "
              f"{summary['rho_sets']['shapes']}",
              f"circuits (neurons grouped by their (B, C) ρ-set pair): "
              f"{summary['circuits']['total']}, of which complete double sums "
              f"{summary['circuits']['complete']}, complete with a-variance < 1e-5 "
              f"{summary['circuits']['complete_with_shared_a']}; models in which every "
              f"circuit of an irrep of dim > 1 is complete with a shared a: "
              f"{summary['circuits']['models_whose_circuits_all_complete_with_shared_a']}"
              f"/{k} (sign circuits and mixed neurons not yet judged)",
              f"time: irrep sparsity {summary['seconds']['irrep_sparsity']} s, coset "
              f"concentration {summary['seconds']['coset_concentration']} s, rank-1 factors and "
              f"ρ-sets "
              f"{summary['seconds']['rank_one_factors_and_rho_sets']} s (CPU, "
              f"{torch.get_num_threads()} threads)"]
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
