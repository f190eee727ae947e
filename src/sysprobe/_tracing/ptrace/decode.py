"""A stopped x86_64 tracee's syscall arguments, read into argument trees.

The syscall table gives every call a signature of argument kinds (``_kernel/signatures``);
this module is their one interpreter: it reads registers and the tracee's memory and
builds the ``sysprobe.argtree`` nodes the line parser builds from strace's text for the
same call. ``render.py`` prints them through ``argtree.format_node``, the printer the
parser's property tests prove it inverts, so a path, a buffer or a ``-y`` decoration
reaches the events byte for byte. Where strace decodes an argument further than this
backend does (a struct behind a pointer, a flag word), the kind says ``undecoded`` and
the event carries the mark.

Values that change under the call are read at the right stop: input strings, descriptor
decorations and execve's argv at entry (after the call a descriptor may be closed, after
an exec the memory is gone); what the call writes (pipe arrays, received messages,
addresses) at exit, and the in/out values (accept's length, sendfile's offset) at both.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final, Protocol

from ..._kernel.constants import (
    CLONE_SIGNAL_MASK,
    FCNTL_WITHOUT_ARGUMENT,
    IOCTL_WITHOUT_ARGUMENT,
    KERNEL_SIGRTMAX,
    SOCKET_TYPE_MASK,
    Xlat,
    constants,
    group,
)
from ..._kernel.signals import signal_name
from ..._kernel.signatures import LAYOUT_CLONE, STRUCT, Arg
from ..._kernel.syscalls import facts, name_of
from ...argtree import (
    MORE,
    Changed,
    Commented,
    Const,
    Expr,
    Fd,
    Field,
    Flags,
    Hex,
    Node,
    Oct,
    Op,
    Raw,
    SigSet,
    Str,
    Struct,
)
from ...argtree import Call as Macro


class Tracee(Protocol):
    """What decoding needs from a stopped task."""

    def read(self, addr: int, size: int) -> bytes | None: ...
    def cstring(self, addr: int, limit: int) -> tuple[bytes, bool] | None: ...
    def fd_info(self, fd: int) -> str | None: ...
    def cwd(self) -> str | None: ...


NUL: Final = b"\0"
PATH_MAX: Final = 1 << 16  # strace prints file names in full; this only stops a runaway read
MAX_ARGV: Final = 4096  # strace prints every argv element; this only stops a runaway read
MAX_VECTOR: Final = 1024  # iovecs, messages: as many as a sane call passes
_MASK32: Final = 0xFFFFFFFF
_MASK64: Final = 0xFFFFFFFFFFFFFFFF
NULL: Final = Const("NULL")
_UNKNOWN: Final = (STRUCT,) * 6  # a number no table knows: six registers, none decoded

_X86_64: Final = "x86_64"
_OPEN_ACCESS: Final = group("open_access", _X86_64)
_OPEN_FLAGS: Final = group("open_flags", _X86_64)
_CLONE: Final = group("clone_flags", _X86_64)
_IOCTLS: Final = group("ioctls", _X86_64)
_FAMILIES: Final = group("address_families", _X86_64)
_SOCKET_TYPES: Final = group("socket_types", _X86_64)
_SOCKET_FLAGS: Final = group("socket_flags", _X86_64)
_MSG_FLAGS: Final = group("msg_flags", _X86_64)
_CMSG_TYPES: Final = group("control_messages", _X86_64)
_K: Final = constants(_X86_64)

AT_FDCWD: Final = _K["AT_FDCWD"]
O_CREAT: Final = _K["O_CREAT"]
O_TMPFILE_BIT: Final = _K["O_TMPFILE"] & ~_K["O_DIRECTORY"]  # __O_TMPFILE: O_TMPFILE without O_DIRECTORY
F_SETFD: Final = _K["F_SETFD"]
F_SETFL: Final = _K["F_SETFL"]
F_DUPFD_COMMANDS: Final = frozenset({_K["F_DUPFD"], _K["F_DUPFD_CLOEXEC"]})
FD_CLOEXEC: Final = _K["FD_CLOEXEC"]
_FCNTL_NO_ARG: Final = frozenset(_K[name] for name in FCNTL_WITHOUT_ARGUMENT)
_IOCTL_NO_ARG: Final = frozenset(_K[name] for name in IOCTL_WITHOUT_ARGUMENT)
CLONE_PARENT_SETTID: Final = _K["CLONE_PARENT_SETTID"]
CLONE_CHILD_TID: Final = _K["CLONE_CHILD_SETTID"] | _K["CLONE_CHILD_CLEARTID"]
CLONE_SETTLS: Final = _K["CLONE_SETTLS"]
CLONE_PIDFD: Final = _K["CLONE_PIDFD"]
CLONE_INTO_CGROUP: Final = _K["CLONE_INTO_CGROUP"]
AF_UNIX: Final = _K["AF_UNIX"]
AF_INET: Final = _K["AF_INET"]
AF_INET6: Final = _K["AF_INET6"]
AF_NETLINK: Final = _K["AF_NETLINK"]
SOL_SOCKET: Final = _K["SOL_SOCKET"]
SCM_RIGHTS: Final = _K["SCM_RIGHTS"]
SCM_CREDENTIALS: Final = _K["SCM_CREDENTIALS"]


def s32(v: int) -> int:
    v &= _MASK32
    return v - (1 << 32) if v & 0x80000000 else v


def s64(v: int) -> int:
    v &= _MASK64
    return v - (1 << 64) if v & (1 << 63) else v


def call_name(nr: int) -> str:
    """The x86_64 call numbered ``nr``, as strace names an unknown one."""
    return name_of(nr) or f"syscall_{nr:#x}"


def undecoded(name: str) -> tuple[int, ...]:
    """The arguments of ``name`` this backend prints as numbers where strace decodes them."""
    return plan_of(name).undecoded


# ---- one call between its entry and exit stops ----


class PendingCall:
    """A syscall between its entry and exit stops: registers, and the argument trees that
    had to be read at entry."""

    __slots__ = ("decorate", "entry", "facts", "name", "plan", "regs", "ret", "saved", "strsize", "tracee")

    def __init__(
        self, name: str, regs: tuple[int, ...], tracee: Tracee, strsize: int, decorate: bool
    ) -> None:
        self.name = name
        self.plan = plan_of(name)
        self.facts = self.plan.facts
        self.regs = regs
        self.tracee = tracee  # the exec of a thread moves the call to the leader's memory
        self.strsize: int = strsize
        self.decorate = decorate
        self.entry: dict[int, Node] = {}  # argument trees fixed at entry
        self.saved: dict[str, int] = {}  # in/out values as the caller offered them, by kind
        self.ret: int | None = None

    @property
    def signature(self) -> tuple[Arg, ...]:
        return self.plan.signature

    # -- reading the tracee --

    def word(self, addr: int, fmt: str = "<i") -> int | None:
        size = struct.calcsize(fmt)
        data = self.tracee.read(addr, size) if addr else None
        if data is None or len(data) < size:
            return None
        value: int = struct.unpack(fmt, data)[0]
        return value

    def fd(self, value: int) -> Node:
        """A descriptor, with -y its path: ``3</etc/passwd>``."""
        n = s32(value)
        info = self.tracee.fd_info(n) if self.decorate and n >= 0 else None
        if info is None:
            return n
        if info.endswith(" (deleted)"):
            return Fd(n, info[: -len(" (deleted)")], deleted=True)
        return Fd(n, info)

    def string(self, addr: int, limit: int) -> Node:
        """A NUL-terminated string, cut at ``limit`` like strace's ``"..."...``."""
        if addr == 0:
            return NULL
        got = self.tracee.cstring(addr, limit)
        if got is None:
            return Hex(addr)
        data, cut = got
        return Str(data[:limit], truncated=cut or len(data) > limit)

    def buffer(self, addr: int, size: int) -> Node:
        """``size`` bytes of data, cut at -s like strace's ``"..."...``."""
        if addr == 0:
            return NULL
        data = self.tracee.read(addr, min(size, self.strsize)) if size > 0 else b""
        return Hex(addr) if data is None else Str(data, truncated=size > self.strsize)


