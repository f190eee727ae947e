"""Constants and flag values, per architecture: the one place their numbers live.

strace prints names (``O_RDONLY|O_CLOEXEC``); with ``-X raw`` it prints numbers
(``0x80000``), and the ptrace backend reads numbers from registers. Both directions read
these groups: name → value (``constants(arch)``, for the model and for checking flag
names) and value → name (``group(name, arch).flags_of(value)``, for the ptrace decoder).

A group is written the way the kernel's uapi headers are: the asm-generic values, then
what an architecture's own header says instead. Most architectures' headers only replace
a few values and include asm-generic for the rest (fcntl.h); some replace the whole
header (alpha's, mips', parisc's and sparc's socket.h, their ioctls.h): for those, a
name missing from the override is unknown there, never silently the generic value. A
value may be the name of another constant (``SOCK_CLOEXEC`` is ``O_CLOEXEC`` on every
architecture, whatever its number). ``tests/kernel/test_constants.py`` checks every
x86_64 value against the host's own (Python's modules, the C headers).
"""

from __future__ import annotations

import os
from typing import Final

# ---- the data: (name, value or the name of an equal constant), in printing order ----
# A group's order is the order strace prints its names in (O_NONBLOCK|O_CLOEXEC, but
# EFD_CLOEXEC|EFD_NONBLOCK): the ptrace backend's trees must equal the parser's. A value
# made of several bits comes before the single bits it contains (O_SYNC before O_DSYNC,
# O_TMPFILE before O_DIRECTORY); an alias (O_NDELAY) comes after the name strace prints
# for the same bits.

Entries = tuple[tuple[str, int | str], ...]

