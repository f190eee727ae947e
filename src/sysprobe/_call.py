"""``sysprobe.call(fn, *args, **kwargs)``: the Trace of one Python call, not of a command.

One design for both tracers: the callable runs in a fresh interpreter (this one's
``sys.executable``) started as the traced command, which prepares itself as
multiprocessing's spawn start method does, unpickles the callable and its arguments,
and marks its trace before and after the call (``_callee``, ``_markers``). The Trace is
what lies between the two marks — the interpreter's own exec, its imports and the
unpickling are cut — plus everything the processes started in the call did afterwards
(a child the function did not wait for is still the function's doing).

Why not fork the caller (PTRACE_TRACEME in a forked child): a fork copies a caller with
threads, locks and open connections into a child that runs Python code (unsafe where
threads run), and leaves no exec in the trace — the evidence both tracers rest on that
the command ran under them. A fresh interpreter costs its start-up, traced, and asks
what multiprocessing's spawn asks: the callable and its arguments are picklable (a
function reached by its module and name, not a lambda or a local function) and the
caller's module is importable; the function sees none of the caller's state that was
made at run time (a monkeypatch, a global set after import).

The model starts from the table the interpreter really had when the call began:
descriptors 0-2, plus any above 2 without close-on-exec (a module that opened one at
import), which the traced side lists before its first mark; a descriptor with
close-on-exec cannot cross an exec, so it needs no place in the model.
"""

from __future__ import annotations

import os
import pickle
import reprlib
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._callee import BEGIN, END
from ._kernel.syscalls import CREATES_PROCESS
from ._markers import MAX_WHAT, PREFIX, new_token, read_mark
from ._model.fdmodel import STANDARD_FDS
from ._pipeline import Analysis, Recording, command
from ._trace import Trace, captured
from .errors import CallFailed, UsageError
from .events import Event, Syscall

if TYPE_CHECKING:
    from ._tracing.supervisor import RunOutcome

# the interpreter's first line: find sysprobe where this process does, then hand over
_BOOT = (
    "import sys; sys.path.insert(0, {root!r}); "
    "from sysprobe._callee import main; sys.exit(main(*sys.argv[1:3]))"
)
_MARK_LENGTH = len(PREFIX) + 8 + 1 + MAX_WHAT


class CallTrace(Trace):
    """The Trace of one call: its events, with what the call returned or raised.

    ``value`` is what the function returned, ``exception`` what it raised (None when it
    returned), ``traceback`` the traced side's formatted traceback of it; ``result()``
    returns the value or raises the exception, as a future does. ``exit_status`` is None
    when the call returned; when the function ended its process (``os._exit``, a signal),
    it says how, and ``exception`` is a CallFailed."""

    value: Any = None
    exception: BaseException | None = None
    traceback: str | None = None

    def result(self) -> Any:
        if self.exception is not None:
            raise self.exception
        return self.value

    def _reported_status(self) -> int | None:
        return None  # the interpreter's own exit (after the call) is not the call's

    def __repr__(self) -> str:
        ended = "raised " + type(self.exception).__name__ if self.exception is not None else "returned"
        return f"<CallTrace {self.title!r} {ended}: {len(self.events)} events>"


@dataclass(frozen=True)
class Caller:
    """``sysprobe.call`` with tracing options (those of ``sysprobe.trace``): every keyword
    argument of ``call`` goes to the function, so the options live here.

        ptrace = sysprobe.Caller(backend="ptrace", timeout=30)
        t = ptrace.call(copy_file, "a", "b")

    ``timeout`` covers the interpreter's start-up too; ``capture_output`` puts what the
    call wrote in ``trace.stdout``/``trace.stderr``; ``env`` and ``cwd`` are the
    interpreter's (default: this process's)."""

    backend: str | None = None
    timeout: float | None = None
    syscalls: str | None = None
    inject: Sequence[str] = ()
    env: Mapping[str, str] | None = None
    cwd: str | os.PathLike[str] | None = None
    decode_fds: bool = True
    string_limit: int | None = None
    placement: str = "auto"
    raw_output: str | os.PathLike[str] | None = None
    capture_output: bool = False
    strace: str | None = None

    def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> CallTrace:
        """Run ``fn(*args, **kwargs)`` in a traced interpreter; return the Trace of the call."""
        if not callable(fn):
            raise TypeError(f"sysprobe.call: {fn!r} is not callable")
        if self.string_limit is not None and self.string_limit < _MARK_LENGTH:
            raise UsageError(f"sysprobe.call: string_limit must be at least {_MARK_LENGTH} (its marks)")
        token = new_token()
        title = _title(fn, args, kwargs)
        with tempfile.TemporaryDirectory(prefix="sysprobe-call-") as folder:
            where = Path(folder)
            (where / "call").write_bytes(_payload(fn, args, kwargs, title))
            root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            argv = [sys.executable, "-c", _BOOT.format(root=root), folder, token]
            run = command(
                argv,
                syscalls=self.syscalls,
                inject=self.inject,
                timeout=self.timeout,
                strace=self.strace,
                cwd=self.cwd,
                env=self.env,
                raw_output=self.raw_output,
                decode_fds=self.decode_fds,
                string_limit=self.string_limit,
                placement=self.placement,
                backend=self.backend,
            )
            with captured(run, self.capture_output) as (run, output):
                events = list(run.events())
                stdout, stderr = output()
            assert run.outcome is not None
            made = _cut(events, token, title, where, run.syscalls, run.outcome, stderr)
            made.stdout, made.stderr = stdout, stderr
            made.outcome = run.outcome
            _take_result(made, where, title)
            return made


