"""``pytest --sysprobe-leaks``: which test leaked which descriptor into which program.

The session the user started (the outer one) runs no test: it re-runs the same command
line as a traced command (the inner session, with its xdist workers, if any), reads the
trace as it comes, and reports per test the descriptors that crossed an exec without
close-on-exec — the leaks — and, separately, those the exec'ing process passed on purpose
(``pass_fds``, ``dup2`` onto its number between fork and exec: not leaks).

Attribution. In every process of the inner session that runs tests (the session itself,
or each xdist worker), this plugin marks the trace where each test's protocol begins and
ends (setup, call and teardown: a fixture's work belongs to the test that set it up or
tore it down, as pytest reports it): ``_markers.mark("b<index>")`` and ``"e<index>"``,
where the index is the test's place in the collection that process wrote into
``items-<pid>.json`` before its first test. A process inherits, when it is forked, the
test its parent was running; an exec is the exec'ing process's, so a child started by
test A that execs during test B is A's. Marks count only from a process that no test
made (a pytest run inside a test does not attribute). Crossings in processes no test
made (collection, a plugin's start-up) are reported as outside any test.

Recursion: the inner session finds ``SYSPROBE_LEAKS_SESSION`` (the outer's pid, the
run's token and folder) in its environment and checks that the outer session is its
grandparent (the outer starts the tracer, the tracer the inner): then it runs its tests.
A pytest run inside a test inherits the variable but not that ancestry: with
``--sysprobe-leaks`` it is an outer session of its own (which cannot trace: a process has
one tracer), never a silent inner one.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._kernel.syscalls import CREATES_PROCESS
from ._markers import mark, new_token, read_mark
from ._pipeline import Analysis, command
from ._rules.rules import AllowFd, Leak, needed_syscalls
from .errors import EXIT_INCOMPLETE, RuleSyntaxError, SysprobeError
from .events import Event, Syscall

if TYPE_CHECKING:
    from ._model.records import ExecRecord
    from ._tracing.supervisor import RunOutcome

ENV = "SYSPROBE_LEAKS_SESSION"
REPORT_VERSION = 1
SHOWN_PER_TEST = 20  # leaks listed per test in the text report (the JSON report has all)
PASSES_SHOWN_PER_TEST = 5
_INDEX = pytest.StashKey[int]()


def add_options(group: Any) -> None:
    group.addoption(
        "--sysprobe-leaks",
        action="store_true",
        help="run this session under the tracer and report, per test, the descriptors that "
        "leaked into the programs it ran (README: Leak hunting)",
    )
    group.addoption(
        "--sysprobe-allow-fd",
        action="append",
        default=[],
        metavar="N",
        help="with --sysprobe-leaks: a descriptor allowed to cross: N, N-M, PROGRAM:N (repeatable)",
    )
    group.addoption(
        "--sysprobe-count-passes",
        action="store_true",
        help="with --sysprobe-leaks: descriptors passed on purpose count as leaks too",
    )
    group.addoption(
        "--sysprobe-leaks-report",
        metavar="FILE",
        default=None,
        help="with --sysprobe-leaks: write the findings as JSON to FILE",
    )
    group.addoption(
        "--sysprobe-leaks-log",
        metavar="FILE",
        default=None,
        help="with --sysprobe-leaks: keep the session's trace in FILE (the reports' line numbers are its)",
    )


# ---- the inner session: marks ----


@dataclass(frozen=True)
class Inner:
    token: str
    folder: Path


def inner_session(config: pytest.Config) -> Inner | None:
    """This session's run, if it is the traced session (or one of its xdist workers) of an
    outer ``--sysprobe-leaks`` session; else None."""
    value = os.environ.get(ENV)
    if not value or not config.getoption("sysprobe_leaks"):
        return None
    outer, _, rest = value.partition(":")
    token, _, folder = rest.partition(":")
    if not outer.isdigit() or not token or not folder:
        return None  # not one an outer session wrote: this session hunts on its own
    worker = hasattr(config, "workerinput")  # an xdist worker of a session that was inner
    if not worker and _parent_of(os.getppid()) != int(outer):
        return None
    return Inner(token, Path(folder))


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    return int(stat[stat.rfind(b")") + 2 :].split()[1])


def configure(config: pytest.Config) -> None:
    """Check the options; in the traced session, mark each test's begin and end."""
    options = ("sysprobe_allow_fd", "sysprobe_count_passes", "sysprobe_leaks_report", "sysprobe_leaks_log")
    if not config.getoption("sysprobe_leaks"):
        given = [name for name in options if config.getoption(name)]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise pytest.UsageError(f"{flag} goes with --sysprobe-leaks")
        return
    inner = inner_session(config)
    if inner is not None:
        config.pluginmanager.register(TestMarks(inner), "sysprobe-leaks-marks")


