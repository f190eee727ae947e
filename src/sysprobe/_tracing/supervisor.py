"""One traced run, supervised the same way whichever tracer runs it.

The tracer (strace, or the ptrace backend's tracing process) is sysprobe's child and the
command's only tracer; it writes its trace into a FIFO (``-o FIFO``). The FIFO is opened
close-on-exec, so the command starts with descriptors 0, 1 and 2 only. sysprobe holds a
write end of the FIFO as well until the tracer has exited, so "no writer yet" never reads
as end of file; a pidfd (or a short poll) says when the tracer is gone.

Written once here, for every tracer: the raw copy (``-o FILE``), signal forwarding and the
grace period, the timeout, CPU placement, killing the traced tree (tracees first: a tracer
killed before them would leave them running untraced), killing survivors of a tracer that
died first, a watchdog for a sysprobe that dies without running any code (``watchdog``),
and what the events say about the run (``RunBook``: the command's pid, its own exec, its
exit status, who was refused ptrace).

Trust rests on two facts the run itself shows, never on a cache or a tracer's exit status:
the command's own successful ``execve`` in the trace (else the run is an error: the
tracer's diagnosis, or TraceFailed), and whether the trace covers the whole run
(``RunOutcome.incomplete`` says why not: a timeout, a signal, a tracer killed under the
command, a consumer that stopped reading).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import FrameType
from typing import BinaryIO, Final

from .._escape import printable
from .._frozen import Frozen
from .._kernel.signals import exit_status_for
from .._kernel.syscalls import CREATES_PROCESS, EXECS
from .._parsing.sources import CHUNK, split_chunks
from .._value import MutableValue
from ..argtree import Const, Str
from ..errors import (
    CommandNotExecutable,
    CommandNotFound,
    RunIncomplete,
    SysprobeError,
    TimedOut,
    TraceFailed,
    UsageError,
)
from ..events import Event, Exit, Killed, Stopped, Syscall
from .base import RunOptions, Tracer, TracerInfo, checked_timeout, tracees_of, which
from .placement import cpu_split
from .selection import log_header
from .watchdog import Watchdog

GRACE_SECONDS = 3.0  # after forwarding a signal, how long the command gets to exit
STUCK_SECONDS = 5.0  # after killing the tracees, how long the tracer gets to report and exit
# strace writes to a pipe line by line: read as it comes, a busy trace wakes the reader
# once a line (100k times for dd's 80k calls), and each wake-up costs both processes more
# than the line. After a read that did not fill a chunk, the reader lets lines gather
# for this long (at strace's pace, ~4 MB/s, the 64 KiB pipe holds 15 ms of them), or
# until the tracer ends or a signal comes: the end of a run is not made later.
GATHER_SECONDS = 0.001
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


class PtraceRefusal(Frozen):
    """A traced program's own ptrace call that the kernel refused with EPERM: its strace,
    gdb or debugger could not work (a process has one tracer, and sysprobe's is it)."""

    pid: Final[int]
    request: Final[str]  # PTRACE_TRACEME, PTRACE_ATTACH, PTRACE_SEIZE
    program: Final[str | None]  # what the pid was running (its last execve), when the trace shows it
    line: Final[int]  # where in the trace

    __match_args__ = ("pid", "request", "program", "line")

    def __init__(self, pid: int, request: str, program: str | None, line: int) -> None:
        self.pid = pid
        self.request = request
        self.program = program
        self.line = line

    def __str__(self) -> str:
        who = f"pid {self.pid} ({self.program})" if self.program else f"pid {self.pid}"
        return f"{who}: ptrace({self.request}) = -1 EPERM (line {self.line})"


class Leftover(Frozen):
    """A process the command left running, killed when it exited (``end_with_command``)."""

    pid: Final[int]
    program: Final[str]  # its name (/proc/PID/comm) when it was killed

    __match_args__ = ("pid", "program")

    def __init__(self, pid: int, program: str) -> None:
        self.pid = pid
        self.program = program

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.program})"


