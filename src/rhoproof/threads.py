"""The thread policy for torch's work (bench/results/threads.md): as many threads as cores not
busy with other work right now, at least one. On 2 cores, 2 threads were 1.3–2× faster than 1
on an idle machine and 2–9× slower beside one busy process. ``OMP_NUM_THREADS``, when set,
is the user's own choice and is left alone."""

from __future__ import annotations

import os
import time

from rhoproof.errors import ConfigError


def busy_cores(window: float = 0.1) -> float:
    """How many cores other work keeps busy now: from /proc/stat over ``window`` seconds
    (this process sleeps meanwhile); where there is no /proc/stat, the 1-minute load average
    (which lags: it still counts work that just ended)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
        return sum(fields), fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle+iowait

    try:
        total0, idle0 = sample()
        time.sleep(window)
        total1, idle1 = sample()
        if total1 > total0:
            return (os.cpu_count() or 1) * (1 - (idle1 - idle0) / (total1 - total0))
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):  # no load average on this platform
        return 0.0


def default_threads() -> int:
    """As many threads as cores not busy with other work right now (at least 1)."""
    cores = os.cpu_count() or 1
    return max(1, min(cores, round(cores - busy_cores())))


def set_threads(requested: int | None = None) -> int | None:
    """Set torch's thread count: ``requested``, else the policy (unless OMP_NUM_THREADS is
    set); returns the count set, or None when the user's environment decides."""
    if requested is not None and requested < 1:
        raise ConfigError(f"--threads must be a positive integer, got {requested}")
    if requested is None and os.environ.get("OMP_NUM_THREADS"):
        return None  # the user's own setting
    import torch

    n = requested or default_threads()
    torch.set_num_threads(n)
    return n


__all__ = ["busy_cores", "default_threads", "set_threads"]
