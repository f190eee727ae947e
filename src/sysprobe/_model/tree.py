"""The process tree: tasks (threads and processes), the processes they form, who made whom.

This is the one record of the tree: the summary and the goldens read it. A task is what
has a pid (a thread or a process leader); a process is a thread group. When the model
retains its history, every task stays in the tree (``roots`` and each task's
``children``, in creation order); otherwise ended tasks and processes are forgotten, so
that memory follows the live processes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .records import Origin, Process
from .tables import FdTable

if TYPE_CHECKING:
    from .races import ForkRace


ENDED_REMEMBERED = 4096  # pids whose end line is kept: memory stays flat on long logs


class Task:
    """A thread or a process leader: its pid, its thread group, its descriptor table."""

    __slots__ = (
        "alive",
        "children",
        "copy",
        "created_by",
        "last_end",
        "parent",
        "pid",
        "table",
        "tgid",
        "watched_by",
    )

    def __init__(
        self,
        pid: int | None,
        tgid: int | None,
        table: FdTable,
        parent: Task | None = None,
        created_by: Origin | None = None,
    ) -> None:
        self.pid = pid
        self.tgid = tgid
        self.table = table
        self.parent = parent  # the task whose call made it; None: the command, or made outside the trace
        self.created_by = created_by  # that call; None also for a thread whose clone's result was lost
        self.children: list[Task] = []  # in the order it made them (kept with the history only)
        self.alive = True
        self.last_end = 0  # the last line of its last call read: its next call starts after it
        self.copy: ForkRace | None = None  # the racing copy that made its table, until its first event
        self.watched_by: list[ForkRace] | None = None  # racing copies its call in flight may reach

    @property
    def is_thread(self) -> bool:
        return self.tgid != self.pid

    def unshare(self) -> None:
        """Use a table of its own from now on (exec, unshare(CLONE_FILES), close_range)."""
        self.table.holders.discard(self.tgid)
        if self in self.table.users:
            self.table.users.remove(self)
        self.table = self.table.copy()
        self.table.holders = {self.tgid}
        self.table.users.append(self)
        if self.table.log is not None:
            self.table.log.history.bind(self.pid, self.table)


class ProcessTree:
    """Tasks by pid, processes by thread-group id, and counts that survive forgetting."""

    def __init__(self, retain: bool) -> None:
        self.retain = retain
        self.tasks: dict[int | None, Task] = {}  # the latest task of each pid
        self.processes: dict[int | None, Process] = {}
        self.roots: list[Task] = []  # tasks no traced call made, in creation order (retained only)
        self.process_count = 0
        self.task_count = 0
        self.live = 0  # tasks alive now: with none, nobody can be inside a clone
        self.root: int | None = None  # the first process: kept even when others are forgotten
        self.unparented = 0  # tasks no traced call made: the command, and any made outside the trace
        self.on_process: list[Callable[[Process], None]] = []
        # the line each recently ended pid ended at: a call read later but begun before it
        # (one that never returned, flushed at the log's end) is that task's, not a new one's
        self.ended_at: dict[int | None, tuple[str | None, int]] = {}

    def add(
        self,
        pid: int | None,
        tgid: int | None,
        table: FdTable,
        parent: Task | None,
        origin: Origin | None,
        line: int,
    ) -> Task:
        task = Task(pid, tgid, table, parent, origin)
        self.tasks[pid] = task
        if parent is None:
            self.unparented += 1
        self.task_count += 1
        self.live += 1
        table.holders.add(tgid)
        table.users.append(task)
        if table.log is not None:
            table.log.history.bind(pid, table)
        if self.retain:
            (parent.children if parent is not None else self.roots).append(task)
        if tgid == pid:
            if self.process_count == 0:
                self.root = pid
            self.process_count += 1
            maker = parent.tgid if parent is not None else None
            proc = Process(pid, maker, origin, line, threads=[pid])
            self.processes[pid] = proc
            for listener in self.on_process:
                listener(proc)
        elif tgid in self.processes:
            self.processes[tgid].threads.append(pid)
        return task

    def adopt(self, task: Task, parent: Task, origin: Origin) -> None:
        """A task taken as made outside the trace turns out to be ``parent``'s child (its
        creating call returned long after the task began: see HOLD_BUDGET)."""
        if task.parent is None:
            self.unparented -= 1
        task.parent, task.created_by = parent, origin
        if self.retain and task in self.roots:
            self.roots.remove(task)
            parent.children.append(task)
        proc = self.processes.get(task.pid)
        if proc is not None and proc.parent is None:
            proc.parent, proc.created_by = parent.tgid, origin

    def ended(self, task: Task, at: tuple[str | None, int]) -> None:
        """``task`` exited or was killed: its table loses a holder once no thread of its
        process uses that table; without retention, it is forgotten."""
        self.stop(task, at)
        proc = self.processes.get(task.tgid)
        threads = [self.tasks.get(pid) for pid in proc.threads] if proc is not None else []
        if not any(t is not None and t.alive and t.table is task.table for t in threads):
            task.table.holders.discard(task.tgid)
        if not self.retain:
            self.forget(task)

    def stop(self, task: Task, at: tuple[str | None, int]) -> None:
        """``task`` is gone (ended, or a thread ended by another thread's exec) at ``at``
        (the file, if the trace has several, and the line)."""
        if task.alive:
            task.alive = False
            self.live -= 1
            ended_at = self.ended_at
            ended_at.pop(task.pid, None)  # the newest last: the oldest is forgotten first
            ended_at[task.pid] = at
            if len(ended_at) > ENDED_REMEMBERED:
                del ended_at[next(iter(ended_at))]
            if task in task.table.users:
                task.table.users.remove(task)

    def retire(self, task: Task, at: tuple[str | None, int]) -> None:
        """A thread ended by another thread's exec, forgotten without retention."""
        self.stop(task, at)
        if not self.retain and self.tasks.get(task.pid) is task:
            del self.tasks[task.pid]

    def forget(self, task: Task) -> None:
        """Drop an ended task, and its process once no thread of it lives (not the first)."""
        if self.tasks.get(task.pid) is task:
            del self.tasks[task.pid]
        proc = self.processes.get(task.tgid)
        if proc is not None and proc.pid != self.root:
            if not any((t := self.tasks.get(pid)) is not None and t.alive for pid in proc.threads):
                del self.processes[task.tgid]

    def walk(self) -> list[Task]:
        """Every task, depth first from the roots, children in the order they were made
        (retained trees only): an order the scheduler cannot change."""
        order: list[Task] = []
        stack = list(reversed(self.roots))
        while stack:
            task = stack.pop()
            order.append(task)
            stack.extend(reversed(task.children))
        return order
