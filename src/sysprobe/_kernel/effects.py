"""What each syscall does to descriptors and processes: one table, read by the model.

To learn what sysprobe thinks ``fcntl`` or ``accept4`` does, read this file; the model in
``_model`` only interprets these records. Names cover ABI variants (``fcntl64``).
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
Cloexec = Flag | str


@dataclass(frozen=True)
class Creates:
    """Returns a new descriptor."""

    cloexec: Cloexec
    kind: str  # what it is when -y does not say
    path_arg: int | None = None  # the argument naming the file, for reports
    only_if_minus_one: int | None = None  # signalfd(-1, ...) creates; signalfd(fd, ...) changes fd
    only_commands: tuple[int, frozenset[str]] | None = None  # bpf: the commands that return an fd


@dataclass(frozen=True)
class CreatesPair:
    """Writes two new descriptors into an array argument (pipe, socketpair)."""

    array_arg: int
    cloexec: Cloexec
    kind: str


@dataclass(frozen=True)
class Duplicates:
    """dup-like: the new descriptor refers to the old one's file; close-on-exec per ``cloexec``.

    ``new_arg`` None: the result is the new descriptor (dup); else that argument is (dup2/3),
    and a descriptor open there is closed first.
    """

    old_arg: int
    new_arg: int | None
    cloexec: Cloexec


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
    """unshare(CLONE_FILES) gives the task its own copy of the table."""


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

_BPF_FD_COMMANDS: Final = frozenset(
    {
        "BPF_MAP_CREATE",
        "BPF_PROG_LOAD",
        "BPF_OBJ_GET",
        "BPF_PROG_GET_FD_BY_ID",
        "BPF_MAP_GET_FD_BY_ID",
        "BPF_RAW_TRACEPOINT_OPEN",
        "BPF_BTF_LOAD",
        "BPF_BTF_GET_FD_BY_ID",
        "BPF_LINK_CREATE",
        "BPF_LINK_GET_FD_BY_ID",
        "BPF_ITER_CREATE",
        "BPF_TOKEN_CREATE",
    }
)

EFFECTS: Final[dict[str, Effect]] = {
    # creation: the flag that asks for close-on-exec, where it is
    "open": Creates(Flag(1, "O_CLOEXEC"), "file", path_arg=0),
    "openat": Creates(Flag(2, "O_CLOEXEC"), "file", path_arg=1),
    "openat2": Creates(Flag(2, "O_CLOEXEC", field="flags"), "file", path_arg=1),
    "creat": Creates(NEVER, "file", path_arg=0),
    "open_by_handle_at": Creates(Flag(2, "O_CLOEXEC"), "file"),
    "open_tree": Creates(Flag(2, "OPEN_TREE_CLOEXEC"), "file", path_arg=1),
    "socket": Creates(Flag(1, "SOCK_CLOEXEC"), "socket"),
    "accept": Creates(NEVER, "socket"),
    "accept4": Creates(Flag(3, "SOCK_CLOEXEC"), "socket"),
    "epoll_create": Creates(NEVER, "epoll"),
    "epoll_create1": Creates(Flag(0, "EPOLL_CLOEXEC"), "epoll"),
    "eventfd": Creates(NEVER, "eventfd"),
    "eventfd2": Creates(Flag(1, "EFD_CLOEXEC"), "eventfd"),
    "signalfd": Creates(NEVER, "signalfd", only_if_minus_one=0),
    "signalfd4": Creates(Flag(3, "SFD_CLOEXEC"), "signalfd", only_if_minus_one=0),
    "timerfd_create": Creates(Flag(1, "TFD_CLOEXEC"), "timerfd"),
    "inotify_init": Creates(NEVER, "inotify"),
    "inotify_init1": Creates(Flag(0, "IN_CLOEXEC"), "inotify"),
    "fanotify_init": Creates(Flag(0, "FAN_CLOEXEC"), "fanotify"),
    "memfd_create": Creates(Flag(1, "MFD_CLOEXEC"), "memfd", path_arg=0),
    "memfd_secret": Creates(Flag(0, "O_CLOEXEC"), "memfd"),
    "userfaultfd": Creates(Flag(0, "O_CLOEXEC"), "userfaultfd"),
    "perf_event_open": Creates(Flag(4, "PERF_FLAG_FD_CLOEXEC"), "perf_event"),
    "mq_open": Creates(Flag(1, "O_CLOEXEC"), "mqueue", path_arg=0),
    "fsopen": Creates(Flag(1, "FSOPEN_CLOEXEC"), "fs_context"),
    "fsmount": Creates(Flag(1, "FSMOUNT_CLOEXEC"), "mount"),
    "fspick": Creates(Flag(2, "FSPICK_CLOEXEC"), "fs_context"),
    "pidfd_open": Creates(ALWAYS, "pidfd"),
    "pidfd_getfd": Creates(ALWAYS, "file"),
    "io_uring_setup": Creates(ALWAYS, "io_uring"),
    "landlock_create_ruleset": Creates(ALWAYS, "landlock"),
    "bpf": Creates(ALWAYS, "bpf", only_commands=(0, _BPF_FD_COMMANDS)),
    "pipe": CreatesPair(0, NEVER, "pipe"),
    "pipe2": CreatesPair(0, Flag(1, "O_CLOEXEC"), "pipe"),
    "socketpair": CreatesPair(3, Flag(1, "SOCK_CLOEXEC"), "socket"),
    # duplication: the new descriptor never inherits close-on-exec
    "dup": Duplicates(0, None, NEVER),
    "dup2": Duplicates(0, 1, NEVER),
    "dup3": Duplicates(0, 1, Flag(2, "O_CLOEXEC")),
    # flags and closing
    "fcntl": Fcntl(),
    "fcntl64": Fcntl(),
    "ioctl": Ioctl(),
    "close": Closes(),
    "close_range": ClosesRange(),
    # descriptors across sockets
    "recvmsg": Receives(1, 2, vector=False),
    "recvmmsg": Receives(1, 3, vector=True),
    "recvmmsg_time64": Receives(1, 3, vector=True),
    "sendmsg": Sends(1, vector=False),
    "sendmmsg": Sends(1, vector=True),
    # processes
    "execve": Execs(0),
    "execveat": Execs(1),
    "fork": Forks(None),
    "vfork": Forks(None, vfork=True),
    "clone": Forks("arg"),
    "clone2": Forks("arg"),
    "clone3": Forks("struct"),
    "unshare": Unshares(),
}

# The calls the model must see (the smallest strace -e trace= set that keeps it exact).
TRACKED: Final = frozenset(EFFECTS)
CREATES_PROCESS: Final = frozenset(name for name, effect in EFFECTS.items() if isinstance(effect, Forks))
EXECS: Final = frozenset(name for name, effect in EFFECTS.items() if isinstance(effect, Execs))


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
