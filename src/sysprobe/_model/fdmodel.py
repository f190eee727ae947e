"""Processes and their descriptor tables, rebuilt from the event stream.

The model reads each event once, in order, and interprets the effects table in
``_fdspec``; it decodes argument trees only for the calls that table names.

Two orderings of strace's output need care:
- a child's lines often come before its parent's ``clone``/``fork`` returns (always so
  for vfork, whose parent waits for the child's exec): events of a pid nobody created yet
  are held, and replayed once a creating call returns that pid;
- a thread's ``execve`` takes over the leader's pid (``+++ superseded by execve +++``):
  the parser already reports that execve under the leader's pid; the model retires the
  other threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from .._kernel.constants import constants, host_arch
from .._kernel.effects import (
    ALWAYS,
    EFFECTS,
    NEVER,
    Cloexec,
    Closes,
    ClosesRange,
    Creates,
    CreatesPair,
    Duplicates,
    Effect,
    Execs,
    Fcntl,
    Flag,
    Forks,
    Ioctl,
    Receives,
    Unshares,
    kind_of,
)
from .._parsing.argdecode import decoration_end, split_decoration
from ..argtree import Const, Fd, Node, Str
from ..events import Event, Exit, Killed, Superseded, Syscall
from .query import (
    arg,
    fds_in,
    has_flag,
    int_of,
    is_value,
    named_arg,
    scm_rights,
    text_of,
)
from .query import (
    field as struct_field,
)


@dataclass(frozen=True)
class Origin:
    """Where a descriptor came from: the call, the process and the line."""

    syscall: str | None  # None: the process had it when the trace began (origin unknown)
    pid: int | None
    line: int | None
    file: str | None = None
    detail: str | None = None  # "duplicate of fd 3", "received over SCM_RIGHTS on fd 4"

    def describe(self) -> str:
        if self.syscall is None:
            return self.detail or "inherited, origin unknown"
        where = f"{self.file}:{self.line}" if self.file else f"line {self.line}"
        text = f"{self.syscall} at {where} in pid {self.pid}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True)
class FlagChange:
    """A change of close-on-exec after creation."""

    cloexec: bool
    syscall: str
    pid: int | None
    line: int
    file: str | None = None

    def describe(self) -> str:
        where = f"{self.file}:{self.line}" if self.file else f"line {self.line}"
        what = "set" if self.cloexec else "cleared"
        return f"close-on-exec {what} by {self.syscall} at {where} in pid {self.pid}"


@dataclass
class Descriptor:
    """One entry of a descriptor table."""

    fd: int
    kind: str  # file, pipe, socket, epoll, eventfd, ... or "unknown"
    name: str | None  # what -y showed: a path, pipe:[N], socket:[N], anon_inode:[eventpoll]
    cloexec: bool
    origin: Origin
    changes: tuple[FlagChange, ...] = ()
    source: Descriptor | None = None  # for duplicates: the descriptor it copies

    def describe(self) -> str:
        what = self.name if self.name else self.kind
        return f"fd {self.fd} ({what})" if what != "unknown" else f"fd {self.fd}"

    def creation(self) -> Origin:
        """The call that made the open file: through duplicates back to the first."""
        d = self
        while d.source is not None:
            d = d.source
        return d.origin


class FdTable:
    """A descriptor table, possibly shared by tasks (threads, CLONE_FILES)."""

    __slots__ = ("fds", "holders")

    def __init__(self, fds: dict[int, Descriptor] | None = None) -> None:
        self.fds: dict[int, Descriptor] = fds if fds is not None else {}
        self.holders: set[int | None] = set()  # the processes (thread groups) using it

    def copy(self) -> FdTable:
        return FdTable({fd: replace(d) for fd, d in self.fds.items()})


@dataclass
class ExecRecord:
    """A successful execve: the program, and the descriptors that crossed into it."""

    pid: int | None
    program: str
    argv: list[str]
    line: int
    file: str | None
    crossed: list[Descriptor]  # fd >= 3 without close-on-exec, as they were at the exec
    injected: bool = False

    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else f"line {self.line}"


@dataclass
class Process:
    """A process (thread group) as the trace shows it."""

    pid: int | None
    parent: int | None
    created_by: Origin | None
    first_line: int
    threads: list[int | None] = field(default_factory=list)
    execs: list[ExecRecord] = field(default_factory=list)
    exit_code: int | None = None
    signal: str | None = None
    core_dumped: bool = False

    @property
    def program(self) -> str | None:
        return self.execs[-1].program if self.execs else None

    @property
    def end(self) -> str | None:
        if self.signal is not None:
            return f"killed by {self.signal}" + (" (core dumped)" if self.core_dumped else "")
        return None if self.exit_code is None else f"exited {self.exit_code}"


class _Task:
    __slots__ = ("alive", "pid", "table", "tgid")

    def __init__(self, pid: int | None, tgid: int | None, table: FdTable) -> None:
        self.pid = pid
        self.tgid = tgid
        self.table = table
        self.alive = True


STANDARD_FDS = (0, 1, 2)
# Events of tasks whose creation has not been seen yet, held until the parent's clone
# returns. strace prints that return within a few lines in practice; a log with many
# roots (attached, clipped, concatenated) would otherwise hold all its events.
HOLD_BUDGET = 50_000


class FdModel:
    """Feed events with ``feed``; call ``finish`` at the end of the trace."""

    def __init__(
        self, arch: str | None = None, inherited: tuple[int, ...] = STANDARD_FDS, *, retain: bool = True
    ) -> None:
        """``retain=False`` forgets processes once they end and keeps no exec records (the
        ``on_exec`` listeners still see each): memory follows the live processes, not the
        length of the trace. The first process is always kept."""
        self.consts = constants(arch or host_arch())
        self.inherited = inherited
        self.retain = retain
        self.processes: dict[int | None, Process] = {}
        self.execs: list[ExecRecord] = []
        self.process_count = 0
        self.exec_count = 0
        self._root: int | None = None
        self._tasks: dict[int | None, _Task] = {}
        self._held: dict[int | None, list[Event]] = {}
        self._held_count = 0
        self._started = False
        self.on_exec: list[Callable[[ExecRecord], None]] = []
        self.on_close: list[Callable[[Descriptor, Syscall | None], None]] = []
        # each event as the model applies it (a held child's only once its parent's clone
        # returns), with its task's table just before
        self.on_apply: list[Callable[[Event, dict[int, Descriptor]], None]] = []

    # ---- input ----

    def feed(self, event: Event) -> None:
        pid = event.pid
        task = self._tasks.get(pid)
        if task is None or not task.alive:
            if not self._started:
                self._started = True
                task = self._new_root(pid, event.line)
            else:
                # not created yet (the parent's clone has not returned), or a pid reused
                self._held.setdefault(pid, []).append(event)
                self._held_count += 1
                if self._held_count > HOLD_BUDGET:
                    self._adopt_oldest()  # memory stays bounded on logs with many roots
                return
        self._apply(task, event)

    def finish(self) -> None:
        """Tasks whose creation the trace never showed become processes of unknown parent."""
        while self._held:
            self._adopt_oldest()

    def _adopt_oldest(self) -> None:
        """The orphan held longest becomes a process of unknown parent (an attached or
        clipped log: its creation is not in the trace, or too far away to wait for)."""
        pid, events = next(iter(self._held.items()))
        del self._held[pid]
        self._held_count -= len(events)
        task = self._new_task(pid, pid, self._inherited_table(events[0].line), None, None, events[0].line)
        for event in events:
            self._apply(task, event)

    # ---- queries ----

    def table(self, pid: int | None) -> dict[int, Descriptor]:
        task = self._tasks.get(pid)
        return dict(task.table.fds) if task is not None else {}

    def is_held(self, pid: int | None) -> bool:
        """Are events of ``pid`` waiting for its creation to show?"""
        return pid in self._held

    def tgid_of(self, pid: int | None) -> int | None:
        """The process a task belongs to (itself, unless it is a thread)."""
        task = self._tasks.get(pid)
        return task.tgid if task is not None else None

    def open_descriptors(self) -> Iterator[tuple[int | None, Descriptor]]:
        """Every descriptor still open in a live task's table, once per table."""
        seen: set[int] = set()
        for task in self._tasks.values():
            if task.alive and id(task.table) not in seen:
                seen.add(id(task.table))
                for d in task.table.fds.values():
                    yield task.tgid, d

    # ---- dispatch ----

    def _apply(self, task: _Task, event: Event) -> None:
        for listener in self.on_apply:
            listener(event, task.table.fds)
        if isinstance(event, Syscall):
            effect = EFFECTS.get(event.name)
            if effect is not None:
                self._syscall(task, event, effect)
            elif event.args_text[:1].isdigit() and event.errno is None:
                self._observe(task, event)
        elif isinstance(event, Exit | Killed):
            self._ended(task, event)
        elif isinstance(event, Superseded):
            self._superseded(event)

    def _syscall(self, task: _Task, ev: Syscall, effect: Effect) -> None:
        if isinstance(effect, Forks):
            self._forked(task, ev, effect)
        elif isinstance(effect, Execs):
            self._exec(task, ev, effect)
        elif ev.ret is None or ev.ret < 0:
            if isinstance(effect, Closes) and ev.errno not in (None, "EBADF"):
                self._close(task, int_of(arg(ev.args, 0)), ev)  # closed even when close failed
        elif isinstance(effect, Creates):
            self._created(task, ev, effect)
        elif isinstance(effect, CreatesPair):
            for fd, info in fds_in(arg(ev.args, effect.array_arg)):
                cloexec = self._cloexec(effect.cloexec, ev.args)
                self._add(task, fd, kind_of(info, effect.kind), info, cloexec, self._origin(ev))
        elif isinstance(effect, Duplicates):
            self._duplicated(task, ev, effect)
        elif isinstance(effect, Fcntl):
            self._fcntl(task, ev)
        elif isinstance(effect, Ioctl):
            request = arg(ev.args, 1)
            for name, value in (("FIOCLEX", True), ("FIONCLEX", False)):
                if is_value(request, name, self.consts):
                    self._set_cloexec(task, int_of(arg(ev.args, 0)), value, f"ioctl({name})", ev)
        elif isinstance(effect, Closes):
            self._close(task, int_of(arg(ev.args, 0)), ev)
        elif isinstance(effect, ClosesRange):
            self._close_range(task, ev)
        elif isinstance(effect, Receives):
            self._received(task, ev, effect)
        elif isinstance(effect, Unshares):
            if has_flag(arg(ev.args, 0), "CLONE_FILES", self.consts):
                self._unshare(task)

    # ---- processes ----

    def _new_root(self, pid: int | None, line: int) -> _Task:
        return self._new_task(pid, pid, self._inherited_table(line), None, None, line)

    def _inherited_table(self, line: int) -> FdTable:
        origin = Origin(None, None, None, detail="inherited, origin unknown")
        return FdTable({fd: Descriptor(fd, "unknown", None, False, origin) for fd in self.inherited})

    def _new_task(
        self,
        pid: int | None,
        tgid: int | None,
        table: FdTable,
        parent: int | None,
        origin: Origin | None,
        line: int,
    ) -> _Task:
        task = _Task(pid, tgid, table)
        self._tasks[pid] = task
        table.holders.add(tgid)
        if tgid == pid:
            if self.process_count == 0:
                self._root = pid
            self.process_count += 1
            self.processes[pid] = Process(pid, parent, origin, line, threads=[pid])
        elif tgid in self.processes:
            self.processes[tgid].threads.append(pid)
        return task

    def _forked(self, task: _Task, ev: Syscall, effect: Forks) -> None:
        child = ev.ret
        if child is None or child <= 0:
            return
        if effect.flags == "arg":
            flags: Node | None = named_arg(ev.args, "flags")
        elif effect.flags == "struct":
            flags = struct_field(arg(ev.args, 0), "flags")
        else:
            flags = None
        shared = has_flag(flags, "CLONE_FILES", self.consts)
        thread = has_flag(flags, "CLONE_THREAD", self.consts)
        table = task.table if shared else task.table.copy()
        if not shared:
            table.holders = set()
        tgid = task.tgid if thread else child
        adopted = self._tasks.get(child)
        if adopted is not None and adopted.alive:
            # created long before its parent's clone returned (see HOLD_BUDGET): keep what
            # it did, now with its parent known
            proc = self.processes.get(child)
            if proc is not None and proc.parent is None:
                proc.parent, proc.created_by = task.tgid, self._origin(ev)
            return
        self._new_task(child, tgid, table, task.tgid, self._origin(ev), ev.line)
        for held in self._held.pop(child, []):
            self.feed(held)

    def _superseded(self, ev: Superseded) -> None:
        """Thread ``ev.by`` exec'd and became ``ev.pid``: the other threads are gone."""
        leader = self._tasks.get(ev.pid)
        if leader is None:
            return
        thread = self._tasks.get(ev.by)
        if thread is None or not thread.alive:
            # the leader was still inside the clone that made this thread when the thread
            # exec'd: strace never printed the clone's result, but the thread was ours
            self._new_task(ev.by, leader.tgid, leader.table, leader.tgid, None, ev.line)
            for held in self._held.pop(ev.by, []):
                self._held_count -= 1
                self.feed(held)
        for pid, task in list(self._tasks.items()):
            if task.tgid == leader.tgid and pid != ev.pid:
                task.alive = False
                if not self.retain:
                    del self._tasks[pid]
        leader.alive = True

    def _ended(self, task: _Task, ev: Exit | Killed) -> None:
        task.alive = False
        if task.pid == task.tgid:
            proc = self.processes.get(task.tgid)
            if proc is not None:
                if isinstance(ev, Exit):
                    proc.exit_code = ev.code
                else:
                    proc.signal, proc.core_dumped = ev.signal, ev.core_dumped
        proc = self.processes.get(task.tgid)
        threads = [self._tasks.get(pid) for pid in proc.threads] if proc is not None else []
        if not any(t is not None and t.alive and t.table is task.table for t in threads):
            task.table.holders.discard(task.tgid)
        if not self.retain:
            self._forget(task)

    def _forget(self, task: _Task) -> None:
        """Drop an ended task, and its process once no thread of it lives (not the first)."""
        if self._tasks.get(task.pid) is task:
            del self._tasks[task.pid]
        proc = self.processes.get(task.tgid)
        if proc is not None and proc.pid != self._root:
            if not any((t := self._tasks.get(pid)) is not None and t.alive for pid in proc.threads):
                del self.processes[task.tgid]

    def _unshare(self, task: _Task) -> None:
        task.table.holders.discard(task.tgid)
        task.table = task.table.copy()
        task.table.holders = {task.tgid}

    def _exec(self, task: _Task, ev: Syscall, effect: Execs) -> None:
        if ev.ret != 0:
            return  # a failed exec (PATH search: ENOENT) changes nothing
        if task.table.holders - {task.tgid}:
            self._unshare(task)  # exec gives a process sharing its table (CLONE_FILES) its own
        for other in self._tasks.values():
            if other.tgid == task.tgid and other is not task:
                other.alive = False  # exec ends every other thread
        table = task.table
        crossed = [replace(d) for fd, d in sorted(table.fds.items()) if fd >= 3 and not d.cloexec]
        argv_node = arg(ev.args, effect.path_arg + 1)
        argv = [text_of(a) or "?" for a in argv_node] if isinstance(argv_node, tuple) else []
        record = ExecRecord(
            task.tgid,
            text_of(arg(ev.args, effect.path_arg)) or "?",
            argv,
            ev.line,
            ev.file,
            crossed,
            ev.injected,
        )
        self.exec_count += 1
        proc = self.processes.get(task.tgid)
        if self.retain:
            self.execs.append(record)
        if proc is not None:
            proc.execs.append(record)  # forgotten with the process when not retained
        for listener in self.on_exec:
            listener(record)
        for fd in [fd for fd, d in table.fds.items() if d.cloexec]:
            self._drop(table, fd, ev)

    # ---- descriptors ----

    def _origin(self, ev: Syscall, detail: str | None = None) -> Origin:
        return Origin(ev.name, ev.pid, ev.line, ev.file, detail)

    def _cloexec(self, rule: Cloexec, args: tuple[Node, ...]) -> bool:
        if rule == ALWAYS:
            return True
        if rule == NEVER or not isinstance(rule, Flag):
            return False
        node = arg(args, rule.index)
        if rule.field is not None:
            node = struct_field(node, rule.field)
        return has_flag(node, rule.name, self.consts)

    def _add(
        self,
        task: _Task,
        fd: int,
        kind: str,
        name: str | None,
        cloexec: bool,
        origin: Origin,
        source: Descriptor | None = None,
        event: Syscall | None = None,
    ) -> Descriptor:
        table = task.table
        if fd in table.fds:
            self._drop(table, fd, event)  # dup2 onto an open descriptor closes it first
        d = Descriptor(fd, kind, name, cloexec, origin, source=source)
        table.fds[fd] = d
        return d

    def _created(self, task: _Task, ev: Syscall, effect: Creates) -> None:
        if effect.only_if_minus_one is not None and int_of(arg(ev.args, effect.only_if_minus_one)) != -1:
            return
        if effect.only_commands is not None:
            index, commands = effect.only_commands
            command = arg(ev.args, index)
            if not (isinstance(command, Const) and command.name in commands):
                return
        assert ev.ret is not None
        decorated = ev.ret_fd
        info = decorated.info if decorated is not None else None
        if info is None and effect.path_arg is not None:
            path = arg(ev.args, effect.path_arg)
            info = path.text if isinstance(path, Str) else None
        cloexec = self._cloexec(effect.cloexec, ev.args)
        self._add(task, ev.ret, kind_of(info, effect.kind), info, cloexec, self._origin(ev))

    def _duplicated(self, task: _Task, ev: Syscall, effect: Duplicates) -> None:
        assert ev.ret is not None
        old = int_of(arg(ev.args, effect.old_arg))
        new = ev.ret if effect.new_arg is None else int_of(arg(ev.args, effect.new_arg))
        if old is None or new is None or old == new:
            return  # dup2(fd, fd) changes nothing, not even close-on-exec
        self._copy(task, ev, old, new, self._cloexec(effect.cloexec, ev.args))

    def _copy(self, task: _Task, ev: Syscall, old: int, new: int, cloexec: bool) -> None:
        source = task.table.fds.get(old) or self._observed(task, old, arg(ev.args, 0), ev)
        self._add(
            task,
            new,
            source.kind,
            source.name,
            cloexec,
            self._origin(ev, f"duplicate of fd {old}"),
            source=source,
            event=ev,
        )

    def _fcntl(self, task: _Task, ev: Syscall) -> None:
        command = arg(ev.args, 1)
        fd = int_of(arg(ev.args, 0))
        if is_value(command, "F_SETFD", self.consts):
            value = arg(ev.args, 2)
            self._set_cloexec(task, fd, has_flag(value, "FD_CLOEXEC", self.consts), "fcntl(F_SETFD)", ev)
        elif is_value(command, "F_DUPFD", self.consts) and fd is not None and ev.ret is not None:
            self._copy(task, ev, fd, ev.ret, False)
        elif is_value(command, "F_DUPFD_CLOEXEC", self.consts) and fd is not None and ev.ret is not None:
            self._copy(task, ev, fd, ev.ret, True)
        elif is_value(command, "F_GETFD", self.consts) and fd is not None and ev.ret is not None:
            d = task.table.fds.get(fd)  # the kernel's own answer: trust it over the model
            if d is not None:
                d.cloexec = bool(ev.ret & self.consts["FD_CLOEXEC"])

    def _set_cloexec(self, task: _Task, fd: int | None, value: bool, how: str, ev: Syscall) -> None:
        if fd is None:
            return
        d = task.table.fds.get(fd) or self._observed(task, fd, arg(ev.args, 0), ev)
        d.cloexec = value
        d.changes = (*d.changes, FlagChange(value, how, ev.pid, ev.line, ev.file))

    def _close(self, task: _Task, fd: int | None, ev: Syscall) -> None:
        if fd is not None and fd in task.table.fds:
            self._drop(task.table, fd, ev)

    def _drop(self, table: FdTable, fd: int, ev: Syscall | None) -> None:
        d = table.fds.pop(fd)
        for listener in self.on_close:
            listener(d, ev)

    def _close_range(self, task: _Task, ev: Syscall) -> None:
        first, last = int_of(arg(ev.args, 0)), int_of(arg(ev.args, 1))
        if first is None or last is None:
            return
        flags = arg(ev.args, 2)
        if has_flag(flags, "CLOSE_RANGE_UNSHARE", self.consts):
            self._unshare(task)
        in_range = [fd for fd in task.table.fds if first <= fd <= last]
        if has_flag(flags, "CLOSE_RANGE_CLOEXEC", self.consts):
            for fd in in_range:
                self._set_cloexec(task, fd, True, "close_range(CLOSE_RANGE_CLOEXEC)", ev)
        else:
            for fd in in_range:
                self._drop(task.table, fd, ev)

    def _received(self, task: _Task, ev: Syscall, effect: Receives) -> None:
        cloexec = has_flag(arg(ev.args, effect.flags_arg), "MSG_CMSG_CLOEXEC", self.consts)
        message = arg(ev.args, effect.message_arg)
        headers = (
            [struct_field(m, "msg_hdr") for m in message]
            if effect.vector and isinstance(message, tuple)
            else [message]
        )
        socket = int_of(arg(ev.args, 0))
        for header in headers:
            for fd, info in scm_rights(header, self.consts):
                origin = self._origin(ev, f"received over SCM_RIGHTS on fd {socket}")
                self._add(task, fd, kind_of(info, "unknown"), info, cloexec, origin)

    def _observed(self, task: _Task, fd: int, node: Node | None, ev: Syscall) -> Descriptor:
        """A descriptor in use that the trace never showed being created."""
        info = node.info if isinstance(node, Fd) else None
        return self._add(task, fd, kind_of(info, "unknown"), info, False, self._unknown_origin(ev))

    def _unknown_origin(self, ev: Syscall) -> Origin:
        return Origin(None, ev.pid, ev.line, ev.file, detail=f"origin unknown, first seen in {ev.name}")

    def _observe(self, task: _Task, ev: Syscall) -> None:
        """-y shows ``N<path>`` for descriptors in use: learn the ones never seen created,
        without decoding the whole argument list (cheap: this runs for untracked calls)."""
        text = ev.args_text
        lt = text.find("<")
        if lt <= 0 or not text[:lt].isdigit() or int(text[:lt]) in task.table.fds:
            return
        decorated = split_decoration(text[: decoration_end(text)])
        if isinstance(decorated.fd, int):
            info = decorated.info
            self._add(task, decorated.fd, kind_of(info, "unknown"), info, False, self._unknown_origin(ev))