class RunOutcome(MutableValue):
    """What happened to the run, beyond the events.

    ``incomplete`` is the first thing to read: a sentence when the trace does not cover
    the whole run (then no rule can pass on it: ``raise_if_incomplete``), None when it
    does. ``exit_status`` is the command's own, from the trace; None when the trace never
    showed how the command ended (its tracer was killed first) — never the tracer's.
    ``notes()`` lists what degraded a complete run.
    """

    argv: list[str]
    tracer_info: TracerInfo  # what traced it, with the options it used
    leader_pid: int | None
    exit_status: int | None  # the command's status as a shell reports it (128+N: signal)
    leader_signal: str | None  # the signal that killed the command
    timed_out: bool
    signals_received: list[int]
    tracer_returncode: int | None  # the tracing process's own exit status (Popen's)
    wall_seconds: float
    exec_succeeded: bool  # did the command's own execve succeed (the evidence it ran)?
    exec_error: tuple[str, str] | None  # (errno, text) of its failed execve
    incomplete: str | None  # why the trace does not cover the whole run; None: it does
    tracer_killed_by: str | None  # the signal that killed the tracer under the command
    ptrace_refused: list[PtraceRefusal]
    ended_leftovers: list[Leftover]  # killed at the command's exit

    __match_args__ = (
        "argv",
        "tracer_info",
        "leader_pid",
        "exit_status",
        "leader_signal",
        "timed_out",
        "signals_received",
        "tracer_returncode",
        "wall_seconds",
        "exec_succeeded",
        "exec_error",
        "incomplete",
        "tracer_killed_by",
        "ptrace_refused",
        "ended_leftovers",
    )

    def __init__(
        self,
        argv: list[str],
        tracer_info: TracerInfo,
        leader_pid: int | None = None,
        exit_status: int | None = None,
        leader_signal: str | None = None,
        timed_out: bool = False,
        signals_received: list[int] | None = None,
        tracer_returncode: int | None = None,
        wall_seconds: float = 0.0,
        exec_succeeded: bool = False,
        exec_error: tuple[str, str] | None = None,
        incomplete: str | None = None,
        tracer_killed_by: str | None = None,
        ptrace_refused: list[PtraceRefusal] | None = None,
        ended_leftovers: list[Leftover] | None = None,
    ) -> None:
        self.argv = argv
        self.tracer_info = tracer_info
        self.leader_pid = leader_pid
        self.exit_status = exit_status
        self.leader_signal = leader_signal
        self.timed_out = timed_out
        self.signals_received = [] if signals_received is None else signals_received
        self.tracer_returncode = tracer_returncode
        self.wall_seconds = wall_seconds
        self.exec_succeeded = exec_succeeded
        self.exec_error = exec_error
        self.incomplete = incomplete
        self.tracer_killed_by = tracer_killed_by
        self.ptrace_refused = [] if ptrace_refused is None else ptrace_refused
        self.ended_leftovers = [] if ended_leftovers is None else ended_leftovers

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

    def notes(self) -> list[str]:
        """Sentences on what degraded the run, for reports (empty: nothing did)."""
        out: list[str] = []
        if self.ptrace_refused:
            who = "; ".join(str(refusal) for refusal in self.ptrace_refused)
            out.append(
                f"the command's own ptrace was refused ({who}): a traced process cannot be "
                "traced again, so its strace or debugger did not work and it may have degraded"
            )
        if self.ended_leftovers:
            who = ", ".join(str(leftover) for leftover in self.ended_leftovers)
            out.append(f"the run ended with the command: {who} left running, killed")
        return out

    def raise_if_incomplete(self) -> None:
        """Raise TimedOut (124) or RunIncomplete (75) with the reason, if the run was cut short."""
        if self.incomplete is not None:
            raise (TimedOut if self.timed_out else RunIncomplete)(self.incomplete)

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
            raise CommandNotFound(f"{printable(name)}: no such file")
        if os.path.isdir(name) or not os.access(name, os.X_OK):
            raise CommandNotExecutable(f"{printable(name)}: not an executable file")
        return name
    path_var = (env or os.environ).get("PATH", os.defpath)
    found = which(name, path=path_var)
    if found is None:
        if which(name, path=path_var, mode=os.F_OK):
            raise CommandNotExecutable(f"{printable(name)}: permission denied")
        raise CommandNotFound(f"{printable(name)}: command not found")
    return found


