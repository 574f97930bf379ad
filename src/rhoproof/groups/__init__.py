"""Finite groups: specs, Cayley tables, subgroups, cosets and real irreps."""

from rhoproof.groups.group import Group, validate_table
from rhoproof.groups.irreps import Irrep, real_irreps
from rhoproof.groups.specs import MAX_ORDER, group, group_from_json

__all__ = ["Group", "Irrep", "MAX_ORDER", "group", "group_from_json", "real_irreps",
           "validate_table"]
