"""The argument tree: what strace printed between a call's parentheses, as values.

Numbers are Python ``int`` (``Hex``/``Oct`` remember that strace printed them in hex or
octal, which matters for telling addresses from sizes); arrays are tuples; everything else
is a small node class. ``format_node`` prints a tree back in strace's notation and
``to_json`` gives the JSON Lines form documented in the README.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar, Union

from mypy_extensions import mypyc_attr

from ._value import MutableValue, Value


@mypyc_attr(native_class=False)  # mypyc cannot compile subclasses of int
class Hex(int):
    """An integer strace printed in hexadecimal (addresses, masks)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Hex({hex(self)})"


@mypyc_attr(native_class=False)
class Oct(int):
    """An integer strace printed in octal (modes: ``0644``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Oct(0o{int(self):o})"


class Const(Value):
    """A symbolic name: ``NULL``, ``AT_FDCWD``, ``O_RDONLY``, ``SIGCHLD``."""

    name: Final[str]

    __match_args__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class Str(MutableValue):
    """A quoted string, escapes decoded to bytes; ``truncated`` for strace's ``"..."...``."""

    value: bytes
    truncated: bool

    __match_args__ = ("value", "truncated")

    def __init__(self, value: bytes, truncated: bool = False) -> None:
        self.value = value
        self.truncated = truncated

    @property
    def text(self) -> str:
        return self.value.decode("utf-8", "surrogateescape")


class Flags(MutableValue):
    """``O_RDONLY|O_CLOEXEC|0x40``."""

    items: tuple[Node, ...]

    __match_args__ = ("items",)

    def __init__(self, items: tuple[Node, ...]) -> None:
        self.items = items

    def names(self) -> set[str]:
        return {_flag_name(item) for item in self.items} - {""}


class Struct(MutableValue):
    """``{st_mode=S_IFREG|0644, st_size=0, ...}``: fields, positional values, ``More``."""

    items: tuple[Node, ...]

    __match_args__ = ("items",)

    def __init__(self, items: tuple[Node, ...]) -> None:
        self.items = items

    def get(self, name: str) -> Node | None:
        for item in self.items:
            if isinstance(item, Field) and item.name == name:
                return item.value
        return None


class Field(MutableValue):
    """``name=value``, inside a struct or as a top-level argument (``flags=...`` of clone)."""

    name: str
    value: Node

    __match_args__ = ("name", "value")

    def __init__(self, name: str, value: Node) -> None:
        self.name = name
        self.value = value


class Changed(MutableValue):
    """``before => after``: a value the kernel changed (``[0] => [3]``)."""

    before: Node
    after: Node

    __match_args__ = ("before", "after")

    def __init__(self, before: Node, after: Node) -> None:
        self.before = before
        self.after = after


class Call(MutableValue):
    """``htons(80)``, ``makedev(0x1, 0x3)``, ``inet_addr("127.0.0.1")``; name "" for ``(...)``."""

    name: str
    args: tuple[Node, ...]

    __match_args__ = ("name", "args")

    def __init__(self, name: str, args: tuple[Node, ...]) -> None:
        self.name = name
        self.args = args


class Fd(MutableValue):
    """A ``-y``/``-yy`` decorated descriptor: ``3</etc/passwd>``, ``4<pipe:[1234]>``."""

    fd: int | str
    info: str
    deleted: bool

    __match_args__ = ("fd", "info", "deleted")

    def __init__(self, fd: int | str, info: str, deleted: bool = False) -> None:
        self.fd = fd
        self.info = info
        self.deleted = deleted


class Commented(MutableValue):
    """A value with a comment: ``0x7ffd... /* 35 vars */``, ``0x80000 /* O_RDONLY|O_CLOEXEC */``."""

    value: Node
    comment: str

    __match_args__ = ("value", "comment")

    def __init__(self, value: Node, comment: str) -> None:
        self.value = value
        self.comment = comment


class Comment(MutableValue):
    """A comment standing alone: ``[/* 22 vars */]``."""

    text: str

    __match_args__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class SigSet(MutableValue):
    """A signal set: ``[RTMIN RT_1]``, ``~[]`` (``complement``: all but these)."""

    items: tuple[Node, ...]
    complement: bool

    __match_args__ = ("items", "complement")

    def __init__(self, items: tuple[Node, ...], complement: bool = False) -> None:
        self.items = items
        self.complement = complement


