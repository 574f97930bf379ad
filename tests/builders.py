"""Shared builders for the tests: planted models and trained runs, each defined once.

(``rhoproof.testing`` ships the builders users may want too: ``planted``, ``exact_truth``,
adversarial models and certificates.)"""

import torch

from rhoproof.groups import group
from rhoproof.model import Folded


def simplex(g):
    rho = g.irrep("4d-0").tensor()
    h = next(s for s in g.subgroups if len(s) == 24)
    u, _, _ = torch.linalg.svd(rho[sorted(h)].mean(0))
    mu = u[:, 0]
    reps = [min(c) for c in g.left_cosets(h)]
    return rho, rho[reps] @ mu  # [5, 4] vertices of a regular simplex


def circuit(rho, a, bs, cs, pairs, seed):
    gen = torch.Generator().manual_seed(seed)
    left, right, unembed = [], [], []
    for p, q in pairs:
        s = 0.5 + float(torch.rand(1, generator=gen, dtype=torch.float64))
        left.append(s * torch.einsum("d,gde,e->g", bs[p], rho, a))
        right.append(s * torch.einsum("d,gde,e->g", a, rho, cs[q]))
        unembed.append(torch.einsum("d,gde,e->g", bs[p], rho, cs[q]) / s)
    return torch.stack(left, 1), torch.stack(right, 1), torch.stack(unembed, 0)


def planted_model(noise=0.0, drop=0, seed=0):
    """A 4d-0 simplex circuit (25 neurons), a balanced sign circuit (4 neurons) with its
    bias, and 3 dead neurons, for S5."""
    g = group("S5")
    rho, vertices = simplex(g)
    a = torch.tensor([0.3, -0.5, 0.7, 0.2], dtype=torch.float64)
    pairs = [(p, q) for p in range(5) for q in range(5)][drop:]
    left, right, unembed = circuit(rho, a, vertices, -vertices, pairs, seed)
    chi = torch.from_numpy(g.irrep("1d-1").character.copy())
    sign_pairs = [(1.0, 1.0), (-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0)]
    sl = torch.stack([0.7 * b * chi for b, _ in sign_pairs], 1)
    sr = torch.stack([0.7 * c * chi for _, c in sign_pairs], 1)
    su = torch.stack([2.0 * chi for _ in sign_pairs], 0)
    n = left.shape[1] + 4 + 3
    L = torch.zeros(g.order, n, dtype=torch.float64)
    R, U = torch.zeros_like(L), torch.zeros(n, g.order, dtype=torch.float64)
    m0 = left.shape[1]
    L[:, :m0], R[:, :m0], U[:m0] = left, right, unembed
    L[:, m0:m0 + 4], R[:, m0:m0 + 4], U[m0:m0 + 4] = sl, sr, su
    # sign circuit total: χ(z)(2·W(sx, sy) + β) with W = 1.4 on every class → β = -2.8
    bias = -2.8 * chi + 0.3
    gen = torch.Generator().manual_seed(seed + 100)
    if noise:
        L = L + noise * torch.randn(L.shape, generator=gen, dtype=torch.float64)
        R = R + noise * torch.randn(R.shape, generator=gen, dtype=torch.float64)
        U = U + noise * torch.randn(U.shape, generator=gen, dtype=torch.float64)
    return g, Folded(L[None], R[None], U[None], bias[None])


def constant_output_model():
    """Constant hidden layer, output z0 = 2 on top: correct on exactly the |G| inputs with
    xy = z0."""
    g = group("S3")
    m = 3
    left = torch.ones(1, g.order, m, dtype=torch.float64)
    right = torch.zeros_like(left)
    unembed = -torch.ones(1, m, g.order, dtype=torch.float64)
    unembed[0, :, 2] = 1.0
    return g, Folded(left, right, unembed, torch.zeros(1, g.order, dtype=torch.float64))
