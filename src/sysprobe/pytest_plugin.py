"""sysprobe's pytest plugin: the ``sysprobe`` fixture and golden-trace options.

Installed with sysprobe (entry point ``pytest11``). It only adapts the library to pytest:
options, the fixture (``sysprobe.trace``/``parse`` through ``_pipeline``, as the API),
skipping where the tracer cannot run, and the session's bookkeeping of goldens (where
they live and which are unused: ``_golden.location``, after syrupy's conventions).

    def test_no_leak(sysprobe):
        t = sysprobe.run(["./server", "--once"])
        t.assert_no_fd_leaks()
        t.assert_golden()          # traces/<test file>/<test name>.trace

Why not a syrupy extension: syrupy's ``--snapshot-update`` deletes the snapshot of a test
that failed before reaching its assertion (it counts as run and unused), and its unused
detection only looks at the folders of test files that asserted in this session; a
golden is a reviewed record, so sysprobe keeps a failing test's goldens and decides
"unused" per test (README: "Golden traces in pytest").
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from . import _pytest_leaks as _leaks
from ._call import Caller, CallTrace
from ._escape import printable
from ._golden.golden import STRING_LIMIT, GoldenResult, parse_substitution
from ._golden.location import golden_path, module_folder, owner_name, unused_goldens
from ._trace import Trace, parse, trace
from ._tracing.strace.binary import check_usable
from .events import Syscall

UPDATE_FLAG = "--sysprobe-update"
_USED = pytest.StashKey[set[str]]()
_SELECTED = pytest.StashKey[dict[str, tuple[str, str]]]()  # node id → (golden folder, test name)
_NARROWED = pytest.StashKey[set[str]]()  # golden folders of modules whose selection was narrowed
_NOT_PASSED = pytest.StashKey[set[str]]()  # node ids that failed, errored or were skipped
T = TypeVar("T", bound="PluginTrace")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sysprobe", "sysprobe: traces of what programs do to the kernel")
    group.addoption(UPDATE_FLAG, action="store_true", help="write golden traces instead of comparing")
    group.addoption(
        "--sysprobe-prune",
        action="store_true",
        help="delete golden traces no test used (only those the session can vouch for: README)",
    )
    group.addoption(
        "--sysprobe-require",
        action="store_true",
        help="fail, instead of skip, tests that need strace where it is missing or ptrace is denied",
    )
    group.addoption(
        "--sysprobe-backend",
        choices=("auto", "strace", "ptrace"),
        default=None,
        help="the tracer the fixture runs (default: the sysprobe_backend ini value, $SYSPROBE_BACKEND, auto)",
    )
    _leaks.add_options(group)
    parser.addini("sysprobe_traces", "folder of golden traces, relative to the rootdir", default="traces")
    parser.addini("sysprobe_backend", "the fixture's tracer: auto, strace or ptrace", default="")
    parser.addini(
        "sysprobe_substitutions",
        "golden substitutions, one REGEX=REPLACEMENT a line (after the built-in ones)",
        type="linelist",
        default=[],
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_USED] = set()
    config.stash[_SELECTED] = {}
    config.stash[_NARROWED] = set()
    config.stash[_NOT_PASSED] = set()
    config.addinivalue_line("markers", "sysprobe: the test traces programs with strace (through the fixture)")
    _leaks.configure(config)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """``--sysprobe-leaks``: this session runs no test; it runs the same one traced."""
    return _leaks.cmdline_main(config)


def require_strace(config: pytest.Config) -> None:
    """Skip the test (or fail it, with --sysprobe-require) where strace cannot trace."""
    _require(config, check_usable(), "strace")


def fixture_backend(config: pytest.Config) -> str | None:
    """The backend the fixture uses: the option, the ini value, else None ($SYSPROBE_BACKEND, auto)."""
    chosen = config.getoption("--sysprobe-backend") or str(config.getini("sysprobe_backend") or "")
    return chosen or None


def require_backend(config: pytest.Config, backend: str | None = None) -> None:
    """Skip the test (or fail it, with --sysprobe-require) where ``backend`` cannot trace."""
    from ._tracing.backends import requested, unavailable

    _require(config, unavailable(backend), f"the {requested(backend)} backend")


def _require(config: pytest.Config, reason: str | None, what: str) -> None:
    if reason is not None:
        if config.getoption("--sysprobe-require"):
            pytest.fail(f"{what} is required (--sysprobe-require): {reason}", pytrace=False)
        pytest.skip(f"sysprobe: {reason}")


def _ini_substitutions(config: pytest.Config) -> list[tuple[str, str]]:
    lines: list[str] = config.getini("sysprobe_substitutions")
    try:
        return [parse_substitution(line) for line in lines if line.strip()]
    except ValueError as error:
        raise pytest.UsageError(f"sysprobe_substitutions: {error}") from None


def use_golden(node: pytest.Item, name: str | None = None) -> Path:
    """The path of a test's golden, counted as used this session (for a test that compares
    it by other means, such as an inner pytest session)."""
    path = golden_path(node, name)
    node.config.stash[_USED].add(str(path))
    return path


class PluginTrace(Trace):
    """A Trace that knows where its test keeps its goldens."""

    node: pytest.Item
    tmp_path: Path

    def assert_golden(  # type: ignore[override]
        self,
        name: str | None = None,
        *,
        replacements: Sequence[tuple[str, str]] = (),
        substitutions: Iterable[tuple[str | re.Pattern[str], str]] = (),
        threads: bool = False,
    ) -> GoldenResult:
        """Compare with ``traces/<test file>/<Class.test>[.name].trace`` (written with
        --sysprobe-update). On a difference, this run's golden and its raw trace are kept
        in the test's temporary folder, and the failure names both."""
        __tracebackhide__ = True
        from ._golden.golden import compare_or_update

        config = self.node.config
        path = use_golden(self.node, name)
        text = self.golden(
            [*replacements, *self._replacements()],
            substitutions=[*substitutions, *_ini_substitutions(config)],
            threads=threads,
        )
        update = bool(config.getoption(UPDATE_FLAG))
        result = compare_or_update(path, text, update=update, update_flag=UPDATE_FLAG, outcome=self.outcome)
        if not result.ok:
            result.artifacts = self._keep(path, text)
            root = printable(str(config.rootpath) + os.sep)  # as the message shows it
            raise AssertionError(result.message().replace(root, ""))
        return result

    def _keep(self, path: Path, text: str) -> list[tuple[str, Path]]:
        """This run's golden and the trace it came from, where pytest keeps the test's files."""
        folder = self.tmp_path / "sysprobe"
        folder.mkdir(exist_ok=True)
        obtained = folder / path.name
        obtained.write_text(text, encoding="utf-8", errors="surrogateescape")
        raw = folder / (path.name.removesuffix(".trace") + ".strace.log")
        lines: list[tuple[int, str]] = []
        for event in self.events:
            if isinstance(event, Syscall):
                lines += zip(event.lines, event.raw_lines, strict=False)
            else:
                lines.append((event.line, event.raw))
        raw.write_text("".join(f"{text}\n" for _, text in sorted(lines)), errors="surrogateescape")
        return [("this run's golden", obtained), ("this run's trace", raw)]

    def _replacements(self) -> list[tuple[str, str]]:
        """What differs between runs of the same test: its temporary folders, the checkout."""
        factory = self.node.config._tmp_path_factory  # type: ignore[attr-defined]
        pairs = [(str(self.tmp_path), "$TMP"), (str(factory.getbasetemp()), "$BASETEMP")]
        for python in {sys.executable, os.path.realpath(sys.executable)}:
            pairs.append((python, "$PYTHON"))
        pairs.append((str(self.node.config.rootpath), "$ROOT"))
        return pairs


