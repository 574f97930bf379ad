"""Oracle probe: wrong logit ≤ G(t) + d(x, y) with d the exact worst deviation over z (any
bound of the form 'a t-only ideal + a z-independent deviation' is at least this loose);
and the separable d(x, y) ≤ a(x) + b(y) with a(x) = max_y d, b = 0 (and symmetric)."""
import torch, numpy as np
from rhoproof import zoo
torch.set_num_threads(1)
p = 59; f = zoo.load("C59").to(dtype=torch.float64)
x = torch.arange(p); X, Y, Z = torch.meshgrid(x, x, x, indexing="ij"); T = (X + Y - Z) % p
oh = torch.nn.functional.one_hot(T.reshape(-1), p).double(); cnt = oh.sum(0)
res = {"oracle": [], "sep_a": [], "sep_ab": []}
for k in range(100):
    l, r, u, b = f.left[k], f.right[k], f.unembed[k], f.bias[k]
    h = torch.relu(l[:, None] + r[None])
    F = torch.einsum("xym,mz->xyz", h, u) + b  # exact logits
    G = (oh.T @ F.reshape(-1)) / cnt  # best t-only ideal (mean)
    dev = F - G[T]
    wrongmask = T != 0
    d = torch.where(wrongmask, dev, torch.tensor(-1e30, dtype=torch.float64)).amax(2)  # [x, y]
    Gw = G[1:].max()
    L = F.gather(2, ((X[:, :, 0] + Y[:, :, 0]) % p)[..., None])[..., 0]
    res["oracle"].append(float((L > Gw + d).double().mean()))
    a = d.amax(1)  # [x]
    res["sep_a"].append(float((L > Gw + a[:, None]).double().mean()))
    # tightest a(x) + b(y) ≥ d with a = row max minus half the smallest row max... keep simple:
    a2 = d.amax(1) / 2; b2 = (d - a2[:, None]).amax(0)
    res["sep_ab"].append(float((L > Gw + a2[:, None] + b2[None]).double().mean()))
for n, v in res.items():
    print(n, "≥95%:", sum(a >= 0.95 for a in v), "mean", round(float(np.mean(v)), 3))
