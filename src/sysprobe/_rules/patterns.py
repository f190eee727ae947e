"""Call patterns written like strace's own output.

    sendfile
    epoll_create1(EPOLL_CLOEXEC)
    fcntl(*, F_SETFD, FD_CLOEXEC) = 0
    sendmsg(*, {msg_control=[{cmsg_type=SCM_RIGHTS}]}, *)
    openat(*, "/etc/*", ...) = -1 ENOENT

The argument list is read by the same decoder as strace's lines (never evaluated). How a
pattern matches a value: ``*`` anything; a flag name a set containing it (also by bit, for
``-X raw``); a flag set all of its flags; a struct the fields it names; an array elements
matching each of its items; a string the same bytes (``*`` in it is a wildcard), or the
path ``-y`` shows for a descriptor; a number the same value. Missing trailing arguments
match anything, as does a trailing ``...``. A name matches its ABI variants too. A result
condition compares the result (``=`` or ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``) with a
number written as strace writes one (``022`` is octal) or ``?`` (no result), and may name
the errno.
"""

from __future__ import annotations

import fnmatch
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from .._kernel.syscalls import variants
from .._model.query import has_flag, int_of, is_value
from .._parsing.argdecode import decode_args_strict
from .._parsing.scan import close_bracket, number
from ..argtree import (
    Call,
    Changed,
    Commented,
    Const,
    Expr,
    Fd,
    Field,
    Flags,
    Hex,
    More,
    Node,
    Oct,
    Op,
    SigSet,
    Str,
    Struct,
    format_node,
)
from ..errors import RuleSyntaxError
from ..events import Syscall

