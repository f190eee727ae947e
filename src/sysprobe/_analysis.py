"""One pass over an event stream: the descriptor model, the rules, the summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._kernel.signals import exit_status_for
from ._model.fdmodel import FdModel
from ._report.output import StyledLine, plural
from ._rules.rules import ExpectExit, Rule, RuleResult
from .events import Event, Syscall


@dataclass
class Report:
    """The verdict of a set of rules on one trace."""

    title: str
    results: list[RuleResult]
    exit_status: int | None
    processes: int
    execs: int
    incomplete: str | None = None  # why the trace may be partial (a timeout)
    tracer: str | None = None  # which tracer ran the command ("strace 6.1", "python-ptrace 0.9.9")

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed]

    def headline(self) -> str:
        status = "no exit status" if self.exit_status is None else f"exit {self.exit_status}"
        return (
            f"{self.title} — {status}, {plural(self.processes, 'process', 'processes')}, "
            f"{plural(self.execs, 'exec')}" + (f", traced by {self.tracer}" if self.tracer else "")
        )

    def lines(self) -> list[StyledLine]:
        """(style, text) lines of the report."""
        out: list[tuple[str, str]] = [("bold", f"sysprobe check: {self.headline()}")]
        if self.incomplete:
            out.append(("yellow", f"  warning: {self.incomplete}"))
        for r in self.results:
            out.append(
                (
                    "green" if r.passed else "bold red",
                    f"  {'PASS' if r.passed else 'FAIL'}  {r.rule}: {r.summary}",
                )
            )
            for item in r.evidence:
                out.append(
                    ("dim" if r.passed else "", f"        {item if isinstance(item, str) else item.render()}")
                )
        failed = len(self.failed)
        if failed:
            out.append(("bold red", f"{failed} of {plural(len(self.results), 'rule')} failed"))
        else:
            out.append(("bold green", f"all {plural(len(self.results), 'rule')} passed"))
        return out

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines())

    def to_json(self) -> dict[str, object]:
        """The verdicts, for CI tools (``sysprobe check --json-report FILE``)."""
        return {
            "title": self.title,
            "passed": self.passed,
            "exit_status": self.exit_status,
            "processes": self.processes,
            "execs": self.execs,
            "incomplete": self.incomplete,
            "tracer": self.tracer,
            "results": [
                {
                    "rule": r.rule,
                    "passed": r.passed,
                    "summary": r.summary,
                    "evidence": [
                        e
                        if isinstance(e, str)
                        else {"where": e.where, "pid": e.pid, "call": e.text, "note": e.note}
                        for e in r.evidence
                    ],
                }
                for r in self.results
            ],
        }


class Analysis:
    """Feed events; ``finish`` gives the report. Keeps the events (and the model its
    history of ended processes) only if asked: otherwise memory stays flat in trace length."""

    def __init__(
        self, rules: Sequence[Rule] = (), *, arch: str | None = None, keep_events: bool = False
    ) -> None:
        self.model = FdModel(arch, retain=keep_events)
        self.calls: Counter[str] = Counter()
        self.rules = list(rules)
        for rule in self.rules:
            rule.bind(self.model, self.calls)
            if rule.reads_model:
                self.model.on_exec.append(rule.on_exec)
                self.model.on_close.append(rule.on_close)
        self.events: list[Event] | None = [] if keep_events else None
        self._seq = 0

    def feed(self, event: Event) -> None:
        self._seq += 1
        if isinstance(event, Syscall):
            self.calls[event.name] += 1
        self.model.feed(event)
        for rule in self.rules:
            rule.observe(event, self._seq)
        if self.events is not None:
            self.events.append(event)

    def feed_all(self, events: Iterable[Event]) -> Analysis:
        for event in events:
            self.feed(event)
        return self

    def finish(self, title: str, exit_status: int | None = None, incomplete: str | None = None) -> Report:
        self.model.finish()
        if exit_status is None:
            root = next(iter(self.model.processes.values()), None)
            if root is not None:
                exit_status = exit_status_for(root.signal) if root.signal else root.exit_code
        for rule in self.rules:
            if isinstance(rule, ExpectExit) and rule.status is None:
                rule.status = exit_status
        results = [rule.result() for rule in self.rules]
        model = self.model
        return Report(title, results, exit_status, model.process_count, model.exec_count, incomplete)
