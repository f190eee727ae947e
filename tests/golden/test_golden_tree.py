"""A golden's processes are the model's process tree: numbered depth first from the
command, children in the order they were made (a process made by a thread belongs to the
thread's process), each heading naming its maker and the call."""

from __future__ import annotations

from pathlib import Path

import pytest

import sysprobe
from sysprobe.errors import EXIT_INCOMPLETE, EXIT_RULE_FAILED

from ..helpers import check

MADE_BY_A_THREAD = """\
100 execve("/bin/sh", ["sh"], 0x7ffd /* 3 vars */) = 0
100 pipe2([3<pipe:[9]>, 4<pipe:[9]>], 0) = 0
200 execve("/bin/true", ["true"], 0x7ffd /* 3 vars */) = 0
100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, \
exit_signal=0, stack=0x7f, stack_size=0x7f}, 88) = 101
101 clone(child_stack=NULL, flags=SIGCHLD) = 200
200 +++ exited with 0 +++
101 +++ exited with 0 +++
100 +++ exited with 0 +++
"""


def headings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("process ")]


def test_a_process_made_by_a_thread_comes_under_the_threads_process(tmp_path: Path) -> None:
    """The child's exec comes before the clone that made it returns: the model holds it
    until then, and the golden still writes it under its maker's process, with what
    crossed that exec (not what crossed the exec the model had read last)."""
    log = tmp_path / "thread.log"
    log.write_text(MADE_BY_A_THREAD)
    text = sysprobe.parse(log).golden()
    assert headings(text) == ["process 1: the command", "process 2: made by process 1 (clone)"]
    child = text.split("process 2: made by process 1 (clone)\n")[1].splitlines()
    assert child[:2] == [
        '  execve("/bin/true", ["true"], <env>) = 0',
        "  # crossed the exec without close-on-exec: fd 3 (pipe:[1]), fd 4 (pipe:[1])",
    ]


THREAD_FLAGS = (
    "flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS"
    "|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"
)
# Go at exit: thread 101 is inside the clone that makes 102 when 100's exit_group kills
# them all, so the clone never returns (= ?) and 102's end is the only line naming it.
EXIT_DURING_A_CLONE = f"""\
100 execve("/bin/goserver", ["goserver"], 0x7ffd /* 3 vars */) = 0
100 brk(NULL) = 0x55d
100 clone(child_stack=0x7f00, {THREAD_FLAGS}, tls=0x7f01) = 101
101 clone(child_stack=0x7e00, {THREAD_FLAGS} <unfinished ...>
100 exit_group(0) = ?
102 +++ exited with 0 +++
101 <... clone resumed>, tls=0x7e01) = ?
101 +++ exited with 0 +++
100 +++ exited with 0 +++
"""
# the same, with the child's end after the clone's "= ?"
CHILD_ENDS_AFTER = EXIT_DURING_A_CLONE.replace(
    "102 +++ exited with 0 +++\n101 <... clone resumed>, tls=0x7e01) = ?\n",
    "101 <... clone resumed>, tls=0x7e01) = ?\n102 +++ exited with 0 +++\n",
)


# glibc's pthread_create: clone3, whose lost result strace writes "<unfinished ...>) = ?"
CLONE3_NEVER_RETURNED = EXIT_DURING_A_CLONE.replace(
    f"101 clone(child_stack=0x7e00, {THREAD_FLAGS} <unfinished ...>",
    "101 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, "
    "exit_signal=0, stack=0x7e00, stack_size=0x7fff00} <unfinished ...>",
).replace("101 <... clone resumed>, tls=0x7e01) = ?", "101 <... clone3 resumed> <unfinished ...>) = ?")


