"""Run a command as strace's child and stream the trace while it runs.

strace writes into a FIFO (``-o FIFO``): strace opens it close-on-exec, so the traced
command starts with descriptors 0, 1 and 2 only, and its own stdout/stderr stay its own.
sysprobe holds a write end of the FIFO as well until strace has exited, so "no writer
yet" never reads as end of file; a pidfd (or a short poll) says when strace is gone.

Killing is done tracee-first: strace 6.1 has no --kill-on-exit, and a strace killed
before its tracees would leave them running untraced. The tracees are found by their
``TracerPid`` in /proc, which also catches daemonized grandchildren.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import BinaryIO

from ..._kernel.signals import exit_status_for
from ..._kernel.syscalls import CREATES_PROCESS, EXECS
from ..._parsing.lineparse import parse_lines
from ..._parsing.sources import CHUNK, split_chunks
from ...errors import CommandNotExecutable, CommandNotFound
from ...events import Event, Exit, Killed, Syscall
from ..placement import choose
from .binary import Strace, diagnose, ensure_usable, locate, seccomp_works

GRACE_SECONDS = 3.0  # after forwarding a signal, how long the command gets to exit
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


@dataclass
class RunOptions:
    """How to run strace. ``strace_args`` are passed through (``-e trace=...``)."""

    strace_args: Sequence[str] = ()
    features: Sequence[str] = ()  # strace features strace_args need (see _strace.FEATURE_SINCE)
    timeout: float | None = None
    raw_output: str | None = None  # also save the raw strace text here
    strace: str | None = None
    decode_fds: bool = True  # -y: paths, pipe:[N], socket:[N] for every descriptor
    cwd: str | None = None
    env: Mapping[str, str] | None = None
    # trace only these: names, or strace's own -e trace= expression ("openat,%process"); None: all
    syscalls: str | Collection[str] | None = None
    seccomp: bool = True  # filter `syscalls` in the kernel (--seccomp-bpf) where strace can
    placement: str = "auto"  # see _placement: strace and its tracees on one CPU, sysprobe on others
    inject: Sequence[str] = ()  # fault injections, strace's -e inject= syntax ("epoll_create1:error=ENOSYS")
    string_limit: int | None = None  # strace's -s: how much of a string to print


@dataclass
class RunOutcome:
    """What happened to the run, beyond the events."""

    argv: list[str]
    strace: Strace | None  # None under the ptrace backend
    strace_argv: list[str]
    leader_pid: int | None = None
    exit_status: int | None = None  # the command's status as a shell reports it (128+N: signal)
    leader_signal: str | None = None  # the signal that killed the command
    timed_out: bool = False
    signals_received: list[int] = field(default_factory=list)
    strace_returncode: int | None = None
    wall_seconds: float = 0.0
    exec_succeeded: bool = False  # did the command's own execve succeed?
    exec_error: tuple[str, str] | None = None  # (errno, text) of its failed execve
    backend: str = "strace"  # which tracer ran: "strace" or "ptrace"
    tracer: str = ""  # the tracer and its version, for reports and golden headers

    def raise_exec_error(self) -> None:
        """The command's own execve failed: say so as a shell does (127 or 126)."""
        if not self.exec_succeeded and self.exec_error is not None:
            errno, text = self.exec_error
            error = CommandNotFound if errno == "ENOENT" else CommandNotExecutable
            raise error(f"{self.argv[0]}: cannot execute: {text}")

    def __post_init__(self) -> None:
        if not self.tracer and self.strace is not None:
            self.tracer = f"strace {self.strace.version_text}"

    @property
    def interrupted(self) -> bool:
        return bool(self.signals_received)


