"""The process tree's own books, read directly: who holds a table, who made whom once a
late clone turns up, where tasks ended. The model's tests see these only through
verdicts, where most of them change nothing one run can show."""

from __future__ import annotations

import pytest

from sysprobe._model import tree as tree_module
from sysprobe._model.records import Origin
from sysprobe._model.tables import FdTable
from sysprobe._model.tree import ProcessTree, Task

CLONE = Origin("clone", 5, 10)


def test_a_new_tree_has_no_first_process() -> None:
    assert ProcessTree(retain=True).root is None
    assert Task(5, 5, FdTable()).last_end == 0  # nothing read of it yet: line 1 is after


def test_a_table_is_held_by_each_process_using_it_until_none_of_its_threads_does() -> None:
    books = ProcessTree(retain=True)
    shared = FdTable()
    leader = books.add(5, 5, shared, None, None, 1)
    assert shared.holders == {5} and books.root == 5
    books.add(6, 6, shared, leader, CLONE, 2)  # clone(CLONE_FILES): another process, one table
    thread = books.add(7, 5, shared, leader, CLONE, 3)
    assert shared.holders == {5, 6}
    assert leader.children == [books.tasks[6], thread] and books.roots == [leader]
    books.ended(leader, (None, 4))
    assert shared.holders == {5, 6}  # its thread 7 still uses the table
    books.ended(thread, (None, 5))
    assert shared.holders == {6}
    other = FdTable()
    books.add(8, 8, other, None, None, 6)
    books.ended(books.tasks[8], (None, 7))
    assert other.holders == set() and shared.holders == {6}  # its own table only
    stray = FdTable()
    lone = books.add(9, 99, stray, None, None, 8)  # a thread of a process the log never showed
    books.ended(lone, (None, 9))
    assert stray.holders == set()


def test_a_process_forgotten_once_none_of_its_threads_lives() -> None:
    books = ProcessTree(retain=False)
    table = FdTable()
    first = books.add(5, 5, table, None, None, 1)
    child = books.add(6, 6, table.copy(), first, CLONE, 2)
    thread = books.add(7, 6, child.table, child, CLONE, 3)
    books.ended(child, (None, 4))
    assert 6 in books.processes and 6 not in books.tasks  # thread 7 lives on
    books.ended(thread, (None, 5))
    assert 6 not in books.processes and 7 not in books.tasks
    books.ended(first, (None, 6))
    assert 5 in books.processes  # the first process stays, for the report


def test_a_late_clone_adopts_a_task_taken_as_made_outside() -> None:
    books = ProcessTree(retain=True)
    parent = books.add(5, 5, FdTable(), None, None, 1)
    orphan = books.add(6, 6, FdTable(), None, None, 2)  # its lines came before the clone's
    stranger = books.add(8, 8, FdTable(), None, None, 3)
    assert books.unparented == 3 and books.roots == [parent, orphan, stranger]
    books.adopt(orphan, parent, CLONE)
    assert books.unparented == 2 and books.roots == [parent, stranger]
    assert (orphan.parent, orphan.created_by) == (parent, CLONE)
    assert parent.children == [orphan]
    assert (books.processes[6].parent, books.processes[6].created_by) == (5, CLONE)
    books.adopt(orphan, parent, CLONE)  # told twice: counted once
    assert books.unparented == 2 and parent.children == [orphan]
    later = Origin("clone", 5, 12)
    books.processes[6].parent = 4  # a process whose maker is known keeps it
    books.adopt(orphan, parent, later)
    assert books.processes[6].parent == 4 and books.processes[6].created_by == CLONE


def test_a_forgetting_tree_keeps_no_roots() -> None:
    books = ProcessTree(retain=False)
    parent = books.add(5, 5, FdTable(), None, None, 1)
    orphan = books.add(6, 6, FdTable(), None, None, 2)
    books.adopt(orphan, parent, CLONE)
    assert books.roots == [] and parent.children == []


def test_where_each_task_ended_newest_last() -> None:
    books = ProcessTree(retain=True)
    tasks = [books.add(pid, pid, FdTable(), None, None, pid) for pid in (5, 6, 7)]
    books.ended(tasks[0], ("trace.5", 9))
    books.retire(tasks[1], (None, 10))  # a thread ended by another's exec
    assert books.ended_at == {5: ("trace.5", 9), 6: (None, 10)}
    again = books.add(5, 5, FdTable(), None, None, 11)  # pid 5 reused
    books.ended(again, (None, 12))
    assert list(books.ended_at) == [6, 5] and books.ended_at[5] == (None, 12)
    books.stop(again, (None, 13))  # ended already: nothing changes
    assert books.ended_at[5] == (None, 12)


def test_the_bound_on_ended_tasks_keeps_exactly_that_many(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree_module, "ENDED_REMEMBERED", 3)
    books = ProcessTree(retain=False)
    for pid in (5, 6, 7):
        books.ended(books.add(pid, pid, FdTable(), None, None, pid), (None, pid))
    assert list(books.ended_at) == [5, 6, 7]
    books.ended(books.add(8, 8, FdTable(), None, None, 8), (None, 8))
    assert list(books.ended_at) == [6, 7, 8]  # the oldest forgotten first
