"""Argument text → argument tree.

A single pass over the characters, building nodes as it goes: no token list, no regex.
Numbers, strings, names and ``-y`` decorations are found with ``.scan``, the scanner the
line parser and the pattern reader use too; the loops compare ``ord()`` values because
mypyc compiles them to C (setup.py).

Grammar, loosely: a list is items separated by commas; an item is ``[name=]value[ =>
value]``; a value is one or more terms — joined by ``|`` it is a flag set, by other
operators or by juxtaposition (``[RTMIN RT_1]``, ``A or B``) an expression; a term is a
string, number, name, call, array, struct, comment, ``...`` or a ``-y`` decorated fd.

Text that does not fit is not an error: the decoder retries item by item and keeps what
it cannot read as ``Raw``.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

from ..argtree import (
    MORE,
    Call,
    Changed,
    Comment,
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
    Resuming,
    SigSet,
    Str,
    Struct,
)
from .scan import (
    comma_spans,
    decimal,
    decoration_close,
    decoration_end,
    hexadecimal,
    is_digit,
    is_word,
    number,
    skip_spaces,
    starts_decoration,
    starts_name,
    string_end,
    unsigned,
    word_end,
)

__all__ = [
    "decode_args",
    "decode_args_strict",
    "decode_value",
    "decoration_end",
    "split_decoration",
    "unescape",
]

_PIPE: Final = Op("|")
_TILDE: Final = Op("~")
_CONSTS: dict[str, Const] = {}
_OPS: dict[str, Op] = {"|": _PIPE, "~": _TILDE}
_CACHE_LIMIT: Final = 50000
_TWO_CHAR_OPS: Final = frozenset({"==", "!=", "&&", "||", "<<", ">>", "<=", ">=", "->"})


class _Malformed(Exception):
    pass


class _Cursor:
    """Where the decoder is in ``text``."""

    __slots__ = ("end", "pos", "text")

    def __init__(self, text: str, pos: int, end: int) -> None:
        self.text = text
        self.pos = pos
        self.end = end


def decode_args(text: str) -> tuple[Node, ...]:
    """Decode a call's argument text. Never raises."""
    if not text:
        return ()
    cur = _Cursor(text, 0, len(text))
    try:
        items = _list(cur, -1)
        if cur.pos < cur.end:
            raise _Malformed("text after the last argument")
        return tuple(items)
    except (_Malformed, ValueError, IndexError):
        return _decode_tolerant(text)


def decode_value(text: str) -> Node:
    """Decode one value (a siginfo struct, a return note)."""
    nodes = decode_args(text)
    if len(nodes) == 1:
        return nodes[0]
    return Expr(nodes) if nodes else Raw(text)


def decode_args_strict(text: str) -> tuple[Node, ...]:
    """Decode, raising ValueError (with the position) where the grammar does not fit."""
    cur = _Cursor(text, 0, len(text))
    try:
        items = _list(cur, -1)
    except (_Malformed, IndexError) as exc:
        raise ValueError(f"{exc} (at character {cur.pos + 1})") from None
    if cur.pos < cur.end:
        raise ValueError(f"unexpected {text[cur.pos]!r} (at character {cur.pos + 1})")
    return tuple(items)


def _decode_tolerant(text: str) -> tuple[Node, ...]:
    """Decode item by item; an item that does not decode is kept as Raw."""
    out: list[Node] = []
    for start, stop in _split_items(text):
        piece = text[start:stop].strip()
        if not piece:
            continue
        cur = _Cursor(piece, 0, len(piece))
        try:
            node = _item(cur, -1)
            if cur.pos < cur.end:
                raise _Malformed("text after the value")
        except (_Malformed, ValueError, IndexError):
            node = Raw(piece)
        out.append(node)
    return tuple(out)


def _split_items(text: str) -> list[tuple[int, int]]:
    """Top-level items, skipping strings, comments and brackets (best effort: when the
    brackets do not balance, every comma outside a string splits)."""
    spans = comma_spans(text, True)
    return spans if spans else comma_spans(text, False)


