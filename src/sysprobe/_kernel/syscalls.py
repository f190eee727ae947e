"""The syscall table: one row per syscall, and every list sysprobe keeps derived from it.

Like strace's ``syscallent.h``, a row says everything sysprobe knows about a call: its
numbers on the three x86 ABIs (x86_64; i386; x32, whose numbers carry ``X32_SYSCALL_BIT``
on top of the one written here), how the ptrace backend decodes its arguments (a
signature of argument kinds, ``signatures.py``; its length is the call's arity), what
its result is, what it does to descriptors and processes (``effects.py``) and its classes.
A row ``same_as`` another is the same call under another name on another ABI
(``fcntl64``/``fcntl``): it shares that row's decoding, effect and classes. A row with
no x86 number is a name other architectures have (``elsewhere``).

Arities and signatures are x86_64's where the call exists there. The numbers come from
the kernel's uapi headers (``headers.py`` reads the host's and says what differs); the
calls newer than the host's headers are written from the kernel's syscall tables.
Classes follow strace's ``%class`` names: ``desc`` (takes or returns a descriptor) and
``file`` (takes a file name) are read from the signature, the others are given.

Everything else is derived here: the calls the descriptor model must see (``TRACKED``),
the calls that create or replace processes, the names by number, ABI variants, and
which names a user may write (``is_syscall``, ``suggest``).
"""

from __future__ import annotations

from typing import Final, NamedTuple

from .effects import (
    ALWAYS,
    NEVER,
    Closes,
    ClosesRange,
    Creates,
    CreatesPair,
    Duplicates,
    Effect,
    Execs,
    Fcntl,
    Flag,
    Forks,
    Ioctl,
    Receives,
    Sends,
    Unshares,
)
from .signatures import (
    ARGV,
    BUFFER_OUT,
    CLONE_FLAGS,
    DIRFD,
    ENVP,
    FD,
    FD_PAIR,
    HEX,
    INT,
    IOCTL_REQUEST,
    LAYOUT_CLONE,
    LONG,
    MMSGHDR_IN,
    MMSGHDR_OUT,
    MODE,
    MSGHDR_IN,
    MSGHDR_OUT,
    OFFSET_INOUT,
    OPEN_FLAGS,
    OPEN_HOW,
    OTHER_FD,
    PATH,
    PTR,
    RAW,
    RESULT_FCNTL,
    RESULT_FD,
    RESULT_HEX,
    RESULT_INT,
    RESULT_NONE,
    SIGNAL,
    SIGSET,
    SOCKET_TYPE,
    SOCKLEN_INOUT,
    STRING,
    STRUCT,
    UINT,
    ULONG,
    Arg,
    buffer_in,
    clone3_args,
    fcntl_arg,
    flags,
    ioctl_arg,
    only_with,
    open_mode,
    protocol,
    sockaddr,
    sockaddr_out,
    xlat,
)

ABIS: Final = ("x86_64", "i386", "x32")
X32_SYSCALL_BIT: Final = 0x40000000
CLASSES: Final = ("desc", "file", "network", "process", "signal", "ipc", "memory", "creds", "clock")


class SyscallFacts(NamedTuple):
    """One row of the table (see the module's docstring)."""

    name: str
    x86_64: int | None
    i386: int | None
    x32: int | None  # without X32_SYSCALL_BIT
    args: tuple[Arg, ...]
    result: str
    classes: frozenset[str]
    effect: Effect | None
    same_as: str | None
    layout: str | None
    elsewhere: str | None

    @property
    def arity(self) -> int:
        return len(self.args)

    @property
    def canonical(self) -> str:
        return self.same_as or self.name

    def number(self, abi: str = "x86_64") -> int | None:
        return self.x86_64 if abi == "x86_64" else self.i386 if abi == "i386" else self.x32


class _Row(NamedTuple):
    """A row as written: what a ``same_as`` row leaves out it takes from its base."""

    name: str
    numbers: tuple[int | None, int | None, int | None]
    args: tuple[Arg, ...] | None
    classes: str
    same_as: str | None
    elsewhere: str | None
    result: str | None
    effect: Effect | None
    layout: str | None


def _r(
    name: str,
    x86_64: int | None,
    i386: int | None,
    x32: int | None,
    args: tuple[Arg, ...] | None,
    cls: str = "",
    *,
    same_as: str | None = None,
    elsewhere: str | None = None,
    result: str | None = None,
    effect: Effect | None = None,
    layout: str | None = None,
) -> _Row:
    return _Row(name, (x86_64, i386, x32), args, cls, same_as, elsewhere, result, effect, layout)


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

