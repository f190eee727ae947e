"""The ptrace backend: trace a command in-process where no strace binary exists.

The command starts as our child (fork, PTRACE_TRACEME, SIGSTOP, exec — never attach).
python-ptrace supplies the ptrace binding; the syscall table is sysprobe's own
(``_kernel``). The wait loop is our own: one blocking ``waitpid(-1, __WALL)`` for every
tracee (python-ptrace's own loop polls each process and sleeps, 50× slower on fork-heavy
programs). Each finished call becomes one strace-style line (``render.finish``), parsed by
the same line parser as strace's output, so the events, the descriptor model, rules and
goldens are the same code.

What strace does and this backend mirrors: a new task's lines may come before its
parent's clone result; a thread's exec prints ``+++ superseded by execve in pid N +++``
and the execve result under the leader's pid; a task killed inside a call leaves it
``<unfinished ...>``; ``exit``/``exit_group`` end with ``= ?``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import struct
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from types import FrameType
from typing import Any

from ..._kernel.constants import constants
from ..._kernel.signals import signal_name
from ..._kernel.syscalls import EXECS, X32_SYSCALL_BIT, number_of
from ..._parsing.lineparse import parse_lines
from ...errors import BackendMissing, PtraceDenied, UnsupportedTracee, UsageError
from ...events import Event, Syscall
from ..placement import choose as choose_cpus
from ..strace.tracer import RunOptions, RunOutcome, note_event, resolve_command
from .decode import PendingCall, begin, call_name, s64, undecoded
from .render import finish, siginfo_text

_WALL = constants("x86_64")["__WALL"]
_SYSCALL_STOP = signal.SIGTRAP | 0x80
PTRACE_O_TRACESYSGOOD = 0x1
PTRACE_O_TRACEFORK = 0x2
PTRACE_O_TRACEVFORK = 0x4
PTRACE_O_TRACECLONE = 0x8
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACESECCOMP = 0x80
PTRACE_O_EXITKILL = 0x100000  # tracees die with sysprobe: none outlives its tracer
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
GRACE_SECONDS = 3.0
DEFAULT_STRSIZE = 32  # strace's -s default
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def binding() -> tuple[Any, str]:
    """python-ptrace's binding and version — or a clear error."""
    try:
        from ptrace.binding import func
        from ptrace.version import VERSION
    except ImportError as exc:
        raise BackendMissing(
            "the ptrace backend needs python-ptrace: pip install 'sysprobe[ptrace]' "
            f"(or install strace and use --backend strace) [{exc}]"
        ) from None
    if os.uname().machine != "x86_64":
        raise BackendMissing(
            f"the ptrace backend decodes x86_64 only; this machine is {os.uname().machine}: "
            "use --backend strace"
        )
    return func, ".".join(map(str, VERSION))


def available() -> str | None:
    """Why the ptrace backend cannot run here, or None."""
    try:
        binding()
    except BackendMissing as exc:
        return str(exc)
    return None


