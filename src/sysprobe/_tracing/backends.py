"""Which tracer runs the command: strace (the default where it exists) or the in-process
ptrace backend (python-ptrace, the optional extra ``sysprobe[ptrace]``). Both yield the
same events; ``auto`` takes strace when it can trace here and ptrace otherwise."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from ..errors import StraceMissing, UsageError
from ..events import Event
from .strace.tracer import RunOptions, RunOutcome, TracedRun

BACKENDS = ("auto", "strace", "ptrace")


class Run(Protocol):
    outcome: RunOutcome | None

    def events(self) -> Iterator[Event]: ...


def requested(backend: str | None) -> str:
    """The backend asked for: the argument, else $SYSPROBE_BACKEND, else auto."""
    return backend or os.environ.get("SYSPROBE_BACKEND") or "auto"


def choose(backend: str | None, strace: str | None = None) -> str:
    """``strace`` or ``ptrace`` for a requested backend; raises when none can run."""
    backend = requested(backend)
    if backend not in BACKENDS:
        raise UsageError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend != "auto" or strace:
        return "strace" if backend == "auto" else backend  # naming a strace binary asks for strace
    from ..errors import PtraceDenied, SysprobeError
    from .strace.binary import ensure_usable, locate

    try:
        ensure_usable(locate(strace))
        return "strace"
    except PtraceDenied:
        raise  # the ptrace backend would be denied just the same
    except SysprobeError as exc:
        why_not_strace = str(exc)
    from .ptrace.tracer import available

    why_not_ptrace = available()
    if why_not_ptrace is None:
        return "ptrace"
    raise StraceMissing(f"no tracer can run: {why_not_strace}; and {why_not_ptrace}")


def unavailable(backend: str | None = None, strace: str | None = None) -> str | None:
    """Why ``backend`` cannot trace here, or None (for skipping tests)."""
    from ..errors import SysprobeError

    try:
        chosen = choose(backend, strace)
        if chosen == "strace":
            from .strace.binary import check_usable

            return check_usable(strace)
        from .ptrace.tracer import available

        return available()
    except SysprobeError as exc:
        return str(exc)


def start(
    argv: Sequence[str],
    options: RunOptions,
    backend: str | None = None,
    *,
    on_idle: Callable[[], None] | None = None,
) -> Run:
    """A run of ``argv`` on the chosen backend; iterate its ``events()``."""
    chosen = choose(backend, options.strace)
    if chosen == "strace":
        return TracedRun(argv, options, on_idle=on_idle)
    from .ptrace.tracer import PtraceRun

    return PtraceRun(argv, options, on_idle=on_idle)
