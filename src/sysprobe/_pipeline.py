"""run → analyse → report, composed once: the CLI, the Python API and the pytest plugin
all come through here.

A source gives events: a command run under a tracer (``command``) or strace logs
(``logs``). One ``Analysis`` reads them once — the descriptor model, the count of calls by
name, the rules, the summary — and the front ends present what it found: a Report
(``check``), a summary (``record``, for ``sysprobe trace`` and ``parse``), a Trace (the
Python API and the plugin, which wrap ``record``'s result).

The check path keeps nothing of the past (no events, no ended processes, no table
history): its memory follows the live processes, not the trace. A recording keeps the
events, the model's history and what the model told the rules, so that a Trace answers
every later question — tables of the past, leaks, new rules, goldens — from that one pass.
"""

from __future__ import annotations

import os
import shlex
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._kernel.constants import ARCHES
from ._kernel.signals import exit_status_for
from ._model.fdmodel import STANDARD_FDS, FdModel
from ._model.records import Descriptor, ExecRecord, ForkRecord
from ._report.output import StyledLine
from ._report.report import Report
from ._rules.rules import ExpectExit, Rule, RuleSet, needed_syscalls
from .errors import UsageError
from .events import Event, Syscall

if TYPE_CHECKING:  # the tracers are imported by the commands that run one: a check of a log starts faster
    from ._report.summary import Summary
    from ._tracing.base import RunOptions
    from ._tracing.supervisor import RunOutcome

EventSink = Callable[[Event], None]
# what the model told the rules: (events fed by then, the exec, the racing fork, or the
# descriptor closed and the call that closed it)
Note = tuple[int, ExecRecord | ForkRecord | Descriptor, Syscall | None]


# ---- sources ----


class Source(Protocol):
    """Where events come from: ``title`` names it in reports; ``outcome`` is the run's,
    once ``events()`` is done (None for a log); ``syscalls`` is the -e trace= set the user
    named, if any; ``arch`` the architecture of its ``-X raw`` numbers."""

    arch: str | None
    syscalls: str | None
    outcome: RunOutcome | None

    @property
    def title(self) -> str: ...

    def events(self, on_idle: Callable[[], None] | None = None) -> Iterator[Event]: ...


@dataclass
class Command:
    """A command to run under a tracer (``command()`` builds one)."""

    argv: list[str]
    options: RunOptions
    backend: str | None = None  # strace, ptrace, auto; None: $SYSPROBE_BACKEND, else auto
    arch: str | None = None
    syscalls: str | None = None  # the -e trace= set as the user named it (goldens say so)
    outcome: RunOutcome | None = field(default=None, init=False)

    @property
    def title(self) -> str:
        return shlex.join(self.argv)

    def events(self, on_idle: Callable[[], None] | None = None) -> Iterator[Event]:
        from ._tracing.backends import start

        run = start(self.argv, self.options, self.backend, on_idle=on_idle)
        try:
            yield from run.events()
        finally:
            self.outcome = run.outcome


@dataclass
class Logs:
    """strace logs to read (``-`` is stdin; per-pid ``-ff`` files are merged)."""

    paths: list[str]
    arch: str | None = None
    syscalls: str | None = None
    outcome: RunOutcome | None = None  # a log has no run

    @property
    def title(self) -> str:
        return " ".join(self.paths)

    def events(self, on_idle: Callable[[], None] | None = None) -> Iterator[Event]:
        from ._parsing.sources import parse_paths

        return parse_paths(self.paths)


def _known_arch(arch: str | None) -> str | None:
    if arch is not None and arch not in ARCHES:
        raise UsageError(f"unknown architecture {arch!r} (known: {', '.join(ARCHES)})")
    return arch