class _Memory:
    """A task's memory and descriptors, read through /proc while it is stopped."""

    __slots__ = ("_fd", "pid")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._fd: int | None = None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _handle(self) -> int | None:
        if self._fd is None:
            try:
                self._fd = os.open(f"/proc/{self.pid}/mem", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
        return self._fd

    def read(self, addr: int, size: int) -> bytes | None:
        fd = self._handle()
        if fd is None or addr <= 0 or addr >= 1 << 63 or size < 0:
            return None
        try:
            return os.pread(fd, size, addr)
        except OSError:
            return None

    def cstring(self, addr: int, limit: int) -> tuple[bytes, bool] | None:
        out = b""
        while len(out) <= limit:
            # never read across a page: the next one may be unmapped
            chunk = 4096 - ((addr + len(out)) & 4095)
            data = self.read(addr + len(out), chunk)
            if not data:
                return (out, False) if out else None
            nul = data.find(b"\0")
            if nul >= 0:
                return out + data[:nul], False
            out += data
        return out[:limit], True

    def fd_info(self, fd: int) -> str | None:
        try:
            return os.readlink(f"/proc/{self.pid}/fd/{fd}")
        except OSError:
            return None

    def cwd(self) -> str | None:
        try:
            return os.readlink(f"/proc/{self.pid}/cwd")
        except OSError:
            return None


class _Task:
    __slots__ = ("call", "in_syscall", "mem", "pid", "seen")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.mem = _Memory(pid)
        self.in_syscall = False
        self.call: PendingCall | None = None
        self.seen = False  # its first (attach) stop arrived


def parse_injections(specs: Sequence[str]) -> dict[str, tuple[str, int]]:
    """``NAME[,NAME]:error=ERRNO`` or ``:retval=N`` (strace's -e inject= subset this backend does)."""
    out: dict[str, tuple[str, int]] = {}
    for spec in specs:
        spec = spec.removeprefix("inject=")
        names, _, action = spec.partition(":")
        key, _, value = action.partition("=")
        if key == "error":
            code = getattr(errno, value, None) if not value.isdigit() else int(value)
            if not isinstance(code, int):
                raise UsageError(f"inject {spec!r}: unknown errno {value!r}")
            what = ("error", code)
        elif key == "retval" and value.lstrip("-").isdigit():
            what = ("retval", int(value))
        else:
            raise UsageError(
                f"inject {spec!r}: the ptrace backend injects NAME:error=ERRNO or NAME:retval=N only"
            )
        for name in names.split(","):
            out[name.strip()] = what
    return out


class PtraceRun:
    """One run under the ptrace backend; the same interface as ``_runner.TracedRun``."""

    def __init__(
        self,
        argv: Sequence[str],
        options: RunOptions | None = None,
        *,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.options = options or RunOptions()
        self.on_idle = on_idle
        self.outcome: RunOutcome | None = None
        self.injections = parse_injections(self.options.inject)
        self.strsize = self.options.string_limit or DEFAULT_STRSIZE
        self._func, self._version = binding()
        if self.options.strace_args:
            raise UsageError(
                "the ptrace backend takes no strace options "
                f"({' '.join(self.options.strace_args)}): use --backend strace for them"
            )
        self._only = _selection(self.options.syscalls)
        self._tasks: dict[int, _Task] = {}
        self._leader: int | None = None
        self._started = False  # the command's own execve has begun
        self._signals: list[int] = []
        self._kill = threading.Event()
        self._timers: list[threading.Timer] = []
        self._refused: str | None = None
        self._seccomp = False  # the kernel stops the tracees only at the selected calls

    @property
    def tracer(self) -> str:
        return f"python-ptrace {self._version}"

    # ---- the public loop ----

    def events(self) -> Iterator[Event]:
        path = resolve_command(self.argv, self.options.env, self.options.cwd)
        outcome = RunOutcome(list(self.argv), None, [], backend="ptrace", tracer=self.tracer)
        self.outcome = outcome
        started = time.monotonic()
        raw_copy = open(self.options.raw_output, "w") if self.options.raw_output else None  # noqa: SIM115
        restore = self._install_signal_handlers()
        alive: set[int] = set()
        # tracer and tracee take turns at every stop: on one CPU a turn costs a few µs,
        # across CPUs ~25 µs (BENCHMARKS.md), so the whole run shares the first CPU
        cpus = choose_cpus(self.options.placement)
        previous = os.sched_getaffinity(0) if cpus is not None else None
        if cpus is not None:
            os.sched_setaffinity(0, cpus[0])
        try:
            self._start(path)
            if self.options.timeout:
                self._timer(self.options.timeout, self._time_out)
            lines = self._lines()
            if raw_copy is not None:
                lines = _tee(lines, raw_copy)
            for event in parse_lines(lines):
                if isinstance(event, Syscall):
                    event.undecoded = undecoded(event.name)
                note_event(event, outcome, alive)
                yield event
        finally:
            for timer in self._timers:
                timer.cancel()
            self._kill_all()
            self._reap()
            for task in self._tasks.values():
                task.mem.close()
            if raw_copy is not None:
                raw_copy.close()
            if previous is not None:
                os.sched_setaffinity(0, previous)
            restore()
            outcome.wall_seconds = time.monotonic() - started
            outcome.signals_received = list(self._signals)
        if self._refused is not None:
            raise UnsupportedTracee(self._refused)
        outcome.raise_exec_error()

    # ---- start ----

    def _start(self, path: str) -> None:
        env = dict(self.options.env) if self.options.env is not None else dict(os.environ)
        report_r, report_w = os.pipe2(os.O_CLOEXEC)
        filter_program = self._filter_program()
        pid = os.fork()
        if pid == 0:  # the child: only async-signal-safe-ish calls until the exec
            try:
                os.close(report_r)
                if self.options.cwd is not None:
                    os.chdir(self.options.cwd)
                try:
                    self._func.ptrace_traceme()
                except Exception as exc:
                    os.write(report_w, f"traceme {getattr(exc, 'errno', 0) or 0}".encode())
                    os._exit(127)
                # the command starts with 0, 1 and 2 only, as under strace (Popen close_fds)
                os.closerange(3, report_w)
                os.closerange(report_w + 1, _max_fd())
                if filter_program is not None:  # after the closes: until the tracer asks for
                    install_filter(filter_program)  # its stops, selected calls fail with ENOSYS
                os.kill(os.getpid(), signal.SIGSTOP)
                os.execve(path, self.argv, env)
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
            from ..strace.binary import ptrace_hint

            why = os.strerror(code) if code else "the child did not stop"
            raise PtraceDenied(
                f"ptrace is not permitted here ({ptrace_hint()}); PTRACE_TRACEME failed: {why}"
            )
        self._seccomp = filter_program is not None and _has_filter(pid)
        self._func.ptrace_setoptions(pid, _OPTIONS | (PTRACE_O_TRACESECCOMP if self._seccomp else 0))
        task = _Task(pid)
        task.seen = True
        self._tasks[pid] = task
        self._resume(pid, 0)

    # ---- the wait loop: strace-style lines ----

    def _lines(self) -> Iterator[str]:
        while self._tasks:
            if self.on_idle is not None:
                self.on_idle()
            try:
                pid, status = os.waitpid(-1, _WALL)
            except ChildProcessError:
                break
            if self._kill.is_set():
                self._kill_all()
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                yield from self._ended(pid, status)
                continue
            if not os.WIFSTOPPED(status):
                continue
            task = self._tasks.get(pid)
            if task is None:
                task = self._tasks[pid] = _Task(pid)  # a new child, before its parent's event
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

    def _syscall_stop(self, task: _Task) -> Iterator[str]:
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
            return
        task.in_syscall = False
        call = task.call
        task.call = None
        if call is None:
            return
        ret = s64(regs.rax)
        injected = self.injections.get(call.name) if self._started else None
        if injected is not None:
            ret = -injected[1] if injected[0] == "error" else injected[1]
            regs.rax = ret & 0xFFFFFFFFFFFFFFFF
            with contextlib.suppress(Exception):
                self._func.ptrace_setregs(task.pid, regs)
        yield finish(task.pid, call, ret, injected is not None)

    def _enter(self, task: _Task, regs: Any) -> None:
        nr = regs.orig_rax
        name = call_name(nr)
        if not self._started:
            if task.pid != self._leader or name not in EXECS:
                return  # sysprobe's own child code before the command's exec
            self._started = True
        if self._only is not None and name not in self._only:
            return
        registers = (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9)
        task.call = begin(name, registers, task.mem, self.strsize, self.options.decode_fds)
        if name in self.injections:
            regs.orig_rax = 0xFFFFFFFFFFFFFFFF  # the kernel skips the call (-ENOSYS, replaced at exit)
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

    def _event_stop(self, task: _Task, event: int) -> Iterator[str]:
        if event in (PTRACE_EVENT_FORK, PTRACE_EVENT_VFORK, PTRACE_EVENT_CLONE):
            with contextlib.suppress(Exception):
                child = int(self._func.ptrace_geteventmsg(task.pid))
                self._tasks.setdefault(child, _Task(child))
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
                    yield finish(task.pid, task.call, None)
                yield self._plain(f"{task.pid:<5} +++ superseded by execve in pid {former} +++")
                if thread is not None:
                    thread.mem.close()
                    task.call = thread.call
                    task.in_syscall = thread.in_syscall
                    if task.call is not None:
                        task.call.tracee = task.mem

    def _signal_stop(self, task: _Task, sig: int) -> Iterator[str]:
        info = _siginfo(self._func, task.pid)
        if info is None:  # no siginfo: a group-stop (SIGSTOP, SIGTSTP...), not a delivery
            if self._started:
                yield self._plain(f"{task.pid:<5} --- stopped by {signal_name(sig)} ---")
            self._resume(task.pid, 0)
            return
        if self._started:
            yield self._plain(f"{task.pid:<5} --- {signal_name(sig)} {siginfo_text(info)} ---")
        self._resume(task.pid, sig)

    def _ended(self, pid: int, status: int) -> Iterator[str]:
        task = self._tasks.pop(pid, None)
        if task is None:
            return
        if task.call is not None:
            yield finish(pid, task.call, None)
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
        self._kill.set()
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

    def _timer(self, seconds: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _time_out(self) -> None:
        if self.outcome is not None:
            self.outcome.timed_out = True
        self._kill.set()
        self._kill_all()  # SIGKILL wakes the wait loop: the deaths are reported

    def _install_signal_handlers(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {sig: signal.getsignal(sig) for sig in _FORWARDED}

        def handler(signum: int, _frame: FrameType | None) -> None:
            self._signals.append(signum)
            if len(self._signals) == 1:
                if self._leader is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(self._leader, signum)
                self._timer(GRACE_SECONDS, self._kill_all)
            else:
                self._kill.set()
                self._kill_all()

        for sig in _FORWARDED:
            signal.signal(sig, handler)

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        return restore


# ---- the seccomp filter (what strace --seccomp-bpf installs): trace the selected calls ----

_AUDIT_ARCH_X86_64 = 0xC000003E
_RET_TRACE, _RET_ALLOW = 0x7FF00000, 0x7FFF0000
_LD_ABS, _JEQ, _JSET, _RET = 0x20, 0x15, 0x45, 0x06


def seccomp_filter(numbers: Sequence[int]) -> bytes | None:
    """A classic-BPF program: stop (SECCOMP_RET_TRACE) at ``numbers``, at any call of
    another ABI (so a 32-bit or x32 program is still seen, and refused), allow the rest."""
    if len(numbers) > 250:  # jump offsets are one byte
        return None
    n = len(numbers)
    trace_at = 6 + n  # index of the RET TRACE instruction, after n JEQs and RET ALLOW
    prog = [
        (_LD_ABS, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 1, 0, _AUDIT_ARCH_X86_64),
        (_RET, 0, 0, _RET_TRACE),
        (_LD_ABS, 0, 0, 0),  # seccomp_data.nr
        (_JSET, trace_at - 5, 0, X32_SYSCALL_BIT),  # jumps count from the next instruction
    ]
    for i, nr in enumerate(numbers):
        prog.append((_JEQ, trace_at - (5 + i) - 1, 0, nr))
    prog += [(_RET, 0, 0, _RET_ALLOW), (_RET, 0, 0, _RET_TRACE)]
    return b"".join(struct.pack("<HBBI", *ins) for ins in prog)


def install_filter(program: bytes) -> bool:
    """Install a seccomp filter on this process (the child, before its exec)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    buf = ctypes.create_string_buffer(program, len(program))

    class SockFprog(ctypes.Structure):
        _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))

    fprog = SockFprog(len(program) // 8, ctypes.addressof(buf))
    if os.geteuid() != 0:
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: required without CAP_SYS_ADMIN
    return int(libc.prctl(22, 2, ctypes.addressof(fprog), 0, 0)) == 0  # PR_SET_SECCOMP, FILTER


def _has_filter(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return any(line.split() == ["Seccomp:", "2"] for line in fh)
    except OSError:
        return False


def _selection(syscalls: str | Collection[str] | None) -> frozenset[str] | None:
    """The calls to print, from RunOptions.syscalls (names, or strace's expression with
    ``?name`` entries); None: every call. Classes (``%process``) are not supported."""
    if syscalls is None:
        return None
    items = syscalls.removeprefix("trace=").split(",") if isinstance(syscalls, str) else list(syscalls)
    names: set[str] = set()
    for item in items:
        item = str(item).strip().lstrip("?")
        if item in ("all", ""):
            return None
        if item.startswith(("%", "/", "!")):
            raise UsageError(
                f"the ptrace backend selects calls by name only, not {item!r}: use --backend strace"
            )
        names.add(item)
    return frozenset(names)


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


def _tee(lines: Iterator[str], out: Any) -> Iterator[str]:
    for line in lines:
        out.write(line + "\n")
        yield line


__all__ = ["PtraceRun", "available", "binding", "parse_injections"]
