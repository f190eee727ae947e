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
from collections.abc import Callable, Iterator
from typing import Any, Final

from .._kernel.syscalls import variants
from .._model.query import has_flag, int_of, is_value
from .._parsing.argdecode import decode_args_strict
from .._parsing.scan import close_bracket, number
from .._value import Value
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
from .names import UnknownName, check_constants, check_errno, names_starting, syscall_meaning

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
_WORD = re.compile(r"[A-Za-z_?][\w?]*")
_RESULT = re.compile(rf"\s*{COMPARISON}\s*(\?|-?(?:0[xX][0-9a-fA-F]+|\d+))\s*(E[A-Z0-9_]+)?\s*$")
_AT_CHARACTER = re.compile(r"(?: at \d+)? \(at character (\d+)\)$")
_ANY = Op("*")
EXAMPLE = 'openat(*, "/etc/*", O_RDONLY|O_CLOEXEC) = 3'


class ResultCondition(Value):
    op: Final[str]
    value: Final[int | None]  # None: "= ?" (no result: the task ended inside the call)
    errno: Final[str | None]

    __match_args__ = ("op", "value", "errno")

    def __init__(self, op: str, value: int | None, errno: str | None) -> None:
        self.op = op
        self.value = value
        self.errno = errno

    def holds(self, ev: Syscall) -> bool:
        if self.errno is not None and ev.errno != self.errno:
            return False
        if self.value is None:
            return (ev.ret is None) == (self.op == "=")
        return ev.ret is not None and compare(ev.ret, self.op, self.value)

    def __str__(self) -> str:
        value = "?" if self.value is None else str(self.value)
        return f"{self.op} {value}" + (f" {self.errno}" if self.errno else "")


class Pattern(Value):
    """A parsed pattern. ``notes``: what the report says about what its names match (a
    glibc wrapper's calls); ``unseen``: why a trace cannot show every call it names."""

    text: Final[str]
    names: Final[frozenset[str] | None]  # None: any syscall
    args: Final[tuple[Node, ...] | None]  # None: any arguments
    result: Final[ResultCondition | None]
    shifted: Final[frozenset[str]]  # calls whose arguments the pattern's start at the 2nd
    notes: Final[tuple[str, ...]]
    unseen: Final[tuple[str, ...]]

    __match_args__ = ("text", "names", "args", "result", "shifted", "notes", "unseen")

    def __init__(
        self,
        text: str,
        names: frozenset[str] | None,
        args: tuple[Node, ...] | None,
        result: ResultCondition | None,
        shifted: frozenset[str] = frozenset(),
        notes: tuple[str, ...] = (),
        unseen: tuple[str, ...] = (),
    ) -> None:
        self.text = text
        self.names = names
        self.args = args
        self.result = result
        self.shifted = shifted
        self.notes = notes
        self.unseen = unseen

    def matches(self, ev: Syscall, consts: dict[str, int]) -> bool:
        if self.names is not None and ev.name not in self.names:
            return False
        if self.result is not None and not self.result.holds(ev):
            return False
        return self.args is None or _args_match(self.args, self._values(ev), consts) is None

    def could_match(self, ev: Syscall, consts: dict[str, int]) -> bool:
        """Would ``ev`` match for some value of what strace cut short or left out (a
        string past ``-s``, a struct's ``...``)? True for every call that ``matches``."""
        if self.names is not None and ev.name not in self.names:
            return False
        if self.result is not None and not self.result.holds(ev):
            return False
        return self.args is None or _args_match(self.args, self._values(ev), consts, possible=True) is None

    @property
    def string_limit(self) -> int:
        """The ``-s`` a trace needs to show whole the strings this pattern compares: 0 for
        none, ``GLOB_STRING_LIMIT`` for a wildcard, which may match anywhere."""
        return max((_string_limit(node) for node in self.args or ()), default=0)

    @property
    def verbose(self) -> bool:
        """Does it compare what strace abbreviates without ``-v`` (a struct's fields, an
        array's items: an environment, a stat buffer)?"""
        return any(_abbreviable(node) for node in self.args or ())

    def _values(self, ev: Syscall) -> tuple[Node, ...]:
        return ev.args[1:] if ev.name in self.shifted else ev.args

    def mismatch(self, ev: Syscall, consts: dict[str, int]) -> str | None:
        """Why ``ev`` does not match (for "nearest" evidence); None if it does."""
        if self.names is not None and ev.name not in self.names:
            return f"the call is {ev.name}"
        if self.args is not None:
            reason = _args_match(self.args, self._values(ev), consts)
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