# fmt: off
# name, x86_64, i386, x32, argument kinds, classes; decoding, result and effect by keyword.
_ROWS: Final = (
    _r("read", 0, 3, 0, (FD, BUFFER_OUT, ULONG)),
    _r("write", 1, 4, 1, (FD, buffer_in(2), ULONG)),
    _r("open", 2, 5, 2, (PATH, OPEN_FLAGS, open_mode(1)),
       effect=Creates(Flag(1, "O_CLOEXEC"), "file", path_arg=0)),
    _r("close", 3, 6, 3, (FD,), effect=Closes()),
    _r("stat", 4, 106, 4, (PATH, STRUCT)),
    _r("fstat", 5, 108, 5, (FD, STRUCT)),
    _r("lstat", 6, 107, 6, (PATH, STRUCT)),
    _r("poll", 7, 168, 7, (STRUCT, UINT, INT)),
    _r("lseek", 8, 19, 8, (FD, LONG, xlat("seek_whence"))),
    _r("mmap", 9, 90, 9, (PTR, ULONG, RAW, RAW, FD, HEX), cls="memory", result=RESULT_HEX),
    _r("mprotect", 10, 125, 10, (PTR, ULONG, RAW), cls="memory"),
    _r("munmap", 11, 91, 11, (PTR, ULONG), cls="memory"),
    _r("brk", 12, 45, 12, (PTR,), cls="memory", result=RESULT_HEX),
    _r("rt_sigaction", 13, 174, 512, (SIGNAL, STRUCT, STRUCT, ULONG), cls="signal"),
    _r("rt_sigprocmask", 14, 175, 14, (RAW, STRUCT, STRUCT, ULONG), cls="signal"),
    _r("rt_sigreturn", 15, 173, 513, (), cls="signal"),
    _r("ioctl", 16, 54, 514, (FD, IOCTL_REQUEST, ioctl_arg(1)), effect=Ioctl()),
    _r("pread64", 17, 180, 17, (FD, BUFFER_OUT, ULONG, LONG)),
    _r("pwrite64", 18, 181, 18, (FD, buffer_in(2), ULONG, LONG)),
    _r("readv", 19, 145, 515, (FD, STRUCT, ULONG)),
    _r("writev", 20, 146, 516, (FD, STRUCT, ULONG)),
    _r("access", 21, 33, 21, (PATH, RAW)),
    _r("pipe", 22, 42, 22, (FD_PAIR,), effect=CreatesPair(0, NEVER, "pipe")),
    _r("select", 23, 82, 23, (INT, STRUCT, STRUCT, STRUCT, STRUCT)),
    _r("sched_yield", 24, 158, 24, ()),
    _r("mremap", 25, 163, 25, (PTR, ULONG, ULONG, flags("mremap_flags"), only_with("MREMAP_FIXED", 3, PTR)),
       cls="memory", result=RESULT_HEX),
    _r("msync", 26, 144, 26, (PTR, ULONG, RAW), cls="memory"),
    _r("mincore", 27, 218, 27, (PTR, ULONG, STRUCT), cls="memory"),
    _r("madvise", 28, 219, 28, (PTR, ULONG, RAW), cls="memory"),
    _r("shmget", 29, 395, 29, (RAW, ULONG, RAW), cls="ipc"),
    _r("shmat", 30, 397, 30, (INT, STRUCT, RAW), cls="ipc memory", result=RESULT_HEX),
    _r("shmctl", 31, 396, 31, (INT, RAW, STRUCT), cls="ipc"),
    _r("dup", 32, 41, 32, (FD,), effect=Duplicates(0, None, NEVER)),
    _r("dup2", 33, 63, 33, (FD, FD), effect=Duplicates(0, 1, NEVER)),
    _r("pause", 34, 29, 34, (), cls="signal"),
    _r("nanosleep", 35, 162, 35, (STRUCT, STRUCT)),
    _r("getitimer", 36, 105, 36, (RAW, STRUCT)),
    _r("alarm", 37, 27, 37, (UINT,)),
    _r("setitimer", 38, 104, 38, (RAW, STRUCT, STRUCT)),
    _r("getpid", 39, 20, 39, ()),
    _r("sendfile", 40, 187, 40, (FD, FD, OFFSET_INOUT, ULONG), cls="network"),
    _r("socket", 41, 359, 41, (xlat("address_families"), SOCKET_TYPE, protocol(0)),
       cls="network", effect=Creates(Flag(1, "SOCK_CLOEXEC"), "socket")),
    _r("connect", 42, 362, 42, (FD, sockaddr(2), UINT), cls="network"),
    _r("accept", 43, None, 43, (FD, sockaddr_out(2), SOCKLEN_INOUT),
       cls="network", effect=Creates(NEVER, "socket")),
    _r("sendto", 44, 369, 44, (FD, STRUCT, ULONG, RAW, STRUCT, INT), cls="network"),
    _r("recvfrom", 45, 371, 517, (FD, STRUCT, ULONG, RAW, STRUCT, STRUCT), cls="network"),
    _r("sendmsg", 46, 370, 518, (FD, MSGHDR_IN, flags("msg_flags")),
       cls="network", effect=Sends(1, vector=False)),
    _r("recvmsg", 47, 372, 519, (FD, MSGHDR_OUT, flags("msg_flags")),
       cls="network", effect=Receives(1, 2, vector=False)),
    _r("shutdown", 48, 373, 48, (FD, RAW), cls="network"),
    _r("bind", 49, 361, 49, (FD, sockaddr(2), UINT), cls="network"),
    _r("listen", 50, 363, 50, (FD, INT), cls="network"),
    _r("getsockname", 51, 367, 51, (FD, STRUCT, STRUCT), cls="network"),
    _r("getpeername", 52, 368, 52, (FD, STRUCT, STRUCT), cls="network"),
    _r("socketpair", 53, 360, 53, (xlat("address_families"), SOCKET_TYPE, protocol(0), FD_PAIR),
       cls="network", effect=CreatesPair(3, Flag(1, "SOCK_CLOEXEC"), "socket")),
    _r("setsockopt", 54, 366, 541, (FD, RAW, RAW, STRUCT, INT), cls="network"),
    _r("getsockopt", 55, 365, 542, (FD, RAW, RAW, STRUCT, STRUCT), cls="network"),
    _r("clone", 56, 120, 56, (CLONE_FLAGS, PTR, PTR, PTR, PTR),
       cls="process", layout=LAYOUT_CLONE, effect=Forks("arg")),
    _r("fork", 57, 2, 57, (), cls="process", effect=Forks(None)),
    _r("vfork", 58, 190, 58, (), cls="process", effect=Forks(None, vfork=True)),
    _r("execve", 59, 11, 520, (PATH, ARGV, ENVP), cls="process", effect=Execs(0)),
    _r("exit", 60, 1, 60, (INT,), cls="process", result=RESULT_NONE),
    _r("wait4", 61, 114, 61, (INT, STRUCT, flags("wait_options"), STRUCT), cls="process"),
    _r("kill", 62, 37, 62, (INT, SIGNAL), cls="process signal"),
    _r("uname", 63, 122, 63, (STRUCT,)),
    _r("semget", 64, 393, 64, (RAW, INT, RAW), cls="ipc"),
    _r("semop", 65, None, 65, (INT, STRUCT, UINT), cls="ipc"),
    _r("semctl", 66, 394, 66, (INT, INT, RAW, RAW), cls="ipc"),
    _r("shmdt", 67, 398, 67, (STRUCT,), cls="ipc memory"),
    _r("msgget", 68, 399, 68, (RAW, RAW), cls="ipc"),
    _r("msgsnd", 69, 400, 69, (INT, STRUCT, ULONG, RAW), cls="ipc"),
    _r("msgrcv", 70, 401, 70, (INT, STRUCT, ULONG, INT, RAW), cls="ipc"),
    _r("msgctl", 71, 402, 71, (INT, RAW, STRUCT), cls="ipc"),
    _r("fcntl", 72, 55, 72, (FD, xlat("fcntl_commands"), fcntl_arg(1)), result=RESULT_FCNTL, effect=Fcntl()),
    _r("flock", 73, 143, 73, (FD, RAW)),
    _r("fsync", 74, 118, 74, (FD,)),
    _r("fdatasync", 75, 148, 75, (FD,)),
    _r("truncate", 76, 92, 76, (PATH, INT)),
    _r("ftruncate", 77, 93, 77, (FD, ULONG)),
    _r("getdents", 78, 141, 78, (FD, STRUCT, UINT)),
    _r("getcwd", 79, 183, 79, (PATH, ULONG)),
    _r("chdir", 80, 12, 80, (PATH,)),
    _r("fchdir", 81, 133, 81, (FD,)),
    _r("rename", 82, 38, 82, (PATH, PATH)),
    _r("mkdir", 83, 39, 83, (PATH, RAW)),
    _r("rmdir", 84, 40, 84, (PATH,)),
    _r("creat", 85, 8, 85, (PATH, MODE), effect=Creates(NEVER, "file", path_arg=0)),
    _r("link", 86, 9, 86, (PATH, PATH)),
    _r("unlink", 87, 10, 87, (PATH,)),
    _r("symlink", 88, 83, 88, (PATH, PATH)),
    _r("readlink", 89, 85, 89, (PATH, STRUCT, INT)),
    _r("chmod", 90, 15, 90, (PATH, RAW)),
    _r("fchmod", 91, 94, 91, (FD, RAW)),
    _r("chown", 92, 182, 92, (PATH, INT, INT)),
    _r("fchown", 93, 95, 93, (FD, INT, INT)),
    _r("lchown", 94, 16, 94, (PATH, INT, INT)),
    _r("umask", 95, 60, 95, (MODE,)),
    _r("gettimeofday", 96, 78, 96, (STRUCT, STRUCT), cls="clock"),
    _r("getrlimit", 97, 76, 97, (RAW, STRUCT)),
    _r("getrusage", 98, 77, 98, (RAW, STRUCT)),
    _r("sysinfo", 99, 116, 99, (STRUCT,)),
    _r("times", 100, 43, 100, (STRUCT,)),
    _r("ptrace", 101, 26, 521, (RAW, INT, PTR, RAW)),
    _r("getuid", 102, 24, 102, (), cls="creds"),
    _r("syslog", 103, 103, 103, (RAW, STRUCT, INT)),
    _r("getgid", 104, 47, 104, (), cls="creds"),
    _r("setuid", 105, 23, 105, (INT,), cls="creds"),
    _r("setgid", 106, 46, 106, (INT,), cls="creds"),
    _r("geteuid", 107, 49, 107, (), cls="creds"),
    _r("getegid", 108, 50, 108, (), cls="creds"),
    _r("setpgid", 109, 57, 109, (INT, INT)),
    _r("getppid", 110, 64, 110, ()),
    _r("getpgrp", 111, 65, 111, ()),
    _r("setsid", 112, 66, 112, ()),
    _r("setreuid", 113, 70, 113, (INT, INT), cls="creds"),
    _r("setregid", 114, 71, 114, (INT, INT), cls="creds"),
    _r("getgroups", 115, 80, 115, (INT, STRUCT), cls="creds"),
    _r("setgroups", 116, 81, 116, (INT, STRUCT), cls="creds"),
    _r("setresuid", 117, 164, 117, (INT, INT, INT), cls="creds"),
    _r("getresuid", 118, 165, 118, (STRUCT, STRUCT, STRUCT), cls="creds"),
    _r("setresgid", 119, 170, 119, (INT, INT, INT), cls="creds"),
    _r("getresgid", 120, 171, 120, (STRUCT, STRUCT, STRUCT), cls="creds"),
    _r("getpgid", 121, 132, 121, (INT,)),
    _r("setfsuid", 122, 138, 122, (INT,), cls="creds"),
    _r("setfsgid", 123, 139, 123, (INT,), cls="creds"),
    _r("getsid", 124, 147, 124, (INT,)),
    _r("capget", 125, 184, 125, (STRUCT, STRUCT), cls="creds"),
    _r("capset", 126, 185, 126, (STRUCT, STRUCT), cls="creds"),
    _r("rt_sigpending", 127, 176, 522, (STRUCT, ULONG), cls="signal"),
    _r("rt_sigtimedwait", 128, 177, 523, (STRUCT, STRUCT, STRUCT, ULONG), cls="signal"),
    _r("rt_sigqueueinfo", 129, 178, 524, (INT, SIGNAL, STRUCT), cls="process signal"),
    _r("rt_sigsuspend", 130, 179, 130, (STRUCT, ULONG), cls="signal"),
    _r("sigaltstack", 131, 186, 525, (STRUCT, STRUCT), cls="signal"),
    _r("utime", 132, 30, 132, (PATH, STRUCT)),
    _r("mknod", 133, 14, 133, (PATH, RAW, RAW)),
    _r("uselib", 134, 86, None, (STRUCT,)),
    _r("personality", 135, 136, 135, (RAW,)),
    _r("ustat", 136, 62, 136, (RAW, STRUCT)),
    _r("statfs", 137, 99, 137, (PATH, STRUCT)),
    _r("fstatfs", 138, 100, 138, (FD, STRUCT)),
    _r("sysfs", 139, 135, 139, (RAW, ULONG, RAW)),
    _r("getpriority", 140, 96, 140, (RAW, RAW)),
    _r("setpriority", 141, 97, 141, (RAW, RAW, INT)),
    _r("sched_setparam", 142, 154, 142, (INT, STRUCT)),
    _r("sched_getparam", 143, 155, 143, (INT, STRUCT)),
    _r("sched_setscheduler", 144, 156, 144, (INT, RAW, STRUCT)),
    _r("sched_getscheduler", 145, 157, 145, (INT,)),
    _r("sched_get_priority_max", 146, 159, 146, (RAW,)),
    _r("sched_get_priority_min", 147, 160, 147, (RAW,)),
    _r("sched_rr_get_interval", 148, 161, 148, (INT, STRUCT)),
    _r("mlock", 149, 150, 149, (PTR, ULONG), cls="memory"),
    _r("munlock", 150, 151, 150, (PTR, ULONG), cls="memory"),
    _r("mlockall", 151, 152, 151, (RAW,), cls="memory"),
    _r("munlockall", 152, 153, 152, (), cls="memory"),
    _r("vhangup", 153, 111, 153, ()),
    _r("modify_ldt", 154, 123, 154, (INT, PTR, ULONG)),
    _r("pivot_root", 155, 217, 155, (STRUCT, STRUCT)),
    _r("_sysctl", 156, 149, None, (STRUCT,)),
    _r("prctl", 157, 172, 157, (RAW, RAW, RAW, RAW, RAW)),
    _r("arch_prctl", 158, 384, 158, (RAW, PTR)),
    _r("adjtimex", 159, 124, 159, (STRUCT,), cls="clock"),
    _r("setrlimit", 160, 75, 160, (RAW, STRUCT)),
    _r("chroot", 161, 61, 161, (PATH,)),
    _r("sync", 162, 36, 162, ()),
    _r("acct", 163, 51, 163, (PATH,)),
    _r("settimeofday", 164, 79, 164, (STRUCT, STRUCT), cls="clock"),
    _r("mount", 165, 21, 165, (STRUCT, STRUCT, STRUCT, RAW, STRUCT)),
    _r("umount2", 166, 52, 166, (PATH, RAW)),
    _r("swapon", 167, 87, 167, (PATH, RAW)),
    _r("swapoff", 168, 115, 168, (PATH,)),
    _r("reboot", 169, 88, 169, (RAW, RAW, RAW, STRUCT)),
    _r("sethostname", 170, 74, 170, (PATH, INT)),
    _r("setdomainname", 171, 121, 171, (PATH, INT)),
    _r("iopl", 172, 110, 172, (INT,)),
    _r("ioperm", 173, 101, 173, (ULONG, ULONG, INT)),
    _r("create_module", 174, 127, None, ()),
    _r("init_module", 175, 128, 175, (STRUCT, ULONG, STRUCT)),
    _r("delete_module", 176, 129, 176, (STRUCT, RAW)),
    _r("get_kernel_syms", 177, 130, None, ()),
    _r("query_module", 178, 167, None, ()),
    _r("quotactl", 179, 131, 179, (RAW, STRUCT, INT, STRUCT)),
    _r("nfsservctl", 180, 169, None, ()),
    _r("getpmsg", 181, 188, 181, ()),
    _r("putpmsg", 182, 189, 182, ()),
    _r("afs_syscall", 183, 137, 183, ()),
    _r("tuxcall", 184, None, 184, ()),
    _r("security", 185, None, 185, ()),
    _r("gettid", 186, 224, 186, ()),
    _r("readahead", 187, 225, 187, (FD, LONG, ULONG)),
    _r("setxattr", 188, 226, 188, (PATH, PATH, STRUCT, ULONG, RAW)),
    _r("lsetxattr", 189, 227, 189, (PATH, PATH, STRUCT, ULONG, RAW)),
    _r("fsetxattr", 190, 228, 190, (FD, PATH, STRUCT, ULONG, RAW)),
    _r("getxattr", 191, 229, 191, (PATH, PATH, STRUCT, ULONG)),
    _r("lgetxattr", 192, 230, 192, (PATH, PATH, STRUCT, ULONG)),
    _r("fgetxattr", 193, 231, 193, (FD, PATH, STRUCT, ULONG)),
    _r("listxattr", 194, 232, 194, (PATH, STRUCT, ULONG)),
    _r("llistxattr", 195, 233, 195, (PATH, STRUCT, ULONG)),
    _r("flistxattr", 196, 234, 196, (FD, STRUCT, ULONG)),
    _r("removexattr", 197, 235, 197, (PATH, PATH)),
    _r("lremovexattr", 198, 236, 198, (PATH, PATH)),
    _r("fremovexattr", 199, 237, 199, (FD, PATH)),
    _r("tkill", 200, 238, 200, (INT, SIGNAL), cls="process signal"),
    _r("time", 201, 13, 201, (STRUCT,), cls="clock"),
    _r("futex", 202, 240, 202, (PTR, RAW, INT, STRUCT, PTR, INT)),
    _r("sched_setaffinity", 203, 241, 203, (INT, UINT, STRUCT)),
    _r("sched_getaffinity", 204, 242, 204, (INT, UINT, STRUCT)),
    _r("set_thread_area", 205, 243, None, (STRUCT,)),
    _r("io_setup", 206, 245, 543, (UINT, STRUCT)),
    _r("io_destroy", 207, 246, 207, (RAW,)),
    _r("io_getevents", 208, 247, 208, (RAW, INT, INT, STRUCT, STRUCT)),
    _r("io_submit", 209, 248, 544, (RAW, INT, STRUCT)),
    _r("io_cancel", 210, 249, 210, (RAW, STRUCT, STRUCT)),
    _r("get_thread_area", 211, 244, None, (STRUCT,)),
    _r("lookup_dcookie", 212, 253, 212, (ULONG, STRUCT, ULONG)),
    _r("epoll_create", 213, 254, 213, (INT,), effect=Creates(NEVER, "epoll")),
    _r("epoll_ctl_old", 214, None, None, ()),
    _r("epoll_wait_old", 215, None, None, ()),
    _r("remap_file_pages", 216, 257, 216, (PTR, ULONG, RAW, ULONG, RAW), cls="memory"),
    _r("getdents64", 217, 220, 217, None, same_as="getdents"),
    _r("set_tid_address", 218, 258, 218, (PTR,)),
    _r("restart_syscall", 219, 0, 219, ()),
    _r("semtimedop", 220, None, 220, (INT, STRUCT, UINT, STRUCT), cls="ipc"),
    _r("fadvise64", 221, 250, 221, (FD, LONG, ULONG, RAW)),
    _r("timer_create", 222, 259, 526, (xlat("clocks"), STRUCT, STRUCT)),
    _r("timer_settime", 223, 260, 223, (INT, RAW, STRUCT, STRUCT)),
    _r("timer_gettime", 224, 261, 224, (INT, STRUCT)),
    _r("timer_getoverrun", 225, 262, 225, (INT,)),
    _r("timer_delete", 226, 263, 226, (INT,)),
    _r("clock_settime", 227, 264, 227, (xlat("clocks"), STRUCT), cls="clock"),
    _r("clock_gettime", 228, 265, 228, (xlat("clocks"), STRUCT), cls="clock"),
    _r("clock_getres", 229, 266, 229, (xlat("clocks"), STRUCT), cls="clock"),
    _r("clock_nanosleep", 230, 267, 230, (xlat("clocks"), RAW, STRUCT, STRUCT), cls="clock"),
    _r("exit_group", 231, 252, 231, (INT,), cls="process", result=RESULT_NONE),
    _r("epoll_wait", 232, 256, 232, (FD, STRUCT, INT, INT)),
    _r("epoll_ctl", 233, 255, 233, (FD, RAW, FD, STRUCT)),
    _r("tgkill", 234, 270, 234, (INT, INT, SIGNAL), cls="process signal"),
    _r("utimes", 235, 271, 235, (PATH, STRUCT)),
    _r("vserver", 236, 273, None, ()),
    _r("mbind", 237, 274, 237, (PTR, ULONG, RAW, STRUCT, ULONG, RAW), cls="memory"),
    _r("set_mempolicy", 238, 276, 238, (RAW, STRUCT, ULONG), cls="memory"),
    _r("get_mempolicy", 239, 275, 239, (STRUCT, STRUCT, ULONG, PTR, RAW), cls="memory"),
    _r("mq_open", 240, 277, 240, (PATH, RAW, RAW, STRUCT),
       effect=Creates(Flag(1, "O_CLOEXEC"), "mqueue", path_arg=0)),
    _r("mq_unlink", 241, 278, 241, (PATH,)),
    _r("mq_timedsend", 242, 279, 242, (FD, STRUCT, ULONG, UINT, STRUCT)),  # mqd_t: a descriptor
    _r("mq_timedreceive", 243, 280, 243, (FD, STRUCT, ULONG, STRUCT, STRUCT)),
    _r("mq_notify", 244, 281, 527, (FD, STRUCT)),
    _r("mq_getsetattr", 245, 282, 245, (FD, STRUCT, STRUCT)),
    _r("kexec_load", 246, 283, 528, (ULONG, ULONG, STRUCT, RAW)),
    _r("waitid", 247, 284, 529, (RAW, INT, STRUCT, RAW, STRUCT), cls="process"),
    _r("add_key", 248, 286, 248, (STRUCT, STRUCT, STRUCT, ULONG, INT)),
    _r("request_key", 249, 287, 249, (STRUCT, STRUCT, STRUCT, INT)),
    _r("keyctl", 250, 288, 250, (RAW, RAW, RAW, RAW, RAW)),
    _r("ioprio_set", 251, 289, 251, (RAW, RAW, RAW)),
    _r("ioprio_get", 252, 290, 252, (RAW, RAW)),
    _r("inotify_init", 253, 291, 253, (), effect=Creates(NEVER, "inotify")),
    _r("inotify_add_watch", 254, 292, 254, (FD, PATH, RAW)),
    _r("inotify_rm_watch", 255, 293, 255, (FD, INT)),
    _r("migrate_pages", 256, 294, 256, (INT, ULONG, STRUCT, STRUCT), cls="memory"),
    _r("openat", 257, 295, 257, (DIRFD, PATH, OPEN_FLAGS, open_mode(2)),
       effect=Creates(Flag(2, "O_CLOEXEC"), "file", path_arg=1)),
    _r("mkdirat", 258, 296, 258, (DIRFD, PATH, RAW)),
    _r("mknodat", 259, 297, 259, (DIRFD, PATH, RAW, RAW)),
    _r("fchownat", 260, 298, 260, (DIRFD, PATH, INT, INT, RAW)),
    _r("futimesat", 261, 299, 261, (DIRFD, PATH, STRUCT)),
    _r("newfstatat", 262, None, 262, (DIRFD, PATH, STRUCT, RAW)),
    _r("unlinkat", 263, 301, 263, (DIRFD, PATH, RAW)),
    _r("renameat", 264, 302, 264, (DIRFD, PATH, DIRFD, PATH)),
    _r("linkat", 265, 303, 265, (DIRFD, PATH, DIRFD, PATH, RAW)),
    _r("symlinkat", 266, 304, 266, (PATH, DIRFD, PATH)),
    _r("readlinkat", 267, 305, 267, (DIRFD, PATH, STRUCT, INT)),
    _r("fchmodat", 268, 306, 268, (DIRFD, PATH, RAW)),
    _r("faccessat", 269, 307, 269, (DIRFD, PATH, RAW)),
    _r("pselect6", 270, 308, 270, (INT, STRUCT, STRUCT, STRUCT, STRUCT, STRUCT)),
    _r("ppoll", 271, 309, 271, (STRUCT, UINT, STRUCT, STRUCT, ULONG)),
    _r("unshare", 272, 310, 272, (flags("clone_flags"),), effect=Unshares()),
    _r("set_robust_list", 273, 311, 530, (PTR, ULONG)),
    _r("get_robust_list", 274, 312, 531, (INT, STRUCT, STRUCT)),
    _r("splice", 275, 313, 275, (FD, STRUCT, FD, STRUCT, ULONG, RAW)),
    _r("tee", 276, 315, 276, (FD, FD, ULONG, RAW)),
    _r("sync_file_range", 277, 314, 277, (FD, LONG, LONG, RAW)),
    _r("vmsplice", 278, 316, 532, (FD, STRUCT, ULONG, RAW)),
    _r("move_pages", 279, 317, 533, (INT, ULONG, STRUCT, STRUCT, STRUCT, RAW), cls="memory"),
    _r("utimensat", 280, 320, 280, (DIRFD, PATH, STRUCT, RAW)),
    _r("epoll_pwait", 281, 319, 281, (FD, STRUCT, INT, INT, STRUCT, ULONG)),
    _r("signalfd", 282, 321, 282, (FD, SIGSET, ULONG),
       cls="signal", effect=Creates(NEVER, "signalfd", only_if_minus_one=0)),
    _r("timerfd_create", 283, 322, 283, (xlat("clocks"), flags("timerfd_flags")),
       effect=Creates(Flag(1, "TFD_CLOEXEC"), "timerfd")),
    _r("eventfd", 284, 323, 284, (UINT,), effect=Creates(NEVER, "eventfd")),
    _r("fallocate", 285, 324, 285, (FD, RAW, LONG, LONG)),
    _r("timerfd_settime", 286, 325, 286, (FD, RAW, STRUCT, STRUCT)),
    _r("timerfd_gettime", 287, 326, 287, (FD, STRUCT)),
    _r("accept4", 288, 364, 288, (FD, sockaddr_out(2), SOCKLEN_INOUT, flags("socket_flags")),
       cls="network", effect=Creates(Flag(3, "SOCK_CLOEXEC"), "socket")),
    _r("signalfd4", 289, 327, 289, (FD, SIGSET, ULONG, flags("signalfd_flags")),
       cls="signal", effect=Creates(Flag(3, "SFD_CLOEXEC"), "signalfd", only_if_minus_one=0)),
    _r("eventfd2", 290, 328, 290, (UINT, flags("eventfd_flags")),
       effect=Creates(Flag(1, "EFD_CLOEXEC"), "eventfd")),
    _r("epoll_create1", 291, 329, 291, (flags("epoll_flags"),),
       effect=Creates(Flag(0, "EPOLL_CLOEXEC"), "epoll")),
    _r("dup3", 292, 330, 292, (FD, INT, flags("open_flags")), effect=Duplicates(0, 1, Flag(2, "O_CLOEXEC"))),
    _r("pipe2", 293, 331, 293, (FD_PAIR, flags("open_flags")),
       effect=CreatesPair(0, Flag(1, "O_CLOEXEC"), "pipe")),
    _r("inotify_init1", 294, 332, 294, (flags("inotify_flags"),),
       effect=Creates(Flag(0, "IN_CLOEXEC"), "inotify")),
    _r("preadv", 295, 333, 534, (FD, STRUCT, ULONG, ULONG, ULONG)),
    _r("pwritev", 296, 334, 535, (FD, STRUCT, ULONG, ULONG, ULONG)),
    _r("rt_tgsigqueueinfo", 297, 335, 536, (INT, INT, SIGNAL, STRUCT), cls="process signal"),
    _r("perf_event_open", 298, 336, 298, (STRUCT, INT, INT, FD, RAW),
       effect=Creates(Flag(4, "PERF_FLAG_FD_CLOEXEC"), "perf_event")),
    _r("recvmmsg", 299, 337, 537, (FD, MMSGHDR_OUT, UINT, flags("msg_flags"), STRUCT),
       cls="network", effect=Receives(1, 3, vector=True)),
    _r("fanotify_init", 300, 338, 300, (RAW, RAW), effect=Creates(Flag(0, "FAN_CLOEXEC"), "fanotify")),
    _r("fanotify_mark", 301, 339, 301, (FD, RAW, RAW, FD, PATH)),
    _r("prlimit64", 302, 340, 302, (INT, RAW, STRUCT, STRUCT)),
    _r("name_to_handle_at", 303, 341, 303, (DIRFD, PATH, STRUCT, STRUCT, RAW)),
    _r("open_by_handle_at", 304, 342, 304, (FD, STRUCT, RAW), effect=Creates(Flag(2, "O_CLOEXEC"), "file")),
    _r("clock_adjtime", 305, 343, 305, (xlat("clocks"), STRUCT), cls="clock"),
    _r("syncfs", 306, 344, 306, (FD,)),
    _r("sendmmsg", 307, 345, 538, (FD, MMSGHDR_IN, UINT, flags("msg_flags")),
       cls="network", effect=Sends(1, vector=True)),
    _r("setns", 308, 346, 308, (FD, RAW), effect=Unshares(flags_at=1)),
    _r("getcpu", 309, 318, 309, (STRUCT, STRUCT, STRUCT)),
    _r("process_vm_readv", 310, 347, 539, (INT, STRUCT, ULONG, STRUCT, ULONG, RAW)),
    _r("process_vm_writev", 311, 348, 540, (INT, STRUCT, ULONG, STRUCT, ULONG, RAW)),
    _r("kcmp", 312, 349, 312, (INT, INT, RAW, ULONG, ULONG)),
    _r("finit_module", 313, 350, 313, (FD, STRUCT, RAW)),
    _r("sched_setattr", 314, 351, 314, (INT, STRUCT, RAW)),
    _r("sched_getattr", 315, 352, 315, (INT, STRUCT, UINT, RAW)),
    _r("renameat2", 316, 353, 316, (DIRFD, PATH, DIRFD, PATH, RAW)),
    _r("seccomp", 317, 354, 317, (RAW, RAW, STRUCT)),
    _r("getrandom", 318, 355, 318, (STRUCT, ULONG, RAW)),
    _r("memfd_create", 319, 356, 319, (PATH, flags("memfd_flags")),
       effect=Creates(Flag(1, "MFD_CLOEXEC"), "memfd", path_arg=0)),
    _r("kexec_file_load", 320, None, 320, (FD, FD, ULONG, STRUCT, RAW)),
    _r("bpf", 321, 357, 321, (RAW, STRUCT, UINT),
       result=RESULT_INT, effect=Creates(ALWAYS, "bpf", only_commands=(0, _BPF_FD_COMMANDS))),
    _r("execveat", 322, 358, 545, (DIRFD, PATH, ARGV, ENVP, flags("at_flags")),
       cls="process", effect=Execs(1)),
    _r("userfaultfd", 323, 374, 323, (RAW,), effect=Creates(Flag(0, "O_CLOEXEC"), "userfaultfd")),
    _r("membarrier", 324, 375, 324, (RAW, RAW)),
    _r("mlock2", 325, 376, 325, (PTR, ULONG, RAW), cls="memory"),
    _r("copy_file_range", 326, 377, 326, (FD, STRUCT, FD, STRUCT, ULONG, RAW)),
    _r("preadv2", 327, 378, 546, (FD, STRUCT, INT, LONG, RAW)),
    _r("pwritev2", 328, 379, 547, (FD, STRUCT, INT, LONG, RAW)),
    _r("pkey_mprotect", 329, 380, 329, (PTR, ULONG, RAW, INT), cls="memory"),
    _r("pkey_alloc", 330, 381, 330, (RAW, RAW)),
    _r("pkey_free", 331, 382, 331, (INT,)),
    _r("statx", 332, 383, 332, (DIRFD, PATH, RAW, RAW, STRUCT)),
    _r("io_pgetevents", 333, 385, 333, (ULONG, LONG, LONG, STRUCT, STRUCT, STRUCT)),
    _r("rseq", 334, 386, 334, (STRUCT, UINT, RAW, RAW)),
    _r("uretprobe", 335, None, None, ()),
    _r("pidfd_send_signal", 424, 424, 424, (FD, SIGNAL, STRUCT, RAW), cls="process signal"),
    _r("io_uring_setup", 425, 425, 425, (UINT, STRUCT), effect=Creates(ALWAYS, "io_uring")),
    _r("io_uring_enter", 426, 426, 426, (FD, UINT, UINT, RAW, STRUCT, ULONG)),
    _r("io_uring_register", 427, 427, 427, (FD, RAW, STRUCT, UINT)),
    _r("open_tree", 428, 428, 428, (DIRFD, PATH, RAW),
       effect=Creates(Flag(2, "OPEN_TREE_CLOEXEC"), "file", path_arg=1)),
    _r("move_mount", 429, 429, 429, (DIRFD, PATH, DIRFD, PATH, RAW)),
    _r("fsopen", 430, 430, 430, (STRING, RAW), effect=Creates(Flag(1, "FSOPEN_CLOEXEC"), "fs_context")),
    _r("fsconfig", 431, 431, 431, (FD, RAW, STRUCT, STRUCT, INT)),
    _r("fsmount", 432, 432, 432, (FD, RAW, RAW), effect=Creates(Flag(1, "FSMOUNT_CLOEXEC"), "mount")),
    _r("fspick", 433, 433, 433, (DIRFD, PATH, RAW), effect=Creates(Flag(2, "FSPICK_CLOEXEC"), "fs_context")),
    _r("pidfd_open", 434, 434, 434, (INT, flags("pidfd_flags")), effect=Creates(ALWAYS, "pidfd")),
    _r("clone3", 435, 435, 435, (clone3_args(1), ULONG), cls="process", effect=Forks("struct")),
    _r("close_range", 436, 436, 436, (UINT, UINT, flags("close_range_flags")), effect=ClosesRange()),
    _r("openat2", 437, 437, 437, (DIRFD, PATH, OPEN_HOW, ULONG),
       effect=Creates(Flag(2, "O_CLOEXEC", field="flags"), "file", path_arg=1)),
    _r("pidfd_getfd", 438, 438, 438, (FD, OTHER_FD, UINT), effect=Creates(ALWAYS, "file")),
    _r("faccessat2", 439, 439, 439, (DIRFD, PATH, RAW, RAW)),
    _r("process_madvise", 440, 440, 440, (FD, STRUCT, ULONG, RAW, UINT), cls="memory"),
    _r("epoll_pwait2", 441, 441, 441, (FD, STRUCT, INT, STRUCT, STRUCT, ULONG)),
    _r("mount_setattr", 442, 442, 442, (DIRFD, PATH, RAW, STRUCT, ULONG)),
    _r("quotactl_fd", 443, 443, 443, (FD, RAW, INT, STRUCT)),
    _r("landlock_create_ruleset", 444, 444, 444, (STRUCT, ULONG, RAW), effect=Creates(ALWAYS, "landlock")),
    _r("landlock_add_rule", 445, 445, 445, (FD, RAW, STRUCT, RAW)),
    _r("landlock_restrict_self", 446, 446, 446, (FD, RAW)),
    _r("memfd_secret", 447, 447, 447, (RAW,), effect=Creates(Flag(0, "O_CLOEXEC"), "memfd")),
    _r("process_mrelease", 448, 448, 448, (FD, UINT)),
    _r("futex_waitv", 449, 449, 449, (STRUCT, UINT, RAW, STRUCT, RAW)),
    _r("set_mempolicy_home_node", 450, 450, 450, (ULONG, ULONG, ULONG, RAW), cls="memory"),
    _r("cachestat", 451, 451, 451, (FD, STRUCT, STRUCT, RAW)),
    _r("fchmodat2", 452, 452, 452, (DIRFD, PATH, RAW, RAW)),
    _r("map_shadow_stack", 453, None, 453, (PTR, ULONG, RAW), cls="memory"),
    _r("futex_wake", 454, 454, 454, (PTR, ULONG, INT, RAW)),
    _r("futex_wait", 455, 455, 455, (PTR, ULONG, ULONG, RAW, STRUCT, RAW)),
    _r("futex_requeue", 456, 456, 456, (STRUCT, RAW, INT, INT)),
    _r("statmount", 457, 457, 457, (STRUCT, STRUCT, ULONG, RAW)),
    _r("listmount", 458, 458, 458, (STRUCT, STRUCT, ULONG, RAW)),
    _r("lsm_get_self_attr", 459, 459, 459, (RAW, STRUCT, STRUCT, RAW)),
    _r("lsm_set_self_attr", 460, 460, 460, (RAW, STRUCT, ULONG, RAW)),
    _r("lsm_list_modules", 461, 461, 461, (STRUCT, STRUCT, RAW)),
    _r("mseal", 462, 462, 462, (PTR, ULONG, RAW), cls="memory"),
    _r("setxattrat", 463, 463, 463, (DIRFD, PATH, RAW, STRING, STRUCT, ULONG)),
    _r("getxattrat", 464, 464, 464, (DIRFD, PATH, RAW, STRING, STRUCT, ULONG)),
    _r("listxattrat", 465, 465, 465, (DIRFD, PATH, RAW, STRUCT, ULONG)),
    _r("removexattrat", 466, 466, 466, (DIRFD, PATH, RAW, STRING)),
    _r("open_tree_attr", 467, 467, 467, (DIRFD, PATH, RAW, STRUCT, ULONG)),
    _r("file_getattr", 468, 468, 468, (DIRFD, PATH, STRUCT, ULONG, RAW)),
    _r("file_setattr", 469, 469, 469, (DIRFD, PATH, STRUCT, ULONG, RAW)),
    _r("listns", 470, 470, 470, (STRUCT, STRUCT, ULONG, RAW)),
    _r("waitpid", None, 7, None, (INT, STRUCT, RAW), cls="process"),
    _r("break", None, 17, None, ()),
    _r("oldstat", None, 18, None, (PATH, STRUCT)),
    _r("umount", None, 22, None, (PATH, RAW)),
    _r("stime", None, 25, None, (STRUCT,), cls="clock"),
    _r("oldfstat", None, 28, None, (FD, STRUCT)),
    _r("stty", None, 31, None, ()),
    _r("gtty", None, 32, None, ()),
    _r("nice", None, 34, None, (INT,)),
    _r("ftime", None, 35, None, ()),
    _r("prof", None, 44, None, ()),
    _r("signal", None, 48, None, (SIGNAL, INT), cls="signal"),
    _r("lock", None, 53, None, ()),
    _r("mpx", None, 56, None, ()),
    _r("ulimit", None, 58, None, ()),
    _r("oldolduname", None, 59, None, (STRUCT,)),
    _r("sigaction", None, 67, None, (SIGNAL, STRUCT, STRUCT), same_as="rt_sigaction"),
    _r("sgetmask", None, 68, None, (), cls="signal"),
    _r("ssetmask", None, 69, None, (INT,), cls="signal"),
    _r("sigsuspend", None, 72, None, (INT, INT, RAW), cls="signal"),
    _r("sigpending", None, 73, None, (STRUCT,), cls="signal"),
    _r("oldlstat", None, 84, None, (PATH, STRUCT)),
    _r("readdir", None, 89, None, (FD, STRUCT, UINT)),
    _r("profil", None, 98, None, ()),
    _r("socketcall", None, 102, None, (INT, STRUCT), cls="network"),
    _r("olduname", None, 109, None, (STRUCT,)),
    _r("idle", None, 112, None, ()),
    _r("vm86old", None, 113, None, (STRUCT,)),
    _r("ipc", None, 117, None, (UINT, INT, ULONG, ULONG, STRUCT, INT), cls="ipc"),
    _r("sigreturn", None, 119, None, (), same_as="rt_sigreturn"),
    _r("sigprocmask", None, 126, None, (RAW, STRUCT, STRUCT), same_as="rt_sigprocmask"),
    _r("bdflush", None, 134, None, (INT, RAW)),
    _r("_llseek", None, 140, None, (FD, ULONG, ULONG, STRUCT, xlat("seek_whence")), same_as="lseek"),
    _r("_newselect", None, 142, None, None, same_as="select"),
    _r("vm86", None, 166, None, (RAW, STRUCT)),
    _r("ugetrlimit", None, 191, None, (RAW, STRUCT)),
    _r("mmap2", None, 192, None, None, same_as="mmap"),
    _r("truncate64", None, 193, None, None, same_as="truncate"),
    _r("ftruncate64", None, 194, None, None, same_as="ftruncate"),
    _r("stat64", None, 195, None, None, same_as="stat"),
    _r("lstat64", None, 196, None, None, same_as="lstat"),
    _r("fstat64", None, 197, None, None, same_as="fstat"),
    _r("lchown32", None, 198, None, None, same_as="lchown"),
    _r("getuid32", None, 199, None, None, same_as="getuid"),
    _r("getgid32", None, 200, None, None, same_as="getgid"),
    _r("geteuid32", None, 201, None, None, same_as="geteuid"),
    _r("getegid32", None, 202, None, None, same_as="getegid"),
    _r("setreuid32", None, 203, None, None, same_as="setreuid"),
    _r("setregid32", None, 204, None, None, same_as="setregid"),
    _r("getgroups32", None, 205, None, None, same_as="getgroups"),
    _r("setgroups32", None, 206, None, None, same_as="setgroups"),
    _r("fchown32", None, 207, None, None, same_as="fchown"),
    _r("setresuid32", None, 208, None, None, same_as="setresuid"),
    _r("getresuid32", None, 209, None, None, same_as="getresuid"),
    _r("setresgid32", None, 210, None, None, same_as="setresgid"),
    _r("getresgid32", None, 211, None, None, same_as="getresgid"),
    _r("chown32", None, 212, None, None, same_as="chown"),
    _r("setuid32", None, 213, None, None, same_as="setuid"),
    _r("setgid32", None, 214, None, None, same_as="setgid"),
    _r("setfsuid32", None, 215, None, None, same_as="setfsuid"),
    _r("setfsgid32", None, 216, None, None, same_as="setfsgid"),
    _r("fcntl64", None, 221, None, None, same_as="fcntl"),
    _r("sendfile64", None, 239, None, None, same_as="sendfile"),
    _r("statfs64", None, 268, None, (PATH, ULONG, STRUCT), same_as="statfs"),
    _r("fstatfs64", None, 269, None, (FD, ULONG, STRUCT), same_as="fstatfs"),
    _r("fadvise64_64", None, 272, None, None, same_as="fadvise64"),
    _r("fstatat64", None, 300, None, None, same_as="newfstatat"),
    _r("clock_gettime64", None, 403, None, None, same_as="clock_gettime"),
    _r("clock_settime64", None, 404, None, None, same_as="clock_settime"),
    _r("clock_adjtime64", None, 405, None, None, same_as="clock_adjtime"),
    _r("clock_getres_time64", None, 406, None, None, same_as="clock_getres"),
    _r("clock_nanosleep_time64", None, 407, None, None, same_as="clock_nanosleep"),
    _r("timer_gettime64", None, 408, None, None, same_as="timer_gettime"),
    _r("timer_settime64", None, 409, None, None, same_as="timer_settime"),
    _r("timerfd_gettime64", None, 410, None, None, same_as="timerfd_gettime"),
    _r("timerfd_settime64", None, 411, None, None, same_as="timerfd_settime"),
    _r("utimensat_time64", None, 412, None, None, same_as="utimensat"),
    _r("pselect6_time64", None, 413, None, None, same_as="pselect6"),
    _r("ppoll_time64", None, 414, None, None, same_as="ppoll"),
    _r("io_pgetevents_time64", None, 416, None, None, same_as="io_pgetevents"),
    _r("recvmmsg_time64", None, 417, None, None, same_as="recvmmsg"),
    _r("mq_timedsend_time64", None, 418, None, None, same_as="mq_timedsend"),
    _r("mq_timedreceive_time64", None, 419, None, None, same_as="mq_timedreceive"),
    _r("semtimedop_time64", None, 420, None, None, same_as="semtimedop"),
    _r("rt_sigtimedwait_time64", None, 421, None, None, same_as="rt_sigtimedwait"),
    _r("futex_time64", None, 422, None, None, same_as="futex"),
    _r("sched_rr_get_interval_time64", None, 423, None, None, same_as="sched_rr_get_interval"),
    _r("arm_fadvise64_64", None, None, None, None, same_as="fadvise64", elsewhere="arm"),
    _r("clone2", None, None, None, (CLONE_FLAGS, PTR, ULONG, PTR, PTR, PTR),
       cls="process", elsewhere="ia64", effect=Forks("arg")),
)
# fmt: on

