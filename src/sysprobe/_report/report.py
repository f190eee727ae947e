"""The verdicts of a check, as text lines and as JSON (``sysprobe check --json-report``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._rules.rules import RuleResult
from ..errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_RULE_FAILED, EXIT_TIMEOUT
from .output import StyledLine, plural


@dataclass
class Report:
    """The verdict of a set of rules on one trace.

    On an incomplete run (``incomplete``: why the trace does not cover the whole run) only
    the failures in ``standing`` are verdicts — failures no later event could undo
    (``_rules.standing``); every other rule is undecided, whatever it saw."""

    title: str
    results: list[RuleResult]
    exit_status: int | None
    processes: int
    execs: int
    incomplete: str | None = None  # why the trace is partial (RunOutcome.incomplete)
    tracer: str | None = None  # which tracer ran the command ("strace 6.1", "python-ptrace 0.9.9")
    timed_out: bool = False  # the incomplete run was cut short by its timeout
    notes: list[str] = field(default_factory=list)  # what degraded the run (RunOutcome.notes())
    standing: list[str] = field(default_factory=list)  # labels of failures that stand on a partial trace

    @property
    def passed(self) -> bool:
        """Green: every rule checked and held — never on an incomplete run."""
        return not self.incomplete and all(r.passed for r in self.results)

    @property
    def failed(self) -> list[RuleResult]:
        """The failures that are verdicts (on an incomplete run, those that stand)."""
        return [r for r in self.results if self.verdict(r) == "fail"]

    @property
    def undecided(self) -> list[RuleResult]:
        """The rules an incomplete run leaves without a verdict."""
        return [r for r in self.results if self.verdict(r) == "undecided"]

    def verdict(self, result: RuleResult) -> str:
        """The verdict on ``result``: "pass", "fail", or "undecided" (on an incomplete run,
        a failure that does not stand, or a pass)."""
        if not self.incomplete:
            return "pass" if result.passed else "fail"
        return "fail" if not result.passed and result.rule in self.standing else "undecided"

    @property
    def exit_code(self) -> int:
        """What ``sysprobe check`` exits with (README: "Exit codes"): 0 when every rule
        held, 1 when one failed — also on an incomplete run, for a failure that stands
        there (the red is proven) — else, on an incomplete run, 124 after a timeout
        (as GNU timeout) and 75 otherwise (interrupted, tracer killed)."""
        if self.failed:
            return EXIT_RULE_FAILED
        if self.incomplete:
            return EXIT_TIMEOUT if self.timed_out else EXIT_INCOMPLETE
        return EXIT_OK

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
            out.append(("bold yellow", f"  incomplete: {self.incomplete}; the verdict is on a partial trace"))
        out += [("yellow", f"  note: {note}") for note in self.notes]
        for r in self.results:
            verdict = self.verdict(r)
            style, mark = _MARKS[verdict]
            summary = r.summary + (" (so far)" if verdict == "undecided" else "")
            out.append((style, f"  {mark}  {r.rule}: {summary}"))
            for item in r.evidence:
                out.append(
                    ("dim" if r.passed else "", f"        {item if isinstance(item, str) else item.render()}")
                )
        out.append(self._conclusion())
        return out

    def _conclusion(self) -> StyledLine:
        rules = plural(len(self.results), "rule")
        failed, undecided = len(self.failed), len(self.undecided)
        if undecided:
            decided = f"{failed} of {rules} failed; " if failed else ""
            return (
                "bold red" if failed else "bold yellow",
                f"{decided}{plural(undecided, 'rule')} undecided: the run is incomplete",
            )
        if failed:
            return ("bold red", f"{failed} of {rules} failed")
        return ("bold green", f"all {rules} passed")

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
            "notes": self.notes,
            "exit_code": self.exit_code,
            "tracer": self.tracer,
            "results": [_result_json(r, self.verdict(r)) for r in self.results],
        }


# how each verdict is marked in the text report: (style, mark)
_MARKS = {"pass": ("green", "PASS"), "fail": ("bold red", "FAIL"), "undecided": ("yellow", "UNDECIDED")}


def _result_json(r: RuleResult, verdict: str) -> dict[str, object]:
    out: dict[str, object] = {
        "rule": r.rule,
        "verdict": verdict,
        "passed": r.passed,
        "summary": r.summary,
        "evidence": [
            e if isinstance(e, str) else {"where": e.where, "pid": e.pid, "call": e.text, "note": e.note}
            for e in r.evidence
        ],
    }
    if r.leaks is not None:  # --no-fd-leaks: each crossing as data (Leak.to_json)
        out["leaks"] = [leak.to_json() for leak in r.leaks]
    if r.passes is not None:
        out["passes"] = [p.to_json() for p in r.passes]
    return out