def pattern_error(
    text: str,
    column: int,
    problem: str,
    expected: str | None = None,
    example: str = EXAMPLE,
    what: str = "pattern",
) -> RuleSyntaxError:
    """A RuleSyntaxError that quotes ``text`` (``what`` names it: a pattern, an option's
    value) with a caret under ``column``, says what was expected there and shows one that reads."""
    shown = text.replace("\t", " ").replace("\n", " ")
    lines = [f"{what} {text!r}: {problem}"]
    if shown.strip():
        lines += [f"    {shown}", "    " + " " * column + "^"]
    if expected:
        lines.append(f"  expected {expected}")
    lines.append(f"  e.g. {example}")
    return RuleSyntaxError("\n".join(lines))


def parse_pattern(text: str) -> Pattern:
    """Parse a call pattern; RuleSyntaxError says where and why it does not parse, and
    names a syscall, constant or errno that does not exist (``names.py``)."""
    start = len(text) - len(text.lstrip())
    source = text.strip()
    if not source:
        raise pattern_error(text, 0, "empty pattern", "a syscall name, or * for any call")
    m = _NAME.match(source)
    if m is None:
        raise pattern_error(
            text, start, "expected a syscall name at the start", "a syscall name, or * for any call"
        )
    rest = source[m.end() :]
    if m.group(1) != "*" and rest.startswith("*"):  # clone*: a glob on names (a ? is read as the name's)
        raise pattern_error(
            text,
            start + m.end(),
            f"cannot read {rest!r}",
            "a name matched whole: name each call, or * alone for any call",
            names_starting(_written(m.group(1))[-1]) or EXAMPLE,
        )
    has_args = rest.startswith("(")
    names, shifted, notes, unseen = _resolve_names(text, start, m.group(1), has_args)
    args: tuple[Node, ...] | None = None
    at = start + m.end()  # where ``rest`` starts in ``text``
    if has_args:
        args, close = _pattern_args(text, rest, at)
        rest = rest[close + 1 :]
        at += close + 1
    result = None
    if rest.strip():
        rm = _RESULT.match(rest)
        if rm is None:
            column = at + len(rest) - len(rest.lstrip())
            what = "a result condition: = 0, > 0, != -1, = -1 EINVAL, = ? (no result)"
            if not has_args:
                what = "'(' and the arguments, or " + what
            example = f"{_written(m.group(1))[0]}(...) = 0" if names else EXAMPLE
            raise pattern_error(text, column, f"cannot read {rest.strip()!r}", what, example)
        if rm.group(3) is not None:
            try:
                check_errno(rm.group(3))
            except UnknownName as exc:
                column = at + rm.start(3)
                raise pattern_error(text, column, str(exc), example=_corrected(text, column, exc)) from None
        value = number(rm.group(2))  # "022": octal, as strace prints; "?" (no result): None
        result = ResultCondition(comparison(rm.group(1)), value, rm.group(3))
    return Pattern(" ".join(source.split()), names, args, result, shifted, notes, unseen)


def _pattern_args(text: str, rest: str, at: int) -> tuple[tuple[Node, ...], int]:
    """The arguments in ``rest`` (which starts with their ``(``, at ``at`` in ``text``) and
    the index in ``rest`` of the ``)`` closing them."""
    close = close_bracket(rest, 1, len(rest), 41)
    if close == -1:
        raise pattern_error(text, at, "this '(' is never closed", "')' after the arguments")
    try:
        args = decode_args_strict(rest[1:close])
    except ValueError as exc:
        problem, column = _decoder_error(str(exc))
        raise pattern_error(
            text, at + 1 + column, problem, "arguments as strace prints them, * for any"
        ) from None
    try:
        check_constants(args)
    except UnknownName as exc:
        column = _column_of(exc.name, text, at)
        raise pattern_error(text, column, str(exc), example=_corrected(text, column, exc)) from None
    return args, close


def _resolve_names(
    text: str, start: int, written: str, has_args: bool
) -> tuple[frozenset[str] | None, frozenset[str], tuple[str, ...], tuple[str, ...]]:
    """The calls the written names match (None: any), those whose arguments shift, the
    notes and the reasons some calls cannot all be seen."""
    if written == "*":
        return None, frozenset(), (), ()
    names: set[str] = set()
    shifted: set[str] = set()
    notes: list[str] = []
    unseen: list[str] = []
    words = [w.strip() for w in written.split("|")]
    for word in words:
        try:
            meaning = syscall_meaning(word, has_args)
        except UnknownName as exc:
            column = _column_of(word, text, start)
            raise pattern_error(text, column, str(exc), example=_corrected(text, column, exc)) from None
        names |= meaning.names
        shifted |= meaning.shifted
        notes += [meaning.note] if meaning.note else []
        unseen += [meaning.unseen] if meaning.unseen else []
    shifted -= {n for w in words for n in variants(w)}  # a call written itself takes its own arguments
    return frozenset(names), frozenset(shifted), tuple(notes), tuple(unseen)