# How glibc (2.36, x86_64) implements calls a program writes by name: what the kernel
# sees instead. Measured with strace on a program calling each (tests/kernel). A name
# missing here is called as itself.
GLIBC_X86_64: Final[dict[str, tuple[str, ...]]] = {
    "fork": ("clone",),
    "wait": ("wait4",),
    "waitpid": ("wait4",),
    "wait3": ("wait4",),
    "pipe": ("pipe2",),
    "open": ("openat",),
    "stat": ("newfstatat",),
    "lstat": ("newfstatat",),
    "fstat": ("newfstatat",),
    "select": ("pselect6",),
    "eventfd": ("eventfd2",),
    "signalfd": ("signalfd4",),
    "mknod": ("mknodat",),
    "utime": ("utimensat",),
    "utimes": ("utimensat",),
    "signal": ("rt_sigaction",),
    "sigaction": ("rt_sigaction",),
    "sigprocmask": ("rt_sigprocmask",),
    "getrlimit": ("prlimit64",),
    "setrlimit": ("prlimit64",),
    "nanosleep": ("clock_nanosleep",),
    "sleep": ("clock_nanosleep",),
    "usleep": ("clock_nanosleep",),
    "send": ("sendto",),
    "recv": ("recvfrom",),
    "pread": ("pread64",),
    "pwrite": ("pwrite64",),
    "posix_fadvise": ("fadvise64",),
    "readdir": ("getdents64",),
    "raise": ("tgkill",),
    "nice": ("getpriority", "setpriority"),
    # answered in user space by the vDSO: no syscall at all
    "time": (),
    "gettimeofday": (),
    "clock_gettime": (),
}