# fcntl.h: open(2) flags and fcntl(2) commands
_OPEN_ACCESS: Final[Entries] = (("O_RDONLY", 0), ("O_WRONLY", 1), ("O_RDWR", 2), ("O_ACCMODE", 3))
_OPEN_FLAGS: Final[Entries] = (
    ("O_CREAT", 0o100),
    ("O_EXCL", 0o200),
    ("O_NOCTTY", 0o400),
    ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000),
    ("O_NONBLOCK", 0o4000),
    ("O_SYNC", 0o4010000),  # __O_SYNC|O_DSYNC
    ("O_DSYNC", 0o10000),
    ("O_DIRECT", 0o40000),
    ("O_LARGEFILE", 0o100000),
    ("O_NOFOLLOW", 0o400000),
    ("O_NOATIME", 0o1000000),
    ("O_CLOEXEC", 0o2000000),
    ("O_PATH", 0o10000000),
    ("O_TMPFILE", 0o20200000),  # __O_TMPFILE|O_DIRECTORY
    ("O_DIRECTORY", 0o200000),
    ("FASYNC", 0o20000),
    ("O_ASYNC", "FASYNC"),
    ("O_NDELAY", "O_NONBLOCK"),
    ("O_FSYNC", "O_SYNC"),
    ("O_RSYNC", "O_SYNC"),
)
_OPEN_FLAGS_BY_ARCH: Final[dict[str, dict[str, int | str]]] = {
    "alpha": {
        "O_CREAT": 0o1000, "O_TRUNC": 0o2000, "O_EXCL": 0o4000, "O_NOCTTY": 0o10000,
        "O_NONBLOCK": 0o4, "O_APPEND": 0o10, "O_DSYNC": 0o40000, "O_DIRECTORY": 0o100000,
        "O_NOFOLLOW": 0o200000, "O_LARGEFILE": 0o400000, "O_DIRECT": 0o2000000,
        "O_NOATIME": 0o4000000, "O_CLOEXEC": 0o10000000, "O_SYNC": 0o20040000,
        "O_PATH": 0o40000000, "O_TMPFILE": 0o100100000,
    },
    "mips": {
        "O_APPEND": 0x8, "O_DSYNC": 0x10, "O_NONBLOCK": 0x80, "O_CREAT": 0x100, "O_TRUNC": 0x200,
        "O_EXCL": 0x400, "O_NOCTTY": 0x800, "FASYNC": 0x1000, "O_LARGEFILE": 0x2000,
        "O_SYNC": 0x4010, "O_DIRECT": 0x8000,
    },
    "parisc": {
        "O_APPEND": 1 << 3, "O_CREAT": 1 << 8, "O_EXCL": 1 << 10, "O_LARGEFILE": 1 << 11,
        "O_SYNC": 1 << 15 | 1 << 18, "O_NONBLOCK": 1 << 16, "O_NOCTTY": 1 << 17, "O_DSYNC": 1 << 18,
        "O_NOATIME": 1 << 20, "O_CLOEXEC": 1 << 21, "O_DIRECTORY": 1 << 12, "O_NOFOLLOW": 1 << 7,
        "O_PATH": 1 << 22, "O_TMPFILE": 1 << 23 | 1 << 12,
    },
    "sparc64": {
        "O_APPEND": 0x8, "FASYNC": 0x40, "O_CREAT": 0x200, "O_TRUNC": 0x400, "O_EXCL": 0x800,
        "O_DSYNC": 0x2000, "O_NONBLOCK": 0x4000, "O_NOCTTY": 0x8000, "O_LARGEFILE": 0x40000,
        "O_DIRECT": 0x100000, "O_NOATIME": 0x200000, "O_CLOEXEC": 0x400000, "O_SYNC": 0x802000,
        "O_PATH": 0x1000000, "O_TMPFILE": 0x2010000, "O_DIRECTORY": 0x10000, "O_NOFOLLOW": 0x20000,
        "O_NDELAY": 0x4,
    },
    "ppc64": {"O_DIRECTORY": 0o40000, "O_NOFOLLOW": 0o100000, "O_LARGEFILE": 0o200000, "O_DIRECT": 0o400000,
              "O_TMPFILE": 0o20040000},
    "arm": {"O_DIRECTORY": 0o40000, "O_NOFOLLOW": 0o100000, "O_DIRECT": 0o200000, "O_LARGEFILE": 0o400000,
            "O_TMPFILE": 0o20040000},
    "aarch64": {"O_DIRECTORY": 0o40000, "O_NOFOLLOW": 0o100000, "O_DIRECT": 0o200000,
                "O_LARGEFILE": 0o400000, "O_TMPFILE": 0o20040000},
}  # fmt: skip
_FCNTL_COMMANDS: Final[Entries] = (
    ("F_DUPFD", 0),
    ("F_GETFD", 1),
    ("F_SETFD", 2),
    ("F_GETFL", 3),
    ("F_SETFL", 4),
    ("F_GETLK", 5),
    ("F_SETLK", 6),
    ("F_SETLKW", 7),
    ("F_SETOWN", 8),
    ("F_GETOWN", 9),
    ("F_SETSIG", 10),
    ("F_GETSIG", 11),
    ("F_SETOWN_EX", 15),
    ("F_GETOWN_EX", 16),
    ("F_GETOWNER_UIDS", 17),
    ("F_OFD_GETLK", 36),
    ("F_OFD_SETLK", 37),
    ("F_OFD_SETLKW", 38),
    ("F_SETLEASE", 1024),
    ("F_GETLEASE", 1025),
    ("F_NOTIFY", 1026),
    ("F_CANCELLK", 1029),
    ("F_DUPFD_CLOEXEC", 1030),
    ("F_SETPIPE_SZ", 1031),
    ("F_GETPIPE_SZ", 1032),
    ("F_ADD_SEALS", 1033),
    ("F_GET_SEALS", 1034),
    ("F_GET_RW_HINT", 1035),
    ("F_SET_RW_HINT", 1036),
    ("F_GET_FILE_RW_HINT", 1037),
    ("F_SET_FILE_RW_HINT", 1038),
    ("F_GETLK64", "F_GETLK"),  # the same command on 64-bit ABIs
    ("F_SETLK64", "F_SETLK"),
    ("F_SETLKW64", "F_SETLKW"),
)
_FCNTL_COMMANDS_BY_ARCH: Final[dict[str, dict[str, int | str]]] = {
    "alpha": {"F_GETLK": 7, "F_SETLK": 8, "F_SETLKW": 9, "F_SETOWN": 5, "F_GETOWN": 6},
    "sparc64": {"F_GETOWN": 5, "F_SETOWN": 6, "F_GETLK": 7, "F_SETLK": 8, "F_SETLKW": 9},
    "mips": {"F_GETLK": 14, "F_SETLK": 6, "F_SETLKW": 7, "F_SETOWN": 24, "F_GETOWN": 23},
    "parisc": {"F_GETOWN": 11, "F_SETOWN": 12, "F_SETSIG": 13, "F_GETSIG": 14,
               "F_GETLK64": 8, "F_SETLK64": 9, "F_SETLKW64": 10},
}  # fmt: skip
# fcntl commands that take no third argument (strace prints two)
FCNTL_WITHOUT_ARGUMENT: Final = frozenset(
    {"F_GETFD", "F_GETFL", "F_GETOWN", "F_GETSIG", "F_GETLEASE", "F_GETPIPE_SZ", "F_GET_SEALS"}
)
_FLOCK_TYPES: Final[Entries] = (
    ("F_RDLCK", 0),
    ("F_WRLCK", 1),
    ("F_UNLCK", 2),
    ("F_EXLCK", 4),
    ("F_SHLCK", 8),
)
_FLOCK_TYPES_BY_ARCH: Final[dict[str, dict[str, int | str]]] = {
    "alpha": {"F_RDLCK": 1, "F_WRLCK": 2, "F_UNLCK": 8, "F_EXLCK": 16, "F_SHLCK": 32},
    "sparc64": {"F_RDLCK": 1, "F_WRLCK": 2, "F_UNLCK": 3},
    "parisc": {"F_RDLCK": 1, "F_WRLCK": 2, "F_UNLCK": 3},
}
_FD_FLAGS: Final[Entries] = (("FD_CLOEXEC", 1),)
_SEALS: Final[Entries] = (
    ("F_SEAL_SEAL", 1),
    ("F_SEAL_SHRINK", 2),
    ("F_SEAL_GROW", 4),
    ("F_SEAL_WRITE", 8),
    ("F_SEAL_FUTURE_WRITE", 16),
    ("F_SEAL_EXEC", 32),
)
_AT_FD: Final[Entries] = (("AT_FDCWD", -100),)
_AT_FLAGS: Final[Entries] = (
    ("AT_SYMLINK_NOFOLLOW", 0x100),
    ("AT_REMOVEDIR", 0x200),
    ("AT_SYMLINK_FOLLOW", 0x400),
    ("AT_NO_AUTOMOUNT", 0x800),
    ("AT_EMPTY_PATH", 0x1000),
    ("AT_RECURSIVE", 0x8000),
    ("AT_EACCESS", "AT_REMOVEDIR"),  # faccessat's meaning of the same bit
)
_SEEK_WHENCE: Final[Entries] = (
    ("SEEK_SET", 0),
    ("SEEK_CUR", 1),
    ("SEEK_END", 2),
    ("SEEK_DATA", 3),
    ("SEEK_HOLE", 4),
)
# wait.h: wait4(2) and waitid(2) options
_WAIT_OPTIONS: Final[Entries] = (
    ("WNOHANG", 1),
    ("WUNTRACED", 2),
    ("WEXITED", 4),
    ("WCONTINUED", 8),
    ("WNOWAIT", 0x1000000),
    ("__WCLONE", 0x80000000),
    ("__WALL", 0x40000000),
    ("__WNOTHREAD", 0x20000000),
    ("WSTOPPED", "WUNTRACED"),
)
_CLOSE_RANGE_FLAGS: Final[Entries] = (("CLOSE_RANGE_UNSHARE", 2), ("CLOSE_RANGE_CLOEXEC", 4))

