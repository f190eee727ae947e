"""A golden's processes are the model's process tree: numbered depth first from the
command, children in the order they were made (a process made by a thread belongs to the
thread's process), each heading naming its maker and the call."""

from __future__ import annotations

from pathlib import Path

import sysprobe

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