def resolve_command(argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | None = None) -> str:
    """Find the program as execvp would, or raise the shell's 127/126 errors."""
    if not argv:
        raise CommandNotFound("no command given (usage: sysprobe trace -- CMD [ARGS...])")
    name = argv[0]
    if "/" in name:
        if cwd is not None:
            name = os.path.join(cwd, name)
        if not os.path.exists(name):
            raise CommandNotFound(f"{name}: no such file")
        if os.path.isdir(name) or not os.access(name, os.X_OK):
            raise CommandNotExecutable(f"{name}: not an executable file")
        return name
    path_var = (env or os.environ).get("PATH", os.defpath)
    found = shutil.which(name, path=path_var)
    if found is None:
        if shutil.which(name, mode=os.F_OK, path=path_var):
            raise CommandNotExecutable(f"{name}: permission denied")
        raise CommandNotFound(f"{name}: command not found")
    return found


class TracedRun:
    """One traced run. Iterate ``events()``; read ``outcome`` afterwards."""

    def __init__(
        self,
        argv: Sequence[str],
        options: RunOptions | None = None,
        *,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.options = options or RunOptions()
        self.on_idle = on_idle  # called before waiting for more trace (flush output here)
        self.outcome: RunOutcome | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._signals: list[int] = []
        self._handled = 0
        self._wake_read: int | None = None
        self._kill_since: float | None = None
        self._grace_until: float | None = None
        self._strace: Strace | None = None
        self._alive: set[int] = set()  # traced pids not yet seen to end
        self._started_ticks = 0  # when strace started, in clock ticks since boot

    def strace_options(self) -> list[str]:
        """The options sysprobe gives strace besides ``-f -o FIFO``."""
        opts = self.options
        out = ["-y"] if opts.decode_fds else []
        if isinstance(opts.syscalls, str):
            expression = opts.syscalls.removeprefix("trace=")
            out += ["-e", f"trace={expression}"]
        elif opts.syscalls is not None:
            # "?name": a call this architecture does not have is skipped, not an error
            out += ["-e", "trace=" + ",".join(f"?{name}" for name in sorted(opts.syscalls))]
        if (
            opts.syscalls is not None
            and opts.seccomp
            and self._strace is not None
            and seccomp_works(self._strace)
        ):
            out.append("--seccomp-bpf")  # the kernel stops the tracee only for these calls
        for spec in opts.inject:
            out += ["-e", spec if spec.startswith("inject=") else f"inject={spec}"]
        if opts.string_limit:
            out += ["-s", str(opts.string_limit)]
        return out + list(opts.strace_args)

    def strace_command(self, fifo: str) -> tuple[Strace, list[str]]:
        strace = locate(self.options.strace)
        for feature in [*self.options.features, *(["-e inject="] if self.options.inject else [])]:
            strace.require(feature)
        ensure_usable(strace)
        self._strace = strace
        return strace, [strace.path, "-f", "-o", fifo, *self.strace_options(), "--", *self.argv]

    def events(self) -> Iterator[Event]:
        """Start the command under strace and yield its events as strace writes them."""
        resolve_command(self.argv, self.options.env, self.options.cwd)
        workdir = tempfile.mkdtemp(prefix="sysprobe-")
        fifo = os.path.join(workdir, "trace")
        os.mkfifo(fifo, 0o600)
        strace, strace_argv = self.strace_command(fifo)
        outcome = RunOutcome(list(self.argv), strace, strace_argv)
        self.outcome = outcome
        started = time.monotonic()
        read_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        hold_fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        hold_owned = True
        raw_copy = open(self.options.raw_output, "wb") if self.options.raw_output else None  # noqa: SIM115
        restore = self._install_signal_handlers()
        seen_any = False
        try:
            self._proc = self._spawn(strace_argv)
            self._started_ticks = _start_ticks(self._proc.pid) or 0
            chunks = self._chunks(read_fd, hold_fd, raw_copy, started)
            hold_owned = False  # _chunks closes it
            for event in parse_lines(split_chunks(chunks)):
                seen_any = True
                note_event(event, outcome, self._alive)
                yield event
        finally:
            self._shutdown(read_fd)
            if hold_owned:
                os.close(hold_fd)
            os.close(read_fd)
            if raw_copy is not None:
                raw_copy.close()
            restore()
            shutil.rmtree(workdir, ignore_errors=True)
            outcome.wall_seconds = time.monotonic() - started
            outcome.signals_received = list(self._signals)
            if self._proc is not None:
                outcome.strace_returncode = self._proc.returncode
        if outcome.exit_status is None and outcome.strace_returncode is not None:
            rc = outcome.strace_returncode
            outcome.exit_status = 128 - rc if rc < 0 else rc
        if not seen_any and outcome.strace_returncode not in (0, None) and not outcome.timed_out:
            raise diagnose(strace, self.strace_options())
        outcome.raise_exec_error()

    def _spawn(self, strace_argv: list[str]) -> subprocess.Popen[bytes]:
        """Start strace; with a placement, it and its tracees inherit the first CPU set."""
        cpus = choose(self.options.placement)
        if cpus is not None:
            previous = os.sched_getaffinity(0)
            os.sched_setaffinity(0, cpus[0])  # inherited by the child at fork
        try:
            return subprocess.Popen(
                strace_argv,
                close_fds=True,
                cwd=self.options.cwd,
                env=dict(self.options.env) if self.options.env is not None else None,
            )
        finally:
            if cpus is not None:
                os.sched_setaffinity(0, cpus[1] or previous)

    # ---- the read loop ----

    def _chunks(
        self, read_fd: int, hold_fd: int, raw_copy: BinaryIO | None, started: float
    ) -> Iterator[bytes]:
        proc = self._proc
        assert proc is not None
        deadline = started + self.options.timeout if self.options.timeout else None
        pidfd = _pidfd(proc.pid)
        wake_fd = self._wake_read
        done = False
        holding: int | None = hold_fd
        try:
            while True:
                watch = [read_fd]
                if pidfd is not None and not done:
                    watch.append(pidfd)
                if wake_fd is not None:
                    watch.append(wake_fd)
                wait = 0.05 if self._kill_since is not None else 0.5
                if deadline is not None and not self.outcome_timed_out():
                    wait = min(wait, max(0.0, deadline - time.monotonic()))
                if self._grace_until is not None:
                    wait = min(wait, max(0.0, self._grace_until - time.monotonic()))
                if self.on_idle is not None:
                    self.on_idle()
                ready, _, _ = select.select(watch, [], [], wait)
                if read_fd in ready:
                    try:
                        data = os.read(read_fd, CHUNK)
                    except BlockingIOError:
                        data = None
                    if data == b"":
                        return  # every writer gone: strace exited and the FIFO is drained
                    if data:
                        if raw_copy is not None:
                            raw_copy.write(data)
                        yield data
                if wake_fd is not None and wake_fd in ready:
                    with contextlib.suppress(BlockingIOError):
                        os.read(wake_fd, 512)
                    self._handle_signals()
                if not done and (proc.poll() is not None):
                    done = True
                    if holding is not None:
                        os.close(holding)  # now the reads end once the FIFO is drained
                        holding = None
                now = time.monotonic()
                if deadline is not None and now >= deadline and not self.outcome_timed_out():
                    assert self.outcome is not None
                    self.outcome.timed_out = True
                    self._request_kill()
                if self._grace_until is not None and now >= self._grace_until:
                    self._grace_until = None
                    self._request_kill()
                if self._kill_since is not None and not done:
                    self._kill_tracees(now)
        finally:
            if holding is not None:
                os.close(holding)
            if pidfd is not None:
                os.close(pidfd)

    def outcome_timed_out(self) -> bool:
        return self.outcome is not None and self.outcome.timed_out

    # ---- signals, kills, shutdown ----

    def _install_signal_handlers(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._wake_read = wake_read
        previous_wakeup = signal.set_wakeup_fd(wake_write)
        previous = {sig: signal.getsignal(sig) for sig in _FORWARDED}

        def handler(signum: int, _frame: FrameType | None) -> None:
            self._signals.append(signum)

        for sig in _FORWARDED:
            signal.signal(sig, handler)

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)
            signal.set_wakeup_fd(previous_wakeup)
            os.close(wake_read)
            os.close(wake_write)

        return restore

    def _handle_signals(self) -> None:
        for signum in self._signals[self._handled :]:
            self._handled += 1
            if self._handled == 1:
                self._forward(signum)
                self._grace_until = time.monotonic() + GRACE_SECONDS
            else:
                self._request_kill()  # a second signal: stop now

    def _forward(self, signum: int) -> None:
        if signum in (signal.SIGINT, signal.SIGQUIT) and _terminal_foreground():
            return  # the terminal sent it to the whole foreground group, the command included
        leader = self.outcome.leader_pid if self.outcome else None
        targets = [leader] if leader is not None else self._tracees()
        for pid in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)

    def _request_kill(self) -> None:
        if self._kill_since is None:
            self._kill_since = time.monotonic()
            self._kill_tracees(self._kill_since)

    def _kill_tracees(self, now: float) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        for pid in self._tracees():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if self._kill_since is not None and now - self._kill_since > 5.0:
            proc.kill()  # strace itself is stuck; its tracees are dead by now

    def _tracees(self) -> list[int]:
        proc = self._proc
        return tracees_of(proc.pid) if proc is not None else []

    def _shutdown(self, read_fd: int) -> None:
        """Leave nothing behind: strace, its tracees, and tracees that outlived strace."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._request_kill()
            give_up = time.monotonic() + 10.0
            while proc.poll() is None and time.monotonic() < give_up:
                self._kill_tracees(time.monotonic())
                with contextlib.suppress(BlockingIOError):  # keep strace from blocking on a full FIFO
                    while os.read(read_fd, CHUNK):
                        pass
                time.sleep(0.02)
            if proc.poll() is None:
                proc.kill()
        proc.wait()
        self._kill_survivors()

    def _kill_survivors(self) -> None:
        """strace 6.1 has no --kill-on-exit: when strace dies before its tracees (killed,
        crashed), they run on untraced — under --seccomp-bpf with every filtered call failing.
        Kill the pids the trace showed alive if they are still processes that started during
        this run (not in the session alone: a daemon under test leaves it with setsid)."""
        for pid in self._alive:
            started = _start_ticks(pid)
            if started is not None and started >= self._started_ticks:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)


def note_event(event: Event, outcome: RunOutcome, alive: set[int]) -> None:
    """What an event says about the run: the command's exec, exit status, live tasks."""
    if event.pid is not None:
        if isinstance(event, Exit | Killed):
            alive.discard(event.pid)
        else:
            alive.add(event.pid)
        # a child that makes no traced call shows only in its parent's result (if it
        # ended first, it is gone: _kill_survivors finds no such process)
        if isinstance(event, Syscall) and event.name in CREATES_PROCESS and event.ret and event.ret > 0:
            alive.add(event.ret)
    if outcome.leader_pid is None and event.pid is not None:
        outcome.leader_pid = event.pid
    if event.pid is not None and event.pid == outcome.leader_pid:
        if isinstance(event, Syscall) and event.name in EXECS and not outcome.exec_succeeded:
            if event.ret == 0:
                outcome.exec_succeeded = True
            elif event.errno is not None:
                outcome.exec_error = (event.errno, event.errno_text or event.errno)
        elif isinstance(event, Exit):
            outcome.exit_status = event.code
        elif isinstance(event, Killed):
            outcome.leader_signal = event.signal
            outcome.exit_status = exit_status_for(event.signal)


def tracees_of(tracer: int) -> list[int]:
    """Processes whose ``TracerPid`` is ``tracer``."""
    found: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as fh:
                status = fh.read(2048)
        except OSError:
            continue
        at = status.find(b"TracerPid:")
        if at >= 0:
            value = status[at + 10 : status.find(b"\n", at)].strip()
            if value.isdigit() and int(value) == tracer:
                found.append(int(name))
    return found


def _start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot; None: no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()  # fields from the 3rd (state) on
    return int(fields[19]) if len(fields) > 19 else None


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _terminal_foreground() -> bool:
    """Are we in the foreground process group of a terminal (where ^C reaches everyone)?"""
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd):
                return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False
