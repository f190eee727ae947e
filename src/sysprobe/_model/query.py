"""Questions about argument trees that hold in every output mode: names (default),
numbers (``-X raw``), numbers with names in comments (``-X verbose``), ``-y`` decorations."""

from __future__ import annotations

from ..argtree import Changed, Commented, Const, Expr, Fd, Field, Flags, Node, Str, Struct


def int_of(node: Node | None, consts: dict[str, int] | None = None) -> int | None:
    """The number a node stands for: ``3``, ``3</path>``, ``0x1 /* FD_CLOEXEC */``, a known name."""
    while True:
        if isinstance(node, bool):
            return int(node)
        if isinstance(node, int):
            return node
        if isinstance(node, Commented):
            node = node.value
        elif isinstance(node, Fd):
            return node.fd if isinstance(node.fd, int) else (consts or {}).get(node.fd)
        elif isinstance(node, Const) and consts is not None:
            return consts.get(node.name)
        else:
            return None


def names_in(node: Node | None) -> set[str]:
    """Symbolic names a value is made of (``O_RDONLY|O_CLOEXEC``, ``0x80000 /* O_CLOEXEC */``)."""
    names: set[str] = set()
    _add_names(node, names)
    return names


def _add_names(node: Node | None, names: set[str]) -> None:
    # into one set, by loops: the model asks this of every openat's flags, and set().union
    # over a generator is a generic call on a generator object in compiled code
    if isinstance(node, Const):
        names.add(node.name)
    elif isinstance(node, (Flags, Expr)):
        for item in node.items:
            _add_names(item, names)
    elif isinstance(node, Commented):
        _add_names(node.value, names)
        for part in node.comment.split("|"):
            names.add(part.strip())


def has_flag(node: Node | None, name: str, consts: dict[str, int]) -> bool:
    """Does a flag set contain ``name``? Read by name, or by bit when strace printed numbers."""
    if name in names_in(node):
        return True
    bit = consts.get(name)
    return bit is not None and bit != 0 and (_bits(node) & bit) == bit


def _bits(node: Node | None) -> int:
    if isinstance(node, bool):
        return int(node)
    if isinstance(node, int):
        return node
    if isinstance(node, Commented):
        return _bits(node.value)
    if isinstance(node, Flags):
        total = 0
        for item in node.items:
            total |= _bits(item)
        return total
    return 0


def is_value(node: Node | None, name: str, consts: dict[str, int]) -> bool:
    """Is ``node`` the constant ``name`` (``F_SETFD``, or ``2`` with -X raw)?"""
    if isinstance(node, Const):
        return node.name == name
    if isinstance(node, Commented):
        return node.comment.strip() == name or is_value(node.value, name, consts)
    value = int_of(node)
    return value is not None and value == consts.get(name)


def field(node: Node | None, name: str) -> Node | None:
    return node.get(name) if isinstance(node, Struct) else None


def fds_in(node: Node | None) -> list[tuple[int, str | None]]:
    """Descriptor numbers (and -y text) in an array such as ``[3<pipe:[4893]>, 4<pipe:[4893]>]``."""
    if not isinstance(node, tuple):
        return []
    out: list[tuple[int, str | None]] = []
    for item in node:
        if isinstance(item, Fd) and isinstance(item.fd, int):
            out.append((item.fd, item.info))
        elif isinstance(item, int):
            out.append((item, None))
    return out


def scm_rights(message: Node | None, consts: dict[str, int]) -> list[tuple[int, str | None]]:
    """Descriptors carried in a msghdr's SCM_RIGHTS control messages."""
    control = field(message, "msg_control")
    found: list[tuple[int, str | None]] = []
    if isinstance(control, tuple):
        for cmsg in control:
            if is_value(field(cmsg, "cmsg_type"), "SCM_RIGHTS", consts):
                found += fds_in(field(cmsg, "cmsg_data"))
    return found


def text_of(node: Node | None) -> str | None:
    """A path or name argument as text."""
    if isinstance(node, Str):
        return node.text + ("..." if node.truncated else "")
    if isinstance(node, Fd):
        return node.info
    return None


def named_arg(args: tuple[Node, ...], name: str) -> Node | None:
    """A top-level ``name=value`` argument, as clone prints its own: ``flags=CLONE_VM|...``."""
    for arg in args:
        if isinstance(arg, Field) and arg.name == name:
            return arg.value
    return None


def arg(args: tuple[Node, ...], index: int) -> Node | None:
    """The argument at ``index`` as the call received it: without a ``name=`` label, and
    for ``before => after`` (clone3's struct, sendfile's offset) the value before."""
    if index >= len(args):
        return None
    node = args[index]
    if isinstance(node, Field):
        node = node.value
    return node.before if isinstance(node, Changed) else node