class Op(Value):
    """An operator inside an expression: ``&&``, ``==``, ``*``, ``&``."""

    symbol: Final[str]

    __match_args__ = ("symbol",)

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol


class Expr(MutableValue):
    """Anything more complex than a flag set: ``WIFEXITED(s) && WEXITSTATUS(s) == 0``."""

    items: tuple[Node, ...]

    __match_args__ = ("items",)

    def __init__(self, items: tuple[Node, ...]) -> None:
        self.items = items


class More(Value):
    """strace's ``...``: more was there than it printed."""


class Resuming(MutableValue):
    """``<... resuming interrupted read ...>`` (the argument of ``restart_syscall``)."""

    call: str

    __match_args__ = ("call",)

    def __init__(self, call: str) -> None:
        self.call = call


class Raw(MutableValue):
    """Text the decoder could not read; kept verbatim."""

    text: str

    __match_args__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


Node = Union[
    int,
    float,
    "tuple[Node, ...]",
    Const,
    Str,
    Flags,
    Struct,
    Field,
    Changed,
    Call,
    Fd,
    Commented,
    Comment,
    SigSet,
    Op,
    Expr,
    More,
    Resuming,
    Raw,
]

MORE = More()
_T = TypeVar("_T")


def _flag_name(item: Node) -> str:
    if isinstance(item, Const):
        return item.name
    if isinstance(item, Commented):
        return _flag_name(item.value)
    return ""


def unwrap(node: Node) -> Node:
    """The value without a comment or a ``-y`` decoration's text."""
    while True:
        if isinstance(node, Commented):
            node = node.value
        elif isinstance(node, Fd):
            return node.fd if isinstance(node.fd, int) else Const(node.fd)
        else:
            return node


# ---- printing back in strace notation ----

_NAMED_ESCAPES = {9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\"}


def escape_bytes(value: bytes, extra: str = "") -> str:
    """Bytes → strace's C notation (three-digit octal for anything not printable)."""
    out = []
    special = {ord(ch) for ch in extra}
    for b in value:
        named = _NAMED_ESCAPES.get(b)
        if named is not None:
            out.append(named)
        elif 32 <= b < 127 and b not in special:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03o}")
    return "".join(out)


def format_node(node: Node) -> str:
    """Print a tree back in strace's notation (``decode_value(format_node(x)) == x``)."""
    return _by_type(_PRINTERS, node)(node)


def _by_type(table: dict[type, Callable[[Any], _T]], node: Node) -> Callable[[Any], _T]:
    """The entry for the node's class, or for the nearest class it derives from."""
    entry = table.get(type(node))
    if entry is None:
        for klass in type(node).__mro__:
            entry = table.get(klass)
            if entry is not None:
                return entry
        raise TypeError(f"not an argument node: {node!r}")
    return entry


def _joined(nodes: tuple[Node, ...], sep: str = ", ") -> str:
    return sep.join(format_node(n) for n in nodes)


def _format_str(node: Str) -> str:
    return '"' + escape_bytes(node.value) + '"' + ("..." if node.truncated else "")


def _format_fd(node: Fd) -> str:
    info = escape_bytes(node.info.encode("utf-8", "surrogateescape"), extra="<>")
    return f"{node.fd}<{info}>" + ("(deleted)" if node.deleted else "")


def _format_sigset(node: SigSet) -> str:
    return ("~" if node.complement else "") + "[" + _joined(node.items, " ") + "]"


