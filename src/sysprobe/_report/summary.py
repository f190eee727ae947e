"""A short account of a trace — processes, syscalls, failures, signals, exits — built in
one pass with memory bounded by the live processes and distinct names, not the trace."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .._kernel.effects import Execs
from .._kernel.syscalls import CREATES_PROCESS, EFFECTS, EXECS
from ..argtree import Str
from ..events import Event, Exit, Killed, Signal, Syscall, Unparsed
from .output import StyledLine, columns, plural

MAX_ROWS = 12
MAX_UNPARSED_KEPT = 20


@dataclass
class ProcessLine:
    pid: int | None
    parent: int | None = None
    program: str | None = None
    end: str | None = None  # "exited 0", "killed by SIGSEGV (core dumped)"


@dataclass
class Summary:
    processes: dict[int | None, ProcessLine] = field(default_factory=dict)  # the first MAX_ROWS
    tasks: int = 0  # processes and threads seen
    syscalls: Counter[str] = field(default_factory=Counter)
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    signals: Counter[str] = field(default_factory=Counter)
    events: int = 0
    unparsed: int = 0
    unparsed_examples: list[Unparsed] = field(default_factory=list)
    injected: int = 0
    # Every task shows in its own lines (at least its `+++ exited`), so tasks are counted
    # there; a fork's result only names the parent of a row of the table.
    _live: set[int | None] = field(default_factory=set)
    _parents: dict[int, int | None] = field(default_factory=dict)  # rows not shown yet

    def _seen(self, pid: int | None) -> ProcessLine | None:
        if pid not in self._live:  # new, or a pid reused after its task ended
            self._live.add(pid)
            self.tasks += 1
            if len(self.processes) < MAX_ROWS:
                parent = self._parents.pop(pid, None) if pid is not None else None
                self.processes[pid] = ProcessLine(pid, parent)
        return self.processes.get(pid)

    def add(self, event: Event) -> None:
        self.events += 1
        proc = self._seen(event.pid)
        if isinstance(event, Exit | Killed):
            self._live.discard(event.pid)
        if isinstance(event, Syscall):
            name = event.name
            self.syscalls[name] += 1
            if event.errno is not None:
                self.failures[(name, event.errno)] += 1
            if event.injected:
                self.injected += 1
            if event.ret is not None and event.ret > 0 and name in CREATES_PROCESS:
                child = self.processes.get(event.ret)
                if child is not None:
                    child.parent = event.pid
                elif len(self.processes) < MAX_ROWS:
                    self._parents[event.ret] = event.pid
            elif proc is not None and event.ret == 0 and name in EXECS and event.args:
                effect = EFFECTS[name]
                path_arg = effect.path_arg if isinstance(effect, Execs) else 0
                path = event.args[path_arg] if len(event.args) > path_arg else None
                if isinstance(path, Str):
                    proc.program = path.text
        elif isinstance(event, Signal):
            self.signals[event.signal] += 1
        elif isinstance(event, Exit):
            if proc is not None:
                proc.end = f"exited {event.code}"
        elif isinstance(event, Killed):
            if proc is not None:
                proc.end = f"killed by {event.signal}" + (" (core dumped)" if event.core_dumped else "")
        elif isinstance(event, Unparsed):
            self.unparsed += 1
            if len(self.unparsed_examples) < MAX_UNPARSED_KEPT:
                self.unparsed_examples.append(event)

    def headline(self) -> str:
        failed = sum(self.failures.values())
        parts = [
            plural(self.tasks, "process", "processes"),
            f"{plural(sum(self.syscalls.values()), 'syscall')} ({failed} failed)",
            plural(sum(self.signals.values()), "signal"),
        ]
        if self.injected:
            parts.append(plural(self.injected, "injected fault"))
        if self.unparsed:
            parts.append(plural(self.unparsed, "unparsed line"))
        return ", ".join(parts)

    def lines(self, title: str) -> list[StyledLine]:
        out: list[StyledLine] = [("bold", f"sysprobe: {title}"), ("", f"  {self.headline()}")]
        if self.processes:
            rows: list[tuple[str, ...]] = [("pid", "parent", "program", "end")]
            for proc in list(self.processes.values())[:MAX_ROWS]:
                pid = "?" if proc.pid is None else str(proc.pid)
                parent = "" if proc.parent is None else str(proc.parent)
                rows.append((pid, parent, proc.program or "", proc.end or ""))
            table = columns(rows, indent="  ")
            out.append(("bold", table[0]))
            out += [("", row) for row in table[1:]]
            if self.tasks > len(self.processes):
                out.append(("", f"  ... {self.tasks - len(self.processes)} more processes"))
        if self.syscalls:
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
