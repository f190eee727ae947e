"""Goldens that hold on real runtimes: each program runs RUNS times on each backend and
every run must match one committed golden (traces/tests/golden/test_runtimes/). Go's
scheduler moves calls between threads and starts a varying number of them; Node's
libuv pool reads files on its own threads; Python's Popen runs under pytest's capture
and under ``-s``; mkstemp names a new file on every run.

Go and Node are test dependencies (`make test-deps` installs them): missing, these tests
fail under --sysprobe-require (as `make test` and CI run) and skip otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sysprobe.pytest_plugin import Sysprobe, use_golden

RUNS = 10
PROGRAMS = Path(__file__).parent.parent / "programs"
pytestmark = [pytest.mark.usefixtures("backend"), pytest.mark.slow]


def require_runtime(config: pytest.Config, name: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (`make test-deps` installs it)"
        if config.getoption("--sysprobe-require"):
            pytest.fail(f"{message}; required by --sysprobe-require", pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def go_server(request: pytest.FixtureRequest, build_dir: Path) -> Path:
    """tests/programs/goserver.go, built once per session; Go's build cache and GOPATH
    live in the session's temporary folder, so nothing is written to $HOME."""
    go = require_runtime(request.config, "go")
    out = build_dir / "goserver"
    env = {
        **os.environ,
        "GOCACHE": str(build_dir / "gocache"),
        "GOPATH": str(build_dir / "gopath"),
        "GO111MODULE": "off",
    }
    subprocess.run([go, "build", "-o", str(out), str(PROGRAMS / "goserver.go")], check=True, env=env)
    return out


@pytest.fixture
def node(request: pytest.FixtureRequest) -> str:
    return require_runtime(request.config, "node")


def ten_runs(sysprobe: Sysprobe, argv: list[str | Path], **replacements: str) -> None:
    pairs = [(value, f"${key}") for key, value in replacements.items()]
    for _ in range(RUNS):
        t = sysprobe.run(argv)
        assert t.exit_status == 0, t.events[-1]
        t.assert_golden(replacements=pairs)


def test_go_http_server_sendfile_and_exec(sysprobe: Sysprobe, go_server: Path) -> None:
    ten_runs(sysprobe, [go_server])


def test_node_file_read_http_and_spawn(sysprobe: Sysprobe, node: str, tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("node reads this on libuv's thread pool\n")
    ten_runs(sysprobe, [node, PROGRAMS / "noderun.js", data], NODE=os.path.realpath(node))


def test_c_mkstemp(sysprobe: Sysprobe, compile_c: Callable[..., Path]) -> None:
    ten_runs(sysprobe, [compile_c("mkstemp")])


INNER_TEST = """
import sys


def test_popen_thread_tempfile(sysprobe):
    for _ in range({runs}):
        t = sysprobe.run([sys.executable, "popen_thread.py"])
        assert t.exit_status == 0
        t.assert_golden()
"""


def test_python_popen_under_pytest_capture_and_s(
    request: pytest.FixtureRequest, pytester: pytest.Pytester, backend: str
) -> None:
    """The traced program's stdout is pytest's capture file, then (``-s``) the terminal
    pytest was given: one golden for both, on both backends."""
    committed = use_golden(request.node)  # compared by the inner sessions
    pytester.makepyfile(test_inner=INNER_TEST.format(runs=RUNS))
    shutil.copy(PROGRAMS / "popen_thread.py", pytester.path / "popen_thread.py")
    inner = pytester.path / "traces" / "test_inner" / "test_popen_thread_tempfile.trace"
    update = bool(request.config.getoption("--sysprobe-update"))
    if update:
        pytester.runpytest_subprocess("--sysprobe-update", "--sysprobe-backend", backend).assert_outcomes(
            passed=1
        )
        committed.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(inner, committed)
    inner.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(committed, inner)
    for capture in ([], ["-s"]):
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", *capture, "--sysprobe-backend", backend
        )
        result.assert_outcomes(passed=1)
    text = committed.read_text()
    assert "$TEMP1" in text and "vfork() = <process 2>" in text and sys.executable not in text


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("goserver-80112", "goserver-$TEMP"),  # Go's CreateTemp: a number, sometimes short
        ("goserver-3912345678", "goserver-$TEMP"),
        ("fdlab-cbSYso", "fdlab-$TEMP"),  # mkstemp
        ("tmpab12cd.txt", "$TEMP.txt"),  # tempfile.NamedTemporaryFile(suffix=".txt")
    ],
)
def test_a_temporary_keeps_the_part_its_program_chose(name: str, shown: str) -> None:
    """The golden shows the prefix and suffix a program gave its temporary, whatever the
    length of the random part (a short one made the Go golden flaky)."""
    from sysprobe._golden.golden import _TEMP_NAME

    found = _TEMP_NAME.match(name)
    assert found is not None
    assert f"{found['prefix'] or ''}$TEMP{found['suffix'] or ''}" == shown
