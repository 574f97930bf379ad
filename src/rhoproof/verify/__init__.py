"""Verifiers: certified bounds on a model's accuracy and loss.

V_brute (exact evaluation: ``bounds``), V_irrep (the ρ-set proof: ``irrep``, a loop over the
cascade's stage modules in ``stages``, on the exact ideal of ``exact_ideal`` with its
symmetry in ``symmetry``), V_coset (the coset baseline: ``coset``), the per-input quantities
both share (``logits``), certificates (``certificate``, the typed records in ``records``) and
where a bound is lost (``attribution``). Rigorous float64 arithmetic is
``rhoproof.rounding``. The independent checker is its own package, ``rhoproof.check``.
"""

from rhoproof.verify.bounds import Bound, brute_bound
from rhoproof.verify.coset import coset_bound, coset_ideal
from rhoproof.verify.exact_ideal import ExactIdeal, ProofCheckError, action_table, exact_ideal
from rhoproof.verify.irrep import irrep_bound

__all__ = ["Bound", "ExactIdeal", "ProofCheckError", "action_table", "brute_bound",
           "coset_bound", "coset_ideal", "exact_ideal", "irrep_bound"]
