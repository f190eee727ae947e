"""The ptrace tracer: what runs in the tracing process (``python -m sysprobe._tracing.ptrace``).

The command starts as the tracing process's only child, seized before it runs a line of
its own (fork; the child waits on a pipe; PTRACE_SEIZE; the child installs the seccomp
filter, stops itself once so that the tracer learns whether the filter is in, and execs),
so ``waitpid(-1, __WALL)`` here sees only tracees. Seized, as strace seizes: a tracee that
stops itself (``kill -STOP $$``) stays stopped (PTRACE_LISTEN) until SIGCONT or SIGKILL,
instead of being resumed at once. python-ptrace supplies the ptrace binding; the syscall
table is sysprobe's own (``_kernel``). The wait loop is our own: one blocking
``waitpid(-1, __WALL)`` for every tracee (python-ptrace's own loop polls each process and
sleeps, 50× slower on fork-heavy programs). Each finished call becomes one strace-style
line (``render.finish``); sysprobe reads the lines from a FIFO and parses them with the same line
parser as strace's output, so the events, the descriptor model, rules and goldens are the
same code.

What strace does and this backend mirrors: a call whose entry and exit other lines
separate is written as ``NAME( <unfinished ...>`` at its entry and ``<... NAME resumed>ARGS)
= RESULT`` at its exit (the arguments all in the second half), so that the lines keep the
order in which the tasks stopped — what the descriptor model needs to tell which calls
raced a fork; a new task's lines may come before its parent's clone result; a thread's
exec prints ``+++ superseded by execve in pid N +++`` and the execve result under the
leader's pid; a task killed inside a call leaves it ``<unfinished ...>``;
``exit``/``exit_group`` end with ``= ?``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

from ..._kernel.constants import constants
from ..._kernel.signals import signal_name
from ..._kernel.syscalls import EXECS, TABLE, X32_SYSCALL_BIT, number_of
from ...errors import PtraceDenied, UnsupportedTracee, UsageError
from ..base import DEFAULT_STRING_LIMIT
from .decode import PendingCall, begin, call_name, s64, undecoded
from .memory import TraceeMemory
from .render import finish, siginfo_text
from .seccomp import install_filter, seccomp_filter
from .support import LoopOptions, parse_injections, python_ptrace_missing, required, selection, wrong_machine

_WALL = constants("x86_64")["__WALL"]
_SYSCALL_STOP = signal.SIGTRAP | 0x80
PTRACE_O_TRACESYSGOOD = 0x1
PTRACE_O_TRACEFORK = 0x2
PTRACE_O_TRACEVFORK = 0x4
PTRACE_O_TRACECLONE = 0x8
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACESECCOMP = 0x80
PTRACE_O_EXITKILL = 0x100000  # tracees die with the tracing process: none outlives it
PTRACE_EVENT_SECCOMP = 7
PTRACE_EVENT_STOP = 128  # a seized tracee's group-stop, first stop, or wake-up from PTRACE_LISTEN
PTRACE_SEIZE = 0x4206
PTRACE_LISTEN = 0x4208
_STOP_SIGNALS = frozenset({signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})
PTRACE_EVENT_FORK, PTRACE_EVENT_VFORK, PTRACE_EVENT_CLONE, PTRACE_EVENT_EXEC = 1, 2, 3, 4
PTRACE_GETSIGINFO = 0x4202
SKIPPED = 0xFFFFFFFFFFFFFFFF  # orig_rax -1: the kernel runs no call (how an injected one is skipped)
_OPTIONS = (
    PTRACE_O_TRACESYSGOOD
    | PTRACE_O_TRACEFORK
    | PTRACE_O_TRACEVFORK
    | PTRACE_O_TRACECLONE
    | PTRACE_O_TRACEEXEC
    | PTRACE_O_EXITKILL
)
_CS_64BIT = 0x33  # x86_64 user code segment; 0x23 is a 32-bit (i386) process


def binding() -> tuple[Any, str]:
    """python-ptrace's binding and version — or a clear error."""
    try:
        from ptrace.binding import func
        from ptrace.version import VERSION
    except ImportError as exc:
        raise python_ptrace_missing(str(exc)) from None
    unsupported = wrong_machine()
    if unsupported is not None:
        raise unsupported
    return func, ".".join(map(str, VERSION))


