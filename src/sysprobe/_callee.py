"""The traced side of ``sysprobe.call``: a fresh interpreter that runs one callable.

Started under the tracer as ``python -c BOOT FOLDER TOKEN`` (see ``_call``). It prepares
itself as multiprocessing's spawn start method prepares a child (the caller's
``sys.path``, ``sys.argv`` and main module), unpickles the callable and its arguments,
then marks the trace, calls, marks it again, and writes what came back. Everything before
the first mark — the interpreter's start-up, imports, unpickling — is cut from the Trace.

Files in FOLDER: ``call`` (from the caller: two pickles, the preparation data, then
``(fn, args, kwargs)``); ``begin`` (the descriptors above 2 without close-on-exec when
the call began); ``result`` (one of the tuples ``_call.read_result`` reads).
"""

from __future__ import annotations

import os
import pickle
import sys
import traceback
from pathlib import Path
from typing import Any

from ._markers import mark

BEGIN, END = "b", "e"


def main(folder: str, token: str) -> int:
    where = Path(folder)
    try:
        with open(where / "call", "rb") as fh:
            import multiprocessing.spawn

            multiprocessing.spawn.prepare(pickle.load(fh))
            fn, args, kwargs = pickle.load(fh)
    except BaseException:
        (where / "result").write_bytes(pickle.dumps(("setup", traceback.format_exc())))
        return 1
    (where / "begin").write_bytes(pickle.dumps(inheritable_fds()))
    mark(token, BEGIN)
    outcome: tuple[Any, ...]
    try:
        outcome = ("returned", fn(*args, **kwargs))
    except BaseException as exc:
        outcome = ("raised", exc, traceback.format_exc())
    mark(token, END)
    (where / "result").write_bytes(_pickled(outcome))
    return 0


def inheritable_fds() -> list[int]:
    """The descriptors above 2 this process holds without close-on-exec."""
    out = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and os.get_inheritable(fd):
                out.append(fd)
        except OSError:
            continue  # the directory's own descriptor, closed by now
    return sorted(out)


def _pickled(outcome: tuple[Any, ...]) -> bytes:
    try:
        return pickle.dumps(outcome)
    except Exception as exc:
        what = "return value" if outcome[0] == "returned" else "exception"
        try:
            shown = repr(outcome[1])[:2000]
        except Exception:
            shown = f"<{type(outcome[1]).__name__}>"
        tb = outcome[2] if len(outcome) > 2 else None
        return pickle.dumps(("unpicklable", what, shown, tb, f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":  # pragma: no cover (started through _call's boot line)
    sys.exit(main(sys.argv[1], sys.argv[2]))
