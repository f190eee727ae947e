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
import stat
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ._escape import printable
from ._kernel.constants import ARCHES
from ._kernel.signals import exit_status_for
from ._kernel.syscalls import EXECS
from ._model.fdmodel import STANDARD_FDS, FdModel
from ._model.records import Descriptor, ExecRecord, ForkRecord
from ._report.output import StyledLine, plural
from ._report.report import Report
from ._rules.coverage import FULL, Coverage, undecided_because
from ._rules.rules import ExpectExit, Rule, RuleSet, needed_string_limit, needed_syscalls, needed_verbose
from ._tracing.selection import LOG_HEADER, trace_expression
from ._value import MutableValue
from .errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_TIMEOUT, UsageError
from .events import Event, Message, Syscall, Text, Unparsed

if TYPE_CHECKING:  # the tracers are imported by the commands that run one: a check of a log starts faster
    from ._model.tree import Task
    from ._report.summary import Summary
    from ._tracing.base import RunOptions
    from ._tracing.supervisor import RunOutcome

EventSink = Callable[[Event], None]
# what the model told the rules: (events fed by then, the exec, the racing fork, or the
# descriptor closed and the call or process end that closed it)
Note = tuple[int, ExecRecord | ForkRecord | Descriptor, Event | None]
# a program's first calls after its exec: the loader's and libc's (glibc, musl) or the Go
# runtime's; a log with an exec and none of them was filtered (strace -e trace=)
STARTUP_CALLS = frozenset(
    {
        "arch_prctl",
        "brk",
        "mmap",
        "mmap2",
        "mprotect",
        "rseq",
        "set_robust_list",
        "set_thread_area",
        "set_tid_address",
    }
)
UNPARSED_SHOWN = 3  # unparsed lines named in a report


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


class Command(MutableValue):
    """A command to run under a tracer (``command()`` builds one)."""

    argv: list[str]
    options: RunOptions
    backend: str | None  # strace, ptrace, auto; None: $SYSPROBE_BACKEND, else auto
    arch: str | None
    syscalls: str | None  # the -e trace= set as the user named it (goldens say so)
    # how the run went, once it has ended: state, not a field (left out of equality, repr,
    # copies and pickles, so that a copy made to run again starts without one)
    outcome: RunOutcome | None

    __match_args__ = ("argv", "options", "backend", "arch", "syscalls")

    def __init__(
        self,
        argv: list[str],
        options: RunOptions,
        backend: str | None = None,
        arch: str | None = None,
        syscalls: str | None = None,
    ) -> None:
        self.argv = argv
        self.options = options
        self.backend = backend
        self.arch = arch
        self.syscalls = syscalls
        self.outcome = None

    @property
    def title(self) -> str:
        return shlex.join(self.argv)

    def events(self, on_idle: Callable[[], None] | None = None) -> Iterator[Event]:
        from ._tracing.backends import run_events

        return run_events(self.argv, self.options, self.backend, on_idle, self._ended)

    def _ended(self, outcome: RunOutcome | None) -> None:
        self.outcome = outcome


class Logs(MutableValue):
    """strace logs to read (``-`` is stdin; per-pid ``-ff`` files are merged)."""

    paths: list[str]
    arch: str | None
    syscalls: str | None
    outcome: RunOutcome | None  # a log has no run

    __match_args__ = ("paths", "arch", "syscalls", "outcome")

    def __init__(
        self,
        paths: list[str],
        arch: str | None = None,
        syscalls: str | None = None,
        outcome: RunOutcome | None = None,
    ) -> None:
        self.paths = paths
        self.arch = arch
        self.syscalls = syscalls
        self.outcome = outcome

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
    syscalls: str | Collection[str] | None = None,
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
    end_with_command: bool = False,
) -> Command:
    """A command to trace, with the options of ``sysprobe.trace`` (which documents them).
    ``golden``: the run is for a golden trace (the golden's syscall set unless ``syscalls``
    names one, whole paths in strings)."""
    from ._tracing.placement import MODES
    from ._tracing.strace.backend import StraceOptions

    if placement not in MODES:
        raise UsageError(f"--placement {placement!r}: expected one of {', '.join(MODES)}")
    traced: str | Collection[str] | None = syscalls
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
        end_with_command=end_with_command,
    )
    named = syscalls if isinstance(syscalls, str) else None
    return Command([os.fspath(a) for a in argv], options, backend, _known_arch(arch), named)


