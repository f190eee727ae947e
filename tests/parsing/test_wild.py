"""Logs from the wild (issue 15): every line kind a pasted log has, with the exact events.

Each case is the log's lines and the events they must give, written as
``(type, pid, lines, what)``: ``what`` is ``name(args) = ret errno`` for a call, the
kind and text for text, the reason for an unparsed line, the main field otherwise.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sysprobe._parsing.lineparse import parse_lines
from sysprobe._parsing.sources import parse_paths
from sysprobe.events import (
    Attached,
    CallCount,
    Detached,
    Event,
    Exit,
    Message,
    Signal,
    StackFrame,
    Syscall,
    Text,
    Unparsed,
)

from ..helpers import TESTS, check

WILD = TESTS / "data" / "wild"
Row = tuple[str, "int | None", tuple[int, ...], str]


def summary(ev: Event) -> Row:
    what: str
    if isinstance(ev, Syscall):
        what = f"{ev.name}({ev.args_text}) = {ev.ret_text}" + (f" {ev.errno}" if ev.errno else "")
        if ev.split not in (None, "merged"):
            what += f" [{ev.split}{', cut' if ev.cut else ''}]"
    elif isinstance(ev, Text):
        what = f"{ev.kind}: {ev.text}"
    elif isinstance(ev, Unparsed):
        what = ev.reason
    elif isinstance(ev, Message):
        what = ev.text
    elif isinstance(ev, (Signal, Exit)):
        what = ev.raw.split("] ", 1)[-1]
    elif isinstance(ev, StackFrame):
        what = ev.frame
    elif isinstance(ev, CallCount):
        what = f"{ev.syscall} calls={ev.calls} errors={ev.errors} s={ev.total_seconds} %={ev.percent}"
    else:
        what = ""
    return (ev.type, ev.pid, ev.lines, what)


def parsed(text: str) -> list[Row]:
    return [summary(ev) for ev in parse_lines(text.strip("\n").split("\n"))]


CASES: dict[str, tuple[str, list[Row]]] = {
    # ---- program output splitting a call line ----
    "a write's text with its newline splits the line": (
        """
set_tid_address(0x7f) = 700
write(2, "(\\n", 2(
)                       = 2
""",
        [
            ("syscall", 700, (1,), "set_tid_address(0x7f) = 700"),
            ("text", 700, (2,), "output: ("),
            ("syscall", 700, (2, 3), 'write(2, "(\\n", 2) = 2'),
        ],
    ),
    "a write's text inside its line": (
        """
[pid 9] write(2, "mkdir: ", 7mkdir: )      = 7
""",
        [("text", 9, (1,), "output: mkdir: "), ("syscall", 9, (1,), 'write(2, "mkdir: ", 7) = 7')],
    ),
    "a write whose text looks like the end of a call": (
        """
[pid 9] write(1, "a, b) = 3\\n", 10a, b) = 3
)             = 10
""",
        [("text", 9, (1,), "output: a, b) = 3"), ("syscall", 9, (1, 2), 'write(1, "a, b) = 3\\n", 10) = 10')],
    ),
    "a write's text over several lines, cut short by -s": (
        """
[pid 9] write(1, "one\\ntwo\\nthr"..., 14one
two
three
) = 14
""",
        [
            ("text", 9, (1,), "output: one"),
            ("text", 9, (2,), "output: two"),
            ("text", 9, (3,), "output: three"),
            ("syscall", 9, (1, 4), 'write(1, "one\\ntwo\\nthr"..., 14) = 14'),
        ],
    ),
    "a write's text, then the call is split": (
        """
[pid 9] write(1, "hi", 2hi <unfinished ...>
[pid 8] close(3) = 0
[pid 9] <... write resumed>) = 2
""",
        [
            ("text", 9, (1,), "output: hi"),
            ("syscall", 8, (2,), "close(3) = 0"),
            ("syscall", 9, (1, 3), 'write(1, "hi", 2) = 2'),
        ],
    ),
    "output stuck to the front of a resumed line": (
        """
