"""Where the tracer (strace, or the ptrace tracing process), its tracees and sysprobe run.

Every ptrace stop wakes the tracer and then the tracee; on the virtual machines measured in
BENCHMARKS.md a wake-up across CPUs costs ~24 µs against ~2 µs on one CPU, so keeping
the tracer and its tracees on one CPU (and sysprobe's parser on the others) cuts a full trace
of a syscall-heavy program by an order of magnitude, and halves even a seccomp-filtered
one. The price: a tracee with several CPU-bound threads gets one CPU. ``off`` for those.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Final, NamedTuple

MODES: Final = ("auto", "pin", "off")


class CpuSplit(NamedTuple):
    tracer: set[int]  # the tracing process and its tracees
    sysprobe: set[int]  # sysprobe's parser (empty: stay where it was)


def cpu_split(mode: str) -> CpuSplit | None:
    """Where the tracer and sysprobe run, or None to leave them alone.

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
    return CpuSplit({allowed[0]}, set(allowed[1:]))


@contextlib.contextmanager
def forking_on(cpus: set[int] | None) -> Iterator[None]:
    """Processes started inside run on ``cpus`` (affinity is inherited at fork). Affinity
    is per thread: the calling thread's is set for the spawn and restored after it."""
    if cpus is None:
        yield
        return
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)