# mman.h: mremap(2) flags
_MREMAP_FLAGS: Final[Entries] = (("MREMAP_MAYMOVE", 1), ("MREMAP_FIXED", 2), ("MREMAP_DONTUNMAP", 4))

# descriptor-creating calls' flags: most are O_NONBLOCK and O_CLOEXEC under another name
_EPOLL_FLAGS: Final[Entries] = (("EPOLL_CLOEXEC", "O_CLOEXEC"),)
_EPOLL_CTL_OPS: Final[Entries] = (("EPOLL_CTL_ADD", 1), ("EPOLL_CTL_DEL", 2), ("EPOLL_CTL_MOD", 3))
_EVENTFD_FLAGS: Final[Entries] = (
    ("EFD_SEMAPHORE", 1),
    ("EFD_CLOEXEC", "O_CLOEXEC"),
    ("EFD_NONBLOCK", "O_NONBLOCK"),
)
_TIMERFD_FLAGS: Final[Entries] = (("TFD_CLOEXEC", "O_CLOEXEC"), ("TFD_NONBLOCK", "O_NONBLOCK"))
_SIGNALFD_FLAGS: Final[Entries] = (("SFD_CLOEXEC", "O_CLOEXEC"), ("SFD_NONBLOCK", "O_NONBLOCK"))
_INOTIFY_FLAGS: Final[Entries] = (("IN_NONBLOCK", "O_NONBLOCK"), ("IN_CLOEXEC", "O_CLOEXEC"))
_PIDFD_FLAGS: Final[Entries] = (("PIDFD_NONBLOCK", "O_NONBLOCK"),)
_MEMFD_FLAGS: Final[Entries] = (
    ("MFD_CLOEXEC", 1),
    ("MFD_ALLOW_SEALING", 2),
    ("MFD_HUGETLB", 4),
    ("MFD_NOEXEC_SEAL", 8),
    ("MFD_EXEC", 0x10),
)
_FANOTIFY_INIT_FLAGS: Final[Entries] = (("FAN_CLOEXEC", 1), ("FAN_NONBLOCK", 2))
_FSOPEN_FLAGS: Final[Entries] = (("FSOPEN_CLOEXEC", 1),)
_FSMOUNT_FLAGS: Final[Entries] = (("FSMOUNT_CLOEXEC", 1),)
_FSPICK_FLAGS: Final[Entries] = (
    ("FSPICK_CLOEXEC", 1),
    ("FSPICK_SYMLINK_NOFOLLOW", 2),
    ("FSPICK_NO_AUTOMOUNT", 4),
    ("FSPICK_EMPTY_PATH", 8),
)
_OPEN_TREE_FLAGS: Final[Entries] = (("OPEN_TREE_CLONE", 1), ("OPEN_TREE_CLOEXEC", "O_CLOEXEC"))
_PERF_FLAGS: Final[Entries] = (
    ("PERF_FLAG_FD_NO_GROUP", 1),
    ("PERF_FLAG_FD_OUTPUT", 2),
    ("PERF_FLAG_PID_CGROUP", 4),
    ("PERF_FLAG_FD_CLOEXEC", 8),
)

