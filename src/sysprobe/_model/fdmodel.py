"""Processes and their descriptor tables, rebuilt from the event stream in one pass.

The model reads each event once, in order: it holds the events of tasks not created yet
(``reorder``), keeps the process tree (``tree``), applies process effects itself (fork,
exec, unshare, exit) and hands descriptor effects to ``descriptors``, which reads the
effects table in ``_kernel.effects``.

Another thread's descriptor calls may race a fork, or a thread's exec: ``races`` decides
what the copy holds from the order of the lines, and marks what the trace cannot prove.

At each exec, a crossing descriptor is "passed on purpose" when the exec'ing process
itself prepared it — cleared its close-on-exec, or dup2/dup3'd it onto its number — as
``pass_fds``, Go's ``ExtraFiles``, posix_spawn's file actions and shell redirections do
between fork and exec (``ExecRecord.deliberate``); one that simply never had
close-on-exec, or was made inheritable by another process, is not.

A thread's ``execve`` takes over the leader's pid (``+++ superseded by execve +++``): the
parser already reports that execve under the leader's pid; the model retires the other
threads.

Three modes, for three kinds of use:
- streaming (``retain=False``): ended processes are forgotten and no exec record is
  kept (the ``on_exec`` listeners still see each): memory follows the live processes,
  not the length of the trace (``sysprobe check``, ``trace``, ``parse``);
- retained (the default): every process, task and exec stays;
- with ``history``: also what every table held after every event, for questions about
  the past (``Trace.fd_table(pid, at=line)``, goldens).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .._kernel.constants import constants, host_arch
from .._kernel.effects import Execs, Forks, Unshares
from .._kernel.syscalls import EFFECTS
from ..argtree import Expr, Node, Struct
from ..events import Event, Exit, Killed, Superseded, Syscall, Text, Unparsed
from .descriptors import CloseListener, DescriptorEffects, origin_of
from .query import arg, has_flag, named_arg, text_of
from .query import field as struct_field
from .races import Races, apply
from .records import Descriptor, ExecRecord, FlagChange, ForkRecord, Origin, Process
from .reorder import Held
from .tables import FdTable, History
from .tree import ProcessTree, Task

STANDARD_FDS = (0, 1, 2)
PLACED = ("dup2", "dup3")  # duplications onto a number the caller chose


class FdModel:
    """Feed events with ``feed``; call ``finish`` at the end of the trace."""

    def __init__(
        self,
        arch: str | None = None,
        inherited: tuple[int, ...] = STANDARD_FDS,
        *,
        retain: bool = True,
        history: bool = False,
    ) -> None:
        self.consts = constants(arch or host_arch())
        self.inherited = inherited
        self.retain = retain
        self.history = History() if history else None
        self.tree = ProcessTree(retain)
        self.processes: dict[int | None, Process] = self.tree.processes
        self._tasks: dict[int | None, Task] = self.tree.tasks
        self.execs: list[ExecRecord] = []  # retained only
        self.exec_count = 0
        self.fed = 0  # events fed so far
        # The history's clock counts events applied, not fed: a held event applies when
        # its task's creation shows, after events fed later (``applied_at``, ``table_at``).
        self.applied = 0
        self._clock_after_feed = [0]  # without a history nothing reads it: table(after=) refuses
        self._applied_at: dict[int, int] = {}
        self.finished = False
        self.on_exec: list[Callable[[ExecRecord], None]] = []
        self.on_close: list[CloseListener] = []
        self.races = Races()
        self.races.on_late = self._late_crossing
        self.on_fork: list[Callable[[ForkRecord], None]] = self.races.on_fork
        self.descriptors = DescriptorEffects(self.consts, self.on_close)
        self._held = Held()
        self._superseded_by: dict[int | None, int | None] = {}  # leader: the thread whose exec ended it
        # the log made a pid namespace: a clone inside it returns the child's pid there,
        # which is not the pid the log names the child by
        self.pid_namespaces = False
        self._unreturned: list[tuple[Task, Syscall, Node | None]] = []  # clones whose caller died in them

    # ---- input ----

    def feed(self, event: Event) -> None:
        self.fed += 1
        self._feed(event)
        if self.history is not None:
            self._clock_after_feed.append(self.applied)

    def _feed(self, event: Event) -> None:
        if isinstance(event, (Unparsed, Text)):
            return  # no process did anything: a line without a pid must not make one
        task = self._tasks.get(event.pid)
        if task is None or not task.alive:
            if _before(event, self.tree.ended_at.get(event.pid)):
                return  # a call begun before its task ended, which never returned
            if self.tree.live == 0:
                # the first event, or one after every task ended (logs one after another): a
                # new root, even after a clone whose caller died in it (the command killed
                # inside fork) — a log appended here is the likelier source of a new task
                while self._held:
                    self._adopt_oldest()
                self._unreturned.clear()
                task = self._tasks.get(event.pid)
                if task is None or not task.alive:
                    task = self._new_root(event.pid, event.line)
            else:
                # not created yet (the parent's clone has not returned), or a pid reused
                if self._held.hold(event):
                    self._adopt_oldest()  # memory stays bounded on logs with many roots
                return
        self._apply(task, event)

    def finish(self) -> None:
        """Tasks whose creation the trace never showed become processes of unknown parent."""
        if self.finished:
            return
        self.finished = True
        while self._held:
            self._adopt_oldest()
        self.races.current = None
        self.races.finish(list(self._tasks.values()))

    def _adopt_oldest(self) -> None:
        """The orphan held longest becomes a process of unknown parent (an attached or
        clipped log: its creation is not in the trace, or too far away to wait for)."""
        pid, events = self._held.oldest()
        task = self._made_by_a_lost_clone(pid, events[0]) or self._new_root(pid, events[0].line)
        for event in events:
            self._apply(task, event)

    # ---- queries ----

    def table(self, pid: int | None, after: int | None = None) -> dict[int, Descriptor]:
        """``pid``'s descriptors now, or (with a history) after the first ``after`` events."""
        if after is not None:
            clocks = self._clock_after_feed
            return self.table_at(pid, clocks[after] if after < len(clocks) else self.applied)
        task = self._tasks.get(pid)
        return dict(task.table.fds) if task is not None else {}

    def table_at(self, pid: int | None, clock: int) -> dict[int, Descriptor]:
        """``pid``'s descriptors once ``clock`` events had been applied (with a history)."""
        if self.history is None:
            raise ValueError("this model keeps no history of its tables")
        return self.history.table_at(pid, clock)

    def applied_at(self, event: Event) -> int | None:
        """The clock at which ``event`` was applied (None: never, or no history): the
        tables at ``clock - 1`` are those the call saw, at ``clock`` those it left."""
        return self._applied_at.get(id(event))

    def is_held(self, pid: int | None) -> bool:
        """Are events of ``pid`` waiting for its creation to show?"""
        return pid in self._held

    @property
    def _held_count(self) -> int:
        return self._held.count

    def tgid_of(self, pid: int | None) -> int | None:
        """The process a task belongs to (itself, unless it is a thread)."""
        task = self._tasks.get(pid)
        return task.tgid if task is not None else None

    @property
    def process_count(self) -> int:
        return self.tree.process_count

    def root_process(self) -> Process | None:
        """The first process: the traced command."""
        return self.processes.get(self.tree.root)  # None before the first process

    def open_descriptors(self) -> Iterator[tuple[int | None, Descriptor]]:
        """Every descriptor still open in a live task's table, once per table."""
        seen: set[int] = set()
        for task in self._tasks.values():
            if task.alive and id(task.table) not in seen:
                seen.add(id(task.table))
                for d in task.table.fds.values():
                    yield task.tgid, d

    # ---- dispatch ----

    def _apply(self, task: Task, event: Event) -> None:
        if self.history is not None:
            self.applied += 1
            self.history.now = self.applied
            self._applied_at[id(event)] = self.applied
        if task.copy is not None:  # the child's first event: its table was copied before it
            race, task.copy = task.copy, None
            race.settle(event.line)
        races = self.races
        races.read(event)
        self._effect(task, event)
        end = event.line
        if isinstance(event, Syscall) and event.end_line is not None:
            end = event.end_line
        task.last_end = max(task.last_end, end)
        if task.watched_by is not None:
            races.done_with(task)

    def _effect(self, task: Task, event: Event) -> None:
        if isinstance(event, Syscall):
            effect = EFFECTS.get(event.name)
            if effect is None:
                if event.args_text[:1].isdigit() and event.errno is None:
                    self.descriptors.observe(task, event)
            elif isinstance(effect, Forks):
                self._forked(task, event, effect)
            elif isinstance(effect, Execs):
                self._exec(task, event, effect)
            elif isinstance(effect, Unshares):
                if event.ret == 0:
                    flags = arg(event.args, effect.flags_at)
                    if has_flag(flags, "CLONE_FILES", self.consts) and not effect.flags_at:
                        task.unshare()
                    if has_flag(flags, "CLONE_NEWPID", self.consts):
                        self.pid_namespaces = True
            else:
                self.descriptors.apply(task, event, effect)
        elif isinstance(event, (Exit, Killed)):
            self._ended(task, event)
        elif isinstance(event, Superseded):
            self._superseded(event)

    # ---- processes ----

    def _new_root(self, pid: int | None, line: int) -> Task:
        return self.tree.add(pid, pid, self._inherited_table(), None, None, line)

    def _inherited_table(self) -> FdTable:
        origin = Origin(None, None, None, detail="inherited, origin unknown")
        fds = {fd: Descriptor(fd, "unknown", None, False, origin) for fd in self.inherited}
        return FdTable(fds, self.history)

    def _forked(self, task: Task, ev: Syscall, effect: Forks) -> None:
        child = ev.ret
        if effect.flags == "arg":
            flags: Node | None = named_arg(ev.args, "flags")
        elif effect.flags == "struct":
            flags = struct_field(_struct_of(arg(ev.args, 0)), "flags")
        else:
            flags = None
        if has_flag(flags, "CLONE_NEWPID", self.consts):
            self.pid_namespaces = True
        if child is None:
            # the caller died inside the call, which may still have made the child: known
            # to make a process (fork, vfork) or what its flags say, it may adopt it later
            if flags is not None or effect.flags is None:
                self._unreturned.append((task, ev, flags))
            return
        if child <= 0:
            return
        adopted = self._tasks.get(child)
        if adopted is not None and adopted.alive:
            # taken as made outside the trace before its parent's clone returned (see
            # HOLD_BUDGET): keep what it did, now with its parent known
            self.tree.adopt(adopted, task, origin_of(ev))
            return
        self._made(task, ev, flags, child)

    def _made_by_a_lost_clone(self, pid: int | None, first: Event) -> Task | None:
        """A clone that never returned (its caller died inside it: another thread's
        exit_group) after the kernel may have made the child, whose own lines (its end, at
        least) then come without the result naming it. When tasks of unknown origin are
        adopted, the one first seen after the call began, in the same file, is taken as
        that child; with two such tasks, or two such clones, neither."""
        before = [lost for lost in self._unreturned if _before(lost[1], (first.file, first.line))]
        if len(before) != 1:
            return None
        task, ev, flags = before[0]
        self._unreturned.remove(before[0])
        began = (ev.file, ev.line)
        if any(_before(began, (events[0].file, events[0].line)) for events in self._held.events.values()):
            return None  # another task is just as likely its child: neither is taken as it
        return self._made(task, ev, flags, pid)  # its held events were taken already

    def _made(self, task: Task, ev: Syscall, flags: Node | None, child: int | None) -> Task:
        shared = has_flag(flags, "CLONE_FILES", self.consts)
        thread = has_flag(flags, "CLONE_THREAD", self.consts)
        table = task.table if shared else task.table.copy()
        tgid = task.tgid if thread else child
        made = self.tree.add(child, tgid, table, task, origin_of(ev), ev.line)
        if shared:
            self.races.shared(table)
        else:
            held = self._held.events.get(child)
            self.races.fork(task, ev, made, held[0].line if held else None)
        for held_event in self._held.release(child):
            self._feed_held(held_event)
        return made

    def _feed_held(self, event: Event) -> None:
        """Replay an event held for a task that now exists (it may free others in turn)."""
        task = self._tasks.get(event.pid)
        if task is None or not task.alive:
            if self._held.hold(event):
                self._adopt_oldest()
            return
        self._apply(task, event)

    def _superseded(self, ev: Superseded) -> None:
        """Thread ``ev.by`` exec'd and became ``ev.pid``: the other threads are gone."""
        leader = self._tasks.get(ev.pid)
        if leader is None:
            return
        self._superseded_by[ev.pid] = ev.by
        thread = self._tasks.get(ev.by)
        if thread is None or not thread.alive:
            # the leader was still inside the clone that made this thread when the thread
            # exec'd: strace never printed the clone's result, but the thread was ours
            self.tree.add(ev.by, leader.tgid, leader.table, leader, None, ev.line)
            self._unreturned = [lost for lost in self._unreturned if lost[0] is not leader]
            for held in self._held.release(ev.by):
                self._feed_held(held)
        for pid, other in list(self._tasks.items()):
            if other.tgid == leader.tgid and pid != ev.pid:
                self.tree.retire(other, (ev.file, ev.line))
                self.races.done_with(other)

    def _ended(self, task: Task, ev: Exit | Killed) -> None:
        if task.pid == task.tgid:
            proc = self.processes.get(task.tgid)
            if proc is not None:
                if isinstance(ev, Exit):
                    proc.exit_code = ev.code
                else:
                    proc.signal, proc.core_dumped = ev.signal, ev.core_dumped
        table = task.table
        self.tree.ended(task, (ev.file, ev.line))
        if not table.users and self.on_close:
            # the last task using the table is gone: the kernel closes what it held (the
            # table itself stays as it was, for questions about the past)
            for d in list(table.fds.values()):
                for listener in self.on_close:
                    listener(d, ev)

    def _exec(self, task: Task, ev: Syscall, effect: Execs) -> None:
        if ev.ret != 0:
            return  # a failed exec (PATH search: ENOENT) changes nothing
        by = self._superseded_by.pop(task.pid, task.pid)  # the thread that exec'd, if not this one
        raced = self.races.exec_copy(task, ev, by)  # other threads' calls in flight during the exec
        if raced is not None or task.table.holders - {task.tgid}:
            task.unshare()  # exec gives a process sharing its table (CLONE_FILES) its own
        if raced is not None:
            apply(task.table, raced)
        for other in list(self._tasks.values()):
            if other.tgid == task.tgid and other is not task:
                self.tree.stop(other, (ev.file, ev.end_line or ev.line))  # exec ends every other thread
                self.races.done_with(other)
        table = task.table
        crossed = [d for fd, d in sorted(table.fds.items()) if fd >= 3 and not d.cloexec]
        argv_node = arg(ev.args, effect.path_arg + 1)
        argv = [text_of(a) or "?" for a in argv_node] if isinstance(argv_node, tuple) else []
        proc = self.processes.get(task.tgid)
        record = ExecRecord(
            task.tgid,
            text_of(arg(ev.args, effect.path_arg)) or "?",
            argv,
            ev.line,
            ev.file,
            crossed,
            ev.injected,
            deliberate={d.fd for d in crossed if proc is not None and _prepared_by(d, proc)},
        )
        self.exec_count += 1
        if self.retain:
            self.execs.append(record)
        if proc is not None:
            proc.execs.append(record)  # forgotten with the process when not retained
        for listener in self.on_exec:
            listener(record)
        self.races.exec_made(table, record)
        self.races.exec_drops = True
        try:
            for fd in [fd for fd, d in table.fds.items() if d.cloexec]:
                self.descriptors.drop(table, fd, ev)
        finally:
            self.races.exec_drops = False
        for fd, d in list(table.fds.items()):
            if d.race is not None:  # what survived the exec: what was without close-on-exec
                kept = tuple(None if o is None or o.cloexec else o for o in d.race.others)
                race = d.race.holding(kept) if any(o is None for o in kept) else None
                table.put(fd, d.with_race(race))

    def _late_crossing(self, record: ExecRecord, d: Descriptor) -> None:
        """Another thread's call, in flight while this process was forked, ended after its
        exec was reported: tell what it may have made cross, as a supplement."""
        record.late.append(d)
        supplement = ExecRecord(
            record.pid,
            record.program,
            record.argv,
            record.line,
            record.file,
            [d],
            record.injected,
            supplement_of=record,
        )
        for listener in self.on_exec:
            listener(supplement)


def _prepared_by(d: Descriptor, proc: Process) -> bool:
    """Did ``proc`` itself leave ``d`` without close-on-exec — clear the flag, or dup2 it
    onto its number — since it began?"""
    how = d.made_inheritable_by()
    if not isinstance(how, FlagChange) and how.syscall not in PLACED:
        return False
    if how.pid not in proc.threads:
        return False
    # a reused pid is another process: within one log, it began after
    return how.file is not None or how.line is None or how.line >= proc.first_line


def _before(first: Event | tuple[str | None, int], then: tuple[str | None, int] | None) -> bool:
    """Does ``first`` come before the place ``then`` (a file and a line) in the same file?
    Lines of different files (a -ff set, logs one after another) say nothing of order."""
    if then is None:
        return False
    file, line = (first.file, first.line) if isinstance(first, Event) else first
    return file == then[0] and line < then[1]


def _struct_of(node: Node | None) -> Node | None:
    """A clone3 whose caller died in it reads ``{flags=...} <unfinished ...>``: the struct."""
    if isinstance(node, Expr):
        return next((item for item in node.items if isinstance(item, Struct)), None)
    return node