[pid 837231] mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3, 0 <unfinished ...>
Initializing …[pid 837231] <... mmap resumed>) = 0x7f00
[INFO] [pid 837231] prctl(PR_SET_NAME, "x") = 0
""",
        [
            ("text", None, (2,), "output: Initializing …"),
            ("syscall", 837231, (1, 2), "mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f00"),
            ("text", None, (3,), "output: [INFO] "),
            ("syscall", 837231, (3,), 'prctl(PR_SET_NAME, "x") = 0'),
        ],
    ),
    "output stuck to the front of an unprefixed call": (
        """
getpid() = 41
hello worldclose(3) = 0
""",
        [
            ("syscall", 41, (1,), "getpid() = 41"),
            ("text", None, (2,), "output: hello world"),
            ("syscall", 41, (2,), "close(3) = 0"),
        ],
    ),
    "another process's output inside a call": (
        """
getpid() = 41
ls: wait4(-1, cannot access '/x': No such file or directory
[{WIFEXITED(s) && WEXITSTATUS(s) == 2}], 0, NULL) = 42
""",
        [
            ("syscall", 41, (1,), "getpid() = 41"),
            ("text", None, (2,), "output: ls: "),
            ("text", None, (2,), "output: cannot access '/x': No such file or directory"),
            ("syscall", 41, (2, 3), "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 2}], 0, NULL) = 42"),
        ],
    ),
    "another process's output inside a call, over several lines": (
        """
getpid() = 41
wait4(-1, mkdir: cannot create directory 'x': File exists
mkdir: cannot create directory 'y': File exists
[{WIFEXITED(s) && WEXITSTATUS(s) == 1}], 0, NULL) = 42
""",
        [
            ("syscall", 41, (1,), "getpid() = 41"),
            ("text", None, (2,), "output: mkdir: cannot create directory 'x': File exists"),
            ("text", None, (3,), "output: mkdir: cannot create directory 'y': File exists"),
            ("syscall", 41, (2, 4), "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 1}], 0, NULL) = 42"),
        ],
    ),
    # ---- strace's own messages inside a line ----
    "strace: umoven inside a line": (
        """
5 select(2147483647strace: umoven: short read (8 < 128) @0x7ffd3b2b5e00
, [3 4], NULL, NULL, NULL) = 1
""",
        [
            ("message", None, (1,), "umoven: short read (8 < 128) @0x7ffd3b2b5e00"),
            ("syscall", 5, (1, 2), "select(2147483647, [3 4], NULL, NULL, NULL) = 1"),
        ],
    ),
    "strace: Process N attached inside a prefixed line": (
        """
[pid 513336] sigaltstack(NULL, strace: Process 513337 attached
{ss_sp=NULL, ss_flags=SS_DISABLE, ss_size=0}) = 0
""",
        [
            ("attached", 513337, (1,), ""),
            (
                "syscall",
                513336,
                (1, 2),
                "sigaltstack(NULL, {ss_sp=NULL, ss_flags=SS_DISABLE, ss_size=0}) = 0",
            ),
        ],
    ),
    "strace 4's clone(Process N attached": (
        """
21720 clone(Process 21721 attached
child_stack=0, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0xb7d2b708) = 21721
""",
        [
            ("attached", 21721, (1,), ""),
            (
                "syscall",
                21720,
                (1, 2),
                "clone(child_stack=0, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, "
                "child_tidptr=0xb7d2b708) = 21721",
            ),
        ],
    ),
    "strace 4's read(4, Process N detached": (
        """