# sched.h: clone(2), clone3(2) and unshare(2) flags; the low byte of clone's is a signal
_CLONE_FLAGS: Final[Entries] = (
    ("CLONE_NEWTIME", 0x80),
    ("CLONE_VM", 0x100),
    ("CLONE_FS", 0x200),
    ("CLONE_FILES", 0x400),
    ("CLONE_SIGHAND", 0x800),
    ("CLONE_PIDFD", 0x1000),
    ("CLONE_PTRACE", 0x2000),
    ("CLONE_VFORK", 0x4000),
    ("CLONE_PARENT", 0x8000),
    ("CLONE_THREAD", 0x10000),
    ("CLONE_NEWNS", 0x20000),
    ("CLONE_SYSVSEM", 0x40000),
    ("CLONE_SETTLS", 0x80000),
    ("CLONE_PARENT_SETTID", 0x100000),
    ("CLONE_CHILD_CLEARTID", 0x200000),
    ("CLONE_DETACHED", 0x400000),
    ("CLONE_UNTRACED", 0x800000),
    ("CLONE_CHILD_SETTID", 0x1000000),
    ("CLONE_NEWCGROUP", 0x2000000),
    ("CLONE_NEWUTS", 0x4000000),
    ("CLONE_NEWIPC", 0x8000000),
    ("CLONE_NEWUSER", 0x10000000),
    ("CLONE_NEWPID", 0x20000000),
    ("CLONE_NEWNET", 0x40000000),
    ("CLONE_IO", 0x80000000),
    ("CLONE_CLEAR_SIGHAND", 0x100000000),
    ("CLONE_INTO_CGROUP", 0x200000000),
)
CLONE_SIGNAL_MASK: Final = 0xFF  # CSIGNAL: clone's exit signal, below its flags

