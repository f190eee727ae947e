"""Argument text → argument tree.

A single pass over the characters, building nodes as it goes: no token list, no regex.
The loops compare ``ord()`` values because mypyc compiles them to C (setup.py).

Grammar, loosely: a list is items separated by commas; an item is ``[name=]value[ =>
value]``; a value is one or more terms — joined by ``|`` it is a flag set, by other
operators or by juxtaposition (``[RTMIN RT_1]``, ``A or B``) an expression; a term is a
string, number, name, call, array, struct, comment, ``...`` or a ``-y`` decorated fd.

Text that does not fit is not an error: the decoder retries item by item and keeps what
it cannot read as ``Raw``.
"""

from __future__ import annotations

import codecs
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
        raise ValueError(f"unexpected {text[cur.pos]!r} at character {cur.pos + 1}")
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
    spans = _split_at_commas(text, True)
    return spans if spans else _split_at_commas(text, False)


def _split_at_commas(text: str, nest: bool) -> list[tuple[int, int]]:
    """Spans between commas; [] if ``nest`` and the brackets do not balance."""
    spans: list[tuple[int, int]] = []
    depth = 0
    start = 0
    i = 0
    end = len(text)
    while i < end:
        c = ord(text[i])
        if c == 34:  # '"'
            i = _string_end(text, i, end)
            continue
        if c == 47 and text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = end if close < 0 else close + 2
            continue
        if c == 92:  # a backslash in a -y path escapes the next character
            i += 2
            continue
        if nest and c in (40, 91, 123):
            depth += 1
        elif nest and c in (41, 93, 125):
            depth -= 1
            if depth < 0:
                return []
        elif c == 44 and depth == 0:
            spans.append((start, i))
            start = i + 1
        i += 1
    if depth != 0:
        return []
    spans.append((start, end))
    return spans


def _skip_spaces(cur: _Cursor) -> int:
    text = cur.text
    end = cur.end
    i = cur.pos
    while i < end and ord(text[i]) == 32:
        i += 1
    cur.pos = i
    return ord(text[i]) if i < end else -1


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
    text = cur.text
    while True:
        c = _skip_spaces(cur)
        if c in (-1, 44, 41, 93, 125) or c == closer:  # end, ",", ")", "]", "}"
            break
        if c == 61:  # "="
            nxt = ord(text[cur.pos + 1]) if cur.pos + 1 < cur.end else -1
            if nxt == 62:  # "=>"
                if not terms:
                    raise _Malformed("'=>' without a value before it")
                before = _value(terms)
                terms = []
                cur.pos += 2
                continue
            if nxt != 61:  # not "=="
                if len(terms) != 1 or key is not None:
                    raise _Malformed("'=' after something that is not a name")
                first = terms[0]
                if not isinstance(first, Const):
                    raise _Malformed("'=' after something that is not a name")
                key = first.name
                terms = []
                cur.pos += 1
                continue
        term = _term(cur, c)
        if isinstance(term, Comment) and terms and not isinstance(terms[-1], Op):
            terms[-1] = Commented(terms[-1], term.text)
        else:
            terms.append(term)
    if not terms:
        raise _Malformed(f"missing value at {cur.pos}")
    node = _value(terms)
    if before is not None:
        node = Changed(before, node)
    if key is not None:
        node = Field(key, node)
    return node


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
    text = cur.text
    i = cur.pos
    end = cur.end
    if c == 34:  # '"'
        return _string(cur)
    if 48 <= c <= 57 or (c == 45 and i + 1 < end and 48 <= ord(text[i + 1]) <= 57):
        return _number(cur)
    if 97 <= c <= 122 or 65 <= c <= 90 or c == 95:
        return _name(cur)
    if c == 91:  # "["
        cur.pos += 1
        items = _list(cur, 93)
        cur.pos += 1
        return _array(items, False)
    if c == 123:  # "{"
        cur.pos += 1
        items = _list(cur, 125)
        cur.pos += 1
        return Struct(tuple(items))
    if c == 40:  # "(": a parenthesized group
        cur.pos += 1
        items = _list(cur, 41)
        cur.pos += 1
        return Call("", tuple(items))
    if c == 126 and i + 1 < end and ord(text[i + 1]) == 91:  # "~["
        cur.pos += 2
        items = _list(cur, 93)
        cur.pos += 1
        return _array(items, True)
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
    if i + 1 < end and text[i : i + 2] in _TWO_CHAR_OPS:
        cur.pos = i + 2
        return _op(text[i : i + 2])
    cur.pos = i + 1
    return _op(text[i])


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
    close = _string_end(text, i, cur.end)
    if close > cur.end:
        raise _Malformed("unclosed string")
    body = text[i + 1 : close - 1]
    truncated = text.startswith("...", close)
    cur.pos = close + 3 if truncated else close
    if text.find("\\", i + 1, close - 1) >= 0:
        return Str(_unescape(body), truncated)
    return Str(body.encode("utf-8", "surrogateescape"), truncated)


def _string_end(text: str, i: int, end: int) -> int:
    """Index after the closing quote of the string opening at ``i`` (end + 1 if open)."""
    j = i + 1
    while True:
        j = text.find('"', j, end)
        if j < 0:
            return end + 1
        k = j
        while ord(text[k - 1]) == 92:
            k -= 1
        if (j - k) % 2 == 0:
            return j + 1
        j += 1


