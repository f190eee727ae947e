"""strace's lexical pieces, found in one place: digits, strings, brackets, decorations.

The line parser (``lineparse``), the argument decoder (``argdecode``) and the pattern
reader (``_rules.patterns``) all find these with the functions here, so they agree on
what a string, an escape, an fd decoration or a number is.

Each function takes the text and a ``[i, end)`` window instead of a slice, and loops over
``ord(text[i])``: mypyc compiles that to C array reads (setup.py), and no copy is made of
the line. Functions that find two things (a value and where it stops) return a tuple of
ints, which mypyc passes unboxed.

The notation: a string is ``"..."`` with C escapes (``\\"`` does not end it); outside a
string a backslash escapes the next character (``-y`` paths: ``3</a\\>b>``); an fd
decoration is ``<...>`` right after a number or a name (``3</etc/passwd>``,
``AT_FDCWD</tmp>``), with nested ``<...>`` and ``[...]`` inside it; a comment is
``/* ... */``; a number is decimal, ``0x`` hexadecimal, or octal with a leading ``0``
(``0644``, ``022``) unless a digit says it is not (``08``).
"""

from __future__ import annotations

from typing import Final

# ords of the characters the scanner looks at
_SPACE: Final = 32
_QUOTE: Final = 34
_OPEN_PAREN: Final = 40
_CLOSE_PAREN: Final = 41
_STAR: Final = 42
_MINUS: Final = 45
_SLASH: Final = 47
_ZERO: Final = 48
_SEVEN: Final = 55
_NINE: Final = 57
_LT: Final = 60
_EQUALS: Final = 61
_GT: Final = 62
_OPEN_SQUARE: Final = 91
_BACKSLASH: Final = 92
_CLOSE_SQUARE: Final = 93
_OPEN_CURLY: Final = 123
_CLOSE_CURLY: Final = 125
_COMMA: Final = 44


# ---- characters ----


def is_digit(c: int) -> bool:
    return _ZERO <= c <= _NINE


def starts_name(c: int) -> bool:
    """A character a name starts with: ``[A-Za-z_]``."""
    return 97 <= c <= 122 or 65 <= c <= 90 or c == 95


def is_word(c: int) -> bool:
    """A character of a name: ``[A-Za-z0-9_]``."""
    return 97 <= c <= 122 or 65 <= c <= 90 or _ZERO <= c <= _NINE or c == 95


def skip_spaces(text: str, i: int, end: int) -> int:
    """The first index from ``i`` that is not a space (``end`` if none)."""
    while i < end and ord(text[i]) == _SPACE:
        i += 1
    return i


def trim_spaces(text: str, start: int, k: int) -> int:
    """``k`` moved back over the spaces before it, not past ``start``."""
    while k > start and ord(text[k - 1]) == _SPACE:
        k -= 1
    return k


def word_end(text: str, i: int, end: int) -> int:
    """The index after the name characters that start at ``i``."""
    while i < end:
        c = ord(text[i])
        if 97 <= c <= 122 or 65 <= c <= 90 or _ZERO <= c <= _NINE or c == 95:  # is_word, inlined
            i += 1
        else:
            break
    return i


# ---- numbers ----


def decimal(text: str, i: int, end: int) -> tuple[int, int]:
    """The value of the decimal digits that start at ``i``, and where they stop."""
    value = 0
    while i < end:
        c = ord(text[i])
        if _ZERO <= c <= _NINE:
            value = value * 10 + (c - _ZERO)
            i += 1
        else:
            break
    return value, i


def hexadecimal(text: str, i: int, end: int) -> tuple[int, int]:
    """The value of the hex digits that start at ``i`` (after ``0x``), and where they stop."""
    value = 0
    while i < end:
        c = ord(text[i])
        if _ZERO <= c <= _NINE:
            value = value * 16 + (c - _ZERO)
        elif 97 <= c <= 102:
            value = value * 16 + (c - 87)
        elif 65 <= c <= 70:
            value = value * 16 + (c - 55)
        else:
            break
        i += 1
    return value, i


def octal(text: str, i: int, end: int) -> int:
    """The value of ``text[i:end]`` read as octal digits; -1 if a digit is not octal."""
    value = 0
    while i < end:
        c = ord(text[i])
        if not _ZERO <= c <= _SEVEN:
            return -1
        value = value * 8 + (c - _ZERO)
        i += 1
    return value


def is_hex_prefix(text: str, i: int, end: int) -> bool:
    """Does ``0x`` (or ``0X``) start at ``i``?"""
    return i + 1 < end and ord(text[i]) == _ZERO and ord(text[i + 1]) in (120, 88)