# socket.h, net.h, in.h, netlink.h
_ADDRESS_FAMILIES: Final[Entries] = (
    ("AF_UNSPEC", 0),
    ("AF_UNIX", 1),
    ("AF_INET", 2),
    ("AF_AX25", 3),
    ("AF_IPX", 4),
    ("AF_APPLETALK", 5),
    ("AF_NETROM", 6),
    ("AF_BRIDGE", 7),
    ("AF_ATMPVC", 8),
    ("AF_X25", 9),
    ("AF_INET6", 10),
    ("AF_ROSE", 11),
    ("AF_DECnet", 12),
    ("AF_NETBEUI", 13),
    ("AF_SECURITY", 14),
    ("AF_KEY", 15),
    ("AF_NETLINK", 16),
    ("AF_PACKET", 17),
    ("AF_ASH", 18),
    ("AF_ECONET", 19),
    ("AF_ATMSVC", 20),
    ("AF_RDS", 21),
    ("AF_SNA", 22),
    ("AF_IRDA", 23),
    ("AF_PPPOX", 24),
    ("AF_WANPIPE", 25),
    ("AF_LLC", 26),
    ("AF_IB", 27),
    ("AF_MPLS", 28),
    ("AF_CAN", 29),
    ("AF_TIPC", 30),
    ("AF_BLUETOOTH", 31),
    ("AF_IUCV", 32),
    ("AF_RXRPC", 33),
    ("AF_ISDN", 34),
    ("AF_PHONET", 35),
    ("AF_IEEE802154", 36),
    ("AF_CAIF", 37),
    ("AF_ALG", 38),
    ("AF_NFC", 39),
    ("AF_VSOCK", 40),
    ("AF_KCM", 41),
    ("AF_QIPCRTR", 42),
    ("AF_SMC", 43),
    ("AF_XDP", 44),
    ("AF_MCTP", 45),
    ("AF_LOCAL", "AF_UNIX"),
    ("AF_ROUTE", "AF_NETLINK"),
)
_SOCKET_TYPES: Final[Entries] = (
    ("SOCK_STREAM", 1),
    ("SOCK_DGRAM", 2),
    ("SOCK_RAW", 3),
    ("SOCK_RDM", 4),
    ("SOCK_SEQPACKET", 5),
    ("SOCK_DCCP", 6),
    ("SOCK_PACKET", 10),
)
SOCKET_TYPE_MASK: Final = 0xF  # socket(2)'s type argument: the type below, flags above
_SOCKET_FLAGS: Final[Entries] = (("SOCK_CLOEXEC", "O_CLOEXEC"), ("SOCK_NONBLOCK", "O_NONBLOCK"))
_IP_PROTOCOLS: Final[Entries] = (
    ("IPPROTO_IP", 0),
    ("IPPROTO_ICMP", 1),
    ("IPPROTO_IGMP", 2),
    ("IPPROTO_IPIP", 4),
    ("IPPROTO_TCP", 6),
    ("IPPROTO_EGP", 8),
    ("IPPROTO_PUP", 12),
    ("IPPROTO_UDP", 17),
    ("IPPROTO_IDP", 22),
    ("IPPROTO_TP", 29),
    ("IPPROTO_DCCP", 33),
    ("IPPROTO_IPV6", 41),
    ("IPPROTO_RSVP", 46),
    ("IPPROTO_GRE", 47),
    ("IPPROTO_ESP", 50),
    ("IPPROTO_AH", 51),
    ("IPPROTO_ICMPV6", 58),
    ("IPPROTO_MTP", 92),
    ("IPPROTO_BEETPH", 94),
    ("IPPROTO_ENCAP", 98),
    ("IPPROTO_PIM", 103),
    ("IPPROTO_COMP", 108),
    ("IPPROTO_L2TP", 115),
    ("IPPROTO_SCTP", 132),
    ("IPPROTO_UDPLITE", 136),
    ("IPPROTO_MPLS", 137),
    ("IPPROTO_ETHERNET", 143),
    ("IPPROTO_RAW", 255),
    ("IPPROTO_MPTCP", 262),
)
_NETLINK_PROTOCOLS: Final[Entries] = (
    ("NETLINK_ROUTE", 0),
    ("NETLINK_UNUSED", 1),
    ("NETLINK_USERSOCK", 2),
    ("NETLINK_FIREWALL", 3),
    ("NETLINK_SOCK_DIAG", 4),
    ("NETLINK_NFLOG", 5),
    ("NETLINK_XFRM", 6),
    ("NETLINK_SELINUX", 7),
    ("NETLINK_ISCSI", 8),
    ("NETLINK_AUDIT", 9),
    ("NETLINK_FIB_LOOKUP", 10),
    ("NETLINK_CONNECTOR", 11),
    ("NETLINK_NETFILTER", 12),
    ("NETLINK_IP6_FW", 13),
    ("NETLINK_DNRTMSG", 14),
    ("NETLINK_KOBJECT_UEVENT", 15),
    ("NETLINK_GENERIC", 16),
    ("NETLINK_SCSITRANSPORT", 18),
    ("NETLINK_ECRYPTFS", 19),
    ("NETLINK_RDMA", 20),
    ("NETLINK_CRYPTO", 21),
    ("NETLINK_SMC", 22),
)
_MSG_FLAGS: Final[Entries] = (
    ("MSG_OOB", 0x1),
    ("MSG_PEEK", 0x2),
    ("MSG_DONTROUTE", 0x4),
    ("MSG_CTRUNC", 0x8),
    ("MSG_PROXY", 0x10),
    ("MSG_TRUNC", 0x20),
    ("MSG_DONTWAIT", 0x40),
    ("MSG_EOR", 0x80),
    ("MSG_WAITALL", 0x100),
    ("MSG_FIN", 0x200),
    ("MSG_SYN", 0x400),
    ("MSG_CONFIRM", 0x800),
    ("MSG_RST", 0x1000),
    ("MSG_ERRQUEUE", 0x2000),
    ("MSG_NOSIGNAL", 0x4000),
    ("MSG_MORE", 0x8000),
    ("MSG_WAITFORONE", 0x10000),
    ("MSG_BATCH", 0x40000),
    ("MSG_ZEROCOPY", 0x4000000),
    ("MSG_FASTOPEN", 0x20000000),
    ("MSG_CMSG_CLOEXEC", 0x40000000),
)
_SOCKET_LEVELS: Final[Entries] = (("SOL_SOCKET", 1),)
_CONTROL_MESSAGES: Final[Entries] = (
    ("SCM_RIGHTS", 1),
    ("SCM_CREDENTIALS", 2),
    ("SCM_TIMESTAMP", 29),
    ("SCM_TIMESTAMPNS", 35),
)
# the architectures whose socket.h replaces asm-generic's: their own values, all we know
_OWN_SOCKET_H: Final[dict[str, dict[str, int | str]]] = {
    arch: {"SOL_SOCKET": 0xFFFF, "SCM_RIGHTS": 1, "SCM_CREDENTIALS": 2}
    for arch in ("alpha", "mips", "parisc", "sparc64")
}

