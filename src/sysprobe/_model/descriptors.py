"""What calls do to a task's descriptor table, read from the effects table.

The model hands each call with a descriptor effect here (``_kernel.effects``: creates,
duplicates, closes, changes close-on-exec, receives over SCM_RIGHTS); argument trees are
decoded only for those calls. Process effects (fork, exec, unshare) are the model's own.
"""

from __future__ import annotations

from collections.abc import Callable

from .._kernel.effects import (
    ALWAYS,
    CloexecWhen,
    Closes,
    ClosesRange,
    Creates,
    CreatesPair,
    Duplicates,
    Effect,
    Fcntl,
    Flag,
    Ioctl,
    Receives,
    kind_of,
)
from .._parsing.argdecode import decoration_end, split_decoration
from ..argtree import Const, Fd, Node, Str
from ..events import Event, Syscall
from .query import arg, fds_in, has_flag, int_of, is_value, scm_rights
from .query import field as struct_field
from .races import proven_present
from .records import Descriptor, FlagChange, Origin
from .tables import FdTable
from .tree import Task

# told of a descriptor leaving a table: by a call, by its process's end (Exit/Killed), or None
CloseListener = Callable[[Descriptor, Event | None], None]


def origin_of(ev: Syscall, detail: str | None = None) -> Origin:
    return Origin(ev.name, ev.pid, ev.line, ev.file, detail)