def _skip_spaces(cur: _Cursor) -> int:
    """Move past spaces; the character there (an ord), -1 at the end."""
    i = skip_spaces(cur.text, cur.pos, cur.end)
    cur.pos = i
    return ord(cur.text[i]) if i < cur.end else -1


def _list(cur: _Cursor, closer: int) -> list[Node]:
    """Items up to ``closer`` (an ord; -1: the end of the text)."""
    items: list[Node] = []
    c = _skip_spaces(cur)
    if c == closer:
        return items
    while True:
        items.append(_item(cur, closer))
        c = _skip_spaces(cur)
        if c == 44:  # ","
            cur.pos += 1
        elif c == closer:
            return items
        else:
            raise _Malformed(f"expected ',' at {cur.pos}")


def _item(cur: _Cursor, closer: int) -> Node:
    """``[name=]value[ => value]``, up to a comma or ``closer``."""
    terms: list[Node] = []
    key: str | None = None
    before: Node | None = None
    while True:
        c = _skip_spaces(cur)
        if c in (-1, 44, 41, 93, 125) or c == closer:  # end, ",", ")", "]", "}"
            break
        if c == 61:  # "=", "=>" or "=="
            after = ord(cur.text[cur.pos + 1]) if cur.pos + 1 < cur.end else -1
            if after == 62:
                before = _arrow(terms)
                terms = []
                cur.pos += 2
                continue
            if after != 61:
                key = _field_name(terms, key)
                terms = []
                cur.pos += 1
                continue
        _add_term(terms, _term(cur, c))
    if not terms:
        raise _Malformed(f"missing value at {cur.pos}")
    node = _value(terms)
    if before is not None:
        node = Changed(before, node)
    return node if key is None else Field(key, node)


def _arrow(terms: list[Node]) -> Node:
    """The value before ``=>``."""
    if not terms:
        raise _Malformed("'=>' without a value before it")
    return _value(terms)


def _field_name(terms: list[Node], key: str | None) -> str:
    """The name before ``=`` (only one in an item)."""
    first = terms[0] if len(terms) == 1 and key is None else None
    if not isinstance(first, Const):
        raise _Malformed("'=' after something that is not a name")
    return first.name


def _add_term(terms: list[Node], term: Node) -> None:
    """Append ``term``; a comment after a value comments that value."""
    if isinstance(term, Comment) and terms and not isinstance(terms[-1], Op):
        terms[-1] = Commented(terms[-1], term.text)
    else:
        terms.append(term)


def _value(terms: list[Node]) -> Node:
    n = len(terms)
    if n == 1:
        return terms[0]
    if n % 2 == 1:
        i = 1
        while i < n and terms[i] is _PIPE and not isinstance(terms[i - 1], Op):
            i += 2
        if i == n and not isinstance(terms[n - 1], Op):
            return Flags(tuple(terms[0::2]))
    return Expr(tuple(terms))


def _term(cur: _Cursor, c: int) -> Node:
    """One term, which starts with ``c``."""
    text = cur.text
    i = cur.pos
    end = cur.end
    if c == 34:  # '"'
        return _string(cur)
    if is_digit(c) or (c == 45 and i + 1 < end and is_digit(ord(text[i + 1]))):
        return _number(cur)
    if starts_name(c):
        return _name(cur)
    if c in (40, 91, 123) or (c == 126 and i + 1 < end and ord(text[i + 1]) == 91):  # ( [ { ~[
        return _bracketed(cur, c)
    return _mark(cur, c)


def _bracketed(cur: _Cursor, c: int) -> Node:
    """``[...]`` an array or signal set, ``~[...]`` a complemented set, ``{...}`` a struct,
    ``(...)`` a parenthesized group."""
    complement = c == 126
    cur.pos += 2 if complement else 1
    closer = 125 if c == 123 else 41 if c == 40 else 93
    items = _list(cur, closer)
    cur.pos += 1
    if closer == 125:
        return Struct(tuple(items))
    if closer == 41:
        return Call("", tuple(items))
    return _array(items, complement)


