"""Descriptor changes racing a copy of their table: what the trace proves, and what it cannot.

A fork copies the forking task's table somewhere inside its clone call; a thread's execve
copies the table it shares with the other threads somewhere inside the execve (the
kernel's ``unshare_files``). Meanwhile another thread using the same table may be inside
an open, dup, close or fcntl of its own, which takes effect somewhere inside *its* call.
A log's line order is the order in which the tracer saw the tasks stop (strace and the
ptrace backend both print a call whose entry and exit other lines separate as
``<unfinished ...>`` + ``<... resumed>``), so for a change by another task:

- its call ended before the copying call started: it is in the copy;
- its call started after the copy was certainly made — after the copying call's result,
  or after the child's first line (the child exists, so its table does): it is not;
- otherwise it was in flight while the copy may have been made: the copy holds the
  table as it was before it, or after it. The copy's entry then carries a ``Race``.

Bookkeeping, only for tables several tasks use:
- ``ChangeLog`` remembers such a table's recent changes, each with its call's first and
  last lines. A change every user has gone past (each has finished a call that ended
  after it) can race no later copy and is forgotten; past ``RECENT_CHANGES`` the oldest
  are folded per descriptor, so memory stays bounded by the table's size.
- ``ForkRace`` follows one racing copy: it settles the copy's entries when the child's
  first event shows, then watches the tasks that were inside a call at the copy until
  each finishes that call. A change made by such a call reaches the copy as one more
  possibility — in the child's table, unless the child has set that descriptor itself
  since, and in the execs the child has made meanwhile (told as supplements).

The line order means something only within one log: for per-pid ``-ff`` files merged by
time, races are not analysed (``Races.enabled``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from ..events import Event, Syscall
from .records import Descriptor, ExecRecord, ForkRecord, Origin, Race
from .tables import FdTable, Observer
from .tree import Task

RECENT_CHANGES = 4096  # per shared table, before the oldest are folded per descriptor
PRUNE_EVERY = 256  # changes between two prunings of a log
MAX_WATCHED = 64  # racing copies one task's call in flight is watched for, at most
MAX_STATES = 4  # intermediate states a folded change keeps
MAX_CALLS = 3  # calls in flight a Race names


class Change:
    """One change of a shared table: the descriptor at ``fd`` before and after, and the
    lines its call began and ended on. A folded change spans several calls; ``between``
    keeps (some of) the states it went through."""

    __slots__ = ("after", "before", "between", "calls", "end", "fd", "start")

    def __init__(
        self,
        fd: int,
        before: Descriptor | None,
        after: Descriptor | None,
        start: int,
        end: int,
        calls: tuple[Syscall, ...],
        between: tuple[Descriptor | None, ...] = (),
    ) -> None:
        self.fd = fd
        self.before = before
        self.after = after
        self.start = start
        self.end = end
        self.calls = calls
        self.between = between

    def states(self) -> tuple[Descriptor | None, ...]:
        """What the descriptor was after this change, or during it (a folded one)."""
        return (*self.between, self.after)


def fold(old: Change, new: Change) -> Change:
    """``old`` then ``new`` (same descriptor, one call's change) as one change over both."""
    between = _distinct((*old.between, old.after, *new.between))[:MAX_STATES]
    calls = old.calls[:1] + new.calls
    start, end = min(old.start, new.start), max(old.end, new.end)
    return Change(old.fd, old.before, new.after, start, end, calls, between)


def _distinct(states: Iterable[Descriptor | None]) -> tuple[Descriptor | None, ...]:
    out: list[Descriptor | None] = []
    for s in states:
        if not any(s is o for o in out):
            out.append(s)
    return tuple(out)


def _leaky(d: Descriptor | None) -> bool:
    return d is not None and not d.cloexec


def _what(change: Change) -> str:
    before, after = change.before, change.after
    if before is None:
        return "created"
    if after is None:
        return "closed"
    if after.origin == before.origin and after.source is before.source:
        return "given close-on-exec" if after.cloexec else "made inheritable"
    return "replaced"


def _origin(ev: Syscall) -> Origin:
    return Origin(ev.name, ev.pid, ev.line, ev.file)


def settle(states: Iterable[Descriptor | None], racing: list[Change], copy: Origin) -> Descriptor | None:
    """The entry of a copy that may hold any of ``states`` at one number (the first is
    what it held before ``racing``): the one that would cross an exec if any would, with
    the others in its Race; None when none is there."""
    distinct = _distinct(s for state in states for s in _possible(state))
    if len(distinct) == 1:
        return distinct[0]
    present = [d for d in distinct if d is not None]
    chosen = next((d for d in present if not d.cloexec), present[0])
    calls = _distinct_origins((_origin(ev) for c in racing for ev in c.calls), MAX_CALLS)
    others = tuple(d for d in distinct if d is not chosen)
    return chosen.with_race(Race(copy, calls, others, _what(racing[0])))


def _possible(d: Descriptor | None) -> tuple[Descriptor | None, ...]:
    """What an entry may be: itself, or (if it came from a racing copy) what else it may be."""
    if d is None or d.race is None:
        return (d,)
    return (d.with_race(None), *d.race.others)


def _distinct_origins(origins: Iterable[Origin], most: int) -> tuple[Origin, ...]:
    """The first ``most`` distinct origins, in order: in time linear in those read (a fork
    can race thousands of calls of other threads)."""
    seen: set[Origin] = set()
    out: list[Origin] = []
    for o in origins:
        if o not in seen:
            seen.add(o)
            out.append(o)
            if len(out) >= most:
                break
    return tuple(out)


def resolve(changes: list[Change], settled_by: int, copy: Origin) -> dict[int, Descriptor | None]:
    """What a copy holds at each descriptor ``changes`` touched (the changes of the copied
    table whose calls ended after the copying call began, in the order they were read),
    when the copy was certainly made before line ``settled_by``."""
    groups: dict[int, list[Change]] = {}
    for c in changes:
        groups.setdefault(c.fd, []).append(c)
    out: dict[int, Descriptor | None] = {}
    for fd, group in groups.items():
        racing = [c for c in group if c.start < settled_by]
        states: list[Descriptor | None] = [group[0].before]
        for c in racing:
            states.extend(c.states())
        out[fd] = settle(states, racing, copy) if racing else group[0].before
    return out


def apply(table: FdTable, entries: dict[int, Descriptor | None]) -> None:
    for fd, d in entries.items():
        if d is None:
            if fd in table.fds:
                table.pop(fd)
        elif table.fds.get(fd) is not d:
            table.put(fd, d)


class Races:
    """The model's account of racing copies: which tables keep a change log, the call
    being read, the copies still followed."""

    def __init__(self) -> None:
        self.enabled = True
        self._file: str | None = None
        self._first = True
        self.current: Syscall | None = None  # the call the model is reading
        self.exec_drops = False  # the model is dropping close-on-exec descriptors at an exec
        self.on_fork: list[Callable[[ForkRecord], None]] = []
        self.on_late: Callable[[ExecRecord, Descriptor], None] | None = None
        self.given_up = 0  # racing copies no longer watched for one task (MAX_WATCHED)

    def read(self, event: Event) -> None:
        """The model is about to apply ``event``."""
        if self._first:
            self._first = False
            self._file = event.file
        elif event.file != self._file:
            self.enabled = False  # lines of two files do not say which came first
        self.current = event if isinstance(event, Syscall) else None

    def shared(self, table: FdTable) -> None:
        """``table`` has one more user: keep its changes while several tasks use it."""
        if self.enabled and log_of(table) is None and len(table.users) > 1:
            table.observe(ChangeLog(self, table))

    def fork(self, forker: Task, ev: Syscall, child: Task, first_line: int | None) -> None:
        """``forker``'s call ``ev`` made ``child`` with a copy of its table; ``first_line``
        is the child's first line, if the trace has shown it yet."""
        parent = forker.table
        log = log_of(parent)
        others = [t for t in parent.users if t is not forker]  # a table's users are alive
        if not self.enabled or log is None or not others:
            # (a thread that changed the table inside the clone and ended before it
            # returned raced it too: not followed, see test_race_books' strict xfail)
            return
        log.prune()
        race = ForkRace(self, log, forker, child, ev, others)
        for task in others:
            if task.watched_by is None:
                task.watched_by = []
            task.watched_by.append(race)
            if len(task.watched_by) > MAX_WATCHED:
                task.watched_by.pop(0).give_up(task)
        if first_line is None:
            child.copy = race
        else:
            race.settle(first_line)

    def exec_copy(self, task: Task, ev: Syscall, by: int | None) -> dict[int, Descriptor | None] | None:
        """A thread's successful exec (by ``by``, reported under ``task``'s pid) copies the
        table it shared with other threads somewhere inside the call: what the copy holds
        where other threads' calls raced it (None: nothing raced)."""
        log = log_of(task.table)
        if not self.enabled or log is None:
            return None
        # the exec'ing thread's own calls ended before its execve began: these are others'
        # (strace reports the execve under the leader's pid, whose calls may be among them)
        changes = log.since(ev.line)
        if not changes:
            return None
        return resolve(changes, ev.end_line or ev.line, Origin(ev.name, by, ev.line, ev.file))

    def exec_made(self, table: FdTable, record: ExecRecord) -> None:
        """An exec in a task using ``table`` crossed ``record.crossed``."""
        if table.observers is not None:
            for observer in list(table.observers):
                if isinstance(observer, ForkRace):
                    observer.exec_made(table, record)

    def done_with(self, task: Task) -> None:
        """``task`` finished the call it was in (or ended): the copies it raced know all."""
        watched = task.watched_by
        if watched is not None:
            task.watched_by = None
            for race in watched:
                race.resolved(task)

    def finish(self, tasks: Iterable[Task]) -> None:
        """The end of the trace: copies whose child never showed are settled on the
        copying call's result; calls still in flight never completed."""
        for task in tasks:
            if task.copy is not None:
                race, task.copy = task.copy, None
                race.settle(race.ce)
        for task in tasks:
            self.done_with(task)


def log_of(table: FdTable) -> ChangeLog | None:
    if table.observers is not None:
        for observer in table.observers:
            if isinstance(observer, ChangeLog):
                return observer
    return None


class ChangeLog(Observer):
    """The recent changes of a table several tasks use (see the module's docstring)."""

    def __init__(self, races: Races, table: FdTable) -> None:
        self.races = races
        self.table = table
        self.recent: deque[Change] = deque()
        self.folded: dict[int, Change] = {}
        self.forks: list[ForkRace] = []  # copies of this table still followed
        self._count = 0

    def changed(self, table: FdTable, fd: int, before: Descriptor | None, after: Descriptor | None) -> None:
        ev = self.races.current
        if ev is None or not self.races.enabled:
            return
        c = Change(fd, before, after, ev.line, ev.end_line or ev.line, (ev,))
        self.recent.append(c)
        self._count += 1
        if self._count % PRUNE_EVERY == 0:
            self.prune()
        if len(self.recent) > RECENT_CHANGES:
            oldest = self.recent.popleft()
            older = self.folded.get(oldest.fd)
            self.folded[oldest.fd] = oldest if older is None else fold(older, oldest)
        for race in list(self.forks):
            race.parent_changed(c)

    def prune(self) -> None:
        """Forget the changes no later copy can race: a task's next call starts after the
        last line of its last one."""
        floor = min((t.last_end for t in self.table.users), default=None)
        if floor is None:
            return
        while self.recent and self.recent[0].end <= floor:
            self.recent.popleft()
        if self.folded:
            self.folded = {fd: c for fd, c in self.folded.items() if c.end > floor}

    def since(self, line: int) -> list[Change]:
        """The changes whose calls ended after ``line``, oldest first per descriptor."""
        out = [c for c in self.folded.values() if c.end > line]
        out.extend(c for c in self.recent if c.end > line)
        return out


class Watched:
    """A table a racing copy may reach, and what its own tasks have set in it since."""

    __slots__ = ("ranges", "table", "touched")

    def __init__(self, table: FdTable, touched: set[int], ranges: list[tuple[int, int]]) -> None:
        self.table = table
        self.touched = touched
        self.ranges = ranges

    def set_by_owner(self, fd: int) -> bool:
        return fd in self.touched or any(a <= fd <= b for a, b in self.ranges)


class ForkRace(Observer):
    """One copy of a table made while other tasks using it may have been inside a call."""

    def __init__(
        self, races: Races, log: ChangeLog, forker: Task, child: Task, ev: Syscall, pending: list[Task]
    ) -> None:
        self.races = races
        self.log = log
        self.forker_tgid = forker.tgid
        self.child = child
        self.copy = _origin(ev)
        self.cs = ev.line
        self.ce = ev.end_line or ev.line
        self.settled_by = self.ce  # the copy was made before this line (the child's first, once seen)
        self.settled = False
        self.changes = log.since(self.cs)
        self.pending = set(pending)  # tasks that may still be inside a call that began before the copy
        self.watched: list[Watched] = []
        self.execs: list[tuple[ExecRecord, frozenset[int], tuple[tuple[int, int], ...]]] = []
        self._applying = False
        log.forks.append(self)

    # ---- from the copied table ----

    def parent_changed(self, c: Change) -> None:
        if c.start < self.settled_by:
            self.changes.append(c)
            if self.settled:
                self._late(c)

    def settle(self, first_line: int) -> None:
        """The child's first event began on ``first_line``: the copy was made before it."""
        self.settled_by = min(self.ce, first_line)
        self.settled = True
        table = self.child.table
        apply(table, resolve(self.changes, self.settled_by, self.copy))
        self.changes = [c for c in self.changes if c.start < self.settled_by]
        if self.races.on_fork:
            exposed = [d for d in table.fds.values() if not d.cloexec]
            record = ForkRecord(self.copy.pid, self.forker_tgid, self.copy, self.child.pid, exposed)
            for listener in self.races.on_fork:
                listener(record)
        if self.pending:
            self._watch(Watched(table, set(), []))
        else:
            self._done()

    def resolved(self, task: Task) -> None:
        self.pending.discard(task)
        if not self.pending and self.settled:
            self._done()

    def give_up(self, task: Task) -> None:
        """Too many copies wait for ``task``'s call: stop following this one for it."""
        self.races.given_up += 1
        self.resolved(task)

    def _done(self) -> None:
        if self in self.log.forks:
            self.log.forks.remove(self)
        for w in self.watched:
            w.table.forget(self)
        self.watched.clear()
        self.execs.clear()
        self.changes = []

    # ---- the copy, and the tables made from it ----

    def _watch(self, w: Watched) -> None:
        self.watched.append(w)
        w.table.observe(self)

    def _find(self, table: FdTable) -> Watched | None:
        return next((w for w in self.watched if w.table is table), None)

    def changed(self, table: FdTable, fd: int, before: Descriptor | None, after: Descriptor | None) -> None:
        if self._applying or self.races.exec_drops:
            return
        w = self._find(table)
        if w is not None:
            w.touched.add(fd)

    def closed_range(self, table: FdTable, first: int, last: int) -> None:
        w = self._find(table)
        if w is not None:
            w.ranges.append((first, last))

    def copied(self, table: FdTable, copy: FdTable) -> None:
        w = self._find(table)
        if w is not None:
            self._watch(Watched(copy, set(w.touched), list(w.ranges)))

    def exec_made(self, table: FdTable, record: ExecRecord) -> None:
        w = self._find(table)
        if w is not None and len(self.execs) < MAX_WATCHED:
            self.execs.append((record, frozenset(w.touched), tuple(w.ranges)))

    def _late(self, c: Change) -> None:
        """``c`` began before the copy was certainly made and ended after the child's
        first event: the copy, and what was made from it since, may have it."""
        racing = [x for x in self.changes if x.fd == c.fd]
        self._applying = True
        try:
            for w in self.watched:
                if not w.set_by_owner(c.fd):
                    entry = settle((w.table.fds.get(c.fd), *c.states()), racing, self.copy)
                    apply(w.table, {c.fd: entry})
        finally:
            self._applying = False
        if c.fd < 3:
            return
        for record, touched, ranges in self.execs:
            if c.fd in touched or any(a <= c.fd <= b for a, b in ranges):
                continue
            crossed = next((d for d in record.all_crossed if d.fd == c.fd), None)
            leaky = [s for s in c.states() if _leaky(s)]
            if crossed is None and leaky:
                entry = settle((None, *leaky), racing, self.copy)
                if entry is not None and self.races.on_late is not None:
                    self.races.on_late(record, entry)
            elif crossed is not None and crossed.surely_crosses() and not all(_leaky(s) for s in c.states()):
                # it crossed, but the copy may not have had it: no longer certain
                others = tuple(s for s in c.states() if not _leaky(s))
                race = Race(self.copy, (_origin(c.calls[0]),), others, _what(c))
                i = record.crossed.index(crossed) if crossed in record.crossed else -1
                if i >= 0:
                    record.crossed[i] = crossed.with_race(race)
                else:
                    record.late[record.late.index(crossed)] = crossed.with_race(race)


def proven_present(d: Descriptor) -> Descriptor:
    """``d`` after a call showed its number in use: not absent, whatever else it may be."""
    if d.race is None:
        return d
    present = tuple(o for o in d.race.others if o is not None)
    return d.with_race(d.race.holding(present) if present else None)
