"""The ptrace backend's tracing process (started by ``ptrace.backend.PtraceTracer``).

sysprobe starts it with fork+exec, as it starts strace, never as a bare fork of a caller
that may run threads. It is the command's only tracer and only parent: it runs the
command, writes the trace as strace ``-o`` text into the FIFO ``-o FIFO``, and exits with
the command's status once every tracee has ended. What the text cannot carry goes to
``--report-fd`` as JSON lines: ``{"version"}`` first, ``{"call", "undecoded"}`` once per
call name before its first line, ``{"error", "message"}`` (a ``sysprobe.errors`` class)
when it fails.

Nothing outlives sysprobe: a parent-death signal (SIGKILL) ends this process when sysprobe
dies, even without running any code, and PTRACE_O_EXITKILL then kills every tracee. (The
parent-death signal follows the thread that started this process: a run handed to another
thread while that one exits ends as if sysprobe had died.) As ``strace -o FILE CMD`` does,
it keeps the fatal signals blocked — sysprobe starts it with them blocked, so ^C is the
command's alone — and the command gets them unblocked (``--unblock``).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
from collections.abc import Sequence

from ...errors import SysprobeError, TraceFailed

_PR_SET_PDEATHSIG = 1
_FLUSH_AT = 1 << 16  # bytes of trace held before writing even while tracees run


def main(argv: Sequence[str] | None = None) -> int:
    args, command = _parse(sys.argv[1:] if argv is None else list(argv))
    _die_with(args.parent)
    report = Report(args.report_fd)
    try:
        return _trace(args, command, report)
    except BrokenPipeError:
        return 1  # sysprobe stopped reading: it is gone or has given up on this run
    except Exception as exc:
        if not isinstance(exc, SysprobeError):
            where = exc.__traceback__
            while where is not None and where.tb_next is not None:
                where = where.tb_next
            at = f" at {where.tb_frame.f_code.co_filename}:{where.tb_lineno}" if where else ""
            exc = TraceFailed(f"the ptrace tracer failed: {exc!r}{at}")
        report.send(error=type(exc).__name__, message=str(exc))
        return exc.exit_code


def _trace(args: argparse.Namespace, command: list[str], report: Report) -> int:
    from .support import LoopOptions
    from .tracer import PtraceLoop

    options = LoopOptions(
        syscalls=args.trace,
        seccomp=args.seccomp,
        inject=args.inject,
        string_limit=args.string_limit,
        decode_fds=args.decode_fds,
    )
    out = FifoWriter(args.output)

    def announce(name: str, undecoded: tuple[int, ...]) -> None:
        # the finished lines first: sysprobe reads this pipe when a line names a call it
        # has not heard of, so a full pipe (more names than calls in progress) always has
        # a written line that makes sysprobe empty it
        out.flush()
        report.send(call=name, undecoded=list(undecoded))

    try:
        loop = PtraceLoop(
            command,
            args.exec,
            options,
            unblock=[int(n) for n in args.unblock.split(",") if n],
            on_idle=out.flush,
            on_new_call=announce,
        )
        report.send(version=loop.version)
        if args.cpus:  # the tracees inherit it
            os.sched_setaffinity(0, {int(n) for n in args.cpus.split(",")})
        for line in loop.lines():
            out.add(line)
        return loop.exit_code
    finally:
        out.flush()
        out.close()


class FifoWriter:
    """Trace lines out, in few writes: held while tracees run, written before waiting."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        self.pending: list[str] = []
        self.size = 0

    def add(self, line: str) -> None:
        self.pending.append(line)
        self.size += len(line)
        if self.size >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        # paths read from /proc may not be UTF-8: their bytes go out as they came in
        data = memoryview(("\n".join(self.pending) + "\n").encode("utf-8", "surrogateescape"))
        self.pending.clear()
        self.size = 0
        while data:
            data = data[os.write(self.fd, data) :]

    def close(self) -> None:
        os.close(self.fd)


class Report:
    """What the text cannot carry, for sysprobe: JSON lines on a pipe of its own."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_inheritable(fd, False)  # the command must not inherit it

    def send(self, **record: object) -> None:
        os.write(self.fd, (json.dumps(record) + "\n").encode())


def _die_with(parent: int) -> None:
    """SIGKILL this process when sysprobe dies (PTRACE_O_EXITKILL takes the tracees along)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the signal was armed
        os._exit(1)


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    cut = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="python -m sysprobe._tracing.ptrace")
    parser.add_argument("-o", dest="output", required=True, help="the FIFO to write the trace into")
    parser.add_argument("--report-fd", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True, help="sysprobe's pid")
    parser.add_argument("--exec", required=True, help="the program to run (argv[0], resolved)")
    parser.add_argument("-e", dest="trace", default=None, help="trace=NAME,... (default: every call)")
    parser.add_argument("--no-seccomp", dest="seccomp", action="store_false")
    parser.add_argument("--inject", action="append", default=[])
    parser.add_argument("-s", dest="string_limit", type=int, default=None)
    parser.add_argument("--no-decode-fds", dest="decode_fds", action="store_false")
    parser.add_argument("--unblock", default="", help="signal numbers the command gets unblocked")
    parser.add_argument("--cpus", default="", help="CPUs to trace on (the tracees inherit them)")
    return parser.parse_args(argv[:cut]), argv[cut + 1 :]


if __name__ == "__main__":
    sys.exit(main())
