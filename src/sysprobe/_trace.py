"""The Python API: ``sysprobe.trace(argv)`` and ``sysprobe.parse(path)`` return a Trace."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ._analysis import Analysis, Report
from ._model.fdmodel import FdModel
from ._model.records import Descriptor, Process
from ._parsing.sources import parse_paths
from ._report.summary import Summary
from ._rules.patterns import parse_pattern
from ._rules.rules import Leak, RuleSet, leaks_of
from ._tracing.backends import start
from ._tracing.strace.tracer import RunOptions, RunOutcome
from ._version import __version__
from .events import Event, Syscall

if TYPE_CHECKING:
    from ._golden.golden import GoldenResult


class Trace:
    """A traced run or a parsed log: its events, processes, descriptor tables and leaks,
    with assertions that fail with sysprobe's report."""

    def __init__(
        self,
        events: list[Event],
        *,
        title: str,
        arch: str | None = None,
        outcome: RunOutcome | None = None,
        syscalls: str | None = None,
    ) -> None:
        self.events = events
        self.title = title
        self.arch = arch
        self.outcome = outcome
        self.syscalls = syscalls  # the -e trace= set it was made with, if any
        self.model = FdModel(arch)  # retains every process and exec: the events are kept anyway
        self.summary = Summary()
        for event in events:
            self.summary.add(event)
            self.model.feed(event)
        self.model.finish()

    # ---- what happened ----

    @property
    def exit_status(self) -> int | None:
        """The command's status as a shell reports it (128+N when killed by signal N)."""
        if self.outcome is not None:
            return self.outcome.exit_status
        return self.check().exit_status

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

    def fd_table(self, pid: int | None, at: int | None = None) -> dict[int, Descriptor]:
        """Process ``pid``'s descriptors after the call ending on line ``at`` (default: at the
        end of the trace, or when the process ended)."""
        if at is None:
            return self.model.table(pid)
        model = FdModel(self.arch)
        for event in self.events:
            if event.lines[-1] <= at:
                model.feed(event)
        return model.table(pid)

    def leaks(self, allow: Iterable[int] = ()) -> list[Leak]:
        """Descriptors that crossed an execve without close-on-exec, but for ``allow``."""
        return leaks_of(self.model, set(allow))

    # ---- verdicts ----

    def check(self, rules: RuleSet | None = None, **kwargs: object) -> Report:
        """Evaluate rules (a RuleSet, or its fields as keyword arguments) on this trace."""
        ruleset = rules if rules is not None else RuleSet(**kwargs)  # type: ignore[arg-type]
        analysis = Analysis(ruleset.build(), arch=self.arch).feed_all(self.events)
        status = self.outcome.exit_status if self.outcome is not None else None
        return analysis.finish(self.title, status)

    def _assert(self, rules: RuleSet) -> Report:
        __tracebackhide__ = True  # pytest leaves this frame out of failures
        report = self.check(rules)
        if not report.passed:
            raise AssertionError("\n" + report.text())
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

    def assert_no_fd_leaks(self, allow: Iterable[int] = ()) -> None:
        __tracebackhide__ = True
        self._assert(RuleSet(no_fd_leaks=True, allow_fds=list(allow)))

    def assert_cloexec(self, pattern: str) -> None:
        """Descriptors created by matching calls have close-on-exec at every exec and at the end."""
        __tracebackhide__ = True
        self._assert(RuleSet(cloexec=[pattern]))

    def assert_order(self, first: str, then: str) -> None:
        __tracebackhide__ = True
        self._assert(RuleSet(order=[f"{first} -> {then}"]))

    # ---- golden traces ----

    def golden(self, replacements: Iterable[tuple[str, str]] = ()) -> str:
        """This trace as golden text (see README: "Golden traces")."""
        from ._golden.golden import render, standard_replacements

        header = f"sysprobe {__version__}"
        if self.outcome is not None:
            header += f", {self.outcome.tracer}"
        return render(
            self.events,
            command=self.title,
            replacements=standard_replacements(extra=replacements),
            syscalls=self.syscalls,
            arch=self.arch,
            header=[header],
        )

    def assert_golden(
        self,
        path: str | os.PathLike[str],
        *,
        update: bool = False,
        replacements: Iterable[tuple[str, str]] = (),
    ) -> GoldenResult:
        """Compare with the golden file at ``path`` (or write it, with ``update``). The
        AssertionError of a difference carries a unified diff."""
        __tracebackhide__ = True
        from ._golden.golden import compare_or_update

        result = compare_or_update(path, self.golden(replacements), update=update)
        if not result.ok:
            raise AssertionError(result.message())
        return result

    def __repr__(self) -> str:
        return f"<Trace {self.title!r}: {len(self.events)} events, {len(self.model.processes)} processes>"


def trace(
    argv: Sequence[str],
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
) -> Trace:
    """Run ``argv`` under ``strace -f`` (or the ptrace backend) and return its Trace.

    ``syscalls`` is strace's ``-e trace=`` expression (filtered with seccomp-bpf where
    possible); ``inject`` specs go to ``-e inject=`` (``"epoll_create1:error=ENOSYS"``);
    ``decode_fds=False`` leaves out ``-y``; ``string_limit`` is strace's ``-s`` (goldens
    want whole paths in argv); ``placement`` is "auto", "pin" or "off" (README);
    ``backend`` is "strace", "ptrace" (python-ptrace, in-process) or "auto" (strace where it
    can trace, else ptrace; ``trace.outcome.backend`` says which ran); None reads
    $SYSPROBE_BACKEND, then takes "auto". Raises
    sysprobe's errors (StraceMissing, PtraceDenied, CommandNotFound, ...) when tracing is
    impossible.
    """
    options = RunOptions(
        strace_args=list(strace_args),
        inject=list(inject),
        string_limit=string_limit,
        syscalls=syscalls,
        timeout=timeout,
        strace=strace,
        cwd=os.fspath(cwd) if cwd is not None else None,
        env=env,
        raw_output=os.fspath(raw_output) if raw_output is not None else None,
        decode_fds=decode_fds,
        placement=placement,
    )
    run = start(list(argv), options, backend)
    events = list(run.events())
    return Trace(events, title=shlex.join(argv), arch=arch, outcome=run.outcome, syscalls=syscalls)


def parse(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *, arch: str | None = None
) -> Trace:
    """Parse strace logs (per-pid ``-ff`` files are merged) into a Trace. ``arch`` names the
    architecture the log came from, for ``-X raw`` numbers (default: this machine's)."""
    names = [os.fspath(paths)] if isinstance(paths, str | os.PathLike) else [os.fspath(p) for p in paths]
    return Trace(list(parse_paths(names)), title=" ".join(names), arch=arch)