class TestMarks:
    """The inner session's marks around each test (see the module's docstring)."""

    __test__ = False  # not a test class, whatever its name says

    def __init__(self, inner: Inner) -> None:
        self.inner = inner

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for index, item in enumerate(session.items):
            item.stash[_INDEX] = index
        path = self.inner.folder / f"items-{os.getpid()}.json"
        partial = path.with_suffix(".part")
        partial.write_text(json.dumps([item.nodeid for item in session.items]))
        partial.rename(path)  # whole, or not there

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, None, None]:
        index = item.stash.get(_INDEX, None)
        if index is not None:
            mark(self.inner.token, f"b{index}")
        try:
            yield
        finally:
            if index is not None:
                mark(self.inner.token, f"e{index}")


# ---- the outer session: run the inner one traced, attribute, report ----


@dataclass
class Finding:
    test: str | None  # the test id; None: outside any test
    leak: Leak

    def to_json(self) -> dict[str, Any]:
        return {"test": self.test, **self.leak.to_json()}


@dataclass
class Hunt:
    """What the trace of the inner session says, read once as it comes."""

    token: str
    folder: Path
    allow: list[AllowFd]
    count_passes: bool = False
    leaks: list[Finding] = field(default_factory=list)
    passes: list[Finding] = field(default_factory=list)
    allowed: int = 0
    tests_run: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.analysis = Analysis()  # streaming: memory follows the live processes
        self.model = self.analysis.model
        self.model.on_exec.append(self._on_exec)
        self.labels: dict[int | None, str | None] = {}  # process → the test it belongs to
        self.runners: set[int | None] = set()  # processes that marked tests
        self.items: dict[int | None, list[str] | None] = {}
        self.order: dict[str, int] = {}  # test id → its place in the collection

    def feed(self, event: Event) -> None:
        what = read_mark(event, self.token)
        if what is not None:
            self._mark(event, what)
        elif isinstance(event, Syscall) and event.name in CREATES_PROCESS and event.ret and event.ret > 0:
            # before the model sees the fork: it may release the child's held events (its exec) at once
            self.labels[event.ret] = self.labels.get(self._process(event.pid))
        self.analysis.feed(event)

    def close(self) -> None:
        self.analysis.close()  # crossings learnt at the end come through _on_exec too

    def _process(self, pid: int | None) -> int | None:
        tgid = self.model.tgid_of(pid)
        return pid if tgid is None else tgid

    def _mark(self, event: Event, what: str) -> None:
        process = self._process(event.pid)
        if process not in self.runners and self.labels.get(process) is not None:
            return  # a process a test made: a pytest inside a test does not attribute
        test = self._test(process, int(what[1:]))
        if test is None:
            return
        self.runners.add(process)
        self.labels[process] = test if what[0] == "b" else None
        self.tests_run.add(test)

    def _test(self, process: int | None, index: int) -> str | None:
        if process not in self.items:
            path = self.folder / f"items-{process}.json"
            try:
                self.items[process] = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                self.items[process] = None
                self.notes.append(f"pid {process} marked tests but its list of tests is unreadable ({exc})")
        ids = self.items[process]
        if ids is None or not 0 <= index < len(ids):
            return None
        self.order.setdefault(ids[index], index)
        return ids[index]

    def _on_exec(self, record: ExecRecord) -> None:
        test = self.labels.get(record.pid)
        for d in record.crossed:
            if any(a.allows(d.fd, record.program) for a in self.allow):
                self.allowed += 1
                continue
            deliberate = d.fd in record.deliberate
            finding = Finding(test, Leak(d, record, deliberate))
            (self.passes if deliberate and not self.count_passes else self.leaks).append(finding)

    @property
    def execs(self) -> int:
        return self.model.exec_count