@pytest.mark.parametrize(
    "log_text",
    [EXIT_DURING_A_CLONE, CHILD_ENDS_AFTER, CLONE3_NEVER_RETURNED],
    ids=["before", "after", "clone3"],
)
def test_the_child_of_a_clone_that_never_returned_is_its_makers(log_text: str, tmp_path: Path) -> None:
    """A thread made by a clone its caller died in (the golden of a Go server gained a
    "process 3: made outside the trace" now and then): the one task first seen after that
    clone began is its child — here a thread of the command."""
    log = tmp_path / "exit.log"
    log.write_text(log_text)
    t = sysprobe.parse(log)
    assert [(p.pid, set(p.threads)) for p in t.processes] == [(100, {100, 101, 102})]
    assert headings(t.golden()) == ["process 1: the command"]


def test_a_clone_that_never_returned_explains_one_task_only(tmp_path: Path) -> None:
    """Two tasks appear after it: the kernel made at most one, and nothing says which, so
    both stay made outside the trace; and a task seen before the clone began is never its."""
    two = EXIT_DURING_A_CLONE.replace(
        "102 +++ exited with 0 +++\n", "102 +++ exited with 0 +++\n103 +++ exited with 0 +++\n"
    )
    earlier = EXIT_DURING_A_CLONE.replace(
        "100 brk(NULL) = 0x55d\n", "100 brk(NULL) = 0x55d\n102 getpid() = 102\n"
    )
    for name, text, processes in [("two", two, [100, 102, 103]), ("earlier", earlier, [100, 102])]:
        log = tmp_path / f"{name}.log"
        log.write_text(text)
        assert [p.pid for p in sysprobe.parse(log).processes] == processes, name
        assert [p.parent for p in sysprobe.parse(log).processes][1:] == [None] * (len(processes) - 1)


def test_a_clone_that_never_returned_is_forgotten_once_every_task_ended(tmp_path: Path) -> None:
    """Two logs one after another (cat a.log b.log), the first with a lost clone that made
    nothing: the second log's command is a command, not a thread that clone made, and a
    second log cut short is incomplete."""
    log = tmp_path / "two.log"
    log.write_text(
        EXIT_DURING_A_CLONE.replace("102 +++ exited with 0 +++\n", "")  # the kernel made no child
        + '200 execve("/bin/next", ["next"], 0x7ffd /* 3 vars */) = 0\n'
        + '200 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3\n'
    )
    t = sysprobe.parse(log)
    assert [(p.pid, p.parent) for p in t.processes] == [(100, None), (200, None)]
    assert check("--log", str(log), "--forbid", "sendfile").returncode == EXIT_INCOMPLETE


def test_logs_one_after_another_reuse_pids_and_lose_no_line(tmp_path: Path) -> None:
    """Line numbers start again in each file: a pid the first log ended at its line 10
    may begin the second log at line 1 (a container's pid 1), and all of it counts."""
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_text(
        '1 execve("/bin/sh", ["sh"], 0x7ffd /* 3 vars */) = 0\n1 brk(NULL) = 0x5000\n'
        "1 clone(child_stack=NULL, flags=SIGCHLD) = 5\n"
        '5 execve("/bin/ls", ["ls"], 0x7ffd /* 3 vars */) = 0\n5 exit_group(0) = ?\n'
        "5 +++ exited with 0 +++\n1 wait4(-1, NULL, 0, NULL) = 5\n1 exit_group(0) = ?\n"
        "1 +++ exited with 0 +++\n"
    )
    second.write_text(
        '1 execve("/leak", ["leak"], 0x7ffd /* 3 vars */) = 0\n1 brk(NULL) = 0x5000\n'
        '1 openat(AT_FDCWD, "/dev/null", O_RDONLY) = 3</dev/null>\n'
        "1 clone(child_stack=NULL, flags=SIGCHLD) = 5\n"
        '5 execve("/bin/true", ["true"], 0x7ffd /* 3 vars */) = 0\n5 +++ exited with 0 +++\n'
        "1 +++ exited with 0 +++\n"
    )
    done = check("--log", str(first), "--log", str(second), "--no-fd-leaks")
    assert done.returncode == EXIT_RULE_FAILED, done.stderr
    assert "fd 3 (/dev/null) leaked into pid 5 (/bin/true)" in done.stderr
