"""The ptrace tracer: what runs in the tracing process (``python -m sysprobe._tracing.ptrace``).

The command starts as the tracing process's only child (fork, PTRACE_TRACEME, SIGSTOP,
exec — never attach), so ``waitpid(-1, __WALL)`` here sees only tracees. python-ptrace
supplies the ptrace binding and its syscall tables; the wait loop is our own: one blocking
``waitpid(-1, __WALL)`` for every tracee (python-ptrace's own loop polls each process and
sleeps, 50× slower on fork-heavy programs). Each finished call becomes one strace-style
line (``decode``); sysprobe reads the lines from a FIFO and parses them with the same line
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
import struct
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

from ...errors import PtraceDenied, UnsupportedTracee
from .decode import _SAVERS as SAVERS
from .decode import (
    PARTIAL,
    RET_NONE,
    SPECS,
    Arg,
    Call,
    Ctx,
    arity,
    errno_result,
    generic_args,
    open_flags,
    s32,
    s64,
    signal_name,
)
from .memory import TraceeMemory
from .seccomp import X32_BIT, has_filter, install_filter, seccomp_filter
from .support import LoopOptions, parse_injections, python_ptrace_missing, selection, wrong_machine

_WALL = 0x40000000
_SYSCALL_STOP = signal.SIGTRAP | 0x80
PTRACE_O_TRACESYSGOOD = 0x1
PTRACE_O_TRACEFORK = 0x2
PTRACE_O_TRACEVFORK = 0x4
PTRACE_O_TRACECLONE = 0x8
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACESECCOMP = 0x80
PTRACE_O_EXITKILL = 0x100000  # tracees die with the tracing process: none outlives it
PTRACE_EVENT_SECCOMP = 7
PTRACE_EVENT_FORK, PTRACE_EVENT_VFORK, PTRACE_EVENT_CLONE, PTRACE_EVENT_EXEC = 1, 2, 3, 4
PTRACE_GETSIGINFO = 0x4202
_OPTIONS = (
    PTRACE_O_TRACESYSGOOD
    | PTRACE_O_TRACEFORK
    | PTRACE_O_TRACEVFORK
    | PTRACE_O_TRACECLONE
    | PTRACE_O_TRACEEXEC
    | PTRACE_O_EXITKILL
)
_CS_64BIT = 0x33  # x86_64 user code segment; 0x23 is a 32-bit (i386) process
_NEW_SYSCALLS = {  # after python-ptrace's table (Linux 5.8), and its one misnamed call
    283: "timerfd_create",
    441: "epoll_pwait2", 442: "mount_setattr", 443: "quotactl_fd", 444: "landlock_create_ruleset",
    445: "landlock_add_rule", 446: "landlock_restrict_self", 447: "memfd_secret",
    448: "process_mrelease", 449: "futex_waitv", 450: "set_mempolicy_home_node", 451: "cachestat",
    452: "fchmodat2", 453: "map_shadow_stack", 454: "futex_wake", 455: "futex_wait",
    456: "futex_requeue", 457: "statmount", 458: "listmount", 459: "lsm_get_self_attr",
    460: "lsm_set_self_attr", 461: "lsm_list_modules", 462: "mseal",
}  # fmt: skip
DEFAULT_STRSIZE = 32  # strace's -s default


def binding() -> tuple[Any, dict[int, str], dict[str, Any], str]:
    """python-ptrace's binding, syscall names, prototypes and version — or a clear error."""
    try:
        from ptrace.binding import func
        from ptrace.syscall.linux.x86_64 import SYSCALL_NAMES
        from ptrace.syscall.prototypes import SYSCALL_PROTOTYPES
        from ptrace.version import VERSION
    except ImportError as exc:
        raise python_ptrace_missing(str(exc)) from None
    unsupported = wrong_machine()
    if unsupported is not None:
        raise unsupported
    names = {**SYSCALL_NAMES, **_NEW_SYSCALLS}
    return func, names, SYSCALL_PROTOTYPES, ".".join(map(str, VERSION))


