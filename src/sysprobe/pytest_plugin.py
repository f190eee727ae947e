"""sysprobe's pytest plugin: the ``sysprobe`` fixture and golden-trace options.

Installed with sysprobe (entry point ``pytest11``). It only adapts the library to pytest:
options, the fixture (``sysprobe.trace``/``parse`` through ``_pipeline``, as the API),
skipping where the tracer cannot run, and the session's bookkeeping of goldens (where
they live and which are unused: ``_golden.location``).

    def test_no_leak(sysprobe):
        t = sysprobe.run(["./server", "--once"])
        t.assert_no_fd_leaks()
        t.assert_golden()          # traces/<test module>/<test name>.trace
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ._golden.golden import STRING_LIMIT, GoldenResult
from ._golden.location import golden_path, module_of, unused_goldens
from ._trace import Trace, parse, trace
from ._tracing.strace.binary import check_usable

_USED = pytest.StashKey[set[str]]()
_DESELECTED = pytest.StashKey[set[str]]()
_COLLECTED = pytest.StashKey[set[str]]()
_INCOMPLETE = pytest.StashKey[set[str]]()  # modules with a test that did not pass
_SHARED = {
    "sysprobe_used": _USED,
    "sysprobe_collected": _COLLECTED,
    "sysprobe_deselected": _DESELECTED,
    "sysprobe_incomplete": _INCOMPLETE,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sysprobe", "sysprobe: traces of what programs do to the kernel")
    group.addoption("--sysprobe-update", action="store_true", help="write golden traces instead of comparing")
    group.addoption("--sysprobe-prune", action="store_true", help="delete golden traces that no test used")
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
    parser.addini("sysprobe_traces", "folder of golden traces, relative to the rootdir", default="traces")
    parser.addini("sysprobe_backend", "the fixture's tracer: auto, strace or ptrace", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_USED] = set()
    config.stash[_DESELECTED] = set()
    config.stash[_COLLECTED] = set()
    config.stash[_INCOMPLETE] = set()
    config.addinivalue_line("markers", "sysprobe: the test traces programs with strace (through the fixture)")


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


class PluginTrace(Trace):
    """A Trace that knows where its test keeps its goldens."""

    node: pytest.Item
    tmp_path: Path

    def assert_golden(  # type: ignore[override]
        self, name: str | None = None, *, replacements: Sequence[tuple[str, str]] = ()
    ) -> GoldenResult:
        """Compare with ``traces/<module>/<test>[.name].trace`` (written with --sysprobe-update)."""
        __tracebackhide__ = True
        path = golden_path(self.node, name)
        self.node.config.stash[_USED].add(str(path))
        update = bool(self.node.config.getoption("--sysprobe-update"))
        try:
            return super().assert_golden(
                path, update=update, replacements=[*replacements, *self._replacements()]
            )
        except AssertionError as exc:
            raise AssertionError(str(exc).replace(str(self.node.config.rootpath) + os.sep, "")) from None

    def _replacements(self) -> list[tuple[str, str]]:
        """What differs between runs of the same test: its temporary folders, the checkout."""
        factory = self.node.config._tmp_path_factory  # type: ignore[attr-defined]
        pairs = [(str(self.tmp_path), "$TMP"), (str(factory.getbasetemp()), "$BASETEMP")]
        for python in {sys.executable, os.path.realpath(sys.executable)}:
            pairs.append((python, "$PYTHON"))
        pairs.append((str(self.node.config.rootpath), "$ROOT"))
        return pairs


class Sysprobe:
    """The ``sysprobe`` fixture: ``run`` a program under strace, ``parse`` a log."""

    def __init__(self, node: pytest.Item, tmp_path: Path, backend: str | None = None) -> None:
        self.node = node
        self.tmp_path = tmp_path
        self.backend = backend

    def run(self, argv: Sequence[str | os.PathLike[str]], **options: Any) -> PluginTrace:
        """``sysprobe.trace`` with the test's conveniences; options as ``sysprobe.trace``
        (strings up to STRING_LIMIT bytes, so that paths in goldens normalize; the backend
        of --sysprobe-backend unless ``backend=`` is given)."""
        options.setdefault("string_limit", STRING_LIMIT)
        options.setdefault("backend", self.backend)
        return self._adopt(trace([os.fspath(a) for a in argv], **options))

    def parse(self, *paths: str | os.PathLike[str], arch: str | None = None) -> PluginTrace:
        return self._adopt(parse(list(paths), arch=arch))

    def _adopt(self, result: Trace) -> PluginTrace:
        adopted = PluginTrace.of(result.recording)
        adopted.node = self.node
        adopted.tmp_path = self.tmp_path
        return adopted


@pytest.fixture
def sysprobe(request: pytest.FixtureRequest, tmp_path: Path) -> Sysprobe:
    """Trace programs and assert on what they did (skipped where the backend cannot run)."""
    backend = fixture_backend(request.config)
    require_backend(request.config, backend)
    assert isinstance(request.node, pytest.Item)
    return Sysprobe(request.node, tmp_path, backend)


# ---- goldens no test used (as syrupy reports unused snapshots) ----


def pytest_deselected(items: Sequence[pytest.Item]) -> None:
    if items:
        items[0].config.stash[_DESELECTED].update(module_of(item.path) for item in items)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    config.stash[_COLLECTED].update(module_of(item.path) for item in items)


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> None:
    # (this hook, not pytest_runtest_logreport, because it is given the config) A test
    # that failed or was skipped may not have reached its assert_golden: its module's
    # goldens are neither reported nor pruned.
    if report.failed or report.skipped:
        config.stash[_INCOMPLETE].add(module_of(report.nodeid.split("::", 1)[0]))


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    worker_output = getattr(config, "workeroutput", None)
    if worker_output is not None:  # an xdist worker: hand what it saw to the controller
        for key, stash_key in _SHARED.items():
            seen: set[str] = config.stash[stash_key]
            worker_output[key] = sorted(seen)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {})
    for key, stash_key in _SHARED.items():
        node.config.stash[stash_key].update(output.get(key, []))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is not None or config.option.collectonly:
        return
    unused = unused_goldens(
        config,
        used=config.stash[_USED],
        collected=config.stash[_COLLECTED],
        deselected=config.stash[_DESELECTED],
        incomplete=config.stash[_INCOMPLETE],
    )
    if not unused:
        return
    rel = [str(p.relative_to(config.rootpath)) for p in unused]
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
