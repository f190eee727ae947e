"""Rules: what a test asserts about a trace, each with the evidence for its verdict.

Rules watch the event stream as it goes by and, for descriptors, what the model tells of
it (``on_exec``, ``on_close``), keeping at most a few evidence lines and counts, so a
check's memory does not grow with the trace. The driver (``_pipeline.Analysis``) calls
them in the same order whether the model runs now or its notifications were recorded in
an earlier pass (``Trace.check``).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from .._kernel.syscalls import EXECS, TRACKED
from .._model.fdmodel import FdModel
from .._model.records import Descriptor, ExecRecord
from .._report.output import plural
from ..errors import RuleSyntaxError
from ..events import Event, Exit, Killed, Syscall
from .patterns import COMPARISON, Pattern, compare, comparison, parse_pattern

MAX_EVIDENCE = 5
MAX_LEAKS_SHOWN = 50
PRUNE_AT = 4096  # tracked creations before Cloexec forgets the closed ones


def call_text(ev: Syscall) -> str:
    """A call as one line of strace notation, whether or not it was split in the log."""
    if ev.ret_text is None:
        result = " <unfinished>" if ev.split == "unfinished" else ""
    else:
        result = f" = {ev.ret_text}" + (f" {ev.aux}" if ev.aux else "")
    return f"{ev.name}({ev.args_text}){result}"


@dataclass(frozen=True)
class Evidence:
    """A line of the trace that supports a verdict."""

    where: str  # "line 12", "line 12+15" (a split call), "trace.123:4"
    pid: int | None
    text: str
    note: str | None = None

    @classmethod
    def of(cls, ev: Syscall, note: str | None = None) -> Evidence:
        return cls(ev.where(), ev.pid, call_text(ev), note)  # an injected call shows (INJECTED)

    def render(self) -> str:
        pid = "" if self.pid is None else f" pid {self.pid}"
        return f"{self.where}{pid}: {self.text}" + (f"   ({self.note})" if self.note else "")


@dataclass
class RuleResult:
    rule: str  # as written on the command line: "--expect sendfile"
    passed: bool
    summary: str
    evidence: list[Evidence | str] = field(default_factory=list)


def names_of(*patterns: Pattern) -> set[str] | None:
    """The calls these patterns can match (None: any call)."""
    names: set[str] = set()
    for pattern in patterns:
        if pattern.names is None:
            return None
        names |= pattern.names
    return names


class Rule:
    option = ""
    reads_model: ClassVar[bool] = False  # told of execs and closes (on_exec, on_close)

    def __init__(self, text: str) -> None:
        self.text = text

    @property
    def label(self) -> str:
        return f"{self.option} {self.text}".strip()

    def bind(self, model: FdModel, calls: Counter[str]) -> None:
        self.model = model
        self.consts = model.consts
        self.seen = calls  # every syscall name seen, with counts (shared by the rules)

    def observe(self, ev: Event, seq: int) -> None:
        """Called for every event in stream order, after the model has read it."""

    def on_exec(self, record: ExecRecord) -> None:
        """Called for every successful exec, as the model reads it."""

    def on_close(self, d: Descriptor, ev: Syscall | None) -> None:
        """Called for every descriptor that leaves a table (``ev``: the call that did it)."""

    def syscalls(self) -> set[str] | None:
        """The calls this rule reads (None: every call); the model's are added by the caller."""
        return set()

    def result(self) -> RuleResult:
        raise NotImplementedError


