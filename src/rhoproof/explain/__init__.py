"""Explanations of trained models: irrep sparsity and coset concentration (the earlier,
partial explanations), and the seed paper's ρ-set circuits with the idealized model.

Pipeline per model: ``sparsity`` → ``factors`` (rank-1 factors, shared a) → ``rho_sets``
(orbit k-means) → ``circuits`` (double-sum coverage) → ``idealize`` → ``explanation``
(verdict and faithfulness). ``cosets`` is measured alongside.
"""

from rhoproof.explain.circuits import Circuit, find_circuits
from rhoproof.explain.cosets import CosetConcentration, coset_concentration
from rhoproof.explain.explanation import Explanation, explain, explain_models
from rhoproof.explain.factors import RankOneFactors, rank_one_factors, split_by_a
from rhoproof.explain.idealize import assert_bi_equivariant, bi_equivariance_score, idealize
from rhoproof.explain.rho_sets import RhoSet, RhoSetClustering, fit_rho_sets, orbit_kmeans
from rhoproof.explain.sparsity import (
                                       DEAD,
                                       MIXED,
                                       IrrepSparsity,
                                       irrep_basis,
                                       irrep_fractions,
                                       irrep_sparsity,
)
from rhoproof.groups.cosets import subgroup_name

__all__ = ["DEAD", "MIXED", "Circuit", "CosetConcentration", "Explanation", "IrrepSparsity",
           "RankOneFactors", "RhoSet", "RhoSetClustering", "assert_bi_equivariant",
           "bi_equivariance_score", "coset_concentration", "explain", "explain_models",
           "find_circuits", "fit_rho_sets", "idealize", "irrep_basis", "irrep_fractions",
           "irrep_sparsity", "orbit_kmeans", "rank_one_factors", "split_by_a",
           "subgroup_name"]