def command(
    argv: Sequence[str | os.PathLike[str]],
    *,
    syscalls: str | set[str] | None = None,
    inject: Sequence[str] = (),
    timeout: float | None = None,
    strace: str | None = None,
    strace_args: Sequence[str] = (),
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    arch: str | None = None,
    raw_output: str | os.PathLike[str] | None = None,
    decode_fds: bool = True,
    string_limit: int | None = None,
    placement: str = "auto",
    seccomp: bool = True,
    backend: str | None = None,
    golden: bool = False,
) -> Command:
    """A command to trace, with the options of ``sysprobe.trace`` (which documents them).
    ``golden``: the run is for a golden trace (the golden's syscall set unless ``syscalls``
    names one, whole paths in strings)."""
    from ._tracing.placement import MODES
    from ._tracing.strace.backend import StraceOptions

    if placement not in MODES:
        raise UsageError(f"--placement {placement!r}: expected one of {', '.join(MODES)}")
    traced: str | set[str] | None = syscalls
    if golden:
        from ._golden.golden import GOLDEN_SYSCALLS, STRING_LIMIT

        traced = syscalls or GOLDEN_SYSCALLS  # a golden needs only its calls: strace skips the rest
        string_limit = string_limit if string_limit is not None else STRING_LIMIT
    options = StraceOptions(
        syscalls=traced,
        strace_args=list(strace_args),
        inject=list(inject),
        string_limit=string_limit,
        timeout=timeout,
        strace=strace,
        cwd=os.fspath(cwd) if cwd is not None else None,
        env=env,
        raw_output=os.fspath(raw_output) if raw_output is not None else None,
        decode_fds=decode_fds,
        placement=placement,
        seccomp=seccomp,
    )
    named = syscalls if isinstance(syscalls, str) else None
    return Command([os.fspath(a) for a in argv], options, backend, _known_arch(arch), named)


def logs(paths: Sequence[str | os.PathLike[str]], *, arch: str | None = None) -> Logs:
    """strace logs to read; an error now for a file that is not there."""
    names = [os.fspath(p) for p in paths]
    for name in names:
        if name != "-" and not Path(name).is_file():
            raise UsageError(f"{name}: no such file")
    return Logs(names, _known_arch(arch))


def source(
    argv: Sequence[str] | None, log: Sequence[str] | None, *, arch: str | None = None, **run: Any
) -> Source:
    """A command or logs, whichever was given (the CLI's ``check`` takes either)."""
    if bool(log) == bool(argv):
        raise UsageError(
            "give either a command to run (after --) or --log FILE, not both"
            if log
            else "give a command to run (after --) or --log FILE"
        )
    if log:
        return logs(log, arch=arch)
    assert argv is not None
    return command(argv, arch=arch, **run)


# ---- the one pass ----


class Analysis:
    """One pass over an event stream: feed events, then ``finish`` for the report.

    ``keep_events`` keeps what later questions need — the events, every process and exec,
    the history of every table, and what the model told the rules — so that ``replay``
    can judge new rules without reading the trace again. Without it, memory stays flat in
    the length of the trace.
    """

    def __init__(
        self,
        rules: Sequence[Rule] = (),
        *,
        arch: str | None = None,
        keep_events: bool = False,
        summary: bool = False,
        inherited: tuple[int, ...] = STANDARD_FDS,
    ) -> None:
        # inherited: the descriptors the first process holds before the trace begins
        self.model = FdModel(arch, inherited, retain=keep_events, history=keep_events)
        self.calls: Counter[str] = Counter()
        self.rules = list(rules)
        self._listen(self.rules)
        self.summary: Summary | None = None
        if summary:
            from ._report.summary import Summary

            self.summary = Summary(self.calls, self.model)
        self.events: list[Event] | None = [] if keep_events else None
        self._notes: list[Note] | None = None
        if keep_events:
            notes: list[Note] = []
            self._notes = notes
            self.model.on_exec.append(lambda record: notes.append((self._stamp(), record, None)))
            self.model.on_close.append(lambda d, ev: notes.append((self._stamp(), d, ev)))
            self.model.on_fork.append(lambda record: notes.append((self._stamp(), record, None)))
        self._seq = 0

    def _stamp(self) -> int:
        """When a notification came: while event K was fed, K; once the model is finished
        (orphans adopted at the end), after every event."""
        return self._seq + 1 if self.model.finished else self._seq

    def _listen(self, rules: Iterable[Rule]) -> None:
        for rule in rules:
            rule.bind(self.model, self.calls)
            if rule.reads_model:
                self.model.on_exec.append(rule.on_exec)
                self.model.on_close.append(rule.on_close)
                self.model.on_fork.append(rule.on_fork)

    def feed(self, event: Event) -> None:
        self._seq += 1
        if isinstance(event, Syscall):
            self.calls[event.name] += 1
        self.model.feed(event)
        for rule in self.rules:
            rule.observe(event, self._seq)
        if self.summary is not None:
            self.summary.add(event)
        if self.events is not None:
            self.events.append(event)

    def feed_all(self, events: Iterable[Event]) -> Analysis:
        for event in events:
            self.feed(event)
        return self

    def close(self) -> None:
        """The end of the trace: the model adopts the tasks whose creation never showed."""
        self.model.finish()

    def command_status(self, reported: int | None = None) -> int | None:
        """The command's status as a shell reports it: the tracer's word, else the first
        process's end in the trace (128+N when killed by signal N)."""
        if reported is not None:
            return reported
        root = self.model.root_process()
        if root is None:
            return None
        return exit_status_for(root.signal) if root.signal else root.exit_code

    def finish(
        self,
        title: str,
        exit_status: int | None = None,
        incomplete: str | None = None,
        tracer: str | None = None,
    ) -> Report:
        self.close()
        return self._report(self.rules, title, exit_status, incomplete, tracer)

    def replay(self, rules: Sequence[Rule], title: str, exit_status: int | None = None) -> Report:
        """Judge ``rules`` on the recorded pass, as if they had watched it: the same
        events and the same notifications of the model, in the same order."""
        events, notes = self.events, self._notes
        if events is None or notes is None:
            raise ValueError("replay needs an Analysis that kept its events")
        self.close()
        rules = list(rules)
        readers = [rule for rule in rules if rule.reads_model]
        for rule in rules:
            rule.bind(self.model, self.calls)
        i = 0
        for seq, event in enumerate(events, 1):
            while i < len(notes) and notes[i][0] <= seq:
                _tell(readers, notes[i])
                i += 1
            for rule in rules:
                rule.observe(event, seq)
        for note in notes[i:]:
            _tell(readers, note)
        return self._report(rules, title, exit_status, None, None)

    def _report(
        self,
        rules: list[Rule],
        title: str,
        exit_status: int | None,
        incomplete: str | None,
        tracer: str | None,
    ) -> Report:
        status = self.command_status(exit_status)
        for rule in rules:
            if isinstance(rule, ExpectExit) and rule.status is None:
                rule.status = status
        results = [rule.result() for rule in rules]
        model = self.model
        return Report(title, results, status, model.process_count, model.exec_count, incomplete, tracer)


