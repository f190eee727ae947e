"""The pattern language read in-process (``_rules.patterns``): how a value the trace
shows matches a pattern's node (positional arguments strace prints as fields, a name's
number under -X raw, what a cut string may still be), what a pattern keeps of its text
and of its names, and the errors' exact words where a mutation run found them unread.
tests/rules/test_names.py holds the errors a user meets most."""

from __future__ import annotations

import pytest

from sysprobe._kernel.constants import constants
from sysprobe._parsing.lineparse import parse_lines
from sysprobe._rules.patterns import EXAMPLE, parse_pattern
from sysprobe.errors import RuleSyntaxError
from sysprobe.events import Syscall

CONSTS = constants("x86_64")
CLONE_ARGS = "child_stack=NULL, flags=CLONE_VM|SIGCHLD"
RESULT_EXPECTED = "expected a result condition: = 0, > 0, != -1, = -1 EINVAL, = ? (no result)"


def verdicts(pattern: str, line: str) -> tuple[bool, bool]:
    """(matches, could match) of ``pattern`` on one strace line."""
    (ev,) = parse_lines([line])
    assert isinstance(ev, Syscall)
    parsed = parse_pattern(pattern)
    return parsed.matches(ev, CONSTS), parsed.could_match(ev, CONSTS)


def error(pattern: str) -> str:
    with pytest.raises(RuleSyntaxError) as raised:
        parse_pattern(pattern)
    return str(raised.value)


# ---- matching ----


@pytest.mark.parametrize(
    ("pattern", "line", "expected"),
    [
        # strace prints clone's arguments as fields: a pattern may give them by position
        ("clone(NULL, CLONE_VM|SIGCHLD)", f"clone({CLONE_ARGS}) = 5", (True, True)),
        ("clone(NULL, CLONE_FS)", f"clone({CLONE_ARGS}) = 5", (False, False)),
        # a name is also its number (-X raw, the ptrace backend), 0 included
        ("lseek(3, 0, SEEK_SET)", "lseek(3, 0, 0) = 0", (True, True)),
        ("lseek(3, 0, SEEK_END)", "lseek(3, 0, 0) = 0", (False, False)),
        # a node with no matcher of its own matches what is equal to it
        ("close(@)", "close(@) = 0", (True, True)),
        ("close(@)", "close(3) = 0", (False, False)),
        # a string strace cut inside a macro's arguments may be the one
        (
            'bind(3, {sin_addr=inet_addr("127.0.0.1")}, *)',
            'bind(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0."...)}, 16) = 0',
            (False, True),
        ),
        (
            'bind(3, {sin_addr=inet_addr("10.0.0.1")}, *)',
            'bind(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0."...)}, 16) = 0',
            (False, False),
        ),
        # ... or in a value a call changed (before => after)
        (
            'getsockopt(3, SOL_SOCKET, *, *, ["ab" => "abcdef"])',
            'getsockopt(3, SOL_SOCKET, SO_PEERCRED, 0x1, ["ab" => "abc"...]) = 0',
            (False, True),
        ),
        (
            'getsockopt(3, SOL_SOCKET, *, *, ["ab" => "xbcdef"])',
            'getsockopt(3, SOL_SOCKET, SO_PEERCRED, 0x1, ["ab" => "abc"...]) = 0',
            (False, False),
        ),
    ],
)
def test_what_a_value_matches(pattern: str, line: str, expected: tuple[bool, bool]) -> None:
    assert verdicts(pattern, line) == expected


# ---- what a pattern keeps ----


def test_a_pattern_keeps_its_text_with_single_spaces() -> None:
    assert str(parse_pattern("  close(3)  =   0 ")) == "close(3) = 0"


def test_a_pattern_without_arguments_has_none() -> None:
    assert parse_pattern("close").args is None
    assert parse_pattern("close()").args == ()


def test_a_result_of_no_value() -> None:
    result = parse_pattern("exit_group(0) = ?").result
    assert result is not None and result.value is None
    assert parse_pattern("umask(022) = 022").result.value == 0o22  # type: ignore[union-attr]


def test_every_name_of_a_pattern_adds_to_what_it_keeps() -> None:
    """Each name's shifted calls, notes and unseen reasons, not the last name's alone."""
    both = parse_pattern("open|pipe(*)")
    assert both.shifted == {"openat"}  # open's arguments follow openat's dirfd; pipe2's do not
    assert both.notes == (
        "open matches the open syscall and openat: glibc's open() calls openat on x86_64",
        "pipe matches the pipe syscall and pipe2: glibc's pipe() calls pipe2 on x86_64",
    )
    clocks = parse_pattern("time|gettimeofday")
    assert [reason.split(" ")[2] for reason in clocks.unseen] == ["time()", "gettimeofday()"]
    assert parse_pattern("open|openat(*)").shifted == frozenset()  # openat written: its own arguments


# ---- errors ----


def test_a_glob_on_a_name() -> None:
    for pattern, example in (("clone*x", "clone|clone3"), ("open|clone*", "clone|clone3")):
        message = error(pattern)
        assert "expected a name matched whole: name each call, or * alone for any call" in message
        assert message.endswith(f"  e.g. {example}")
    # * alone is any call: what follows it is read as a result
    assert error("**").splitlines()[3] == "  " + RESULT_EXPECTED.replace(
        "expected ", "expected '(' and the arguments, or "
    )


def test_what_may_follow_a_name() -> None:
    assert error("close foo") == (
        "pattern 'close foo': cannot read 'foo'\n"
        "    close foo\n"
        "          ^\n"
        "  expected '(' and the arguments, or a result condition: = 0, > 0, != -1, = -1 EINVAL, "
        "= ? (no result)\n"
        "  e.g. close(...) = 0"
    )
    assert error("close() foo").splitlines()[3] == "  " + RESULT_EXPECTED
    assert error("* foo").endswith(f"  e.g. {EXAMPLE}")  # no name to show it with


def test_no_name_at_the_start() -> None:
    assert error(" (3)") == (
        "pattern ' (3)': expected a syscall name at the start\n"
        "     (3)\n"
        "     ^\n"
        "  expected a syscall name, or * for any call\n"
        f"  e.g. {EXAMPLE}"
    )


def test_a_constant_like_nothing_becomes_a_star() -> None:
    assert error("openat(AT_FDCWD, *, Qz)").endswith("  e.g. openat(AT_FDCWD, *, *)")
