"""Whose are the unprefixed lines of strace's stderr output?

Writing to stderr (no ``-o``), strace prefixes a line with ``[pid N]`` only while it traces
more than one task: the first process is unprefixed at the start, and so is whichever task
is left once the others have exited — usually the leader again (issue 12, case 7: a shell
unprefixed, then ``[pid 24834]`` beside its children, then unprefixed again). ``-p`` logs
say the pid once, in ``Process N attached``. Left as "pid unknown", the one process becomes
two and its descriptors are lost to the children it forks.

The pid of the unprefixed task is learnt from the log itself, the first of:
- ``Process N attached`` before any other line (``-p``);
- a call of the unprefixed task that returns its own pid: ``getpid``, ``gettid``,
  ``set_tid_address`` (every glibc program calls it at start-up);
- the first ``[pid N]`` line of a task that is not a child the log showed being made
  (``Process N attached`` in the middle of a line, a fork's result).

Until then the events are held back, in order, and released with the pid filled in. From
then on, an unprefixed line is the one task still alive (tasks end with ``+++ ... +++``).
Memory stays bounded: past ``HOLD_LIMIT`` events without an answer the held events go out
without a pid, and a pid learnt later is folded into that unknown one (one process either
way, never two).
"""

from __future__ import annotations

from typing import Final

from ..events import Attached, Event, Exit, Killed, Signal, StackFrame, Stopped, Syscall

HOLD_LIMIT: Final = 100_000
_FORKS: Final = frozenset({"clone", "clone3", "fork", "vfork"})
_OWN_PID: Final = frozenset({"getpid", "gettid", "set_tid_address"})


class Attribution:
    """Follows the tasks of one log; ``unprefixed`` is the pid for its next unprefixed line."""

    __slots__ = ("alias", "children", "held", "leader", "live", "overflowed", "started")

    def __init__(self) -> None:
        self.leader: int | None = None  # the task unprefixed at the start, once learnt
        self.alias: int | None = None  # the pid learnt too late: folded into "unknown"
        self.overflowed = False  # held events went out without a pid
        self.live: set[int] = set()
        self.children: set[int] = set()  # tasks the log showed being made
        self.held: list[Event] | None = None  # events waiting for the leader's pid
        self.started = False  # has a line of a task been seen yet?

    @property
    def unprefixed(self) -> int | None:
        """The pid of an unprefixed line read now: the one task alive."""
        leader = self.leader
        if leader is None:
            return None
        live = self.live
        if leader in live or len(live) != 1:
            return leader
        for pid in live:
            return pid
        return leader

    # C901 waived (hot path, compiled): runs for every event of a log whose lines carry no pid
    def see(self, ev: Event) -> list[Event]:  # noqa: C901, PLR0912
        """Take ``ev`` into account; the events to emit now (held ones released)."""
        pid = ev.pid
        if pid is not None and pid == self.alias:
            ev.pid = pid = None
        if isinstance(ev, Attached):
            if pid is not None:
                if not self.started and self.leader is None and self.held is None:
                    self.leader = pid  # strace -p: the task attached before any line
                else:
                    self.children.add(pid)
                self.live.add(pid)
            return self._pass(ev)
        if isinstance(ev, Syscall):
            ret = ev.ret
            if ret is not None and ret > 0 and ev.errno is None:
                if ev.name in _FORKS:
                    self.children.add(ret)
                    self.live.add(ret)
                elif pid is None and ev.name in _OWN_PID and self.leader is None:
                    self.started = True
                    return self._learn(ret, ev)  # the unprefixed task told its pid
        if pid is None:
            if _of_a_task(ev):
                self.started = True
                if self.held is None and self.leader is None and not self.overflowed:
                    self.held = []
            return self._pass(ev)
        self.started = True
        if isinstance(ev, (Exit, Killed)):
            self.live.discard(pid)
            return self._pass(ev)
        self.live.add(pid)
        if (self.held is not None or self.overflowed) and pid not in self.children:
            return self._learn(pid, ev)  # the first prefixed line of the unprefixed task
        return self._pass(ev)

    def _learn(self, pid: int, ev: Event) -> list[Event]:
        if self.leader is not None or self.alias is not None:
            return self._pass(ev)
        if self.overflowed:
            self.alias = pid
            ev.pid = None
            return self._pass(ev)
        self.leader = pid
        self.live.add(pid)
        held = self.held if self.held is not None else []
        self.held = None
        held.append(ev)
        for each in held:
            if each.pid is None and _of_a_task(each):
                each.pid = pid
        return held

    def _pass(self, ev: Event) -> list[Event]:
        held = self.held
        if held is None:
            return [ev]
        held.append(ev)
        if len(held) < HOLD_LIMIT:
            return []
        self.held = None  # no answer in sight: out they go, the task stays "unknown"
        self.overflowed = True
        return held

    def finish(self) -> list[Event]:
        """The end of the log: whatever is still held goes out as it is."""
        held = self.held or []
        self.held = None
        return held


def _of_a_task(ev: Event) -> bool:
    """An event a task's own line makes (not a message of strace's, not a bad line)."""
    return isinstance(ev, (Syscall, Signal, Exit, Killed, Stopped, StackFrame))
