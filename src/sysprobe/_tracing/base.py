"""The tracer interface: what strace and the ptrace backend each implement.

A tracer is a program that runs the command as its only tree of tracees and writes the
trace as strace's ``-o FILE`` text (a bare pid before each line) into a FIFO that
sysprobe reads. Everything around that — the FIFO and the raw copy, signals and the grace
period, the timeout, CPU placement, killing what is left, the bookkeeping of the
command's own exec and exit — is done once for every tracer by ``supervisor.Supervisor``.
So a backend only says how to start its tracing process, how to kill what it traces,
what it is, and why it failed.

Options every tracer honours live in ``RunOptions``; a tracer's own options live with it
(``strace.backend.StraceOptions``: the binary, extra strace arguments, required features).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Final

from .._frozen import Frozen
from ..errors import PtraceDenied, SysprobeError, UsageError

if TYPE_CHECKING:
    import subprocess

    from ..events import Event


DEFAULT_STRING_LIMIT = 32  # strace's -s default, which the ptrace backend follows

# a timeout this long (about 31 years) is no limit: it is treated as None
NO_LIMIT_SECONDS = 1e9


def checked_timeout(value: object) -> float | None:
    """A timeout in seconds, checked once for every caller (the CLI, the API, the fixture):
    the supervisor calls it before anything starts; a CLI may call it to fail earlier.

    None, ``inf`` and anything from ``NO_LIMIT_SECONDS`` up mean no limit (None); a number
    above 0 is the limit; zero, a negative number, NaN, or what is not a number is a
    UsageError (``--timeout 0`` once meant "no timeout" by accident).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UsageError(f"timeout {value!r}: expected a number of seconds")
    try:
        seconds = float(value)
    except ValueError:
        raise UsageError(f"timeout {value!r}: expected a number of seconds") from None
    if math.isnan(seconds):
        raise UsageError(f"timeout {value}: not a number of seconds")
    if seconds <= 0:
        raise UsageError(f"timeout {value}: expected seconds greater than 0 (no timeout: leave it out)")
    return None if seconds >= NO_LIMIT_SECONDS else seconds


class RunOptions(Frozen):
    """How to run and trace the command, whichever tracer does it."""

    timeout: Final[float | None]  # seconds; checked by checked_timeout when the run starts
    raw_output: Final[str | None]  # also save the trace text here, as the tracer wrote it
    decode_fds: Final[bool]  # strace's -y: paths, pipe:[N], socket:[N] for every descriptor
    cwd: Final[str | None]
    env: Final[Mapping[str, str] | None]
    # trace only these: names, or strace's own -e trace= expression ("openat,%process"); None: all
    syscalls: Final[str | Collection[str] | None]
    seccomp: Final[bool]  # filter `syscalls` in the kernel (a seccomp-bpf filter) where possible
    placement: Final[str]  # see placement.py: the tracer and its tracees on one CPU, sysprobe on others
    # fault injections, in strace's -e inject= syntax ("epoll_create1:error=ENOSYS")
    inject: Final[Sequence[str]]
    string_limit: Final[int | None]  # strace's -s: how much of a string to print (None: DEFAULT_STRING_LIMIT)
    verbose: Final[bool]  # strace's -v: structs and arrays whole (the ptrace backend abbreviates still)
    # end the run when the command itself exits: kill the processes it left running (a
    # daemon keeps `strace -f` waiting forever) and list them in RunOutcome.ended_leftovers
    end_with_command: Final[bool]
    # the command's stdout and stderr: open descriptors (a capture file), None: sysprobe's own
    stdout: Final[int | None]
    stderr: Final[int | None]

    __match_args__ = (
        "timeout",
        "raw_output",
        "decode_fds",
        "cwd",
        "env",
        "syscalls",
        "seccomp",
        "placement",
        "inject",
        "string_limit",
        "verbose",
        "end_with_command",
        "stdout",
        "stderr",
    )

    def __init__(
        self,
        timeout: float | None = None,
        raw_output: str | None = None,
        decode_fds: bool = True,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        syscalls: str | Collection[str] | None = None,
        seccomp: bool = True,
        placement: str = "auto",
        inject: Sequence[str] = (),
        string_limit: int | None = None,
        verbose: bool = False,
        end_with_command: bool = False,
        stdout: int | None = None,
        stderr: int | None = None,
    ) -> None:
        self.timeout = timeout
        self.raw_output = raw_output
        self.decode_fds = decode_fds
        self.cwd = cwd
        self.env = env
        self.syscalls = syscalls
        self.seccomp = seccomp
        self.placement = placement
        self.inject = inject
        self.string_limit = string_limit
        self.verbose = verbose
        self.end_with_command = end_with_command
        self.stdout = stdout
        self.stderr = stderr


