"""The summary of `sysprobe parse` and `sysprobe trace` reads the model's process tree:
threads belong to their process, and a child made by a thread has that process as parent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

THREAD_FORKS = """\
100 execve("/bin/sh", ["sh"], 0x7ffd /* 3 vars */) = 0
100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, \
exit_signal=0, stack=0x7f, stack_size=0x7f}, 88) = 101
101 clone(child_stack=NULL, flags=SIGCHLD) = 200
200 execve("/bin/true", ["true"], 0x7ffd /* 3 vars */) = 0
200 +++ exited with 0 +++
101 +++ exited with 0 +++
100 +++ killed by SIGSEGV (core dumped) +++
"""


def test_threads_belong_to_their_process(tmp_path: Path) -> None:
    log = tmp_path / "thread.log"
    log.write_text(THREAD_FORKS)
    done = subprocess.run(
        [sys.executable, "-m", "sysprobe", "parse", str(log)], capture_output=True, text=True, check=True
    )
    lines = [line.split() for line in done.stdout.splitlines()]
    assert done.stdout.splitlines()[1] == "  2 processes (and 1 thread), 4 syscalls (0 failed), 0 signals"
    assert lines[3] == ["100", "/bin/sh", "killed", "by", "SIGSEGV", "(core", "dumped)"]
    assert lines[4] == ["200", "100", "/bin/true", "exited", "0"]
    assert lines[5][0] == "syscalls:"
