"""Orbit k-means recovers planted ρ-sets: the S5 simplex, the S4 tetrahedron, the A5
icosahedron, and two orbits at once."""

import pytest
import torch

from rhoproof.explain.rho_sets import orbit_kmeans
from rhoproof.groups import group


def _fixed_vector(g, name, order):
    """A unit vector fixed by some subgroup of the given order (first with a fixed line)."""
    rho = g.irrep(name).tensor()
    for h in g.subgroups:
        if len(h) == order:
            avg = rho[sorted(h)].mean(0)  # projector onto the H-fixed space
            u, s, _ = torch.linalg.svd(avg)
            if int((s > 0.5).sum()) == 1:
                return u[:, 0], h
    raise AssertionError("no subgroup with a fixed line")


def _sample(g, name, mu, n, noise, seed):
    gen = torch.Generator().manual_seed(seed)
    rho = g.irrep(name).tensor()
    which = torch.randint(g.order, (n,), generator=gen)
    scale = 0.5 + torch.rand(n, generator=gen, dtype=torch.float64)
    v = (rho[which] @ mu) * scale[:, None]
    return v + noise * torch.randn(v.shape, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("spec, name, stab_order, size", [
    ("S5", "4d-0", 24, 5),    # regular 4-simplex
    ("S4", "3d-0", 6, 4),     # tetrahedron
    ("A5", "3d-0", 5, 12),    # icosahedron
])
def test_recovers_one_orbit(spec, name, stab_order, size):
    g = group(spec)
    mu, _ = _fixed_vector(g, name, stab_order)
    v = _sample(g, name, mu, 40, noise=1e-3, seed=0)
    res = orbit_kmeans(v, g.irrep(name), g, n_clusters=1)
    (rs,) = res.rho_sets
    assert rs.size == size and len(rs.stabilizer) == stab_order
    assert g.is_subgroup(rs.stabilizer)
    rho = g.irrep(name).tensor()
    # the orbit is closed under every ρ(g): each image lies on an orbit point
    images = torch.einsum("gde,pe->gpd", rho, rs.points).reshape(-1, rs.points.shape[1])
    gaps = (images[:, None, :] - rs.points[None]).norm(dim=2).min(dim=1).values
    assert gaps.max() < 1e-9
    assert float(res.distance.max()) < 1e-2
    # the planted direction μ is one of the orbit points
    assert (rs.points - mu).norm(dim=1).min() < 1e-2


def test_two_orbits_are_separated():
    g = group("S5")
    mu, _ = _fixed_vector(g, "4d-0", 24)
    v = torch.cat([_sample(g, "4d-0", mu, 20, 1e-3, 1), _sample(g, "4d-0", -mu, 20, 1e-3, 2)])
    res = orbit_kmeans(v, g.irrep("4d-0"), g, n_clusters=2)
    assert sorted(s.size for s in res.rho_sets) == [5, 5]
    assert res.cluster[:20].unique().numel() == 1 and res.cluster[20:].unique().numel() == 1
    assert res.cluster[0] != res.cluster[20]


def test_empty_input():
    g = group("S4")
    res = orbit_kmeans(torch.zeros(0, 3), g.irrep("3d-0"), g, n_clusters=2)
    assert res.rho_sets == () and res.cost == 0.0


def test_fit_chooses_the_number_of_rho_sets():
    from rhoproof.explain.rho_sets import fit_rho_sets

    g = group("S5")
    mu, _ = _fixed_vector(g, "4d-0", 24)
    one = _sample(g, "4d-0", mu, 20, 1e-3, 1)
    two = torch.cat([one, _sample(g, "4d-0", -mu, 20, 1e-3, 2)])
    assert len(fit_rho_sets(one, g.irrep("4d-0"), g).rho_sets) == 1
    assert len(fit_rho_sets(two, g.irrep("4d-0"), g).rho_sets) == 2


def test_smallest_rho_sets_are_the_papers_polyhedra():
    from rhoproof.explain.rho_sets import smallest_rho_set

    tetra = smallest_rho_set(group("S4"), group("S4").irrep("3d-0"))
    assert tetra.size == 4 and len(tetra.stabilizer) == 6
    g = group("A5")
    ico = smallest_rho_set(g, next(r for r in g.irreps if r.dim == 3))
    assert ico.size == 12 and len(ico.stabilizer) == 5
    dist = torch.cdist(ico.points, ico.points)
    nearest = dist[dist > 1e-9].min()
    assert ((dist - nearest).abs() < 1e-9).sum(1).tolist() == [5] * 12  # 5 neighbours each
