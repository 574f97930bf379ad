"""Dic30: where the trained models put u's energy (beyond each neuron's mean), by irrep type,
and how many neurons are dominated (> 50% of their u energy) by one irrep of each type."""
import torch, numpy as np, collections
from rhoproof import zoo, group
from rhoproof.verify.lowrank import _entries
torch.set_num_threads(1)
G = group("Dic30"); f = zoo.load("Dic30", n_models=100).to(dtype=torch.float64)
types = {r.name: r.type for r in G.irreps}
print(collections.Counter((r.type, r.dim) for r in G.irreps))
share_by_type = collections.defaultdict(list); dom = collections.Counter(); top_irreps = collections.Counter()
for k in range(100):
    u = f.unembed[k]; u = u - u.mean(1, keepdim=True)
    e = torch.stack([((u @ _entries(G, r.name).T) ** 2).sum(1) for r in G.irreps[1:]], 1)  # [m, n]
    tot = e.sum()
    for t in ("real", "quaternionic", "complex"):
        cols = [j for j, r in enumerate(G.irreps[1:]) if r.type == t]
        share_by_type[t].append(float(e[:, cols].sum() / tot) if cols else 0.0)
    frac = e / e.sum(1, keepdim=True).clamp_min(1e-300)
    best = frac.argmax(1)
    for i in range(u.shape[0]):
        if frac[i, best[i]] > 0.5 and e[i].sum() > 1e-6 * tot:
            r = G.irreps[1 + int(best[i])]; dom[(r.type, r.dim)] += 1
    order = torch.argsort(e.sum(0), descending=True)[:3]
    for j in order.tolist():
        r = G.irreps[1 + j]; top_irreps[(r.type, r.dim)] += 1
for t, v in share_by_type.items():
    print(t, "median share of u energy", round(float(np.median(v)), 3), "min", round(min(v), 3), "max", round(max(v), 3))
print("neurons dominated by one irrep, by (type, dim):", dict(dom))
print("the 3 strongest irreps per model, by (type, dim):", dict(top_irreps))
