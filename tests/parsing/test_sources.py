"""Reading logs whatever their form (issue 12 case 6, issue 13's log crashes): CRLF and
gzip transparently; an empty, unreadable or binary log is an error with its own exit code,
never a pass; damaged logs give a message or unparsed events, never a traceback."""

from __future__ import annotations

import gzip
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest

import sysprobe
from sysprobe._parsing.sources import OPEN_AT_ONCE, parse_paths
from sysprobe.errors import EXIT_BAD_LOG, EXIT_INCOMPLETE, BadLog, UsageError
from sysprobe.events import Syscall, Unparsed

from ..helpers import SYSPROBE, TESTS, check

# a shell's fd 5 crossing two execs: the leak every readable form of it must show
LEAKING = (TESTS / "data" / "wild" / "sh-interleaved.log").read_bytes()


def leaks_found(log: Path) -> None:
    done = check("--log", str(log), "--no-fd-leaks")
    report = done.stdout + done.stderr
    assert done.returncode == 1, report
    assert "fd 5 (/etc/hostname) leaked into pid" in report
    assert "Traceback" not in report


def test_crlf_log(tmp_path: Path) -> None:
    log = tmp_path / "crlf.log"
    log.write_bytes(LEAKING.replace(b"\n", b"\r\n"))
    leaks_found(log)
    plain = [(e.type, e.lines, getattr(e, "name", None)) for e in parse_paths([str(tmp_path / "crlf.log")])]
    (tmp_path / "lf.log").write_bytes(LEAKING)
    assert plain == [
        (e.type, e.lines, getattr(e, "name", None)) for e in parse_paths([str(tmp_path / "lf.log")])
    ]


def test_gzip_log_with_or_without_its_suffix(tmp_path: Path) -> None:
    for name in ("trace.log.gz", "trace.log"):
        log = tmp_path / name
        log.write_bytes(gzip.compress(LEAKING))
        leaks_found(log)


def test_gzip_from_stdin() -> None:
    done = subprocess.run(
        [*SYSPROBE, "check", "--log", "-", "--no-fd-leaks"],
        input=gzip.compress(LEAKING),
        capture_output=True,
        check=False,
    )
    assert done.returncode == 1 and b"fd 5 (/etc/hostname) leaked" in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the log is empty"),
        (random.Random(15).randbytes(20_000), "not a strace log"),
        (b"hello\nworld\n", "not a strace log (none of its 2 lines reads as strace output)"),
        (gzip.compress(LEAKING)[:1500], "the gzip data ends early"),
        (gzip.compress(LEAKING)[:10] + b"\xff" * 64, "bad gzip data"),
    ],
    ids=["empty", "random bytes", "text only", "cut gzip", "bad gzip"],
)
def test_logs_that_cannot_be_read_are_errors(tmp_path: Path, content: bytes, message: str) -> None:
    log = tmp_path / "bad.log"
    log.write_bytes(content)
    done = check("--log", str(log), "--no-fd-leaks")
    assert done.returncode == EXIT_BAD_LOG, done.stdout + done.stderr
    assert f"sysprobe: {log}: {message}" in done.stderr
    assert "Traceback" not in done.stderr and "passed" not in done.stdout + done.stderr
    parsed = subprocess.run([*SYSPROBE, "parse", str(log)], capture_output=True, text=True, check=False)
    assert parsed.returncode == EXIT_BAD_LOG and message in parsed.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_an_unreadable_log(tmp_path: Path) -> None:
    log = tmp_path / "secret.log"
    log.write_bytes(LEAKING)
    log.chmod(0)
    done = check("--log", str(log), "--no-fd-leaks")
    assert done.returncode == EXIT_BAD_LOG and "cannot read the log" in done.stderr


def test_a_read_error_in_the_middle_is_an_error() -> None:
    """A directory opens but does not read (EISDIR): the message, not a traceback."""
    with pytest.raises(BadLog, match="cannot read the log"):
        list(parse_paths(["/", "/"]))