class TracedTask:
    """A tracee task's state between its stops."""

    __slots__ = ("call", "ctx", "in_syscall", "mem", "pid", "seen", "split")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.mem = TraceeMemory(pid)
        self.in_syscall = False
        self.call: Call | None = None
        self.ctx: Ctx | None = None
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
        self.injections = parse_injections(self.options.inject)
        self.strsize = self.options.string_limit or DEFAULT_STRSIZE
        self._func, self._names, self._prototypes, self._version = binding()
        self._only = selection(self.options.syscalls)
        self._tasks: dict[int, TracedTask] = {}
        self._line = 0
        self._undecoded: dict[int, tuple[int, ...]] = {}
        self._announced: set[str] = set()
        self._leader: int | None = None
        self._leader_status: int | None = None  # its wait status, once it ended
        self._started = False  # the command's own execve has begun
        self._kill = False
        self._generic: dict[str, tuple[tuple[Arg, ...], tuple[int, ...]]] = {}
        self._refused: str | None = None
        self._seccomp = False  # the kernel stops the tracees only at the selected calls
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
        if self._refused is not None:
            raise UnsupportedTracee(self._refused)

    # ---- start ----

    def _start(self) -> None:
        report_r, report_w = os.pipe2(os.O_CLOEXEC)
        filter_program = self._filter_program()
        pid = os.fork()
        if pid == 0:  # the child: only async-signal-safe-ish calls until the exec
            try:
                os.close(report_r)
                try:
                    self._func.ptrace_traceme()
                except Exception as exc:
                    os.write(report_w, f"traceme {getattr(exc, 'errno', 0) or 0}".encode())
                    os._exit(127)
                # the command starts with 0, 1 and 2 only, as under strace (Popen close_fds)
                os.closerange(3, report_w)
                os.closerange(report_w + 1, _max_fd())
                # as subprocess does: Python ignores these, and an ignored signal stays so across exec
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)
                signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, self.unblock)
                if filter_program is not None:  # after the closes: until the tracer asks for
                    install_filter(filter_program)  # its stops, selected calls fail with ENOSYS
                os.kill(os.getpid(), signal.SIGSTOP)
                os.execve(self.path, self.argv, os.environ)
            except BaseException:
                pass
            os._exit(127)
        os.close(report_w)
        self._leader = pid
        _, status = os.waitpid(pid, _WALL)
        # read only from a child that is gone: a stopped one still holds the write end
        report = "" if os.WIFSTOPPED(status) else os.read(report_r, 256).decode(errors="replace")
        os.close(report_r)
        if not os.WIFSTOPPED(status):
            code = int(report.split()[-1]) if report.startswith("traceme") else 0
            why = os.strerror(code) if code else "the child did not stop"
            raise PtraceDenied(f"PTRACE_TRACEME failed: {why}")  # the hint is added by sysprobe
        self._seccomp = filter_program is not None and has_filter(pid)
        self._func.ptrace_setoptions(pid, _OPTIONS | (PTRACE_O_TRACESECCOMP if self._seccomp else 0))
        task = TracedTask(pid)
        task.seen = True
        self._tasks[pid] = task
        self._resume(pid, 0)

    # ---- the wait loop: strace-style lines ----

    def _lines(self) -> Iterator[str]:
        while self._tasks:
            # sysprobe learns undecoded arguments per call name (on_new_call), not per line
            self._undecoded.clear()
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
            yield self._plain(f"{task.pid:<5} {task.call.name}( <unfinished ...>")

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
        if sig == _SYSCALL_STOP:
            yield from self._syscall_stop(task)
            self._resume(pid, 0)
        elif event == PTRACE_EVENT_SECCOMP:
            # the filter's stop is the call's entry (Linux >= 4.8: no syscall-entry stop
            # follows); resuming with PTRACE_SYSCALL brings its exit stop
            yield from self._syscall_stop(task)
            self._resume(pid, 0)
        elif event:
            yield from self._event_stop(task, event)
            self._resume(pid, 0)
        elif not task.seen and sig == signal.SIGSTOP:
            task.seen = True  # the stop every new tracee starts with: not the program's
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
            if regs.cs != _CS_64BIT or regs.orig_rax & X32_BIT:
                self._refuse(task.pid, regs)
                return
            self._enter(task, regs)
            if task.call is not None:
                yield from self._interrupt()
                self._open, task.split = task, False
            return
        task.in_syscall = False
        call, ctx = task.call, task.ctx
        task.call = task.ctx = None
        if call is None or ctx is None:
            return
        ret = s64(regs.rax)
        injected = self.injections.get(call.name) if self._started else None
        if injected is not None:
            ret = -injected[1] if injected[0] == "error" else injected[1]
            regs.rax = ret & 0xFFFFFFFFFFFFFFFF
            with contextlib.suppress(Exception):
                self._func.ptrace_setregs(task.pid, regs)
        yield from self._finish(task, call, ctx, ret, injected is not None)

    def _enter(self, task: TracedTask, regs: Any) -> None:
        nr = regs.orig_rax
        name = self._names.get(nr, f"syscall_{nr:#x}")
        if not self._started:
            if task.pid != self._leader or name != "execve":
                return  # the tracing process's own child code before the command's exec
            self._started = True
        if self._only is not None and name not in self._only:
            return
        call = Call(task.pid, nr, name, (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9))
        ctx = Ctx(task.mem, call, self.strsize, self.options.decode_fds)
        spec = SPECS.get(name)
        if spec is not None:
            args = spec.args
            call.undecoded = PARTIAL.get(name, ())
        else:
            args, call.undecoded = self._generic_for(name)
        if name not in self._announced:
            self._announced.add(name)
            if self.on_new_call is not None:
                self.on_new_call(name, call.undecoded)
        for i, arg in enumerate(args):
            if arg.at_entry:
                call.entry[i] = arg.fmt(ctx, call.args[i])
        for i, saver in SAVERS.get(name, {}).items():
            saver.fmt(ctx, call.args[i])
        task.call, task.ctx = call, ctx
        if name in self.injections:
            regs.orig_rax = 0xFFFFFFFFFFFFFFFF  # the kernel skips the call (-ENOSYS, replaced at exit)
            with contextlib.suppress(Exception):
                self._func.ptrace_setregs(task.pid, regs)

    def _filter_program(self) -> bytes | None:
        """The seccomp filter for the selected calls, or None (everything is traced)."""
        if self._only is None or not self.options.seccomp:
            return None
        # execve always stops: the trace starts at the command's own exec
        wanted = self._only | {"execve"}
        numbers = sorted(nr for nr, name in self._names.items() if name in wanted and nr < 512)
        return seccomp_filter(numbers)

    def _generic_for(self, name: str) -> tuple[tuple[Arg, ...], tuple[int, ...]]:
        found = self._generic.get(name)
        if found is None:
            proto = self._prototypes.get(name)
            found = self._generic[name] = generic_args(proto[1] if proto else None)
        return found

    def _finish(
        self, task: TracedTask, call: Call, ctx: Ctx, ret: int | None, injected: bool = False
    ) -> Iterator[str]:
        """The line of a finished call (``ret`` None: the task did not come back), or its
        second half when its first is written."""
        if self._open is task:
            self._open = None
        split, task.split = task.split, False
        pid = task.pid
        ctx.ret = ret
        spec = SPECS.get(call.name)
        text = self._arguments(call, ctx, spec)
        opening = f"<... {call.name} resumed>" if split else f"{call.name}("
        if ret is None:
            if spec is not None and spec.ret == RET_NONE:
                yield self._emit(call, f"{pid:<5} {opening}{text}) = ?")
            elif not split:  # else its "<unfinished ...>" line says it all
                yield self._emit(call, f"{pid:<5} {call.name}({text} <unfinished ...>")
            return
        result = self._result(call, ctx, spec.ret if spec else "int", ret)
        if injected:
            result += " (INJECTED)"
        yield self._emit(call, f"{pid:<5} {opening}{text}) = {result}")

    def _emit(self, call: Call, line: str) -> str:
        self._line += 1
        if call.undecoded:
            self._undecoded[self._line] = call.undecoded
        return line

    def _arguments(self, call: Call, ctx: Ctx, spec: Any) -> str:
        if spec is not None and spec.special is not None:
            return str(spec.special(ctx))
        args = spec.args if spec is not None else self._generic_for(call.name)[0]
        count = arity(call, len(args))
        out: list[str] = []
        for i in range(count):
            text = call.entry.get(i)
            if text is None:
                text = args[i].fmt(ctx, call.args[i]) if ctx.ret is not None else hex(call.args[i])
            out.append(text)
        return ", ".join(out)

    def _result(self, call: Call, ctx: Ctx, kind: str, ret: int) -> str:
        if -4096 < ret < 0:
            return errno_result(-ret)
        if kind == "fd" or (kind == "fcntl" and s32(call.args[1]) in (0, 1030)):
            return ctx.fd(ret)
        if kind == "fcntl":
            cmd = s32(call.args[1])
            if cmd == 1:  # F_GETFD
                return "0x1 (flags FD_CLOEXEC)" if ret & 1 else str(ret)
            if cmd == 3:  # F_GETFL
                return f"{ret:#x} (flags {open_flags(ret)})"
        if kind == "hex":
            return hex(ret & 0xFFFFFFFFFFFFFFFF)
        return str(ret)

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
                if task.call is not None and task.ctx is not None:
                    yield from self._finish(task, task.call, task.ctx, None)
                yield self._plain(f"{task.pid:<5} +++ superseded by execve in pid {former} +++")
                if thread is not None:
                    thread.mem.close()
                    task.call, task.ctx, task.split = thread.call, thread.ctx, thread.split
                    if task.call is not None:
                        task.call.pid = task.pid
                    task.in_syscall = thread.in_syscall
                    if task.ctx is not None:
                        task.ctx.tracee = task.mem

    def _signal_stop(self, task: TracedTask, sig: int) -> Iterator[str]:
        info = _siginfo(self._func, task.pid)
        if info is None:  # no siginfo: a group-stop (SIGSTOP, SIGTSTP...), not a delivery
            if self._started:
                yield self._plain(f"{task.pid:<5} --- stopped by {signal_name(sig)} ---")
            self._resume(task.pid, 0)
            return
        if self._started:
            yield self._plain(f"{task.pid:<5} --- {signal_name(sig)} {_siginfo_text(info)} ---")
        self._resume(task.pid, sig)

    def _ended(self, pid: int, status: int) -> Iterator[str]:
        if pid == self._leader:
            self._leader_status = status
        task = self._tasks.pop(pid, None)
        if task is None:
            return
        if task.call is not None and task.ctx is not None:
            yield from self._finish(task, task.call, task.ctx, None)
        task.mem.close()
        if not self._started:
            return
        if os.WIFEXITED(status):
            yield self._plain(f"{pid:<5} +++ exited with {os.WEXITSTATUS(status)} +++")
        else:
            sig = os.WTERMSIG(status)
            core = " (core dumped)" if os.WCOREDUMP(status) else ""
            yield self._plain(f"{pid:<5} +++ killed by {signal_name(sig)}{core} +++")

    def _plain(self, line: str) -> str:
        self._line += 1
        return line

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


