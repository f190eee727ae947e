"""Where strace, its tracees and sysprobe run.

Every ptrace stop wakes strace and then the tracee; on the virtual machines measured in
BENCHMARKS.md a wake-up across CPUs costs ~24 µs against ~2 µs on one CPU, so keeping
strace and its tracees on one CPU (and sysprobe's parser on the others) cuts a full trace
of a syscall-heavy program by an order of magnitude, and halves even a seccomp-filtered
one. The price: a tracee with several CPU-bound threads gets one CPU. ``off`` for those.
"""

from __future__ import annotations

import os
from typing import Final

MODES: Final = ("auto", "pin", "off")


def choose(mode: str) -> tuple[set[int], set[int]] | None:
    """(CPUs for strace and its tracees, CPUs for sysprobe), or None to leave them alone.

    ``auto`` pins when there are at least two CPUs to split; ``pin`` does so as well (and
    with one CPU, leaves everything there); ``off`` never does.
    """
    if mode not in MODES:
        raise ValueError(f"placement {mode!r}: expected one of {', '.join(MODES)}")
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None
    if mode == "off" or len(allowed) < 2:
        return None
    return {allowed[0]}, set(allowed[1:])