class _Plan:
    """How to decode one call, worked out once per name: which reader each argument has,
    which are read at entry, which in/out values are saved there."""

    __slots__ = ("at_entry", "conditional", "facts", "readers", "savers", "signature", "undecoded", "whole")

    def __init__(self, name: str) -> None:
        self.facts = row = facts(name)
        self.signature = signature = _UNKNOWN if row is None else row.args
        self.whole = row is not None and row.layout == LAYOUT_CLONE  # decoded whole at exit
        self.readers = tuple(_AT_ENTRY.get(arg.kind) or _AT_EXIT[arg.kind] for arg in signature)
        self.at_entry = () if self.whole else tuple(i for i, a in enumerate(signature) if a.kind in _AT_ENTRY)
        self.savers = tuple(
            (i, _SAVERS[a.kind], a.kind) for i, a in enumerate(signature) if a.kind in _SAVERS
        )
        self.undecoded = tuple(i for i, arg in enumerate(signature) if arg.undecoded)
        last = signature[-1] if signature else None
        conditional = last is not None and (last.only_with is not None or last.kind in _CONDITIONAL)
        self.conditional = last if conditional else None


_CONDITIONAL: Final = frozenset({"open_mode", "fcntl_arg", "ioctl_arg"})
_PLANS: dict[str, _Plan] = {}


