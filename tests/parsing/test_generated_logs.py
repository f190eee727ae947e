"""Logs the real strace writes with each option set, on programs with threads, forks,
vfork/clone3, exec from a thread, signals and killed children: every line is read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import sysprobe
from sysprobe._parsing.lineparse import parse_lines
from sysprobe._parsing.sources import parse_paths
from sysprobe.events import Event, Exit, Killed, Signal, StackFrame, Stopped, Superseded, Syscall, Unparsed

from ..helpers import lines_of, program, raw_nodes

OPTION_SETS = [
    ("file", ()),
    ("file", ("-t",)),
    ("file", ("-tt",)),
    ("file", ("-ttt",)),
    ("file", ("-r",)),
    ("file", ("-T",)),
    ("file", ("--syscall-times=ns",)),
    ("file", ("--absolute-timestamps=format:unix,precision:ns", "-T")),
    ("file", ("-y",)),
    ("file", ("-yy",)),
    ("file", ("-Y",)),
    ("file", ("-X", "raw")),
    ("file", ("-X", "verbose")),
    ("file", ("-x",)),
    ("file", ("-xx",)),
    ("file", ("-v", "-s", "256")),
    ("file", ("-i", "-n")),
    ("file", ("-tt", "-T", "-yy", "-Y")),
    ("stderr", ()),
    ("stderr", ("-tt", "-T", "-y")),
    ("stderr", ("-Y",)),
]


def check_log(events: list[Event], line_count: int) -> None:
    assert [e for e in events if isinstance(e, Unparsed)] == []
    # every line is in an event; a line torn by a strace message is in two (message, call)
    assert sorted({n for e in events for n in e.lines}) == list(range(1, line_count + 1))
    call_lines = [n for e in events if isinstance(e, Syscall) for n in e.lines]
    assert len(call_lines) == len(set(call_lines))
    undecoded = [(e.line, r) for e in events if isinstance(e, Syscall) for r in raw_nodes(e.args)]
    assert undecoded == []


def check_zoo(events: list[Event]) -> None:
    """What zoo.c does must be visible, whatever the options."""
    calls = [e for e in events if isinstance(e, Syscall)]
    names = {c.name for c in calls}
    assert {"clone3", "vfork", "execve", "restart_syscall", "setitimer", "pipe2"} <= names
    assert any(isinstance(e, Superseded) for e in events)  # exec from a thread
    killed = {e.signal for e in events if isinstance(e, Killed)}
    assert killed == {"SIGSEGV", "SIGKILL"}
    assert any(isinstance(e, Stopped) and e.signal == "SIGSTOP" for e in events)
    assert {"SIGCHLD", "SIGALRM", "SIGCONT"} <= {e.signal for e in events if isinstance(e, Signal)}
    assert {c.errno for c in calls} >= {"ERESTARTSYS", "ERESTART_RESTARTBLOCK"}
    assert any(isinstance(e, Exit) and e.code == 7 for e in events)
    merged = [c for c in calls if c.split == "merged"]
    assert all(c.end_line is not None and c.end_line > c.line for c in merged)
    execs = [c for c in calls if c.name == "execve" and c.ret == 0]
    assert len(execs) >= 4  # zoo itself, vfork, posix_spawn, the thread


@pytest.mark.parametrize(
    ("mode", "options"), OPTION_SETS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else v
)
def test_zoo_under_each_option_set(
    mode: str, options: tuple[str, ...], run_strace: Callable[..., Path], compile_c: Callable[..., Path]
) -> None:
    log = run_strace([str(compile_c("zoo"))], "-f", *options, mode=mode)
    lines = list(lines_of(log))
    events = list(parse_lines(lines))
    check_log(events, len(lines))
    check_zoo(events)
    # the parent's vfork waits for the child's exec: always split in a -f log
    assert any(isinstance(c, Syscall) and c.name == "vfork" and c.split == "merged" for c in events)
    # strace's stderr leaves the leader unprefixed: its pid is learnt from the log itself
    assert all(e.pid is not None for e in events if not isinstance(e, StackFrame))
    if any(o.startswith(("-t", "-r", "--abs")) for o in options):
        assert all(e.time is not None for e in events if isinstance(e, Syscall))
    if "-T" in options or any(o.startswith("--syscall-times") for o in options):
        timed = [c for c in events if isinstance(c, Syscall) and c.complete and c.ret_text != "?"]
        assert timed and all(c.duration_seconds is not None for c in timed)


@pytest.mark.parametrize("timestamps", [("-ttt",), ("-tt",), ()])
def test_per_pid_files_are_merged(
    timestamps: tuple[str, ...], run_strace: Callable[..., Path], compile_c: Callable[..., Path]
) -> None:
    prefix = run_strace([str(compile_c("zoo"))], *timestamps, mode="ff")
    files = sorted(str(p) for p in prefix.parent.glob(prefix.name + ".*"))
    assert len(files) >= 8
    events = list(parse_paths(files))
    assert [e for e in events if isinstance(e, Unparsed)] == []
    pids = {int(f.rsplit(".", 1)[1]) for f in files}
    assert {e.pid for e in events} == pids
    for f in files:
        name = Path(f).name
        mine = [e for e in events if e.file == name]
        assert sorted(n for e in mine for n in e.lines) == list(
            range(1, sum(1 for _ in lines_of(Path(f))) + 1)
        )
    check_zoo(events)
    if timestamps:
        seconds = [e.seconds for e in events if e.seconds is not None]
        assert seconds == sorted(seconds)  # one timeline across the files
    else:
        order = [int((e.file or "").rsplit(".", 1)[1]) for e in events]
        assert order == sorted(order)  # file after file, by pid


def test_stack_traces(run_strace: Callable[..., Path]) -> None:
    # (not on zoo: strace 6.1's -k dies at an exec from a thread, "cannot initialize libunwind")
    log = run_strace(["sh", "-c", "cat /etc/hostname > /dev/null; exec true"], "-f", "-k")
    lines = list(lines_of(log))
    events = list(parse_lines(lines))
    check_log(events, len(lines))
    frames = [e for e in events if isinstance(e, StackFrame)]
    assert len(frames) > len(lines) / 3
    pids = {e.pid for e in events if isinstance(e, Syscall)}
    assert {f.pid for f in frames} <= pids and None not in pids


def test_python_and_shell_programs(run_strace: Callable[..., Path], python: str) -> None:
    script = (
        "import subprocess, threading, json; t = threading.Thread(target=lambda: subprocess.run(['true'])); "
        "t.start(); t.join(); print(json.dumps([1]))"
    )
    for argv in ([python, "-c", script], ["sh", "-c", "ls / | head -1; (sleep 0.01 &) ; wait"]):
        log = run_strace(argv, "-f", "-yy", "-tt", "-T")
        lines = list(lines_of(log))
        events = list(parse_lines(lines))
        check_log(events, len(lines))
        assert isinstance(events[-1], Exit | Killed) or events[-1].pid is not None


def test_interpreted_and_compiled_parsers_agree(
    run_strace: Callable[..., Path], compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    """The same sources run interpreted (as without a C compiler) give the same events as
    the mypyc-compiled modules of this install."""
    package = Path(sysprobe.__file__).parent
    if not list((package / "_parsing").glob("lineparse.*.so")):
        reason = f"no compiled line parser in {package}: nothing to compare the interpreted sources with"
        if os.environ.get("SYSPROBE_PURE"):
            pytest.skip(f"{reason} (SYSPROBE_PURE is set)")
        pytest.fail(f"{reason}; `make deps` compiles it (SYSPROBE_PURE=1 to test a pure install)")
    pure = tmp_path / "pure" / "sysprobe"
    shutil.copytree(package, pure, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    log = run_strace([str(compile_c("zoo"))], "-f", "-yy", "-T")
    out = {}
    for label, path in (("pure", str(pure.parent)), ("compiled", str(package.parent))):
        done = subprocess.run(
            [sys.executable, str(program("parsed_events.py")), str(log)],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": path, "PATH": "/usr/bin:/bin"},
        )
        first, *events = done.stdout.splitlines()
        for module, loaded in json.loads(first).items():
            assert loaded.endswith(".py" if label == "pure" else ".so"), (label, module, loaded)
        out[label] = [json.loads(line) for line in events]
    assert out["pure"] == out["compiled"]
    assert len(out["pure"]) > 100


@pytest.mark.parametrize("options", [(), ("-tt", "-y")])
def test_pids_of_a_real_stderr_log(
    options: tuple[str, ...], run_strace: Callable[..., Path], tmp_path: Path
) -> None:
    """strace's stderr writes "[pid %5u] " before every line once there is more than one
    process (the leader's lines before that have no prefix): the pids read from it are the
    ones the processes report themselves, whatever their width (test_prefixes pins each),
    and the leader's unprefixed lines are its own (issue 12, case 7)."""
    reported = tmp_path / "pids"
    script = f'echo $$ >> {reported}; sh -c "echo \\$\\$ >> {reported}"; sh -c "echo \\$\\$ >> {reported}"'
    log = run_strace(["sh", "-c", script], "-f", *options, mode="stderr")
    events = list(parse_lines(list(lines_of(log))))
    leader, *children = (int(pid) for pid in reported.read_text().split())
    assert len(children) == 2 and leader not in children
    assert {e.pid for e in events} == {leader, *children}
    # whole calls only: one split by the first fork started unprefixed (and whether the
    # leader's calls after it are split or whole is the scheduler's choice)
    whole = [e for e in events if isinstance(e, Syscall) and e.pid in children and e.split is None]
    assert set(children) <= {e.pid for e in whole}
    assert all(e.raw.startswith(f"[pid {e.pid:5d}] ") for e in whole)
    first = events[0]
    assert isinstance(first, Syscall) and (first.pid, first.name) == (leader, "execve")  # alone, unprefixed
    assert not first.raw.startswith("[pid")
    exits = {e.pid: e.code for e in events if isinstance(e, Exit)}
    assert exits == {children[0]: 0, children[1]: 0, leader: 0}  # the leader exits alone again