_PRINTERS: dict[type, Callable[[Any], str]] = {
    bool: lambda node: str(int(node)),
    Hex: lambda node: f"-0x{-node:x}" if node < 0 else f"0x{node:x}",
    Oct: lambda node: f"0{node:o}" if node >= 0 else f"-0{-node:o}",
    int: repr,
    float: repr,
    tuple: lambda node: "[" + _joined(node) + "]",
    Const: lambda node: node.name,
    Str: _format_str,
    Flags: lambda node: _joined(node.items, "|"),
    Struct: lambda node: "{" + _joined(node.items) + "}",
    Field: lambda node: f"{node.name}={format_node(node.value)}",
    Changed: lambda node: f"{format_node(node.before)} => {format_node(node.after)}",
    Call: lambda node: f"{node.name}(" + _joined(node.args) + ")",
    Fd: _format_fd,
    Commented: lambda node: f"{format_node(node.value)} /* {node.comment} */",
    Comment: lambda node: f"/* {node.text} */",
    SigSet: _format_sigset,
    Op: lambda node: node.symbol,
    Expr: lambda node: _joined(node.items, " "),
    More: lambda node: "...",
    Resuming: lambda node: f"<... resuming interrupted {node.call} ...>",
    Raw: lambda node: node.text,
}


def format_args(args: tuple[Node, ...]) -> str:
    return ", ".join(format_node(a) for a in args)


# ---- JSON ----


def to_json(node: Node) -> Any:
    """The JSON form of a node (see the README's event schema)."""
    return _by_type(_JSON, node)(node)


def _all_json(nodes: tuple[Node, ...]) -> list[Any]:
    return [to_json(n) for n in nodes]


def clean_text(text: str) -> str:
    """``text`` as valid Unicode: bytes that were not UTF-8 (kept as surrogates by the
    parser) become U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def clean_json(value: Any) -> Any:
    """A JSON value with every string (and key) made valid Unicode (``clean_text``)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value


def put_bytes(out: dict[str, Any], key: str, value: bytes) -> None:
    """``out[key]``: the bytes as text (invalid UTF-8 → U+FFFD); where that loses
    something, ``out[key + "_b64"]``: the exact bytes, base64."""
    try:
        out[key] = value.decode("utf-8")
    except UnicodeDecodeError:
        out[key] = value.decode("utf-8", "replace")
        import base64  # here, not at import: only bytes that are not UTF-8 need it

        out[key + "_b64"] = base64.b64encode(value).decode("ascii")


def put_text(out: dict[str, Any], key: str, text: str) -> None:
    """``put_bytes`` for text read with surrogateescape (a log's line, a path)."""
    if text.isascii():
        out[key] = text
    else:
        put_bytes(out, key, text.encode("utf-8", "surrogateescape"))


def _str_json(node: Str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    put_bytes(out, "str", node.value)
    if node.truncated:
        out["truncated"] = True
    return out


def _struct_json(node: Struct) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for i, item in enumerate(node.items):
        if isinstance(item, Field) and item.name not in fields:
            fields[clean_text(item.name)] = to_json(item.value)
        elif isinstance(item, More):
            fields["..."] = True
        else:
            fields[f"#{i}"] = to_json(item)
    return {"struct": fields}


def _fd_json(node: Fd) -> dict[str, Any]:
    # AT_FDCWD</tmp>: a name, not a number
    fd: dict[str, Any] = (
        {"fd": node.fd} if isinstance(node.fd, int) else {"fd": None, "const": clean_text(node.fd)}
    )
    put_text(fd, "info", node.info)
    if node.deleted:
        fd["deleted"] = True
    return fd


_JSON: dict[type, Callable[[Any], Any]] = {
    int: int,  # bool, Hex and Oct too: JSON has one kind of integer
    float: lambda node: node,
    tuple: _all_json,
    Const: lambda node: {"const": clean_text(node.name)},
    Str: _str_json,
    Flags: lambda node: {"flags": _all_json(node.items)},
    Struct: _struct_json,
    Field: lambda node: {"field": clean_text(node.name), "value": to_json(node.value)},
    Changed: lambda node: {"before": to_json(node.before), "after": to_json(node.after)},
    Call: lambda node: {"call": clean_text(node.name), "args": _all_json(node.args)},
    Fd: _fd_json,
    Commented: lambda node: {"value": to_json(node.value), "comment": clean_text(node.comment)},
    Comment: lambda node: {"comment": clean_text(node.text)},
    SigSet: lambda node: {"sigset": _all_json(node.items), "complement": node.complement},
    Op: lambda node: {"op": clean_text(node.symbol)},
    Expr: lambda node: {"expr": _all_json(node.items)},
    More: lambda node: {"more": True},
    Resuming: lambda node: {"resuming": clean_text(node.call)},
    Raw: lambda node: {"raw": clean_text(node.text)},
}