@pytest.mark.parametrize(
    "cut",
    [
        '3 write(1, "abc\\',
        "3 openat(AT_FDCWD</tmp\\",
        '3 openat(AT_FDCWD</tmp>, "a\\x4',
        "3 read(3</tmp/a\\",
        '3 write(1, "\\37',
        "3 close(3) = 0 <0.0000",
    ],
)
def test_a_log_cut_anywhere_is_read(tmp_path: Path, cut: str) -> None:
    """Issue 13: a real log cut after a backslash inside a string crashed check --log."""
    log = tmp_path / "cut.log"
    log.write_text('3 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 5\n' + cut)
    events = list(parse_paths([str(log)]))
    last = events[-1]
    assert isinstance(last, Syscall) and last.line == 2
    for ev in events:
        if isinstance(ev, Syscall):
            ev.args  # noqa: B018 - decoding must not raise
            ev.ret_fd  # noqa: B018
    done = check("--log", str(log), "--no-fd-leaks", "--forbid", "sendfile")
    # read, and judged for what it is: a log that stops before its process ends
    assert done.returncode == EXIT_INCOMPLETE and "Traceback" not in done.stderr, done.stderr
    assert "the log ends before its first process does (no exit line for pid 3)" in done.stderr


def test_a_bad_timestamp_in_one_file_of_a_set(tmp_path: Path) -> None:
    """Issue 13: a damaged time in one -ff file crashed the merge."""
    (tmp_path / "t.100").write_text(
        '10:00:00.000001 openat(AT_FDCWD, "/a", O_RDONLY) = 3\n10:00:00.000003 close(3) = 0\n'
    )
    (tmp_path / "t.101").write_text(
        "10:00:00.000002 close(4) = 0\n10:0x:00.0 close(5) = 0\n1:2 close(6) = 0\n"
    )
    events = list(parse_paths([str(tmp_path / "t.100"), str(tmp_path / "t.101")]))
    # a time that does not read keeps its file's last good one
    assert [(e.file, e.line) for e in events if isinstance(e, Syscall)] == [
        ("t.100", 1),
        ("t.101", 1),
        ("t.101", 2),
        ("t.101", 3),
        ("t.100", 2),
    ]
    assert sum(isinstance(e, (Syscall, Unparsed)) for e in events) == 5
    done = check("--log", str(tmp_path / "t.100"), "--log", str(tmp_path / "t.101"), "--no-fd-leaks")
    # read whole; the set shows no process's end, so the verdict is not a green
    assert done.returncode == EXIT_INCOMPLETE and "Traceback" not in done.stderr, done.stderr


def test_more_per_pid_files_than_the_open_file_limit(tmp_path: Path) -> None:
    """Issue 13: merging more -ff files than RLIMIT_NOFILE raised 'Too many open files'."""
    count = 300
    assert count > OPEN_AT_ONCE
    for k in range(count):
        pid = 1000 + k
        (tmp_path / f"trace.{pid}").write_text(
            f"10:00:{k // 100:02d}.{k % 100:06d} close({k + 3}) = 0\n"
            f"10:00:{k // 100:02d}.{k % 100 + 1:06d} exit_group(0) = ?\n"
            f"10:00:{k // 100:02d}.{k % 100 + 2:06d} +++ exited with 0 +++\n"
        )
    files = sorted(str(p) for p in tmp_path.iterdir())
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))\n"
        "from sysprobe._parsing.sources import parse_paths\n"
        "print(sum(1 for _ in parse_paths(sys.argv[1:])))\n"
    )
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft > 128
    done = subprocess.run([sys.executable, "-c", script, *files], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == 3 * count


def test_a_log_name_holding_a_nul_is_a_usage_error() -> None:
    """Only the Python API can give one (a command line cannot hold a NUL)."""
    with pytest.raises(UsageError, match="embedded null byte"):
        sysprobe.parse("a\0b.log")
