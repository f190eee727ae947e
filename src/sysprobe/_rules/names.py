"""The names a pattern may use, checked before any trace is read: a misspelt name would
match nothing, and a ``--forbid`` of nothing passes.

- A syscall name is one of the table's (``_kernel/syscalls.py``: every x86 ABI, and the
  names other architectures have), or strace's ``syscall_0x1b4`` for a number it has no
  name for. A glibc wrapper the kernel never sees under its own name on x86_64
  (``fork``, ``pipe``, ``open``: the table's ``GLIBC_X86_64``) matches the calls glibc
  makes for it too, and says so; where glibc answers in user space (``time``, the vDSO)
  a trace cannot show every call, and the rule says that instead of passing.
- A constant is one of the constant tables' (``_kernel/constants.py``, any architecture),
  ``NULL``, or in a signal set a signal without its ``SIG`` (``[CHLD USR1]``): a name
  sysprobe has no value for could match strace's text but never the numbers of ``-X raw``
  or the ptrace backend.
- An errno name is one of the host's (``errno``) or the kernel's restart codes.
"""

from __future__ import annotations

import errno
import re
from functools import cache
from typing import Final

from .._frozen import Frozen
from .._kernel.constants import ARCHES, constants
from .._kernel.signals import signal_number
from .._kernel.syscalls import GLIBC_X86_64, TABLE, facts, is_syscall, libc_calls, variants
from ..argtree import Call, Changed, Commented, Const, Expr, Fd, Field, Flags, Node, SigSet, Struct

# strace's name for a syscall number it cannot name (x86_64's 335 is "syscall_0x14f")
_NUMBERED = re.compile(r"syscall_(0x[0-9a-f]+|\d+)$")
_SIGNAL_SET_ITEM = re.compile(r"RT_\d+|RTMIN|RTMAX|\d+$")


class UnknownName(ValueError):
    """A name the vocabulary does not have: ``what`` is the sentence to show."""

    def __init__(self, name: str, what: str, closest: str | None = None) -> None:
        super().__init__(what)
        self.name = name
        self.closest = closest  # the likeliest name meant


class Meaning(Frozen):
    """What a syscall name in a pattern matches."""

    names: Final[frozenset[str]]  # the calls (ABI variants included)
    # the calls glibc makes for it with a directory descriptor first: the pattern's
    # arguments start at their second (open(path, flags) is openat(AT_FDCWD, path, flags))
    shifted: Final[frozenset[str]]
    note: Final[str | None]  # what the report says about the name's meaning
    unseen: Final[str | None]  # why a trace cannot show every call of it (the vDSO)

    __match_args__ = ("names", "shifted", "note", "unseen")

    def __init__(
        self,
        names: frozenset[str],
        shifted: frozenset[str] = frozenset(),
        note: str | None = None,
        unseen: str | None = None,
    ) -> None:
        self.names = names
        self.shifted = shifted
        self.note = note
        self.unseen = unseen


def syscall_meaning(word: str, with_args: bool) -> Meaning:
    """What ``word`` matches, or UnknownName saying why it matches nothing."""
    if _NUMBERED.match(word):
        return Meaning(frozenset({word}))
    made = libc_calls(word)
    own = is_syscall(word)
    if made is None:
        if not own:
            close = _closest(word, _syscall_names(), _CANONICAL)
            raise UnknownName(
                word, f"unknown syscall {word!r}{_did_you_mean(close)}", next(iter(close), None)
            )
        return Meaning(variants(word))
    names = set(variants(word)) if own else set()
    if not made:
        vdso = (
            f"glibc answers {word}() in user space (the vDSO) on x86_64: the kernel sees a {word} "
            "call only when the vDSO cannot answer, so a trace cannot show every one"
        )
        return Meaning(frozenset(names), note=vdso, unseen=vdso)
    calls = " and ".join(made)
    for call in made:
        names |= variants(call)
    shifted: frozenset[str] = frozenset()
    if with_args:  # a pattern's arguments are the wrapper's: only one call can take them
        after_dirfd = _arguments_after_dirfd(word, made[0]) if len(made) == 1 else None
        if after_dirfd is None:
            raise UnknownName(
                word,
                f"{word}(...) with arguments: glibc's {word}() calls {calls} on x86_64, "
                f"whose arguments are not {word}'s; write the pattern for {calls}, or leave the "
                f"arguments out ({word!r} alone matches {f'{word} and {calls}' if own else calls})",
            )
        if after_dirfd:
            shifted = variants(made[0])
    itself = f"the {word} syscall and " if own else ""
    note = f"{word} matches {itself}{calls}: glibc's {word}() calls {calls} on x86_64"
    return Meaning(frozenset(names), shifted, note)


def _arguments_after_dirfd(wrapper: str, call: str) -> bool | None:
    """Where a wrapper's arguments are in the call glibc makes for it: False, its first
    ones (pipe → pipe2); True, after a directory descriptor (open → openat); None where
    they differ (fstat → newfstatat) or the wrapper has no row to tell."""
    own, made = facts(wrapper), facts(call)
    if own is None or made is None:
        return None
    mine = [_NUMBERS.get(arg.kind, arg.kind) for arg in own.args]
    theirs = [_NUMBERS.get(arg.kind, arg.kind) for arg in made.args]
    if theirs[: len(mine)] == mine:
        return False
    if theirs[:1] == ["dirfd"] and theirs[1 : len(mine) + 1] == mine:
        return True
    return None


