"""What a syscall does to descriptors and processes: the vocabulary of the table's effects.

Each row of the syscall table (``syscalls.py``) that changes a descriptor table or the
process tree carries one of these records; to learn what sysprobe thinks ``fcntl`` or
``accept4`` does, read its row. The model in ``_model`` only interprets these records.
"""

from __future__ import annotations

from typing import Final

from .._value import Value


class Flag(Value):
    """Close-on-exec is set when argument ``index`` (or its struct ``field``) has ``name``."""

    index: Final[int]
    name: Final[str]
    field: Final[str | None]

    __match_args__ = ("index", "name", "field")

    def __init__(self, index: int, name: str, field: str | None = None) -> None:
        self.index = index
        self.name = name
        self.field = field


ALWAYS: Final = "always"  # the kernel always sets close-on-exec (pidfd_open, io_uring_setup)
NEVER: Final = "never"  # the call has no way to ask for it (pipe, dup, accept)
CloexecWhen = Flag | str  # how a new descriptor gets close-on-exec


class Creates(Value):
    """Returns a new descriptor."""

    cloexec: Final[CloexecWhen]
    kind: Final[str]  # what it is when -y does not say
    path_arg: Final[int | None]  # the argument naming the file, for reports
    only_if_minus_one: Final[int | None]  # signalfd(-1, ...) creates; signalfd(fd, ...) changes fd
    only_commands: Final[tuple[int, frozenset[str]] | None]  # bpf: the commands that return an fd

    __match_args__ = ("cloexec", "kind", "path_arg", "only_if_minus_one", "only_commands")

    def __init__(
        self,
        cloexec: CloexecWhen,
        kind: str,
        path_arg: int | None = None,
        only_if_minus_one: int | None = None,
        only_commands: tuple[int, frozenset[str]] | None = None,
    ) -> None:
        self.cloexec = cloexec
        self.kind = kind
        self.path_arg = path_arg
        self.only_if_minus_one = only_if_minus_one
        self.only_commands = only_commands


class CreatesPair(Value):
    """Writes two new descriptors into an array argument (pipe, socketpair)."""

    array_arg: Final[int]
    cloexec: Final[CloexecWhen]
    kind: Final[str]

    __match_args__ = ("array_arg", "cloexec", "kind")

    def __init__(self, array_arg: int, cloexec: CloexecWhen, kind: str) -> None:
        self.array_arg = array_arg
        self.cloexec = cloexec
        self.kind = kind


class Duplicates(Value):
    """dup-like: the new descriptor refers to the old one's file; close-on-exec per ``cloexec``.

    ``new_arg`` None: the result is the new descriptor (dup); else that argument is (dup2/3),
    and a descriptor open there is closed first.
    """

    old_arg: Final[int]
    new_arg: Final[int | None]
    cloexec: Final[CloexecWhen]

    __match_args__ = ("old_arg", "new_arg", "cloexec")

    def __init__(self, old_arg: int, new_arg: int | None, cloexec: CloexecWhen) -> None:
        self.old_arg = old_arg
        self.new_arg = new_arg
        self.cloexec = cloexec


class Fcntl(Value):
    """F_SETFD sets or clears close-on-exec by its value; F_DUPFD[_CLOEXEC] duplicate."""


class Ioctl(Value):
    """FIOCLEX sets close-on-exec, FIONCLEX clears it; other requests are ignored."""


class Closes(Value):
    """close(fd). Linux frees the descriptor even when close fails with EINTR or EIO."""


class ClosesRange(Value):
    """close_range(first, last, flags): closes, or with CLOSE_RANGE_CLOEXEC marks; with
    CLOSE_RANGE_UNSHARE the table is unshared first."""


class Receives(Value):
    """recvmsg/recvmmsg: descriptors arrive in SCM_RIGHTS; MSG_CMSG_CLOEXEC in ``flags_arg``."""

    message_arg: Final[int]
    flags_arg: Final[int]
    vector: Final[bool]  # recvmmsg: an array of {msg_hdr=..., msg_len=...}

    __match_args__ = ("message_arg", "flags_arg", "vector")

    def __init__(self, message_arg: int, flags_arg: int, vector: bool) -> None:
        self.message_arg = message_arg
        self.flags_arg = flags_arg
        self.vector = vector


class Sends(Value):
    """sendmsg/sendmmsg: descriptors leave in SCM_RIGHTS (recorded for reports)."""

    message_arg: Final[int]
    vector: Final[bool]

    __match_args__ = ("message_arg", "vector")

    def __init__(self, message_arg: int, vector: bool) -> None:
        self.message_arg = message_arg
        self.vector = vector


class Execs(Value):
    """On success, the program named by ``path_arg`` replaces the process: descriptors
    without close-on-exec cross into it, the others are closed."""

    path_arg: Final[int]

    __match_args__ = ("path_arg",)

    def __init__(self, path_arg: int) -> None:
        self.path_arg = path_arg


class Forks(Value):
    """A new task; ``flags`` says where clone's flags are (None: fork/vfork)."""

    flags: Final[str | None]  # "arg": the flags= argument (clone); "struct": clone3's {flags=...}
    vfork: Final[bool]

    __match_args__ = ("flags", "vfork")

    def __init__(self, flags: str | None, vfork: bool = False) -> None:
        self.flags = flags
        self.vfork = vfork


class Unshares(Value):
    """unshare(CLONE_FILES) gives the task its own copy of the table; unshare or setns
    with CLONE_NEWPID puts the children it makes next in another pid namespace."""

    flags_at: Final[int]  # the argument holding the CLONE_* flags (setns: its second)

    __match_args__ = ("flags_at",)

    def __init__(self, flags_at: int = 0) -> None:
        self.flags_at = flags_at


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
