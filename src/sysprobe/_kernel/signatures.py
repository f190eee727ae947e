"""How a syscall's arguments are read and printed: a declarative signature per call.

Each argument has a kind (a descriptor, a path, flags of a constants group, a sockaddr
whose length is another argument...). The syscall table (``syscalls.py``) gives every
call its signature; the ptrace backend's decoder (``_tracing/ptrace/decode.py``) is the
one interpreter of these kinds, reading the tracee's registers and memory into argument
trees. strace decodes the same calls by its own code; ``undecoded`` marks the arguments
the ptrace backend prints as plain numbers where strace would print more.
"""

from __future__ import annotations

from typing import Final

from .._frozen import Frozen


class Arg(Frozen):
    """One argument: its ``kind`` (below), the constants ``group`` it is named from, the
    argument it depends on (``ref``: a length, an address family, a command, the flags
    that say whether it is there at all)."""

    kind: Final[str]
    group: Final[str | None]
    ref: Final[int | None]
    undecoded: Final[bool]
    only_with: Final[str | None]  # printed only when argument ``ref`` has this flag

    __match_args__ = ("kind", "group", "ref", "undecoded", "only_with")

    def __init__(
        self,
        kind: str,
        group: str | None = None,
        ref: int | None = None,
        undecoded: bool = False,
        only_with: str | None = None,
    ) -> None:
        self.kind = kind
        self.group = group
        self.ref = ref
        self.undecoded = undecoded
        self.only_with = only_with


def only_with(flag: str, flags_arg: int, arg: Arg) -> Arg:
    """``arg``, printed only when ``flags_arg`` has ``flag`` (mremap's new address:
    MREMAP_FIXED); strace prints one argument less otherwise."""
    return Arg(arg.kind, arg.group, flags_arg, arg.undecoded, flag)


# ---- the kinds: values read from the registers ----
FD: Final = Arg("fd")  # a descriptor, with -y its path: 3</etc/passwd>
DIRFD: Final = Arg("dirfd")  # a descriptor or AT_FDCWD
INT: Final = Arg("int")
UINT: Final = Arg("uint")
LONG: Final = Arg("long")
ULONG: Final = Arg("ulong")
PTR: Final = Arg("ptr")  # an address strace prints as one: NULL or 0x7ffd...
HEX: Final = Arg("hex")  # a number strace prints in hex (mmap's offset): 0, 0x1000
MODE: Final = Arg("mode")  # permission bits in octal: 0644
SIGNAL: Final = Arg("signal")  # SIGKILL
SOCKET_TYPE: Final = Arg("socket_type")  # SOCK_STREAM|SOCK_CLOEXEC
OPEN_FLAGS: Final = Arg("open_flags")  # O_RDONLY|O_CLOEXEC: the access mode, then flags
CLONE_FLAGS: Final = Arg("clone_flags")  # CLONE_VM|...|SIGCHLD: flags above, a signal below
IOCTL_REQUEST: Final = Arg("ioctl_request")  # FIOCLEX, else the number in hex
# printed as numbers where strace decodes them: a structure's address, a flag word
STRUCT: Final = Arg("ptr", undecoded=True)
RAW: Final = Arg("raw", undecoded=True)
# a descriptor of another process (pidfd_getfd's): strace decorates it from that process
OTHER_FD: Final = Arg("int", undecoded=True)

# ---- memory read at the call's entry ----
PATH: Final = Arg("path")  # a file name, in full
STRING: Final = Arg("string")  # a NUL-terminated string, cut at -s
SIGSET: Final = Arg("sigset")  # [CHLD USR1]
ARGV: Final = Arg("argv")  # ["sh", "-c", "..."]
ENVP: Final = Arg("envp")  # 0x7ffd... /* 23 vars */
OPEN_HOW: Final = Arg("open_how")  # openat2's {flags=..., mode=..., resolve=...}
MSGHDR_IN: Final = Arg("msghdr_in")  # sendmsg's message

# ---- memory written by the call, read at its exit ----
FD_PAIR: Final = Arg("fd_pair")  # pipe's and socketpair's [3, 4]
SOCKLEN_INOUT: Final = Arg("socklen_inout")  # [110 => 16]: offered, then used
BUFFER_OUT: Final = Arg("buffer_out")  # read's data, as long as the result says
MSGHDR_OUT: Final = Arg("msghdr_out")  # recvmsg's message, SCM_RIGHTS included
MMSGHDR_IN: Final = Arg("mmsghdr_in")  # sendmmsg's messages, as many as were sent
MMSGHDR_OUT: Final = Arg("mmsghdr_out")
OFFSET_INOUT: Final = Arg("offset_inout")  # sendfile's [0] => [5]


def flags(group: str) -> Arg:
    """A flag word named from ``group``: ``EFD_NONBLOCK|EFD_CLOEXEC``, ``0`` when empty."""
    return Arg("flags", group)


def xlat(group: str) -> Arg:
    """One value named from ``group`` (``SEEK_SET``), else the number."""
    return Arg("xlat", group)


def buffer_in(length_arg: int) -> Arg:
    """Data the call reads from memory, ``length_arg`` bytes (write's buffer)."""
    return Arg("buffer_in", ref=length_arg)


def sockaddr(length_arg: int) -> Arg:
    """A socket address the call reads, ``length_arg`` bytes (connect, bind)."""
    return Arg("sockaddr", ref=length_arg)


def sockaddr_out(length_arg: int) -> Arg:
    """A socket address the call writes (accept's peer), as long as ``length_arg`` says."""
    return Arg("sockaddr_out", ref=length_arg)


def protocol(family_arg: int) -> Arg:
    """socket's protocol, named by the address family in ``family_arg``."""
    return Arg("protocol", ref=family_arg)


def open_mode(flags_arg: int) -> Arg:
    """open's mode: printed only when ``flags_arg`` has O_CREAT or O_TMPFILE."""
    return Arg("open_mode", ref=flags_arg)


def fcntl_arg(command_arg: int) -> Arg:
    """fcntl's third argument, decoded by its command; absent for F_GETFD and the like."""
    return Arg("fcntl_arg", ref=command_arg)


def ioctl_arg(request_arg: int) -> Arg:
    """ioctl's third argument: absent for FIOCLEX/FIONCLEX, else an address strace decodes."""
    return Arg("ioctl_arg", ref=request_arg, undecoded=True)


def clone3_args(size_arg: int) -> Arg:
    """clone3's struct clone_args, ``size_arg`` bytes, with what the kernel wrote back."""
    return Arg("clone3_args", ref=size_arg)


# what a call's result is
RESULT_INT: Final = "int"
RESULT_FD: Final = "fd"  # a new descriptor: decorated like an argument (3</tmp/x>)
RESULT_HEX: Final = "hex"  # an address (mmap, brk)
RESULT_NONE: Final = "none"  # never returns (exit): strace prints "= ?"
RESULT_FCNTL: Final = "fcntl"  # by command: a descriptor, flags, a number

# a call whose arguments strace prints in its own order and with names
LAYOUT_CLONE: Final = "clone"  # clone(child_stack=..., flags=..., parent_tid=..., tls=...)