def _make_workdir() -> str:
    """A new directory for the run's FIFO, only this user's: ``tempfile.mkdtemp``'s, made
    here in $TMPDIR or /tmp (tempfile imports shutil, random and weakref: 3 ms of each
    check's start-up); where that fails, tempfile finds a place as it always does."""
    base = os.environ.get("TMPDIR") or "/tmp"
    for _ in range(16):
        path = os.path.join(base, f"sysprobe-{os.urandom(6).hex()}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        except OSError:
            break
        return os.path.abspath(path)
    import tempfile

    return tempfile.mkdtemp(prefix="sysprobe-")


def _remove_workdir(workdir: str, fifo: str) -> None:
    """Remove the run's directory: its FIFO, then itself; anything else (the traced command
    may have put a directory in the FIFO's place) goes with shutil's rmtree. Never raises:
    what cannot be removed stays, as rmtree(ignore_errors=True) leaves it."""
    with contextlib.suppress(OSError):
        os.unlink(fifo)
    try:
        os.rmdir(workdir)
    except FileNotFoundError:
        pass
    except OSError:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


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
        self._started_ticks = 0  # when the tracer started, in clock ticks since boot
        self._book = RunBook()
        self._watchdog: Watchdog | None = None
        self._abandoned = False  # the consumer stopped reading before the run ended
        self._ending = False  # end_with_command: the command exited, the rest is being killed
        self._at_timeout = ""  # what was still running when the timeout fired
        self.timeout: float | None = None  # options.timeout, checked (None: no limit)

    def events(self) -> Iterator[Event]:
        """Start the command under the tracer and yield its events as the tracer writes them.

        Raises the tracer's diagnosis (PtraceDenied, StraceTooOld, UsageError...) or
        TraceFailed when the trace does not show the command's own execve — the evidence
        that it ran — unless the run was cut short first (then ``outcome.incomplete`` says
        so). Before anything starts, a bad command or raw-output path is an error too.
        """
        self.timeout = checked_timeout(self.options.timeout)
        path = resolve_command(self.argv, self.options.env, self.options.cwd)
        self.tracer.prepare()
        raw = RawCopy.open(self.options.raw_output, log_header(self.options.syscalls, self.options.inject))
        try:
            yield from self._run(path, raw)
        except SysprobeError:
            raw.discard()  # no trace of a run that did not happen
            raise
        finally:
            raw.close()

    def _run(self, path: str, raw: RawCopy) -> Iterator[Event]:
        started = time.monotonic()
        outcome = RunOutcome(list(self.argv), self.tracer.describe())
        self.outcome = outcome
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(self.tracer.close)
            workdir = _make_workdir()
            cleanup.callback(self._release_watchdog)  # last: once the directory is gone
            fifo = os.path.join(workdir, "trace")
            cleanup.callback(_remove_workdir, workdir, fifo)
            os.mkfifo(fifo, 0o600)
            read_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            cleanup.callback(os.close, read_fd)
            self._watchdog = Watchdog(workdir, read_fd)
            self._hold_fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            cleanup.callback(self._release_hold)
            cleanup.callback(self._install_signal_handlers())
            cleanup.callback(self._conclude, outcome, started)
            cleanup.callback(self._shutdown, read_fd)
            self._proc = self._spawn(cleanup, path, fifo)
            self._started_ticks = _start_ticks(self._proc.pid) or 0
            # here, not at the top: the parser's import overlaps the tracer's start
            from .._parsing.lineparse import parse_lines

            outcome.tracer_info = self.tracer.describe()
            annotate = self.tracer.annotator()
            for event in parse_lines(split_chunks(self._chunks(read_fd, raw, started))):
                if annotate is not None:
                    annotate(event)
                self._book.note(event, outcome)
                if self.options.end_with_command and not self._ending and self._book.leader_ended:
                    self._end_with_command(outcome)
                yield event
        self._verify(outcome)

    def _verify(self, outcome: RunOutcome) -> None:
        """The run's evidence: the tracer's own diagnosis, the command's exec, or an error."""
        rc = outcome.tracer_returncode
        ran = outcome.exec_succeeded or outcome.exec_error is not None
        cut_short = outcome.incomplete is not None and not outcome.tracer_killed_by
        if rc is not None and (ran or not cut_short):
            error = self.tracer.diagnose(rc, ran)
            if error is not None:
                raise error
        outcome.raise_exec_error()
        if not ran and not cut_short:
            name = outcome.tracer_info.name
            how = f"was killed by {_signal_name(-rc)}" if rc is not None and rc < 0 else f"exited with {rc}"
            raise TraceFailed(
                f"{name} {how} and its trace does not show the command's own execve: "
                f"{self.argv[0]} did not run under it, so there is nothing to check"
            )

    def _release_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.release()

    def _spawn(self, cleanup: contextlib.ExitStack, path: str, fifo: str) -> subprocess.Popen[bytes]:
        """Start the tracer; with a placement, it traces on the first CPUs and sysprobe
        parses on the others (the calling thread's affinity is restored when the run ends)."""
        cpus = cpu_split(self.options.placement)
        proc = self.tracer.start(self.argv, path, fifo, cpus.tracer if cpus else None)
        if self._watchdog is not None:
            self._watchdog.watch(proc.pid)  # at once: the tracer now runs the command
        if cpus is not None and cpus.sysprobe:
            cleanup.callback(os.sched_setaffinity, 0, os.sched_getaffinity(0))
            os.sched_setaffinity(0, cpus.sysprobe)
        return proc

    def _conclude(self, outcome: RunOutcome, started: float) -> None:
        outcome.wall_seconds = time.monotonic() - started
        outcome.signals_received = list(self._signals)
        if self._proc is not None:
            outcome.tracer_returncode = self._proc.returncode
        outcome.tracer_info = self.tracer.describe()
        outcome.ptrace_refused = list(self._book.refusals)
        rc = outcome.tracer_returncode
        # strace ends itself with the signal that killed the command (as a shell reports
        # it): that is the command's end, shown in the trace, not the tracer killed
        mirrored = self._book.leader_ended and outcome.leader_signal == _signal_name(-(rc or 0))
        if rc is not None and rc < 0 and self._kill_since is None and not self._abandoned and not mirrored:
            outcome.tracer_killed_by = _signal_name(-rc)  # not by sysprobe: under the command
        if not self._book.leader_ended and rc is not None and rc >= 0 and outcome.tracer_killed_by is None:
            outcome.exit_status = rc  # a tracer that exits on its own exits with the command's status
        outcome.incomplete = self._why_incomplete(outcome)

    def _why_incomplete(self, outcome: RunOutcome) -> str | None:
        """The sentence that says why the trace does not cover the whole run, or None."""
        if outcome.timed_out:
            limit = f"{self.timeout:g} s"
            return f"timed out after {limit}{self._at_timeout}: the traced processes were killed"
        if self._signals:
            names = " then ".join(_signal_name(sig) for sig in self._signals)
            return f"interrupted by {names}: the command was stopped before it finished"
        if outcome.tracer_killed_by is not None:
            said = (
                f"{outcome.tracer_info.name} was killed by {outcome.tracer_killed_by} while the command ran"
            )
            if outcome.exit_status is None:
                return f"{said}: the trace ends there, and the command's exit status is unknown"
            return f"{said}: the trace ends there"
        if self._abandoned:
            return "the events were not read to the end: the traced processes were killed"
        return None

    # ---- the read loop ----

    def _release_hold(self) -> None:
        if self._hold_fd is not None:
            os.close(self._hold_fd)  # now the reads end once the FIFO is drained
            self._hold_fd = None

    def _chunks(self, read_fd: int, raw_copy: RawCopy, started: float) -> Iterator[bytes]:
        proc = self._proc
        assert proc is not None
        deadline = started + self.timeout if self.timeout is not None else None
        pidfd = _pidfd(proc.pid)
        wake_fd = self._wake_read
        done = False
        try:
            while True:
                # the tracer's end (pidfd) while it runs, and a signal's wake-up
                events = [fd for fd in (None if done else pidfd, wake_fd) if fd is not None]
                watch = [read_fd, *events]
                wait = self._select_wait(deadline)
                if self.on_idle is not None:
                    self.on_idle()
                ready, _, _ = select.select(watch, [], [], wait)
                if read_fd in ready:
                    data = _read_some(read_fd)
                    if data == b"":
                        return  # every writer gone: the tracer exited and the FIFO is drained
                    if data:
                        raw_copy.write(data)
                        yield data
                        if len(data) < CHUNK and not done:
                            select.select(events, [], [], GATHER_SECONDS)
                if wake_fd is not None and wake_fd in ready:
                    with contextlib.suppress(BlockingIOError):
                        os.read(wake_fd, 512)
                    self._handle_signals()
                if not done and self._tracer_ended():
                    done = True
                    self._release_hold()
                now = time.monotonic()
                self._enforce_deadlines(deadline, now)
                if self._kill_since is not None and not done:
                    self._kill_tree(now)
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def _select_wait(self, deadline: float | None) -> float:
        """How long the read loop may wait: short while killing, never past the timeout
        or the end of the grace period."""
        wait = 0.05 if self._kill_since is not None else 0.5
        if deadline is not None and not self._timed_out():
            wait = min(wait, max(0.0, deadline - time.monotonic()))
        if self._grace_until is not None:
            wait = min(wait, max(0.0, self._grace_until - time.monotonic()))
        return wait

    def _enforce_deadlines(self, deadline: float | None, now: float) -> None:
        """At the timeout, or at the end of the grace period: start killing the tree."""
        if deadline is not None and now >= deadline and not self._timed_out():
            assert self.outcome is not None
            self.outcome.timed_out = True
            self._at_timeout = self._still_running()
            self._request_kill()
        if self._grace_until is not None and now >= self._grace_until:
            self._grace_until = None
            self._request_kill()

    def _timed_out(self) -> bool:
        return self.outcome is not None and self.outcome.timed_out

    def _tracer_ended(self) -> bool:
        """Has the tracing process exited (and been waited for)? The watchdog then forgets its pid."""
        proc = self._proc
        if proc is None or proc.poll() is None:
            return False
        if self._watchdog is not None:
            self._watchdog.ended()
        return True

    def _still_running(self) -> str:
        """At the timeout: what kept the run open, when the command itself had ended or was stopped."""
        parts = []
        if self._book.leader_ended and self.outcome is not None:
            left = self._leftovers()
            who = ", ".join(map(str, left)) or "processes"
            parts.append(
                f", after the command itself had ended ({_status_text(self.outcome)}); it left {who} "
                "running (ending the run with the command stops there)"
            )
        stopped = self._book.stopped_now()
        if stopped:
            parts.append(f"; {stopped}")
        return "".join(parts)

    def _leftovers(self) -> list[Leftover]:
        proc = self._proc
        if proc is None:
            return []
        return [
            Leftover(pid, _comm(pid) or "?") for pid in sorted(tracees_of(proc.pid)) if not _is_zombie(pid)
        ]

    def _end_with_command(self, outcome: RunOutcome) -> None:
        """The command has exited: kill what it left running, and say what that was."""
        self._ending = True
        outcome.ended_leftovers = self._leftovers()
        if outcome.ended_leftovers:
            self._request_kill()

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
            self._abandoned = self._kill_since is None and not self._timed_out()
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
        self._tracer_ended()
        self._kill_survivors()

    def _kill_survivors(self) -> None:
        """A tracer that dies before its tracees (killed, crashed) leaves them running
        untraced — under a seccomp filter, with every filtered call failing (strace 6.1 has
        no --kill-on-exit). Kill the pids the trace showed alive if they are still processes
        that started during this run (not in the session alone: a daemon under test leaves
        it with setsid)."""
        for pid in self._book.alive:
            started = _start_ticks(pid)
            if started is not None and started >= self._started_ticks:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)


