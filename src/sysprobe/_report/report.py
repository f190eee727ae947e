"""The verdicts of a check, as text lines and as JSON (``sysprobe check --json-report``).

A green means "checked and held": every rule passed on a trace that holds everything the
rules need. Otherwise the report says why not, and ``exit_code`` is what every front end
exits with or raises on:

- 1: a rule failed on evidence no missing part of the trace could undo (``final``);
- 124 (the run hit its ``--timeout``) or 75 (``EXIT_INCOMPLETE``): the trace is
  incomplete — the run was cut short, lines could not be read, a rule needs calls the
  trace does not hold (``incomplete`` says each) — and no final failure was seen;
- 1: a rule failed (on a complete trace every failure is final);
- 0: every rule passed on a complete trace.

``notes`` say what degraded a complete run (the program's own ptrace refused): the
verdicts stand, on a run that may have behaved differently from an untraced one.
"""

from __future__ import annotations

from .._escape import printable
from .._parsing.jsonl import REPORT_SCHEMA_NAME, REPORT_SCHEMA_VERSION
from .._rules.rules import RuleResult
from .._value import MutableValue
from ..argtree import clean_json
from ..errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_RULE_FAILED, EXIT_TIMEOUT
from .output import StyledLine, plural

_WORDS = {"pass": ("PASS", "green"), "fail": ("FAIL", "bold red"), "undecided": ("UNDECIDED", "yellow")}


class Report(MutableValue):
    """The verdict of a set of rules on one trace."""

    title: str
    results: list[RuleResult]
    exit_status: int | None
    processes: int
    execs: int
    # why the trace may not hold everything the rules need: the run cut short, unparsed
    # lines, calls not traced (one sentence each; empty: it holds everything)
    incomplete: list[str]
    tracer: str | None  # which tracer ran the command ("strace 6.1", "python-ptrace 0.9.9")
    timed_out: bool  # the run was cut short by its timeout (124, not 75)
    notes: list[str]  # what degraded the run (RunOutcome.notes)
    degraded: bool  # the program's own ptrace was refused: it may have behaved differently
    unparsed: int  # lines of the trace that could not be read
    coverage: list[str]  # the -e trace= sets the trace was limited to

    __match_args__ = (
        "title",
        "results",
        "exit_status",
        "processes",
        "execs",
        "incomplete",
        "tracer",
        "timed_out",
        "notes",
        "degraded",
        "unparsed",
        "coverage",
    )

    def __init__(
        self,
        title: str,
        results: list[RuleResult],
        exit_status: int | None,
        processes: int,
        execs: int,
        incomplete: list[str] | None = None,
        tracer: str | None = None,
        timed_out: bool = False,
        notes: list[str] | None = None,
        degraded: bool = False,
        unparsed: int = 0,
        coverage: list[str] | None = None,
    ) -> None:
        self.title = title
        self.results = results
        self.exit_status = exit_status
        self.processes = processes
        self.execs = execs
        self.incomplete = [] if incomplete is None else incomplete
        self.tracer = tracer
        self.timed_out = timed_out
        self.notes = [] if notes is None else notes
        self.degraded = degraded
        self.unparsed = unparsed
        self.coverage = [] if coverage is None else coverage

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.results if r.verdict == "fail"]

    @property
    def undecided(self) -> list[RuleResult]:
        return [r for r in self.results if r.verdict == "undecided"]

    @property
    def exit_code(self) -> int:
        """What ``sysprobe check`` exits with (see the module's docstring)."""
        if any(r.final for r in self.failed):
            return EXIT_RULE_FAILED
        if self.incomplete or self.undecided:
            return EXIT_TIMEOUT if self.timed_out else EXIT_INCOMPLETE
        return EXIT_RULE_FAILED if self.failed else EXIT_OK

    @property
    def passed(self) -> bool:
        """Green: every rule held, on a trace that holds what they need."""
        return self.exit_code == EXIT_OK

    @property
    def verdict(self) -> str:
        """ "passed", "failed" (a final failure) or "incomplete"."""
        code = self.exit_code
        return "passed" if code == EXIT_OK else "failed" if code == EXIT_RULE_FAILED else "incomplete"

    def headline(self) -> str:
        status = "no exit status" if self.exit_status is None else f"exit {self.exit_status}"
        return (
            f"{self.title} — {status}, {plural(self.processes, 'process', 'processes')}, "
            f"{plural(self.execs, 'exec')}" + (f", traced by {self.tracer}" if self.tracer else "")
        )

    def lines(self) -> list[StyledLine]:
        """(style, text) lines of the report."""
        out: list[tuple[str, str]] = [("bold", f"sysprobe check: {self.headline()}")]
        out += [("yellow", f"  warning: {reason}") for reason in self.incomplete]
        if self.degraded:
            out.append(("yellow", "  note: the verdicts describe a degraded run"))
        out += [("yellow", f"  note: {note}") for note in self.notes]
        for r in self.results:
            word, style = _WORDS[r.verdict]
            out.append((style, f"  {word}  {r.rule}: {r.summary}"))
            for item in r.evidence:
                out.append(
                    ("dim" if r.passed else "", f"        {item if isinstance(item, str) else item.render()}")
                )
        out.append(self._footer())
        return out

    def _footer(self) -> StyledLine:
        code = self.exit_code
        total = plural(len(self.results), "rule")
        if code == EXIT_OK:
            degraded = " — on a degraded run (see the notes)" if self.degraded else ""
            return ("bold green", f"all {total} passed{degraded}")
        if code == EXIT_RULE_FAILED:
            text = f"{len(self.failed)} of {total} failed"
            if self.incomplete or self.undecided:
                text += " (on an incomplete trace: see the warnings)"
            return ("bold red", text)
        counts = [
            f"{n} {what}"
            for n, what in (
                (len(self.results) - len(self.failed) - len(self.undecided), "passed"),
                (len(self.failed), "failed"),
                (len(self.undecided), "undecided"),
            )
            if n
        ]
        return (
            "bold yellow",
            f"incomplete: {', '.join(counts)} of {total} on what the trace holds — "
            "not a verdict on the whole run",
        )

    def text(self) -> str:
        return "\n".join(printable(line) for _, line in self.lines())

    def to_json(self) -> dict[str, object]:
        """The verdicts, for CI tools (``sysprobe check --json-report FILE``): valid UTF-8,
        one type per key (sysprobe/schemas/report.schema.json)."""
        report = {
            "schema": REPORT_SCHEMA_NAME,
            "schema_version": REPORT_SCHEMA_VERSION,
            "title": self.title,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "passed": self.passed,
            "exit_status": self.exit_status,
            "processes": self.processes,
            "execs": self.execs,
            "incomplete": self.incomplete,
            "timed_out": self.timed_out,
            "degraded": self.degraded,
            "notes": self.notes,
            "unparsed": self.unparsed,
            "coverage": self.coverage,
            "tracer": self.tracer,
            "results": [_result_json(r) for r in self.results],
        }
        cleaned: dict[str, object] = clean_json(report)
        return cleaned


def _result_json(r: RuleResult) -> dict[str, object]:
    out: dict[str, object] = {
        "rule": r.rule,
        "verdict": r.verdict,
        "passed": r.passed,
        "final": r.final,
        "summary": r.summary,
        "undecided": r.undecided,
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
