"""Probe: per-neuron sparse coefficients (each neuron only on its s strongest kept
frequencies + the constant); the split stays sound for any C. Counted ops with nnz(C).
Usage: python sparse_coefficients.py [GROUP N_MODELS "K,s,E;K,s,E;..."] (default: C59, 100,
the configurations of notes/issue22.md §3a)."""
import sys, torch, numpy as np
from rhoproof import zoo, group
from rhoproof.enclosure import enclose, for_proof
from rhoproof.verify.lowrank import LowRankSplit, _entries, irrep_basis, lowrank_bound, strongest_irreps
torch.set_num_threads(1)
spec = sys.argv[1] if len(sys.argv) > 1 else "C59"
n_models = int(sys.argv[2]) if len(sys.argv) > 2 else 100
configs = [tuple(int(v) for v in c.split(",")) + (True,) for c in sys.argv[3].split(";")] \
    if len(sys.argv) > 3 else [(8, 1, 0, True), (10, 1, 0, True), (10, 2, 0, True), (10, 2, 8, True),
                               (12, 2, 16, True), (12, 3, 16, True), (16, 2, 24, True)]
G = group(spec); p = G.order; model = zoo.load(spec, n_models=n_models)
enc = for_proof(enclose(model)); m = model.d_hidden
brute = p * p * m + p**3 * m + p**3
def split(u, names, s, n_exact, grouped):
    basis = irrep_basis(G, names)  # [k, G] (constant + 2 per freq, in some order)
    coef = u @ basis.T
    # which basis rows belong to which irrep: project each row on each irrep's entries
    own = torch.stack([((basis @ _entries(G, n).T) ** 2).sum(1) for n in names], 1)  # [k, K]
    row_irrep = torch.where(own.max(1).values > 0.5, own.argmax(1), torch.tensor(-1))
    e = torch.stack([((u @ _entries(G, n).T) ** 2).sum(1) for n in names], 1)  # [m, K]
    top = torch.argsort(e, 1, descending=True)[:, :s]  # [m, s]
    mask = torch.zeros_like(coef, dtype=torch.bool)
    for j in range(coef.shape[1]):
        if row_irrep[j] < 0:
            mask[:, j] = True  # the constant
        else:
            mask[:, j] = (top == row_irrep[j]).any(1)
    coef = torch.where(mask, coef, torch.zeros_like(coef))
    resid = (u - coef @ basis).norm(dim=1)
    exact = torch.zeros(m, dtype=torch.bool); exact[torch.argsort(resid, descending=True)[:n_exact]] = True
    groups = e.argmax(1) if grouped else torch.zeros(m, dtype=torch.int64)
    nnz = int(mask[~exact].sum())
    return LowRankSplit(basis, coef, exact, groups), nnz
for K, s, E, grp in configs:
    acc, cost = [], []
    for k in range(n_models):
        f = enc.center.instance(k); u = f.unembed[0]
        names = strongest_irreps(u, G, K)
        sp, nnz = split(u, names, s, E, grp)
        b = lowrank_bound(f, G, sp)
        k_rows = sp.basis.shape[0]; ng = len(sp.groups[~sp.exact].unique())
        ops = 2 * p * p * m + p * p * nnz + p**3 * (k_rows + E + ng)
        acc.append(b.accuracy); cost.append(ops / brute)
    print((K, s, E, grp), "≥95%:", sum(a >= 0.95 for a in acc), "mean", round(float(np.mean(acc)), 3), "ops/brute", round(float(np.median(cost)), 3))
