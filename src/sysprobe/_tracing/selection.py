"""What a run traces: the calls asked for, and the calls the run itself must see.

Whatever ``RunOptions.syscalls`` selects, both tracers also trace:

- ``execve``: the command's own successful ``execve`` is the evidence that it ran under
  the tracer. A tracer that could not trace (ptrace denied) exits too, with a status of
  its own; without that line a run is an error, never a verdict.
- ``ptrace``: a traced program cannot trace (its strace or gdb gets EPERM); the run's
  outcome lists who tried (``RunOutcome.ptrace_refused``).
- every injected call: a tracer injects faults only into the calls it stops at, so an
  injection outside the selection would silently do nothing.

The result is strace's own ``-e trace=`` language, which the ptrace backend reads too
(names only there).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from ..errors import UsageError

ALWAYS_TRACED = ("execve", "ptrace")
# The first line of a raw copy (``-o FILE``) of a run that traced only some calls: a log
# that says what it holds, so that no rule about the others passes on it later
# (``_rules/coverage.py`` reads it back).
LOG_HEADER = "# sysprobe: this log holds only the calls of -e trace="


def injected_names(specs: Sequence[str]) -> list[str]:
    """The call set of each injection (``mkdir,rmdir`` of ``mkdir,rmdir:error=EPERM``)."""
    out: list[str] = []
    for spec in specs:
        names = spec.removeprefix("inject=").partition(":")[0]
        out += [name.strip() for name in names.split(",") if name.strip()]
    return out


def trace_expression(syscalls: str | Collection[str] | None, inject: Sequence[str] = ()) -> str | None:
    """The ``-e trace=`` expression (without ``trace=``) for a selection, or None for every call.

    Names given as a collection are optional (``?name``: a call this architecture lacks is
    skipped); names in an expression string are strace's to check.
    """
    if syscalls is None:
        return None
    if isinstance(syscalls, str):
        items = [item.strip() for item in syscalls.removeprefix("trace=").split(",")]
    else:
        items = [f"?{name}" for name in sorted({*syscalls, *ALWAYS_TRACED})]
    wanted = [f"?{name}" for name in ALWAYS_TRACED] + injected_names(inject)
    if items and items[0].startswith("!"):
        return _negated(items, wanted)
    if "all" in items:
        return "all"
    present = {item.lstrip("?") for item in items}
    items = [item for item in items if item not in ("none", "")]
    for item in wanted:
        if item.lstrip("?") not in present:
            items.append(item)
            present.add(item.lstrip("?"))
    return ",".join(items)


def _negated(items: list[str], wanted: list[str]) -> str:
    """``!a,b`` traces every call but a and b: strike the calls the run needs from the list."""
    needed = {item.lstrip("?") for item in wanted}
    special = [item for item in wanted if item.startswith(("%", "/"))]
    if special:
        raise UsageError(
            f"-e trace={','.join(items)}: a negated selection cannot take the injected {special[0]}"
        )
    kept = [item for item in [items[0][1:], *items[1:]] if item.lstrip("?") not in needed]
    if "all" in kept:  # "!all": no call of the user's, only the run's own
        return ",".join(wanted)
    for item in kept:
        if _covers(item, needed):
            raise UsageError(
                f"-e trace={','.join(items)}: {item!r} leaves out a call every run traces: execve "
                "(the evidence that the command ran), ptrace, or an injected call"
            )
    return "!" + ",".join(kept) if kept else "all"


# strace's classes that hold execve (ptrace is in none)
_CLASSES_WITH_EXECVE = frozenset({"%file", "file", "%process", "process"})


def _covers(item: str, names: set[str]) -> bool:
    """Could strace's set item name one of ``names`` (a class or a regular expression)?"""
    if item in _CLASSES_WITH_EXECVE:
        return "execve" in names
    if item.startswith("/"):
        try:
            return any(re.search(item[1:], name) for name in names)
        except re.error:
            return True  # strace will say what is wrong with it
    return False


def log_header(syscalls: str | Collection[str] | None, inject: Sequence[str] = ()) -> bytes | None:
    """The raw copy's first line for a run that traces only some calls; None for all."""
    expression = trace_expression(syscalls, inject)
    if expression is None or expression == "all":
        return None
    return f"{LOG_HEADER}{expression}\n".encode("utf-8", "surrogateescape")