# ioctls.h: the generic numbers are x86's; four architectures number them their own way
_IOCTLS: Final[Entries] = (
    ("TCGETS", 0x5401),
    ("TCSETS", 0x5402),
    ("TCSETSW", 0x5403),
    ("TCSETSF", 0x5404),
    ("TCGETA", 0x5405),
    ("TCSETA", 0x5406),
    ("TCSETAW", 0x5407),
    ("TCSETAF", 0x5408),
    ("TCSBRK", 0x5409),
    ("TIOCEXCL", 0x540C),
    ("TIOCNXCL", 0x540D),
    ("TIOCSCTTY", 0x540E),
    ("TIOCGPGRP", 0x540F),
    ("TIOCSPGRP", 0x5410),
    ("TIOCOUTQ", 0x5411),
    ("TIOCSTI", 0x5412),
    ("TIOCGWINSZ", 0x5413),
    ("TIOCSWINSZ", 0x5414),
    ("TIOCMGET", 0x5415),
    ("FIONREAD", 0x541B),
    ("TIOCLINUX", 0x541C),
    ("TIOCCONS", 0x541D),
    ("FIONBIO", 0x5421),
    ("TIOCNOTTY", 0x5422),
    ("TIOCSETD", 0x5423),
    ("TIOCGETD", 0x5424),
    ("TCSBRKP", 0x5425),
    ("TIOCGSID", 0x5429),
    ("FIONCLEX", 0x5450),
    ("FIOCLEX", 0x5451),
    ("FIOASYNC", 0x5452),
    ("TIOCINQ", "FIONREAD"),
)
_OWN_IOCTLS_H: Final[dict[str, dict[str, int | str]]] = {
    "alpha": {"FIOCLEX": 0x20006601, "FIONCLEX": 0x20006602},
    "sparc64": {"FIOCLEX": 0x20006601, "FIONCLEX": 0x20006602},
    "ppc64": {"FIOCLEX": 0x20006601, "FIONCLEX": 0x20006602},
    "mips": {"FIOCLEX": 0x6601, "FIONCLEX": 0x6602},
    "parisc": {"FIOCLEX": 0x5451, "FIONCLEX": 0x5450},
}
# ioctl requests that take no third argument (strace prints two)
IOCTL_WITHOUT_ARGUMENT: Final = frozenset({"FIOCLEX", "FIONCLEX"})

# time.h
_CLOCKS: Final[Entries] = (
    ("CLOCK_REALTIME", 0),
    ("CLOCK_MONOTONIC", 1),
    ("CLOCK_PROCESS_CPUTIME_ID", 2),
    ("CLOCK_THREAD_CPUTIME_ID", 3),
    ("CLOCK_MONOTONIC_RAW", 4),
    ("CLOCK_REALTIME_COARSE", 5),
    ("CLOCK_MONOTONIC_COARSE", 6),
    ("CLOCK_BOOTTIME", 7),
    ("CLOCK_REALTIME_ALARM", 8),
    ("CLOCK_BOOTTIME_ALARM", 9),
    ("CLOCK_TAI", 11),
)

# signal.h: the standard signals (alpha, mips, parisc and sparc number them differently:
# not written here, so unknown there). Real-time signals are SIGRTMIN+n, see signals.py.
_SIGNALS: Final[Entries] = (
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGSTKFLT", 16),
    ("SIGCHLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGTTIN", 21),
    ("SIGTTOU", 22),
    ("SIGURG", 23),
    ("SIGXCPU", 24),
    ("SIGXFSZ", 25),
    ("SIGVTALRM", 26),
    ("SIGPROF", 27),
    ("SIGWINCH", 28),
    ("SIGIO", 29),
    ("SIGPWR", 30),
    ("SIGSYS", 31),
    ("SIGIOT", "SIGABRT"),
    ("SIGPOLL", "SIGIO"),
    ("SIGCLD", "SIGCHLD"),
)
_SIGNALS_BY_ARCH: Final[dict[str, dict[str, int | str]]] = {
    arch: {} for arch in ("alpha", "mips", "parisc", "sparc64")
}
# rt_sigprocmask's first argument, and the handlers of a struct sigaction
_SIGPROCMASK_HOW: Final[Entries] = (("SIG_BLOCK", 0), ("SIG_UNBLOCK", 1), ("SIG_SETMASK", 2))
_SIGPROCMASK_HOW_BY_ARCH: Final[dict[str, dict[str, int | str]]] = {
    "alpha": {"SIG_BLOCK": 1, "SIG_UNBLOCK": 2, "SIG_SETMASK": 3},
    "mips": {"SIG_BLOCK": 1, "SIG_UNBLOCK": 2, "SIG_SETMASK": 3},
    "sparc64": {"SIG_BLOCK": 1, "SIG_UNBLOCK": 2, "SIG_SETMASK": 4},
}
_SIGNAL_HANDLERS: Final[Entries] = (("SIG_DFL", 0), ("SIG_IGN", 1))
# The kernel's first real-time signal (glibc keeps two for itself and calls 34 SIGRTMIN;
# strace prints the kernel's numbering: 32 SIGRTMIN, 33 SIGRT_1, ...).
KERNEL_SIGRTMIN: Final = 32
KERNEL_SIGRTMAX: Final = 64