11233 read(4, Process 11233 detached
 <detached ...>
""",
        [("detached", 11233, (1,), ""), ("syscall", 11233, (1, 2), "read(4,) = None [unfinished]")],
    ),
    "a trailing <ptrace(SYSCALL):No such process>": (
        """
[pid 1234] futex(0x7f, FUTEX_WAIT, 0, NULL <ptrace(SYSCALL):No such process>
""",
        [
            ("syscall", 1234, (1,), "futex(0x7f, FUTEX_WAIT, 0, NULL) = None [unfinished, cut]"),
            ("message", 1234, (1,), "ptrace(SYSCALL):No such process"),
        ],
    ),
    # ---- attribution in strace's stderr format ----
    "the leader unprefixed again after the others exit": (
        """
clone(child_stack=NULL, flags=SIGCHLD) = 21721
[pid 21720] wait4(21721,  <unfinished ...>
[pid 21721] exit_group(0) = ?
[pid 21721] +++ exited with 0 +++
<... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 21721
exit_group(0) = ?
+++ exited with 0 +++
""",
        [
            ("syscall", 21720, (1,), "clone(child_stack=NULL, flags=SIGCHLD) = 21721"),
            ("syscall", 21721, (3,), "exit_group(0) = ?"),
            ("exit", 21721, (4,), "+++ exited with 0 +++"),
            (
                "syscall",
                21720,
                (2, 5),
                "wait4(21721, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 21721",
            ),
            ("syscall", 21720, (6,), "exit_group(0) = ?"),
            ("exit", 21720, (7,), "+++ exited with 0 +++"),
        ],
    ),
    "a -p attach log without prefixes": (
        """
strace: Process 4242 attached
read(0, "x", 1) = 1
strace: Process 4242 detached
""",
        [
            ("attached", 4242, (1,), ""),
            ("syscall", 4242, (2,), 'read(0, "x", 1) = 1'),
            ("detached", 4242, (3,), ""),
        ],
    ),
    # ---- other kinds ----
    "blank lines, comments and prompts around a pasted log": (
        """
# strace of the failing build, 2024-05-01
$ strace -f ./build

3 close(3) = 0
user@host:~$ echo done
""",
        [
            ("text", None, (1,), "comment: # strace of the failing build, 2024-05-01"),
            ("text", None, (2,), "prompt: $ strace -f ./build"),
            ("text", None, (3,), "blank: "),
            ("syscall", 3, (4,), "close(3) = 0"),
            ("text", None, (5,), "prompt: user@host:~$ echo done"),
        ],
    ),
    "a -c table after the trace": (
        """
3 close(3) = 0
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 62.50    0.000010          10         1           close
 37.50    0.000006           3         2         2 openat
------ ----------- ----------- --------- --------- ----------------
100.00    0.000016           5         3         2 total
""",
        [
            ("syscall", 3, (1,), "close(3) = 0"),
            ("text", None, (2,), "table: % time     seconds  usecs/call     calls    errors syscall"),
            (
                "text",
                None,
                (3,),
                "table: ------ ----------- ----------- --------- --------- ----------------",
            ),
            ("count", None, (4,), "close calls=1 errors=None s=1e-05 %=62.5"),
            ("count", None, (5,), "openat calls=2 errors=2 s=6e-06 %=37.5"),
            (
                "text",
                None,
                (6,),
                "table: ------ ----------- ----------- --------- --------- ----------------",
            ),
            ("count", None, (7,), "total calls=3 errors=2 s=1.6e-05 %=100.0"),
        ],
    ),
    "a log ending mid-call": (
        """
3 close(4) = 0
3 openat(AT_FDCWD, "/etc/pas
""",
        [
            ("syscall", 3, (1,), "close(4) = 0"),
            ("syscall", 3, (2,), 'openat(AT_FDCWD, "/etc/pas) = None [unfinished, cut]'),
        ],
    ),
    "a log ending after a backslash inside a string": (
        """
3 write(1, "abc\\
""",
        [("syscall", 3, (1,), 'write(1, "abc\\) = None [unfinished, cut]')],
    ),
    "a numeric errno": (
        """
3 ioctl(1, 0x5401, 0x7ffd) = -1 (errno 22)
""",
        [("syscall", 3, (1,), "ioctl(1, 0x5401, 0x7ffd) = -1 EINVAL")],
    ),
    "-i instruction pointers and -k frames": (
        """
[00007f6393aecb1d] openat(AT_FDCWD, "/x", O_RDONLY) = 3
 > /usr/lib/x86_64-linux-gnu/libc.so.6(__open64+0x1b) [0x10f0bb]
""",
        [
            ("syscall", None, (1,), 'openat(AT_FDCWD, "/x", O_RDONLY) = 3'),
            ("stack", None, (2,), "/usr/lib/x86_64-linux-gnu/libc.so.6(__open64+0x1b) [0x10f0bb]"),
        ],
    ),
    "text that no strace line explains stays unparsed": (
        """
3 close(3) = 0
vm
""",
        [("syscall", 3, (1,), "close(3) = 0"), ("unparsed", None, (2,), "not a strace line")],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_line_kinds(case: str) -> None:
    text, expected = CASES[case]
    assert parsed(text) == expected


def test_every_line_of_the_wild_corpus_is_accounted_for() -> None:
    """Each log of tests/data/wild (real runs, strace writing into the program's pipe)
    gives events for every line; what is left unparsed is text nothing explains."""
    unparsed: dict[str, list[str]] = {}
    for log in sorted(WILD.glob("*.log")):
        events = list(parse_paths([str(log)]))
        lines = log.read_bytes().count(b"\n")
        assert sorted({n for e in events for n in e.lines}) == list(range(1, lines + 1)), log.name
        assert all(e.pid is not None for e in events if isinstance(e, Syscall)) or log.name == "ip-stack.log"
        assert not any(
            isinstance(e, Syscall) and e.name == "write" and e.args and not isinstance(e.args[-1], int)
            for e in events
        ), f"{log.name}: program text folded into a write's count"
        unparsed[log.name] = [e.raw for e in events if isinstance(e, Unparsed)]
    # the hostname cat printed while only openat was traced: no call to explain it
    assert unparsed == {name: ([] if name != "ip-stack.log" else [unparsed[name][0]]) for name in unparsed}
    assert len(unparsed["ip-stack.log"]) == 1


def test_the_interleaved_python_run() -> None:
    """CPython writing bytes that are not UTF-8 into the pipe strace writes to: every
    write is whole, its text is a text event with the bytes as they were."""
    events = list(parse_paths([str(WILD / "python-bytes.log")]))
    writes = [e for e in events if isinstance(e, Syscall) and e.name == "write"]
    assert [(w.args[0], w.ret) for w in writes] == [(1, 14), (2, 12), (1, 2), (4, 12)]
    texts = [e for e in events if isinstance(e, Text)]
    assert [t.text.encode("utf-8", "surrogateescape") for t in texts] == [
        b"caf\xe9 \xff\xfe bytes",
        b"no newline \x80",
        b"(",
    ]


def test_stderr_leader_leaks_are_found(tmp_path: Path, strace_ok: None) -> None:
    """Issue 12, case 7: the shell is unprefixed at the start and again after each child
    exits; both children inherit its fd 5."""
    log = tmp_path / "log"
    with open(log, "wb") as err:
        subprocess.run(
            ["strace", "-f", "sh", "-c", "exec 5</etc/hostname; /bin/true; /bin/true"],
            stderr=err,
            stdout=subprocess.DEVNULL,
            check=True,
        )
    done = check("--log", str(log), "--no-fd-leaks")
    report = done.stdout + done.stderr
    assert done.returncode == 1, report
    assert "2 descriptors leaked" in report
    assert report.count("fd 5 (/etc/hostname) leaked into pid") == 2
    assert "pid None" not in report
    events = list(parse_paths([str(log)]))
    assert all(e.pid is not None for e in events if not isinstance(e, (Text, Unparsed, Message)))
    assert len({e.pid for e in events if isinstance(e, Syscall)}) == 3


def test_a_pid_attach_log(tmp_path: Path, strace_ok: None) -> None:
    """strace -p on a child we started: its calls carry its pid, one process."""
    child = subprocess.Popen(["sh", "-c", "while :; do cat /etc/hostname >/dev/null; sleep 0.05; done"])
    try:
        log = tmp_path / "log"
        with open(log, "wb") as err:
            subprocess.run(["timeout", "1", "strace", "-p", str(child.pid)], stderr=err, check=False)
    finally:
        child.kill()
        child.wait()
    events = list(parse_paths([str(log)]))
    assert isinstance(events[0], Attached) and events[0].pid == child.pid
    calls = [e for e in events if isinstance(e, Syscall)]
    assert calls and {e.pid for e in calls} == {child.pid}
    assert isinstance(events[-1], (Detached, Syscall))
