"""JSON Lines as a data contract (issue 15): DuckDB loads the streams of real runs and
answers questions in one query each; every record of every stream validates against the
published schema; every string is valid UTF-8 and every key has one type."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import jsonschema
import pytest

from sysprobe._parsing.jsonl import SCHEMA_VERSION, schema
from sysprobe._parsing.sources import parse_paths
from sysprobe.events import Syscall

from ..helpers import CORPUS, PROGRAMS, SYSPROBE, TESTS, sysprobe

WILD = TESTS / "data" / "wild"
SPLIT_HEAVY = CORPUS / "tree-sitter-strace" / "example-file-interleaf.strace"

FAILED_BY_ERRNO = """
    SELECT errno, count(*) AS calls
    FROM read_json_auto(?, format = 'newline_delimited')
    WHERE type = 'syscall' AND errno IS NOT NULL
    GROUP BY errno ORDER BY calls DESC, errno
"""
OPEN_AT_EACH_EXEC = """
    SELECT pid, line, program, f.fd AS fd, f.kind AS kind, f.name AS name,
           f.created_by.syscall AS made_by, f.created_by.line AS made_at
    FROM (SELECT pid, line, args[1]->>'str' AS program, unnest(fds) AS f
          FROM read_json_auto(?, format = 'newline_delimited')
          WHERE type = 'syscall' AND name IN ('execve', 'execveat'))
    ORDER BY line, fd
"""

# a CPython program that writes bytes that are not UTF-8 (to its stdout, into a pipe, as a
# file name), fails calls, and leaks a pipe into a child
PYTHON_BYTES = r"""
import os, sys
os.write(1, b"caf\xe9 \xff\xfe\n")
r, w = os.pipe()
os.write(w, b"\x00\xff binary \x80")
os.read(r, 64)
for name in (b"/nonexistent/\xff\xfe", b"/nonexistent/plain"):
    try:
        open(name, "rb")
    except OSError:
        pass
os.set_inheritable(w, True)
os.system("exec true")
"""


@pytest.fixture(scope="session")
def go_extrafiles(request: pytest.FixtureRequest, build_dir: Path) -> Path:
    """tests/programs/extrafiles.go, built once per session; Go's build cache and GOPATH
    live in the session's temporary folder."""
    go = shutil.which("go")
    if go is None:
        message = "go is not installed (`make test-deps` installs it)"
        if request.config.getoption("--sysprobe-require"):
            pytest.fail(f"{message}; required by --sysprobe-require", pytrace=False)
        pytest.skip(message)
    out = build_dir / "extrafiles"
    if not out.exists():
        env = {
            **os.environ,
            "GOCACHE": str(build_dir / "gocache"),
            "GOPATH": str(build_dir / "gopath"),
            "GO111MODULE": "off",
        }
        subprocess.run([go, "build", "-o", str(out), str(PROGRAMS / "extrafiles.go")], check=True, env=env)
    return out