def plan_of(name: str) -> _Plan:
    plan = _PLANS.get(name)
    if plan is None:
        plan = _PLANS[name] = _Plan(name)
    return plan


def begin(name: str, regs: tuple[int, ...], tracee: Tracee, strsize: int, decorate: bool) -> PendingCall:
    """A call at its entry stop: what must be read before the kernel runs it is read now."""
    call = PendingCall(name, regs, tracee, strsize, decorate)
    plan = call.plan
    for i in plan.at_entry:
        call.entry[i] = plan.readers[i](call, regs[i], plan.signature[i])
    for i, saver, kind in plan.savers:
        saved = saver(call, regs[i])
        if saved is not None:
            call.saved[kind] = saved
    return call


def arguments(call: PendingCall) -> tuple[Node, ...]:
    """Every argument strace prints, at the exit stop (``call.ret`` set); for a call that
    never came back (``ret`` None), those strace prints before ``<unfinished ...>``: up to
    the first one the kernel would have written."""
    plan = call.plan
    if plan.whole:
        return _clone(call)
    signature = plan.signature
    count = len(signature) if plan.conditional is None else _printed(call, plan.conditional, len(signature))
    entry = call.entry
    out: list[Node] = []
    for i in range(count):
        node = entry.get(i)
        if node is None:
            if call.ret is None:
                break
            node = plan.readers[i](call, call.regs[i], signature[i])
        out.append(node)
    return tuple(out)


def _printed(call: PendingCall, last: Arg, count: int) -> int:
    """How many arguments strace prints when the last one depends on another."""
    value = call.regs[last.ref] if last.ref is not None else 0
    if last.only_with is not None and not value & _K[last.only_with]:
        return count - 1
    if last.kind == "open_mode" and not value & (O_CREAT | O_TMPFILE_BIT):
        return count - 1
    if last.kind == "fcntl_arg" and s32(value) in _FCNTL_NO_ARG:
        return count - 1
    if last.kind == "ioctl_arg" and value & _MASK32 in _IOCTL_NO_ARG:
        return count - 1
    return count


# ---- the kinds ----


def flag_node(xlat: Xlat, value: int, zero: Node = 0) -> Node:
    """``A|B|0x40``; one item alone; ``zero`` for no bits."""
    names, rest = xlat.flags_of(value)
    items: list[Node] = [Const(name) for name in names]
    if rest:
        items.append(Hex(rest))
    if not items:
        return zero
    return items[0] if len(items) == 1 else Flags(tuple(items))


