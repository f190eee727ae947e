"""A short account of a trace — processes, syscalls, failures, signals, exits — built in
the one pass with memory bounded by the live processes and distinct names, not the trace.

The processes and who made them come from the model's process tree; the summary counts
the rest.
"""

from __future__ import annotations

from collections import Counter

from .._escape import printable
from .._model.fdmodel import FdModel
from .._model.records import Process
from ..events import Event, Signal, Syscall, Unparsed
from .output import StyledLine, columns, plural

MAX_ROWS = 12
MAX_UNPARSED_KEPT = 20


class Summary:
    """Counts of an event stream; ``calls`` is the pass's count of calls by name."""

    def __init__(self, calls: dict[str, int], model: FdModel) -> None:
        self._calls = calls  # the pass's own count, a dict (Analysis.feed's hot path)
        self.model = model
        self.rows: list[Process] = []  # the first MAX_ROWS processes, as the model makes them
        self.failures: Counter[tuple[str, str]] = Counter()
        self.signals: Counter[str] = Counter()
        self.events = 0
        self.unparsed = 0
        self.unparsed_examples: list[Unparsed] = []
        self.injected = 0
        model.tree.on_process.append(self._process)

    @property
    def syscalls(self) -> Counter[str]:
        """Calls by name, so far."""
        return Counter(self._calls)

    def _process(self, proc: Process) -> None:
        if len(self.rows) < MAX_ROWS:
            self.rows.append(proc)

    def add(self, event: Event) -> None:
        self.events += 1
        if isinstance(event, Syscall):
            if event.errno is not None:
                self.failures[(event.name, event.errno)] += 1
            if event.injected:
                self.injected += 1
        elif isinstance(event, Signal):
            self.signals[event.signal] += 1
        elif isinstance(event, Unparsed):
            self.unparsed += 1
            if len(self.unparsed_examples) < MAX_UNPARSED_KEPT:
                self.unparsed_examples.append(event)

    def headline(self) -> str:
        tree = self.model.tree
        processes = plural(tree.process_count, "process", "processes")
        threads = tree.task_count - tree.process_count
        failed = sum(self.failures.values())
        parts = [
            processes + (f" (and {plural(threads, 'thread')})" if threads else ""),
            f"{plural(sum(self._calls.values()), 'syscall')} ({failed} failed)",
            plural(sum(self.signals.values()), "signal"),
        ]
        if self.injected:
            parts.append(plural(self.injected, "injected fault"))
        if self.unparsed:
            parts.append(plural(self.unparsed, "unparsed line"))
        return ", ".join(parts)

    def lines(self, title: str) -> list[StyledLine]:
        out: list[StyledLine] = [("bold", f"sysprobe: {title}"), ("", f"  {self.headline()}")]
        if self.rows:
            rows: list[tuple[str, ...]] = [("pid", "parent", "program", "end")]
            for proc in self.rows:
                pid = "?" if proc.pid is None else str(proc.pid)
                parent = "" if proc.parent is None else str(proc.parent)
                rows.append((pid, parent, printable(proc.program or ""), proc.end or ""))
            table = columns(rows, indent="  ")
            out.append(("bold", table[0]))
            out += [("", row) for row in table[1:]]
            more = self.model.tree.process_count - len(self.rows)
            if more:
                out.append(("", f"  ... {plural(more, 'more process', 'more processes')}"))
        if self._calls:
            out.append(
                (
                    "",
                    "  syscalls: "
                    + ", ".join(f"{name} {n}" for name, n in self.syscalls.most_common(MAX_ROWS)),
                )
            )
        if self.failures:
            failed = self.failures.most_common(MAX_ROWS)
            out.append(("", "  failed:   " + ", ".join(f"{name} {errno} {n}" for (name, errno), n in failed)))
        if self.signals:
            out.append(("", "  signals:  " + ", ".join(f"{s} {n}" for s, n in self.signals.most_common())))
        for ev in self.unparsed_examples:
            out.append(("yellow", f"  unparsed {ev.where()}: {ev.reason}: {ev.raw[:100]!r}"))
        return out
