"""Syscall arguments read from a stopped x86_64 tracee, written the way strace -y writes them.

The ptrace backend turns each call into one strace-style line and hands it to the same
line parser as strace's output, so the descriptor model, rules and goldens cannot tell
the backends apart. That only holds where the text matches strace's: every call the
descriptor model reads (``_fdspec.EFFECTS``) and the common calls rules name have a
decoder here. Any other call is written from python-ptrace's prototype table (numbers,
paths, descriptors, addresses); its arguments that strace would decode further (flags,
structures) are listed in ``Decoded.undecoded`` and end up in the event.

Values that change under the call are read at the right stop: input strings, descriptor
decorations and execve's argv at entry (after the call a descriptor may be closed, after
an exec the memory is gone); results (pipe arrays, received messages, addresses) at exit.
"""

from __future__ import annotations

import errno as errno_mod
import os
import signal
import struct
from collections.abc import Callable
from typing import Final, Protocol

# ---- what a decoder needs from the tracee ----


class Tracee(Protocol):
    def read(self, addr: int, size: int) -> bytes | None: ...
    def cstring(self, addr: int, limit: int) -> tuple[bytes, bool] | None: ...
    def fd_info(self, fd: int) -> str | None: ...
    def cwd(self) -> str | None: ...


AT_FDCWD: Final = -100
NUL: Final = b"\0"
MAX_ARGV: Final = 4096  # strace prints every argv element; this only stops a runaway read


def s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def s64(v: int) -> int:
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v & (1 << 63) else v


# ---- names of constants (x86_64 values) ----


def _table(*pairs: tuple[str, int]) -> tuple[tuple[str, int], ...]:
    return pairs


OPEN_ACCESS: Final = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR", 3: "O_ACCMODE"}
OPEN_FLAGS: Final = _table(
    ("O_CREAT", 0o100),
    ("O_EXCL", 0o200),
    ("O_NOCTTY", 0o400),
    ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000),
    ("O_NONBLOCK", 0o4000),
    ("O_SYNC", 0o4010000),
    ("O_DSYNC", 0o10000),
    ("O_ASYNC", 0o20000),
    ("O_DIRECT", 0o40000),
    ("O_LARGEFILE", 0o100000),
    ("O_NOFOLLOW", 0o400000),
    ("O_NOATIME", 0o1000000),
    ("O_CLOEXEC", 0o2000000),
    ("O_PATH", 0o10000000),
    ("O_TMPFILE", 0o20200000),
    ("O_DIRECTORY", 0o200000),
)
SOCK_TYPES: Final = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET",
                     6: "SOCK_DCCP", 10: "SOCK_PACKET"}  # fmt: skip
SOCK_FLAGS: Final = _table(("SOCK_CLOEXEC", 0o2000000), ("SOCK_NONBLOCK", 0o4000))  # strace's order
FAMILIES: Final = {0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK",
                   17: "AF_PACKET", 38: "AF_ALG", 40: "AF_VSOCK"}  # fmt: skip
IPPROTO: Final = {0: "IPPROTO_IP", 1: "IPPROTO_ICMP", 6: "IPPROTO_TCP", 17: "IPPROTO_UDP",
                  58: "IPPROTO_ICMPV6", 132: "IPPROTO_SCTP", 255: "IPPROTO_RAW"}  # fmt: skip
NETLINK: Final = {0: "NETLINK_ROUTE", 4: "NETLINK_SOCK_DIAG", 9: "NETLINK_AUDIT",
                  15: "NETLINK_KOBJECT_UEVENT", 16: "NETLINK_GENERIC"}  # fmt: skip