def open_flags_node(value: int) -> Node:
    value &= _MASK32
    access = _OPEN_ACCESS.name_of(value & 3)
    names, rest = _OPEN_FLAGS.flags_of(value & ~3)
    items: list[Node] = [Const(access or str(value & 3)), *(Const(n) for n in names)]
    if rest:
        items.append(Hex(rest))
    return items[0] if len(items) == 1 else Flags(tuple(items))


def _named(xlat: Xlat, value: int) -> Node:
    """``SEEK_SET``; a value the group has no name for as strace prints it:
    ``0x3039 /* AF_??? */``."""
    name = xlat.name_of(value)
    if name is not None:
        return Const(name)
    return Commented(_hex(value & _MASK32), f"{xlat.prefix}???")


def _hex(value: int) -> Node:
    """A number strace prints with ``%#x``: ``0x40``, but ``0`` for zero."""
    return Hex(value) if value else 0


def _signal(value: int) -> Node:
    name = signal_name(value)
    return Const(name) if not name.lstrip("-").isdigit() else value


def _ioctl_request(value: int) -> Node:
    name = _IOCTLS.name_of(value)
    return Const(name) if name is not None else _hex(value)


def _ptr(v: int) -> Node:
    return NULL if v == 0 else Hex(v & _MASK64)


def _socket_type(value: int) -> Node:
    value &= _MASK32
    base = _named(_SOCKET_TYPES, value & SOCKET_TYPE_MASK)
    names, rest = _SOCKET_FLAGS.flags_of(value & ~SOCKET_TYPE_MASK)
    items: list[Node] = [base, *(Const(n) for n in names)]
    if rest:
        items.append(Hex(rest))
    return items[0] if len(items) == 1 else Flags(tuple(items))


def _protocol(call: PendingCall, value: int, arg: Arg) -> Node:
    family = s32(call.regs[arg.ref or 0])
    number = s32(value)
    if family in (AF_INET, AF_INET6):
        return _named(group("ip_protocols"), number)
    if family == AF_NETLINK:
        return _named(group("netlink_protocols"), number)
    return number


def _dirfd(call: PendingCall, value: int, arg: Arg) -> Node:
    if s32(value) == AT_FDCWD:
        cwd = call.tracee.cwd() if call.decorate else None
        return Fd("AT_FDCWD", cwd) if cwd is not None else Const("AT_FDCWD")
    return call.fd(value)


def _mode(value: int) -> Node:
    return Oct(value & 0o7777)


def _sigset(call: PendingCall, addr: int, arg: Arg) -> Node:
    if addr == 0:
        return NULL
    mask = call.word(addr, "<Q")
    if mask is None:
        return Hex(addr)
    complement = bin(mask).count("1") >= KERNEL_SIGRTMAX * 2 // 3  # strace lists the fewer
    if complement:
        mask = ~mask & _MASK64
    names = (signal_name(i + 1).removeprefix("SIG") for i in range(KERNEL_SIGRTMAX) if mask & (1 << i))
    return SigSet(tuple(Const(n) for n in names), complement)


def _argv(call: PendingCall, addr: int, arg: Arg) -> Node:
    if addr == 0:
        return NULL
    items: list[Node] = []
    for i in range(MAX_ARGV):
        p = call.word(addr + 8 * i, "<Q")
        if p is None:
            return Hex(addr)
        if p == 0:
            break
        items.append(call.string(p, call.strsize))
    else:
        items.append(MORE)
    return tuple(items)


def _envp(call: PendingCall, addr: int, arg: Arg) -> Node:
    if addr == 0:
        return NULL
    n = 0
    while n < 1 << 16:
        p = call.word(addr + 8 * n, "<Q")
        if p is None or p == 0:
            break
        n += 1
    return Commented(Hex(addr), f"{n} var{'s' if n != 1 else ''}")