# siginfo.h: si_code values strace names in --- SIG... {si_code=...} --- lines
_SI_CODES: Final[Entries] = (
    ("SI_USER", 0),
    ("SI_KERNEL", 0x80),
    ("SI_QUEUE", -1),
    ("SI_TIMER", -2),
    ("SI_MESGQ", -3),
    ("SI_ASYNCIO", -4),
    ("SI_SIGIO", -5),
    ("SI_TKILL", -6),
)
_CLD_CODES: Final[Entries] = (
    ("CLD_EXITED", 1),
    ("CLD_KILLED", 2),
    ("CLD_DUMPED", 3),
    ("CLD_TRAPPED", 4),
    ("CLD_STOPPED", 5),
    ("CLD_CONTINUED", 6),
)
_SEGV_CODES: Final[Entries] = (("SEGV_MAPERR", 1), ("SEGV_ACCERR", 2))

# errno values the kernel uses inside a call, never returned to user space: strace
# prints them as a '?' result (a call interrupted by a signal)
_RESTART_ERRNOS: Final[Entries] = (
    ("ERESTARTSYS", 512),
    ("ERESTARTNOINTR", 513),
    ("ERESTARTNOHAND", 514),
    ("ENOIOCTLCMD", 515),
    ("ERESTART_RESTARTBLOCK", 516),
)
RESTART_ERRNO_TEXT: Final = {
    "ERESTARTSYS": "To be restarted if SA_RESTART is set",
    "ERESTARTNOINTR": "To be restarted",
    "ERESTARTNOHAND": "To be restarted if no handler",
    "ENOIOCTLCMD": "No ioctl command",
    "ERESTART_RESTARTBLOCK": "Interrupted by signal",
}


class _Group:
    __slots__ = ("by_arch", "entries", "name", "own_header")

    def __init__(
        self,
        name: str,
        entries: Entries,
        by_arch: dict[str, dict[str, int | str]] | None = None,
        own_header: bool = False,
    ) -> None:
        self.name = name
        self.entries = entries
        self.by_arch = by_arch or {}
        # True: an architecture in by_arch has only the names given there
        self.own_header = own_header

    def raw(self, arch: str) -> list[tuple[str, int | str]]:
        override = self.by_arch.get(arch)
        if override is None:
            return list(self.entries)
        known = {name for name, _ in self.entries}
        out = [
            (name, override.get(name, value))
            for name, value in self.entries
            if not self.own_header or name in override
        ]
        return out + [(name, value) for name, value in override.items() if name not in known]


_GROUPS: Final = {
    group.name: group
    for group in (
        _Group("open_access", _OPEN_ACCESS),
        _Group("open_flags", _OPEN_FLAGS, _OPEN_FLAGS_BY_ARCH),
        _Group("fcntl_commands", _FCNTL_COMMANDS, _FCNTL_COMMANDS_BY_ARCH),
        _Group("flock_types", _FLOCK_TYPES, _FLOCK_TYPES_BY_ARCH),
        _Group("fd_flags", _FD_FLAGS),
        _Group("seals", _SEALS),
        _Group("at_fd", _AT_FD),
        _Group("at_flags", _AT_FLAGS),
        _Group("seek_whence", _SEEK_WHENCE),
        _Group("close_range_flags", _CLOSE_RANGE_FLAGS),
        _Group("wait_options", _WAIT_OPTIONS),
        _Group("mremap_flags", _MREMAP_FLAGS),
        _Group("epoll_flags", _EPOLL_FLAGS),
        _Group("epoll_ctl_ops", _EPOLL_CTL_OPS),
        _Group("eventfd_flags", _EVENTFD_FLAGS),
        _Group("timerfd_flags", _TIMERFD_FLAGS),
        _Group("signalfd_flags", _SIGNALFD_FLAGS),
        _Group("inotify_flags", _INOTIFY_FLAGS),
        _Group("pidfd_flags", _PIDFD_FLAGS),
        _Group("memfd_flags", _MEMFD_FLAGS),
        _Group("fanotify_init_flags", _FANOTIFY_INIT_FLAGS),
        _Group("fsopen_flags", _FSOPEN_FLAGS),
        _Group("fsmount_flags", _FSMOUNT_FLAGS),
        _Group("fspick_flags", _FSPICK_FLAGS),
        _Group("open_tree_flags", _OPEN_TREE_FLAGS),
        _Group("perf_flags", _PERF_FLAGS),
        _Group("clone_flags", _CLONE_FLAGS),
        _Group("address_families", _ADDRESS_FAMILIES),
        _Group("socket_types", _SOCKET_TYPES, {"mips": {"SOCK_STREAM": 2, "SOCK_DGRAM": 1}}),
        _Group("socket_flags", _SOCKET_FLAGS, {"alpha": {"SOCK_NONBLOCK": 0x40000000},
                                               "parisc": {"SOCK_NONBLOCK": 0x40000000}}),
        _Group("ip_protocols", _IP_PROTOCOLS),
        _Group("netlink_protocols", _NETLINK_PROTOCOLS),
        _Group("msg_flags", _MSG_FLAGS),
        _Group("socket_levels", _SOCKET_LEVELS, _OWN_SOCKET_H, own_header=True),
        _Group("control_messages", _CONTROL_MESSAGES, _OWN_SOCKET_H, own_header=True),
        _Group("ioctls", _IOCTLS, _OWN_IOCTLS_H, own_header=True),
        _Group("clocks", _CLOCKS),
        _Group("signals", _SIGNALS, _SIGNALS_BY_ARCH, own_header=True),
        _Group("sigprocmask_how", _SIGPROCMASK_HOW, _SIGPROCMASK_HOW_BY_ARCH),
        _Group("signal_handlers", _SIGNAL_HANDLERS),
        _Group("si_codes", _SI_CODES),
        _Group("cld_codes", _CLD_CODES),
        _Group("segv_codes", _SEGV_CODES),
        _Group("restart_errnos", _RESTART_ERRNOS),
    )
}  # fmt: skip
GROUPS: Final = tuple(_GROUPS)