def _written(names: str) -> list[str]:
    return [w.strip() for w in names.split("|")]


def _corrected(text: str, column: int, exc: UnknownName) -> str:
    """The pattern with the unknown name at ``column`` replaced by the likeliest one meant
    (``*`` for a constant nothing is close to)."""
    if exc.closest is None and text[column : column + len(exc.name)] == exc.name and exc.name[:1].isupper():
        replacement = "*"
    else:
        replacement = exc.closest or ""
    if not replacement or text[column : column + len(exc.name)] != exc.name:
        return EXAMPLE
    return " ".join((text[:column] + replacement + text[column + len(exc.name) :]).split())


def _column_of(name: str, text: str, start: int) -> int:
    """Where the word ``name`` first stands in ``text`` at or after ``start``."""
    for m in _WORD.finditer(text, start):
        if m.group() == name:
            return m.start()
    return start


def _decoder_error(message: str) -> tuple[str, int]:
    """The argument decoder's message without its position, and that position (from 0)."""
    m = _AT_CHARACTER.search(message)
    if m is None:
        return message, 0
    return message[: m.start()], int(m.group(1)) - 1


GLOB_STRING_LIMIT: Final = 4096


def _parts(node: object) -> Iterator[object]:
    """``node`` and every value inside it (a flag set's or a sigset's items, not the set as
    an array): what a pattern compares, for what the trace must show whole."""
    yield node
    if isinstance(node, (Field, Commented)):
        yield from _parts(node.value)
    elif isinstance(node, Changed):
        yield from _parts(node.before)
        yield from _parts(node.after)
    else:
        items = (
            node.args
            if isinstance(node, Call)
            else node.items
            if isinstance(node, (Struct, Flags, SigSet))
            else node
        )
        if isinstance(items, tuple):
            for item in items:
                yield from _parts(item)


def _string_limit(node: object) -> int:
    """The -s that shows whole the strings ``node`` compares."""
    return max(
        (
            GLOB_STRING_LIMIT if "*" in part.text or "?" in part.text else len(part.value) + 1
            for part in _parts(node)
            if isinstance(part, Str)
        ),
        default=0,
    )


def _abbreviable(node: object) -> bool:
    """Does ``node`` look inside a struct or an array (what strace abbreviates without -v)?"""
    return any(isinstance(part, Struct) or (isinstance(part, tuple) and part) for part in _parts(node))


def _args_match(
    pattern: tuple[Node, ...], values: tuple[Node, ...], consts: dict[str, int], possible: bool = False
) -> str | None:
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
        if not match_value(want, have, consts, possible):
            return f"argument {i + 1} is {format_node(have)}, not {format_node(want)}"
    return None


def match_value(want: Node, have: Node | None, consts: dict[str, int], possible: bool) -> bool:
    """Does the value ``have`` satisfy the pattern node ``want``?"""
    if have is None:
        return False
    if want == _ANY:
        return True
    matcher = _MATCHERS.get(type(want))
    if matcher is None:
        return bool(want == have)
    return matcher(want, have, consts, possible)


def _match_number(want: int, have: Node, consts: dict[str, int], possible: bool) -> bool:
    got = int_of(have, consts)
    return got is not None and got == want


def _match_const(want: Const, have: Node, consts: dict[str, int], possible: bool) -> bool:
    if isinstance(have, Fd) and isinstance(have.fd, str):
        return have.fd == want.name
    return has_flag(have, want.name, consts) or is_value(have, want.name, consts)


def _match_str(want: Str, have: Node, consts: dict[str, int], possible: bool) -> bool:
    """The same bytes (``*`` a wildcard), or the path ``-y`` shows. A string strace cut
    short (``"abc"...``) matches when every string it could have been would; with
    ``possible``, when one of them would."""
    text = have.info if isinstance(have, Fd) else have.text if isinstance(have, Str) else None
    if text is None:
        return False
    wanted = want.text
    glob = "*" in wanted or "?" in wanted
    if not (isinstance(have, Str) and have.truncated):
        return fnmatch.fnmatchcase(text, wanted) if glob else text == wanted
    if glob and wanted.endswith("*") and fnmatch.fnmatchcase(text, wanted):
        return True  # whatever follows the cut, the trailing * takes it
    if not possible:
        return False
    if glob:  # the part before the first wildcard ("[" starts a class) must agree with what strace showed
        literal = wanted[: min(i for i in (wanted.find("*"), wanted.find("?"), wanted.find("[")) if i >= 0)]
        return literal.startswith(text) or text.startswith(literal)
    return len(wanted) > len(text) and wanted.startswith(text)  # the whole string is longer than the cut


