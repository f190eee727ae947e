"""What a syscall does to descriptors and processes: the vocabulary of the table's effects.

Each row of the syscall table (``syscalls.py``) that changes a descriptor table or the
process tree carries one of these records; to learn what sysprobe thinks ``fcntl`` or
``accept4`` does, read its row. The model in ``_model`` only interprets these records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Flag:
    """Close-on-exec is set when argument ``index`` (or its struct ``field``) has ``name``."""

    index: int
    name: str
    field: str | None = None


ALWAYS: Final = "always"  # the kernel always sets close-on-exec (pidfd_open, io_uring_setup)
NEVER: Final = "never"  # the call has no way to ask for it (pipe, dup, accept)
CloexecWhen = Flag | str  # how a new descriptor gets close-on-exec


@dataclass(frozen=True)
class Creates:
    """Returns a new descriptor."""

    cloexec: CloexecWhen
    kind: str  # what it is when -y does not say
    path_arg: int | None = None  # the argument naming the file, for reports
    only_if_minus_one: int | None = None  # signalfd(-1, ...) creates; signalfd(fd, ...) changes fd
    only_commands: tuple[int, frozenset[str]] | None = None  # bpf: the commands that return an fd


@dataclass(frozen=True)
class CreatesPair:
    """Writes two new descriptors into an array argument (pipe, socketpair)."""

    array_arg: int
    cloexec: CloexecWhen
    kind: str


@dataclass(frozen=True)
class Duplicates:
    """dup-like: the new descriptor refers to the old one's file; close-on-exec per ``cloexec``.

    ``new_arg`` None: the result is the new descriptor (dup); else that argument is (dup2/3),
    and a descriptor open there is closed first.
    """

    old_arg: int
    new_arg: int | None
    cloexec: CloexecWhen


@dataclass(frozen=True)
class Fcntl:
    """F_SETFD sets or clears close-on-exec by its value; F_DUPFD[_CLOEXEC] duplicate."""


@dataclass(frozen=True)
class Ioctl:
    """FIOCLEX sets close-on-exec, FIONCLEX clears it; other requests are ignored."""


@dataclass(frozen=True)
class Closes:
    """close(fd). Linux frees the descriptor even when close fails with EINTR or EIO."""


@dataclass(frozen=True)
class ClosesRange:
    """close_range(first, last, flags): closes, or with CLOSE_RANGE_CLOEXEC marks; with
    CLOSE_RANGE_UNSHARE the table is unshared first."""


@dataclass(frozen=True)
class Receives:
    """recvmsg/recvmmsg: descriptors arrive in SCM_RIGHTS; MSG_CMSG_CLOEXEC in ``flags_arg``."""

    message_arg: int
    flags_arg: int
    vector: bool  # recvmmsg: an array of {msg_hdr=..., msg_len=...}


@dataclass(frozen=True)
class Sends:
    """sendmsg/sendmmsg: descriptors leave in SCM_RIGHTS (recorded for reports)."""

    message_arg: int
    vector: bool


@dataclass(frozen=True)
class Execs:
    """On success, the program named by ``path_arg`` replaces the process: descriptors
    without close-on-exec cross into it, the others are closed."""

    path_arg: int


@dataclass(frozen=True)
class Forks:
    """A new task; ``flags`` says where clone's flags are (None: fork/vfork)."""

    flags: str | None  # "arg": the flags= argument (clone); "struct": clone3's {flags=...}
    vfork: bool = False


@dataclass(frozen=True)
class Unshares:
    """unshare(CLONE_FILES) gives the task its own copy of the table; unshare or setns
    with CLONE_NEWPID puts the children it makes next in another pid namespace."""

    flags_at: int = 0  # the argument holding the CLONE_* flags (setns: its second)


Effect = (
    Creates
    | CreatesPair
    | Duplicates
    | Fcntl
    | Ioctl
    | Closes
    | ClosesRange
    | Receives
    | Sends
    | Execs
    | Forks
    | Unshares
)


def kind_of(info: str | None, default: str) -> str:
    """What a descriptor is, from the text -y prints for it."""
    if not info:
        return default
    if info.startswith("pipe:"):
        return "pipe"
    if info.startswith(("socket:", "TCP", "UDP", "UNIX", "NETLINK", "RAW", "PACKET", "SCTP", "UDPLITE")):
        return "socket"
    if info.startswith("anon_inode:"):
        inner = info[len("anon_inode:") :].strip("[]")
        return {
            "eventpoll": "epoll",
            "eventfd": "eventfd",
            "signalfd": "signalfd",
            "timerfd": "timerfd",
            "inotify": "inotify",
            "pidfd": "pidfd",
            "[io_uring]": "io_uring",
            "io_uring": "io_uring",
            "userfaultfd": "userfaultfd",
            "fanotify": "fanotify",
        }.get(inner, inner or default)
    if info.startswith("/memfd:"):
        return "memfd"
    if info.startswith("/dev/"):
        return "device"
    return "file" if info.startswith("/") else default
