"""Issue 9's eight findings, each as a regression test: the bounds are about the stored weights
read as real numbers, the checker cannot be fooled, and the truth is exact."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from rhoproof import zoo
from rhoproof.cli import main
from rhoproof.evaluate import evaluate
from rhoproof.groups import group
from rhoproof.importer import import_report
from rhoproof.model import Folded, GroupMLP
from rhoproof.run import load_run
from rhoproof.testing import (
    assert_sound,
    exact_truth,
    lookup_forgery,
    planted,
    regular_rho_set,
)
from rhoproof.train import TrainConfig, train
from rhoproof.verify.certificate import (
    CertificateError,
    certify,
    certify_model,
    check_certificate,
    check_stored,
)
from rhoproof.verify.records import Certificate


def _round_trip(cert):
    """The certificate as a file holds it (JSON)."""
    return json.loads(json.dumps(cert.to_json() if isinstance(cert, Certificate) else cert))


# 1. a forged lookup-table certificate (scales near underflow) is accepted for any model
@pytest.mark.parametrize("scale", [1e-163, 5e-324, 1e-30, 2.0**-64, 1.0, 1e10])
def test_lookup_forgery_is_rejected_on_a_random_model(scale):
    g = group("S3")
    model = GroupMLP(6, 1, 8, 10, seed=3)
    truth = exact_truth(model, g)
    assert truth.correct < 36
    with pytest.raises(CertificateError):
        check_stored(lookup_forgery(g, 10, scale, 36, 1e-300), model, g)


def test_lookup_forgery_is_rejected_on_the_a5_zoo_through_the_cli(tmp_path, capsys):
    g = group("A5")
    full = zoo.load("A5")
    acc = evaluate(full, g).accuracy
    k = int(torch.argmin(acc))  # a model below 100%
    assert acc[k] < 1
    run_dir = tmp_path / "a5"
    assert main(["zoo", "export", "A5", "--models", str(k + 1), "--out", str(run_dir)]) == 0
    run = load_run(run_dir)
    real = certify(run, k)  # honest: bound to the file, accepted
    assert check_certificate(_round_trip(real), run).certified_inputs >= \
        real.certified_inputs
    for scale in (1e-163, 1e-20, 1.0):
        forged = lookup_forgery(g, run.config.d_hidden, scale, 3600, 1e-300)
        forged.update(instance=k, weights_sha256=real.weights_sha256)
        path = tmp_path / "forged.json"
        path.write_text(json.dumps(forged))
        capsys.readouterr()
        assert main(["check", str(path), str(run_dir)]) == 2
        assert capsys.readouterr().err.startswith("rhoproof: error: check failed")


# 2. underflow in the prover: dead neurons with u ≈ 1e-163 and ℓ ≈ 1e153 (or larger)
@pytest.mark.parametrize("big, tiny", [(1e153, 1e-163), (1e170, 1e-163), (1e300, 1e-300)])
def test_dead_neurons_beyond_the_safe_range_certify_nothing_unsound(big, tiny):
    g = group("S3")
    f = planted(g, "2d-0", 2)
    left, unembed = f.left.clone(), f.unembed.clone()
    left[0, :, -2:] = big * (1 + torch.rand(6, 2, dtype=torch.float64,
                                            generator=torch.Generator().manual_seed(0)))
    unembed[0, -2:] = tiny * torch.randn(2, 6, dtype=torch.float64,
                                         generator=torch.Generator().manual_seed(1))
    f = Folded(left, f.right, unembed, f.bias)
    truth = exact_truth(f, g)
    for method in ("irrep", "coset", "brute"):
        cert = _round_trip(certify_model(f, g, 0, method))
        assert_sound(cert["accuracy"], cert["cross_entropy"], truth)
        assert check_stored(cert, f, g).certified_inputs >= cert["certified_inputs"]
        if method != "brute":
            assert "safe range" in cert["refused"]
        edited = dict(cert, certified_inputs=36, accuracy=1.0)
        if truth.correct < 36:
            with pytest.raises(CertificateError):
                check_stored(edited, f, g)


# 3. the fold E_L W_L was rounded to float32 before every bound
def test_a_fold_that_rounds_is_evaluated_exactly():
    """ℓ₁ = 1 + 2⁻²⁴ − 2⁻³⁰ and ℓ₂ = 1 + 2⁻²⁴ + 2⁻³⁰ (two-term sums: one rounding, in any
    order) round to 1 and 1 + 2⁻²³ in float32; the output with logit h₂ − h₁ − 2⁻²⁴ wins in the
    float32 fold (2⁻²⁴ > 0) but not exactly (2⁻²⁹ − 2⁻²⁴ < 0)."""
    g = group("C2xC2xC2")
    e = torch.tensor([[1.0, 2**-24 - 2**-30], [1.0, 2**-24 + 2**-30]])  # [2 neurons, d = 2]
    emb_left = torch.zeros(1, 8, 2)
    emb_left[0, :, 0] = 1.0
    lin_left = torch.zeros(1, 2, 2)
    lin_left[0, 0, :] = 1.0
    lin_left[0, 1, :] = torch.tensor([e[0, 1], e[1, 1]])
    emb_left[0, :, 1] = 1.0
    u = torch.zeros(1, 2, 8)
    u[0, :, g.identity] = torch.tensor([-1.0, 1.0])
    bias = torch.zeros(1, 8)
    bias[0, g.identity] = -(2.0**-24)
    model = GroupMLP.from_tensors({"embedding_left": emb_left, "linear_left": lin_left,
                                   "embedding_right": torch.zeros(1, 8, 2),
                                   "linear_right": torch.zeros(1, 2, 2), "unembedding": u,
                                   "unembed_bias": bias})
    rounded = evaluate(model.fold().detach(), g)  # the old meaning: the float32 fold
    assert rounded.accuracy[0] == 8 / 64
    truth = exact_truth(model, g)
    assert truth.correct == 0
    assert evaluate(model, g).accuracy[0] == 0
    for method in ("irrep", "coset", "brute"):
        cert = _round_trip(certify_model(model, g, 0, method))
        assert_sound(cert["accuracy"], cert["cross_entropy"], truth)
        check_stored(cert, model, g)
    with pytest.raises(CertificateError):
        check_stored(dict(_round_trip(certify_model(model, g, 0, "brute")),
                          certified_inputs=8, accuracy=8 / 64), model, g)


@pytest.mark.parametrize("seed", range(4))
def test_brute_cross_entropy_bounds_the_exact_one_on_unfolded_models(seed):
    g = group("D5")
    model = GroupMLP(10, 1, 16, 24, seed=seed)
    truth = exact_truth(model, g)
    cert = _round_trip(certify_model(model, g, 0, "brute"))
    assert cert["accuracy"] == truth.accuracy
    assert_sound(cert["accuracy"], cert["cross_entropy"], truth)
    check_stored(cert, model, g)


# 4. float64 weights were cast to float32 on load
def test_float64_runs_stay_float64(tmp_path):
    run_dir = tmp_path / "r"
    train(TrainConfig(group="S3", n_instances=1, d_embed=4, d_hidden=6, epochs=2,
                      dtype="float64", eval_every=2), run_dir, progress=False)
    run = load_run(run_dir)
    assert all(t.dtype == torch.float64 for t in run.model.tensors().values())
    e = run.model.embedding_left
    assert not torch.equal(e, e.float().double())  # values float32 cannot hold survive
    cert = certify(run, 0, "brute")
    assert cert.accuracy == exact_truth(run.model, run.group).accuracy
    assert check_certificate(cert, run).certified_inputs == cert.certified_inputs


# 5. V_brute was float64, not exact: ties and one-ulp near-ties
@pytest.mark.parametrize("spec, seed", [("C3", 0), ("C3", 1), ("S3", 2), ("S3", 3)])
def test_brute_is_exact_on_ties_and_near_ties(spec, seed):
    g = group(spec)
    rng = np.random.default_rng(seed)
    n, m = g.order, 5
    ints = [torch.from_numpy(rng.integers(-2, 3, size=s).astype(np.float64))[None]
            for s in ((n, m), (n, m), (m, n), (n,))]
    tied = Folded(*ints)
    nudged = Folded(*(torch.from_numpy(np.nextafter(t.numpy(), np.inf * rng.choice([-1, 1],
                                                                                   t.shape)))
                      for t in tied.tensors().values()))
    for model in (tied, nudged):
        truth = exact_truth(model, g)
        cert = _round_trip(certify_model(model, g, 0, "brute"))
        assert cert["certified_inputs"] == truth.correct
        assert check_stored(cert, model, g).certified_inputs == truth.correct


# 6. check_certificate() in Python did not compare the weights hash
def test_python_check_refuses_other_weights(tmp_path):
    for name in ("a", "b"):
        assert main(["zoo", "export", "S4", "--models", "2", "--out",
                     str(tmp_path / name)]) == 0
    run_a = load_run(tmp_path / "a")
    cert = _round_trip(certify(run_a, 0, "brute"))
    other = tmp_path / "b" / "weights.safetensors"
    tensors = {n: t.clone() for n, t in zoo.load("S4", 2).tensors().items()}
    tensors["bias"][1, 0] += 1.0  # instance 1 changes, instance 0 (certified) does not
    save_file({n: t.contiguous() for n, t in tensors.items()}, str(other),
              metadata={"format": "rhoproof-folded-1", "epoch": "0", "group": "S4"})
    with pytest.raises(CertificateError, match="other weights"):
        check_certificate(cert, load_run(tmp_path / "b"))
    check_certificate(cert, run_a)


# 7. `rhoproof evaluate` crashed on every folded run
def test_zoo_export_evaluates_certifies_and_checks(tmp_path, capsys):
    run_dir = tmp_path / "s4"
    assert main(["zoo", "export", "S4", "--models", "2", "--out", str(run_dir)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["exact"] and len(data["accuracy"]) == 2
    certs = tmp_path / "c"
    assert main(["certify", str(run_dir), "--all", "--method", "all", "--out",
                 str(certs)]) == 0
    for f in sorted(certs.glob("*.json")):
        assert main(["check", str(f), str(run_dir)]) == 0
    assert capsys.readouterr().out.count("OK:") == 6


# 8. imports assumed rhoproof's element order silently
def _gap_style_source(tmp_path: Path):
    """An S5 zoo model as the seed code would store it: elements in another order, products
    composed left to right (GAP), no bias."""
    g = group("S5")
    f = zoo.load("S5", 1)
    pi = np.random.default_rng(1).permutation(120)  # source element i is our pi[i]
    t = torch.from_numpy(pi)
    src = {"left": f.right[:, t], "right": f.left[:, t], "unembed": f.unembed[:, :, t]}
    save_file({k: v.contiguous() for k, v in src.items()}, str(tmp_path / "w.safetensors"))
    table = np.argsort(pi)[g.table_np[pi[None, :], pi[:, None]]]  # i*j = our pi[j]·pi[i]
    (tmp_path / "table.json").write_text(json.dumps(table.tolist()))
    labels = [g.labels[int(p)].replace(" ", ",").replace("e", "()") for p in pi]
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    return g, f


def test_import_with_another_element_order(tmp_path, capsys):
    g, f = _gap_style_source(tmp_path)
    want = float(evaluate(f, g).accuracy[0])
    plain = import_report(tmp_path / "w.safetensors", "S5", tmp_path / "plain")
    assert plain.near_chance and any("taken as zeros" in n for n in plain.notes)
    assert "rhoproof's element order" in plain.convention
    by_table = import_report(tmp_path / "w.safetensors", "S5", tmp_path / "t",
                             table=tmp_path / "table.json")
    by_labels = import_report(tmp_path / "w.safetensors", "S5", tmp_path / "l",
                              labels=tmp_path / "labels.json", product="left-to-right")
    assert by_table.accuracy == by_labels.accuracy == [want] and not by_table.near_chance
    assert main(["import", str(tmp_path / "w.safetensors"), "--group", "S5", "--out",
                 str(tmp_path / "cli")]) == 0
    out, err = capsys.readouterr()
    assert "element order and product" in out and "below what trained models score" in err


def test_import_names_the_missing_tensor(tmp_path):
    from rhoproof.errors import RunError

    tensors = dict(GroupMLP(6, 1, 4, 5).tensors())
    tensors.pop("linear_right")
    torch.save(tensors, tmp_path / "w.pt")
    with pytest.raises(RunError, match="missing linear_right "):
        import_report(tmp_path / "w.pt", "S3", tmp_path / "r")


# the red-team review of this change: hostile JSON gets one line, never a traceback or a
# checker whose time or memory an attacker controls
@pytest.mark.parametrize("text", ["[" * 100000 + "]" * 100000, "{\"a\": " + "9" * 5000 + "}"])
def test_hostile_json_is_one_line(tmp_path, capsys, text):
    run_dir = tmp_path / "s4"
    assert main(["zoo", "export", "S4", "--models", "1", "--out", str(run_dir)]) == 0
    path = tmp_path / "c.json"
    path.write_text(text)
    capsys.readouterr()
    assert main(["check", str(path), str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rhoproof: error:") and err.count("\n") == 1


def test_huge_integers_and_unused_virtual_neurons_are_rejected():
    g = group("S3")
    f = planted(g, "2d-0", 2)
    cert = _round_trip(certify_model(f, g, 0))
    for edit in (dict(cross_entropy=10**400), dict(t0=10**400),
                 dict(virtual_neurons=10**5)):  # padding no circuit uses: memory, not proof
        with pytest.raises(CertificateError):
            check_stored(dict(cert, **edit), f, g)


def test_second_review_edge_cases(tmp_path):
    """A model without hidden neurons gets bounds, not an exception; overlapping cycles in
    --labels are refused rather than read wrongly; a malformed weights tensor is one line."""
    import numpy as np

    from rhoproof.check import CheckFailed
    from rhoproof.check.weights import stored_model
    from rhoproof.importer import _parse_permutation

    g = group("C2")
    empty = Folded(torch.zeros(1, 2, 0, dtype=torch.float64), torch.zeros(1, 2, 0,
                                                                         dtype=torch.float64),
                   torch.zeros(1, 0, 2, dtype=torch.float64), torch.tensor([[1.0, 0.0]]))
    truth = exact_truth(empty, g)
    for method in ("irrep", "coset", "brute"):
        cert = _round_trip(certify_model(empty, g, 0, method))
        assert_sound(cert["accuracy"], cert["cross_entropy"], truth)
    for label in ("(1,2)(2,1)", "(1,2,3)(3,2,1)", "(1,2)(1,2)"):
        with pytest.raises(ValueError, match="disjoint"):
            _parse_permutation(label, 3)
    assert _parse_permutation("(1,2,3)", 3) == (1, 2, 0)
    with pytest.raises(CheckFailed, match="axes"):
        stored_model({"left": np.zeros((2, 3)), "right": np.zeros((1, 2, 3)),
                      "unembed": np.zeros((1, 3, 2)), "bias": np.zeros((1, 2))}, True)


def test_cross_entropy_bounds_bracket_the_exact_value_at_extremes():
    """evaluate's CE lower bound never overflows above the truth (huge logits), and the exact
    truth keeps tiny cross-entropies (1e-183) that a 50-digit log(1 + s) would round to 0; the
    [CE2] bound of a scaled exact circuit stays above it (third review of this change)."""
    from decimal import Decimal

    from rhoproof.testing import _scaled_model

    g2 = group("C2")
    huge = Folded(torch.tensor([[[1e154], [1e154]]], dtype=torch.float64),
                  torch.zeros(1, 2, 1, dtype=torch.float64),
                  torch.tensor([[[0.0, 1e154]]], dtype=torch.float64),
                  torch.zeros(1, 2, dtype=torch.float64))
    ev, truth = evaluate(huge, g2), exact_truth(huge, g2)
    assert Decimal(float(ev.loss_lower[0])) <= truth.cross_entropy <= Decimal(float(ev.loss[0]))
    assert float(ev.loss_lower[0]) > 1e307
    g = group("S3")
    for a in (3, 4, 5):
        f = _scaled_model(planted(g, "2d-0", 2, seed=1), a, a)
        truth = exact_truth(f, g)
        assert truth.cross_entropy > 0
        ev = evaluate(f, g)
        assert Decimal(float(ev.loss_lower[0])) <= truth.cross_entropy
        for mode in ("all", "needed"):
            cert = certify_model(f, g, 0, "irrep", mode)
            assert_sound(cert.accuracy, cert.cross_entropy, truth)


@pytest.mark.parametrize("wide", ["B", "C"])
def test_a_regular_rho_set_is_refused_in_bounded_memory(wide):
    """Red-team finding (session 13): a ρ-set of |G| points (the regular action), covered by
    |G|/8 neurons under a symmetry, made the checker's stage 1 hold [G, n_b, n_b] floats and
    its hidden norms [t, n_c] gathers: 5.9 GB at S6, a terabyte at S7. Now in slabs."""
    import tracemalloc

    grp = group("A6")
    g, n = grp.order, grp.order // 8
    rng = np.random.default_rng(0)

    def t(a):
        return torch.tensor(a, dtype=torch.float32)[None]

    model = Folded(t(rng.normal(size=(g, n))), t(rng.normal(size=(g, n))),
                   t(rng.normal(size=(n, g))), t(rng.normal(size=g)))
    cert = regular_rho_set(grp, wide)
    tracemalloc.start()
    try:
        with pytest.raises(CertificateError):
            check_stored(cert, model, grp)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 150 * 2**20  # [G, G, G] float64 alone would be 373 MB