class _Matching(Rule):
    """Counts calls matching a pattern, keeping the first few and the nearest misses."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.pattern: Pattern = parse_pattern(text)
        self.count = 0
        self.examples: list[Evidence] = []
        self.near: list[Evidence] = []

    def observe(self, ev: Event, seq: int) -> None:
        if not isinstance(ev, Syscall):
            return
        names = self.pattern.names
        if names is not None and ev.name not in names:
            return
        if self.pattern.matches(ev, self.consts):
            self.count += 1
            if len(self.examples) < MAX_EVIDENCE:
                self.examples.append(Evidence.of(ev))
        elif len(self.near) < 3:
            self.near.append(Evidence.of(ev, self.pattern.mismatch(ev, self.consts)))

    def syscalls(self) -> set[str] | None:
        return names_of(self.pattern)

    def _more(self, shown: int) -> list[Evidence | str]:
        return [f"... and {self.count - shown} more"] if self.count > shown else []

    def _nothing_matched(self) -> list[Evidence | str]:
        if self.near:
            return ["nearest calls:", *self.near]
        names = self.pattern.name_list
        if not names:
            return []
        close = difflib.get_close_matches(names[0], list(self.seen), n=3, cutoff=0.6)
        hint = f"; calls with similar names: {', '.join(close)}" if close else ""
        return [f"the trace has no {' or '.join(names)} call at all{hint}"]


class Expect(_Matching):
    """At least one call matches."""

    option = "--expect"

    def result(self) -> RuleResult:
        if self.count:
            plural = "call" if self.count == 1 else "calls"
            return RuleResult(
                self.label,
                True,
                f"{self.count} matching {plural}",
                [*self.examples, *self._more(len(self.examples))],
            )
        return RuleResult(self.label, False, "no call matched", self._nothing_matched())


class Forbid(_Matching):
    """No call matches."""

    option = "--forbid"

    def result(self) -> RuleResult:
        if not self.count:
            return RuleResult(self.label, True, "no call matched")
        plural = "call" if self.count == 1 else "calls"
        return RuleResult(
            self.label,
            False,
            f"{self.count} matching {plural}",
            [*self.examples, *self._more(len(self.examples))],
        )


_COUNT = re.compile(rf"\s*{COMPARISON}\s*(\d+)\s+(.+)$", re.S)


class Count(_Matching):
    """``--expect-count ">=2 sendfile"``: the number of matching calls compares to N."""

    option = "--expect-count"

    def __init__(self, text: str) -> None:
        m = _COUNT.match(text)
        if m is None:
            raise RuleSyntaxError(f"--expect-count {text!r}: expected 'OP N PATTERN', e.g. '>=2 sendfile'")
        self.op, self.n = comparison(m.group(1)), int(m.group(2))
        super().__init__(m.group(3))
        self.text = text

    def result(self) -> RuleResult:
        ok = compare(self.count, self.op, self.n)
        summary = f"{self.count} matching call{'s' if self.count != 1 else ''} (wanted {self.op} {self.n})"
        evidence: list[Evidence | str] = [*self.examples, *self._more(len(self.examples))]
        if not self.count:
            evidence = self._nothing_matched()
        return RuleResult(self.label, ok, summary, evidence)


class Order(Rule):
    """``--order "A -> B"``: B happens, and in each process that calls B, an A comes first.

    Each process is judged at its first B, so only live processes that have not called B
    yet are remembered."""

    option = "--order"

    def __init__(self, text: str) -> None:
        super().__init__(text)
        first, sep, second = text.partition("->")
        if not sep or not first.strip() or not second.strip():
            raise RuleSyntaxError(f"--order {text!r}: expected 'PATTERN -> PATTERN'")
        self.before, self.after = parse_pattern(first), parse_pattern(second)
        self._first_before: dict[int | None, Evidence] = {}  # pids still waiting for their B
        self._judged: set[int | None] = set()  # live pids whose first B was seen
        self.in_order = 0
        self.out_of_order = 0
        self.shown: list[Evidence | str] = []
        self.wrong: list[Evidence | str] = []

    def observe(self, ev: Event, seq: int) -> None:
        pid = ev.pid
        if isinstance(ev, Exit | Killed):  # a reused pid is another process
            self._first_before.pop(pid, None)
            self._judged.discard(pid)
            return
        if not isinstance(ev, Syscall) or pid in self._judged:
            return
        if pid not in self._first_before and self.before.matches(ev, self.consts):
            self._first_before[pid] = Evidence.of(ev)
        if self.after.matches(ev, self.consts):
            self._judged.add(pid)
            before = self._first_before.pop(pid, None)
            if before is None:
                self.out_of_order += 1
                if len(self.wrong) < 2 * MAX_EVIDENCE:
                    self.wrong += [Evidence.of(ev), f"  ... with no {self.before} before it in pid {pid}"]
            else:
                self.in_order += 1
                if len(self.shown) < 2 * MAX_EVIDENCE:
                    self.shown += [before, Evidence.of(ev)]

    def syscalls(self) -> set[str] | None:
        return names_of(self.before, self.after)

    def result(self) -> RuleResult:
        if not self.in_order and not self.out_of_order:
            return RuleResult(self.label, False, f"no call matched {self.after}")
        if self.out_of_order:
            where = plural(self.out_of_order, "process", "processes")
            return RuleResult(self.label, False, f"out of order in {where}", self.wrong)
        return RuleResult(self.label, True, "in order", self.shown)


@dataclass(frozen=True)
class Leak:
    """A descriptor that crossed an execve without close-on-exec."""

    descriptor: Descriptor
    exec: ExecRecord

    @property
    def fd(self) -> int:
        return self.descriptor.fd

    def describe(self) -> str:
        d = self.descriptor
        text = (
            f"{d.describe()} leaked into pid {self.exec.pid} ({self.exec.program}) at {self.exec.where()}; "
            f"created by {d.origin.describe()}"
        )
        if d.source is not None:
            text += f"; it copies a descriptor created by {d.creation().describe()}"
        cleared = [c for c in d.changes if not c.cloexec]
        if cleared and not d.cloexec:
            text += f"; {cleared[-1].describe()}"
        return text


def leaks_of(model: FdModel, allow: set[int]) -> list[Leak]:
    return [Leak(d, record) for record in model.execs for d in record.crossed if d.fd not in allow]


def needed_syscalls(rules: Sequence[Rule]) -> set[str] | None:
    """The smallest set of calls to trace for these rules to reach the verdicts a full trace
    would: the descriptor model's calls and the ones the rules name (None: every call)."""
    needed = set(TRACKED)
    for rule in rules:
        names = rule.syscalls()
        if names is None:
            return None
        needed |= names
    return needed


