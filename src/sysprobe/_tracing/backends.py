"""Which tracer runs the command: strace (the default where it exists) or the ptrace
backend (python-ptrace, the optional extra ``sysprobe[ptrace]``). Both yield the same
events under the same supervision; ``auto`` takes strace where it can trace and ptrace
otherwise. A probe's success may be remembered (``strace.binary.ensure_usable``), but a
run is judged by its own evidence (the command's execve in the trace)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

from ..errors import PtraceDenied, StraceMissing, SysprobeError, UsageError
from ..events import Event
from .base import RunOptions, Tracer
from .strace.backend import StraceOptions, StraceTracer
from .supervisor import RunOutcome, Supervisor

BACKENDS = ("auto", "strace", "ptrace")


def requested(backend: str | None) -> str:
    """The backend asked for: the argument, else $SYSPROBE_BACKEND, else auto."""
    return backend or os.environ.get("SYSPROBE_BACKEND") or "auto"


def choose_backend(backend: str | None, strace: str | None = None) -> str:
    """``strace`` or ``ptrace`` for a requested backend; raises when none can run."""
    backend = requested(backend)
    if backend not in BACKENDS:
        raise UsageError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend != "auto" or strace or os.environ.get("SYSPROBE_STRACE"):
        # naming a strace binary (the option, or $SYSPROBE_STRACE) asks for strace: a wrong
        # path is an error, not a silent switch to the other tracer
        return "strace" if backend == "auto" else backend
    from .strace.binary import ensure_usable, locate

    try:
        ensure_usable(locate(strace))  # remembered when it works; a denial is probed each time
        return "strace"
    except PtraceDenied:
        raise  # the ptrace backend would be denied just the same
    except SysprobeError as exc:
        why_not_strace = str(exc)
    from .ptrace.backend import available

    why_not_ptrace = available()
    if why_not_ptrace is None:
        return "ptrace"
    raise StraceMissing(f"no tracer can run: {why_not_strace}; and {why_not_ptrace}")


def unavailable(backend: str | None = None, strace: str | None = None) -> str | None:
    """Why ``backend`` cannot trace here, or None (for skipping tests)."""
    try:
        if choose_backend(backend, strace) == "strace":
            from .strace.binary import check_usable

            return check_usable(strace)
        from .ptrace.backend import available

        return available()
    except SysprobeError as exc:
        return str(exc)


def tracer_for(backend: str | None, options: RunOptions) -> Tracer:
    """The tracer that runs with ``options`` on the requested backend."""
    own = options if isinstance(options, StraceOptions) else StraceOptions()
    if choose_backend(backend, own.strace) == "strace":
        return StraceTracer(options)
    if own.strace_args:
        raise UsageError(
            "the ptrace backend takes no strace options "
            f"({' '.join(own.strace_args)}): use --backend strace for them"
        )
    from .ptrace.backend import PtraceTracer

    return PtraceTracer(options)


def start(
    argv: Sequence[str],
    options: RunOptions,
    backend: str | None = None,
    *,
    on_idle: Callable[[], None] | None = None,
) -> Supervisor:
    """A run of ``argv`` on the chosen backend; iterate its ``events()``."""
    return Supervisor(argv, options, tracer_for(backend, options), on_idle=on_idle)


def run_events(
    argv: Sequence[str],
    options: RunOptions,
    backend: str | None,
    on_idle: Callable[[], None] | None,
    ended: Callable[[RunOutcome | None], None],
) -> Iterator[Event]:
    """A run's events; ``ended`` is told its outcome however the iteration stops: at the
    end, on an error, or when the consumer drops it half-way. Written here, interpreted:
    CPython closes a generator it frees, running this ``finally``; a mypyc-compiled
    generator (``_pipeline``) is freed without it."""
    run = start(argv, options, backend, on_idle=on_idle)
    try:
        yield from run.events()
    finally:
        ended(run.outcome)
