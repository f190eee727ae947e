"""One traced run, supervised the same way whichever tracer runs it.

The tracer (strace, or the ptrace backend's tracing process) is sysprobe's child and the
command's only tracer; it writes its trace into a FIFO (``-o FIFO``). The FIFO is opened
close-on-exec, so the command starts with descriptors 0, 1 and 2 only. sysprobe holds a
write end of the FIFO as well until the tracer has exited, so "no writer yet" never reads
as end of file; a pidfd (or a short poll) says when the tracer is gone.

Written once here, for every tracer: the raw copy (``-o FILE``), signal forwarding and the
grace period, the timeout, CPU placement, killing the traced tree (tracees first: a tracer
killed before them would leave them running untraced), killing survivors of a tracer that
died first, and what the events say about the run (``note_event``: the command's pid, its
own exec, its exit status).
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import BinaryIO

from .._kernel.signals import exit_status_for
from .._kernel.syscalls import CREATES_PROCESS, EXECS
from .._parsing.lineparse import parse_lines
from .._parsing.sources import CHUNK, split_chunks
from ..errors import CommandNotExecutable, CommandNotFound
from ..events import Event, Exit, Killed, Syscall
from .base import RunOptions, Tracer, TracerInfo, tracees_of
from .placement import cpu_split

GRACE_SECONDS = 3.0  # after forwarding a signal, how long the command gets to exit
STUCK_SECONDS = 5.0  # after killing the tracees, how long the tracer gets to report and exit
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


@dataclass
class RunOutcome:
    """What happened to the run, beyond the events."""

    argv: list[str]
    tracer_info: TracerInfo  # what traced it, with the options it used
    leader_pid: int | None = None
    exit_status: int | None = None  # the command's status as a shell reports it (128+N: signal)
    leader_signal: str | None = None  # the signal that killed the command
    timed_out: bool = False
    signals_received: list[int] = field(default_factory=list)
    tracer_returncode: int | None = None  # the tracing process's own exit status (Popen's)
    wall_seconds: float = 0.0
    exec_succeeded: bool = False  # did the command's own execve succeed?
    exec_error: tuple[str, str] | None = None  # (errno, text) of its failed execve

    @property
    def backend(self) -> str:
        """Which tracer ran: "strace" or "ptrace"."""
        return self.tracer_info.backend

    @property
    def tracer(self) -> str:
        """The tracer and its version ("strace 6.1"), for reports and golden headers."""
        return str(self.tracer_info)

    @property
    def interrupted(self) -> bool:
        return bool(self.signals_received)

    def raise_exec_error(self) -> None:
        """The command's own execve failed: say so as a shell does (127 or 126)."""
        if not self.exec_succeeded and self.exec_error is not None:
            errno, text = self.exec_error
            error = CommandNotFound if errno == "ENOENT" else CommandNotExecutable
            raise error(f"{self.argv[0]}: cannot execute: {text}")


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