def call(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> CallTrace:
    """Run ``fn(*args, **kwargs)`` in a fresh interpreter under the tracer and return the
    Trace of the call alone (no interpreter start-up), with ``value``/``exception``.
    Tracing options: ``sysprobe.Caller(...).call``; limits: README "Tracing a call"."""
    return Caller().call(fn, *args, **kwargs)


def _title(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    short = reprlib.Repr()
    short.maxstring = short.maxother = 40
    shown = [short.repr(a) for a in args] + [f"{k}={short.repr(v)}" for k, v in kwargs.items()]
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    return f"{name}({', '.join(shown)})"


def _payload(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], title: str) -> bytes:
    """The two pickles the traced side reads; a UsageError, before anything starts, for a
    callable or argument that cannot travel."""
    try:
        return pickle.dumps(_preparation()) + pickle.dumps((fn, args, kwargs))
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"sysprobe.call: {title} cannot be sent to the traced interpreter ({exc}): the function "
            "and its arguments must be picklable — a function defined at a module's top level, "
            "not a lambda or a local function (README: Tracing a call)"
        ) from None


def _preparation() -> dict[str, Any]:
    """What multiprocessing's spawn hands a child so that it can unpickle the caller's
    objects (``multiprocessing.spawn.prepare`` reads it): ``sys.path``, ``sys.argv`` and
    the main module. Not ``get_preparation_data`` itself: it would fix this process's
    start method, and chdir the child to this directory over ``cwd``."""
    data: dict[str, Any] = {
        "sys_path": [os.getcwd() if p == "" else p for p in sys.path],
        "sys_argv": list(sys.argv),
    }
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    path = getattr(main, "__file__", None)
    if name is not None:
        data["init_main_from_name"] = name
    elif path is not None:
        data["init_main_from_path"] = os.path.abspath(path)
    return data


def _cut(
    events: list[Event],
    token: str,
    title: str,
    where: Path,
    syscalls: str | None,
    outcome: RunOutcome,
    stderr: bytes | None,
) -> CallTrace:
    """The call's part of the trace: between the marks, and what the processes made in
    the call did after the second."""
    begin, end = _marks(events, token)
    if begin is None:
        _no_call(where, title, outcome, stderr)
    assert begin is not None
    window = _window(events, begin, end)
    inherited = STANDARD_FDS
    begun = where / "begin"
    if begun.exists():
        inherited = (*STANDARD_FDS, *pickle.loads(begun.read_bytes()))
    analysis = Analysis(keep_events=True, summary=True, inherited=inherited).feed_all(window)
    analysis.close()
    made = CallTrace.of(Recording(title, analysis, outcome, None, syscalls))
    if end is None:
        made.exception = CallFailed(f"{title} did not return: {_why_unreturned(analysis, outcome)}")
    return made


def _marks(events: list[Event], token: str) -> tuple[int | None, int | None]:
    """Indexes of the call's begin mark and of its end mark (written by the same pid)."""
    begin = None
    for i, event in enumerate(events):
        what = read_mark(event, token)
        if what == BEGIN and begin is None:
            begin = i
        elif what == END and begin is not None and event.pid == events[begin].pid:
            return begin, i
    return begin, None


def _window(events: list[Event], begin: int, end: int | None) -> list[Event]:
    """The events between the marks, then those of the processes made in the call (and of
    their children) after the end mark."""
    window = events[begin + 1 : end]
    born = {child for e in window if (child := _child(e)) is not None}
    if end is not None:
        for event in events[end + 1 :]:
            if event.pid in born:
                window.append(event)
                child = _child(event)
                if child is not None:
                    born.add(child)
    return window


def _why_unreturned(analysis: Analysis, outcome: RunOutcome) -> str:
    """Why the trace has no end mark: the run was cut short, or the process ended."""
    root = analysis.model.root_process()
    how = root.end if root is not None else None
    if outcome.incomplete is not None:
        return f"the run was cut short: {outcome.incomplete}"
    if how is not None:
        return f"its process {how} inside the call"
    return "its process ended inside the call"


def _child(event: Event) -> int | None:
    """The task ``event`` created (a fork, vfork, clone or clone3 that succeeded), if any."""
    if isinstance(event, Syscall) and event.name in CREATES_PROCESS and event.ret and event.ret > 0:
        return event.ret
    return None


def _no_call(where: Path, title: str, outcome: RunOutcome, stderr: bytes | None) -> None:
    """The trace has no call: say why (the callable could not be loaded, the run was cut
    short, the interpreter died)."""
    result = where / "result"
    if result.exists():
        kind, *rest = pickle.loads(result.read_bytes())
        if kind == "setup":
            raise CallFailed(
                f"sysprobe.call: {title} could not be loaded in the traced interpreter "
                f"(README: Tracing a call):\n{rest[0]}",
                rest[0],
            )
    outcome.raise_if_incomplete()
    said = f"; its stderr: {stderr.decode(errors='replace').strip()}" if stderr else ""
    raise CallFailed(
        f"sysprobe.call: the traced interpreter ended (exit {outcome.exit_status}) before {title} began{said}"
    )


def _take_result(made: CallTrace, where: Path, title: str) -> None:
    result = where / "result"
    if made.exception is not None or not result.exists():
        if made.exception is None:  # the second mark is there, the result file is not
            made.exception = CallFailed(f"{title} returned, but its result was not written")
        return
    try:
        kind, *rest = pickle.loads(result.read_bytes())
    except Exception as exc:
        made.exception = CallFailed(f"{title}: what it returned or raised cannot be unpickled here: {exc!r}")
        return
    if kind == "returned":
        made.value = rest[0]
    elif kind == "raised":
        made.exception, made.traceback = rest[0], rest[1]
    else:  # unpicklable
        what, shown, tb, why = rest
        made.traceback = tb
        made.exception = CallFailed(f"{title}: its {what} {shown} cannot be pickled ({why})", tb)
