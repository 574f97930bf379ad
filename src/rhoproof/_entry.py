"""The ``rhoproof`` console script. Its first statements make Ctrl-C one line from the moment
our code runs: until the command line's own handling takes over (``cli.main``), SIGINT prints
``rhoproof: interrupted`` and exits with 130, while the CLI's modules are still importing.

Only the builtin ``_signal`` is used here (``signal`` imports ``enum`` and more, which is the
window this closes). What comes before this module, the interpreter's own start-up (about
10 ms), no Python code can reach: see README, "Interrupting".
"""

import _signal  # type: ignore[import-not-found]  # the builtin module, no stub
import os
import sys


def _interrupted_while_starting(signum: int, frame: object) -> None:
    try:
        sys.stderr.write("rhoproof: interrupted\n")
        sys.stderr.flush()
    finally:
        os._exit(130)


_signal.signal(_signal.SIGINT, _interrupted_while_starting)


def run() -> None:
    """Import the command line under the start-up handler, then hand SIGINT back to Python
    (KeyboardInterrupt, which ``cli.main`` turns into one line) and run it."""
    from rhoproof.cli import main

    sys.exit(main(restore_sigint=True))
