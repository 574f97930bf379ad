"""The checker verifies group actions, orbit constancy and characters on generators it derives
itself from the Cayley table; by induction that is the same as checking every pair."""

import numpy as np
import pytest

from rhoproof.check.ideal import _check_action, generators
from rhoproof.check.parse import CheckFailed
from rhoproof.check.table import group_facts
from rhoproof.groups import group


@pytest.mark.parametrize("spec", ["C1", "C7", "S3", "D4", "Q8", "C2xC2xC2", "A5", "S5"])
def test_generators_generate_the_group(spec):
    table = group(spec).table_np
    e, _ = group_facts(table)
    gens = generators(table, e)
    reached = {e}
    frontier = [e]
    while frontier:  # a naive closure, written independently
        frontier = [int(table[a, s]) for a in frontier for s in gens
                    if int(table[a, s]) not in reached]
        reached |= set(frontier)
    assert reached == set(range(len(table)))
    assert len(gens) <= 8


def test_generator_checks_accept_actions_and_reject_the_rest():
    g = group("S4")
    table = g.table_np
    e, _ = group_facts(table)
    gens = generators(table, e)
    act = table.copy()  # the regular action h·p: an action
    _check_action(act, table, e, gens, "regular")
    rng = np.random.default_rng(0)
    for _ in range(20):  # swap two points in one element's row: no longer an action
        bad = act.copy()
        row = int(rng.integers(1, len(table)))
        i, j = rng.choice(len(table), 2, replace=False)
        bad[row, [i, j]] = bad[row, [j, i]]
        with pytest.raises(CheckFailed):
            _check_action(bad, table, e, gens, "edited")