CLONE_FLAGS: Final = _table(
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
CLOSE_RANGE_FLAGS: Final = _table(("CLOSE_RANGE_UNSHARE", 2), ("CLOSE_RANGE_CLOEXEC", 4))
MSG_FLAGS: Final = _table(
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
FCNTL_CMDS: Final = {0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL", 5: "F_GETLK",
                     6: "F_SETLK", 7: "F_SETLKW", 8: "F_SETOWN", 9: "F_GETOWN", 10: "F_SETSIG",
                     11: "F_GETSIG", 1024: "F_SETLEASE", 1025: "F_GETLEASE", 1026: "F_NOTIFY",
                     1030: "F_DUPFD_CLOEXEC", 1031: "F_SETPIPE_SZ", 1032: "F_GETPIPE_SZ",
                     1033: "F_ADD_SEALS", 1034: "F_GET_SEALS", 36: "F_OFD_GETLK", 37: "F_OFD_SETLK",
                     38: "F_OFD_SETLKW"}  # fmt: skip
IOCTL_NAMES: Final = {0x5451: "FIOCLEX", 0x5450: "FIONCLEX", 0x5421: "FIONBIO", 0x541B: "FIONREAD",
                      0x5401: "TCGETS", 0x5413: "TIOCGWINSZ", 0x540F: "TIOCGPGRP"}  # fmt: skip
EPOLL_FLAGS: Final = _table(("EPOLL_CLOEXEC", 0o2000000))
EFD_FLAGS: Final = _table(
    ("EFD_SEMAPHORE", 1), ("EFD_CLOEXEC", 0o2000000), ("EFD_NONBLOCK", 0o4000)
)  # strace's order
TFD_FLAGS: Final = _table(("TFD_NONBLOCK", 0o4000), ("TFD_CLOEXEC", 0o2000000))
IN_FLAGS: Final = _table(("IN_NONBLOCK", 0o4000), ("IN_CLOEXEC", 0o2000000))
SFD_FLAGS: Final = _table(("SFD_NONBLOCK", 0o4000), ("SFD_CLOEXEC", 0o2000000))
MFD_FLAGS: Final = _table(("MFD_CLOEXEC", 1), ("MFD_ALLOW_SEALING", 2), ("MFD_HUGETLB", 4),
                          ("MFD_NOEXEC_SEAL", 8), ("MFD_EXEC", 0x10))  # fmt: skip
PIDFD_FLAGS: Final = _table(
    ("PIDFD_NONBLOCK", 0o4000),
)
CLOCKS: Final = {0: "CLOCK_REALTIME", 1: "CLOCK_MONOTONIC", 7: "CLOCK_BOOTTIME", 8: "CLOCK_REALTIME_ALARM",
                 9: "CLOCK_BOOTTIME_ALARM"}  # fmt: skip
AT_FLAGS: Final = _table(("AT_SYMLINK_NOFOLLOW", 0x100), ("AT_REMOVEDIR", 0x200),
                         ("AT_SYMLINK_FOLLOW", 0x400), ("AT_NO_AUTOMOUNT", 0x800),
                         ("AT_EMPTY_PATH", 0x1000))  # fmt: skip
SOL_SOCKET: Final = 1
SCM_TYPES: Final = {1: "SCM_RIGHTS", 2: "SCM_CREDENTIALS", 29: "SCM_TIMESTAMP", 35: "SCM_TIMESTAMPNS"}

# errnos the kernel uses inside syscalls; strace prints them with a '?' result
RESTART_ERRNOS: Final = {
    512: ("ERESTARTSYS", "To be restarted if SA_RESTART is set"),
    513: ("ERESTARTNOINTR", "To be restarted"),
    514: ("ERESTARTNOHAND", "To be restarted if no handler"),
    515: ("ENOIOCTLCMD", "No ioctl command"),
    516: ("ERESTART_RESTARTBLOCK", "Interrupted by signal"),
}


def signal_name(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:
        rtmin = signal.SIGRTMIN.value
        if rtmin < n <= signal.SIGRTMAX.value:
            return f"SIGRT_{n - rtmin}"
        return str(n)


def flags_text(value: int, table: tuple[tuple[str, int], ...], zero: str = "0") -> str:
    parts: list[str] = []
    rest = value
    for name, bits in table:
        if bits and (value & bits) == bits and (rest & bits):
            parts.append(name)
            rest &= ~bits
    if rest:
        parts.append(hex(rest))
    return "|".join(parts) if parts else zero


def open_flags(value: int) -> str:
    value &= 0xFFFFFFFF
    access = OPEN_ACCESS[value & 3]
    rest = flags_text(value & ~3, OPEN_FLAGS, zero="")
    return f"{access}|{rest}" if rest else access


def mode_text(value: int) -> str:
    return f"0{value & 0o7777:o}" if value & 0o7777 else "000"


def errno_result(err: int) -> str:
    if err in RESTART_ERRNOS:
        name, text = RESTART_ERRNOS[err]
        return f"? {name} ({text})"
    name = errno_mod.errorcode.get(err, f"errno {err}")
    return f"-1 {name} ({os.strerror(err)})"


def quote(data: bytes, limit: int, truncated: bool = False) -> str:
    """A C string as strace quotes it; ``...`` after the quote when cut at ``limit``."""
    cut = len(data) > limit
    out: list[str] = ['"']
    for b in data[:limit]:
        if b == 0x22:
            out.append('\\"')
        elif b == 0x5C:
            out.append("\\\\")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        elif b == 0x0A:
            out.append("\\n")
        elif b == 0x09:
            out.append("\\t")
        elif b == 0x0D:
            out.append("\\r")
        elif b == 0x0C:
            out.append("\\f")
        elif b == 0x0B:
            out.append("\\v")
        else:
            out.append(f"\\{b:o}")
    out.append('"')
    if cut or truncated:
        out.append("...")
    return "".join(out)


# ---- one call being decoded ----


class Call:
    """A syscall between its entry and exit stops."""

    __slots__ = ("args", "entry", "name", "nr", "pid", "undecoded")

    def __init__(self, pid: int, nr: int, name: str, args: tuple[int, ...]) -> None:
        self.pid = pid
        self.nr = nr
        self.name = name
        self.args = args
        self.entry: dict[int, str] = {}  # argument texts fixed at entry
        self.undecoded: tuple[int, ...] = ()


class Ctx:
    """What formatters see: the tracee, the call, the result (at exit), string limit."""

    __slots__ = ("call", "decorate", "ret", "strsize", "tracee")

    def __init__(self, tracee: Tracee, call: Call, strsize: int, decorate: bool) -> None:
        self.tracee = tracee
        self.call = call
        self.ret: int | None = None
        self.strsize = strsize
        self.decorate = decorate

    def fd(self, v: int) -> str:
        n = s32(v)
        if n == AT_FDCWD:
            cwd = self.tracee.cwd() if self.decorate else None
            return f"AT_FDCWD<{cwd}>" if cwd else "AT_FDCWD"
        if n < 0 or not self.decorate:
            return str(n)
        info = self.tracee.fd_info(n)
        return f"{n}<{info}>" if info is not None else str(n)

    def path(self, addr: int) -> str:
        if addr == 0:
            return "NULL"
        got = self.tracee.cstring(addr, 1 << 16)  # filenames are printed in full
        return quote(got[0], 1 << 16, got[1]) if got is not None else hex(addr)

    def string(self, addr: int) -> str:
        if addr == 0:
            return "NULL"
        got = self.tracee.cstring(addr, self.strsize)
        return quote(got[0], self.strsize, got[1]) if got is not None else hex(addr)

    def buffer(self, addr: int, size: int) -> str:
        if addr == 0:
            return "NULL"
        data = self.tracee.read(addr, min(size, self.strsize + 1)) if size > 0 else b""
        if data is None:
            return hex(addr)
        return quote(data[:size], self.strsize, size > self.strsize and len(data) <= self.strsize)

    def word(self, addr: int, fmt: str = "<i") -> int | None:
        data = self.tracee.read(addr, struct.calcsize(fmt))
        if data is None or len(data) < struct.calcsize(fmt):
            return None
        value: int = struct.unpack(fmt, data)[0]
        return value


def ptr(v: int) -> str:
    return "NULL" if v == 0 else hex(v)


# A formatter makes one argument's text. ENTRY formatters run at the entry stop, the
# others at the exit stop (where ctx.ret is set).
Formatter = Callable[[Ctx, int], str]


class Arg:
    __slots__ = ("at_entry", "fmt")

    def __init__(self, fmt: Formatter, at_entry: bool = False) -> None:
        self.fmt = fmt
        self.at_entry = at_entry


def _in(fmt: Formatter) -> Arg:
    return Arg(fmt, at_entry=True)


def _out(fmt: Formatter) -> Arg:
    return Arg(fmt)


FD = _in(lambda c, v: c.fd(v))
PATH = _in(lambda c, v: c.path(v))
INT = _in(lambda c, v: str(s32(v)))
UINT = _in(lambda c, v: str(v & 0xFFFFFFFF))
ULONG = _in(lambda c, v: str(v & 0xFFFFFFFFFFFFFFFF))
LONG = _in(lambda c, v: str(s64(v)))
PTR = _in(lambda c, v: ptr(v))
MODE = _in(lambda c, v: mode_text(v))


def _flags(table: tuple[tuple[str, int], ...], zero: str = "0") -> Arg:
    return _in(lambda c, v: flags_text(v & 0xFFFFFFFF, table, zero))


def _xlat(names: dict[int, str]) -> Arg:
    return _in(lambda c, v: names.get(s32(v), str(s32(v))))


def _fd_pair(c: Ctx, v: int) -> str:
    if c.ret != 0:
        return ptr(v)
    data = c.tracee.read(v, 8)
    if data is None or len(data) < 8:
        return ptr(v)
    a, b = struct.unpack("<ii", data)
    return f"[{c.fd(a)}, {c.fd(b)}]"


def _socket_type(c: Ctx, v: int) -> str:
    v &= 0xFFFFFFFF
    base = SOCK_TYPES.get(v & 0xF, str(v & 0xF))
    rest = flags_text(v & ~0xF, SOCK_FLAGS, zero="")
    return f"{base}|{rest}" if rest else base


def _sockaddr(c: Ctx, addr: int, length: int) -> str:
    if addr == 0:
        return "NULL"
    data = c.tracee.read(addr, min(max(length, 0), 128))
    if data is None or len(data) < 2:
        return hex(addr)
    family = struct.unpack_from("<H", data)[0]
    name = FAMILIES.get(family, str(family))
    if family == 1:
        path = data[2:]
        if not path:
            return "{sa_family=AF_UNIX}"
        abstract = path[:1] == NUL and len(path) > 1
        name = quote((path[1:] if abstract else path).split(NUL)[0], 108)
        return f"{{sa_family=AF_UNIX, sun_path={'@' if abstract else ''}{name}}}"
    if family == 2 and len(data) >= 8:
        port = struct.unpack_from(">H", data, 2)[0]
        ip = ".".join(str(b) for b in data[4:8])
        return f'{{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr("{ip}")}}'
    if family == 10 and len(data) >= 28:
        import ipaddress

        port = struct.unpack_from(">H", data, 2)[0]
        flow = struct.unpack_from(">I", data, 4)[0]
        ip6 = ipaddress.IPv6Address(bytes(data[8:24])).compressed
        scope = struct.unpack_from("<I", data, 24)[0]
        return (
            f"{{sa_family=AF_INET6, sin6_port=htons({port}), sin6_flowinfo=htonl({flow}), "
            f'inet_pton(AF_INET6, "{ip6}", &sin6_addr), sin6_scope_id={scope}}}'
        )
    return f"{{sa_family={name}, sa_data={quote(data[2:], 14)}}}"


def _accept_addr(c: Ctx, v: int) -> str:
    if v == 0:
        return "NULL"
    return _sockaddr(c, v, 128) if c.ret is not None and c.ret >= 0 else hex(v)


def _socklen(c: Ctx, v: int) -> str:
    if v == 0:
        return "NULL"
    before = c.call.entry.get(-1)  # the length the caller offered, saved at entry
    after = c.word(v)
    if after is None:
        return hex(v)
    if before is not None and before != str(after) and c.ret is not None and c.ret >= 0:
        return f"[{before} => {after}]"
    return f"[{after}]"


def _save_socklen(c: Ctx, v: int) -> str:
    value = c.word(v) if v else None
    if value is not None:
        c.call.entry[-1] = str(value)
    return ""


def _iov(c: Ctx, addr: int, count: int, total: int | None) -> str:
    """An iovec array; ``total``: how many bytes the call moved (None: print all)."""
    if addr == 0:
        return "NULL"
    items: list[str] = []
    left = total
    for i in range(min(count, 1024)):
        raw = c.tracee.read(addr + 16 * i, 16)
        if raw is None or len(raw) < 16:
            return hex(addr)
        base, length = struct.unpack("<QQ", raw)
        shown = length if left is None else min(length, max(left, 0))
        if left is not None:
            left -= shown
        items.append(f"{{iov_base={c.buffer(base, shown)}, iov_len={length}}}")
    return "[" + ", ".join(items) + "]"


def _cmsgs(c: Ctx, addr: int, length: int) -> str:
    data = c.tracee.read(addr, min(length, 4096)) if addr and length > 0 else None
    if data is None:
        return ptr(addr)
    out: list[str] = []
    at = 0
    while at + 16 <= len(data):
        clen, level, ctype = struct.unpack_from("<Qii", data, at)
        if clen < 16:
            break
        payload = data[at + 16 : at + clen]
        level_text = "SOL_SOCKET" if level == SOL_SOCKET else str(level)
        type_text = SCM_TYPES.get(ctype, str(ctype)) if level == SOL_SOCKET else str(ctype)
        if level == SOL_SOCKET and ctype == 1:
            fds = struct.unpack(f"<{len(payload) // 4}i", payload[: len(payload) // 4 * 4])
            body = "[" + ", ".join(c.fd(fd) for fd in fds) + "]"
        elif level == SOL_SOCKET and ctype == 2 and len(payload) >= 12:
            pid, uid, gid = struct.unpack_from("<iII", payload)
            body = f"{{pid={pid}, uid={uid}, gid={gid}}}"
        else:
            body = "0x" + payload.hex() if payload else '""'
        out.append(f"{{cmsg_len={clen}, cmsg_level={level_text}, cmsg_type={type_text}, cmsg_data={body}}}")
        at += (clen + 7) & ~7
    return "[" + ", ".join(out) + "]"


def msghdr(c: Ctx, addr: int, total: int | None, show_flags: bool) -> str:
    raw = c.tracee.read(addr, 56) if addr else None
    if raw is None or len(raw) < 56:
        return ptr(addr)
    name, namelen, iov, iovlen, control, controllen, flags = struct.unpack("<QI4xQQQQi4x", raw)
    parts = [
        f"msg_name={_sockaddr(c, name, namelen) if name else 'NULL'}",
        f"msg_namelen={namelen}",
        f"msg_iov={_iov(c, iov, iovlen, total)}",
        f"msg_iovlen={iovlen}",
    ]
    if control:
        parts.append(f"msg_control={_cmsgs(c, control, controllen)}")
    parts.append(f"msg_controllen={controllen}")
    parts.append(f"msg_flags={flags_text(flags & 0xFFFFFFFF, MSG_FLAGS) if show_flags else 0}")
    return "{" + ", ".join(parts) + "}"


def _sendmsg(c: Ctx, v: int) -> str:
    return msghdr(c, v, None, show_flags=True)


def _recvmsg(c: Ctx, v: int) -> str:
    if c.ret is None or c.ret < 0:
        return ptr(v)
    return msghdr(c, v, c.ret, show_flags=True)


def _mmsgs(c: Ctx, v: int, sending: bool) -> str:
    count = c.ret if c.ret is not None and c.ret > 0 else 0
    if not v or count == 0:
        return ptr(v)
    items = []
    for i in range(min(count, 1024)):
        at = v + 64 * i
        length = c.word(at + 56, "<I")
        items.append(f"{{msg_hdr={msghdr(c, at, None if sending else length, True)}, msg_len={length}}}")
    return "[" + ", ".join(items) + "]"


def _execve_argv(c: Ctx, v: int) -> str:
    if v == 0:
        return "NULL"
    items: list[str] = []
    for i in range(MAX_ARGV):
        p = c.word(v + 8 * i, "<Q")
        if p is None:
            return hex(v)
        if p == 0:
            break
        items.append(c.string(p))
    else:
        items.append("...")
    return "[" + ", ".join(items) + "]"


def _execve_env(c: Ctx, v: int) -> str:
    if v == 0:
        return "NULL"
    n = 0
    while n < 1 << 16:
        p = c.word(v + 8 * n, "<Q")
        if p is None or p == 0:
            break
        n += 1
    return f"{hex(v)} /* {n} var{'s' if n != 1 else ''} */"


def _clone_flags(v: int) -> str:
    sig = v & 0xFF
    text = flags_text(v & ~0xFF, CLONE_FLAGS, zero="")
    if sig:
        text = f"{text}|{signal_name(sig)}" if text else signal_name(sig)
    return text or "0"


def _clone_args(c: Ctx) -> str:
    """clone(flags, stack, parent_tid, child_tid, tls) on x86_64, as strace names them."""
    flags, stack, parent_tid, child_tid, tls = c.call.args[:5]
    parts = [f"child_stack={ptr(stack)}", f"flags={_clone_flags(flags)}"]
    if flags & 0x100000:  # CLONE_PARENT_SETTID
        tid = c.word(parent_tid) if c.ret is not None and c.ret > 0 else None
        parts.append(f"parent_tid=[{tid}]" if tid is not None else f"parent_tid={ptr(parent_tid)}")
    if flags & 0x80000:  # CLONE_SETTLS
        parts.append(f"tls={ptr(tls)}")
    if flags & (0x200000 | 0x1000000):  # CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID
        parts.append(f"child_tidptr={ptr(child_tid)}")
    return ", ".join(parts)


def _clone3_struct(c: Ctx, v: int) -> str:
    size = c.call.args[1]
    raw = c.tracee.read(v, min(size, 88)) if v else None
    if raw is None or len(raw) < 64:
        return ptr(v)
    raw = raw.ljust(88, b"\0")
    (
        flags,
        pidfd,
        child_tid,
        parent_tid,
        exit_signal,
        stack,
        stack_size,
        tls,
        set_tid,
        set_tid_size,
        cgroup,
    ) = struct.unpack("<11Q", raw)
    parts = [f"flags={flags_text(flags, CLONE_FLAGS)}"]
    if flags & 0x1000:
        parts.append(f"pidfd={ptr(pidfd)}")
    if flags & (0x200000 | 0x1000000):
        parts.append(f"child_tid={ptr(child_tid)}")
    if flags & 0x100000:
        parts.append(f"parent_tid={ptr(parent_tid)}")
    parts.append(f"exit_signal={signal_name(exit_signal) if exit_signal else 0}")
    parts.append(f"stack={ptr(stack)}")
    parts.append(f"stack_size={hex(stack_size)}")
    if flags & 0x80000:
        parts.append(f"tls={ptr(tls)}")
    if set_tid:
        parts.append(f"set_tid={ptr(set_tid)}, set_tid_size={set_tid_size}")
    if flags & 0x200000000:
        parts.append(f"cgroup={cgroup}")
    text = "{" + ", ".join(parts) + "}"
    changed: list[str] = []
    if c.ret is not None and c.ret > 0:
        if flags & 0x1000:
            fd = c.word(pidfd)
            if fd is not None:
                changed.append(f"pidfd=[{c.fd(fd)}]")
        if flags & 0x100000:
            tid = c.word(parent_tid)
            if tid is not None:
                changed.append(f"parent_tid=[{tid}]")
    return text + (" => {" + ", ".join(changed) + "}" if changed else "")


def _openat2_how(c: Ctx, v: int) -> str:
    raw = c.tracee.read(v, 24) if v else None
    if raw is None or len(raw) < 24:
        return ptr(v)
    flags, mode, resolve = struct.unpack("<QQQ", raw)
    return f"{{flags={open_flags(flags)}, mode={mode_text(mode)}, resolve={hex(resolve) if resolve else 0}}}"


def _fcntl_arg(c: Ctx, v: int) -> str:
    cmd = s32(c.call.args[1])
    if cmd == 2:  # F_SETFD
        return "FD_CLOEXEC" if v & 1 else "0" if v == 0 else hex(v)
    if cmd in (0, 1030):
        return str(s32(v))
    if cmd == 4:  # F_SETFL
        return open_flags(v)
    return str(s64(v))


_FCNTL_NO_ARG: Final = frozenset({1, 3, 9, 11, 1025, 1032, 1034})  # F_GETFD, F_GETFL, ...
_IOCTL_NO_ARG: Final = frozenset({0x5451, 0x5450})  # FIOCLEX, FIONCLEX


def arity(call: Call, count: int) -> int:
    """How many arguments strace prints, where it depends on the values."""
    name, args = call.name, call.args
    if name in ("open", "openat"):
        flags = args[1 if name == "open" else 2]
        return count if flags & (0o100 | 0o20000000) else count - 1  # mode only with O_CREAT/O_TMPFILE
    if name == "fcntl":
        return 2 if s32(args[1]) in _FCNTL_NO_ARG else 3
    if name == "ioctl":
        return 2 if args[1] & 0xFFFFFFFF in _IOCTL_NO_ARG else 3
    return count


def _sendfile_offset(c: Ctx, v: int) -> str:
    if v == 0:
        return "NULL"
    before = c.call.entry.get(-1)
    after = c.word(v, "<q")
    if before is not None and after is not None and before != str(after):
        return f"[{before}] => [{after}]"
    return f"[{after}]" if after is not None else hex(v)


def _save_offset(c: Ctx, v: int) -> str:
    value = c.word(v, "<q") if v else None
    if value is not None:
        c.call.entry[-1] = str(value)
    return ""


def _read_buf(c: Ctx, v: int) -> str:
    if c.ret is None or c.ret < 0:
        return ptr(v)
    return c.buffer(v, c.ret)


def _write_buf(c: Ctx, v: int) -> str:
    return c.buffer(v, c.call.args[2])


def _sigset(c: Ctx, v: int) -> str:
    if v == 0:
        return "NULL"
    mask = c.word(v, "<Q")
    if mask is None:
        return hex(v)
    names = [signal_name(i + 1).removeprefix("SIG") for i in range(64) if mask & (1 << i)]
    return "[" + " ".join(names) + "]"


# ---- per-call specs: argument formatters, the result's kind ----

RET_INT, RET_FD, RET_HEX, RET_NONE, RET_FCNTL = "int", "fd", "hex", "none", "fcntl"


class Spec:
    __slots__ = ("args", "ret", "special")

    def __init__(
        self,
        args: tuple[Arg, ...],
        ret: str = RET_INT,
        special: Callable[[Ctx], str] | None = None,
    ) -> None:
        self.args = args
        self.ret = ret
        self.special = special  # formats all arguments itself (clone)


_SAVE_SOCKLEN = _in(_save_socklen)
_SAVE_OFFSET = _in(_save_offset)

SPECS: Final[dict[str, Spec]] = {
    "open": Spec((PATH, _in(lambda c, v: open_flags(v)), MODE), RET_FD),
    "openat": Spec((FD, PATH, _in(lambda c, v: open_flags(v)), MODE), RET_FD),
    "openat2": Spec((FD, PATH, _in(_openat2_how), ULONG), RET_FD),
    "creat": Spec((PATH, MODE), RET_FD),
    "socket": Spec(
        (_xlat(FAMILIES), _in(_socket_type), _in(lambda c, v: _protocol(c.call.args[0], v))), RET_FD
    ),
    "socketpair": Spec(
        (_xlat(FAMILIES), _in(_socket_type), _in(lambda c, v: _protocol(c.call.args[0], v)), _out(_fd_pair))
    ),
    "accept": Spec((FD, _out(_accept_addr), _out(_socklen)), RET_FD),
    "accept4": Spec((FD, _out(_accept_addr), _out(_socklen), _flags(SOCK_FLAGS)), RET_FD),
    "bind": Spec((FD, _in(lambda c, v: _sockaddr(c, v, c.call.args[2])), UINT)),
    "connect": Spec((FD, _in(lambda c, v: _sockaddr(c, v, c.call.args[2])), UINT)),
    "listen": Spec((FD, INT)),
    "epoll_create": Spec((INT,), RET_FD),
    "epoll_create1": Spec((_flags(EPOLL_FLAGS),), RET_FD),
    "eventfd": Spec((UINT,), RET_FD),
    "eventfd2": Spec((UINT, _flags(EFD_FLAGS)), RET_FD),
    "signalfd": Spec((FD, _in(_sigset), ULONG), RET_FD),
    "signalfd4": Spec((FD, _in(_sigset), ULONG, _flags(SFD_FLAGS)), RET_FD),
    "timerfd_create": Spec((_xlat(CLOCKS), _flags(TFD_FLAGS)), RET_FD),
    "inotify_init": Spec((), RET_FD),
    "inotify_init1": Spec((_flags(IN_FLAGS),), RET_FD),
    "memfd_create": Spec((PATH, _flags(MFD_FLAGS)), RET_FD),
    "pidfd_open": Spec((INT, _flags(PIDFD_FLAGS)), RET_FD),
    "pidfd_getfd": Spec((FD, INT, UINT), RET_FD),
    "pipe": Spec((_out(_fd_pair),)),
    "pipe2": Spec((_out(_fd_pair), _flags(OPEN_FLAGS))),
    "dup": Spec((FD,), RET_FD),
    "dup2": Spec((FD, FD), RET_FD),
    "dup3": Spec((FD, INT, _flags(OPEN_FLAGS)), RET_FD),
    "fcntl": Spec((FD, _xlat(FCNTL_CMDS), _in(_fcntl_arg)), RET_FCNTL),
    "ioctl": Spec((FD, _in(lambda c, v: IOCTL_NAMES.get(v & 0xFFFFFFFF, hex(v & 0xFFFFFFFF))), PTR)),
    "close": Spec((FD,)),
    "close_range": Spec((UINT, UINT, _flags(CLOSE_RANGE_FLAGS))),
    "sendmsg": Spec((FD, _in(_sendmsg), _flags(MSG_FLAGS))),
    "recvmsg": Spec((FD, _out(_recvmsg), _flags(MSG_FLAGS))),
    "sendmmsg": Spec((FD, _out(lambda c, v: _mmsgs(c, v, True)), UINT, _flags(MSG_FLAGS))),
    "recvmmsg": Spec((FD, _out(lambda c, v: _mmsgs(c, v, False)), UINT, _flags(MSG_FLAGS), PTR)),
    "execve": Spec((PATH, _in(_execve_argv), _in(_execve_env))),
    "execveat": Spec((FD, PATH, _in(_execve_argv), _in(_execve_env), _flags(AT_FLAGS))),
    "fork": Spec(()),
    "vfork": Spec(()),
    "clone": Spec((), special=_clone_args),
    "clone3": Spec((_out(_clone3_struct), ULONG)),
    "unshare": Spec((_in(lambda c, v: flags_text(v, CLONE_FLAGS)),)),
    "exit": Spec((INT,), RET_NONE),
    "exit_group": Spec((INT,), RET_NONE),
    "read": Spec((FD, _out(_read_buf), ULONG)),
    "write": Spec((FD, _in(_write_buf), ULONG)),
    "pread64": Spec((FD, _out(_read_buf), ULONG, LONG)),
    "pwrite64": Spec((FD, _in(_write_buf), ULONG, LONG)),
    "sendfile": Spec((FD, FD, _out(_sendfile_offset), ULONG)),
    "lseek": Spec(
        (FD, LONG, _xlat({0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"}))
    ),
    "mmap": Spec((PTR, ULONG, PTR, PTR, FD, PTR), RET_HEX),
    "brk": Spec((PTR,), RET_HEX),
    "wait4": Spec((INT, PTR, PTR, PTR)),
    "kill": Spec((INT, _in(lambda c, v: signal_name(s32(v))))),
}
# a saving formatter runs at entry and prints nothing: the offset/length before the call
_SAVERS: Final[dict[str, dict[int, Arg]]] = {
    "accept": {2: _SAVE_SOCKLEN},
    "accept4": {2: _SAVE_SOCKLEN},
    "sendfile": {2: _SAVE_OFFSET},
}
# arguments these decoders leave as numbers where strace would decode them
PARTIAL: Final[dict[str, tuple[int, ...]]] = {
    "ioctl": (2,),
    "mmap": (2, 3),
    "wait4": (1, 3),
    "recvmmsg": (4,),
}


def _protocol(family: int, v: int) -> str:
    family = s32(family)
    v = s32(v)
    if family in (2, 10):
        return IPPROTO.get(v, str(v))
    if family == 16:
        return NETLINK.get(v, str(v))
    return str(v)


# ---- generic decoding from python-ptrace's prototypes ----

_FD_NAMES: Final = frozenset({"fd", "oldfd", "newfd", "dfd", "olddfd", "newdfd", "dirfd", "sockfd",
                              "out_fd", "in_fd", "fd_in", "fd_out", "epfd", "pidfd"})  # fmt: skip


def generic_args(prototype: tuple[tuple[str, str], ...] | None) -> tuple[tuple[Arg, ...], tuple[int, ...]]:
    """Formatters for a call without a decoder, and the arguments they leave undecoded."""
    if prototype is None:
        return tuple(PTR for _ in range(6)), tuple(range(6))
    args: list[Arg] = []
    undecoded: list[int] = []
    for i, (ctype, name) in enumerate(prototype):
        if name in _FD_NAMES:
            args.append(FD)
        elif (
            "char" in ctype
            and "*" in ctype
            and name
            in ("filename", "pathname", "path", "name", "oldname", "newname", "old", "new", "specialfile")
        ):
            args.append(PATH)
        elif "*" in ctype or name in ("addr", "start", "brk", "new_addr", "old_addr"):
            args.append(PTR)
            if "char" not in ctype and "void" not in ctype:
                undecoded.append(i)
        elif ctype in ("size_t", "unsigned long", "u64", "__u64", "loff_t", "off_t"):
            args.append(ULONG if "size" in ctype or "unsigned" in ctype or "u64" in ctype else LONG)
        elif name in ("flags", "mode", "cmd", "how", "option", "op", "prot", "advice", "which", "type"):
            args.append(_in(lambda c, v: hex(v & 0xFFFFFFFF) if v & 0xFFFFFFFF else "0"))
            undecoded.append(i)
        else:
            args.append(INT if "unsigned" not in ctype else UINT)
    return tuple(args), tuple(undecoded)


__all__ = [
    "PARTIAL",
    "SPECS",
    "Arg",
    "Call",
    "Ctx",
    "Spec",
    "Tracee",
    "arity",
    "errno_result",
    "generic_args",
    "signal_name",
]
