"""Explanations of trained models. So far: the two earlier, partial explanations, measured per
neuron: irrep sparsity (Chughtai et al. 2023) and coset concentration (Stander et al. 2024)."""

from rhoproof.explain.cosets import CosetConcentration, coset_concentration, subgroup_name
from rhoproof.explain.sparsity import (
                                       DEAD,
                                       MIXED,
                                       IrrepSparsity,
                                       irrep_basis,
                                       irrep_fractions,
                                       irrep_sparsity,
)

__all__ = ["DEAD", "MIXED", "CosetConcentration", "IrrepSparsity", "coset_concentration",
           "irrep_basis", "irrep_fractions", "irrep_sparsity", "subgroup_name"]
