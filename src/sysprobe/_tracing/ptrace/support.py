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


def parse_injections(specs: Sequence[str]) -> dict[str, tuple[str, int]]:
    """``NAME[,NAME]:error=ERRNO`` or ``:retval=N`` (strace's -e inject= subset this backend does)."""
    out: dict[str, tuple[str, int]] = {}
    for spec in specs:
        spec = spec.removeprefix("inject=")
        names, _, action = spec.partition(":")
        key, _, value = action.partition("=")
        if key == "error":
            code = getattr(errno, value, None) if not value.isdigit() else int(value)
            if not isinstance(code, int):
                raise UsageError(f"inject {spec!r}: unknown errno {value!r}")
            what = ("error", code)
        elif key == "retval" and value.lstrip("-").isdigit():
            what = ("retval", int(value))
        else:
            raise UsageError(
                f"inject {spec!r}: the ptrace backend injects NAME:error=ERRNO or NAME:retval=N only"
            )
        for name in names.split(","):
            out[name.strip()] = what
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
