"""What the model tells about a trace: descriptors and where they came from, execs, processes.

These are the public records (``sysprobe.Descriptor``, ``Origin``, ``ExecRecord``,
``Process``). A Descriptor is a fact at one point of the trace and never changes: a later
change of close-on-exec puts a new Descriptor in the table, so that the tables of the past
(``Trace.fd_table(pid, at=line)``) and the descriptors an exec took along stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Origin:
    """Where a descriptor came from: the call, the process and the line."""

    syscall: str | None  # None: the process had it when the trace began (origin unknown)
    pid: int | None
    line: int | None
    file: str | None = None
    detail: str | None = None  # "duplicate of fd 3", "received over SCM_RIGHTS on fd 4"

    def describe(self) -> str:
        if self.syscall is None:
            return self.detail or "inherited, origin unknown"
        where = f"{self.file}:{self.line}" if self.file else f"line {self.line}"
        text = f"{self.syscall} at {where} in pid {self.pid}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True)
class FlagChange:
    """A change of close-on-exec after creation."""

    cloexec: bool
    syscall: str
    pid: int | None
    line: int
    file: str | None = None

    def describe(self) -> str:
        where = f"{self.file}:{self.line}" if self.file else f"line {self.line}"
        what = "set" if self.cloexec else "cleared"
        return f"close-on-exec {what} by {self.syscall} at {where} in pid {self.pid}"


@dataclass(frozen=True)
class Descriptor:
    """One entry of a descriptor table, as it was from one call to the next."""

    fd: int
    kind: str  # file, pipe, socket, epoll, eventfd, ... or "unknown"
    name: str | None  # what -y showed: a path, pipe:[N], socket:[N], anon_inode:[eventpoll]
    cloexec: bool
    origin: Origin
    changes: tuple[FlagChange, ...] = ()
    source: Descriptor | None = None  # for duplicates: the descriptor it copies

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
        should be remembered)."""
        changes = self.changes if change is None else (*self.changes, change)
        return Descriptor(self.fd, self.kind, self.name, cloexec, self.origin, changes, self.source)


@dataclass
class ExecRecord:
    """A successful execve: the program, and the descriptors that crossed into it."""

    pid: int | None
    program: str
    argv: list[str]
    line: int
    file: str | None
    crossed: list[Descriptor]  # fd >= 3 without close-on-exec, as they were at the exec
    injected: bool = False

    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else f"line {self.line}"


@dataclass
class Process:
    """A process (thread group) as the trace shows it."""

    pid: int | None
    parent: int | None
    created_by: Origin | None
    first_line: int
    threads: list[int | None] = field(default_factory=list)
    execs: list[ExecRecord] = field(default_factory=list)
    exit_code: int | None = None
    signal: str | None = None
    core_dumped: bool = False

    @property
    def program(self) -> str | None:
        return self.execs[-1].program if self.execs else None

    @property
    def end(self) -> str | None:
        if self.signal is not None:
            return f"killed by {self.signal}" + (" (core dumped)" if self.core_dumped else "")
        return None if self.exit_code is None else f"exited {self.exit_code}"