def logs(paths: Sequence[str | os.PathLike[str]], *, arch: str | None = None) -> Logs:
    """strace logs to read; an error now for a file that is not there, a directory or a
    device (a pipe, ``<(strace ...)``, is read as a file)."""
    names = [os.fspath(p) for p in paths]
    for name in names:
        if name == "-":
            continue
        try:
            mode = os.stat(name).st_mode
        except (FileNotFoundError, NotADirectoryError):
            raise UsageError(f"{printable(name)}: no such file") from None
        except OSError as error:
            raise UsageError(f"{printable(name)}: {(error.strerror or str(error)).lower()}") from None
        except ValueError as error:  # a NUL in the name (the Python API's: argv cannot hold one)
            raise UsageError(f"{printable(name)}: {error}") from None
        if stat.S_ISDIR(mode):
            raise UsageError(
                f"{printable(name)}: a directory, not a log (the files of strace -ff are NAME.PID)"
            )
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
            raise UsageError(f"{printable(name)}: not a file or a pipe")
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
        coverage: Coverage = FULL,
        inherited: tuple[int, ...] = STANDARD_FDS,
    ) -> None:
        # inherited: the descriptors the first process holds before the trace begins
        self.model = FdModel(arch, inherited, retain=keep_events, history=keep_events)
        # the calls the trace holds: the run's selection, or what a log's first line says
        self.coverage = coverage
        self.unparsed = 0  # lines that could not be read (blank lines aside)
        self.unparsed_shown: list[str] = []  # the first few: "line 12 (not a strace line)"
        # a plain dict, counted in feed: CPython sends a Counter's c[k] and c[k] = v
        # through method lookups (8.7 % of a check of a log's time, BENCHMARKS.md)
        self.calls: dict[str, int] = {}
        self.succeeded = False  # did any call return without an error (strace -Z keeps none)
        self.began_with_exec: bool | None = None  # was the trace's first call an exec (None: no call yet)
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

    def _listen(self, rules: list[Rule]) -> None:
        # only the rules that read events are told of each one (the others judge from
        # the model's notes and the count of calls)
        self._observers = [rule for rule in rules if type(rule).observe is not Rule.observe]
        for rule in rules:
            rule.bind(self.model, self.calls)
            if rule.reads_model:
                self.model.on_exec.append(rule.on_exec)
                self.model.on_close.append(rule.on_close)
                self.model.on_fork.append(rule.on_fork)

    def feed(self, event: Event) -> None:
        # every event of a check of a log comes here: the common case (a call, not among
        # the trace's first, nothing kept) costs as few lookups as it can
        if isinstance(event, Syscall):
            calls = self.calls
            name = event.name
            calls[name] = calls.get(name, 0) + 1
            if not self.succeeded:  # almost always only the first call (its exec) gets here
                self._first_calls(event)
        elif not self._read_other(event):
            return
        self._seq += 1
        seq = self._seq
        self.model.feed(event)
        for rule in self._observers:
            rule.observe(event, seq)
        if self.summary is not None:
            self.summary.add(event)
        if self.events is not None:
            self.events.append(event)

    def _first_calls(self, event: Syscall) -> None:
        if self.began_with_exec is None:
            self.began_with_exec = event.name in EXECS
        self.succeeded = event.errno is None and event.ret is not None

    def _read_other(self, event: Event) -> bool:
        """Take note of an event that is not a call; False: it is not an event of the trace."""
        if (
            event.line == 1
            and isinstance(event, (Text, Unparsed, Message))
            and event.raw.startswith(LOG_HEADER)
        ):
            # a raw copy says what its run traced
            said = f"line 1 of {event.file} says it holds" if event.file else "the log's line 1 says it holds"
            self.coverage = self.coverage.but(event.raw[len(LOG_HEADER) :].strip(), said)
            return False
        if isinstance(event, Unparsed) and event.raw.strip():
            self.unparsed += 1
            if len(self.unparsed_shown) < UNPARSED_SHOWN:
                self.unparsed_shown.append(f"{event.where()} ({event.reason})")
        return True

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
        self, title: str, outcome: RunOutcome | None = None, *, exit_status: int | None = None
    ) -> Report:
        """The report of the rules that watched the pass; ``outcome``: the run's, if any
        (``exit_status``: the command's as a tracer reported it, without one)."""
        self.close()
        return self._report(self.rules, title, outcome, exit_status)

    def replay(
        self,
        rules: Sequence[Rule],
        title: str,
        exit_status: int | None = None,
        outcome: RunOutcome | None = None,
    ) -> Report:
        """Judge ``rules`` on the recorded pass, as if they had watched it: the same
        events and the same notifications of the model, in the same order. ``outcome``
        (the run's) makes the report say what it says of the run; ``exit_status`` is the
        command's as the tracer reported it, if no outcome says."""
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
        return self._report(rules, title, outcome, exit_status)

    def _report(
        self, rules: list[Rule], title: str, outcome: RunOutcome | None, exit_status: int | None = None
    ) -> Report:
        """The verdicts, and how far they reach: a rule whose verdict the missing part of
        the trace could change is not final; one that needs calls the trace does not hold
        (or the kernel never sees) is undecided unless what was seen settles it."""
        reported = outcome.exit_status if outcome is not None else exit_status
        status = self.command_status(reported)
        for rule in rules:
            if isinstance(rule, ExpectExit) and rule.status is None:
                rule.status = status
        results = [rule.result() for rule in rules]
        incomplete: list[str] = []
        cut_short = outcome is not None and outcome.incomplete is not None
        if outcome is not None and outcome.incomplete is not None:
            incomplete.append(f"{outcome.incomplete}; the verdicts are on a partial trace")
        root = self.model.root_process()
        if outcome is None and status is None and root is not None:
            # a log without its first process's end was cut (or strace detached): what the
            # processes did after its last line is not in it
            cut_short = True
            incomplete.append(
                f"the log ends before its first process does (no exit line for pid {root.pid}): "
                "what came after its last line is missing"
            )
        elif outcome is None and (unended := self._unended()):
            cut_short = True
            incomplete.append(unended)
        self._infer_selection(outcome)
        holes = self.unparsed > 0
        if holes:
            lines = ", ".join(self.unparsed_shown) + (
                ", ..." if self.unparsed > len(self.unparsed_shown) else ""
            )
            incomplete.append(
                f"{plural(self.unparsed, 'line')} of the trace could not be read ({lines}): "
                f"what {'it holds' if self.unparsed == 1 else 'they hold'} is missing from every verdict"
            )
        undecided = 0
        for rule, result in zip(rules, results, strict=True):
            lacking = self.coverage.lacking(rule.needs())
            unseen = rule.unseen()
            if (lacking or unseen) and not rule.settled(holes=True):
                result.undecide(undecided_because(lacking, unseen, self.coverage))
                undecided += 1
            elif holes or cut_short or lacking or unseen:
                result.final = rule.settled(holes=holes or bool(lacking or unseen))
                if cut_short and result.passed and not result.final:
                    # held so far: what the run did after the cut could still break it
                    result.undecide(
                        "cannot be decided: it held on the partial trace; "
                        "the rest of the run could change that"
                    )
        if undecided:
            incomplete.append(
                f"{plural(undecided, 'rule')} cannot be decided on this trace: it does not hold every call "
                f"{'they need' if undecided > 1 else 'it needs'} (below)"
            )
        model = self.model
        return Report(
            title,
            results,
            status,
            model.process_count,
            model.exec_count,
            incomplete,
            outcome.tracer if outcome is not None else None,
            timed_out=outcome is not None and outcome.timed_out,
            notes=outcome.notes() if outcome is not None else [],
            degraded=outcome is not None and bool(outcome.ptrace_refused),
            unparsed=self.unparsed,
            coverage=self.coverage.expressions,
        )

    def _infer_selection(self, outcome: RunOutcome | None) -> None:
        """A log that says nothing of what it holds but shows programs start without the
        calls every program starts with was made with ``strace -e trace=``: take it to hold
        only the calls it shows, so that no rule about the others passes on it. One in which
        no call succeeded was made with ``strace -Z``: it holds no call whole."""
        if outcome is not None or not self.coverage.complete:
            return
        if self.model.process_count and not self.succeeded:
            total = sum(self.calls.values())
            self.coverage = self.coverage.but(
                "none",
                f"the log seems made with strace -Z: none of its {plural(total, 'call')} succeeded, not "
                "even a program's start, so the failed calls it shows settle only what they show; "
                "it is taken to hold",
            )
        elif self.model.exec_count and STARTUP_CALLS.isdisjoint(self.calls):
            self.coverage = self.coverage.but(
                ",".join(sorted(self.calls)),
                "the log seems filtered (a program started, and no process made any of "
                f"{', '.join(sorted(STARTUP_CALLS))}): it is taken to hold",
            )

    def _unended(self) -> str | None:
        """Why a log whose first process ended still misses calls: a task it never shows
        ending (a clone made it; its lines are not in the log)."""
        root = self.model.root_process()
        tree = self.model.tree
        tasks = [
            task
            for task in tree.tasks.values()
            if task.alive
            and task.pid is not None
            and (root is None or task.pid != root.pid)
            and not (task.is_thread and _leader_ended(tree.tasks, task))
        ]
        # a clone inside a pid namespace returns the child's pid there, and the log names the
        # child by its pid outside: as many tasks of unknown parent may be those children —
        # where the log made such a namespace, or began inside a running process (attached:
        # it may have been made in one)
        in_namespace = self.model.pid_namespaces or not self.began_with_exec
        allowed = tree.unparented - 1 if in_namespace else 0
        if len(tasks) <= allowed:
            return None
        shown = ", ".join(f"pid {task.pid}{_made_by(task)}" for task in tasks[:UNPARSED_SHOWN])
        more = f" and {len(tasks) - UNPARSED_SHOWN} more" if len(tasks) > UNPARSED_SHOWN else ""
        what = "what it did" if len(tasks) == 1 else "what they did"
        return (
            f"the log never shows {shown}{more} end: {what} may be missing (a log of one "
            "process of strace -ff: give every file; strace without -f; lines removed)"
        )


