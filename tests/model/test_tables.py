"""A descriptor table's own books, read directly: what its observers are told, how they
come and go, and what its log answers about the past."""

from __future__ import annotations

from sysprobe._model.records import Descriptor, Origin
from sysprobe._model.tables import FdTable, History, Observer

OPEN = Origin("openat", 5, 1)
PIPE = Descriptor(3, "pipe", "pipe:[1]", False, OPEN)
FILE = Descriptor(3, "file", "/etc/passwd", True, OPEN)


class Told(Observer):
    def __init__(self) -> None:
        self.changes: list[tuple[FdTable, int, Descriptor | None, Descriptor | None]] = []

    def changed(self, table: FdTable, fd: int, before: Descriptor | None, after: Descriptor | None) -> None:
        self.changes.append((table, fd, before, after))


def test_an_observer_is_told_each_change_with_what_was_there() -> None:
    table, told = FdTable(), Told()
    table.put(3, PIPE)  # before anyone observed: nobody is told
    table.observe(told)
    table.put(3, FILE)
    table.pop(3)
    table.put(4, PIPE)
    assert told.changes == [(table, 3, PIPE, FILE), (table, 3, FILE, None), (table, 4, None, PIPE)]


def test_observers_come_and_go() -> None:
    table, first, second = FdTable(), Told(), Told()
    table.forget(first)  # never observed: nothing to forget
    assert table.observers is None
    table.observe(first)
    table.forget(second)  # not among them: the others stay
    assert table.observers == [first]
    table.observe(second)
    table.forget(first)
    assert table.observers == [second]
    table.forget(second)
    assert table.observers is None  # the last gone: changes cost nothing again
    table.put(3, PIPE)
    assert first.changes == [] and second.changes == []


def test_a_pid_bound_before_any_event_has_its_table_from_the_start() -> None:
    history = History()
    assert history.now == 0
    inherited = FdTable({3: PIPE}, history)
    history.bind(5, inherited)
    assert history.table_at(5, 0) == {3: PIPE}
    history.now = 1
    inherited.pop(3)
    assert history.table_at(5, 0) == {3: PIPE} and history.table_at(5, 1) == {}
    assert history.table_at(6, 1) == {}  # a pid never bound