# ptrace requests that make the caller a tracer (sys/ptrace.h)
_BECOME_TRACER = {0: "PTRACE_TRACEME", 16: "PTRACE_ATTACH", 0x4206: "PTRACE_SEIZE"}


class RunBook:
    """What the events say about the run, kept as they go by: the command's pid, its own
    exec and end, the tasks alive, each one's program, the stopped ones, refused ptraces."""

    def __init__(self) -> None:
        self.alive: set[int] = set()  # traced pids not yet seen to end
        self.leader_ended = False
        self.programs: dict[int, str] = {}
        self.stopped: dict[int, str] = {}  # pid -> the signal that stopped it, until it runs again
        self.refusals: list[PtraceRefusal] = []

    def note(self, event: Event, outcome: RunOutcome) -> None:
        pid = event.pid
        if pid is None:
            return
        if isinstance(event, Exit | Killed):
            self.alive.discard(pid)
        else:
            self.alive.add(pid)
        if isinstance(event, Stopped):
            self.stopped[pid] = event.signal
        else:
            self.stopped.pop(pid, None)
        if outcome.leader_pid is None:
            outcome.leader_pid = pid
        if isinstance(event, Syscall):
            self._syscall(event, outcome)
        elif pid == outcome.leader_pid and isinstance(event, Exit):
            outcome.exit_status = event.code
            self.leader_ended = True
        elif pid == outcome.leader_pid and isinstance(event, Killed):
            outcome.leader_signal = event.signal
            outcome.exit_status = exit_status_for(event.signal)
            self.leader_ended = True

    def _syscall(self, event: Syscall, outcome: RunOutcome) -> None:
        pid = event.pid
        assert pid is not None
        # a child that makes no traced call shows only in its parent's result (if it
        # ended first, it is gone: _kill_survivors finds no such process)
        if event.name in CREATES_PROCESS and event.ret and event.ret > 0:
            self.alive.add(event.ret)
            if pid in self.programs:
                self._inherit(event.ret, self.programs[pid])
        elif event.name in EXECS and event.ret == 0:
            path = event.args[0] if event.args else None
            if isinstance(path, Str):
                self.programs[pid] = path.text
        elif event.name == "ptrace" and event.errno == "EPERM" and event.args:
            request = _become_tracer(event.args[0])
            if request is not None:
                program = self.programs.get(pid) or _comm(pid)  # unknown when clone is not traced
                self.refusals.append(PtraceRefusal(pid, request, program, event.line))
        if pid == outcome.leader_pid and event.name in EXECS and not outcome.exec_succeeded:
            if event.ret == 0:
                outcome.exec_succeeded = True
            elif event.errno is not None:
                outcome.exec_error = (event.errno, event.errno_text or event.errno)

    def _inherit(self, child: int, program: str) -> None:
        """A forked child runs its parent's program (its own lines may have come first)."""
        self.programs.setdefault(child, program)
        self.refusals = [
            r.replace(program=program) if r.pid == child and r.program is None else r for r in self.refusals
        ]

    def stopped_now(self) -> str:
        """The tasks stopped at this moment ("pid 12 (sh) stayed stopped by SIGSTOP"), or ""."""
        return ", ".join(
            f"pid {pid} ({self.programs.get(pid) or _comm(pid) or '?'}) stayed stopped by {sig}"
            for pid, sig in sorted(self.stopped.items())
        )