def cmdline_main(config: pytest.Config) -> int | None:
    """Run the session traced and report, unless this is not a leak hunt's outer session."""
    if not config.getoption("sysprobe_leaks") or config.option.help or config.option.version:
        return None
    if inner_session(config) is not None:
        return None
    try:
        allow = [AllowFd.parse(spec) for spec in config.getoption("sysprobe_allow_fd")]
    except RuleSyntaxError as exc:
        raise pytest.UsageError(str(exc).replace("--allow-fd", "--sysprobe-allow-fd")) from None
    folder = Path(tempfile.mkdtemp(prefix="sysprobe-leaks-"))
    try:
        return _hunt(config, Hunt(new_token(), folder, allow, config.getoption("sysprobe_count_passes")))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _inner_argv(config: pytest.Config) -> list[str]:
    """The same pytest command line, as this one was started (a console script or ``-m``)."""
    script = sys.argv[0] if sys.argv else ""
    if os.path.basename(script) in ("pytest", "py.test") and os.path.isfile(script):
        start = [sys.executable, script]
    else:
        start = [sys.executable, "-m", "pytest"]
    return [*start, *config.invocation_params.args]


def _hunt(config: pytest.Config, hunt: Hunt) -> int:
    from .pytest_plugin import fixture_backend

    out = sys.stdout
    if config.invocation_params.plugins:
        out.write("sysprobe: plugins given to pytest.main() as objects are not in the traced session\n")
    where = config.invocation_params.dir
    log = config.getoption("sysprobe_leaks_log")
    env = {**os.environ, ENV: f"{os.getpid()}:{hunt.token}:{hunt.folder}"}
    started = time.monotonic()
    run = command(
        _inner_argv(config),
        syscalls=needed_syscalls([]),  # the descriptor model's calls (execve, the marks, always)
        cwd=where,
        env=env,
        raw_output=where / log if log else None,
        backend=fixture_backend(config),
        placement="off",  # a suite's workers are CPU-bound: on one CPU, -n 2 would not be parallel
        string_limit=64,
    )
    # a process a test left running keeps the trace open: the run ends with the session
    run = run.replace(options=run.options.replace(end_with_command=True))
    try:
        for event in run.events():
            hunt.feed(event)
    except SysprobeError as exc:
        out.write(f"sysprobe: --sysprobe-leaks could not trace the session: {exc}\n")
        return exc.exit_code
    hunt.close()
    outcome = run.outcome
    assert outcome is not None
    status = _status(hunt, outcome)
    for line in report_lines(hunt, outcome, status, time.monotonic() - started, bool(log)):
        out.write(line + "\n")
    out.flush()
    report = config.getoption("sysprobe_leaks_report")
    if report:
        from ._files import write_atomically

        data = report_json(hunt, outcome, status, _inner_argv(config))
        write_atomically(where / report, json.dumps(data, indent=2) + "\n")
    return status


def _status(hunt: Hunt, outcome: RunOutcome) -> int:
    """pytest's status, but 1 where it said 0 (or 5: no tests) and a test leaked; never 0
    for a trace that does not cover the whole session."""
    inner = outcome.exit_status
    if inner is None:
        return EXIT_INCOMPLETE
    status = 1 if hunt.leaks and inner in (0, 5) else inner
    if outcome.incomplete is not None and status == 0:
        return EXIT_INCOMPLETE
    return status


