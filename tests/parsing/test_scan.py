"""The scanner the line parser, the argument decoder and the pattern reader share."""

from __future__ import annotations

import pytest

from sysprobe._parsing.scan import (
    close_bracket,
    comma_spans,
    decoration_end,
    number,
    string_end,
    strings_closed,
    unsigned,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("12", 12),
        ("-1", -1),
        ("0x1f", 31),
        ("0X1F", 31),
        ("-0x10", -16),
        ("022", 0o22),  # octal, as strace prints modes and umask
        ("-012", -0o12),
        ("08", 8),  # a digit says it is not octal
        ("", None),
        ("-", None),
        ("0x", None),
        ("12a", None),
        ("1.5", None),
        ("٣", None),  # a digit to str.isdigit, not to strace
        ("?", None),
    ],
)
def test_number(text: str, value: int | None) -> None:
    assert number(text) == value


def test_unsigned_reports_where_it_stops_and_the_base() -> None:
    assert unsigned("0644, x", 0, 7) == (0o644, 4, 8)
    assert unsigned("0x1f)", 0, 5) == (31, 4, 16)
    assert unsigned("15<", 0, 3) == (15, 2, 10)
    assert unsigned("x", 0, 1) == (0, 0, 10)


@pytest.mark.parametrize(
    ("text", "closer", "expected"),
    [
        ("(a, b) = 0", ")", 5),
        ('("a)", b) = 0', ")", 8),  # in a string
        ('("a\\")", b) = 0', ")", 10),  # an escaped quote does not end the string
        ("(3</tmp/a)b>) = 0", ")", 12),  # in a -y decoration
        ("(3</a\\>)b>) = 0", ")", 10),  # strace's escaped ">" in a decoration
        ("(x /* ) */) = 0", ")", 10),  # in a comment
        ("([1, 2], {a=(3)}) = 0", ")", 16),
        ("(1<<2) = 0", ")", 5),  # a shift, not a decoration
        # strace writes "[" and "]" in a path as they are (a terminal escape: \33[31m) and
        # escapes ">" (\76): a bracket in a path opens nothing
        ("(3</tmp/a\\33[31mb>) = 0", ")", 18),
        ("(3</tmp/a[b\\76c>, 1) = 0", ")", 19),
        # in a socket's decoration "[...]" and a quoted path hold ">" as it is
        ('(3<UNIX-STREAM:[5,"/r]>, \\"x"]>) = 0', ")", 31),
        ("(3<TCP:[1.2.3.4:80->5.6.7.8:9]>) = 0", ")", 31),
        ("(a]", ")", -1),  # closed by another bracket
        ('(a, "b)', ")", -1),  # cut inside a string
        ("{a=1} x", "}", 4),
    ],
)
def test_close_bracket(text: str, closer: str, expected: int) -> None:
    assert close_bracket(text, 1, len(text), ord(closer)) == expected


def test_strings() -> None:
    assert string_end('"ab\\"c" x', 0, 9) == 7
    assert string_end('"ab\\\\" x', 0, 8) == 6  # an escaped backslash, then the closing quote
    assert string_end('"ab', 0, 3) == 4  # open: end + 1
    assert strings_closed('write(1, "x) = 3', 6, 16) is False
    assert strings_closed('write(1, "x", 1', 6, 15) is True
    assert strings_closed('close(3</a\\"b>', 6, 14) is True  # \" in a -y path is no string


def test_comma_spans() -> None:
    text = '1, "a,b", {x=1, y=2}, 3</a,b>, f(4, 5) /* c, d */'
    assert [text[a:b].strip() for a, b in comma_spans(text, True)] == [
        "1",
        '"a,b"',
        "{x=1, y=2}",
        "3</a,b>",
        "f(4, 5) /* c, d */",
    ]
    assert comma_spans("a, (b", True) == []  # unbalanced: the caller splits without nesting
    assert [text[a:b] for text in ["a, (b"] for a, b in comma_spans(text, False)] == ["a", " (b"]


def test_decoration_end() -> None:
    assert decoration_end("3</tmp/a b> (flags)") == 11
    assert decoration_end("3</tmp/x>(deleted) y") == 18
    assert decoration_end("-1 ENOENT (No such file)") == 2
    assert decoration_end("0") == 1
    assert decoration_end('3</tmp/x\\") = 5> <0.1>') == 16  # a name that reads as a result
    assert decoration_end("3</tmp/a\\33[31mb> <0.1>") == 17