# ---- the table, resolved ----


def _resolve(rows: tuple[_Row, ...]) -> dict[str, SyscallFacts]:
    written = {row.name: row for row in rows}
    table: dict[str, SyscallFacts] = {}
    for row in rows:
        base = written[row.same_as] if row.same_as is not None else row
        args = row.args if row.args is not None else base.args
        if args is None:
            raise ValueError(f"syscall table: {row.name} has no signature")
        effect = row.effect if row.effect is not None else base.effect
        result = row.result or base.result
        if result is None:
            result = RESULT_FD if isinstance(effect, (Creates, Duplicates)) else RESULT_INT
        given = set((row.classes or base.classes).split())
        if any(arg.kind in ("fd", "dirfd", "fd_pair") for arg in args) or result == RESULT_FD:
            given.add("desc")
        if any(arg.kind == "path" for arg in args):
            given.add("file")
        table[row.name] = SyscallFacts(
            name=row.name,
            x86_64=row.numbers[0],
            i386=row.numbers[1],
            x32=row.numbers[2],
            args=args,
            result=result,
            classes=frozenset(given),
            effect=effect,
            same_as=row.same_as,
            layout=row.layout or base.layout,
            elsewhere=row.elsewhere,
        )
    return table


TABLE: Final = _resolve(_ROWS)
_BY_NUMBER: Final = {
    abi: {nr: row.name for row in TABLE.values() if (nr := row.number(abi)) is not None} for abi in ABIS
}