def _tell(rules: list[Rule], note: Note) -> None:
    _, what, ev = note
    for rule in rules:
        if isinstance(what, ExecRecord):
            rule.on_exec(what)
        elif isinstance(what, ForkRecord):
            rule.on_fork(what)
        else:
            rule.on_close(what, ev)


# ---- what the front ends call ----


@dataclass
class Recording:
    """A source read once, for presenting: its summary, or a Trace of it."""

    title: str
    analysis: Analysis
    outcome: RunOutcome | None
    arch: str | None
    syscalls: str | None  # the -e trace= set it was made with, if the user named one

    def summary_lines(self) -> list[StyledLine]:
        assert self.analysis.summary is not None
        title = self.title
        outcome = self.outcome
        if outcome is not None:
            end = (
                "killed by " + outcome.leader_signal
                if outcome.leader_signal
                else f"exit {outcome.exit_status}"
            )
            title = f"{title} — {end}, {outcome.wall_seconds:.2f} s, {outcome.tracer}"
        return self.analysis.summary.lines(title)


def record(
    source: Source,
    *,
    keep_events: bool = True,
    on_event: EventSink | None = None,
    on_idle: Callable[[], None] | None = None,
) -> Recording:
    """Read ``source`` once, with the summary; ``keep_events`` for a Trace of it.
    ``on_event`` sees every event as it comes (``sysprobe trace --json``); ``on_idle`` is
    called whenever a running command's trace goes quiet."""
    analysis = Analysis(arch=source.arch, keep_events=keep_events, summary=True)
    for event in source.events(on_idle):
        analysis.feed(event)
        if on_event is not None:
            on_event(event)
    analysis.close()
    return Recording(source.title, analysis, source.outcome, source.arch, source.syscalls)


def check(rules: RuleSet, source: Source, *, full: bool = False) -> Report:
    """Judge ``rules`` on ``source`` in one streaming pass. A command traces only the calls
    the rules and the descriptor model read, unless ``full``."""
    built = rules.build()
    if not built:
        raise UsageError("no rules given (try --expect PATTERN, --forbid PATTERN or --no-fd-leaks)")
    if isinstance(source, Command) and not full:
        source = replace(source, options=replace(source.options, syscalls=needed_syscalls(built)))
    analysis = Analysis(built, arch=source.arch).feed_all(source.events())
    outcome = source.outcome
    if outcome is None:
        return analysis.finish(source.title)
    timeout = source.options.timeout if isinstance(source, Command) else None
    incomplete = (
        f"timed out after {timeout:g} s; the verdict is on a partial trace" if outcome.timed_out else None
    )
    return analysis.finish(source.title, outcome.exit_status, incomplete, outcome.tracer)