# argument kinds that are a number however they are printed (a flag word, a name, octal)
_NUMBERS = dict.fromkeys(
    (
        *("int", "uint", "long", "ulong", "hex", "raw", "flags", "xlat", "open_flags", "clone_flags"),
        *("socket_type", "mode", "open_mode", "signal", "ioctl_request", "protocol", "fcntl_arg"),
    ),
    "number",
)


@cache
def _syscall_names() -> tuple[str, ...]:
    """What a pattern may name, best known first: the table's calls (``suggest``'s list),
    then the glibc wrappers that are no syscall."""
    return (*TABLE, *(name for name in GLIBC_X86_64 if name not in TABLE))


_CANONICAL = {name: row.canonical for name, row in TABLE.items()}  # sendfile64 → sendfile


def names_starting(prefix: str, most: int = 4) -> str | None:
    """``clone|clone3``: the calls whose names start with ``prefix`` (ABI variants once;
    the first ``most``), as a pattern that names them; None if there are none."""
    found = sorted(
        {row.canonical for name, row in TABLE.items() if name.startswith(prefix) and not row.elsewhere}
    )
    return "|".join(found[:most]) if found else None


@cache
def known_constants() -> frozenset[str]:
    """Every constant name of the tables, on every architecture."""
    return frozenset(name for arch in ARCHES for name in constants(arch))


def check_constants(args: tuple[Node, ...]) -> None:
    """UnknownName for the first constant in an argument tree that the tables lack."""
    for node in args:
        _check_node(node, in_set=False)


def _check_node(node: Node, in_set: bool) -> None:
    if isinstance(node, Const):
        _check_constant(node.name, in_set)
    elif isinstance(node, Fd) and isinstance(node.fd, str):
        _check_constant(node.fd, False)
    else:
        for child, child_in_set in _children(node, in_set):
            _check_node(child, child_in_set)


def _children(node: Node, in_set: bool) -> list[tuple[Node, bool]]:
    """The nodes inside ``node``, each with whether it is an item of a set (an array or a
    signal set, where names may leave out "SIG")."""
    if isinstance(node, tuple):
        return [(item, True) for item in node]
    if isinstance(node, SigSet):
        return [(item, True) for item in node.items]
    if isinstance(node, Flags | Struct | Expr):
        return [(item, in_set) for item in node.items]
    if isinstance(node, Field | Commented):
        return [(node.value, False)]
    if isinstance(node, Changed):
        return [(node.before, in_set), (node.after, in_set)]
    if isinstance(node, Call):
        return [(item, False) for item in node.args]
    return []


def _check_constant(name: str, in_set: bool) -> None:
    if name == "NULL" or name in known_constants():
        return
    # the tables' signals returned above: what is left is numbered the same everywhere
    # (SIGRTMIN, SIGRT_3, SIG35)
    if name.startswith("SIG") and signal_number(name):
        return
    if in_set and (signal_number(f"SIG{name}") or _SIGNAL_SET_ITEM.match(name)):
        return  # a signal set names its signals without "SIG": [CHLD USR1]
    close = _closest(name, sorted(known_constants()), cutoff=0.75)
    raise UnknownName(
        name,
        f"unknown constant {name!r}{_did_you_mean(close)}: not in sysprobe's constant tables, so it "
        "could never be compared with the numbers that -X raw and the ptrace backend print; "
        "write * in its place",
        next(iter(close), None),
    )


@cache
def _errno_names() -> frozenset[str]:
    from .._kernel.constants import group

    return frozenset(errno.errorcode.values()) | {name for name, _ in group("restart_errnos").entries}


def check_errno(name: str) -> None:
    if name not in _errno_names():
        close = _closest(name, sorted(_errno_names()), cutoff=0.75)
        raise UnknownName(name, f"unknown errno {name!r}{_did_you_mean(close)}", next(iter(close), None))


def _closest(
    name: str, known: list[str] | tuple[str, ...], same: dict[str, str] | None = None, cutoff: float = 0.6
) -> list[str]:
    """The names closest to ``name``: those nearly as close as the best, at most three
    (names ``same`` maps to one, ABI variants, count once)."""
    import difflib  # here, not at import: only a name not found needs it

    close = difflib.get_close_matches(name, known, n=6, cutoff=cutoff)
    if not close:
        return []
    best = difflib.SequenceMatcher(None, name, close[0]).ratio()
    shown: list[str] = []
    for candidate in close:
        canonical = (same or {}).get(candidate, candidate)
        near = difflib.SequenceMatcher(None, name, candidate).ratio() >= best - 0.1
        if near and canonical not in shown and len(shown) < 3:
            shown.append(canonical)
    return shown


def _did_you_mean(close: list[str]) -> str:
    return f" (did you mean {' or '.join(close)}?)" if close else ""