def unsigned(text: str, i: int, end: int) -> tuple[int, int, int]:
    """The number without a sign that starts at ``i``: (value, where it stops, its base).

    The base is 16 after ``0x``, 8 for a leading ``0`` followed by octal digits only, else
    10; where no digit starts at ``i``, the stop is ``i`` (after ``0x`` alone, ``i + 2``).
    """
    if is_hex_prefix(text, i, end):
        value, stop = hexadecimal(text, i + 2, end)
        return value, stop, 16
    value, stop = decimal(text, i, end)
    if stop - i > 1 and ord(text[i]) == _ZERO:
        as_octal = octal(text, i, stop)
        if as_octal >= 0:
            return as_octal, stop, 8
    return value, stop, 10


def number(text: str) -> int | None:
    """The whole of ``text`` as a number in strace's notation (``12``, ``-1``, ``0x1f``,
    ``022``); None when it is anything else."""
    end = len(text)
    i = 1 if end and ord(text[0]) == _MINUS else 0
    digits = i + 2 if is_hex_prefix(text, i, end) else i
    value, stop, _ = unsigned(text, i, end)
    if stop != end or stop == digits:
        return None
    return -value if i else value


# ---- strings ----


def escaped(text: str, j: int) -> bool:
    """Is the character at ``j`` escaped (after an odd number of backslashes)?"""
    k = j
    while k > 0 and ord(text[k - 1]) == _BACKSLASH:
        k -= 1
    return (j - k) % 2 == 1


def string_end(text: str, i: int, end: int) -> int:
    """The index after the quote closing the string that opens at ``i`` (``end + 1``
    when it does not close before ``end``)."""
    j = i + 1
    while True:
        j = text.find('"', j, end)
        if j < 0:
            return end + 1
        if ord(text[j - 1]) != _BACKSLASH or not escaped(text, j):
            return j + 1
        j += 1


def strings_closed(text: str, a: int, b: int) -> bool:
    """Does ``text[a:b]`` end outside any string? A line cut inside a string
    (``write(1, "x) = 3``) would otherwise look complete."""
    j = text.find('"', a, b)
    while j >= 0:
        if ord(text[j - 1]) == _BACKSLASH and escaped(text, j):  # \" in a -y path, not a string
            j = text.find('"', j + 1, b)
            continue
        close = string_end(text, j, b)
        if close > b:
            return False
        j = text.find('"', close, b)
    return True


# ---- fd decorations ----


def starts_decoration(text: str, i: int, end: int) -> bool:
    """Does a ``-y`` decoration open at ``i`` (``3</tmp>``, ``AT_FDCWD</tmp>``): a ``<``
    right after a name or number, and not an operator (``1<<2``, ``a<=b``)?"""
    if i == 0 or i + 1 >= end or ord(text[i]) != _LT or not is_word(ord(text[i - 1])):
        return False
    return ord(text[i + 1]) not in (_LT, _EQUALS)


def decoration_close(text: str, lt: int, end: int) -> int:
    """Index of the ``>`` closing the decoration opened at ``lt``; -1 if none.

    Nested ``<...>`` count (``</dev/null<char 1:3>>``) and a backslash escapes the next
    character. In a path (``</...>``) strace escapes ``<``, ``>`` and ``"`` (``\\74``,
    ``\\76``, ``\\"``) but writes ``[`` and ``]`` as they are (``3</tmp/a[b>``, a
    terminal escape ``\\33[31m``): only a nested decoration counts there. In any other decoration (a
    socket, a pipe) ``>`` does not close it inside ``[...]``
    (``<TCP:[1.2.3.4:80->5.6.7.8:9]>``) nor inside a quoted socket path
    (``<UNIX-STREAM:[5,"/run/a]>b"]>``).
    """
    path = lt + 1 < end and ord(text[lt + 1]) == _SLASH
    depth = 0
    brackets = 0
    i = lt
    while i < end:
        c = ord(text[i])
        if c == _BACKSLASH:
            i += 2
            continue
        if not path:
            if c == _QUOTE:
                i = string_end(text, i, end)
                continue
            if c == _OPEN_SQUARE:
                brackets += 1
            elif c == _CLOSE_SQUARE and brackets:
                brackets -= 1
        if brackets == 0:
            if c == _LT:
                depth += 1
            elif c == _GT:
                depth -= 1
                if depth == 0:
                    return i
        i += 1
    return -1