def _leader_ended(tasks: Mapping[int | None, Task], thread: Task) -> bool:
    """Did the thread's process end (or exec, which ends its other threads)? Its threads
    then ended with it, whether or not the log shows each (``--quiet=thread-execve``)."""
    leader = tasks.get(thread.tgid)
    return leader is None or not leader.alive


def _made_by(task: Task) -> str:
    origin = task.created_by
    return f" (made by {origin.describe()})" if origin is not None and origin.syscall else ""


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


class Recording(MutableValue):
    """A source read once, for presenting: its summary, or a Trace of it."""

    title: str
    analysis: Analysis
    outcome: RunOutcome | None
    arch: str | None
    syscalls: str | None  # the -e trace= set it was made with, if the user named one

    __match_args__ = ("title", "analysis", "outcome", "arch", "syscalls")

    def __init__(
        self,
        title: str,
        analysis: Analysis,
        outcome: RunOutcome | None,
        arch: str | None,
        syscalls: str | None,
    ) -> None:
        self.title = title
        self.analysis = analysis
        self.outcome = outcome
        self.arch = arch
        self.syscalls = syscalls

    def summary_lines(self) -> list[StyledLine]:
        assert self.analysis.summary is not None
        title = self.title
        outcome = self.outcome
        if outcome is not None:
            if outcome.leader_signal:
                end = "killed by " + outcome.leader_signal
            elif outcome.exit_status is None:
                end = "exit status unknown"
            else:
                end = f"exit {outcome.exit_status}"
            title = f"{title} — {end}, {outcome.wall_seconds:.2f} s, {outcome.tracer}"
        return self.analysis.summary.lines(title)

    @property
    def exit_code(self) -> int:
        """What ``sysprobe trace`` exits with (README: "Exit codes"): the command's status
        as a shell reports it, also when the run was interrupted (the signal forwarded to
        it ended it: 128+N); 124 when the timeout cut the run short (as GNU timeout); 75
        when the run is incomplete and the trace does not show how the command ended (its
        tracer was killed under it). A log has no run: 0."""
        outcome = self.outcome
        if outcome is None:
            return EXIT_OK
        if outcome.timed_out:
            return EXIT_TIMEOUT
        if outcome.exit_status is None:
            return EXIT_INCOMPLETE
        return outcome.exit_status


