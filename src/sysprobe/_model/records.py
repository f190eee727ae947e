"""What the model tells about a trace: descriptors and where they came from, execs, processes.

These are the public records (``sysprobe.Descriptor``, ``Origin``, ``ExecRecord``,
``Process``). A Descriptor is a fact at one point of the trace and never changes: a later
change of close-on-exec puts a new Descriptor in the table, so that the tables of the past
(``Trace.fd_table(pid, at=line)``) and the descriptors an exec took along stay as they were.

A table copied while other threads were changing it (a fork, or a thread's exec, racing
another thread's open, dup, close or flag change) may hold descriptors the trace cannot
prove: those carry a ``Race`` saying which calls were in flight and what else the copy
may hold at that number (see ``races``).
"""

from __future__ import annotations

from typing import Final

from .._value import MutableValue, Value


class Origin(Value):
    """Where a descriptor came from: the call, the process and the line."""

    syscall: Final[str | None]  # None: the process had it when the trace began (origin unknown)
    pid: Final[int | None]
    line: Final[int | None]
    file: Final[str | None]
    detail: Final[str | None]  # "duplicate of fd 3", "received over SCM_RIGHTS on fd 4"

    __match_args__ = ("syscall", "pid", "line", "file", "detail")

    def __init__(
        self,
        syscall: str | None,
        pid: int | None,
        line: int | None,
        file: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.syscall = syscall
        self.pid = pid
        self.line = line
        self.file = file
        self.detail = detail

    def describe(self) -> str:
        if self.syscall is None:
            return self.detail or "inherited, origin unknown"
        where = f"{self.file}:{self.line}" if self.file else f"line {self.line}"
        text = f"{self.syscall} at {where} in pid {self.pid}"
        return f"{text} ({self.detail})" if self.detail else text


class FlagChange(Value):
    """A change of close-on-exec after creation."""

    cloexec: Final[bool]
    syscall: Final[str]
    pid: Final[int | None]
    line: Final[int]
    file: Final[str | None]

    __match_args__ = ("cloexec", "syscall", "pid", "line", "file")

    def __init__(
        self, cloexec: bool, syscall: str, pid: int | None, line: int, file: str | None = None
    ) -> None:
        self.cloexec = cloexec
        self.syscall = syscall
        self.pid = pid
        self.line = line
        self.file = file

    def describe(self) -> str:
        where = f"{self.file}:{self.line}" if self.file else f"line {self.line}"
        what = "set" if self.cloexec else "cleared"
        return f"close-on-exec {what} by {self.syscall} at {where} in pid {self.pid}"


class Race(Value):
    """Why a copied table's entry is not proven: calls of another thread sharing the
    table were in flight while ``copy`` copied it."""

    copy: Final[Origin]  # the call that copied the table (clone, fork, vfork; execve from a thread)
    calls: Final[tuple[Origin, ...]]  # the other threads' calls that were in flight, oldest first
    others: Final[tuple[Descriptor | None, ...]]  # what else the copy may hold at this number (None: nothing)
    what: Final[str]  # what those calls did to it: "created", "closed", "replaced", ...

    __match_args__ = ("copy", "calls", "others", "what")

    def __init__(
        self, copy: Origin, calls: tuple[Origin, ...], others: tuple[Descriptor | None, ...], what: str
    ) -> None:
        self.copy = copy
        self.calls = calls
        self.others = others
        self.what = what

    def holding(self, others: tuple[Descriptor | None, ...]) -> Race:
        """The same race, the copy holding one of ``others`` at this number."""
        return Race(self.copy, self.calls, others, self.what)

    def cause(self) -> str:
        """``created by pid 7 while pid 5 forked``."""
        copied = "exec'd" if self.copy.syscall in ("execve", "execveat") else "forked"
        return f"{self.what} by pid {self.calls[0].pid} while pid {self.copy.pid} {copied}"

    def describe(self) -> str:
        calls = ", ".join(c.describe() for c in self.calls)
        were = "was" if len(self.calls) == 1 else "were"
        return f"{self.copy.describe()} copied the table while {calls} {were} in flight"


class Descriptor(Value):
    """One entry of a descriptor table, as it was from one call to the next."""

    fd: Final[int]
    kind: Final[str]  # file, pipe, socket, epoll, eventfd, ... or "unknown"
    name: Final[str | None]  # what -y showed: a path, pipe:[N], socket:[N], anon_inode:[eventpoll]
    cloexec: Final[bool]
    origin: Final[Origin]
    changes: Final[tuple[FlagChange, ...]]
    source: Final[Descriptor | None]  # for duplicates: the descriptor it copies
    race: Final[Race | None]  # set when a racing copy may hold something else here

    __match_args__ = ("fd", "kind", "name", "cloexec", "origin", "changes", "source", "race")

    def __init__(
        self,
        fd: int,
        kind: str,
        name: str | None,
        cloexec: bool,
        origin: Origin,
        changes: tuple[FlagChange, ...] = (),
        source: Descriptor | None = None,
        race: Race | None = None,
    ) -> None:
        self.fd = fd
        self.kind = kind
        self.name = name
        self.cloexec = cloexec
        self.origin = origin
        self.changes = changes
        self.source = source
        self.race = race

    @property
    def certain(self) -> bool:
        """Does the trace prove the table holds exactly this here?"""
        return self.race is None

    def surely_crosses(self) -> bool:
        """Without close-on-exec in every state the table may be in (``crosses`` for one)."""
        if self.cloexec:
            return False
        return self.race is None or all(o is not None and not o.cloexec for o in self.race.others)

    def describe(self) -> str:
        what = self.name if self.name else self.kind
        return f"fd {self.fd} ({what})" if what != "unknown" else f"fd {self.fd}"

    def creation(self) -> Origin:
        """The call that made the open file: through duplicates back to the first."""
        d = self
        while d.source is not None:
            d = d.source
        return d.origin

    def with_cloexec(self, cloexec: bool, change: FlagChange | None = None) -> Descriptor:
        """This descriptor after close-on-exec became ``cloexec`` (by ``change``, if one
        should be remembered). The call that changed it proves it is there: no race."""
        changes = self.changes if change is None else (*self.changes, change)
        return Descriptor(self.fd, self.kind, self.name, cloexec, self.origin, changes, self.source)

    def with_race(self, race: Race | None) -> Descriptor:
        d = self
        return Descriptor(d.fd, d.kind, d.name, d.cloexec, d.origin, d.changes, d.source, race)

    def made_inheritable_by(self) -> FlagChange | Origin:
        """What left it without close-on-exec: the flag's last clearing, else its making."""
        if self.changes and not self.changes[-1].cloexec:
            return self.changes[-1]
        return self.origin


class ExecRecord(MutableValue):
    """A successful execve: the program, and the descriptors that crossed into it."""

    pid: int | None
    program: str
    argv: list[str]
    line: int
    file: str | None
    crossed: list[Descriptor]  # fd >= 3 without close-on-exec, as they were at the exec
    injected: bool
    deliberate: set[int]  # fds of ``crossed`` passed on purpose
    # crossings learnt after the exec was reported (another thread's call, in flight while
    # this process was forked, completed later); each was also told as a supplement
    late: list[Descriptor]
    supplement_of: ExecRecord | None  # this record tells late crossings of that exec

    __match_args__ = (
        "pid",
        "program",
        "argv",
        "line",
        "file",
        "crossed",
        "injected",
        "deliberate",
        "late",
        "supplement_of",
    )

    def __init__(
        self,
        pid: int | None,
        program: str,
        argv: list[str],
        line: int,
        file: str | None,
        crossed: list[Descriptor],
        injected: bool = False,
        deliberate: set[int] | None = None,
        late: list[Descriptor] | None = None,
        supplement_of: ExecRecord | None = None,
    ) -> None:
        self.pid = pid
        self.program = program
        self.argv = argv
        self.line = line
        self.file = file
        self.crossed = crossed
        self.injected = injected
        self.deliberate = set() if deliberate is None else deliberate
        self.late = [] if late is None else late
        self.supplement_of = supplement_of

    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else f"line {self.line}"

    @property
    def all_crossed(self) -> list[Descriptor]:
        """What crossed, with what was learnt later."""
        return [*self.crossed, *self.late]


class ForkRecord(MutableValue):
    """A table copied while other tasks were using it (a fork by one thread of many, or a
    thread's exec): the descriptors without close-on-exec the copy holds or may hold."""

    pid: int | None  # the task that forked (or exec'd)
    tgid: int | None
    call: Origin
    child: int | None  # None for an exec
    exposed: list[Descriptor]  # a ``race`` on those the trace cannot prove

    __match_args__ = ("pid", "tgid", "call", "child", "exposed")

    def __init__(
        self, pid: int | None, tgid: int | None, call: Origin, child: int | None, exposed: list[Descriptor]
    ) -> None:
        self.pid = pid
        self.tgid = tgid
        self.call = call
        self.child = child
        self.exposed = exposed


class Process(MutableValue):
    """A process (thread group) as the trace shows it."""

    pid: int | None
    parent: int | None
    created_by: Origin | None
    first_line: int
    threads: list[int | None]
    execs: list[ExecRecord]
    exit_code: int | None
    signal: str | None
    core_dumped: bool

    __match_args__ = (
        "pid",
        "parent",
        "created_by",
        "first_line",
        "threads",
        "execs",
        "exit_code",
        "signal",
        "core_dumped",
    )

    def __init__(
        self,
        pid: int | None,
        parent: int | None,
        created_by: Origin | None,
        first_line: int,
        threads: list[int | None] | None = None,
        execs: list[ExecRecord] | None = None,
        exit_code: int | None = None,
        signal: str | None = None,
        core_dumped: bool = False,
    ) -> None:
        self.pid = pid
        self.parent = parent
        self.created_by = created_by
        self.first_line = first_line
        self.threads = [] if threads is None else threads
        self.execs = [] if execs is None else execs
        self.exit_code = exit_code
        self.signal = signal
        self.core_dumped = core_dumped

    @property
    def program(self) -> str | None:
        return self.execs[-1].program if self.execs else None

    @property
    def end(self) -> str | None:
        if self.signal is not None:
            return f"killed by {self.signal}" + (" (core dumped)" if self.core_dumped else "")
        return None if self.exit_code is None else f"exited {self.exit_code}"