# ---- architectures ----

_MACHINE_TO_ARCH: Final = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "i386": "i386",
    "i686": "i386",
    "aarch64": "aarch64",
    "arm64": "aarch64",
    "armv7l": "arm",
    "riscv64": "riscv64",
    "s390x": "s390x",
    "ppc64le": "ppc64",
    "ppc64": "ppc64",
    "mips64": "mips",
    "mips": "mips",
    "sparc64": "sparc64",
    "alpha": "alpha",
    "parisc": "parisc",
    "loongarch64": "loongarch64",
}

ARCHES: Final = tuple(sorted({*_MACHINE_TO_ARCH.values()}))


def host_arch() -> str:
    return _MACHINE_TO_ARCH.get(os.uname().machine, "x86_64")


# ---- lookups ----


class Xlat:
    """One group's names and values on one architecture, looked up both ways."""

    __slots__ = ("_by_name", "_by_value", "entries", "name", "prefix")

    def __init__(self, name: str, entries: tuple[tuple[str, int], ...]) -> None:
        self.name = name
        self.entries = entries  # printing order
        # what the names start with: strace prints a value without a name as 0x3039 /* AF_??? */
        self.prefix = entries[0][0].split("_", 1)[0] + "_" if entries else ""
        self._by_name = dict(entries)
        self._by_value: dict[int, str] = {}
        for key, value in entries:
            self._by_value.setdefault(value, key)

    def value(self, name: str) -> int | None:
        return self._by_name.get(name)

    def name_of(self, value: int) -> str | None:
        """The name strace prints for ``value`` (an alias never wins over its original)."""
        return self._by_value.get(value)

    def flags_of(self, value: int) -> tuple[list[str], int]:
        """The flag names in ``value``, in printing order, and the bits no name covers."""
        names: list[str] = []
        rest = value
        for key, bits in self.entries:
            if bits and (value & bits) == bits and (rest & bits):
                names.append(key)
                rest &= ~bits
        return names, rest

    def __contains__(self, name: str) -> bool:
        return name in self._by_name


_RESOLVED: dict[str, dict[str, Xlat]] = {}


def _resolve(arch: str) -> dict[str, Xlat]:
    raw = {name: group.raw(arch) for name, group in _GROUPS.items()}
    numbers = {key: value for entries in raw.values() for key, value in entries if isinstance(value, int)}
    out: dict[str, Xlat] = {}
    for name, entries in raw.items():
        resolved: list[tuple[str, int]] = []
        for key, value in entries:
            number = numbers.get(value) if isinstance(value, str) else value
            if number is not None:  # an alias of a constant this architecture lacks is unknown too
                resolved.append((key, number))
        out[name] = Xlat(name, tuple(resolved))
    return out


def groups(arch: str = "x86_64") -> dict[str, Xlat]:
    """Every group on ``arch`` (unknown architectures get asm-generic's values)."""
    found = _RESOLVED.get(arch)
    if found is None:
        found = _RESOLVED[arch] = _resolve(arch)
    return found


def group(name: str, arch: str = "x86_64") -> Xlat:
    return groups(arch)[name]


def constants(arch: str) -> dict[str, int]:
    """Name → value for every constant known on ``arch`` (see ARCHES)."""
    return {key: value for xlat in groups(arch).values() for key, value in xlat.entries}


def is_constant(name: str, arch: str | None = None) -> bool:
    """Is ``name`` a constant sysprobe knows (on ``arch``, or on any architecture)?"""
    arches = ARCHES if arch is None else (arch,)
    return any(name in constants(a) for a in arches)
