"""The verdicts of a check, as text lines and as JSON (``sysprobe check --json-report``)."""

from __future__ import annotations

from dataclasses import dataclass

from .._parsing.jsonl import REPORT_SCHEMA_NAME, REPORT_SCHEMA_VERSION
from .._rules.rules import RuleResult
from ..argtree import clean_json
from ..errors import EXIT_OK, EXIT_RULE_FAILED, EXIT_TIMEOUT
from .output import StyledLine, plural


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

    @property
    def exit_code(self) -> int:
        """What ``sysprobe check`` exits with: an incomplete trace has its own code."""
        if self.incomplete:
            return EXIT_TIMEOUT
        return EXIT_OK if self.passed else EXIT_RULE_FAILED

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
        """The verdicts, for CI tools (``sysprobe check --json-report FILE``): valid UTF-8,
        one type per key (sysprobe/schemas/report.schema.json)."""
        report = {
            "schema": REPORT_SCHEMA_NAME,
            "schema_version": REPORT_SCHEMA_VERSION,
            "title": self.title,
            "passed": self.passed,
            "exit_status": self.exit_status,
            "processes": self.processes,
            "execs": self.execs,
            "incomplete": self.incomplete,
            "tracer": self.tracer,
            "results": [_result_json(r) for r in self.results],
        }
        cleaned: dict[str, object] = clean_json(report)
        return cleaned


def _result_json(r: RuleResult) -> dict[str, object]:
    out: dict[str, object] = {
        "rule": r.rule,
        "passed": r.passed,
        "summary": r.summary,
        "evidence": [
            {"text": e, "where": None, "pid": None, "call": None, "note": None}
            if isinstance(e, str)
            else {"text": e.render(), "where": e.where, "pid": e.pid, "call": e.text, "note": e.note}
            for e in r.evidence
        ],
    }
    if r.leaks is not None:  # --no-fd-leaks: each crossing as data (Leak.to_json)
        out["leaks"] = [leak.to_json() for leak in r.leaks]
    if r.passes is not None:
        out["passes"] = [p.to_json() for p in r.passes]
    return out
