"""The ptrace backend as sysprobe sees it: a tracing process, started like strace.

``PtraceTracer`` checks what it can before anything starts (python-ptrace present, this
machine x86_64, the selection and injections supported), then starts
``python -m sysprobe._tracing.ptrace`` (see its ``__main__``) with fork+exec. That process
is the command's only tracer and parent, so ``waitpid`` there never reaps a child of the
Python program that called sysprobe, and two runs in two threads are two processes. Its
trace arrives in the supervisor's FIFO; its version, the arguments it leaves undecoded
(per call name) and its errors arrive on a report pipe.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence

from ...errors import BackendMissing, SysprobeError, TraceFailed, UnsupportedTracee, UsageError
from ...events import Event, Syscall
from ..base import RunOptions, Tracer, TracerInfo, ptrace_denied
from ..selection import trace_expression
from .support import parse_injections, python_ptrace_missing, selection, wrong_machine

# blocked in the tracing process as strace -o FILE CMD blocks them: they are the command's
_FATAL = frozenset({signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP})
# the errors the tracing process may report, by class name
_REPORTED: dict[str, Callable[[str], SysprobeError]] = {
    "PtraceDenied": ptrace_denied,
    "UnsupportedTracee": UnsupportedTracee,
    "BackendMissing": BackendMissing,
    "UsageError": UsageError,
    "TraceFailed": TraceFailed,
}


def available() -> str | None:
    """Why the ptrace backend cannot run here, or None (without importing python-ptrace)."""
    error = unavailable_error()
    return str(error) if error is not None else None


def unavailable_error() -> BackendMissing | None:
    if importlib.util.find_spec("ptrace") is None:
        return python_ptrace_missing("No module named 'ptrace'")
    if not sys.executable:
        return BackendMissing("the ptrace backend runs a Python tracing process: sys.executable is unknown")
    return wrong_machine()


class PtraceTracer(Tracer):
    """python-ptrace, in a tracing process of its own."""

    backend = "ptrace"

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        parse_injections(options.inject)  # a UsageError now, before anything starts
        # execve, ptrace and the injected calls are traced whatever the selection (selection.py)
        self.expression = trace_expression(options.syscalls, options.inject)
        self.selected = selection(self.expression)
        self.version = ""
        self._argv: list[str] = []
        self._report_fd: int | None = None
        self._unread = b""
        self._undecoded: dict[str, tuple[int, ...]] = {}
        self._error: SysprobeError | None = None

    def prepare(self) -> None:
        error = unavailable_error()
        if error is not None:
            raise error

    def start(
        self, argv: Sequence[str], path: str, output: str, cpus: set[int] | None
    ) -> subprocess.Popen[bytes]:
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._report_fd = read_fd
        os.set_blocking(write_fd, True)
        # started with the fatal signals blocked: a ^C during its start-up is the command's too
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _FATAL)
        try:
            self._argv = self.command(argv, path, output, write_fd, _FATAL - blocked, cpus)
            return subprocess.Popen(
                self._argv,
                close_fds=True,
                pass_fds=(write_fd,),
                cwd=self.options.cwd,
                env=dict(self.options.env) if self.options.env is not None else None,
                stdout=self.options.stdout,
                stderr=self.options.stderr,
            )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            os.close(write_fd)

    def command(
        self,
        argv: Sequence[str],
        path: str,
        output: str,
        report_fd: int,
        unblock: frozenset[int],
        cpus: set[int] | None,
    ) -> list[str]:
        """The tracing process's command line. ``-I -S``: the command's PYTHON* variables are
        not the tracer's; it imports from this interpreter's own sys.path instead."""
        opts = self.options
        boot = (
            f"import sys; sys.path[:0] = {_import_path()!r}; "
            "from sysprobe._tracing.ptrace.__main__ import main; sys.exit(main())"
        )
        out = [sys.executable, "-I", "-S", "-c", boot, "--parent", str(os.getpid())]
        out += ["--report-fd", str(report_fd), "-o", output, "--exec", path]
        if self.selected is not None:  # "?name": skipped if unknown; a plain name must exist
            out += ["-e", f"trace={self.expression}"]
        if not opts.seccomp:
            out.append("--no-seccomp")
        for spec in opts.inject:
            out += ["--inject", spec]
        if opts.string_limit:
            out += ["-s", str(opts.string_limit)]
        if not opts.decode_fds:
            out.append("--no-decode-fds")
        if unblock:
            out += ["--unblock", ",".join(str(int(sig)) for sig in sorted(unblock))]
        if cpus:  # taken once its start-up is done: Python's start-up is not pinned to one CPU
            out += ["--cpus", ",".join(map(str, sorted(cpus)))]
        return [*out, "--", *argv]

    def annotator(self) -> Callable[[Event], None]:
        return self._annotate

    def _annotate(self, event: Event) -> None:
        if isinstance(event, Syscall):
            marks = self._undecoded.get(event.name)
            if marks is None:
                self._read_reports()  # announced before the call's first line was written
                marks = self._undecoded.setdefault(event.name, ())
            if marks:
                event.undecoded = marks

    def close(self) -> None:
        if self._report_fd is not None:
            self._read_reports()
            os.close(self._report_fd)
            self._report_fd = None

    def describe(self) -> TracerInfo:
        self._read_reports()
        return TracerInfo(self.backend, "python-ptrace", self.version, tuple(self._argv))

    def diagnose(self, returncode: int, ran: bool) -> SysprobeError | None:
        """What the tracing process reported (PtraceDenied, UsageError, UnsupportedTracee...)."""
        self._read_reports()
        return self._error

    def _read_reports(self) -> None:
        if self._report_fd is None:
            return
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(self._report_fd, 65536):
                self._unread += chunk
        *records, self._unread = self._unread.split(b"\n")
        for raw in records:
            record = json.loads(raw)
            if "call" in record:
                self._undecoded[record["call"]] = tuple(record["undecoded"])
            elif "version" in record:
                self.version = record["version"]
            elif "error" in record:
                make = _REPORTED.get(record["error"], TraceFailed)
                self._error = make(record["message"])


def _import_path() -> list[str]:
    """Where the tracing process finds sysprobe and python-ptrace: where this process does."""
    import sysprobe

    roots = [os.path.dirname(os.path.dirname(os.path.abspath(sysprobe.__file__))), *sys.path]
    spec = importlib.util.find_spec("ptrace")
    if spec is not None and spec.submodule_search_locations:
        roots.insert(1, os.path.dirname(next(iter(spec.submodule_search_locations))))
    out: list[str] = []
    for root in roots:
        path = os.path.abspath(root) if root else os.getcwd()
        if path not in out:
            out.append(path)
    return out


__all__ = ["PtraceTracer", "available"]