_SI_CODES = {0: "SI_USER", -1: "SI_QUEUE", -6: "SI_TKILL", 128: "SI_KERNEL", -2: "SI_TIMER"}
_CLD_CODES = {1: "CLD_EXITED", 2: "CLD_KILLED", 3: "CLD_DUMPED", 4: "CLD_TRAPPED", 5: "CLD_STOPPED",
              6: "CLD_CONTINUED"}  # fmt: skip
_SEGV_CODES = {1: "SEGV_MAPERR", 2: "SEGV_ACCERR"}


def _siginfo_text(info: bytes) -> str:
    signo, _errno, code = struct.unpack_from("<iii", info)
    name = signal_name(signo)
    if signo == signal.SIGCHLD and code > 0:
        pid, uid, status = struct.unpack_from("<iIi", info, 16)
        utime, stime = struct.unpack_from("<qq", info, 32)
        status_text = signal_name(status) if code != 1 else str(status)
        return (
            f"{{si_signo={name}, si_code={_CLD_CODES.get(code, code)}, si_pid={pid}, si_uid={uid}, "
            f"si_status={status_text}, si_utime={utime}, si_stime={stime}}}"
        )
    if signo in (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE) and code > 0:
        addr = struct.unpack_from("<Q", info, 16)[0]
        code_text = _SEGV_CODES.get(code, str(code)) if signo == signal.SIGSEGV else str(code)
        return f"{{si_signo={name}, si_code={code_text}, si_addr={hex(addr) if addr else 'NULL'}}}"
    pid, uid = struct.unpack_from("<iI", info, 16)
    return f"{{si_signo={name}, si_code={_SI_CODES.get(code, code)}, si_pid={pid}, si_uid={uid}}}"


__all__ = ["PtraceLoop", "binding"]