def sockaddr_node(call: PendingCall, addr: int, length: int) -> Node:
    if addr == 0:
        return NULL
    data = call.tracee.read(addr, min(max(length, 0), 128))
    if data is None or len(data) < 2:
        return Hex(addr)
    family = struct.unpack_from("<H", data)[0]
    family_node = Field("sa_family", _named(_FAMILIES, family))
    if family == AF_UNIX:
        path = data[2:]
        if not path:
            return Struct((family_node,))
        if path[:1] == NUL and len(path) > 1:
            name: Node = Expr((Op("@"), Str(path[1:].split(NUL)[0])))
        else:
            name = Str(path.split(NUL)[0])
        return Struct((family_node, Field("sun_path", name)))
    if family == AF_INET and len(data) >= 8:
        port = struct.unpack_from(">H", data, 2)[0]
        ip = ".".join(str(b) for b in data[4:8])
        return Struct(
            (
                family_node,
                Field("sin_port", Macro("htons", (port,))),
                Field("sin_addr", Macro("inet_addr", (Str(ip.encode()),))),
            )
        )
    if family == AF_INET6 and len(data) >= 28:
        import ipaddress  # rarely needed: not paid at every start

        port = struct.unpack_from(">H", data, 2)[0]
        flow = struct.unpack_from(">I", data, 4)[0]
        ip6 = ipaddress.IPv6Address(bytes(data[8:24])).compressed
        scope = struct.unpack_from("<I", data, 24)[0]
        return Struct(
            (
                family_node,
                Field("sin6_port", Macro("htons", (port,))),
                Field("sin6_flowinfo", Macro("htonl", (flow,))),
                Macro(
                    "inet_pton", (Const("AF_INET6"), Str(ip6.encode()), Expr((Op("&"), Const("sin6_addr"))))
                ),
                Field("sin6_scope_id", scope),
            )
        )
    if family == AF_NETLINK and len(data) >= 12:
        nl_pid, nl_groups = struct.unpack_from("<II", data, 4)
        # strace prints the groups with C's %#08x (00000000 for none): kept as that text
        groups = Raw(f"{nl_groups:#08x}" if nl_groups else "00000000")
        return Struct((family_node, Field("nl_pid", nl_pid), Field("nl_groups", groups)))
    # other families: strace's generic form (it decodes some, AF_PACKET for one, further)
    return Struct((family_node, Field("sa_data", Str(data[2:16]))))


def _sockaddr(call: PendingCall, addr: int, arg: Arg) -> Node:
    return sockaddr_node(call, addr, s32(call.regs[arg.ref or 0]))


def _sockaddr_out(call: PendingCall, addr: int, arg: Arg) -> Node:
    if addr == 0:
        return NULL
    if call.ret is None or call.ret < 0:
        return Hex(addr)
    # the length the kernel wrote back (never more than was offered)
    offered = call.saved.get("socklen_inout", 128)
    used = call.word(call.regs[arg.ref or 0])
    return sockaddr_node(call, addr, min(offered, used if used is not None else offered))


def _save_word(call: PendingCall, addr: int) -> int | None:
    return call.word(addr) if addr else None


def _save_offset(call: PendingCall, addr: int) -> int | None:
    return call.word(addr, "<q") if addr else None


def _socklen(call: PendingCall, addr: int, arg: Arg) -> Node:
    if addr == 0:
        return NULL
    before = call.saved.get(arg.kind)
    after = call.word(addr)
    if after is None:
        return Hex(addr)
    if before is not None and before != after and call.ret is not None and call.ret >= 0:
        return (Changed(before, after),)
    return (after,)


def _offset(call: PendingCall, addr: int, arg: Arg) -> Node:
    if addr == 0:
        return NULL
    before = call.saved.get(arg.kind)
    after = call.word(addr, "<q")
    if after is None:
        return Hex(addr)
    if before is not None and before != after:
        return Changed((before,), (after,))
    return (after,)


def _fd_pair(call: PendingCall, addr: int, arg: Arg) -> Node:
    if call.ret != 0:
        return _ptr(addr)
    data = call.tracee.read(addr, 8) if addr else None
    if data is None or len(data) < 8:
        return _ptr(addr)
    a, b = struct.unpack("<ii", data)
    return (call.fd(a), call.fd(b))


