"""Marks a traced Python process leaves in its own trace, so that sysprobe can cut it.

``sysprobe.call`` marks where the callable begins and ends; ``pytest --sysprobe-leaks``
marks where each test begins and ends, in every process that runs tests. A mark is a call
that can only fail and changes nothing: ``execve("/dev/null/sp-TOKEN-WHAT")`` (ENOTDIR:
/dev/null is no directory, so no such program can exist). ``execve`` because both tracers
trace it whatever the selection (it is the evidence that a command ran), so a mark is
never filtered out; a failed exec changes no descriptor table. ``TOKEN`` is random per
run: a mark of another run (a traced program that itself uses sysprobe) is not this one's.
"""

from __future__ import annotations

import os

from .argtree import Str
from .events import Event, Syscall

PREFIX = "/dev/null/sp-"
# what a mark's path may hold after the token, so that strace's default string limit (32)
# never cuts one: PREFIX (13) + token (8) + "-" + 10
MAX_WHAT = 10
_execve = os.execve  # bound now: a test that mocks os.execve must not swallow the marks


def new_token() -> str:
    return os.urandom(4).hex()  # secrets.token_hex(4), without loading hmac and OpenSSL


def mark(token: str, what: str) -> None:
    """Leave the mark ``what`` (at most MAX_WHAT characters) in this process's trace."""
    path = f"{PREFIX}{token}-{what}"
    try:
        _execve(path, [path], {})
    except OSError:
        return
    raise AssertionError(f"{path} was executed")  # pragma: no cover (no such file can exist)


def read_mark(event: Event, token: str) -> str | None:
    """The ``what`` of a mark of run ``token`` (None: ``event`` is no such mark)."""
    if not isinstance(event, Syscall) or event.name != "execve" or event.errno is None:
        return None
    path = event.args[0] if event.args else None
    if not isinstance(path, Str) or path.truncated:
        return None
    text = path.text
    head = f"{PREFIX}{token}-"
    return text[len(head) :] if text.startswith(head) else None