def _variant_groups() -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for row in TABLE.values():
        groups.setdefault(row.canonical, {row.canonical}).add(row.name)
    return {name: frozenset(group) for group in groups.values() for name in group}


_VARIANTS: Final = _variant_groups()

# What each call does to descriptors and processes, for every name that does something.
EFFECTS: Final = {name: row.effect for name, row in TABLE.items() if row.effect is not None}
# The calls the model must see (the smallest strace -e trace= set that keeps it exact).
TRACKED: Final = frozenset(EFFECTS)
CREATES_PROCESS: Final = frozenset(name for name, effect in EFFECTS.items() if isinstance(effect, Forks))
EXECS: Final = frozenset(name for name, effect in EFFECTS.items() if isinstance(effect, Execs))


def facts(name: str) -> SyscallFacts | None:
    return TABLE.get(name)


def name_of(number: int, abi: str = "x86_64") -> str | None:
    """The call with ``number`` on ``abi`` (x32: with or without X32_SYSCALL_BIT)."""
    return _BY_NUMBER[abi].get(number & ~X32_SYSCALL_BIT if abi == "x32" else number)


def number_of(name: str, abi: str = "x86_64") -> int | None:
    row = TABLE.get(name)
    return None if row is None else row.number(abi)


def variants(name: str) -> frozenset[str]:
    """The names ``name`` goes by across ABIs, itself included."""
    return _VARIANTS.get(name, frozenset({name}))


