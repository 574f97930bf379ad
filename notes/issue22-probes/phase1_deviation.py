"""Float64 probe of a 'deviation' stage: per input, the kept irreps' part of the logits read
bi-equivariantly (A_rho(x, y) -> rho(x)^T A rho(y)^T = Abar + Delta), so every wrong logit is at
most max_{w != e} sum_rho <Abar, rho(w)> + sum_rho sqrt(d) |Delta|_F + the constant row +
the residual by Cauchy-Schwarz per group (max over z) + max of the bias residual.
Per input O(m k) (projection) + O(sum d^3) + O(m) (group norms): no loop over z."""
import sys, torch, numpy as np
from rhoproof import zoo, group
from rhoproof.verify.lowrank import strongest_irreps, _entries
torch.set_num_threads(1)
gname = sys.argv[1]; n_models = int(sys.argv[2]); Ks = [int(k) for k in sys.argv[3].split(",")]
G = group(gname); g = G.order; table = torch.from_numpy(G.table_np.astype(np.int64))
inv = torch.from_numpy(G.inverses.astype(np.int64))
f = zoo.load(gname, n_models=n_models).to(dtype=torch.float64)
e_dim = {"real": 1, "complex": 2, "quaternionic": 4}
out = {K: [] for K in Ks}
for k in range(n_models):
    l, r, u, b = f.left[k], f.right[k], f.unembed[k], f.bias[k]
    m = l.shape[1]
    h = torch.relu(l[:, None] + r[None])  # [x, y, m]
    L = (h * u.T[table]).sum(2) + b[table]  # exact correct logit
    for K in Ks:
        names = strongest_irreps(u, G, K)
        upper = torch.zeros(g, g, dtype=torch.float64)
        Fw = torch.zeros(g, dtype=torch.float64)
        res = u - u.mean(1, keepdim=True)  # constant row: z-independent, added below
        bres = b - b.mean()
        const = h @ u.mean(1) + b.mean()
        for name in names:
            ir = G.irrep(name); R = torch.from_numpy(ir.matrices)  # [G, d, d]
            d = R.shape[1]; c = d / (g * ir.schur_dim)
            P = c * torch.einsum("mz,zab->mab", u, R)  # per neuron
            Pb = c * torch.einsum("z,zab->ab", b, R)
            res = res - torch.einsum("mab,zab->mz", P, R)
            bres = bres - torch.einsum("ab,zab->z", Pb, R)
            A = torch.einsum("xym,mab->xyab", h, P) + Pb  # [x, y, d, d]
            Rt = R.transpose(1, 2)
            T = Rt[:, None] @ A @ Rt[None]  # rho(x)^T A rho(y)^T
            Abar = T.mean((0, 1))
            Fw += torch.einsum("ab,wab->w", Abar, R)
            upper += d ** 0.5 * (T - Abar).flatten(2).norm(dim=2)
        # residual: one group per irrep by u's dominant kept irrep
        share = torch.stack([((u @ _entries(G, n).T) ** 2).sum(1) for n in names], 1)
        gid = share.argmax(1)
        for j in range(len(names)):
            sel = gid == j
            if sel.any():
                upper += h[..., sel].norm(dim=2) * res[sel].clamp_min(0).norm(dim=0).max()
        upper += const + bres.max() + Fw[1:].max()  # w = e is index 0? identity element
        assert G.identity == 0
        cert = L > upper
        k_rows = 1 + sum(len(_entries(G, n)) for n in names)
        ops = 2 * g * g * m + g * g * m * k_rows + g * g * (m + 8 * len(names))
        brute = g * g * m + g ** 3 * m + g ** 3
        out[K].append((float(cert.double().mean()), ops / brute))
for K, v in out.items():
    a = np.array([x for x, _ in v])
    print(gname, "K", K, ">=95%:", int((a >= 0.95).sum()), "/", len(a), "mean", round(a.mean(), 3),
          "median", round(float(np.median(a)), 3), "ops", round(v[0][1], 3))