def _number(cur: _Cursor) -> Node:
    text = cur.text
    end = cur.end
    i = cur.pos
    start = i
    negative = ord(text[i]) == 45
    if negative:
        i += 1
    node: Node
    if text.startswith("0x", i) or text.startswith("0X", i):
        i += 2
        digits = i
        value = 0
        while i < end:
            c = ord(text[i])
            if 48 <= c <= 57:
                value = value * 16 + (c - 48)
            elif 97 <= c <= 102:
                value = value * 16 + (c - 87)
            elif 65 <= c <= 70:
                value = value * 16 + (c - 55)
            else:
                break
            i += 1
        if i == digits:
            raise _Malformed("0x without digits")
        node = Hex(-value if negative else value)
    else:
        digits = i
        value = 0
        while i < end:
            c = ord(text[i])
            if 48 <= c <= 57:
                value = value * 10 + (c - 48)
                i += 1
            else:
                break
        if i < end and ord(text[i]) == 46 and i + 1 < end and 48 <= ord(text[i + 1]) <= 57:
            i += 1
            while i < end and 48 <= ord(text[i]) <= 57:
                i += 1
            node = float(text[start:i])
        elif ord(text[digits]) == 48 and i - digits > 1:
            node = _octal(text[start:i])
        else:
            node = -value if negative else value
    if i < end and ord(text[i]) == 60:  # "<": a -y decoration
        return _decorated(cur, start, i)
    cur.pos = i
    return node


def _name(cur: _Cursor) -> Node:
    text = cur.text
    end = cur.end
    start = cur.pos
    i = start + 1
    while i < end:
        c = ord(text[i])
        dotted = c == 46 and i + 1 < end and ord(text[i + 1]) != 46  # "ifr_ifru.ifru_addr"
        if 97 <= c <= 122 or 65 <= c <= 90 or 48 <= c <= 57 or c == 95 or dotted:
            i += 1
        else:
            break
    name = text[start:i]
    if i < end:
        c = ord(text[i])
        if c == 40:  # "(": a call such as htons(80)
            cur.pos = i + 1
            items = _list(cur, 41)
            cur.pos += 1
            return Call(name, tuple(items))
        if c == 60 and i + 1 < end and ord(text[i + 1]) not in (60, 61):  # AT_FDCWD</tmp>
            return _decorated(cur, start, i)
    cur.pos = i
    const = _CONSTS.get(name)
    if const is None:
        const = Const(name)
        if len(_CONSTS) < _CACHE_LIMIT:
            _CONSTS[name] = const
    return const


def _decorated(cur: _Cursor, start: int, lt: int) -> Fd:
    close = _decoration_close(cur.text, lt, cur.end)
    if close < 0:
        raise _Malformed("unclosed fd decoration")
    stop = close + 1
    if cur.text.startswith("(deleted)", stop):
        stop += 9
    cur.pos = stop
    return split_decoration(cur.text[start:stop])


def _decoration_close(text: str, lt: int, end: int) -> int:
    """Index of the ``>`` closing the decoration opened at ``lt``; -1 if none.

    Nested ``<...>`` count (``</dev/null<char 1:3>>``), ``>`` inside ``[...]`` does not
    (``<TCP:[1.2.3.4:80->5.6.7.8:9]>``), and ``\\76`` is how strace escapes ``>``.
    """
    depth = 0
    brackets = 0
    i = lt
    while i < end:
        c = ord(text[i])
        if c == 92:
            i += 2
            continue
        if c == 91:
            brackets += 1
        elif c == 93 and brackets:
            brackets -= 1
        elif brackets == 0:
            if c == 60:
                depth += 1
            elif c == 62:
                depth -= 1
                if depth == 0:
                    return i
        i += 1
    return -1


def _op(tok: str) -> Op:
    op = _OPS.get(tok)
    if op is None:
        op = Op(tok)
        if len(_OPS) < 1000:
            _OPS[tok] = op
    return op


def _octal(tok: str) -> Node:
    # Typed Node, not int: mypyc would coerce an ``int``-typed result to a plain int.
    try:
        return Oct(int(tok, 8))
    except ValueError:  # "08": not octal after all
        return int(tok)


def _unescape(body: str) -> bytes:
    raw = body.encode("utf-8", "surrogateescape")
    return codecs.escape_decode(raw)[0] if b"\\" in raw else raw


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
        info = _unescape(info).decode("utf-8", "surrogateescape")
    fd: int | str
    if head.isdigit() or (head[:1] == "-" and head[1:].isdigit()):
        fd = int(head)
    elif head[:2] == "0x":
        fd = int(head, 16)
    else:
        fd = head
    return Fd(fd, info, deleted)


def decoration_end(text: str) -> int:
    """Where the leading ``N<...>`` token of ``text`` ends (the result part of a line)."""
    lt = text.find("<")
    space = text.find(" ")
    if lt > 0 and (space < 0 or lt < space):
        close = _decoration_close(text, lt, len(text))
        if close > 0:
            return close + 10 if text.startswith("(deleted)", close + 1) else close + 1
    return len(text) if space < 0 else space