class NoFdLeaks(Rule):
    """No descriptor but the allowed ones crosses an execve without close-on-exec."""

    option = "--no-fd-leaks"
    reads_model: ClassVar[bool] = True

    def __init__(self, allow: set[int]) -> None:
        super().__init__("")
        self.allow = allow
        self.leaks: list[Leak] = []  # the first MAX_LEAKS_SHOWN
        self.leak_count = 0
        self.allowed: list[Descriptor] = []  # the first few allowed crossings

    @property
    def label(self) -> str:
        allowed = "".join(f" --allow-fd {fd}" for fd in sorted(self.allow))
        return f"--no-fd-leaks{allowed}"

    def on_exec(self, record: ExecRecord) -> None:
        for d in record.crossed:
            if d.fd in self.allow:
                if len(self.allowed) < MAX_EVIDENCE:
                    self.allowed.append(d)
            else:
                self.leak_count += 1
                if len(self.leaks) < MAX_LEAKS_SHOWN:
                    self.leaks.append(Leak(d, record))

    def result(self) -> RuleResult:
        execs = self.model.exec_count
        if not self.leak_count:
            detail: list[Evidence | str] = [f"allowed: {d.describe()}" for d in self.allowed]
            return RuleResult(self.label, True, f"no leaks across {plural(execs, 'exec')}", detail)
        text: list[Evidence | str] = [leak.describe() for leak in self.leaks]
        if self.leak_count > len(self.leaks):
            text.append(f"... and {self.leak_count - len(self.leaks)} more")
        n = self.leak_count
        return RuleResult(self.label, False, f"{n} descriptor{'s' if n != 1 else ''} leaked", text)


