"""Writes docs/tutorial.ipynb and executes it in place (its outputs are committed, so the site
shows a real run; CI executes it again with ``make notebook``). Rerun after changing a cell:

    .venv/bin/python docs/gen/tutorial.py
"""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parents[1]
md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell

cells = [
    md("""# Tutorial: train, explain, certify, check, and forge

This notebook runs the whole rhoproof pipeline in Python on a small group, in about half a
minute on two CPU cores:

1. train a handful of models on **S4** (the rotations of a cube, |G| = 24) all at once;
2. evaluate them exactly on all 576 products;
3. **explain** one: which irreps its neurons use, its ρ-set circuits, and the ρ-sets
   themselves (a tetrahedron);
4. **certify** it: a compact proof of its accuracy and a bound on its loss;
5. **check** the certificate with the independent checker;
6. tamper with the certificate and the weights, and watch the checker refuse.

Everything runs offline. The command-line tool does the same steps (`rhoproof train`,
`explain`, `certify`, `check`); see the [guide](guide.md)."""),
    code("""import json, tempfile
from pathlib import Path

import rhoproof
from rhoproof import TrainConfig, evaluate, load_run, train

print("rhoproof", rhoproof.__version__)
work = Path(tempfile.mkdtemp(prefix="rhoproof-tutorial-"))  # everything this notebook writes"""),
    md("""## 1. A group and its real irreps

`rhoproof.group(spec)` builds a group from a spec (`S4`, `A5`, `D6`, `C3xC5`,
`table:PATH.json`, ...). Its real irreducible representations are found numerically and
verified at construction (homomorphism, orthogonality, irreducibility)."""),
    code("""G = rhoproof.group("S4")
print(G.order, "elements,", len(G.conjugacy_classes), "conjugacy classes")
for rho in G.irreps:
    print(f"{rho.name:5}  dim {rho.dim}  {rho.type}")"""),
    md("""## 2. Train six models at once

All instances train in one vectorized step. This is S4's zoo recipe (hidden width 64, 80% of
the pairs for training) cut to 3,000 epochs, which is enough here."""),
    code("""config = TrainConfig(group="S4", n_instances=6, epochs=3000, d_hidden=64,
                     train_frac=0.8, seed=0, eval_every=500)
model, metrics = train(config, work / "s4", progress=False)
run = load_run(work / "s4")          # validated: config, group, shapes, finite weights
ev = evaluate(run.model, run.group)  # exact, on all |G|² = 576 pairs
print("accuracy per model:", [round(float(a), 4) for a in ev.accuracy])
print("mean cross-entropy per model:", [round(float(l), 4) for l in ev.loss])"""),
    md("""## 3. Explain model 0

The explanation sorts neurons by irrep, finds the ρ-set circuits, builds the idealized model
(exactly bi-equivariant) and says whether it covers the model."""),
    code("""e = rhoproof.explain(run, 0)
print("verdict:", e.verdict, e.reasons)
print("neurons per irrep:", e.neuron_counts)
for c in e.circuits:
    print(c.to_json())"""),
    md("""Each circuit lives on an irrep ρ and two ρ-sets B and C: finite sets of unit vectors that
ρ(G) permutes. In the 3-d irreps of S4 a ρ-set of 4 points is a regular tetrahedron (its
stabilizer is S3, of order 6)."""),
    code("""from IPython.display import Image
from rhoproof.report.explain_plots import rho_set_figure

for irrep, rho_set in e.rho_sets:
    print(irrep, "ρ-set of", rho_set.size, "points; stabilizer of order", len(rho_set.stabilizer))
irrep, rho_set = next((i, s) for i, s in e.rho_sets if s.points.shape[1] == 3)
Image(filename=rho_set_figure(rho_set, G, irrep, work / "rho_set.png"))"""),
    md("""## 4. Certify it

`rhoproof.certify` runs the ρ-set proof (V_irrep): it checks the idealized model's margin
once, bounds how far the real model's logits can be from the ideal's, and counts the inputs
where that distance is below the margin. On a group this small the first, separable stage
settles every input (the later stages still run on all of them by default, for the tightest
loss bound; `per_output="needed"` skips them). The result is a frozen `Certificate` record; its
JSON is what `rhoproof certify` writes."""),
    code("""cert = rhoproof.certify(run, 0, "irrep")
print(f"certified accuracy ≥ {cert.accuracy:.4f}  (true accuracy {float(ev.accuracy[0]):.4f})")
print(f"cross-entropy ≤ {cert.cross_entropy:.4f}  (true {float(ev.loss[0]):.4f})")
print(f"counted operations: {cert.ops_over_brute:.3f} of brute force's")
for stage in cert.stages:  # the cascade: each stage looks at what the earlier ones left
    print(f"  {stage.name:10} saw {stage.inputs:4} inputs, certified {stage.certified:4}")"""),
    md("""## 5. Check it

The checker (`rhoproof.check`) is a separate small package that imports nothing from the
prover: it hashes the weights file, re-derives every fact the proof rests on from the Cayley
table and the stored floats, recomputes the bound with its own code, and accepts only if it
finds at least what the certificate claims. `check_certificate` is the convenience entry:
it hands the certificate's JSON, the run's weights file and its stored Cayley table to
`rhoproof.check.check_file`, and turns a refusal into a `CertificateError`."""),
    code("""from rhoproof.verify.certificate import check_certificate

result = check_certificate(cert, run)
print(result)"""),
    md("""## 6. Forge it

A certificate is a JSON file anyone can edit. Three forgeries: a claimed loss below what the
proof supports, an edited action table in the data that defines the ideal model, and a model
whose weights changed after it was certified. Each is refused with one line saying why."""),
    code("""from rhoproof.errors import CertificateError

def try_check(label, forged, run):
    try:
        check_certificate(forged, run)
        print(f"{label}: ACCEPTED")
    except CertificateError as exc:
        print(f"{label}: refused: {exc}")

honest = cert.to_json()

lower_loss = json.loads(json.dumps(honest))
lower_loss["cross_entropy"] = honest["cross_entropy"] / 10
try_check("loss claimed 10x lower", lower_loss, run)

edited = json.loads(json.dumps(honest))
circuit = next(c for c in edited["proof"] if c["kind"] == "rho_set")
circuit["act_b"][1] = circuit["act_b"][0]   # claim g_1 moves B's points as the identity does
try_check("a circuit's action table edited", edited, run)"""),
    code("""import shutil
from safetensors.torch import load_file, save_file

shutil.copytree(work / "s4", work / "s4-edited")
weights = work / "s4-edited" / "weights.safetensors"
tensors = load_file(weights)
tensors["unembedding"][0, 0, 0] += 1.0     # one weight of model 0, after certification
save_file(tensors, weights)
try_check("weights changed", honest, load_run(work / "s4-edited"))"""),
    md("""## Where next

- The [guide](guide.md) does the same from the command line, on the shipped zoo too.
- [Certifying a model](proof.md) explains the proof's cascade and where bounds are lost;
  [soundness](soundness.md) argues every inequality; the [certificate format](certificate.md)
  documents every field the forgeries above edited.
- [Python API](api/index.md) for every function used here."""),
    code("""shutil.rmtree(work)  # everything this notebook wrote"""),
]

nb = nbformat.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
NotebookClient(nb, timeout=300, kernel_name="python3",
               resources={"metadata": {"path": str(HERE)}}).execute()
for cell in nb.cells:  # the execution counts and timing metadata would churn every rerun
    cell.metadata.pop("execution", None)
nbformat.write(nb, HERE / "tutorial.ipynb")
print("wrote", HERE / "tutorial.ipynb")
