"""Rules: what a test asserts about a trace, each with the evidence for its verdict.

Rules watch the event stream as it goes by and, for descriptors, what the model tells of
it (``on_exec``, ``on_close``), keeping at most a few evidence lines and counts, so a
check's memory does not grow with the trace. The driver (``_pipeline.Analysis``) calls
them in the same order whether the model runs now or its notifications were recorded in
an earlier pass (``Trace.check``).
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from typing import Any, ClassVar, Final

from .._kernel.syscalls import EXECS, TRACKED
from .._model.fdmodel import FdModel
from .._model.records import Descriptor, ExecRecord, FlagChange, ForkRecord, Origin
from .._report.output import plural
from .._value import MutableValue, Value
from ..errors import RuleSyntaxError
from ..events import Event, Exit, Killed, Syscall
from .patterns import COMPARISON, Pattern, compare, comparison, parse_pattern, pattern_error

MAX_EVIDENCE = 5
MAX_SHOWN_CALL = 400  # characters of a call a report shows (the JSON report has it whole)
MAX_LEAKS_SHOWN = 50
PRUNE_AT = 4096  # tracked creations before Cloexec forgets the closed ones
FLAG_SETTERS = frozenset({"fcntl", "fcntl64", "ioctl", "close_range"})  # calls that set close-on-exec


def call_text(ev: Syscall) -> str:
    """A call as one line of strace notation, whether or not it was split in the log."""
    if ev.ret_text is None:
        result = " <unfinished>" if ev.split == "unfinished" else ""
    else:
        result = f" = {ev.ret_text}" + (f" {ev.aux}" if ev.aux else "")
    return f"{ev.name}({ev.args_text}){result}"


class Evidence(Value):
    """A line of the trace that supports a verdict."""

    where: Final[str]  # "line 12", "line 12+15" (a split call), "trace.123:4"
    pid: Final[int | None]
    text: Final[str]
    note: Final[str | None]

    __match_args__ = ("where", "pid", "text", "note")

    def __init__(self, where: str, pid: int | None, text: str, note: str | None = None) -> None:
        self.where = where
        self.pid = pid
        self.text = text
        self.note = note

    @classmethod
    def of(cls, ev: Syscall, note: str | None = None) -> Evidence:
        return cls(ev.where(), ev.pid, call_text(ev), note)  # an injected call shows (INJECTED)

    def render(self) -> str:
        pid = "" if self.pid is None else f" pid {self.pid}"
        text = self.text
        if len(text) > MAX_SHOWN_CALL:  # a check may trace strings of kilobytes: keep the report readable
            text = f"{text[: MAX_SHOWN_CALL - 60]} [...] {text[-50:]}"
        return f"{self.where}{pid}: {text}" + (f"   ({self.note})" if self.note else "")


class RuleResult(MutableValue):
    """A rule's verdict: ``passed``, or failed; or ``undecided`` (a sentence: the trace
    does not hold what the rule needs — calls not traced, calls the kernel never sees —
    then ``passed`` is False too). ``final``: the verdict stands whatever the trace misses
    (the analysis sets it False where an incomplete trace could still change it)."""

    rule: str  # as written on the command line: "--expect sendfile"
    passed: bool
    summary: str
    evidence: list[Evidence | str]
    # --no-fd-leaks: the leaks and the deliberate passes shown (None for other rules)
    leaks: list[Leak] | None
    passes: list[Leak] | None
    undecided: str | None
    final: bool

    __match_args__ = ("rule", "passed", "summary", "evidence", "leaks", "passes", "undecided", "final")

    def __init__(
        self,
        rule: str,
        passed: bool,
        summary: str,
        evidence: list[Evidence | str] | None = None,
        leaks: list[Leak] | None = None,
        passes: list[Leak] | None = None,
        undecided: str | None = None,
        final: bool = True,
    ) -> None:
        self.rule = rule
        self.passed = passed
        self.summary = summary
        self.evidence = [] if evidence is None else evidence
        self.leaks = leaks
        self.passes = passes
        self.undecided = undecided
        self.final = final

    @property
    def verdict(self) -> str:
        """ "pass", "fail" or "undecided"."""
        return "undecided" if self.undecided else "pass" if self.passed else "fail"

    def undecide(self, why: str) -> None:
        """The trace cannot decide this rule: say why, keep what was seen."""
        self.undecided = why
        self.passed = False
        self.final = False
        self.evidence = [f"seen: {self.summary}", *self.evidence] if self.summary else self.evidence
        self.summary = why


class MayMatch:
    """Calls a pattern matches only for some value of what the trace left out (a string
    past -s, a struct's ``...``): neither a match nor a miss. The first few are evidence."""

    __slots__ = ("count", "shown", "worked")

    def __init__(self) -> None:
        self.count = 0
        self.worked = 0  # of which did not fail
        self.shown: list[Evidence] = []

    def add(self, ev: Syscall) -> None:
        self.count += 1
        if ev.errno is None:
            self.worked += 1
        if len(self.shown) < MAX_EVIDENCE:
            self.shown.append(Evidence.of(ev, MAY_MATCH_NOTE))

    def undecide(self, result: RuleResult, count: int | None = None) -> RuleResult:
        """``result`` made undecided by ``count`` of these calls (None: all of them)."""
        count = self.count if count is None else count
        result.undecide(
            f"{plural(count, 'call')} may match: the trace shows only part of "
            f"{'its' if count == 1 else 'their'} arguments (a string cut at strace's -s, "
            "a struct strace abbreviated with ...); capture the trace with a larger -s (and -v)"
        )
        shown = self.shown
        more = [f"... and {count - len(shown)} more"] if count > len(shown) else []
        result.evidence += [*shown, *more]
        return result


def may_match(pattern: Pattern, ev: Syscall, consts: dict[str, int]) -> bool:
    """Does ``ev`` match ``pattern`` only for some value of what strace left out?"""
    return pattern.could_match(ev, consts) and not pattern.matches(ev, consts)


MAY_MATCH_NOTE = "may match: part of it was not shown"


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

    def bind(self, model: FdModel, calls: dict[str, int]) -> None:
        self.model = model
        self.consts = model.consts
        self.seen = calls  # every syscall name seen, with counts (shared by the rules)

    def observe(self, ev: Event, seq: int) -> None:
        """Called for every event in stream order, after the model has read it."""

    def on_exec(self, record: ExecRecord) -> None:
        """Called for every successful exec, as the model reads it."""

    def on_close(self, d: Descriptor, ev: Event | None) -> None:
        """Called for every descriptor that leaves a table (``ev``: the call that did it,
        or the end of the last task that used the table: Exit, Killed)."""

    def on_fork(self, record: ForkRecord) -> None:
        """Called for every fork that copied a table other threads were using."""

    def syscalls(self) -> set[str] | None:
        """The calls this rule reads (None: every call); the model's are added by the caller."""
        return set()

    def needs(self) -> set[str] | None:
        """Every call the verdict depends on (None: every call): the rule's own, and the
        descriptor model's for a rule that reads it."""
        own = self.syscalls()
        if own is None:
            return None
        return own | TRACKED if self.reads_model else own

    def unseen(self) -> tuple[str, ...]:
        """Why a trace cannot show every call the rule names (the vDSO answers them)."""
        return ()

    def string_limit(self) -> int:
        """The strace ``-s`` that shows whole the strings the rule compares (0: none)."""
        return 0

    def verbose(self) -> bool:
        """Does the rule compare what strace abbreviates without ``-v``?"""
        return False

    def settled(self, holes: bool) -> bool:
        """Does the verdict stand whatever the trace misses: events anywhere (``holes``:
        unparsed lines, calls not traced), or only after its end (the run was cut short)?
        Call after ``result``. Each rule answers for itself: no answer is safe for all."""
        raise NotImplementedError

    def result(self) -> RuleResult:
        raise NotImplementedError


class _Matching(Rule):
    """Counts calls matching a pattern, keeping the first few and the nearest misses.

    A call that failed (an errno: ``= -1 EBADF``, an injected error) is counted apart:
    ``--expect`` without a result condition asks for a call that worked; ``--forbid`` and
    ``--expect-count`` count attempts. An attempt a signal interrupted (``= ?
    ERESTARTSYS``) neither worked nor failed: the kernel restarts it as a call of its own."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.pattern: Pattern = parse_pattern(text)
        self.count = 0  # every matching call
        self.succeeded = 0  # of which did not fail
        self.failed = 0  # of which failed
        self.errnos: Counter[str] = Counter()
        self.examples: list[Evidence] = []  # the first matching calls
        self.worked: list[Evidence] = []  # the first that did not fail
        self.failures: list[Evidence] = []  # the first that failed
        self.near: list[Evidence] = []
        self.maybe = MayMatch()

    def observe(self, ev: Event, seq: int) -> None:
        if not isinstance(ev, Syscall):
            return
        names = self.pattern.names
        if names is not None and ev.name not in names:
            return
        if self.pattern.matches(ev, self.consts):
            self._matched_call(ev)
        elif self.pattern.could_match(ev, self.consts):
            self.maybe.add(ev)
            if len(self.near) < 3:
                self.near.append(Evidence.of(ev, MAY_MATCH_NOTE))
        elif len(self.near) < 3:
            self.near.append(Evidence.of(ev, self.pattern.mismatch(ev, self.consts)))

    def _matched_call(self, ev: Syscall) -> None:
        self.count += 1
        evidence = Evidence.of(ev)
        if len(self.examples) < MAX_EVIDENCE:
            self.examples.append(evidence)
        if ev.errno is None:
            self.succeeded += 1
            if len(self.worked) < MAX_EVIDENCE:
                self.worked.append(evidence)
        else:
            self.errnos[ev.errno] += 1
            if not ev.errno.startswith("ERESTART"):  # interrupted: restarted as a call of its own
                self.failed += 1
            if len(self.failures) < MAX_EVIDENCE:
                self.failures.append(evidence)

    def syscalls(self) -> set[str] | None:
        return names_of(self.pattern)

    def unseen(self) -> tuple[str, ...]:
        return self.pattern.unseen

    def string_limit(self) -> int:
        return self.pattern.string_limit

    def verbose(self) -> bool:
        return self.pattern.verbose

    def _notes(self) -> list[Evidence | str]:
        return [f"note: {note}" for note in self.pattern.notes]

    def _more(self, shown: int, count: int | None = None) -> list[Evidence | str]:
        count = self.count if count is None else count
        return [f"... and {count - shown} more"] if count > shown else []

    def _failed_part(self) -> str:
        """ ", 2 of them failed": the failures among the matching calls, when the pattern
        does not say which result it wants."""
        if not self.failed or self.pattern.result is not None:
            return ""
        if self.failed == self.count:
            return ", which failed" if self.count == 1 else ", all failed"
        return f", {self.failed} of them failed"

    def _nothing_matched(self) -> list[Evidence | str]:
        if self.near:
            return ["nearest calls:", *self.near]
        names = self.pattern.name_list
        if not names:
            return []
        import difflib  # here, not at import: only a pattern nothing matched needs it

        close = difflib.get_close_matches(names[0], list(self.seen), n=3, cutoff=0.6)
        hint = f"; calls with similar names: {', '.join(close)}" if close else ""
        return [f"the trace has no {' or '.join(names)} call at all{hint}"]


class Expect(_Matching):
    """At least one call matches — without a result condition, one that worked: a call
    that failed (``sendfile = -1 EINVAL``, an injected ENOSYS) did not do what the program
    called it for, and a program that falls back after it never "used" it."""

    option = "--expect"

    @property
    def _matched(self) -> int:
        return self.count if self.pattern.result is not None else self.succeeded

    def settled(self, holes: bool) -> bool:
        return self._matched > 0  # a call seen stays seen; none seen proves nothing yet

    def result(self) -> RuleResult:
        matched = self._matched
        if matched:
            shown = self.examples if self.pattern.result is not None else self.worked
            summary = plural(matched, "matching call")
            if self.pattern.result is None and self.failed:
                summary += f" ({self.failed} more failed)"
            return RuleResult(
                self.label, True, summary, [*shown, *self._more(len(shown), matched), *self._notes()]
            )
        maybe = self.maybe.count if self.pattern.result is not None else self.maybe.worked
        if maybe:
            return self.maybe.undecide(RuleResult(self.label, False, "no call matched"), maybe)
        if self.count:  # every match failed (or was interrupted)
            errors = ", ".join(f"{name} ×{n}" if n > 1 else name for name, n in self.errnos.most_common())
            return RuleResult(
                self.label,
                False,
                f"matched only failed calls ({self.count}: {errors})",
                [
                    *self.failures,
                    *self._more(len(self.failures)),
                    "a pattern without a result condition asks for a call that worked; "
                    f"to expect a failed one, say so: '{self.pattern} = -1'",
                    *self._notes(),
                ],
            )
        return RuleResult(self.label, False, "no call matched", [*self._nothing_matched(), *self._notes()])


class Forbid(_Matching):
    """No call matches: attempts count, whether or not they failed."""

    option = "--forbid"

    def settled(self, holes: bool) -> bool:
        return self.count > 0

    def result(self) -> RuleResult:
        if not self.count:
            held = RuleResult(self.label, True, "no call matched", self._notes())
            return self.maybe.undecide(held) if self.maybe.count else held
        return RuleResult(
            self.label,
            False,
            f"{plural(self.count, 'matching call')}{self._failed_part()}",
            [*self.examples, *self._more(len(self.examples)), *self._notes()],
        )


_COUNT = re.compile(rf"\s*{COMPARISON}\s*(\d+)\s+(.+)$", re.S)


class Count(_Matching):
    """``--expect-count ">=2 sendfile"``: the number of matching calls (attempts, whether
    or not they failed) compares to N."""

    option = "--expect-count"

    def __init__(self, text: str) -> None:
        m = _COUNT.match(text)
        if m is None:
            raise pattern_error(
                text,
                len(text) - len(text.lstrip()),
                "expected a comparison, a number, then a pattern",
                "OP N PATTERN, with OP one of = != < <= > >=",
                ">=2 sendfile",
                what="--expect-count",
            )
        self.op, self.n = comparison(m.group(1)), int(m.group(2))
        super().__init__(m.group(3))
        self.text = text

    def settled(self, holes: bool) -> bool:
        """More matching calls could only raise the count: does the verdict stay?"""
        now = compare(self.count, self.op, self.n)
        return all(compare(c, self.op, self.n) == now for c in range(self.count, max(self.count, self.n) + 2))

    def result(self) -> RuleResult:
        ok = compare(self.count, self.op, self.n)
        summary = f"{plural(self.count, 'matching call')} (wanted {self.op} {self.n}){self._failed_part()}"
        evidence: list[Evidence | str] = [*self.examples, *self._more(len(self.examples))]
        if not self.count:
            evidence = self._nothing_matched()
        result = RuleResult(self.label, ok, summary, [*evidence, *self._notes()])
        low, high = self.count + 1, self.count + self.maybe.count  # the counts the uncertain calls allow
        edges = {low, high} | {c for c in (self.n - 1, self.n, self.n + 1) if low <= c <= high}
        if self.maybe.count and any(compare(c, self.op, self.n) != ok for c in edges):
            return self.maybe.undecide(result)
        return result


class Order(Rule):
    """``--order "A -> B"``: B happens, and in each process that calls B, an A comes first.

    Each process is judged at its first B, so only live processes that have not called B
    yet are remembered. The command's own first exec — the trace's first call — is not
    judged: nothing the command does can come before it (it may still be an A)."""

    option = "--order"

    def __init__(self, text: str) -> None:
        super().__init__(text)
        first, sep, second = text.partition("->")
        if not sep or not first.strip() or not second.strip():
            column = len(first) if sep else len(text.rstrip())
            raise pattern_error(
                text,
                column,
                "expected two patterns around '->'" if sep else "expected '->' between two patterns",
                "PATTERN -> PATTERN",
                "pipe2 -> fcntl(*, F_SETFD, FD_CLOEXEC)",
                what="--order",
            )
        self.before, self.after = parse_pattern(first), parse_pattern(second)
        self._first_before: dict[int | None, Evidence] = {}  # pids still waiting for their B
        self._judged: set[int | None] = set()  # live pids whose first B was seen
        self._started = False  # the trace's first call was seen
        self.initial: Evidence | None = None  # the command's own first exec, when it matched B
        self.in_order = 0
        self.out_of_order = 0
        self.shown: list[Evidence | str] = []
        self.wrong: list[Evidence | str] = []
        self.maybe = MayMatch()  # calls either pattern may match

    def observe(self, ev: Event, seq: int) -> None:
        pid = ev.pid
        if isinstance(ev, (Exit, Killed)):  # a reused pid is another process
            self._first_before.pop(pid, None)
            self._judged.discard(pid)
            return
        if not isinstance(ev, Syscall) or pid in self._judged:
            return
        initial = not self._started and ev.name in EXECS
        self._started = True
        for pattern in (self.before, self.after):
            if may_match(pattern, ev, self.consts):
                self.maybe.add(ev)
        if pid not in self._first_before and self.before.matches(ev, self.consts):
            self._first_before[pid] = Evidence.of(ev)
        if not self.after.matches(ev, self.consts):
            return
        if initial:
            self.initial = Evidence.of(ev)
            return
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

    def string_limit(self) -> int:
        return max(self.before.string_limit, self.after.string_limit)

    def verbose(self) -> bool:
        return self.before.verbose or self.after.verbose

    def unseen(self) -> tuple[str, ...]:
        return (*self.before.unseen, *self.after.unseen)

    def settled(self, holes: bool) -> bool:
        # a B seen without its A stays so when the trace only lacks its end; a missing
        # line anywhere could be the A
        return not holes and self.out_of_order > 0

    def result(self) -> RuleResult:
        notes: list[Evidence | str] = [f"note: {n}" for n in (*self.before.notes, *self.after.notes)]
        if self.initial is not None:
            notes.append(
                f"not judged: the command's own first exec ({self.initial.render()}): nothing "
                "the command does can come before it"
            )
        if not self.in_order and not self.out_of_order:
            result = RuleResult(self.label, False, f"no call matched {self.after}", notes)
        elif self.out_of_order:
            where = plural(self.out_of_order, "process", "processes")
            result = RuleResult(self.label, False, f"out of order in {where}", [*self.wrong, *notes])
        else:
            result = RuleResult(self.label, True, "in order", [*self.shown, *notes])
        return self.maybe.undecide(result) if self.maybe.count else result


class Leak(Value):
    """A descriptor that crossed an execve without close-on-exec — or may have
    (``certain`` False: another thread's call raced the fork that copied it) — or that
    the exec'ing process passed on purpose (``deliberate``)."""

    descriptor: Final[Descriptor]
    exec: Final[ExecRecord]
    deliberate: Final[bool]

    __match_args__ = ("descriptor", "exec", "deliberate")

    def __init__(self, descriptor: Descriptor, exec: ExecRecord, deliberate: bool = False) -> None:
        self.descriptor = descriptor
        self.exec = exec
        self.deliberate = deliberate

    @property
    def fd(self) -> int:
        return self.descriptor.fd

    @property
    def certain(self) -> bool:
        """Does the trace prove it crossed? (False: it may have.)"""
        return self.descriptor.surely_crosses()

    def describe(self) -> str:
        d = self.descriptor
        record = self.exec
        if self.deliberate:
            how = d.made_inheritable_by()
            made = how.describe() if isinstance(how, FlagChange) else f"placed there by {how.describe()}"
            text = (
                f"{d.describe()} passed on purpose into pid {record.pid} ({record.program}) at "
                f"{record.where()}: {made}"
            )
            if d.source is not None:
                text += f"; it copies a descriptor created by {d.creation().describe()}"
            return text
        verb = "leaked" if self.certain or d.race is None else f"may have leaked ({d.race.cause()})"
        text = (
            f"{d.describe()} {verb} into pid {record.pid} ({record.program}) at {record.where()}; "
            f"created by {d.origin.describe()}"
        )
        if d.source is not None:
            text += f"; it copies a descriptor created by {d.creation().describe()}"
        cleared = [c for c in d.changes if not c.cloexec]
        if cleared and not d.cloexec:
            text += f"; {cleared[-1].describe()}"
        if d.race is not None:
            text += f"; {d.race.describe()}"
        return text

    def to_json(self) -> dict[str, Any]:
        """The crossing for CI tools and reports (``check --json-report``)."""
        d = self.descriptor
        record = self.exec
        how = d.made_inheritable_by()
        return {
            "fd": d.fd,
            "kind": d.kind,
            "name": d.name,
            "certain": self.certain,
            "deliberate": self.deliberate,
            "pid": record.pid,
            "program": record.program,
            "exec": _where_json(record.file, record.line),
            "created_by": _origin_json(d.origin),
            "copies": _origin_json(d.creation()) if d.source is not None else None,
            "cloexec_cleared_by": (
                {"call": how.syscall, "pid": how.pid, **_where_json(how.file, how.line)}
                if isinstance(how, FlagChange)
                else None
            ),
            "race": (
                {
                    "copy": _origin_json(d.race.copy),
                    "in_flight": [_origin_json(o) for o in d.race.calls],
                    "what": d.race.what,
                }
                if d.race is not None
                else None
            ),
            "text": self.describe(),
        }


def _where_json(file: str | None, line: int | None) -> dict[str, Any]:
    return {"line": line, **({"file": file} if file else {})}


def _origin_json(o: Origin) -> dict[str, Any]:
    out: dict[str, Any] = {"call": o.syscall, "pid": o.pid, **_where_json(o.file, o.line)}
    if o.detail:
        out["detail"] = o.detail
    return out


_ALLOW = re.compile(r"(?:(?P<program>.+):)?(?P<first>\d+)(?:-(?P<last>\d+))?$", re.S)


class AllowFd(Value):
    """``--allow-fd``: descriptor numbers allowed to cross, into every program or one."""

    first: Final[int]
    last: Final[int]
    program: Final[str | None]  # a path, a file name or a glob (fnmatch) of either

    __match_args__ = ("first", "last", "program")

    def __init__(self, first: int, last: int, program: str | None = None) -> None:
        self.first = first
        self.last = last
        self.program = program

    @classmethod
    def parse(cls, spec: int | str | AllowFd) -> AllowFd:
        """``3``, ``3-8``, ``PROGRAM:3`` or ``PROGRAM:3-8``."""
        if isinstance(spec, AllowFd):
            return spec
        if isinstance(spec, int):
            if spec < 0:
                raise RuleSyntaxError(f"--allow-fd {spec}: a descriptor number is not negative")
            return cls(spec, spec)
        m = _ALLOW.match(spec.strip())
        if m is None or m.group("program") == "":
            raise RuleSyntaxError(
                f"--allow-fd {spec!r}: expected N, N-M, PROGRAM:N or PROGRAM:N-M (e.g. 3, 'python3:3-8')"
            )
        first = int(m.group("first"))
        last = int(m.group("last")) if m.group("last") else first
        if last < first:
            raise RuleSyntaxError(f"--allow-fd {spec!r}: the range ends before it starts")
        return cls(first, last, m.group("program"))

    def allows(self, fd: int, program: str) -> bool:
        if not self.first <= fd <= self.last:
            return False
        if self.program is None:
            return True
        name = program.rsplit("/", 1)[-1]
        return fnmatchcase(program, self.program) or fnmatchcase(name, self.program)

    def __str__(self) -> str:
        numbers = str(self.first) if self.first == self.last else f"{self.first}-{self.last}"
        return numbers if self.program is None else f"{self.program}:{numbers}"


def crossings_of(model: FdModel) -> list[Leak]:
    """Every descriptor that crossed (or may have crossed) an exec, deliberate or not."""
    return [Leak(d, record, d.fd in record.deliberate) for record in model.execs for d in record.all_crossed]


def leaks_of(
    model: FdModel, allow: Iterable[int | str | AllowFd] = (), *, count_passes: bool = False
) -> list[Leak]:
    """The leaks: crossings not passed on purpose (all of them with ``count_passes``),
    but for the allowed ones."""
    allowed = [AllowFd.parse(a) for a in allow]
    return [
        leak
        for leak in crossings_of(model)
        if (count_passes or not leak.deliberate)
        and not any(a.allows(leak.fd, leak.exec.program) for a in allowed)
    ]


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


def needed_string_limit(rules: Sequence[Rule]) -> int:
    """The strace ``-s`` these rules need to compare whole strings (0: strace's default)."""
    return max((rule.string_limit() for rule in rules), default=0)


def needed_verbose(rules: Sequence[Rule]) -> bool:
    """Do these rules need strace's ``-v`` (structs and arrays unabbreviated)?"""
    return any(rule.verbose() for rule in rules)


class NoFdLeaks(Rule):
    """No descriptor but the allowed ones crosses an execve without close-on-exec, unless
    the exec'ing process passed it on purpose (counted too with ``count_passes``)."""

    option = "--no-fd-leaks"
    reads_model: ClassVar[bool] = True

    def __init__(self, allow: Iterable[int | str | AllowFd] = (), count_passes: bool = False) -> None:
        super().__init__("")
        self.allow = [AllowFd.parse(a) for a in allow]
        self.count_passes = count_passes
        self.leaks: list[Leak] = []  # the first MAX_LEAKS_SHOWN
        self.leak_count = 0
        self.uncertain_count = 0
        self.passes: list[Leak] = []  # the first MAX_LEAKS_SHOWN deliberate passes
        self.pass_count = 0
        self.allowed: list[Descriptor] = []  # the first few allowed crossings

    @property
    def label(self) -> str:
        allowed = "".join(f" --allow-fd {shlex.quote(str(a))}" for a in self.allow)
        return f"--no-fd-leaks{allowed}" + (" --count-passes" if self.count_passes else "")

    def on_exec(self, record: ExecRecord) -> None:
        deliberate = record.deliberate
        for d in record.crossed:
            if any(a.allows(d.fd, record.program) for a in self.allow):
                if len(self.allowed) < MAX_EVIDENCE:
                    self.allowed.append(d)
            elif d.fd in deliberate and not self.count_passes:
                self.pass_count += 1
                if len(self.passes) < MAX_LEAKS_SHOWN:
                    self.passes.append(Leak(d, record, True))
            else:
                leak = Leak(d, record, d.fd in deliberate)
                self.leak_count += 1
                self.uncertain_count += not leak.certain
                if len(self.leaks) < MAX_LEAKS_SHOWN:
                    self.leaks.append(leak)

    def settled(self, holes: bool) -> bool:
        # a crossing seen stays when only the trace's end is missing; a missing line
        # anywhere could be the close or the fcntl that prevented it
        return not holes and self.leak_count > 0

    def result(self) -> RuleResult:
        execs = self.model.exec_count
        passes: list[Evidence | str] = []
        if self.pass_count:
            passes.append(f"passed on purpose ({self.pass_count}):")
            passes += [f"  {p.describe()}" for p in self.passes]
            if self.pass_count > len(self.passes):
                passes.append(f"  ... and {self.pass_count - len(self.passes)} more")
        notes: list[Evidence | str] = []
        given_up = self.model.races.given_up
        if given_up:
            notes.append(
                f"note: {plural(given_up, 'racing fork')} stopped being followed for calls still in flight "
                "(too many forks raced one long call); a descriptor such a call made later is not counted"
            )
        if not self.leak_count:
            detail: list[Evidence | str] = [f"allowed: {d.describe()}" for d in self.allowed]
            summary = f"no leaks across {plural(execs, 'exec')}"
            if self.pass_count:
                summary += f"; {plural(self.pass_count, 'descriptor')} passed on purpose"
            return RuleResult(self.label, True, summary, [*detail, *passes, *notes], [], self.passes)
        text: list[Evidence | str] = [leak.describe() for leak in self.leaks]
        if self.leak_count > len(self.leaks):
            text.append(f"... and {self.leak_count - len(self.leaks)} more")
        n = self.leak_count
        descriptors = f"{n} descriptor{'s' if n != 1 else ''}"
        summary = f"{descriptors} leaked"
        if self.uncertain_count == n:
            summary = f"{descriptors} may have leaked (the trace cannot tell: see below)"
        elif self.uncertain_count:
            summary += f" ({self.uncertain_count} of them may have: the trace cannot tell)"
        return RuleResult(self.label, False, summary, [*text, *passes, *notes], self.leaks, self.passes)


def _made_at(d: Descriptor) -> tuple[int | None, int | None] | None:
    """The pid and line of the call that made ``d``; None for one learnt (origin unknown)
    from the call that first showed it, which made nothing (``--cloexec fcntl`` must not
    take an inherited descriptor first seen in fcntl as fcntl's own)."""
    origin = d.origin
    return None if origin.syscall is None else (origin.pid, origin.line)


class Cloexec(Rule):
    """``--cloexec PATTERN``: every descriptor created by a matching call has close-on-exec
    whenever an exec happens while it is open, whenever another thread of its process
    forks while it is open (the race O_CLOEXEC exists for: that child may exec before
    the flag is set), and at the end of its life: when it is closed, when its process
    ends holding it (the process might have exec'd instead), or when the trace ends.

    A descriptor is reported once for the end of its life (a fork's copy shares its
    creation); each exec it crossed and each fork it was exposed to are reported too."""

    option = "--cloexec"
    reads_model: ClassVar[bool] = True

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.pattern = parse_pattern(text)
        # (pid, line) of matching creations that may still be open; pruned as they close
        self.created: set[tuple[int | None, int]] = set()
        self.total = 0  # matching calls that created descriptors
        self.descriptors = 0  # the descriptors they created
        self.examples: list[Evidence] = []
        self.violations: list[str] = []  # the first few
        self.violation_count = 0
        self.open_at_end = 0  # violations only because the trace ended with it open
        # (pid, line, fd) of descriptors whose lifelong lack was reported
        self._reported: set[tuple[int | None, int | None, int]] = set()
        self._prune_at = PRUNE_AT
        # race windows shown, by creation (pid, line), waiting for the call that set the flag
        self._windows: dict[tuple[int | None, int | None], int] = {}
        self.maybe = MayMatch()  # creations the pattern may match

    def observe(self, ev: Event, seq: int) -> None:
        if (
            isinstance(ev, Syscall)
            and self.pattern.matches(ev, self.consts)
            and ev.ret is not None
            and ev.ret >= 0
        ):
            self.created.add((ev.pid, ev.line))
            self.total += 1
            self.descriptors += self._made_by(ev)
            if len(self.examples) < MAX_EVIDENCE:
                self.examples.append(Evidence.of(ev))
            if len(self.created) >= self._prune_at and not self.model.finished:
                self._prune()
        elif (
            isinstance(ev, Syscall)
            and ev.ret is not None
            and ev.ret >= 0
            and may_match(self.pattern, ev, self.consts)
        ):
            self.maybe.add(ev)  # its descriptors may be ours: unknown whether they kept the rule
        elif self._windows and isinstance(ev, Syscall) and ev.name in FLAG_SETTERS and ev.ret == 0:
            # a race window shown: is this the call that finally set the flag?
            for d in self._table(ev.pid, seq).values():
                if d.cloexec and (d.origin.pid, d.origin.line) in self._windows:
                    self._window_closed(d)

    def _made_by(self, ev: Syscall) -> int:
        """How many descriptors the call put in its table (at least one when its task's
        events wait for its creation to show: the model applies them later)."""
        model = self.model
        if model.finished:
            clock = model.applied_at(ev)
            table = model.table_at(ev.pid, clock) if clock is not None else {}
        elif model.is_held(ev.pid):
            return 1
        else:
            table = model.table(ev.pid)
        return sum(1 for d in table.values() if _made_at(d) == (ev.pid, ev.line))

    def _table(self, pid: int | None, seq: int) -> dict[int, Descriptor]:
        """``pid``'s table as the event ``seq`` left it (replayed over a finished model too)."""
        model = self.model
        return model.table(pid, after=seq) if model.finished else model.table(pid)

    def _prune(self) -> None:
        """Forget creations whose descriptors are closed everywhere (a fork's copy shares
        the origin, so a close in one table does not tell). Only while the model reads the
        trace along with this rule: replayed over a finished model (``Trace.check``), the
        open descriptors are those of the end, and nothing needs forgetting."""
        open_now = {(d.origin.pid, d.origin.line) for _, d in self.model.open_descriptors()}
        self.created = {key for key in self.created if key in open_now or self.model.is_held(key[0])}
        self._reported = {key for key in self._reported if key[:2] in self.created}
        self._prune_at = max(PRUNE_AT, 2 * len(self.created))

    def syscalls(self) -> set[str] | None:
        return names_of(self.pattern)

    def string_limit(self) -> int:
        return self.pattern.string_limit

    def verbose(self) -> bool:
        return self.pattern.verbose

    def unseen(self) -> tuple[str, ...]:
        return self.pattern.unseen

    def settled(self, holes: bool) -> bool:
        # what happened to a descriptor stays when the trace only lacks its end (but for
        # "open at the end": the flag may have come later); a missing line anywhere could
        # be the fcntl that set it
        return not holes and self.violation_count > self.open_at_end

    def _ours(self, d: Descriptor) -> bool:
        return d.source is None and _made_at(d) in self.created

    def _violation(self, text: str) -> None:
        self.violation_count += 1
        if len(self.violations) < 2 * MAX_EVIDENCE:
            self.violations.append(text)

    def _ended_without(self, d: Descriptor, how: str) -> bool:
        """Report a descriptor that ends its life without close-on-exec, once."""
        key = (d.origin.pid, d.origin.line, d.fd)
        if key in self._reported:
            return False
        self._reported.add(key)
        self._violation(f"{d.describe()} from {d.origin.describe()} {how}")
        return True

    def on_exec(self, record: ExecRecord) -> None:
        for d in record.crossed:
            if self._ours(d):
                self._reported.add((d.origin.pid, d.origin.line, d.fd))  # its lack is shown
                self._violation(
                    f"{d.describe()} from {d.origin.describe()} crossed exec of {record.program} "
                    f"at {record.where()} without close-on-exec"
                )

    def on_fork(self, record: ForkRecord) -> None:
        for d in record.exposed:
            if not self._ours(d) or d.cloexec or d.origin.pid == record.pid:
                continue
            key = (d.origin.pid, d.origin.line)
            if key in self._windows:
                continue  # one window per descriptor is enough to show
            maybe = d.race is not None and not d.surely_crosses()
            text = (
                f"{d.describe()} from {d.origin.describe()} "
                f"{'may have been' if maybe else 'was'} without close-on-exec while pid "
                f"{record.pid} forked ({record.call.describe()}): that child could exec with it"
            )
            if d.race is not None and maybe:
                text += f"; {d.race.describe()}"
            self._violation(text)
            if len(self.violations) and self.violations[-1] is text:
                self._windows[key] = len(self.violations) - 1

    def _window_closed(self, d: Descriptor) -> None:
        """``d`` (of a race window shown) got close-on-exec: name the call that set it."""
        i = self._windows.pop((d.origin.pid, d.origin.line), None)
        if i is not None:
            setting = next((c for c in reversed(d.changes) if c.cloexec), None)
            if setting is not None:
                by = setting.describe().removeprefix("close-on-exec set by ")
                self.violations[i] += f"; close-on-exec set only later, by {by}"

    def on_close(self, d: Descriptor, ev: Event | None) -> None:
        if self._windows and d.cloexec:
            self._window_closed(d)
        if not self._ours(d) or d.cloexec:
            return
        if isinstance(ev, (Exit, Killed)):
            end = "exited" if isinstance(ev, Exit) else f"was killed by {ev.signal}"
            self._ended_without(d, f"held until pid {ev.pid} {end} at {ev.where()} {_lacking(d)}")
        elif not (isinstance(ev, Syscall) and ev.name in EXECS):  # an exec's close: the flag was set
            where = f" at {ev.where()}" if ev is not None else ""
            self._ended_without(d, f"closed{where} {_lacking(d)}")

    def result(self) -> RuleResult:
        for _, d in self.model.open_descriptors():
            if self._windows and d.cloexec:
                self._window_closed(d)
            if self._ours(d) and not d.cloexec:
                self.open_at_end += self._ended_without(d, "is open at the end without close-on-exec")
        notes: list[Evidence | str] = [f"note: {note}" for note in self.pattern.notes]
        if self.maybe.count and not self.violation_count:  # a violation seen stands; a pass may not
            summary = f"{plural(self.descriptors, 'descriptor')} from {plural(self.total, 'call')}"
            return self.maybe.undecide(RuleResult(self.label, False, summary, notes))
        if not self.descriptors:
            return RuleResult(self.label, False, f"no descriptor was created by {self.pattern}", notes)
        if self.violation_count:
            more = self.violation_count - len(self.violations)
            return RuleResult(
                self.label,
                False,
                plural(self.violation_count, "violation"),
                [*self.violations, *([f"... and {more} more"] if more else []), *notes],
            )
        made = f"{plural(self.descriptors, 'descriptor')} from {plural(self.total, 'call')}"
        return RuleResult(self.label, True, f"{made}, close-on-exec throughout", [*self.examples, *notes])


def _lacking(d: Descriptor) -> str:
    """``d`` without close-on-exec, and the last change of its flag the trace shows. Not
    "never had it": a flag made by the creating call and found cleared by fcntl(F_GETFD)
    (a clearing the trace does not hold) leaves no change behind."""
    if not d.changes:
        return "without close-on-exec"
    last = d.changes[-1]
    later = "" if not last.cloexec else ", then found cleared"
    return f"without close-on-exec ({last.describe()}{later})"


class ExpectExit(Rule):
    """The traced command's exit status (128+N when killed by signal N)."""

    option = "--expect-exit"

    def __init__(self, code: int, status: int | None = None) -> None:
        super().__init__(str(code))
        self.code = code
        self.status = status

    def settled(self, holes: bool) -> bool:
        return self.status is not None  # the trace showed how the command ended

    def result(self) -> RuleResult:
        if self.status == self.code:
            return RuleResult(self.label, True, f"exit status {self.status}")
        got = "unknown" if self.status is None else str(self.status)
        return RuleResult(self.label, False, f"exit status {got}, not {self.code}")


class RuleSet(MutableValue):
    """Rules as the CLI spells them; every field is optional. ``allow_fds``: numbers,
    ``"N-M"`` ranges, ``"PROGRAM:N"`` for one program (``AllowFd.parse``);
    ``count_passes``: with ``no_fd_leaks``, descriptors passed on purpose count as leaks."""

    expect: Sequence[str]
    forbid: Sequence[str]
    expect_count: Sequence[str]
    order: Sequence[str]
    cloexec: Sequence[str]
    no_fd_leaks: bool
    allow_fds: Iterable[int | str]
    expect_exit: int | None
    count_passes: bool

    __match_args__ = (
        "expect",
        "forbid",
        "expect_count",
        "order",
        "cloexec",
        "no_fd_leaks",
        "allow_fds",
        "expect_exit",
        "count_passes",
    )

    def __init__(
        self,
        expect: Sequence[str] = (),
        forbid: Sequence[str] = (),
        expect_count: Sequence[str] = (),
        order: Sequence[str] = (),
        cloexec: Sequence[str] = (),
        no_fd_leaks: bool = False,
        allow_fds: Iterable[int | str] = (),
        expect_exit: int | None = None,
        count_passes: bool = False,
    ) -> None:
        self.expect = expect
        self.forbid = forbid
        self.expect_count = expect_count
        self.order = order
        self.cloexec = cloexec
        self.no_fd_leaks = no_fd_leaks
        self.allow_fds = allow_fds
        self.expect_exit = expect_exit
        self.count_passes = count_passes

    def build(self) -> list[Rule]:
        """Parse every rule (RuleSyntaxError on the first that does not parse)."""
        rules: list[Rule] = [Expect(p) for p in self.expect]
        rules += [Forbid(p) for p in self.forbid]
        rules += [Count(p) for p in self.expect_count]
        rules += [Order(p) for p in self.order]
        rules += [Cloexec(p) for p in self.cloexec]
        allow = [AllowFd.parse(a) for a in self.allow_fds]
        if allow and not self.no_fd_leaks:
            raise RuleSyntaxError("--allow-fd goes with --no-fd-leaks")
        if self.count_passes and not self.no_fd_leaks:
            raise RuleSyntaxError("--count-passes goes with --no-fd-leaks")
        if self.no_fd_leaks:
            rules.append(NoFdLeaks(allow, self.count_passes))
        if self.expect_exit is not None:
            rules.append(ExpectExit(self.expect_exit))
        return rules