class Cloexec(Rule):
    """``--cloexec PATTERN``: every descriptor created by a matching call has close-on-exec
    whenever an exec happens while it is open, and when it is closed or the trace ends."""

    option = "--cloexec"
    reads_model: ClassVar[bool] = True

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.pattern = parse_pattern(text)
        # (pid, line) of matching creations that may still be open; pruned as they close
        self.created: set[tuple[int | None, int]] = set()
        self.total = 0
        self.examples: list[Evidence] = []
        self.violations: list[str] = []  # the first few
        self.violation_count = 0
        self.checked = 0
        self._prune_at = PRUNE_AT

    def observe(self, ev: Event, seq: int) -> None:
        if (
            isinstance(ev, Syscall)
            and self.pattern.matches(ev, self.consts)
            and ev.ret is not None
            and ev.ret >= 0
        ):
            self.created.add((ev.pid, ev.line))
            self.total += 1
            if len(self.examples) < MAX_EVIDENCE:
                self.examples.append(Evidence.of(ev))
            if len(self.created) >= self._prune_at and not self.model.finished:
                self._prune()

    def _prune(self) -> None:
        """Forget creations whose descriptors are closed everywhere (a fork's copy shares
        the origin, so a close in one table does not tell). Only while the model reads the
        trace along with this rule: replayed over a finished model (``Trace.check``), the
        open descriptors are those of the end, and nothing needs forgetting."""
        open_now = {(d.origin.pid, d.origin.line) for _, d in self.model.open_descriptors()}
        self.created = {key for key in self.created if key in open_now or self.model.is_held(key[0])}
        self._prune_at = max(PRUNE_AT, 2 * len(self.created))

    def syscalls(self) -> set[str] | None:
        return names_of(self.pattern)

    def _ours(self, d: Descriptor) -> bool:
        return d.source is None and (d.origin.pid, d.origin.line) in self.created

    def _violation(self, text: str) -> None:
        self.violation_count += 1
        if len(self.violations) < 2 * MAX_EVIDENCE:
            self.violations.append(text)

    def on_exec(self, record: ExecRecord) -> None:
        for d in record.crossed:
            if self._ours(d):
                self._violation(
                    f"{d.describe()} from {d.origin.describe()} crossed exec of {record.program} "
                    f"at {record.where()} without close-on-exec"
                )

    def on_close(self, d: Descriptor, ev: Syscall | None) -> None:
        if self._ours(d):
            self.checked += 1
            if not d.cloexec and not (ev is not None and ev.name in EXECS):
                where = f" at {ev.where()}" if ev is not None else ""
                self._violation(
                    f"{d.describe()} from {d.origin.describe()} closed{where} "
                    "without ever having close-on-exec"
                )

    def result(self) -> RuleResult:
        for _, d in self.model.open_descriptors():
            if self._ours(d):
                self.checked += 1
                if not d.cloexec:
                    self._violation(
                        f"{d.describe()} from {d.origin.describe()} is open at the end without close-on-exec"
                    )
        if not self.total:
            return RuleResult(self.label, False, f"no descriptor was created by {self.pattern}")
        if self.violation_count:
            more = self.violation_count - len(self.violations)
            return RuleResult(
                self.label,
                False,
                f"{self.violation_count} violation(s)",
                [*self.violations, *([f"... and {more} more"] if more else [])],
            )
        summary = f"{plural(self.total, 'descriptor')}, close-on-exec throughout"
        return RuleResult(self.label, True, summary, [*self.examples])


class ExpectExit(Rule):
    """The traced command's exit status (128+N when killed by signal N)."""

    option = "--expect-exit"

    def __init__(self, code: int, status: int | None = None) -> None:
        super().__init__(str(code))
        self.code = code
        self.status = status

    def result(self) -> RuleResult:
        if self.status == self.code:
            return RuleResult(self.label, True, f"exit status {self.status}")
        got = "unknown" if self.status is None else str(self.status)
        return RuleResult(self.label, False, f"exit status {got}, not {self.code}")


@dataclass
class RuleSet:
    """Rules as the CLI spells them; every field is optional."""

    expect: Sequence[str] = ()
    forbid: Sequence[str] = ()
    expect_count: Sequence[str] = ()
    order: Sequence[str] = ()
    cloexec: Sequence[str] = ()
    no_fd_leaks: bool = False
    allow_fds: Iterable[int] = ()
    expect_exit: int | None = None

    def build(self) -> list[Rule]:
        """Parse every rule (RuleSyntaxError on the first that does not parse)."""
        rules: list[Rule] = [Expect(p) for p in self.expect]
        rules += [Forbid(p) for p in self.forbid]
        rules += [Count(p) for p in self.expect_count]
        rules += [Order(p) for p in self.order]
        rules += [Cloexec(p) for p in self.cloexec]
        if self.no_fd_leaks:
            rules.append(NoFdLeaks(set(self.allow_fds)))
        if self.expect_exit is not None:
            rules.append(ExpectExit(self.expect_exit))
        return rules
