"""Fixtures: compile the C programs in tests/programs, run the real strace, choose the
backend; Hypothesis's deterministic profile. Plain helpers are in tests/helpers.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from sysprobe.pytest_plugin import require_backend, require_strace

pytest.register_assert_rewrite("tests.helpers")  # its asserts explain themselves too

from .helpers import PROGRAMS, TESTS  # noqa: E402

pytest_plugins = ["pytester"]

# Hypothesis in the suite is deterministic: the same examples on every run and machine
# (derandomize), and no example database, so nothing hidden decides a run's outcome. An
# example it ever finds becomes an explicit regression test. HYPOTHESIS_PROFILE=explore
# searches at random (with a local database) when hunting for new failures by hand.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to test stale compiled modules: a .py newer than its mypyc .so means the
    tests would run the old code (`make test` rebuilds; so does `pip install -e .`)."""
    package = TESTS.parent / "src" / "sysprobe"
    stale = [
        str(py.relative_to(package))
        for so in package.rglob("*.so")
        if (py := so.parent / (so.name.split(".")[0] + ".py")).exists()
        and py.stat().st_mtime > so.stat().st_mtime
    ]
    if stale:
        pytest.exit(f"compiled modules are older than their sources ({', '.join(stale)}): run `make deps`", 3)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        # mutmut's stats run (make mutate) records which tests call each function, in this
        # process. A sysprobe CLI a test starts would inherit the mode and, started in the
        # test's tmp_path, fail to find mutmut's configuration: it runs the original code
        # instead (mutmut reads the mode from the environment before its process-local copy).
        from mutmut.mutation import trampoline

        trampoline._mutant_under_test = "stats"
        del os.environ["MUTANT_UNDER_TEST"]


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("programs")


@pytest.fixture(scope="session")
def compile_c(build_dir: Path) -> Callable[..., Path]:
    """Compile tests/programs/NAME.c (once per session) and return the binary's path."""
    built: dict[tuple[str, tuple[str, ...]], Path] = {}
    cc = shutil.which("cc") or shutil.which("gcc")

    def compile_(name: str, *defines: str) -> Path:
        key = (name, defines)
        if key not in built:
            if cc is None:
                pytest.fail("a C compiler (cc) is needed to build the test programs")
            suffix = "".join(f"-{d.lower()}" for d in defines)
            out = build_dir / f"{name}{suffix}"
            flags = [f"-D{d}" for d in defines]
            subprocess.run(
                [cc, "-O1", "-pthread", *flags, "-o", str(out), str(PROGRAMS / f"{name}.c")],
                check=True,
            )
            built[key] = out
        return built[key]

    return compile_


@pytest.fixture
def strace_ok(request: pytest.FixtureRequest) -> None:
    """Skip where strace cannot trace; `make test` passes --sysprobe-require to fail instead."""
    require_strace(request.config)


@pytest.fixture
def ptrace_ok(request: pytest.FixtureRequest) -> None:
    """Skip where the ptrace backend cannot run (no python-ptrace, not x86_64)."""
    require_backend(request.config, "ptrace")


@pytest.fixture(params=["strace", "ptrace"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once per backend: $SYSPROBE_BACKEND reaches the CLI, the API and the
    fixture alike, so one test body proves both give the same verdicts."""
    name = str(request.param)
    require_backend(request.config, name)
    monkeypatch.setenv("SYSPROBE_BACKEND", name)
    return name


@pytest.fixture
def run_strace(tmp_path: Path, strace_ok: None) -> Callable[..., Path]:
    """Run the real strace with the given options; return the log's path.

    ``mode="file"`` uses -o (bare pids), ``mode="stderr"`` captures strace's stderr
    (``[pid N]`` prefixes, leader unprefixed), ``mode="ff"`` writes per-pid files and
    returns their common prefix.
    """
    counter = iter(range(1000))

    def run(argv: list[str], *options: str, mode: str = "file") -> Path:
        log = tmp_path / f"trace{next(counter)}.log"
        base = ["strace", *options]
        if mode == "file":
            cmd = [*base, "-o", str(log), "--", *argv]
            subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elif mode == "stderr":
            with open(log, "wb") as fh:
                subprocess.run([*base, "--", *argv], check=False, stdout=subprocess.DEVNULL, stderr=fh)
        elif mode == "ff":
            cmd = [*base, "-ff", "-o", str(log), "--", *argv]
            subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            raise ValueError(mode)
        return log

    return run


@pytest.fixture
def python() -> str:
    return sys.executable