class PluginCallTrace(PluginTrace, CallTrace):
    """The Trace of a call (``sysprobe.call`` in a test), with the test's goldens."""


class Sysprobe:
    """The ``sysprobe`` fixture: ``run`` a program or ``call`` a function under the
    tracer, ``parse`` a log."""

    def __init__(self, node: pytest.Item, tmp_path: Path, backend: str | None = None) -> None:
        self.node = node
        self.tmp_path = tmp_path
        self.backend = backend

    def run(self, argv: Sequence[str | os.PathLike[str]], **options: Any) -> PluginTrace:
        """``sysprobe.trace`` with the test's conveniences; options as ``sysprobe.trace``
        (strings up to STRING_LIMIT bytes, so that paths in goldens normalize; the backend
        of --sysprobe-backend unless ``backend=`` is given). The command's output is
        captured (``capture_output=False`` lets it through): in ``trace.stdout`` and
        ``trace.stderr``, and written to the test's own, where pytest shows it."""
        options.setdefault("string_limit", STRING_LIMIT)
        options.setdefault("backend", self.backend)
        options.setdefault("capture_output", True)
        traced = self._adopt(trace([os.fspath(a) for a in argv], **options), PluginTrace)
        _fail_if_incomplete(traced)
        return traced

    def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> PluginCallTrace:
        """``sysprobe.call`` with the fixture's backend, output captured as ``run`` does."""
        return self.caller().call(fn, *args, **kwargs)

    def caller(self, **options: Any) -> PluginCaller:
        """``sysprobe.Caller(**options)`` with the fixture's defaults: ``.call(fn, ...)``."""
        options.setdefault("string_limit", STRING_LIMIT)
        options.setdefault("backend", self.backend)
        options.setdefault("capture_output", True)
        return PluginCaller(self, Caller(**options))

    def parse(self, *paths: str | os.PathLike[str], arch: str | None = None) -> PluginTrace:
        return self._adopt(parse(list(paths), arch=arch), PluginTrace)

    def _adopt(self, result: Trace, kind: type[T]) -> T:
        adopted = kind.of(result.recording)
        adopted.node = self.node
        adopted.tmp_path = self.tmp_path
        adopted.stdout, adopted.stderr = result.stdout, result.stderr
        if isinstance(result, CallTrace) and isinstance(adopted, CallTrace):
            adopted.value, adopted.exception, adopted.traceback = (
                result.value,
                result.exception,
                result.traceback,
            )
        for data, stream in ((result.stdout, sys.stdout), (result.stderr, sys.stderr)):
            if data:  # the test's output: pytest shows it with a failure, as it would have
                stream.write(data.decode(errors="replace"))
                stream.flush()
        return adopted


