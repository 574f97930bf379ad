"""Verifiers: certified bounds on a model's accuracy and loss (work in progress: V_brute and
V_irrep's core; certificates, the independent checker, V_coset and the CLI are not built)."""

from rhoproof.verify.bounds import Bound, brute_bound, irrep_bound
from rhoproof.verify.exact_ideal import ExactIdeal, ProofCheckError, action_table, exact_ideal

__all__ = ["Bound", "ExactIdeal", "ProofCheckError", "action_table", "brute_bound",
           "exact_ideal", "irrep_bound"]