class TracedTask:
    """A tracee task's state between its stops."""

    __slots__ = ("call", "in_syscall", "mem", "pid", "seen", "split")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.mem = TraceeMemory(pid)
        self.in_syscall = False
        self.call: PendingCall | None = None
        self.seen = False  # its first (attach) stop arrived
        self.split = False  # its call's "<unfinished ...>" line is written


class PtraceLoop:
    """The command under ptrace: start it, follow every task, yield strace-style lines.

    Runs in the tracing process, whose only children are the tracees: it was started in
    the command's working directory and environment, and the command inherits both.
    ``on_idle`` runs whenever the loop is about to wait for a tracee (flush output there);
    ``on_new_call`` is told, once per call name, which of its arguments stay undecoded.
    """

    def __init__(
        self,
        argv: Sequence[str],
        path: str,
        options: LoopOptions,
        *,
        unblock: Collection[int] = (),
        on_idle: Callable[[], None] | None = None,
        on_new_call: Callable[[str, tuple[int, ...]], None] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.path = path
        self.options = options
        self.unblock = frozenset(unblock)  # signals the tracing process blocks and the command must not
        self.on_idle = on_idle
        self.on_new_call = on_new_call
        self.strsize = self.options.string_limit or DEFAULT_STRING_LIMIT
        self._func, self._version = binding()
        known = {name for name in TABLE if number_of(name) is not None}
        self.injections = parse_injections(self.options.inject, known)
        for name in required(self.options.syscalls):  # as strace: a plain name must exist
            if name not in known:
                raise UsageError(f"invalid system call {name!r} (the ptrace backend knows x86_64's)")
        self._only = selection(self.options.syscalls)
        self._tasks: dict[int, TracedTask] = {}
        self._announced: set[str] = set()
        self._leader: int | None = None
        self._leader_status: int | None = None  # its wait status, once it ended
        self._started = False  # the command's own execve has begun
        self._kill = False
        self._refused: str | None = None
        self._seccomp = False  # the kernel stops the tracees only at the selected calls
        self._said_fd: int | None = None  # the child's word on its filter, until its first stop
        self._open: TracedTask | None = None  # entered a call, and no line was written since

    @property
    def version(self) -> str:
        """python-ptrace's version."""
        return self._version

    @property
    def exit_code(self) -> int:
        """The command's status as a shell reports it (128+N: killed by signal N), as strace exits."""
        status = self._leader_status
        if status is None:
            return 0
        return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)

    def lines(self) -> Iterator[str]:
        """Start the command and yield its trace until every tracee has ended."""
        try:
            self._start()
            yield from self._lines()
        finally:
            self._kill_all()
            self._reap()
            for task in self._tasks.values():
                task.mem.close()
            if self._said_fd is not None:
                os.close(self._said_fd)
                self._said_fd = None
        if self._refused is not None:
            raise UnsupportedTracee(self._refused)

    # ---- start ----

    def _start(self) -> None:
        go_r, go_w = os.pipe2(os.O_CLOEXEC)  # the tracer to the child: "seized, go on"
        said_r, said_w = os.pipe2(os.O_CLOEXEC)  # the child to the tracer: "my filter is in"
        filter_program = self._filter_program()
        pid = os.fork()
        if pid == 0:  # the child: only async-signal-safe-ish calls until the exec
            try:
                os.close(go_w)
                os.close(said_r)
                # the command starts with 0, 1 and 2 only, as under strace (Popen close_fds)
                low, high = sorted((go_r, said_w))
                os.closerange(3, low)
                os.closerange(low + 1, high)
                os.closerange(high + 1, _max_fd())
                # as subprocess does: Python ignores these, and an ignored signal stays so across exec
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)
                signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, self.unblock)
                if os.read(go_r, 1) == b"g":  # seized: from here on every stop is the tracer's
                    # with the filter in, a selected call stops for the tracer (not ENOSYS)
                    installed = filter_program is not None and install_filter(filter_program)
                    os.write(said_w, b"F" if installed else b"-")
                    os.kill(os.getpid(), signal.SIGSTOP)  # the tracer reads what was said here
                    os.execve(self.path, self.argv, os.environ)
            except BaseException:
                pass
            os._exit(127)
        os.close(go_r)
        os.close(said_w)
        self._said_fd = said_r
        self._leader = pid
        options = _OPTIONS | (PTRACE_O_TRACESECCOMP if filter_program is not None else 0)
        try:
            self._func.ptrace(PTRACE_SEIZE, pid, 0, options)
        except Exception as exc:
            os.close(go_w)  # the child reads end of file and exits
            os.waitpid(pid, 0)
            code = getattr(exc, "errno", 0) or 0
            why = os.strerror(code) if code else str(exc)
            raise PtraceDenied(f"PTRACE_SEIZE failed: {why}") from None  # the hint is added by sysprobe
        os.write(go_w, b"g")
        os.close(go_w)
        task = TracedTask(pid)
        task.seen = True
        self._tasks[pid] = task

    def _handshake(self, pid: int) -> None:
        """The child's own stop before its exec: is the seccomp filter in? Then the tracee
        runs to its next selected call (PTRACE_CONT), else to every call (PTRACE_SYSCALL)."""
        fd, self._said_fd = self._said_fd, None
        assert fd is not None
        try:
            self._seccomp = os.read(fd, 1) == b"F"  # written before the stop: no wait
        finally:
            os.close(fd)
        self._resume(pid, 0)

    # ---- the wait loop: strace-style lines ----

    def _lines(self) -> Iterator[str]:
        while self._tasks:
            try:
                pid, status = os.waitpid(-1, _WALL | os.WNOHANG)
                if pid == 0:  # every tracee is running: a good moment to flush, then wait
                    if self.on_idle is not None:
                        self.on_idle()
                    pid, status = os.waitpid(-1, _WALL)
            except ChildProcessError:
                break
            if self._kill:
                self._kill_all()
            yield from self._in_order(self._stopped(pid, status))

    def _in_order(self, lines: Iterator[str]) -> Iterator[str]:
        """``lines``, each after the "<unfinished ...>" line of a call entered before it."""
        for line in lines:
            yield from self._interrupt()
            yield line

    def _interrupt(self) -> Iterator[str]:
        """The open call's first half: another line comes between its entry and exit."""
        task, self._open = self._open, None
        if task is not None and task.call is not None:
            task.split = True
            yield f"{task.pid:<5} {task.call.name}( <unfinished ...>"

    def _stopped(self, pid: int, status: int) -> Iterator[str]:
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            yield from self._ended(pid, status)
            return
        if not os.WIFSTOPPED(status):
            return
        task = self._tasks.get(pid)
        if task is None:
            task = self._tasks[pid] = TracedTask(pid)  # a new child, before its parent's event
        sig = os.WSTOPSIG(status)
        event = status >> 16
        if self._said_fd is not None and pid == self._leader and not event and sig == signal.SIGSTOP:
            self._handshake(pid)
        elif sig == _SYSCALL_STOP:
            yield from self._syscall_stop(task)
            self._resume(pid, 0)
        elif event == PTRACE_EVENT_SECCOMP:
            # the filter's stop is the call's entry (Linux >= 4.8: no syscall-entry stop
            # follows); resuming with PTRACE_SYSCALL brings its exit stop
            yield from self._syscall_stop(task)
            self._resume(pid, 0)
        elif event == PTRACE_EVENT_STOP:
            yield from self._trap_stop(task, sig)
        elif event:
            yield from self._event_stop(task, event)
            self._resume(pid, 0)
        else:
            yield from self._signal_stop(task, sig)

    def _syscall_stop(self, task: TracedTask) -> Iterator[str]:
        task.seen = True
        try:
            regs = self._func.ptrace_getregs(task.pid)
        except Exception:
            return
        if not task.in_syscall:
            task.in_syscall = True
            if regs.cs != _CS_64BIT or regs.orig_rax & X32_SYSCALL_BIT:
                self._refuse(task.pid, regs)
                return
            self._enter(task, regs)
            if task.call is not None:
                yield from self._interrupt()
                self._open, task.split = task, False
            return
        task.in_syscall = False
        call = task.call
        task.call = None
        if call is None:
            return
        ret = s64(regs.rax)
        injected = self.injections.get(call.name) if self._started else None
        if injected is not None and regs.orig_rax != SKIPPED:
            injected = None  # the entry could not skip it: the call ran, and its result stands
        if injected is not None:
            ret = -injected[1] if injected[0] == "error" else injected[1]
            regs.rax = ret & 0xFFFFFFFFFFFFFFFF
            with contextlib.suppress(Exception):
                self._func.ptrace_setregs(task.pid, regs)
        yield from self._finish(task, call, ret, injected is not None)

    def _enter(self, task: TracedTask, regs: Any) -> None:
        nr = regs.orig_rax
        name = call_name(nr)
        if not self._started:
            if task.pid != self._leader or name not in EXECS:
                return  # the tracing process's own child code before the command's exec
            self._started = True
        if self._only is not None and name not in self._only:
            return
        if name not in self._announced:
            self._announced.add(name)
            if self.on_new_call is not None:
                self.on_new_call(name, undecoded(name))
        registers = (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9)
        task.call = begin(name, registers, task.mem, self.strsize, self.options.decode_fds)
        if name in self.injections:
            regs.orig_rax = SKIPPED  # the kernel skips the call (-ENOSYS, replaced at exit)
            with contextlib.suppress(Exception):
                self._func.ptrace_setregs(task.pid, regs)

    def _filter_program(self) -> bytes | None:
        """The seccomp filter for the selected calls, or None (everything is traced)."""
        if self._only is None or not self.options.seccomp:
            return None
        # execve always stops: the trace starts at the command's own exec
        wanted = self._only | EXECS
        numbers = sorted(nr for name in wanted if (nr := number_of(name)) is not None)
        return seccomp_filter(numbers)

    def _finish(
        self, task: TracedTask, call: PendingCall, ret: int | None, injected: bool = False
    ) -> Iterator[str]:
        """The line of a finished call (``ret`` None: the task did not come back), or its
        second half when its first is written."""
        if self._open is task:
            self._open = None
        split, task.split = task.split, False
        line = finish(task.pid, call, ret, injected, resumed=split)
        if line is not None:
            yield line

    def _event_stop(self, task: TracedTask, event: int) -> Iterator[str]:
        if event in (PTRACE_EVENT_FORK, PTRACE_EVENT_VFORK, PTRACE_EVENT_CLONE):
            with contextlib.suppress(Exception):
                child = int(self._func.ptrace_geteventmsg(task.pid))
                self._tasks.setdefault(child, TracedTask(child))
            return
        if event == PTRACE_EVENT_EXEC:
            former = task.pid
            with contextlib.suppress(Exception):
                former = int(self._func.ptrace_geteventmsg(task.pid))
            task.mem.close()  # the old address space is gone: reopen for the new one
            if former != task.pid:
                # a thread exec'd: it takes over the leader's pid, with its call in progress
                thread = self._tasks.pop(former, None)
                if task.call is not None:
                    yield from self._finish(task, task.call, None)
                yield f"{task.pid:<5} +++ superseded by execve in pid {former} +++"
                if thread is not None:
                    thread.mem.close()
                    task.call, task.split = thread.call, thread.split
                    task.in_syscall = thread.in_syscall
                    if task.call is not None:
                        task.call.tracee = task.mem

    def _trap_stop(self, task: TracedTask, sig: int) -> Iterator[str]:
        """PTRACE_EVENT_STOP: a group-stop (the stop signal) stays stopped, as under strace,
        until SIGCONT or SIGKILL; a new tracee's first stop or a wake-up (SIGTRAP) runs on."""
        if sig in _STOP_SIGNALS and task.seen:
            if self._started:
                yield (f"{task.pid:<5} --- stopped by {signal_name(sig)} ---")
            with contextlib.suppress(Exception):  # ESRCH: it died meanwhile; its exit comes next
                self._func.ptrace(PTRACE_LISTEN, task.pid, 0, 0)
            return
        task.seen = True
        self._resume(task.pid, 0)

    def _signal_stop(self, task: TracedTask, sig: int) -> Iterator[str]:
        info = _siginfo(self._func, task.pid)
        if self._started and info is not None:
            yield (f"{task.pid:<5} --- {signal_name(sig)} {siginfo_text(info)} ---")
        self._resume(task.pid, sig)

    def _ended(self, pid: int, status: int) -> Iterator[str]:
        if pid == self._leader:
            self._leader_status = status
        task = self._tasks.pop(pid, None)
        if task is None:
            return
        if task.call is not None:
            yield from self._finish(task, task.call, None)
        task.mem.close()
        if not self._started:
            return
        if os.WIFEXITED(status):
            yield (f"{pid:<5} +++ exited with {os.WEXITSTATUS(status)} +++")
        else:
            sig = os.WTERMSIG(status)
            core = " (core dumped)" if os.WCOREDUMP(status) else ""
            yield (f"{pid:<5} +++ killed by {signal_name(sig)}{core} +++")

    # ---- control ----

    def _resume(self, pid: int, sig: int) -> None:
        task = self._tasks.get(pid)
        to_next_call = not self._seccomp or task is None or task.in_syscall
        with contextlib.suppress(Exception):  # ESRCH: it died meanwhile; its exit comes next
            if to_next_call:
                self._func.ptrace_syscall(pid, sig)
            else:
                self._func.ptrace_cont(pid, sig)  # the filter stops it at the next selected call

    def _refuse(self, pid: int, regs: Any) -> None:
        kind = "an x32" if regs.cs == _CS_64BIT else "a 32-bit (i386)"
        program = ""
        with contextlib.suppress(OSError):
            program = f" ({os.readlink(f'/proc/{pid}/exe')})"
        self._refused = (
            f"pid {pid} runs {kind} program{program}: the ptrace backend decodes x86_64 calls only "
            "and will not misdecode it; use --backend strace"
        )
        self._kill = True
        self._kill_all()

    def _kill_all(self) -> None:
        for pid in list(self._tasks):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def _reap(self) -> None:
        """Wait for every tracee to be gone, so none is left stopped or a zombie."""
        deadline = time.monotonic() + 10.0
        while self._tasks and time.monotonic() < deadline:
            try:
                pid, status = os.waitpid(-1, _WALL)
            except ChildProcessError:
                break
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                task = self._tasks.pop(pid, None)
                if task is not None:
                    task.mem.close()
            else:
                self._kill_all()
                self._resume(pid, 0)


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        return 1 << 16


def _siginfo(func: Any, pid: int) -> bytes | None:
    buf = ctypes.create_string_buffer(128)
    try:
        func.ptrace(PTRACE_GETSIGINFO, pid, 0, ctypes.addressof(buf))
    except Exception:
        return None
    return buf.raw


__all__ = ["PtraceLoop", "binding"]
