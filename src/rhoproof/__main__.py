"""``python -m rhoproof``: the same command line as the ``rhoproof`` console script."""

from rhoproof._entry import run

run()