def outcome_lines(outcome: RunOutcome | None) -> list[StyledLine]:
    """What a run's outcome adds to a summary: why it is incomplete, what degraded it."""
    if outcome is None:
        return []
    out: list[StyledLine] = []
    if outcome.incomplete is not None:
        out.append(("bold yellow", f"sysprobe: incomplete run: {outcome.incomplete}"))
    out += [("yellow", f"sysprobe: note: {note}") for note in outcome.notes()]
    return out


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
    analysis = Analysis(arch=source.arch, keep_events=keep_events, summary=True, coverage=coverage_of(source))
    for event in source.events(on_idle):
        analysis.feed(event)
        if on_event is not None:
            on_event(event)
    analysis.close()
    return Recording(source.title, analysis, source.outcome, source.arch, source.syscalls)


def check(
    rules: RuleSet,
    source: Source,
    *,
    full: bool = False,
    on_event: EventSink | None = None,
    on_idle: Callable[[], None] | None = None,
) -> Report:
    """Judge ``rules`` on ``source`` in one streaming pass. A command traces only the calls
    the rules and the descriptor model read, unless ``full``. ``on_event`` sees every event
    as it comes (``sysprobe check --json``); ``on_idle`` is called whenever a running
    command's trace goes quiet. A run cut short gives a Report that says so
    (``Report.incomplete``: its failures that stand are verdicts, the rest undecided)."""
    built = rules.build()
    if not built:
        raise UsageError("no rules given (try --expect PATTERN, --forbid PATTERN or --no-fd-leaks)")
    if isinstance(source, Command):
        source = source.replace(options=_options_for(built, source.options, full))
    analysis = Analysis(built, arch=source.arch, coverage=coverage_of(source))
    for event in source.events(on_idle):
        analysis.feed(event)
        if on_event is not None:
            on_event(event)
    return analysis.finish(source.title, source.outcome)


def _options_for(rules: Sequence[Rule], options: RunOptions, full: bool) -> RunOptions:
    """A command's options for judging ``rules``: only the calls they read (unless ``full``),
    strings long enough for the ones their patterns compare, and structs and arrays whole
    when their patterns look inside them."""
    if not full:
        options = options.replace(syscalls=needed_syscalls(rules))
    from ._tracing.base import DEFAULT_STRING_LIMIT

    wanted = needed_string_limit(rules)
    if wanted > (options.string_limit or DEFAULT_STRING_LIMIT):
        options = options.replace(string_limit=wanted)
    if needed_verbose(rules):
        options = options.replace(verbose=True)
    return options


def coverage_of(source: Source) -> Coverage:
    """The calls a source's trace holds, as far as known before reading it: a command's
    selection (a log's first line may say more: ``Analysis.feed``)."""
    if not isinstance(source, Command):
        return FULL
    expression = trace_expression(source.options.syscalls, source.options.inject)
    return FULL if expression is None or expression == "all" else FULL.but(expression, "the run traced")