# The comparisons a result condition (``= -1``, ``> 0``) and ``--expect-count`` (``>=2
# sendfile``) accept: ``COMPARISON`` reads one (a regex group), ``comparison`` names it
# (``==`` is ``=``), ``compare`` applies it.
COMPARISON: Final = r"(==|!=|>=|<=|=|>|<)"
_COMPARE: Final[dict[str, Callable[[int, int], bool]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def comparison(symbol: str) -> str:
    """The operator ``COMPARISON`` matched, as reports print it."""
    return "=" if symbol == "==" else symbol


def compare(left: int, op: str, right: int) -> bool:
    """``left op right``, ``op`` as ``comparison`` names it."""
    return _COMPARE[op](left, right)


_NAME = re.compile(r"\s*(\*|[A-Za-z_?][\w?]*(?:\s*\|\s*[A-Za-z_?][\w?]*)*)\s*")
_RESULT = re.compile(rf"\s*{COMPARISON}\s*(\?|-?(?:0[xX][0-9a-fA-F]+|\d+))\s*(E[A-Z0-9_]+)?\s*$")
_ANY = Op("*")


@dataclass(frozen=True)
class ResultCondition:
    op: str
    value: int | None  # None: "= ?" (no result: the task ended inside the call)
    errno: str | None

    def holds(self, ev: Syscall) -> bool:
        if self.errno is not None and ev.errno != self.errno:
            return False
        if self.value is None:
            return (ev.ret is None) == (self.op == "=")
        return ev.ret is not None and compare(ev.ret, self.op, self.value)

    def __str__(self) -> str:
        value = "?" if self.value is None else str(self.value)
        return f"{self.op} {value}" + (f" {self.errno}" if self.errno else "")


@dataclass(frozen=True)
class Pattern:
    text: str
    names: frozenset[str] | None  # None: any syscall
    args: tuple[Node, ...] | None  # None: any arguments
    result: ResultCondition | None

    def matches(self, ev: Syscall, consts: dict[str, int]) -> bool:
        if self.names is not None and ev.name not in self.names:
            return False
        if self.result is not None and not self.result.holds(ev):
            return False
        return self.args is None or _args_match(self.args, ev.args, consts) is None

    def mismatch(self, ev: Syscall, consts: dict[str, int]) -> str | None:
        """Why ``ev`` does not match (for "nearest" evidence); None if it does."""
        if self.names is not None and ev.name not in self.names:
            return f"the call is {ev.name}"
        if self.args is not None:
            reason = _args_match(self.args, ev.args, consts)
            if reason is not None:
                return reason
        if self.result is not None and not self.result.holds(ev):
            got = "?" if ev.ret is None else str(ev.ret)
            return f"the result is {got}{' ' + ev.errno if ev.errno else ''}, not {self.result}"
        return None

    @property
    def name_list(self) -> list[str]:
        return sorted(self.names) if self.names is not None else []

    def __str__(self) -> str:
        return self.text


def parse_pattern(text: str) -> Pattern:
    """Parse a call pattern; RuleSyntaxError says where it does not parse."""
    source = text.strip()
    if not source:
        raise RuleSyntaxError("empty pattern")
    m = _NAME.match(source)
    if m is None:
        raise RuleSyntaxError(f"pattern {text!r}: expected a syscall name at the start")
    words = [w.strip() for w in m.group(1).split("|")]
    names = None if words == ["*"] else frozenset(n for w in words for n in variants(w))
    rest = source[m.end() :]
    args: tuple[Node, ...] | None = None
    if rest.startswith("("):
        close = close_bracket(rest, 1, len(rest), 41)
        if close < 0:
            raise RuleSyntaxError(f"pattern {text!r}: unbalanced parentheses")
        try:
            args = decode_args_strict(rest[1:close])
        except ValueError as exc:
            raise RuleSyntaxError(f"pattern {text!r}: {exc}") from None
        rest = rest[close + 1 :]
    result = None
    if rest.strip():
        rm = _RESULT.match(rest)
        if rm is None:
            example = "a result looks like '= 0', '> 0', '= -1 EINVAL'"
            raise RuleSyntaxError(f"pattern {text!r}: cannot read {rest.strip()!r} ({example})")
        value = None if rm.group(2) == "?" else number(rm.group(2))  # "022": octal, as strace prints
        result = ResultCondition(comparison(rm.group(1)), value, rm.group(3))
    return Pattern(" ".join(source.split()), names, args, result)


def _args_match(pattern: tuple[Node, ...], values: tuple[Node, ...], consts: dict[str, int]) -> str | None:
    """None when the arguments match, else why not."""
    for i, want in enumerate(pattern):
        if isinstance(want, More):
            return None  # "...": the rest may be anything
        if isinstance(want, Field):
            have: Node | None = next(
                (v.value for v in values if isinstance(v, Field) and v.name == want.name), None
            )
            if have is None:
                return f"no argument {want.name}="
            want = want.value
        elif i < len(values):
            have = values[i]
            if isinstance(have, Field):
                have = have.value
        else:
            return f"the call has {len(values)} argument{'s' if len(values) != 1 else ''}"
        if not match_value(want, have, consts):
            return f"argument {i + 1} is {format_node(have)}, not {format_node(want)}"
    return None


def match_value(want: Node, have: Node | None, consts: dict[str, int]) -> bool:
    """Does the value ``have`` satisfy the pattern node ``want``?"""
    if have is None:
        return False
    if want == _ANY:
        return True
    matcher = _MATCHERS.get(type(want))
    if matcher is None:
        return bool(want == have)
    return matcher(want, have, consts)


def _match_number(want: int, have: Node, consts: dict[str, int]) -> bool:
    got = int_of(have, consts)
    return got is not None and got == want


def _match_const(want: Const, have: Node, consts: dict[str, int]) -> bool:
    if isinstance(have, Fd) and isinstance(have.fd, str):
        return have.fd == want.name
    return has_flag(have, want.name, consts) or is_value(have, want.name, consts)


def _match_str(want: Str, have: Node, consts: dict[str, int]) -> bool:
    """The same bytes (``*`` a wildcard); a string strace cut short by its start; a ``-y`` path."""
    text = have.info if isinstance(have, Fd) else have.text if isinstance(have, Str) else None
    if text is None:
        return False
    wanted = want.text
    if "*" in wanted or "?" in wanted:
        return fnmatch.fnmatchcase(text, wanted)
    if isinstance(have, Str) and have.truncated:
        return wanted.startswith(text)
    return text == wanted


def _match_struct(want: Struct, have: Node, consts: dict[str, int]) -> bool:
    """The fields the pattern names, and a matching item for each positional one."""
    if not isinstance(have, Struct):
        return False
    for item in want.items:
        if isinstance(item, More):
            continue
        if isinstance(item, Field):
            if not match_value(item.value, have.get(item.name), consts):
                return False
        elif not any(match_value(item, h, consts) for h in have.items):
            return False
    return True


def _match_array(want: tuple[Node, ...], have: Node, consts: dict[str, int]) -> bool:
    """Some element matching each item (``[]`` only an empty array)."""
    if not isinstance(have, tuple):
        return False
    if not want:
        return not have
    return all(isinstance(w, More) or any(match_value(w, h, consts) for h in have) for w in want)


def _match_sigset(want: SigSet, have: Node, consts: dict[str, int]) -> bool:
    return (
        isinstance(have, SigSet)
        and have.complement == want.complement
        and all(any(match_value(w, h, consts) for h in have.items) for w in want.items)
    )


def _match_changed(want: Changed, have: Node, consts: dict[str, int]) -> bool:
    return (
        isinstance(have, Changed)
        and match_value(want.before, have.before, consts)
        and match_value(want.after, have.after, consts)
    )


def _match_call(want: Call, have: Node, consts: dict[str, int]) -> bool:
    return (
        isinstance(have, Call)
        and have.name == want.name
        and _args_match(want.args, have.args, consts) is None
        and (len(want.args) == len(have.args) or bool(want.args and isinstance(want.args[-1], More)))
    )


def _match_fd(want: Fd, have: Node, consts: dict[str, int]) -> bool:
    if not isinstance(have, Fd) or have.fd != want.fd:
        return False
    return fnmatch.fnmatchcase(have.info, want.info) if "*" in want.info else have.info == want.info


# How each kind of pattern node matches; any other node, by equality.
_MATCHERS: dict[type, Callable[[Any, Node, dict[str, int]], bool]] = {
    int: _match_number,
    bool: _match_number,
    Hex: _match_number,
    Oct: _match_number,
    Commented: lambda want, have, consts: match_value(want.value, have, consts),
    Const: _match_const,
    Flags: lambda want, have, consts: all(match_value(item, have, consts) for item in want.items),
    Str: _match_str,
    Struct: _match_struct,
    tuple: _match_array,
    SigSet: _match_sigset,
    Changed: _match_changed,
    Call: _match_call,
    Fd: _match_fd,
    Expr: lambda want, have, consts: isinstance(have, Expr) and format_node(have) == format_node(want),
}
