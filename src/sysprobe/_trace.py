"""The Python API: ``sysprobe.trace(argv)`` and ``sysprobe.parse(path)`` return a Trace."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from ._escape import printable
from ._model.fdmodel import FdModel
from ._model.records import Descriptor, Process
from ._pipeline import Analysis, Command, Recording, command, logs, record
from ._rules.patterns import parse_pattern
from ._rules.rules import Leak, RuleSet, crossings_of, leaks_of
from ._version import __version__
from .errors import EXIT_OK, EXIT_RULE_FAILED, EXIT_TIMEOUT, RunIncomplete, TimedOut
from .events import Event, Syscall

if TYPE_CHECKING:
    from ._golden.golden import GoldenResult
    from ._report.report import Report
    from ._report.summary import Summary
    from ._tracing.supervisor import RunOutcome

T = TypeVar("T", bound="Trace")
OutputReader = Callable[[], tuple[bytes | None, bytes | None]]


class Trace:
    """A traced run or a parsed log: its events, processes, descriptor tables and leaks,
    with assertions that fail with sysprobe's report.

    The events are read once, when the Trace is made; every question is answered from that
    pass (the descriptor model keeps the history of every table, and what it told the
    rules), never by reading the trace again."""

    events: list[Event]
    title: str
    arch: str | None
    outcome: RunOutcome | None
    syscalls: str | None  # the -e trace= set it was made with, if any
    model: FdModel
    summary: Summary | None
    recording: Recording
    # what the command wrote, when the run captured it (``capture_output``); else None
    stdout: bytes | None = None
    stderr: bytes | None = None

    def __init__(
        self,
        events: Iterable[Event],
        *,
        title: str,
        arch: str | None = None,
        outcome: RunOutcome | None = None,
        syscalls: str | None = None,
    ) -> None:
        analysis = Analysis(arch=arch, keep_events=True, summary=True).feed_all(events)
        analysis.close()
        self._take(Recording(title, analysis, outcome, arch, syscalls))

    @classmethod
    def of(cls: type[T], recording: Recording) -> T:
        """The Trace of a recorded pass (``_pipeline.record(..., keep_events=True)``)."""
        made = cls.__new__(cls)
        made._take(recording)
        return made

    def _take(self, recording: Recording) -> None:
        events = recording.analysis.events
        if events is None:
            raise ValueError("a Trace needs a recording that kept its events")
        self.recording = recording
        self.events = events
        self.title = recording.title
        self.arch = recording.arch
        self.outcome = recording.outcome
        self.syscalls = recording.syscalls
        self.model = recording.analysis.model
        self.summary = recording.analysis.summary
        self._ends: list[int] | None = None

    # ---- what happened ----

    @property
    def exit_status(self) -> int | None:
        """The command's status as a shell reports it (128+N when killed by signal N)."""
        return self.recording.analysis.command_status(self._reported_status())

    def _reported_status(self) -> int | None:
        return self.outcome.exit_status if self.outcome is not None else None

    @property
    def processes(self) -> list[Process]:
        return list(self.model.processes.values())

    def calls(self, pattern: str | None = None) -> list[Syscall]:
        """Calls matching a pattern (all calls without one), in trace order."""
        compiled = parse_pattern(pattern) if pattern else None
        consts = self.model.consts
        return [
            e
            for e in self.events
            if isinstance(e, Syscall) and (compiled is None or compiled.matches(e, consts))
        ]

    def fd_table(
        self, pid: int | None, at: int | None = None, *, after: Event | None = None
    ) -> dict[int, Descriptor]:
        """Process ``pid``'s descriptors: after the call ``after`` (an event of this trace:
        always exact, also for a call strace split in two and for a vfork child whose calls
        came before its parent's vfork returned), or after the call ending on line ``at``
        (the trace read up to the first event that ends after that line), or at the end of
        the trace (or when the process ended)."""
        if after is not None:
            clock = self.model.applied_at(after)
            if clock is None:
                raise ValueError(f"{after!r} is not an event this trace's model applied")
            return self.model.table_at(pid, clock)
        if at is None:
            return self.model.table(pid)
        return self.model.table(pid, after=self._events_through(at))

    def _events_through(self, line: int) -> int:
        """How many events the trace has before the first that ends after ``line``."""
        if self._ends is None:
            ends, last = [], 0
            for event in self.events:
                last = max(last, event.lines[-1])
                ends.append(last)
            self._ends = ends
        return bisect_right(self._ends, line)

    def leaks(self, allow: Iterable[int | str] = (), *, count_passes: bool = False) -> list[Leak]:
        """Descriptors that crossed an execve without close-on-exec (``Leak.certain``
        False: that may have, the trace cannot tell), but for ``allow`` (numbers, "N-M",
        "PROGRAM:N") and those passed on purpose (unless ``count_passes``)."""
        return leaks_of(self.model, allow, count_passes=count_passes)

    def passes(self) -> list[Leak]:
        """Descriptors the exec'ing process passed on purpose: it cleared their
        close-on-exec or dup2'd them onto their number itself (``pass_fds``, Go's
        ``ExtraFiles``, posix_spawn file actions, shell redirections)."""
        return [c for c in crossings_of(self.model) if c.deliberate]

    # ---- verdicts ----

    def check(self, rules: RuleSet | None = None, **kwargs: object) -> Report:
        """Evaluate rules (a RuleSet, or its fields as keyword arguments) on this trace.
        On an incomplete run the Report says so (``report.incomplete``; ``report.passed``
        is False, and only the failures that stand are ``report.failed``)."""
        ruleset = rules if rules is not None else RuleSet(**kwargs)  # type: ignore[arg-type]
        return self.recording.analysis.replay(ruleset.build(), self.title, outcome=self.outcome)

    def _assert(self, rules: RuleSet) -> Report:
        """The report, if every rule held; else AssertionError for a failure (also one
        that stands on an incomplete run: the red is proven), or RunIncomplete (TimedOut)
        with the reason when the run was cut short before the rules could be decided."""
        __tracebackhide__ = True  # pytest leaves this frame out of failures
        report = self.check(rules)
        code = report.exit_code  # the one place that decides (README: Exit codes)
        if code == EXIT_RULE_FAILED:
            # the first line is what ``pytest -ra`` shows: say what failed
            summary = "; ".join(f"{r.rule}: {r.summary}" for r in report.results if not r.passed)
            summary = summary or "; ".join(report.incomplete)  # every rule held on a partial trace
            raise AssertionError(f"{printable(summary)}\n{report.text()}")
        if code != EXIT_OK:
            undecided = ", ".join(r.rule for r in report.undecided)
            error = TimedOut if code == EXIT_TIMEOUT else RunIncomplete
            outcome = self.outcome
            why = (outcome.incomplete if outcome is not None else None) or "; ".join(report.incomplete)
            verdict = f"no verdict on {undecided}" if undecided else "what held, held on a partial trace only"
            raise error(f"{why}: {verdict}\n{report.text()}")
        return report

    def assert_called(self, pattern: str, *, times: int | str | None = None) -> list[Syscall]:
        """At least one call matches (or exactly ``times``; ``">=2"`` works too)."""
        __tracebackhide__ = True
        if times is None:
            self._assert(RuleSet(expect=[pattern]))
        else:
            spec = f"={times}" if isinstance(times, int) else str(times)
            self._assert(RuleSet(expect_count=[f"{spec} {pattern}"]))
        return self.calls(pattern)

    def assert_not_called(self, pattern: str) -> None:
        __tracebackhide__ = True
        self._assert(RuleSet(forbid=[pattern]))

    def assert_no_fd_leaks(self, allow: Iterable[int | str] = (), *, count_passes: bool = False) -> None:
        """No descriptor crossed an exec without close-on-exec (or may have), but for
        ``allow`` and those passed on purpose (unless ``count_passes``)."""
        __tracebackhide__ = True
        self._assert(RuleSet(no_fd_leaks=True, allow_fds=list(allow), count_passes=count_passes))

    def assert_cloexec(self, pattern: str) -> None:
        """Descriptors created by matching calls have close-on-exec at every exec and at the end."""
        __tracebackhide__ = True
        self._assert(RuleSet(cloexec=[pattern]))

    def assert_order(self, first: str, then: str) -> None:
        __tracebackhide__ = True
        self._assert(RuleSet(order=[f"{first} -> {then}"]))

    # ---- golden traces ----

    def golden(
        self,
        replacements: Iterable[tuple[str, str]] = (),
        *,
        substitutions: Iterable[tuple[str | re.Pattern[str], str]] = (),
        threads: bool = False,
    ) -> str:
        """This trace as golden text (see README: "Golden traces"). ``replacements``: texts
        to replace (``(old, new)``); ``substitutions``: regular expressions and their
        replacements, applied after them; ``threads``: also write the calls that made threads."""
        from ._golden.golden import render, standard_replacements

        header = f"sysprobe {__version__}"
        if self.outcome is not None:
            header += f", {self.outcome.tracer}"
        return render(
            self.events,
            self.model,
            command=self.title,
            replacements=standard_replacements(extra=replacements),
            substitutions=substitutions,
            syscalls=self.syscalls,
            threads=threads,
            header=[header],
        )

    def compare_golden(
        self,
        path: str | os.PathLike[str],
        *,
        update: bool = False,
        replacements: Iterable[tuple[str, str]] = (),
        substitutions: Iterable[tuple[str | re.Pattern[str], str]] = (),
        threads: bool = False,
    ) -> GoldenResult:
        """Compare with the golden file at ``path`` (or write it, with ``update``). An
        incomplete run raises RunIncomplete (TimedOut): it is neither compared nor written."""
        from ._golden.golden import compare_or_update

        text = self.golden(replacements, substitutions=substitutions, threads=threads)
        return compare_or_update(path, text, update=update, outcome=self.outcome)

    def assert_golden(
        self,
        path: str | os.PathLike[str],
        *,
        update: bool = False,
        replacements: Iterable[tuple[str, str]] = (),
        substitutions: Iterable[tuple[str | re.Pattern[str], str]] = (),
        threads: bool = False,
    ) -> GoldenResult:
        """Compare with the golden file at ``path`` (or write it, with ``update``). The
        AssertionError of a difference carries a unified diff."""
        __tracebackhide__ = True
        result = self.compare_golden(
            path, update=update, replacements=replacements, substitutions=substitutions, threads=threads
        )
        if not result.ok:
            raise AssertionError(result.message())
        return result

    def __repr__(self) -> str:
        return f"<Trace {self.title!r}: {len(self.events)} events, {len(self.model.processes)} processes>"


