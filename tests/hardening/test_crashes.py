"""Issue 13's crash classes that no other stage's tests pin: escapes a log may hold that
Python's own decoder raises or warns on (through the Python API, the command line, and
under -W error), and timeouts at the edges on the command line of both backends.
(The others are pinned where they live: tests/tracing/test_trust.py — nan/0/negative
timeouts, stopped tracees, set-up errors' leftovers, SIGKILL of sysprobe —,
tests/tracing/test_supervisor.py — two traces from two threads —, tests/golden and
tests/hardening — goldens.)"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import sysprobe
from sysprobe.argtree import Fd, Str
from sysprobe.events import Syscall
from tests.helpers import SYSPROBE
from tests.helpers import sysprobe as cli

# escapes strace does not write, where a log cut, damaged or made by hand may hold them;
# codecs.escape_decode raised (ValueError) or warned (DeprecationWarning) on each
ODD = [
    ('10 write(1, "a\\eb", 3) = 3', Str(b"a\\eb")),
    ('10 write(1, "a\\x4", 3) = 3', Str(b"a\\x4")),
    ('10 write(1, "a\\8\\777\\x41\\101", 3) = 3', Str(b"a\\8\xffAA")),
]
ODD_DECORATIONS = [
    ('10 openat(AT_FDCWD, "a", O_RDONLY) = 3</a\\x>', "/a\\x"),
    ('10 openat(AT_FDCWD, "a", O_RDONLY) = 3</a\\>', "/a\\"),
    ('10 openat(AT_FDCWD, "a", O_RDONLY) = 3</a\\e\\x4a>', "/a\\eJ"),
]


@pytest.fixture
def odd_log(tmp_path: Path) -> Path:
    log = tmp_path / "odd.log"
    lines = [line for line, _ in ODD + ODD_DECORATIONS]
    log.write_text("\n".join([*lines, "10 +++ exited with 0 +++", ""]))
    return log


def test_odd_escapes_decode_as_they_are_through_the_api(odd_log: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as in a user's suite with filterwarnings = error
        calls = [e for e in sysprobe.parse(odd_log).events if isinstance(e, Syscall)]
    assert [c.args[1] for c in calls[: len(ODD)]] == [want for _, want in ODD]
    fds = [c.ret_fd for c in calls[len(ODD) :]]
    assert fds == [Fd(3, info) for _, info in ODD_DECORATIONS]


@pytest.mark.parametrize("warnings_are", ["error", "default"])  # default: printed (PYTHONWARNINGS)
@pytest.mark.parametrize("command", [["parse", "--json"], ["check", "--no-fd-leaks", "--log"]])
def test_odd_escapes_through_the_cli_raise_and_print_no_warning(
    command: list[str], warnings_are: str, odd_log: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-W", warnings_are, "-m", "sysprobe", *command, str(odd_log)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr


@pytest.mark.parametrize(("value", "code"), [("inf", 4), ("1e300", 4), ("-1", 2), ("1e-300", None)])
def test_edge_timeouts_on_the_command_line(value: str, code: int | None, backend: str) -> None:
    """No limit for inf and 1e300 (no overflow on either backend); a usage error below 0;
    a timeout too short for anything to run is a timeout, not a crash or a hang."""
    done = cli("trace", "--no-summary", f"--timeout={value}", "--", "sh", "-c", "exit 4", timeout=60)
    if code is None:
        assert done.returncode in (4, 124), done.stderr  # it may just make it
    else:
        assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    if code != 2:  # (a usage error is typer's box)
        assert done.stderr.count("\n") <= 1, done.stderr


def test_the_cli_runs_clean_under_w_error(backend: str, tmp_path: Path) -> None:
    """No warning in a whole trace, check and golden update (a warning is an exception
    under -W error)."""
    golden = tmp_path / "g.trace"
    for args in (
        ["trace", "--", "sh", "-c", "cat /etc/hostname >/dev/null"],
        ["check", "--no-fd-leaks", "--expect", "openat", "--", "sh", "-c", "cat /etc/hostname"],
        ["trace", "--golden", str(golden), "--update", "--", "true"],
    ):
        done = subprocess.run(
            [sys.executable, "-X", "dev", "-W", "error", *SYSPROBE[1:], *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "Warning" not in done.stderr and "Traceback" not in done.stderr, done.stderr