def _fail_if_incomplete(traced: Trace) -> None:
    """A run cut short gives no verdict: the test fails with the reason (never passes on a
    partial trace). Ctrl-C during the run stops the session, as it would without sysprobe
    (the run forwarded it to the command and ended first)."""
    __tracebackhide__ = True
    outcome = traced.outcome
    if outcome is None or outcome.incomplete is None:
        return
    if signal.SIGINT in outcome.signals_received:
        raise KeyboardInterrupt
    pytest.fail(f"sysprobe: the run is incomplete: {outcome.incomplete}", pytrace=False)


class PluginCaller:
    """``Sysprobe.caller(...)``: a Caller whose Traces know their test."""

    def __init__(self, fixture: Sysprobe, caller: Caller) -> None:
        self.fixture = fixture
        self.caller = caller

    def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> PluginCallTrace:
        traced = self.fixture._adopt(self.caller.call(fn, *args, **kwargs), PluginCallTrace)
        _fail_if_incomplete(traced)
        return traced


@pytest.fixture
def sysprobe(request: pytest.FixtureRequest, tmp_path: Path) -> Sysprobe:
    """Trace programs and assert on what they did (skipped where the backend cannot run)."""
    backend = fixture_backend(request.config)
    require_backend(request.config, backend)
    assert isinstance(request.node, pytest.Item)
    return Sysprobe(request.node, tmp_path, backend)


# ---- goldens no test used (as syrupy reports unused snapshots) ----


def _folder(item: pytest.Item) -> str:
    return str(module_folder(item.config, item.path))


def pytest_deselected(items: Sequence[pytest.Item]) -> None:
    if items:
        items[0].config.stash[_NARROWED].update(_folder(item) for item in items)


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    selected = config.stash[_SELECTED]
    for item in session.items:
        selected[item.nodeid] = (_folder(item), owner_name(item))
    for arg in config.args:  # ``file.py::test`` collects only that test: the rest is not selected
        if "::" in arg:
            config.stash[_NARROWED].add(str(module_folder(config, arg.split("::", 1)[0])))


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> None:
    # (this hook, not pytest_runtest_logreport, because it is given the config) A test
    # that failed or was skipped may not have reached its assert_golden.
    if report.failed or report.skipped:
        config.stash[_NOT_PASSED].add(report.nodeid)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    worker_output = getattr(config, "workeroutput", None)
    if worker_output is not None:  # an xdist worker: hand what it saw to the controller
        for key, names in (("used", _USED), ("narrowed", _NARROWED), ("not_passed", _NOT_PASSED)):
            seen: set[str] = config.stash[names]
            worker_output[f"sysprobe_{key}"] = sorted(seen)
        selected: dict[str, tuple[str, str]] = config.stash[_SELECTED]
        worker_output["sysprobe_selected"] = {k: list(v) for k, v in selected.items()}


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {})
    stash = node.config.stash
    stash[_USED].update(output.get("sysprobe_used", []))
    stash[_SELECTED].update({k: (v[0], v[1]) for k, v in output.get("sysprobe_selected", {}).items()})
    stash[_NARROWED].update(output.get("sysprobe_narrowed", []))
    stash[_NOT_PASSED].update(output.get("sysprobe_not_passed", []))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is not None or config.option.collectonly:
        return
    used: set[str] = config.stash[_USED]
    selected: dict[str, tuple[str, str]] = config.stash[_SELECTED]
    narrowed: set[str] = config.stash[_NARROWED]
    not_passed: set[str] = config.stash[_NOT_PASSED]
    unused = unused_goldens(used=used, selected=selected, narrowed=narrowed, not_passed=not_passed)
    if not unused:
        return
    rel = [printable(os.path.relpath(p, config.rootpath)) for p in unused]
    if config.getoption("--sysprobe-prune"):
        for path in unused:
            path.unlink()
        terminalreporter.write_line(
            f"sysprobe: deleted {len(unused)} unused golden trace(s): {', '.join(rel)}"
        )
    else:
        hint = "--sysprobe-prune deletes them"
        terminalreporter.write_line(
            f"sysprobe: {len(unused)} golden trace(s) no test used ({hint}): {', '.join(rel)}"
        )