def decoration_end(text: str) -> int:
    """Where the leading ``N<...>`` token of ``text`` ends (the result part of a line)."""
    lt = text.find("<")
    space = text.find(" ")
    if lt > 0 and (space < 0 or lt < space):
        close = decoration_close(text, lt, len(text))
        if close > 0:
            return close + 10 if text.startswith("(deleted)", close + 1) else close + 1
    return len(text) if space < 0 else space


# ---- brackets and lists ----


def _opaque_end(text: str, i: int, end: int, c: int) -> int:
    """Where a piece that brackets and commas do not count in ends, when one starts at
    ``i`` (its first character is ``c``): a string, an escape, a comment, an fd
    decoration. ``i`` when none starts there."""
    if c == _QUOTE:
        return string_end(text, i, end)
    if c == _BACKSLASH:
        return i + 2
    if c == _SLASH and i + 1 < end and ord(text[i + 1]) == _STAR:
        close = text.find("*/", i + 2, end)
        return end if close < 0 else close + 2
    if starts_decoration(text, i, end):
        close = decoration_close(text, i, end)
        if close >= 0:
            return close + 1
    return i


def close_bracket(text: str, i: int, end: int, closer: int) -> int:
    """Index of the ``closer`` (an ord: ``)``, ``]``, ``}``) that ends the bracket opened
    just before ``i``; -1 when another bracket closes it or none does."""
    depth = 0
    while i < end:
        c = ord(text[i])
        if c in (_QUOTE, _BACKSLASH, _SLASH, _LT):
            after = _opaque_end(text, i, end, c)
            if after > i:
                i = after
                continue
        if c in (_OPEN_PAREN, _OPEN_SQUARE, _OPEN_CURLY):
            depth += 1
        elif c in (_CLOSE_PAREN, _CLOSE_SQUARE, _CLOSE_CURLY):
            if depth == 0:
                return i if c == closer else -1
            depth -= 1
        i += 1
    return -1


def comma_spans(text: str, nest: bool) -> list[tuple[int, int]]:
    """Spans of ``text`` between its top-level commas; [] if ``nest`` and the brackets do
    not balance (with ``nest`` false, every comma outside a string, comment or
    decoration splits)."""
    spans: list[tuple[int, int]] = []
    depth = 0
    start = 0
    i = 0
    end = len(text)
    while i < end:
        c = ord(text[i])
        if c in (_QUOTE, _BACKSLASH, _SLASH, _LT):
            after = _opaque_end(text, i, end, c)
            if after > i:
                i = after
                continue
        if nest and c in (_OPEN_PAREN, _OPEN_SQUARE, _OPEN_CURLY):
            depth += 1
        elif nest and c in (_CLOSE_PAREN, _CLOSE_SQUARE, _CLOSE_CURLY):
            depth -= 1
            if depth < 0:
                return []
        elif c == _COMMA and depth == 0:
            spans.append((start, i))
            start = i + 1
        i += 1
    if depth != 0:
        return []
    spans.append((start, end))
    return spans


def top_level_commas(text: str, start: int) -> list[int]:
    """Indexes of the commas of ``text[start:]`` outside strings, comments, decorations
    and brackets; the scan stops at a bracket closing one opened before ``start``."""
    commas: list[int] = []
    depth = 0
    i = start
    end = len(text)
    while i < end:
        c = ord(text[i])
        if c in (_QUOTE, _BACKSLASH, _SLASH, _LT):
            after = _opaque_end(text, i, end, c)
            if after > i:
                i = after
                continue
        if c in (_OPEN_PAREN, _OPEN_SQUARE, _OPEN_CURLY):
            depth += 1
        elif c in (_CLOSE_PAREN, _CLOSE_SQUARE, _CLOSE_CURLY):
            if depth == 0:
                break
            depth -= 1
        elif c == _COMMA and depth == 0:
            commas.append(i)
        i += 1
    return commas


def write_count_end(text: str, p: int, end: int) -> int:
    """For ``write(FD, "S"[...], N`` with its ``(`` at ``p``: the index after N; -1 for
    any other shape. What follows N in a line is ``)``, unless the program's own output
    was printed into the line (``.lineparse``)."""
    q = text.find('"', p, end)
    if q < 2 or ord(text[q - 1]) != _SPACE or ord(text[q - 2]) != _COMMA or text.find(",", p, q - 2) >= 0:
        return -1
    e = string_end(text, q, end)
    if e > end:
        return -1
    if text.startswith("...", e):
        e += 3
    if e + 2 > end or ord(text[e]) != _COMMA or ord(text[e + 1]) != _SPACE:
        return -1
    stop = decimal(text, e + 2, end)[1]
    return -1 if stop == e + 2 else stop