class Supervisor:
    """One traced run. Iterate ``events()``; read ``outcome`` afterwards."""

    def __init__(
        self,
        argv: Sequence[str],
        options: RunOptions,
        tracer: Tracer,
        *,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.options = options
        self.tracer = tracer
        self.on_idle = on_idle  # called before waiting for more trace (flush output here)
        self.outcome: RunOutcome | None = None
        self._proc: subprocess.Popen[bytes] | None = None  # the tracing process
        self._signals: list[int] = []
        self._handled = 0
        self._wake_read: int | None = None
        self._hold_fd: int | None = None  # sysprobe's own write end of the FIFO
        self._kill_since: float | None = None
        self._grace_until: float | None = None
        self._alive: set[int] = set()  # traced pids not yet seen to end
        self._started_ticks = 0  # when the tracer started, in clock ticks since boot

    def events(self) -> Iterator[Event]:
        """Start the command under the tracer and yield its events as the tracer writes them."""
        path = resolve_command(self.argv, self.options.env, self.options.cwd)
        self.tracer.prepare()
        started = time.monotonic()
        outcome = RunOutcome(list(self.argv), self.tracer.describe())
        self.outcome = outcome
        traced = False
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(self.tracer.close)
            workdir = tempfile.mkdtemp(prefix="sysprobe-")
            cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
            fifo = os.path.join(workdir, "trace")
            os.mkfifo(fifo, 0o600)
            read_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            cleanup.callback(os.close, read_fd)
            self._hold_fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            cleanup.callback(self._release_hold)
            raw_copy = cleanup.enter_context(open_raw_copy(self.options.raw_output))
            cleanup.callback(self._install_signal_handlers())
            cleanup.callback(self._conclude, outcome, started)
            cleanup.callback(self._shutdown, read_fd)
            self._proc = self._spawn(cleanup, path, fifo)
            self._started_ticks = _start_ticks(self._proc.pid) or 0
            outcome.tracer_info = self.tracer.describe()
            annotate = self.tracer.annotator()
            for event in parse_lines(split_chunks(self._chunks(read_fd, raw_copy, started))):
                traced = True
                if annotate is not None:
                    annotate(event)
                note_event(event, outcome, self._alive)
                yield event
        if outcome.exit_status is None and outcome.tracer_returncode is not None:
            rc = outcome.tracer_returncode  # the tracer exits with the command's status
            outcome.exit_status = 128 - rc if rc < 0 else rc
        if not outcome.timed_out and outcome.tracer_returncode is not None:
            error = self.tracer.diagnose(outcome.tracer_returncode, traced)
            if error is not None:
                raise error
        outcome.raise_exec_error()

    def _spawn(self, cleanup: contextlib.ExitStack, path: str, fifo: str) -> subprocess.Popen[bytes]:
        """Start the tracer; with a placement, it traces on the first CPUs and sysprobe
        parses on the others (the calling thread's affinity is restored when the run ends)."""
        cpus = cpu_split(self.options.placement)
        if cpus is None:
            return self.tracer.start(self.argv, path, fifo, None)
        proc = self.tracer.start(self.argv, path, fifo, cpus.tracer)
        if cpus.sysprobe:
            cleanup.callback(os.sched_setaffinity, 0, os.sched_getaffinity(0))
            os.sched_setaffinity(0, cpus.sysprobe)
        return proc

    def _conclude(self, outcome: RunOutcome, started: float) -> None:
        outcome.wall_seconds = time.monotonic() - started
        outcome.signals_received = list(self._signals)
        if self._proc is not None:
            outcome.tracer_returncode = self._proc.returncode
        outcome.tracer_info = self.tracer.describe()

    # ---- the read loop ----

    def _release_hold(self) -> None:
        if self._hold_fd is not None:
            os.close(self._hold_fd)  # now the reads end once the FIFO is drained
            self._hold_fd = None

    def _chunks(self, read_fd: int, raw_copy: BinaryIO | None, started: float) -> Iterator[bytes]:
        proc = self._proc
        assert proc is not None
        deadline = started + self.options.timeout if self.options.timeout else None
        pidfd = _pidfd(proc.pid)
        wake_fd = self._wake_read
        done = False
        try:
            while True:
                watch = [read_fd]
                if pidfd is not None and not done:
                    watch.append(pidfd)
                if wake_fd is not None:
                    watch.append(wake_fd)
                wait = 0.05 if self._kill_since is not None else 0.5
                if deadline is not None and not self._timed_out():
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
                        return  # every writer gone: the tracer exited and the FIFO is drained
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
                    self._release_hold()
                now = time.monotonic()
                if deadline is not None and now >= deadline and not self._timed_out():
                    assert self.outcome is not None
                    self.outcome.timed_out = True
                    self._request_kill()
                if self._grace_until is not None and now >= self._grace_until:
                    self._grace_until = None
                    self._request_kill()
                if self._kill_since is not None and not done:
                    self._kill_tree(now)
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def _timed_out(self) -> bool:
        return self.outcome is not None and self.outcome.timed_out

    # ---- signals, kills, shutdown ----

    def _install_signal_handlers(self) -> Callable[[], None]:
        """Forward SIGINT/TERM/HUP/QUIT to the command (only the main thread can catch them)."""
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
            self._kill_tree(self._kill_since)

    def _kill_tree(self, now: float) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        self.tracer.kill_tree(proc.pid)
        if self._kill_since is not None and now - self._kill_since > STUCK_SECONDS:
            proc.kill()  # the tracer itself is stuck; its tracees are dead by now

    def _tracees(self) -> list[int]:
        proc = self._proc
        return tracees_of(proc.pid) if proc is not None else []

    def _shutdown(self, read_fd: int) -> None:
        """Leave nothing behind: the tracer, its tracees, and tracees that outlived it."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._request_kill()
            give_up = time.monotonic() + 2 * STUCK_SECONDS
            while proc.poll() is None and time.monotonic() < give_up:
                self._kill_tree(time.monotonic())
                with contextlib.suppress(BlockingIOError):  # keep the tracer from blocking on a full FIFO
                    while os.read(read_fd, CHUNK):
                        pass
                time.sleep(0.02)
            if proc.poll() is None:
                proc.kill()
        proc.wait()
        self._kill_survivors()

    def _kill_survivors(self) -> None:
        """A tracer that dies before its tracees (killed, crashed) leaves them running
        untraced — under a seccomp filter, with every filtered call failing (strace 6.1 has
        no --kill-on-exit). Kill the pids the trace showed alive if they are still processes
        that started during this run (not in the session alone: a daemon under test leaves
        it with setsid)."""
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


@contextlib.contextmanager
def open_raw_copy(path: str | None) -> Iterator[BinaryIO | None]:
    if path is None:
        yield None
        return
    with open(path, "wb") as copy:
        yield copy


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
