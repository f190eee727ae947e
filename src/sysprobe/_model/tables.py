"""Descriptor tables, and — when asked for — the history of every table.

A table may be shared by several tasks (threads, ``CLONE_FILES``). The history answers
"what did pid P's table hold after the first K events?" from the one pass over the trace:
each table logs its changes with the clock of the event that made them (the number of
events fed so far), with a full copy every ``CHECKPOINT_EVERY`` changes so that a question
about the past replays a few changes, not the table's whole life; and each pid logs which
table it used from when. The check path keeps no history: its memory follows the live
processes, not the trace.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

from mypy_extensions import mypyc_attr

from .records import Descriptor

if TYPE_CHECKING:
    from .tree import Task

CHECKPOINT_EVERY = 64


class History:
    """The clock of the model and which table each pid used from when."""

    __slots__ = ("_bindings", "now")

    def __init__(self) -> None:
        self.now = 0  # events fed so far: changes made while feeding event K carry K
        self._bindings: dict[int | None, tuple[list[int], list[FdTable]]] = {}

    def bind(self, pid: int | None, table: FdTable) -> None:
        """From now on ``pid`` uses ``table`` (a new task, or a table of its own after unshare)."""
        stamps, tables = self._bindings.setdefault(pid, ([], []))
        stamps.append(self.now)
        tables.append(table)

    def table_at(self, pid: int | None, stamp: int) -> dict[int, Descriptor]:
        """``pid``'s table after the first ``stamp`` events ({} before the task existed)."""
        bound = self._bindings.get(pid)
        if bound is None:
            return {}
        stamps, tables = bound
        i = bisect_right(stamps, stamp) - 1
        if i < 0:
            return {}
        log = tables[i].log
        assert log is not None  # every table of a model with a history has its log
        return log.contents_at(stamp)


class TableLog:
    """The changes of one table since it was made: (clock, fd, new entry or None)."""

    __slots__ = ("_checkpoints", "_entries", "_fds", "_stamps", "history")

    def __init__(self, history: History, contents: dict[int, Descriptor]) -> None:
        self.history = history
        self._stamps: list[int] = []
        self._entries: list[tuple[int, Descriptor | None]] = []
        self._checkpoints: list[dict[int, Descriptor]] = [dict(contents)]

    def record(self, fd: int, entry: Descriptor | None, now: dict[int, Descriptor]) -> None:
        self._stamps.append(self.history.now)
        self._entries.append((fd, entry))
        if len(self._entries) % CHECKPOINT_EVERY == 0:
            self._checkpoints.append(dict(now))

    def contents_at(self, stamp: int) -> dict[int, Descriptor]:
        cut = bisect_right(self._stamps, stamp)
        first = cut // CHECKPOINT_EVERY
        contents = dict(self._checkpoints[first])
        for fd, entry in self._entries[first * CHECKPOINT_EVERY : cut]:
            if entry is None:
                contents.pop(fd, None)
            else:
                contents[fd] = entry
        return contents


@mypyc_attr(allow_interpreted_subclasses=True)  # so that a test can listen as races do
class Observer:
    """Told of every change of the tables it observes (``races``: changes other threads
    make while a fork copies a table, and what a racing copy does afterwards)."""

    def changed(self, table: FdTable, fd: int, before: Descriptor | None, after: Descriptor | None) -> None:
        pass

    def closed_range(self, table: FdTable, first: int, last: int) -> None:
        """close_range over [first, last], whether or not the model knew those descriptors."""

    def copied(self, table: FdTable, copy: FdTable) -> None:
        """``copy`` was made from ``table`` (a fork, an unshare)."""


class FdTable:
    """A descriptor table, possibly shared by tasks (threads, CLONE_FILES)."""

    __slots__ = ("fds", "holders", "log", "observers", "users")

    def __init__(self, fds: dict[int, Descriptor] | None = None, history: History | None = None) -> None:
        self.fds: dict[int, Descriptor] = fds if fds is not None else {}
        self.holders: set[int | None] = set()  # the processes (thread groups) using it
        self.users: list[Task] = []  # the live tasks using it
        self.log = TableLog(history, self.fds) if history is not None else None
        self.observers: list[Observer] | None = None

    def copy(self) -> FdTable:
        """The table a fork or an unshare makes: the same entries (descriptors never
        change in place), no holders yet."""
        made = FdTable(dict(self.fds), self.log.history if self.log is not None else None)
        if self.observers is not None:
            for observer in list(self.observers):
                observer.copied(self, made)
        return made

    def observe(self, observer: Observer) -> None:
        if self.observers is None:
            self.observers = []
        self.observers.append(observer)

    def forget(self, observer: Observer) -> None:
        if self.observers is not None and observer in self.observers:
            self.observers.remove(observer)
            if not self.observers:
                self.observers = None

    def put(self, fd: int, d: Descriptor) -> None:
        before = self.fds.get(fd) if self.observers is not None else None
        self.fds[fd] = d
        if self.log is not None:
            self.log.record(fd, d, self.fds)
        if self.observers is not None:
            for observer in list(self.observers):
                observer.changed(self, fd, before, d)

    def pop(self, fd: int) -> Descriptor:
        d = self.fds.pop(fd)
        if self.log is not None:
            self.log.record(fd, None, self.fds)
        if self.observers is not None:
            for observer in list(self.observers):
                observer.changed(self, fd, d, None)
        return d

    def closed_range(self, first: int, last: int) -> None:
        if self.observers is not None:
            for observer in list(self.observers):
                observer.closed_range(self, first, last)
