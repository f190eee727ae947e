"""`sysprobe parse` and the command line's shape."""

from __future__ import annotations

import json
from pathlib import Path

from ..helpers import CORPUS, sysprobe

SMALL = CORPUS / "tree-sitter-strace" / "example-file-small.strace"


def test_parse_json_lines() -> None:
    done = sysprobe("parse", "--json", str(SMALL))
    assert done.returncode == 0
    events = [json.loads(line) for line in done.stdout.splitlines()]
    # the call left unfinished (line 9) is emitted when the log ends
    assert [e["line"] for e in events] == [1, 2, 3, 4, 5, 6, 7, 8, 10, 9]
    first = events[0]
    assert first == {
        "type": "syscall",
        "pid": None,
        "line": 1,
        "name": "execve",
        "args": [{"str": "/usr/bin/ls"}, [{"str": "ls"}], {"value": 0x7FFDCC909270, "comment": "84 vars"}],
        "ret": 0,
        "errno": None,
        "raw": 'execve("/usr/bin/ls", ["ls"], 0x7ffdcc909270 /* 84 vars */) = 0',
    }
    failed = events[2]
    assert (failed["errno"], failed["errno_text"], failed["ret"]) == ("EINVAL", "Argument invalide", -1)
    assert events[-1]["split"] == "unfinished" and events[-2]["split"] == "resumed"


def test_parse_summary_and_stdin() -> None:
    done = sysprobe("parse", "-", stdin=SMALL.read_text())
    assert done.returncode == 0
    assert "3 processes, 10 syscalls (2 failed), 0 signals" in done.stdout
    assert "failed:   arch_prctl EINVAL 1" in done.stdout


def test_parse_strict_flags_unparsed_lines(tmp_path: Path) -> None:
    log = tmp_path / "odd.log"
    log.write_text('1 close(3) = 0\nthis is not strace\n1 write(1, "cut off')
    lenient = sysprobe("parse", str(log))
    assert lenient.returncode == 0
    assert "unparsed line 2: not a strace line" in lenient.stdout
    assert "unparsed line 3: incomplete line" in lenient.stdout
    strict = sysprobe("parse", "--strict", str(log))
    assert strict.returncode == 1


def test_parse_per_pid_set_in_time_order() -> None:
    paths = [str(CORPUS / "tracecode-toolkit-strace" / n) for n in ("t.15480", "trace.70676")]
    done = sysprobe("parse", "--json", *paths)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert {(e["file"], e["pid"]) for e in events} == {("t.15480", 15480), ("trace.70676", 70676)}


def test_parse_missing_file_is_a_usage_error() -> None:
    done = sysprobe("parse", "/nonexistent.log")
    assert (done.returncode, done.stderr) == (2, "sysprobe: /nonexistent.log: no such file\n")


def test_version_and_help() -> None:
    assert sysprobe("--version").stdout.startswith("sysprobe ")
    helped = sysprobe("trace", "--help")
    assert helped.returncode == 0 and "--timeout" in helped.stdout and "CMD [ARGS]..." in helped.stdout
    assert sysprobe("no-such-subcommand").returncode == 2