class DescriptorEffects:
    """Applies descriptor effects to tables; tells ``on_close`` of every descriptor that
    leaves a table (closed, replaced by dup2, dropped at exec for close-on-exec)."""

    def __init__(self, consts: dict[str, int], on_close: list[CloseListener]) -> None:
        self.consts = consts
        self.on_close = on_close

    # C901 waived (hot path, compiled): one dispatch on the effect's kind for every call
    # applied; a function call per kind would cost more than the branches it saves
    def apply(self, task: Task, ev: Syscall, effect: Effect) -> None:  # noqa: C901, PLR0912
        if ev.injected:
            return  # strace's --inject answered instead of the kernel: the call never ran
        if ev.ret is None or ev.ret < 0:
            if isinstance(effect, Closes) and ev.errno not in (None, "EBADF"):
                self.close(task, int_of(arg(ev.args, 0)), ev)  # closed even when close failed
            elif ev.errno == "EBADF" and isinstance(effect, (Closes, Duplicates, Fcntl)):
                self._absent(task, ev)
        elif isinstance(effect, Creates):
            self._created(task, ev, effect)
        elif isinstance(effect, CreatesPair):
            for fd, info in fds_in(arg(ev.args, effect.array_arg)):
                cloexec = self._cloexec(effect.cloexec, ev.args)
                # a pair is what its call makes (a pipe's two ends, a socket pair), whatever -y says
                self._add(task, fd, effect.kind, info, cloexec, origin_of(ev))
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
            self.close(task, int_of(arg(ev.args, 0)), ev)
        elif isinstance(effect, ClosesRange):
            self._close_range(task, ev)
        elif isinstance(effect, Receives):
            self._received(task, ev, effect)

    def observe(self, task: Task, ev: Syscall) -> None:
        """-y shows ``N<path>`` for descriptors in use: learn the ones never seen created,
        without decoding the whole argument list (cheap: this runs for untracked calls)."""
        text = ev.args_text
        lt = text.find("<")
        if lt <= 0 or not text[:lt].isdigit():
            return
        known = task.table.fds.get(int(text[:lt]))
        if known is not None:
            if known.race is not None:  # in use here: a racing copy does hold it
                task.table.put(known.fd, proven_present(known))
            return
        decorated = split_decoration(text[: decoration_end(text)])
        if isinstance(decorated.fd, int):
            info = decorated.info
            self._add(task, decorated.fd, kind_of(info, "unknown"), info, False, _unknown_origin(ev))

    def drop(self, table: FdTable, fd: int, ev: Syscall | None) -> None:
        d = table.pop(fd)
        for listener in self.on_close:
            listener(d, ev)

    def close(self, task: Task, fd: int | None, ev: Syscall) -> None:
        if fd is not None and fd in task.table.fds:
            self.drop(task.table, fd, ev)

    # ---- the effects ----

    def _cloexec(self, rule: CloexecWhen, args: tuple[Node, ...]) -> bool:
        if not isinstance(rule, Flag):
            return rule == ALWAYS  # else NEVER
        node = arg(args, rule.index)
        if rule.field is not None:
            node = struct_field(node, rule.field)
        return has_flag(node, rule.name, self.consts)

    def _add(
        self,
        task: Task,
        fd: int,
        kind: str,
        name: str | None,
        cloexec: bool,
        origin: Origin,
        source: Descriptor | None = None,
        event: Syscall | None = None,
    ) -> Descriptor:
        table = task.table
        replaced = table.fds.get(fd)
        d = Descriptor(fd, kind, name, cloexec, origin, source=source)
        table.put(fd, d)  # one change: a dup2 racing a fork leaves the copy either, never none
        if replaced is not None:
            for listener in self.on_close:  # dup2 onto an open descriptor closes it
                listener(replaced, event)
        return d

    def _created(self, task: Task, ev: Syscall, effect: Creates) -> None:
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
        self._add(task, ev.ret, kind_of(info, effect.kind), info, cloexec, origin_of(ev))

    def _duplicated(self, task: Task, ev: Syscall, effect: Duplicates) -> None:
        assert ev.ret is not None
        old = int_of(arg(ev.args, effect.old_arg))
        new = ev.ret  # dup returns the new descriptor; dup2 and dup3, the one they were given
        if old is None or old == new:
            return  # dup2(fd, fd) changes nothing, not even close-on-exec
        self._copy(task, ev, old, new, self._cloexec(effect.cloexec, ev.args))

    def _copy(self, task: Task, ev: Syscall, old: int, new: int, cloexec: bool) -> None:
        source = task.table.fds.get(old) or self._observed(task, old, arg(ev.args, 0), ev)
        self._add(
            task,
            new,
            source.kind,
            source.name,
            cloexec,
            origin_of(ev, f"duplicate of fd {old}"),
            source=source,
            event=ev,
        )

    def _fcntl(self, task: Task, ev: Syscall) -> None:
        command = arg(ev.args, 1)
        fd = int_of(arg(ev.args, 0))
        consts = self.consts
        if is_value(command, "F_SETFD", consts):
            value = arg(ev.args, 2)
            self._set_cloexec(task, fd, has_flag(value, "FD_CLOEXEC", consts), "fcntl(F_SETFD)", ev)
        elif is_value(command, "F_DUPFD", consts) and fd is not None and ev.ret is not None:
            self._copy(task, ev, fd, ev.ret, False)
        elif is_value(command, "F_DUPFD_CLOEXEC", consts) and fd is not None and ev.ret is not None:
            self._copy(task, ev, fd, ev.ret, True)
        elif is_value(command, "F_GETFD", consts) and fd is not None and ev.ret is not None:
            # the kernel's own answer: the descriptor was open during the call, with this
            # flag; trust it over the model (one the trace never showed made is learnt, as
            # F_SETFD learns it: with the flag at once, so a racing copy sees no other state)
            cloexec = bool(ev.ret & consts["FD_CLOEXEC"])
            d = task.table.fds.get(fd)
            if d is None:
                self._observed(task, fd, arg(ev.args, 0), ev, cloexec)
            elif d.cloexec != cloexec or d.race is not None:
                task.table.put(fd, d.with_cloexec(cloexec))

    def _set_cloexec(self, task: Task, fd: int | None, value: bool, how: str, ev: Syscall) -> None:
        if fd is None:
            return
        # a descriptor never seen made is learnt with the flag already set: a racing copy
        # must not see it without the flag the call gave it
        d = task.table.fds.get(fd) or self._observed(task, fd, arg(ev.args, 0), ev, value)
        task.table.put(fd, d.with_cloexec(value, FlagChange(value, how, ev.pid, ev.line, ev.file)))

    def _close_range(self, task: Task, ev: Syscall) -> None:
        first, last = int_of(arg(ev.args, 0)), int_of(arg(ev.args, 1))
        if first is None or last is None:
            return
        flags = arg(ev.args, 2)
        if has_flag(flags, "CLOSE_RANGE_UNSHARE", self.consts):
            task.unshare()
        task.table.closed_range(first, last)
        in_range = [fd for fd in task.table.fds if first <= fd <= last]
        if has_flag(flags, "CLOSE_RANGE_CLOEXEC", self.consts):
            for fd in in_range:
                self._set_cloexec(task, fd, True, "close_range(CLOSE_RANGE_CLOEXEC)", ev)
        else:
            for fd in in_range:
                self.drop(task.table, fd, ev)

    def _received(self, task: Task, ev: Syscall, effect: Receives) -> None:
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
                origin = origin_of(ev, f"received over SCM_RIGHTS on fd {socket}")
                self._add(task, fd, kind_of(info, "unknown"), info, cloexec, origin)

    def _absent(self, task: Task, ev: Syscall) -> None:
        """EBADF: the descriptor the call named is not open. A racing copy's entry that
        may have been absent is now known to be (nothing closed it: no one is told)."""
        # each of these calls names its descriptor first (EBADF may also mean another
        # argument: dup2's new number past the limit, a lock on a read-only descriptor;
        # taken as this one, a racing copy's doubt is settled the wrong way — rare)
        fd = int_of(arg(ev.args, 0))
        d = task.table.fds.get(fd) if fd is not None else None
        if d is not None and d.race is not None and any(o is None for o in d.race.others):
            task.table.pop(d.fd)

    def _observed(
        self, task: Task, fd: int, node: Node | None, ev: Syscall, cloexec: bool = False
    ) -> Descriptor:
        """A descriptor in use that the trace never showed being created."""
        info = node.info if isinstance(node, Fd) else None
        return self._add(task, fd, kind_of(info, "unknown"), info, cloexec, _unknown_origin(ev))


def _unknown_origin(ev: Syscall) -> Origin:
    return Origin(None, ev.pid, ev.line, ev.file, detail=f"origin unknown, first seen in {ev.name}")
