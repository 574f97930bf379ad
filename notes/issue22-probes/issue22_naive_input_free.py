"""Upper bound on what an input-free stage of the form 'cluster ideal G_w(t) + uniform deviation'
can certify on the C59 zoo: per cluster the best t-only ideal (the average over inputs with
x + y - z = t) and its exact worst deviation; certified iff the ideal's margin beats the
summed deviations (all inputs at once). Float64, a measurement, not a proof."""
import torch, numpy as np
from rhoproof import zoo
torch.set_num_threads(1)
p = 59
f = zoo.load("C59").to(dtype=torch.float64)
x = torch.arange(p)
X, Y, Zz = torch.meshgrid(x, x, x, indexing="ij")
T = ((X + Y - Zz) % p)  # [x, y, z]
freqs = torch.arange(1, (p - 1) // 2 + 1)
ang = 2.0 * torch.pi * freqs[:, None].double() * x[None, :].double() / p
C, S = torch.cos(ang), torch.sin(ang)
ok_all, ok_margin, slack = 0, [], []
onehot = torch.nn.functional.one_hot(T.reshape(-1), p).double()  # [p³, p]
counts = onehot.sum(0)
for k in range(100):
    l, r, u, b = f.left[k], f.right[k], f.unembed[k], f.bias[k]
    u = u - u.mean(1, keepdim=True)
    e = (u @ C.T) ** 2 + (u @ S.T) ** 2  # [m, F] energy per freq of u
    dom = e.argmax(1)
    live = u.norm(dim=1) > 1e-2 * u.norm(dim=1).max()
    h = torch.relu(l[:, None, :] + r[None, :, :])  # [x, y, m]
    total_ideal = torch.zeros(p, dtype=torch.float64); total_dev = 0.0
    for w in dom[live].unique():
        sel = live & (dom == w)
        Fw = torch.einsum("xym,mz->xyz", h[..., sel], u[sel])  # [x, y, z]
        G = (onehot.T @ Fw.reshape(-1)) / counts  # [t]: the best t-only ideal (mean)
        dev = (Fw - G[T]).abs().max()
        total_ideal += G; total_dev += float(dev)
    # dead / tiny neurons: their exact contribution bound (max over inputs)
    rest = ~live
    if rest.any():
        Fr = torch.einsum("xym,mz->xyz", h[..., rest], u[rest])
        total_dev += float(Fr.abs().max())
    margin = float(total_ideal[0] - total_ideal[1:].max())
    ok_margin.append(margin); slack.append(margin - 2 * total_dev)
    ok_all += margin > 2 * total_dev
print("models where the best t-only cluster ideal + its exact uniform deviation certifies all inputs:", ok_all)
print("median ideal margin", round(float(np.median(ok_margin)), 3), "median 2*deviation", round(float(np.median(np.array(ok_margin) - np.array(slack))), 3))
