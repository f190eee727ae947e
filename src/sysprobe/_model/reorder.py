"""Events that arrive before their task exists, held until it does.

A child's lines often come before its parent's ``clone``/``fork`` returns (always so for
vfork, whose parent waits for the child's exec). The model holds the events of a pid
nobody created yet and replays them once a creating call returns that pid. A log with
many roots (attached, clipped, concatenated) would hold most of itself, so holding has a
budget: past it, the task held longest is taken as made outside the trace.
"""

from __future__ import annotations

from ..events import Event

# strace prints a clone's return within a few lines in practice
HOLD_BUDGET = 50_000


class Held:
    """Events of tasks whose creation has not been seen yet, per pid, oldest pid first."""

    __slots__ = ("count", "events")

    def __init__(self) -> None:
        self.events: dict[int | None, list[Event]] = {}
        self.count = 0

    def __contains__(self, pid: int | None) -> bool:
        return pid in self.events

    def __bool__(self) -> bool:
        return bool(self.events)

    def hold(self, event: Event) -> bool:
        """Hold ``event``; True when the budget is spent (the caller adopts the oldest)."""
        self.events.setdefault(event.pid, []).append(event)
        self.count += 1
        return self.count > HOLD_BUDGET

    def release(self, pid: int | None) -> list[Event]:
        """The events held for ``pid``, now that its creation has shown."""
        events = self.events.pop(pid, [])
        self.count -= len(events)
        return events

    def oldest(self) -> tuple[int | None, list[Event]]:
        """The pid held longest, with its events (no longer held)."""
        pid = next(iter(self.events))
        return pid, self.release(pid)