def _by_test(findings: Iterable[Finding], order: dict[str, int]) -> dict[str | None, list[Leak]]:
    """Findings by test: outside any test first, then in the collection's order (not in the
    order xdist's workers happened to run them)."""
    out: dict[str | None, list[Leak]] = {}
    for finding in sorted(findings, key=lambda f: -1 if f.test is None else order.get(f.test, 0)):
        out.setdefault(finding.test, []).append(finding.leak)
    return out


def _name(test: str | None) -> str:
    return test if test is not None else "(outside any test: collection, plugins, session start-up)"


def _section(groups: dict[str | None, list[Leak]], shown: int, hint: str) -> list[str]:
    lines = []
    for test, leaks in groups.items():
        lines.append(_name(test))
        lines += [f"    {leak.describe()}" for leak in leaks[:shown]]
        if len(leaks) > shown:
            lines.append(f"    ... and {len(leaks) - shown} more ({hint})")
    return lines


def report_lines(hunt: Hunt, outcome: RunOutcome, status: int, seconds: float, kept_log: bool) -> list[str]:
    width = shutil.get_terminal_size((80, 24)).columns
    leaks, passes = _by_test(hunt.leaks, hunt.order), _by_test(hunt.passes, hunt.order)
    tests = [t for t in leaks if t is not None]
    if leaks:
        title = f"sysprobe: {_plural(len(tests), 'test')} leaked descriptors into the programs they ran"
        if None in leaks:
            title = f"sysprobe: descriptors leaked ({_plural(len(tests), 'test')}, and outside tests)"
    elif outcome.incomplete is not None:
        title = "sysprobe: no leak seen before the trace ended (it is incomplete: below)"
    else:
        title = "sysprobe: no test leaked a descriptor into a program it ran"
    lines = ["", f" {title} ".center(width, "=")]
    hint = "--sysprobe-leaks-report FILE lists all"
    lines += _section(leaks, SHOWN_PER_TEST, hint)
    if passes:
        count = _plural(sum(map(len, passes.values())), "descriptor")
        lines.append(f"passed on purpose, not leaks ({count}):")
        lines += _section(passes, PASSES_SHOWN_PER_TEST, hint)
    status_text = outcome.exit_status
    ran = f"pytest exited {status_text}" if status_text is not None else "pytest's end unknown"
    where = "" if kept_log else "; the line numbers are its trace's (--sysprobe-leaks-log FILE keeps it)"
    lines.append(
        f"sysprobe: the session ran under {outcome.tracer} ({ran}) in {seconds:.1f} s: "
        f"{_plural(len(hunt.tests_run), 'test')}, {_plural(hunt.execs, 'exec')}"
        + (f", {_plural(hunt.allowed, 'allowed crossing')}" if hunt.allowed else "")
        + where
    )
    for note in [*hunt.notes, *outcome.notes()]:
        lines.append(f"sysprobe: note: {note}")
    if outcome.incomplete is not None:
        lines.append(
            f"sysprobe: the trace is incomplete ({outcome.incomplete}): leaks after that point are unseen"
        )
    if status != outcome.exit_status:
        lines.append(f"sysprobe: exit status {status}")
    return lines


def report_json(hunt: Hunt, outcome: RunOutcome, status: int, argv: list[str]) -> dict[str, Any]:
    """``--sysprobe-leaks-report``: every finding, each with its test (README: Leak hunting)."""
    return {
        "version": REPORT_VERSION,
        "command": shlex.join(argv),
        "tracer": outcome.tracer,
        "pytest_exit_status": outcome.exit_status,
        "exit_status": status,
        "incomplete": outcome.incomplete,
        "notes": [*hunt.notes, *outcome.notes()],
        "tests_run": len(hunt.tests_run),
        "execs": hunt.execs,
        "allowed": hunt.allowed,
        "tests_with_leaks": sorted({f.test for f in hunt.leaks if f.test is not None}),
        "leaks": [f.to_json() for f in hunt.leaks],
        "passes": [f.to_json() for f in hunt.passes],
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"
