"""The adversarial suite: adversarial models (near-ties in the last bit, unfolded runs whose
fold rounds, float32/float64, magnitudes from 2^-300 to 2^300, subnormals, exact ties, dead
neurons with huge ℓ and tiny u) and adversarial certificates (raised and self-consistent
claims, lowered CE claims, non-finite and extreme floats, scales near underflow, lookup-table
circuits on the regular action, edited supporting data), each against the exact truth.
``bench/adversarial.py`` runs the same cases at scale."""

import functools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rhoproof.groups import group
from rhoproof.testing import run_case

_group = functools.lru_cache(None)(group)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_no_unsound_bound_and_no_accepted_unjustified_claim(seed):
    r = run_case(np.random.default_rng(seed), _group)
    assert r["unsound"] == [], r["unsound"]  # every bound ≤ the exact truth
    assert r["evaluate_wrong"] == [], r["evaluate_wrong"]  # evaluate is the exact truth
    assert r["accepted_unjustified"] == [], r["accepted_unjustified"]
    assert r["rejected_honest"] == [], r["rejected_honest"]  # and honest claims pass
    assert r["certificates"] > 10  # the attacks were made (some may be true claims)