def records(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    data.decode("utf-8")  # strict: valid UTF-8 throughout
    return [json.loads(line) for line in data.splitlines()]


def validated(path: Path) -> list[dict[str, Any]]:
    """The stream's records, each valid against the schema; the header first."""
    out = records(path)
    validator = jsonschema.Draft202012Validator(schema("events"))
    for record in out:
        error = jsonschema.exceptions.best_match(validator.iter_errors(record))
        assert error is None, f"{error.message[:300]} at {list(error.absolute_path)}: {record['raw'][:200]}"
    first = out[0]
    assert (first["type"], first["schema"], first["schema_version"]) == (
        "header",
        "sysprobe-events",
        SCHEMA_VERSION,
    )
    assert all(r["type"] != "header" for r in out[1:])
    return out


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def one_type_per_key(streams: list[list[dict[str, Any]]]) -> None:
    seen: dict[str, set[str]] = {}
    for stream in streams:
        for record in stream:
            for key, value in record.items():
                if value is not None:
                    seen.setdefault(key, set()).add(json_type(value))
    mixed = {key: types for key, types in seen.items() if len(types) > 1}
    assert not mixed


def failed_by_errno(path: Path) -> list[tuple[str, int]]:
    return duckdb.connect().execute(FAILED_BY_ERRNO, [str(path)]).fetchall()


def open_at_each_exec(path: Path) -> list[tuple[Any, ...]]:
    return duckdb.connect().execute(OPEN_AT_EACH_EXEC, [str(path)]).fetchall()


def expected_failures(events: list[dict[str, Any]]) -> list[tuple[str, int]]:
    counts = Counter(e["errno"] for e in events if e["type"] == "syscall" and e["errno"] is not None)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


@pytest.fixture
def streams(tmp_path: Path) -> Callable[..., Path]:
    """Run sysprobe, its JSON Lines in a file of tmp_path."""
    counter = iter(range(100))

    def run(*args: str) -> Path:
        out = tmp_path / f"stream{next(counter)}.jsonl"
        done = sysprobe(*args)
        assert done.returncode in (0, 1), done.stderr
        out.write_text(done.stdout, encoding="utf-8")
        return out

    return run


def test_a_cpython_run_with_bytes_that_are_not_utf8(tmp_path: Path, strace_ok: None) -> None:
    out = tmp_path / "python.jsonl"
    done = subprocess.run(
        [*SYSPROBE, "trace", "--events", str(out), "--", sys.executable, "-S", "-c", PYTHON_BYTES],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"caf\xe9 \xff\xfe\n"  # the program's own stdout, untouched
    events = validated(out)
    one_type_per_key([events])
    assert failed_by_errno(out) == expected_failures(events)
    assert dict(failed_by_errno(out))["ENOENT"] >= 2  # the two opens, at least
    # the bytes: text with U+FFFD, the exact bytes in str_b64
    writes = [e for e in events if e["type"] == "syscall" and e["name"] == "write"]
    buffers = [w["args"][1] for w in writes]
    assert {
        "str": "caf\ufffd \ufffd\ufffd\n",
        "str_b64": base64.b64encode(b"caf\xe9 \xff\xfe\n").decode(),
    } in buffers
    assert any(base64.b64decode(b.get("str_b64", "")) == b"\x00\xff binary \x80" for b in buffers)
    opens = [e["args"][1] for e in events if e["type"] == "syscall" and e["name"] == "openat" and e["errno"]]
    assert any(base64.b64decode(o.get("str_b64", "")) == b"/nonexistent/\xff\xfe" for o in opens)
    # the pipe's write end crossed into the shell os.system ran, and on into true
    at_exec = open_at_each_exec(out)
    assert [(row[2].rsplit("/", 1)[-1], row[3], row[4], row[6]) for row in at_exec] == [
        ("sh", 4, "pipe", "pipe2"),
        ("true", 4, "pipe", "pipe2"),
    ]
    pid, line = at_exec[0][0], at_exec[0][1]
    assert any(e["pid"] == pid and e["line"] == line and e["name"] == "execve" for e in events if "name" in e)


def test_a_go_run_on_stdout_apart_from_the_programs_output(
    go_extrafiles: Path, strace_ok: None, tmp_path: Path
) -> None:
    """--events - (or --json): the stream on stdout, the command's own stdout on stderr."""
    done = subprocess.run(
        [*SYSPROBE, "trace", "--json", "--", str(go_extrafiles), "/bin/echo", "not json", "leak"],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    path = tmp_path / "go.jsonl"
    path.write_bytes(done.stdout)
    events = validated(path)
    one_type_per_key([events])
    assert failed_by_errno(path) == expected_failures(events)
    rows = open_at_each_exec(path)
    echo = [row for row in rows if row[2] == "/bin/echo"]
    # ExtraFiles passes /etc/hostname as fd 3 on purpose; syscall.Pipe's ends leak
    assert {(row[3], row[5]) for row in echo} >= {(3, "/etc/hostname")}
    assert {row[4] for row in echo} >= {"file", "pipe"}
    deliberate = (
        duckdb.connect()
        .execute(
            "SELECT f.fd, f.deliberate FROM (SELECT unnest(fds) AS f FROM read_json_auto(?) "
            "WHERE name = 'execve' AND args[1]->>'str' = '/bin/echo') ORDER BY 1",
            [str(path)],
        )
        .fetchall()
    )
    assert (3, True) in deliberate and any(not d for _, d in deliberate)


def test_the_commands_stdout_goes_to_stderr_with_events_on_stdout(strace_ok: None) -> None:
    for option in (["--json"], ["--events", "-"]):
        done = subprocess.run(
            [*SYSPROBE, "trace", *option, "--", "sh", "-c", "echo not json; echo to stderr >&2"],
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.decode("utf-8").splitlines()
        assert all(json.loads(line)["type"] for line in lines)
        assert json.loads(lines[0])["type"] == "header" and len(lines) > 10
        assert done.stderr.startswith(b"not json\nto stderr\n"), done.stderr


def test_a_split_call_heavy_log_and_the_wild_corpus(streams: Callable[..., Path]) -> None:
    all_streams = []
    for log in [SPLIT_HEAVY, *sorted(WILD.glob("*.log"))]:
        out = streams("parse", "--json", str(log))
        events = validated(out)
        all_streams.append(events)
        assert failed_by_errno(out) == expected_failures(events)
        parsed = list(parse_paths([str(log)]))
        assert len(events) == len(parsed) + 1
        if log == SPLIT_HEAVY:
            merged = [e for e in events if e["type"] == "syscall" and e.get("split") == "merged"]
            assert len(merged) > 100
            assert all(len(e["lines"]) >= 2 and e["raw"].count("\n") == len(e["lines"]) - 1 for e in merged)
            assert sum(isinstance(e, Syscall) and e.split == "merged" for e in parsed) == len(merged)
    one_type_per_key(all_streams)


def test_open_at_each_exec_on_a_leaking_log(streams: Callable[..., Path]) -> None:
    out = streams("parse", "--json", str(WILD / "sh-interleaved.log"))
    rows = open_at_each_exec(out)
    assert [(r[2], r[3], r[5], r[6]) for r in rows] == [
        ("/usr/bin/mkdir", 5, "/etc/hostname", "openat"),
        ("/usr/bin/ls", 5, "/etc/hostname", "openat"),
    ]


def test_the_json_report_has_one_type_per_key_and_its_schema(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = sysprobe(
        "check", "--log", str(WILD / "sh-interleaved.log"), "--no-fd-leaks", "--forbid", "mkdir",
        "--expect", "write", "--json-report", str(report),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    data = json.loads(report.read_bytes().decode("utf-8"))
    jsonschema.Draft202012Validator(schema("report")).validate(data)
    assert (data["schema"], data["schema_version"]) == ("sysprobe-report", 1)
    evidence = [e for r in data["results"] for e in r["evidence"]]
    assert evidence and all(isinstance(e, dict) for e in evidence)
    leak_lines = {leak["exec"]["line"] for r in data["results"] for leak in r.get("leaks", [])}
    stream = tmp_path / "events.jsonl"
    stream.write_text(sysprobe("parse", "--json", str(WILD / "sh-interleaved.log")).stdout, encoding="utf-8")
    exec_lines = {e["line"] for e in records(stream) if e.get("name") == "execve" and e.get("fds")}
    assert leak_lines == exec_lines and len(leak_lines) == 2