def _become_tracer(request: object) -> str | None:
    """PTRACE_TRACEME, PTRACE_ATTACH or PTRACE_SEIZE for a ptrace request argument, else None."""
    if isinstance(request, Const):
        return request.name if request.name in _BECOME_TRACER.values() else None
    if isinstance(request, int) and not isinstance(request, bool):
        return _BECOME_TRACER.get(int(request))
    return None


class RawCopy:
    """The raw trace copy (``RunOptions.raw_output``): opened before anything starts, so a
    path that cannot be written is a UsageError and nothing else happens."""

    def __init__(self, path: str | None, file: BinaryIO | None) -> None:
        self.path = path
        self.file = file

    @classmethod
    def open(cls, path: str | None, header: bytes | None = None) -> RawCopy:
        """``header``: a first line saying what the trace holds (``selection.log_header``)."""
        if path is None:
            return cls(None, None)
        if os.path.isdir(path):
            raise UsageError(f"cannot write the trace to {printable(path)}: it is a directory")
        try:
            file = open(path, "wb")  # noqa: SIM115  # kept open for the run; close() closes it
        except OSError as exc:
            raise UsageError(f"cannot write the trace to {printable(path)}: {exc.strerror or exc}") from None
        if header:
            file.write(header)
        return cls(path, file)

    def write(self, data: bytes) -> None:
        """Copy ``data``; a copy that cannot be written (a full disk) ends the run with a
        UsageError, and what was written is removed (``discard``)."""
        if self.file is not None:
            try:
                self.file.write(data)
            except OSError as exc:
                raise self._failed(exc) from None

    def close(self) -> None:
        file, self.file = self.file, None
        if file is not None:
            try:
                file.close()  # flushes: a full disk may only show now
            except OSError as exc:
                raise self._failed(exc) from None

    def discard(self) -> None:
        """Close and remove the copy — a regular file only: ``-o /dev/null`` (or a pipe, a
        symlink) is never unlinked, whoever runs sysprobe."""
        with contextlib.suppress(OSError, SysprobeError):
            self.close()
        if self.path is not None:
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(self.path).st_mode):
                    os.unlink(self.path)

    def _failed(self, exc: OSError) -> UsageError:
        self.discard()
        return UsageError(f"cannot write the trace to {printable(self.path or '')}: {exc.strerror or exc}")


def _start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot; None: no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()  # fields from the 3rd (state) on
    return int(fields[19]) if len(fields) > 19 else None


def _read_some(fd: int) -> bytes | None:
    """What the FIFO holds (at most a chunk); b"" at its end, None when nothing is there."""
    try:
        return os.read(fd, CHUNK)
    except BlockingIOError:
        return None


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


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _status_text(outcome: RunOutcome) -> str:
    if outcome.leader_signal:
        return f"killed by {outcome.leader_signal}"
    return f"exit {outcome.exit_status}"


def _comm(pid: int) -> str | None:
    """The name /proc gives a live process, or None."""
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return None


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return True  # gone already
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] in (b"Z", b"X")
