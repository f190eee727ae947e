"""The descriptor model against the kernel's own answer.

Each scenario of fdops.c does descriptor operations and then execs `openfds`, which
records the descriptors it really inherited. sysprobe's leak verdict for that exec must
be exactly that set — with -y decorations, with -X raw numbers, with -X verbose, and
without -y at all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import sysprobe
from sysprobe import Trace

pytestmark = pytest.mark.usefixtures("strace_ok")

SCENARIOS = [
    "pipe",
    "pipe2",
    "fcntl",
    "fcntl_clear",
    "getfd",
    "dup",
    "dup2",
    "dup2_same",
    "dup2_over",
    "dup3",
    "dupfd",
    "fioclex",
    "close",
    "close_range",
    "close_range_cloexec",
    "close_range_part",
    "sockets",
    "anon",
    "vfork",
    "fork_then_close",
    "thread",
    "unshare",
]
MODES = {
    "-y": {},
    "-X raw": {"strace_args": ["-X", "raw"]},
    "-X verbose": {"strace_args": ["-X", "verbose"]},
    "no -y": {"decode_fds": False},
}


def oracle_run(
    scenario: str, mode: str, compile_c: Callable[..., Path], tmp_path: Path
) -> tuple[Trace, set[int], str]:
    out = tmp_path / "inherited.txt"
    openfds = compile_c("openfds")
    t = sysprobe.trace([str(compile_c("fdops")), scenario, str(openfds), str(out)], **MODES[mode])  # type: ignore[arg-type]
    truth = {int(line) for line in out.read_text().split()}
    return t, truth, str(openfds)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_leaks_equal_what_the_kernel_passed(
    scenario: str, mode: str, compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    t, truth, openfds = oracle_run(scenario, mode, compile_c, tmp_path)
    execs = [r for r in t.model.execs if r.program == openfds]
    assert len(execs) == 1
    assert {d.fd for d in execs[0].crossed} == truth
    assert {leak.fd for leak in t.leaks() if leak.exec.program == openfds} == truth


def test_leak_report_names_the_origin(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    t, truth, openfds = oracle_run("fcntl_clear", "-y", compile_c, tmp_path)
    (leak,) = [leak for leak in t.leaks() if leak.exec.program == openfds]
    assert truth == {leak.fd} == {3}
    text = leak.describe()
    assert text.startswith("fd 3 (pipe:[") and f"leaked into pid {leak.exec.pid} ({openfds})" in text
    assert "created by pipe2 at line" in text and "close-on-exec cleared by fcntl(F_SETFD) at line" in text


def test_duplicates_report_both_calls(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    t, _, openfds = oracle_run("dup2", "-y", compile_c, tmp_path)
    (leak,) = [leak for leak in t.leaks() if leak.exec.program == openfds]
    assert leak.fd == 10 and leak.descriptor.name == "/etc/hostname"
    assert "created by dup2 at line" in leak.describe()
    assert "it copies a descriptor created by openat at line" in leak.describe()


def test_kinds_of_anonymous_descriptors(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    t, truth, openfds = oracle_run("anon", "-y", compile_c, tmp_path)
    leaked = {leak.fd: leak.descriptor for leak in t.leaks() if leak.exec.program == openfds}
    assert set(leaked) == truth
    kinds = sorted(d.kind for d in leaked.values())
    assert kinds == ["epoll", "eventfd", "inotify", "memfd", "signalfd", "timerfd"]
    origins = sorted(d.origin.syscall or "" for d in leaked.values())
    assert origins == [
        "epoll_create",
        "eventfd2",
        "inotify_init",
        "memfd_create",
        "signalfd4",
        "timerfd_create",
    ]


def test_fd_table_at_a_line(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    t, _, _ = oracle_run("fcntl", "-y", compile_c, tmp_path)
    (pipe,) = t.calls("pipe2")
    pid = pipe.pid
    before = t.fd_table(pid, at=pipe.line - 1)
    after = t.fd_table(pid, at=pipe.line)
    assert set(after) - set(before) == {3, 4}
    assert not after[3].cloexec and after[3].kind == "pipe" and after[3].origin.syscall == "pipe2"
    (setfd, _) = t.calls("fcntl(*, F_SETFD, FD_CLOEXEC)")
    assert t.fd_table(pid, at=setfd.line)[3].cloexec
    assert set(t.fd_table(pid, at=pipe.line)) >= {0, 1, 2}
    assert t.fd_table(pid, at=pipe.line)[0].origin.describe() == "inherited, origin unknown"


def test_processes_and_threads(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    t, truth, openfds = oracle_run("thread", "-y", compile_c, tmp_path)
    assert truth == {3, 4}
    (proc,) = t.processes
    assert proc.program == openfds and proc.exit_code == 0
    assert len(proc.threads) == 3  # the leader and the two threads
    leak3, _ = sorted(t.leaks(), key=lambda leak: leak.fd)
    # made by one thread, leaked through an exec by another, which took the leader's pid
    assert leak3.descriptor.origin.pid not in (proc.pid, None)
    assert leak3.exec.pid == proc.pid


# Seen here (strace 6.1, tests/programs/zoo.c before it synchronized): the thread exec'd
# while the leader was still inside clone3, so the clone's result was never printed.
LOST_CLONE_RESULT = """\
16028 execve("/tmp/zoo", ["/tmp/zoo"], 0x7fff /* 35 vars */) = 0
16028 pipe2([3<pipe:[45976]>, 4<pipe:[45976]>], 0) = 0
16028 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x7fe6) = 16060
16060 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, \
child_tid=0x7f, parent_tid=0x7f, exit_signal=0, stack=0x7f, stack_size=0x7f, tls=0x7f} <unfinished ...>
16061 execve("/bin/true", ["true"], 0x7ffc /* 35 vars */ <unfinished ...>
16060 <... clone3 resumed> <unfinished ...>) = ?
16060 +++ superseded by execve in pid 16061 +++
16060 <... execve resumed>)             = 0
16060 +++ exited with 0 +++
16028 +++ exited with 0 +++
"""


def test_a_thread_whose_clone_result_was_lost_is_still_a_thread(tmp_path: Path) -> None:
    log = tmp_path / "lost.log"
    log.write_text(LOST_CLONE_RESULT)
    t = sysprobe.parse(log)
    assert [p.pid for p in t.processes] == [16028, 16060]  # no third process of unknown parent
    child = t.processes[1]
    assert child.threads == [16060, 16061] and child.program == "/bin/true"
    assert sorted(leak.fd for leak in t.leaks()) == [3, 4]  # the copied table crossed the exec


def test_a_thread_whose_clone_result_was_lost_in_the_tree_and_the_golden(tmp_path: Path) -> None:
    """The model's tree puts the thread under its process, with no creating call; the
    golden, which writes processes, gives the thread's exec to its process."""
    log = tmp_path / "lost.log"
    log.write_text(LOST_CLONE_RESULT)
    t = sysprobe.parse(log)
    tasks = [(task.pid, task.parent.pid if task.parent else None) for task in t.model.tree.walk()]
    assert tasks == [(16028, None), (16060, 16028), (16061, 16060)]
    text = t.golden()
    assert [line for line in text.splitlines() if line.startswith("process ")] == [
        "process 1: the command",
        "process 2: made by process 1 (clone)",
    ]
    assert text.split("process 2: made by process 1 (clone)\n")[1].splitlines()[:2] == [
        '  execve("/bin/true", ["true"], <env>) = 0',
        "  # crossed the exec without close-on-exec: fd 3 (pipe:[1]), fd 4 (pipe:[1])",
    ]


def test_a_long_orphan_is_adopted_and_later_given_its_parent() -> None:
    """Events of a task whose creation has not shown are held, but only up to a budget: a
    log with many roots must not hold all of itself. An orphan adopted early still gets
    its parent when the parent's clone finally returns."""
    from sysprobe._model.fdmodel import FdModel
    from sysprobe._model.reorder import HOLD_BUDGET
    from sysprobe._parsing.lineparse import parse_lines

    lines = ['100 execve("/bin/parent", ["parent"], 0x7ffd /* 3 vars */) = 0']
    lines += ["200 getpid() = 200"] * (HOLD_BUDGET + 10)
    lines += ["100 clone(child_stack=NULL, flags=SIGCHLD) = 200", "200 +++ exited with 0 +++"]
    model, most_held = FdModel(), 0
    for event in parse_lines(lines):
        model.feed(event)
        most_held = max(most_held, model._held_count)
    model.finish()
    assert most_held == HOLD_BUDGET  # adopted at the budget, not held to the end
    assert list(model.processes) == [100, 200]  # the orphan did not become a third
    child = model.processes[200]
    assert (child.pid, child.parent, child.exit_code) == (200, 100, 0)
    assert child.created_by is not None and child.created_by.syscall == "clone"