def _mark(cur: _Cursor, c: int) -> Node:
    """A comment, ``...``, ``<... resuming ...>``, or else an operator."""
    text = cur.text
    i = cur.pos
    end = cur.end
    if c == 47 and text.startswith("/*", i):
        close = text.find("*/", i + 2, end)
        if close < 0:
            raise _Malformed("unclosed comment")
        cur.pos = close + 2
        return Comment(text[i + 2 : close].strip())
    if c == 46 and text.startswith("...", i):
        cur.pos = i + 3
        return MORE
    if c == 60 and text.startswith("<... resuming ", i):
        close = text.find(" ...>", i, end)
        if close < 0:
            raise _Malformed("unclosed <... resuming")
        cur.pos = close + 5
        return Resuming(text[i + 14 : close].split(" ")[-1])
    width = 2 if i + 1 < end and text[i : i + 2] in _TWO_CHAR_OPS else 1
    cur.pos = i + width
    return _op(text[i : i + width])


def _array(items: list[Node], complement: bool) -> Node:
    # "[RTMIN RT_1]" is one item of juxtaposed names: a signal set, not an array
    if len(items) == 1:
        only = items[0]
        if isinstance(only, Expr) and not any(isinstance(t, Op) for t in only.items):
            return SigSet(only.items, complement)
    if complement:
        return SigSet(tuple(items), True)
    return tuple(items)


def _string(cur: _Cursor) -> Node:
    text = cur.text
    i = cur.pos
    close = string_end(text, i, cur.end)
    if close > cur.end:
        raise _Malformed("unclosed string")
    body = text[i + 1 : close - 1]
    truncated = text.startswith("...", close)
    cur.pos = close + 3 if truncated else close
    if text.find("\\", i + 1, close - 1) >= 0:
        return Str(unescape(body), truncated)
    return Str(body.encode("utf-8", "surrogateescape"), truncated)


def _number(cur: _Cursor) -> Node:
    """``12``, ``-1``, ``0x1f`` (Hex), ``0644`` (Oct), ``1.5``, or a decorated ``3</path>``."""
    text = cur.text
    end = cur.end
    start = cur.pos
    i = start + 1 if ord(text[start]) == 45 else start  # "-"
    value, stop, base = unsigned(text, i, end)
    node: Node  # not int: mypyc would make an int-typed Hex or Oct a plain int
    if base != 16 and stop < end and ord(text[i]) == 48 and _is_hex_letter(ord(text[stop])):
        # zero-padded hex without "0x", as strace prints some fields (nl_groups=000000ff)
        value, hex_stop = hexadecimal(text, i, end)
        if hex_stop == end or not is_word(ord(text[hex_stop])):
            stop, base = hex_stop, 16
            cur.pos = stop
            return Hex(-value if i > start else value)
    if base != 16 and stop - i >= 8 and ord(text[i]) == 48 and ord(text[i + 1]) == 48:
        # %08x whose digits are all decimal ones (nl_groups=00000010, before strace 5): not
        # octal, which strace prints with one leading zero (%#o: 0644) or three digits (000)
        value, base = hexadecimal(text, i, stop)[0], 16
    if base == 16:
        if stop == i + 2:
            raise _Malformed("0x without digits")
        node = Hex(-value if i > start else value)
    elif stop + 1 < end and ord(text[stop]) == 46 and is_digit(ord(text[stop + 1])):  # "1.5"
        stop = decimal(text, stop + 1, end)[1]
        node = float(text[start:stop])
    elif base == 8:
        node = Oct(-value if i > start else value)
    else:
        node = -value if i > start else value
    if stop < end and starts_decoration(text, stop, end):
        return _decorated(cur, start, stop)
    cur.pos = stop
    return node


