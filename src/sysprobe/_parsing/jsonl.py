"""Events as JSON Lines: the data contract of ``sysprobe parse --json`` and ``trace --json``.

The stream's first record is a header naming the schema and its version
(``schemas/events.schema.json`` in the package; README "JSON Lines"); every later record
is one event (``Event.to_json``). Every string is valid UTF-8 and every key has one type,
so that DuckDB's ``read_json_auto`` (or any engine reading JSON Lines) loads a stream as
is.

A successful ``execve`` record lists the descriptors that crossed it (``fds``), as the
descriptor model saw them at the exec: the writer runs its own model pass over the events
it writes (``FdModel``, keeping nothing of the past), so that what crossed is in the data
and "what was open at each exec" is one query. The model may learn of an exec after later
events (a child's lines can come before its parent's ``clone`` returns): an ``execve``
record then waits, and the records after it with it, until the model has placed it.
"""

from __future__ import annotations

from typing import IO, Any, Final

from .._model.fdmodel import FdModel
from .._model.records import Descriptor, ExecRecord, Origin
from .._version import __version__
from ..argtree import clean_json, clean_text
from ..events import Event, Syscall

SCHEMA_VERSION: Final = 1  # incremented with every change of the records (CHANGELOG)
SCHEMA_NAME: Final = "sysprobe-events"
REPORT_SCHEMA_VERSION: Final = 1  # of ``check --json-report``
REPORT_SCHEMA_NAME: Final = "sysprobe-report"
# records held back while an execve waits for the model, at most: then it goes out as
# it is, with "fds": null (not known)
MAX_WAITING: Final = 10_000
_EXECS: Final = frozenset({"execve", "execveat"})


def schema(name: str = "events") -> dict[str, Any]:
    """The published JSON Schema (``events`` or ``report``), from the package."""
    from importlib import resources  # here, not at import: a check has no use for it (nor tempfile)

    text = resources.files("sysprobe").joinpath(f"schemas/{name}.schema.json").read_text("utf-8")
    import json  # here, not at import (as in dumps): a check without JSON output loads none

    loaded: dict[str, Any] = json.loads(text)
    return loaded


def header(source: str) -> dict[str, Any]:
    """The first record of every stream."""
    return {
        "type": "header",
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "sysprobe": __version__,
        "source": clean_text(source),
    }


def dumps(record: dict[str, Any]) -> str:
    """One record as a line of valid UTF-8 JSON (no NaN, no lone surrogate)."""
    import json

    text = json.dumps(record, ensure_ascii=False, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a string a to_json missed: never written broken
        text = json.dumps(clean_json(record), ensure_ascii=False, allow_nan=False)
    return text


class JsonLinesWriter:
    """Writes a header, then each event given to ``write``; ``close`` at the end."""

    def __init__(self, out: IO[str], source: str, arch: str | None = None) -> None:
        self.out = out
        self.model = FdModel(arch, retain=False)
        self.model.on_exec.append(self._exec_placed)
        self._placed: dict[tuple[str | None, int], ExecRecord] = {}  # by (file, line)
        self._waiting: list[tuple[Event, dict[str, Any]]] = []
        self.out.write(dumps(header(source)) + "\n")

    def write(self, event: Event) -> None:
        self.model.feed(event)
        record = event.to_json()
        if _is_exec(event) or self._waiting:
            self._waiting.append((event, record))
            self._release(False)
        else:
            self.out.write(dumps(record) + "\n")

    def flush(self) -> None:
        self.out.flush()

    def close(self) -> None:
        """The end of the events: what waits goes out, then a flush."""
        self.model.finish()
        self._release(True)
        self.flush()

    def _exec_placed(self, record: ExecRecord) -> None:
        if record.supplement_of is None:
            self._placed[(record.file, record.line)] = record

    def _release(self, at_end: bool) -> None:
        waiting = self._waiting
        done = 0
        for event, record in waiting:
            if _is_exec(event):
                placed = self._placed.pop((event.file, event.line), None)
                if placed is not None:
                    record["fds"] = [_fd_json(d, placed) for d in placed.crossed]
                elif not (at_end or len(waiting) > MAX_WAITING):
                    break
                else:
                    record["fds"] = None
            self.out.write(dumps(record) + "\n")
            done += 1
        del waiting[:done]


def _is_exec(event: Event) -> bool:
    return isinstance(event, Syscall) and event.name in _EXECS and event.ret == 0 and event.errno is None


def _origin_json(origin: Origin) -> dict[str, Any]:
    return {
        "syscall": origin.syscall,
        "pid": origin.pid,
        "line": origin.line,
        "file": None if origin.file is None else clean_text(origin.file),
        "detail": None if origin.detail is None else clean_text(origin.detail),
    }


def _fd_json(d: Descriptor, record: ExecRecord) -> dict[str, Any]:
    return {
        "fd": d.fd,
        "kind": d.kind,
        "name": None if d.name is None else clean_text(d.name),
        "origin": _origin_json(d.origin),
        "created_by": _origin_json(d.creation()),
        "deliberate": d.fd in record.deliberate,
        "certain": d.certain,
    }