def is_syscall(name: str, arch: str | None = None) -> bool:
    """Is ``name`` a syscall of ``arch`` (an x86 ABI: x86_64, i386, x32), or of any
    architecture sysprobe knows (None)?"""
    row = TABLE.get(name)
    if arch is None:
        return row is not None
    if arch not in ABIS:
        raise ValueError(f"no syscall list for {arch!r} (known: {', '.join(ABIS)})")
    return row is not None and row.number(arch) is not None


def suggest(name: str, arch: str | None = None, count: int = 3) -> list[str]:
    """Syscall names close to a misspelt ``name`` ("did you mean"), best first."""
    import difflib  # here, not at import: only a name not found needs it

    names = [n for n in TABLE if is_syscall(n, arch)]
    return difflib.get_close_matches(name, names, n=count)


def in_class(cls: str) -> frozenset[str]:
    """The calls of a class (``desc``, ``process``... see CLASSES)."""
    if cls not in CLASSES:
        raise ValueError(f"unknown syscall class {cls!r} (known: {', '.join(CLASSES)})")
    return frozenset(name for name, row in TABLE.items() if cls in row.classes)


def libc_calls(name: str) -> tuple[str, ...] | None:
    """What the kernel sees when a program calls glibc's ``name`` on x86_64, where that is
    not the syscall of the same name (``fork`` → ``clone``); None where it is."""
    return GLIBC_X86_64.get(name)