def _match_struct(want: Struct, have: Node, consts: dict[str, int], possible: bool) -> bool:
    """The fields the pattern names, and a matching item for each positional one. With
    ``possible``, a field or item strace left out (``...``) may be the one."""
    if not isinstance(have, Struct):
        return possible and _undecoded(have)
    elided = possible and any(isinstance(item, More) for item in have.items)
    for item in want.items:
        if isinstance(item, More):
            continue
        if isinstance(item, Field):
            value = have.get(item.name)
            if value is None and elided:
                continue
            if not match_value(item.value, value, consts, possible):
                return False
        elif not elided and not any(match_value(item, h, consts, possible) for h in have.items):
            return False
    return True


def _undecoded(have: Node) -> bool:
    """strace printed an address where the contents were (``0x7ffe /* 35 vars */``, an
    execve's environment; ``/* 20 entries */``): they may be anything."""
    if isinstance(have, Commented):  # "/* 0 entries */": nothing there
        return isinstance(have.value, (Hex, int)) and not have.comment.startswith("0 ")
    return isinstance(have, Hex)


def _match_array(want: tuple[Node, ...], have: Node, consts: dict[str, int], possible: bool) -> bool:
    """Some element matching each item (``[]`` only an empty array). strace prints a
    signal set of one as an array (``[CHLD]``): it matches a larger set that holds it.
    With ``possible``, an element strace left out (``...``) may be the one."""
    if isinstance(have, SigSet) and not have.complement:
        have = have.items
    if not isinstance(have, tuple):
        return possible and _undecoded(have)
    if not want:
        return not have
    elided = possible and any(isinstance(h, More) for h in have)
    return all(
        isinstance(w, More) or elided or any(match_value(w, h, consts, possible) for h in have) for w in want
    )


def _match_sigset(want: SigSet, have: Node, consts: dict[str, int], possible: bool) -> bool:
    """The same complement, and every signal named. strace prints a set of one as an array
    (``[CHLD]``): a pattern naming one signal twice (``[CHLD CHLD]``) must match it, or a
    --forbid of it would pass on the very call it names."""
    if isinstance(have, tuple) and not want.complement:
        have = SigSet(have)
    return (
        isinstance(have, SigSet)
        and have.complement == want.complement
        and all(any(match_value(w, h, consts, possible) for h in have.items) for w in want.items)
    )


def _match_changed(want: Changed, have: Node, consts: dict[str, int], possible: bool) -> bool:
    return (
        isinstance(have, Changed)
        and match_value(want.before, have.before, consts, possible)
        and match_value(want.after, have.after, consts, possible)
    )


def _match_call(want: Call, have: Node, consts: dict[str, int], possible: bool) -> bool:
    return (
        isinstance(have, Call)
        and have.name == want.name
        and _args_match(want.args, have.args, consts, possible) is None
        and (len(want.args) == len(have.args) or bool(want.args and isinstance(want.args[-1], More)))
    )


def _match_fd(want: Fd, have: Node, consts: dict[str, int], possible: bool) -> bool:
    if not isinstance(have, Fd) or have.fd != want.fd:
        return False
    return fnmatch.fnmatchcase(have.info, want.info) if "*" in want.info else have.info == want.info


# How each kind of pattern node matches; any other node, by equality.
_MATCHERS: dict[type, Callable[[Any, Node, dict[str, int], bool], bool]] = {
    int: _match_number,
    bool: _match_number,
    Hex: _match_number,
    Oct: _match_number,
    Commented: lambda want, have, consts, possible: match_value(want.value, have, consts, possible),
    Const: _match_const,
    Flags: lambda want, have, consts, possible: all(
        match_value(item, have, consts, possible) for item in want.items
    ),
    Str: _match_str,
    Struct: _match_struct,
    tuple: _match_array,
    SigSet: _match_sigset,
    Changed: _match_changed,
    Call: _match_call,
    Fd: _match_fd,
    Expr: lambda want, have, consts, possible: (
        isinstance(have, Expr) and format_node(have) == format_node(want)
    ),
}