def _name(cur: _Cursor) -> Node:
    text = cur.text
    end = cur.end
    start = cur.pos
    i = word_end(text, start + 1, end)
    while i + 1 < end and ord(text[i]) == 46 and ord(text[i + 1]) != 46:  # "ifr_ifru.ifru_addr"
        i = word_end(text, i + 1, end)
    name = text[start:i]
    if i < end:
        if ord(text[i]) == 40:  # "(": a call such as htons(80)
            cur.pos = i + 1
            items = _list(cur, 41)
            cur.pos += 1
            return Call(name, tuple(items))
        if starts_decoration(text, i, end):  # AT_FDCWD</tmp>
            return _decorated(cur, start, i)
    cur.pos = i
    const = _CONSTS.get(name)
    if const is None:
        const = Const(name)
        if len(_CONSTS) < _CACHE_LIMIT:
            _CONSTS[name] = const
    return const


def _decorated(cur: _Cursor, start: int, lt: int) -> Fd:
    close = decoration_close(cur.text, lt, cur.end)
    if close < 0:
        raise _Malformed("unclosed fd decoration")
    stop = close + 1
    if cur.text.startswith("(deleted)", stop):
        stop += 9
    cur.pos = stop
    return split_decoration(cur.text[start:stop])


def _is_hex_letter(c: int) -> bool:
    return 97 <= c <= 102 or 65 <= c <= 70


def _op(tok: str) -> Op:
    op = _OPS.get(tok)
    if op is None:
        op = Op(tok)
        if len(_OPS) < 1000:
            _OPS[tok] = op
    return op


# strace's escapes: \\n and the like, octal \\NNN, \\xHH (-x), a subset of Python's, which
# codecs.escape_decode reads in C. It raises on "\\x" without two hex digits or a trailing
# "\\", and warns on an escape it does not know (printed under PYTHONWARNINGS=default, an
# error under -W error), so it never sees one (_FOREIGN): a log cut, damaged or made by hand
# may hold any of them, and each is then kept as it is, by _ESCAPE (as is a backslash before
# a newline, which escape_decode drops: a pattern may hold one).
_ESCAPE: Final = re.compile(rb"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{2})|(.))", re.S)
_FOREIGN: Final = re.compile(rb"\\(?:[^0-7xntrvfab\\\"']|[4-7][0-7]{2})")  # unknown, or octal past 0o377
_NAMED_BYTES: Final = {
    b"n": b"\n", b"t": b"\t", b"r": b"\r", b"v": b"\v", b"f": b"\f", b"a": b"\a", b"b": b"\b",
    b"\\": b"\\", b'"': b'"', b"'": b"'",
}  # fmt: skip


def unescape(body: str) -> bytes:
    """strace's C escapes → the bytes. Never raises: an escape cut off by the end of a log
    (``"abc\\``, ``"\\x4``) or one strace never writes is kept as it is."""
    raw = body.encode("utf-8", "surrogateescape")
    if b"\\" not in raw:
        return raw
    if _FOREIGN.search(raw) is None:
        try:
            return codecs.escape_decode(raw)[0]
        except ValueError:
            pass
    return _ESCAPE.sub(_unescape_one, raw)


def _unescape_one(m: re.Match[bytes]) -> bytes:
    octal, hexa, other = m.groups()
    if octal is not None:
        return bytes([int(octal, 8) & 0xFF])
    if hexa is not None:
        return bytes([int(hexa, 16)])
    return _NAMED_BYTES.get(other, m.group())


def split_decoration(tok: str) -> Fd:
    """``3</etc/passwd>`` → Fd(3, "/etc/passwd"); ``AT_FDCWD</tmp>`` → Fd("AT_FDCWD", "/tmp")."""
    i = tok.find("<")
    head = tok[:i]
    rest = tok[i + 1 :]
    deleted = rest.endswith("(deleted)")
    if deleted:
        rest = rest[:-9]
    info = rest[:-1] if rest.endswith(">") else rest
    if info.endswith(" (deleted)"):  # strace before 5.19 put the marker inside
        info = info[:-10]
        deleted = True
    if "\\" in info:
        info = unescape(info).decode("utf-8", "surrogateescape")
    value = number(head)
    return Fd(head if value is None else value, info, deleted)