class TracerInfo(Frozen):
    """What traced a run: for reports, golden headers, and saying what a log holds."""

    backend: Final[str]  # "strace" or "ptrace"
    name: Final[str]  # "strace", "python-ptrace"
    version: Final[str]  # "6.1", "0.9.9" ("" while unknown)
    argv: Final[tuple[str, ...]]  # the tracing process's command line: the options it used

    __match_args__ = ("backend", "name", "version", "argv")

    def __init__(self, backend: str, name: str, version: str, argv: tuple[str, ...] = ()) -> None:
        self.backend = backend
        self.name = name
        self.version = version
        self.argv = argv

    def __str__(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name


class Tracer(ABC):
    """One tracer for one run. The supervisor calls, in this order:

    1. ``prepare()`` — before anything starts: raise the sysprobe error (StraceMissing,
       StraceTooOld, BackendMissing, PtraceDenied, UsageError...) that makes the run
       impossible. Cheap checks only, or cached ones.
    2. ``start(argv, path, output, cpus)`` — start the tracing process and return it. It must
       run ``path`` (argv[0], resolved) with ``argv`` as its tracee, in the current working
       directory and environment given to ``subprocess.Popen`` (``RunOptions.cwd``/``env``),
       with descriptors 0, 1 and 2 only (1 and 2: ``RunOptions.stdout``/``stderr`` when set);
       follow every process and thread it creates; write
       strace ``-o`` text into the FIFO ``output``; exit once every tracee has ended, with
       the command's status (128+N when killed by signal N). With ``cpus`` (the placement),
       the tracees and the tracer, while it traces, run on those CPUs.
    3. ``annotator()`` — an optional function applied to each parsed event, for what the
       text cannot carry.
    4. ``kill_tree(pid)`` — SIGKILL every tracee of the tracing process ``pid`` (called
       repeatedly, on timeout, on a second signal, when the consumer stops early). The
       tracing process must then report the deaths and exit.
    5. ``close()`` — the tracing process has ended (or never started): release what the
       tracer holds.
    6. ``diagnose(returncode, ran)`` — the error that explains a run whose tracing
       process exited with ``returncode`` (``ran``: whether the trace shows the command's
       own execve), or None when the tracer has nothing to add. Every failure to start is
       diagnosed here, with the exit codes of ``sysprobe.errors``; a run that did not run
       the command and that no tracer explains is the supervisor's TraceFailed.

    ``describe()`` says what traced the run; it may learn more (a version) by ``close()``.
    """

    backend: ClassVar[str]

    @abstractmethod
    def prepare(self) -> None: ...

    @abstractmethod
    def start(
        self, argv: Sequence[str], path: str, output: str, cpus: set[int] | None
    ) -> subprocess.Popen[bytes]: ...

    def annotator(self) -> Callable[[Event], None] | None:
        return None

    def kill_tree(self, tracer_pid: int) -> None:
        """Kill tracees first: a tracer killed before them would leave them running untraced."""
        for pid in tracees_of(tracer_pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def close(self) -> None:  # noqa: B027 (optional: most tracers hold nothing)
        pass

    @abstractmethod
    def describe(self) -> TracerInfo: ...

    @abstractmethod
    def diagnose(self, returncode: int, ran: bool) -> SysprobeError | None: ...


def tracees_of(tracer: int) -> list[int]:
    """Processes whose ``TracerPid`` is ``tracer`` (daemonized grandchildren included)."""
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


# ---- why ptrace is denied: one diagnosis for both tracers ----


def ptrace_denied(detail: str) -> PtraceDenied:
    """The error for a refused ptrace, with what in this kernel's settings refuses it."""
    return PtraceDenied(f"ptrace is not permitted here ({ptrace_hint()}); {detail}")


def ptrace_hint() -> str:
    """What in this kernel's settings denies ptrace, as far as /proc tells."""
    reasons: list[str] = []
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as fh:
            scope = fh.read().strip()
        if scope == "3":
            reasons.append("yama ptrace_scope=3 forbids all ptrace")
        elif scope in ("1", "2"):
            reasons.append(f"yama ptrace_scope={scope}")
    except OSError:
        pass
    status = proc_status()
    tracer = status.get("TracerPid", "0")
    if tracer not in ("", "0"):
        reasons.append(
            f"sysprobe itself is traced by pid {tracer} ({_comm(tracer)}), which follows its "
            "children: a process has one tracer"
        )
    if status.get("Seccomp", "0") != "0":
        reasons.append("this process runs under a seccomp filter")
    cap_eff = int(status.get("CapEff", "0"), 16)
    if os.geteuid() == 0 and not cap_eff & (1 << 19):  # CAP_SYS_PTRACE
        reasons.append("CAP_SYS_PTRACE is missing (a container? try --cap-add=SYS_PTRACE)")
    return "; ".join(reasons) or "the kernel refused PTRACE_SEIZE/TRACEME"


def _comm(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return "?"


def proc_status() -> dict[str, str]:
    """This process's /proc/self/status, as a dict."""
    out: dict[str, str] = {}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                out[key] = value.strip()
    except OSError:
        pass
    return out


def which(name: str, path: str | None = None, mode: int = os.X_OK) -> str | None:
    """What ``shutil.which`` answers on Linux: ``name`` itself when it has a directory part,
    else the first ``dir/name`` on ``path`` ($PATH by default; an empty entry is the
    current directory, as execvp reads it) that exists, allows ``mode`` and is not a
    directory. Here, not shutil's: shutil imports bz2 and lzma, 2 ms of each check's
    start-up (tests/tracing/test_which.py holds the two equal)."""
    if os.path.dirname(name):
        return name if _usable(name, mode) else None
    if path is None:
        path = os.environ.get("PATH")
        if path is None:
            try:
                path = os.confstr("CS_PATH")
            except (AttributeError, ValueError):
                path = os.defpath
    if not path:
        return None
    for folder in path.split(os.pathsep):
        candidate = os.path.join(folder, name)
        if _usable(candidate, mode):
            return candidate
    return None


def _usable(path: str, mode: int) -> bool:
    return os.path.exists(path) and os.access(path, mode) and not os.path.isdir(path)
