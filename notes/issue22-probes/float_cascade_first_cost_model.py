import numpy as np, torch
from rhoproof import zoo
torch.set_num_threads(1)
f = zoo.load("C59").to(dtype=torch.float64)
p = 59; m = f.left.shape[2]
x = torch.arange(p); X, Y = torch.meshgrid(x, x, indexing="ij"); Z = ((X + Y) % p).reshape(-1)
freqs = torch.arange(1, (p - 1) // 2 + 1)
ang = 2.0 * torch.pi * freqs[:, None].double() * torch.arange(p)[None, :].double() / p
C, S = torch.cos(ang), torch.sin(ang)
idx = torch.arange(p * p)
def stage(h, u, b, a_c, a_s, order, dom, K, rx, grouping):
    keep = order[:K]
    uK = a_c[:, keep] @ C[keep] + a_s[:, keep] @ S[keep]
    rho = u - uK
    top = torch.argsort(rho.norm(dim=1), descending=True)[:rx]
    rest = torch.ones(m, dtype=torch.bool); rest[top] = False
    w = h @ uK + b + h[:, top] @ rho[top]
    rp = rho.clamp(min=0)
    if grouping == "none":
        groups = [rest]
    else:
        g = torch.where(torch.isin(dom, keep), dom, torch.tensor(-1))
        groups = [rest & (g == gid) for gid in g.unique()]
    for sel in groups:
        if sel.any():
            w = w + h[:, sel].norm(dim=1)[:, None] * rp[sel].norm(dim=0)[None, :]
    ng = 1 if grouping == "none" else K + 1
    return w, (2 * K + rx + ng) / m
for A, B in [((10, 0, "none"), (12, 24, "freq")), ((8, 0, "none"), (12, 24, "freq")),
             ((10, 0, "none"), (16, 32, "freq")), ((12, 0, "none"), (16, 32, "freq"))]:
    got, costs = [], []
    for k in range(f.left.shape[0]):
        l, r, u, b = f.left[k], f.right[k], f.unembed[k], f.bias[k]
        u = u - u.mean(1, keepdim=True); b = b - b.mean()
        h = torch.relu(l[:, None, :] + r[None, :, :]).reshape(p * p, -1)
        correct = (h @ u + b)[idx, Z]
        a_c = u @ C.T * 2 / p; a_s = u @ S.T * 2 / p
        e = a_c**2 + a_s**2
        order = torch.argsort(e.sum(0), descending=True); dom = torch.argmax(e, dim=1)
        wa, ca = stage(h, u, b, a_c, a_s, order, dom, *A)
        wa[idx, Z] = -float("inf"); okA = correct > wa.max(1).values
        wb, cb = stage(h, u, b, a_c, a_s, order, dom, *B)
        wb[idx, Z] = -float("inf"); okB = correct > wb.max(1).values
        ok = okA | okB
        got.append(float(ok.double().mean()))
        costs.append(1 / p + ca + (1 - float(okA.double().mean())) * cb)  # hidden + A + B on rest
    print(A, B, "certified>=95%:", sum(a >= 0.95 for a in got), "mean", round(float(np.mean(got)), 3),
          "median cost", round(float(np.median(costs)), 3))