def _buffer_in(call: PendingCall, addr: int, arg: Arg) -> Node:
    return call.buffer(addr, call.regs[arg.ref or 0] & _MASK64)


def _buffer_out(call: PendingCall, addr: int, arg: Arg) -> Node:
    if call.ret is None or call.ret < 0:
        return _ptr(addr)
    return call.buffer(addr, call.ret)


def _iov(call: PendingCall, addr: int, count: int, total: int | None) -> Node:
    """An iovec array; ``total``: how many bytes the call moved (None: print all)."""
    if addr == 0:
        return NULL
    items: list[Node] = []
    left = total
    for i in range(min(count, MAX_VECTOR)):
        raw = call.tracee.read(addr + 16 * i, 16)
        if raw is None or len(raw) < 16:
            return Hex(addr)
        base, length = struct.unpack("<QQ", raw)
        shown = length if left is None else min(length, max(left, 0))
        if left is not None:
            left -= shown
        items.append(Struct((Field("iov_base", call.buffer(base, shown)), Field("iov_len", length))))
    return tuple(items)


def _cmsgs(call: PendingCall, addr: int, length: int) -> Node:
    data = call.tracee.read(addr, min(length, 4096)) if addr and length > 0 else None
    if data is None:
        return _ptr(addr)
    out: list[Node] = []
    at = 0
    while at + 16 <= len(data):
        clen, level, ctype = struct.unpack_from("<Qii", data, at)
        if clen < 16:
            break
        payload = data[at + 16 : at + clen]
        body: Node
        if level == SOL_SOCKET and ctype == SCM_RIGHTS:
            fds = struct.unpack(f"<{len(payload) // 4}i", payload[: len(payload) // 4 * 4])
            body = tuple(call.fd(fd) for fd in fds)
        elif level == SOL_SOCKET and ctype == SCM_CREDENTIALS and len(payload) >= 12:
            pid, uid, gid = struct.unpack_from("<iII", payload)
            body = Struct((Field("pid", pid), Field("uid", uid), Field("gid", gid)))
        else:
            body = Hex(int.from_bytes(payload, "big")) if payload else Str(b"")
        on_socket = level == SOL_SOCKET
        out.append(
            Struct(
                (
                    Field("cmsg_len", clen),
                    Field("cmsg_level", Const("SOL_SOCKET") if on_socket else level),
                    Field("cmsg_type", _named(_CMSG_TYPES, ctype) if on_socket else ctype),
                    Field("cmsg_data", body),
                )
            )
        )
        at += (clen + 7) & ~7
    return tuple(out)


def msghdr_node(call: PendingCall, addr: int, total: int | None) -> Node:
    raw = call.tracee.read(addr, 56) if addr else None
    if raw is None or len(raw) < 56:
        return _ptr(addr)
    name, namelen, iov, iovlen, control, controllen, msg_flags = struct.unpack("<QI4xQQQQi4x", raw)
    fields: list[Node] = [
        Field("msg_name", sockaddr_node(call, name, namelen) if name else NULL),
        Field("msg_namelen", namelen),
        Field("msg_iov", _iov(call, iov, iovlen, total)),
        Field("msg_iovlen", iovlen),
    ]
    if control:
        fields.append(Field("msg_control", _cmsgs(call, control, controllen)))
    fields.append(Field("msg_controllen", controllen))
    fields.append(Field("msg_flags", flag_node(_MSG_FLAGS, msg_flags & _MASK32)))
    return Struct(tuple(fields))


def _msghdr_in(call: PendingCall, addr: int, arg: Arg) -> Node:
    return msghdr_node(call, addr, None)


def _msghdr_out(call: PendingCall, addr: int, arg: Arg) -> Node:
    if call.ret is not None and call.ret >= 0:
        return msghdr_node(call, addr, call.ret)
    namelen = call.word(addr + 8, "<I") if call.ret is not None else None
    return _ptr(addr) if namelen is None else Struct((Field("msg_namelen", namelen),))


def _mmsghdrs(call: PendingCall, addr: int, sending: bool) -> Node:
    count = call.ret if call.ret is not None and call.ret > 0 else 0
    if not addr or count == 0:
        return _ptr(addr)
    items: list[Node] = []
    for i in range(min(count, MAX_VECTOR)):
        at = addr + 64 * i
        length = call.word(at + 56, "<I")
        header = msghdr_node(call, at, None if sending else length)
        items.append(
            Struct((Field("msg_hdr", header), Field("msg_len", length if length is not None else 0)))
        )
    return tuple(items)


def _open_how(call: PendingCall, addr: int, arg: Arg) -> Node:
    raw = call.tracee.read(addr, 24) if addr else None
    if raw is None or len(raw) < 24:
        return _ptr(addr)
    how_flags, mode, resolve = struct.unpack("<QQQ", raw)
    fields: list[Node] = [Field("flags", open_flags_node(how_flags))]
    if mode or how_flags & (O_CREAT | O_TMPFILE_BIT):
        fields.append(Field("mode", _mode(mode)))
    fields.append(Field("resolve", _hex(resolve)))
    return Struct(tuple(fields))


def _fcntl_arg(call: PendingCall, value: int, arg: Arg) -> Node:
    command = s32(call.regs[arg.ref or 1])
    if command == F_SETFD:
        return Const("FD_CLOEXEC") if value == FD_CLOEXEC else Hex(value) if value else 0
    if command in F_DUPFD_COMMANDS:
        return s32(value)
    if command == F_SETFL:
        return open_flags_node(value)
    return s64(value)


def clone_flags_node(value: int) -> Node:
    exit_signal = value & CLONE_SIGNAL_MASK
    node = flag_node(_CLONE, value & ~CLONE_SIGNAL_MASK, zero=0)
    if not exit_signal:
        return node
    items = () if node == 0 else node.items if isinstance(node, Flags) else (node,)
    signal_node = _signal(exit_signal)
    return Flags((*items, signal_node)) if items else signal_node


def _clone(call: PendingCall) -> tuple[Node, ...]:
    """clone(flags, stack, parent_tid, child_tid, tls) on x86_64, as strace names them."""
    flags_value, stack, parent_tid, child_tid, tls = call.regs[:5]
    out: list[Node] = [Field("child_stack", _ptr(stack)), Field("flags", clone_flags_node(flags_value))]
    if call.ret is None:
        return tuple(out)  # what follows strace prints at the exit
    if flags_value & CLONE_PARENT_SETTID:
        tid = call.word(parent_tid) if call.ret is not None and call.ret > 0 else None
        out.append(Field("parent_tid", (tid,) if tid is not None else _ptr(parent_tid)))
    if flags_value & CLONE_SETTLS:
        out.append(Field("tls", _ptr(tls)))
    if flags_value & CLONE_CHILD_TID:
        out.append(Field("child_tidptr", _ptr(child_tid)))
    return tuple(out)


def _clone3_args(call: PendingCall, addr: int, arg: Arg) -> Node:
    size = call.regs[arg.ref or 1]
    raw = call.tracee.read(addr, min(size, 88)) if addr else None
    if raw is None or len(raw) < 64:
        return _ptr(addr)
    raw = raw.ljust(88, NUL)
    (
        cflags,
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
    fields: list[Node] = [Field("flags", flag_node(_CLONE, cflags))]
    if cflags & CLONE_PIDFD:
        fields.append(Field("pidfd", _ptr(pidfd)))
    if cflags & CLONE_CHILD_TID:
        fields.append(Field("child_tid", _ptr(child_tid)))
    if cflags & CLONE_PARENT_SETTID:
        fields.append(Field("parent_tid", _ptr(parent_tid)))
    fields.append(Field("exit_signal", _signal(exit_signal) if exit_signal else 0))
    fields.append(Field("stack", _ptr(stack)))
    fields.append(Field("stack_size", _hex(stack_size)))
    if cflags & CLONE_SETTLS:
        fields.append(Field("tls", _ptr(tls)))
    if set_tid:
        fields += [Field("set_tid", _ptr(set_tid)), Field("set_tid_size", set_tid_size)]
    if cflags & CLONE_INTO_CGROUP:
        fields.append(Field("cgroup", cgroup))
    sent = Struct(tuple(fields))
    changed: list[Node] = []
    if call.ret is not None and call.ret > 0:
        if cflags & CLONE_PIDFD and (fd := call.word(pidfd)) is not None:
            changed.append(Field("pidfd", (call.fd(fd),)))
        if cflags & CLONE_PARENT_SETTID and (tid := call.word(parent_tid)) is not None:
            changed.append(Field("parent_tid", (tid,)))
    return Changed(sent, Struct(tuple(changed))) if changed else sent


Reader = Callable[[PendingCall, int, Arg], Node]

# kinds read at the entry stop
_AT_ENTRY: Final[dict[str, Reader]] = {
    "fd": lambda c, v, a: c.fd(v),
    "dirfd": _dirfd,
    "int": lambda c, v, a: s32(v),
    "uint": lambda c, v, a: v & _MASK32,
    "long": lambda c, v, a: s64(v),
    "ulong": lambda c, v, a: v & _MASK64,
    "ptr": lambda c, v, a: _ptr(v),
    "hex": lambda c, v, a: _hex(v & _MASK64),
    "raw": lambda c, v, a: _hex(v & _MASK32),
    "mode": lambda c, v, a: _mode(v),
    "open_mode": lambda c, v, a: _mode(v),
    "signal": lambda c, v, a: _signal(s32(v)),
    "socket_type": lambda c, v, a: _socket_type(v),
    "protocol": _protocol,
    "open_flags": lambda c, v, a: open_flags_node(v),
    "clone_flags": lambda c, v, a: clone_flags_node(v),
    "flags": lambda c, v, a: flag_node(group(a.group or ""), v & _MASK32),
    "xlat": lambda c, v, a: _named(group(a.group or ""), s32(v)),
    "ioctl_request": lambda c, v, a: _ioctl_request(v & _MASK32),
    "ioctl_arg": lambda c, v, a: _ptr(v),
    "fcntl_arg": _fcntl_arg,
    "path": lambda c, v, a: c.string(v, PATH_MAX),
    "string": lambda c, v, a: c.string(v, c.strsize),
    "buffer_in": _buffer_in,
    "sockaddr": _sockaddr,
    "sigset": _sigset,
    "argv": _argv,
    "envp": _envp,
    "open_how": _open_how,
    "msghdr_in": _msghdr_in,
}
# kinds read at the exit stop, what the call wrote
_AT_EXIT: Final[dict[str, Reader]] = {
    "fd_pair": _fd_pair,
    "sockaddr_out": _sockaddr_out,
    "socklen_inout": _socklen,
    "buffer_out": _buffer_out,
    "msghdr_out": _msghdr_out,
    "mmsghdr_in": lambda c, v, a: _mmsghdrs(c, v, sending=True),
    "mmsghdr_out": lambda c, v, a: _mmsghdrs(c, v, sending=False),
    "offset_inout": _offset,
    "clone3_args": _clone3_args,
}
# in/out kinds: the value offered, saved at entry
_SAVERS: Final[dict[str, Callable[[PendingCall, int], int | None]]] = {
    "socklen_inout": _save_word,
    "offset_inout": _save_offset,
}


def _check_kinds() -> None:
    """Every kind the table uses has a reader here (fails at import, not mid-trace)."""
    from ..._kernel.syscalls import TABLE

    used = {arg.kind for row in TABLE.values() for arg in row.args}
    missing = used - set(_AT_ENTRY) - set(_AT_EXIT)
    if missing:
        raise RuntimeError(f"the ptrace decoder has no reader for {sorted(missing)}")


_check_kinds()


__all__ = [
    "PendingCall",
    "Tracee",
    "arguments",
    "begin",
    "call_name",
    "clone_flags_node",
    "flag_node",
    "open_flags_node",
    "s32",
    "s64",
    "undecoded",
]
