"""What the ptrace backend supports: the machine and library it needs, calls selected by
name, and the injections it can do (``NAME:error=ERRNO``, ``NAME:retval=N``). Checked by
sysprobe before the tracing process starts (cheaply: python-ptrace is not imported there),
and again in the tracing process."""

from __future__ import annotations

import errno
import os
from collections.abc import Collection, Sequence
from typing import NamedTuple

from ...errors import BackendMissing, UsageError


class LoopOptions(NamedTuple):
    """The part of ``RunOptions`` the tracing loop reads (the same names; a NamedTuple keeps
    the tracing process's start-up free of dataclasses)."""

    syscalls: str | None = None  # trace=NAME,... as the backend passes it; None: every call
    seccomp: bool = True
    inject: Sequence[str] = ()
    string_limit: int | None = None
    decode_fds: bool = True


def python_ptrace_missing(why: str) -> BackendMissing:
    return BackendMissing(
        "the ptrace backend needs python-ptrace: pip install 'sysprobe[ptrace]' "
        f"(or install strace and use --backend strace) [{why}]"
    )


def wrong_machine() -> BackendMissing | None:
    """The error for a machine whose calls the decoders would misread, or None."""
    machine = os.uname().machine
    if machine == "x86_64":
        return None
    return BackendMissing(
        f"the ptrace backend decodes x86_64 only; this machine is {machine}: use --backend strace"
    )


def parse_injections(
    specs: Sequence[str], known: Collection[str] | None = None
) -> dict[str, tuple[str, int]]:
    """``NAME[,NAME]:error=ERRNO`` or ``:retval=N`` (the part of strace's ``-e inject=`` this
    backend does). Anything else — another action (``when=``, ``signal=``, ``delay_enter=``),
    a class or pattern for NAME, a name not in ``known`` (the syscall table) — is a
    UsageError: an injection is applied as asked or not at all, never silently dropped."""
    out: dict[str, tuple[str, int]] = {}
    for spec in specs:
        spec = spec.removeprefix("inject=")
        names, _, actions = spec.partition(":")
        if not actions or ":" in actions:
            raise UsageError(
                f"inject {spec!r}: the ptrace backend injects NAME:error=ERRNO or NAME:retval=N only "
                "(one action; use --backend strace for the others)"
            )
        key, _, value = actions.partition("=")
        if key == "error":
            code = (
                int(value) if value.isdigit() else getattr(errno, value, None) if value[:1] == "E" else None
            )
            if not isinstance(code, int):
                raise UsageError(f"inject {spec!r}: unknown errno {value!r}")
            if not 0 < code < 4096:
                raise UsageError(f"inject {spec!r}: an errno is between 1 and 4095, not {code}")
            what = ("error", code)
        elif key == "retval" and value.lstrip("-").isdigit():
            what = ("retval", int(value))
        else:
            raise UsageError(
                f"inject {spec!r}: the ptrace backend injects NAME:error=ERRNO or NAME:retval=N only "
                "(use --backend strace for the others)"
            )
        for name in names.split(","):
            name = name.strip()
            if not name or name.startswith(("%", "/", "!", "?")):
                raise UsageError(f"inject {spec!r}: the ptrace backend injects into calls named one by one")
            if known is not None and name not in known:
                raise UsageError(f"inject {spec!r}: invalid system call {name!r} (not on x86_64)")
            out[name] = what
    return out


def selection(syscalls: str | Collection[str] | None) -> frozenset[str] | None:
    """The calls to print, from RunOptions.syscalls (names, or strace's expression with
    ``?name`` entries); None: every call. Classes (``%process``) are not supported."""
    if syscalls is None:
        return None
    items = syscalls.removeprefix("trace=").split(",") if isinstance(syscalls, str) else list(syscalls)
    names: set[str] = set()
    for item in items:
        item = str(item).strip().lstrip("?")
        if item in ("all", ""):
            return None
        if item.startswith(("%", "/", "!")):
            raise UsageError(
                f"the ptrace backend selects calls by name only, not {item!r}: use --backend strace"
            )
        names.add(item)
    return frozenset(names)


def required(expression: str | None) -> list[str]:
    """The names of a ``trace=`` expression that must exist (not ``?name``), as strace checks them."""
    if expression is None:
        return []
    items = [item.strip() for item in expression.removeprefix("trace=").split(",")]
    return [item for item in items if item and not item.startswith("?") and item != "all"]