def trace(
    argv: Sequence[str | os.PathLike[str]],
    *,
    syscalls: str | None = None,
    inject: Sequence[str] = (),
    timeout: float | None = None,
    strace: str | None = None,
    strace_args: Sequence[str] = (),
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    arch: str | None = None,
    raw_output: str | os.PathLike[str] | None = None,
    decode_fds: bool = True,
    string_limit: int | None = None,
    placement: str = "auto",
    backend: str | None = None,
    end_with_command: bool = False,
    capture_output: bool = False,
) -> Trace:
    """Run ``argv`` under ``strace -f`` (or the ptrace backend) and return its Trace.

    ``syscalls`` is strace's ``-e trace=`` expression (filtered with seccomp-bpf where
    possible); ``inject`` specs go to ``-e inject=`` (``"epoll_create1:error=ENOSYS"``);
    ``decode_fds=False`` leaves out ``-y``; ``string_limit`` is strace's ``-s`` (goldens
    want whole paths in argv); ``placement`` is "auto", "pin" or "off" (README);
    ``backend`` is "strace", "ptrace" (python-ptrace, in-process) or "auto" (strace where it
    can trace, else ptrace; ``trace.outcome.backend`` says which ran); None reads
    $SYSPROBE_BACKEND, then takes "auto"; ``end_with_command`` ends the run when the
    command exits, killing what it left running (a daemon would keep it open: see
    ``trace.outcome.ended_leftovers``). ``capture_output``: the command's stdout and
    stderr go to ``trace.stdout``/``trace.stderr`` (bytes) instead of sysprobe's own.
    Raises sysprobe's errors (StraceMissing, PtraceDenied, CommandNotFound, ...) when
    tracing is impossible.

    A run cut short (its timeout, a signal to this process, its tracer killed) still
    returns its Trace: ``trace.outcome.incomplete`` says why, and the ``assert_*``
    methods raise RunIncomplete (TimedOut) instead of passing on it.
    """
    run = command(
        argv,
        syscalls=syscalls,
        inject=inject,
        timeout=timeout,
        strace=strace,
        strace_args=strace_args,
        cwd=cwd,
        env=env,
        arch=arch,
        raw_output=raw_output,
        decode_fds=decode_fds,
        string_limit=string_limit,
        placement=placement,
        backend=backend,
        end_with_command=end_with_command,
    )
    with captured(run, capture_output) as (run, output):
        made = Trace.of(record(run))
        made.stdout, made.stderr = output()
    return made


@contextlib.contextmanager
def captured(run: Command, capture: bool) -> Iterator[tuple[Command, OutputReader]]:
    """``run`` with its stdout and stderr sent to files (when ``capture``), and a function
    that reads what they hold. Files, not pipes: nothing has to read them while the
    trace is read, and a command that writes a lot never blocks."""
    if not capture:
        yield run, lambda: (None, None)
        return
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:

        def read() -> tuple[bytes | None, bytes | None]:
            out.seek(0)
            err.seek(0)
            return out.read(), err.read()

        options = run.options.replace(stdout=out.fileno(), stderr=err.fileno())
        yield run.replace(options=options), read


def parse(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *, arch: str | None = None
) -> Trace:
    """Parse strace logs (per-pid ``-ff`` files are merged) into a Trace. ``arch`` names the
    architecture the log came from, for ``-X raw`` numbers (default: this machine's)."""
    names = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    return Trace.of(record(logs(names, arch=arch)))
