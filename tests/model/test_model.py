"""The descriptor model against the kernel's own answer.

Each scenario of fdops.c does descriptor operations and then execs `openfds`, which
records the descriptors it really inherited. sysprobe's leak verdict for that exec must
be exactly that set — with -y decorations, with -X raw numbers, with -X verbose, and
without -y at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

import sysprobe
from sysprobe import Trace

from ..helpers import FD_SCENARIOS

pytestmark = pytest.mark.usefixtures("strace_ok")

# what the exec'ing process itself left without close-on-exec: passed on purpose
DELIBERATE = {"fcntl_clear": {3}, "dup2": {10}, "dup2_over": {3}, "fioclex": {4}}
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
@pytest.mark.parametrize("scenario", FD_SCENARIOS)
def test_leaks_equal_what_the_kernel_passed(
    scenario: str, mode: str, compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    t, truth, openfds = oracle_run(scenario, mode, compile_c, tmp_path)
    execs = [r for r in t.model.execs if r.program == openfds]
    assert len(execs) == 1
    assert {d.fd for d in execs[0].crossed} == truth
    crossings = {leak.fd for leak in t.leaks(count_passes=True) if leak.exec.program == openfds}
    assert crossings == truth
    deliberate = DELIBERATE.get(scenario, set())
    assert execs[0].deliberate == deliberate
    assert {p.fd for p in t.passes() if p.exec.program == openfds} == deliberate
    assert {leak.fd for leak in t.leaks() if leak.exec.program == openfds} == truth - deliberate
    assert all(leak.certain for leak in t.leaks(count_passes=True))  # one thread: nothing races


def test_leak_report_names_the_origin(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    t, truth, openfds = oracle_run("pipe", "-y", compile_c, tmp_path)
    leak, _ = [leak for leak in t.leaks() if leak.exec.program == openfds]
    assert leak.fd == 3 and truth == {3, 4} and not leak.deliberate and leak.certain
    text = leak.describe()
    assert text.startswith("fd 3 (pipe:[") and f"leaked into pid {leak.exec.pid} ({openfds})" in text
    assert "created by pipe2 at line" in text


def test_a_cleared_flag_is_a_deliberate_pass(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    t, truth, openfds = oracle_run("fcntl_clear", "-y", compile_c, tmp_path)
    assert t.leaks() == [] and truth == {3}
    (passed,) = [p for p in t.passes() if p.exec.program == openfds]
    text = passed.describe()
    assert (
        text.startswith("fd 3 (pipe:[")
        and f"passed on purpose into pid {passed.exec.pid} ({openfds})" in text
    )
    assert "close-on-exec cleared by fcntl(F_SETFD) at line" in text
    (counted,) = t.leaks(count_passes=True)
    assert counted.deliberate and counted.descriptor is passed.descriptor


def test_duplicates_report_both_calls(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    t, _, openfds = oracle_run("dup2", "-y", compile_c, tmp_path)
    (passed,) = [p for p in t.passes() if p.exec.program == openfds]
    assert passed.fd == 10 and passed.descriptor.name == "/etc/hostname"
    assert "placed there by dup2 at line" in passed.describe()
    assert "it copies a descriptor created by openat at line" in passed.describe()


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


# The same, the exec'ing thread having opened a file before the leader's clone3 returned:
# its events wait for a creation that never shows, until the superseded line.
LOST_CLONE_RESULT_WITH_AN_OPEN = LOST_CLONE_RESULT.replace(
    "16061 execve(",
    '16061 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 5</etc/hostname>\n16061 execve(',
)


def test_a_threads_events_held_for_a_lost_clone_are_its_processs(tmp_path: Path) -> None:
    log = tmp_path / "lost.log"
    log.write_text(LOST_CLONE_RESULT_WITH_AN_OPEN)
    t = sysprobe.parse(log)
    assert [p.pid for p in t.processes] == [16028, 16060]
    assert set(t.processes[1].threads) == {16060, 16061}
    leaked = {leak.fd: leak.descriptor for leak in t.leaks()}
    assert sorted(leaked) == [3, 4, 5]  # the thread's file is in the table that crossed
    assert (leaked[5].name, leaked[5].origin.pid) == ("/etc/hostname", 16061)


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


def test_close_range_cloexec_marks_the_range_and_closes_nothing(
    compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    """close_range(3, ~0U, CLOSE_RANGE_CLOEXEC): both files stay open, now close-on-exec
    (nothing crosses the exec, whether they were closed or marked: the table tells)."""
    t, truth, _ = oracle_run("close_range_cloexec", "-y", compile_c, tmp_path)
    assert truth == set()
    (call,) = t.calls("close_range")
    before, after = t.fd_table(call.pid, at=call.line - 1), t.fd_table(call.pid, at=call.line)
    assert {fd: d.cloexec for fd, d in before.items() if fd >= 3} == {3: False, 4: False}
    assert {fd: d.cloexec for fd, d in after.items() if fd >= 3} == {3: True, 4: True}
    assert [after[fd].name for fd in (3, 4)] == ["/etc/hostname", "/etc/hostname"]
    assert after[3].changes[-1].describe().startswith("close-on-exec set by close_range(CLOSE_RANGE_CLOEXEC)")
    plain, _, _ = oracle_run("close_range", "-y", compile_c, tmp_path)
    (call,) = plain.calls("close_range")
    assert [fd for fd in plain.fd_table(call.pid, at=call.line) if fd >= 3] == []


def test_a_clone_files_child_shares_its_parents_table(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    """clone(CLONE_FILES) without CLONE_THREAD: a process of its own whose close and opens
    change its parent's table."""
    t, truth, openfds = oracle_run("clone_files", "-y", compile_c, tmp_path)
    assert truth == {3, 4, 5}
    parent, child = t.processes[:2]
    assert child.parent == parent.pid and child.threads == [child.pid]  # a process, not a thread
    leaks = {leak.fd: leak for leak in t.leaks() if leak.exec.program == openfds}
    assert (leaks[3].descriptor.kind, leaks[4].descriptor.name, leaks[5].descriptor.name) == (
        "pipe",
        "/etc/hostname",
        "/etc/hostname",
    )
    assert leaks[4].descriptor.origin.pid == child.pid  # opened by the child, inherited by the parent's exec


@pytest.mark.usefixtures("backend")
def test_paths_are_utf8_and_undecodable_bytes_survive(tmp_path: Path) -> None:
    """A UTF-8 name reads as itself; a latin-1 byte is kept as a surrogate (not mojibake),
    and encodes back to the file's real name."""
    (tmp_path / "café").write_text("x")
    latin1 = os.fsdecode(b"l\xe9")
    (tmp_path / latin1).write_text("x")
    t = sysprobe.trace(["sh", "-c", 'exec 3<café 4<"$(printf "l\\351")"; exec true'], cwd=tmp_path)
    named = {leak.fd: leak.descriptor.name for leak in t.leaks()}
    assert named == {3: f"{tmp_path}/café", 4: f"{tmp_path}/l\udce9"}
    assert os.fsencode(f"{named[4]}") == os.fsencode(tmp_path) + b"/l\xe9"


def test_a_descriptor_used_but_never_created(tmp_path: Path) -> None:
    """-y names a descriptor the trace never showed being made (inherited from outside the
    trace): it is learnt from its first use, with what -y says of it."""
    log = tmp_path / "inherited.log"
    log.write_text(
        '100 read(7</var/lib/app.db>, "x", 1) = 1\n'
        "100 fcntl(8<socket:[77]>, F_SETFD, FD_CLOEXEC) = 0\n"
        "100 dup2(9</dev/null>, 12) = 12</dev/null>\n"
        '100 execve("/usr/bin/helper", ["helper"], 0x7ffe /* 3 vars */) = 0\n'
        "100 +++ exited with 0 +++\n"
    )
    t = sysprobe.parse(log)
    leaked = {leak.fd: leak.descriptor for leak in t.leaks(count_passes=True)}
    assert sorted(leaked) == [7, 9, 12]  # 8 was made close-on-exec before the exec
    assert [p.fd for p in t.passes()] == [12]  # the exec'ing process dup2'd it there itself
    seen, copied = leaked[7], leaked[12]
    assert (seen.kind, seen.name, seen.cloexec) == ("file", "/var/lib/app.db", False)
    assert seen.origin.syscall is None and seen.origin.describe() == "origin unknown, first seen in read"
    assert (seen.origin.pid, seen.origin.line) == (100, 1)
    assert copied.source is not None and copied.source.name == "/dev/null"
    assert copied.creation().describe() == "origin unknown, first seen in dup2"
    assert leaked[9].cloexec is False and leaked[9].kind == "device"
    table = t.fd_table(100, at=2)
    assert (table[8].kind, table[8].name, table[8].cloexec) == ("socket", "socket:[77]", True)


def test_a_descriptor_never_created_in_a_log_without_y(tmp_path: Path) -> None:
    """Without -y nothing says what it is: kind unknown, no name; in a per-pid (-ff) file,
    the origin names the file."""
    log = tmp_path / "run.100"  # strace -ff -o run: one file per pid, lines without one
    log.write_text(
        "fcntl(13, F_SETFD, 0) = 0\n"
        'execve("/usr/bin/helper", ["helper"], 0x7ffe /* 3 vars */) = 0\n'
        "+++ exited with 0 +++\n"
    )
    (tmp_path / "run.101").write_text("+++ exited with 0 +++\n")
    # the exec'ing process cleared close-on-exec itself: passed on purpose
    (leak,) = sysprobe.parse([log, tmp_path / "run.101"]).passes()
    d = leak.descriptor
    assert (d.fd, d.kind, d.name, d.cloexec, d.describe()) == (13, "unknown", None, False, "fd 13")
    assert (d.origin.syscall, d.origin.pid, d.origin.line, d.origin.file) == (None, 100, 1, "run.100")
    assert d.origin.describe() == "origin unknown, first seen in fcntl"
    assert d.changes[0].describe() == "close-on-exec cleared by fcntl(F_SETFD) at run.100:1 in pid 100"


# descriptors arriving over SCM_RIGHTS: several in one message, several messages in one
# recvmmsg, with and without MSG_CMSG_CLOEXEC
RECEIVED = """\
100 recvmsg(3<socket:[1]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, \
msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, \
cmsg_data=[5</etc/hostname>, 6<pipe:[7]>]}], msg_controllen=24, msg_flags=0}, 0) = 1
100 recvmmsg(3<socket:[1]>, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], \
msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, \
cmsg_data=[7</etc/passwd>]}], msg_controllen=24, msg_flags=MSG_CMSG_CLOEXEC}, msg_len=1}, \
{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="y", iov_len=1}], msg_iovlen=1, \
msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[8<socket:[9]>]}], \
msg_controllen=24, msg_flags=MSG_CMSG_CLOEXEC}, msg_len=1}], \
2, MSG_CMSG_CLOEXEC, NULL) = 2
100 recvmsg(3<socket:[1]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="z", iov_len=1}], msg_iovlen=1, \
msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, \
cmsg_data={pid=1, uid=0, gid=0}}], msg_controllen=32, msg_flags=0}, 0) = 1
100 execve("/usr/bin/helper", ["helper"], 0x7ffe /* 3 vars */) = 0
100 +++ exited with 0 +++
"""


def test_descriptors_received_over_scm_rights(tmp_path: Path) -> None:
    log = tmp_path / "received.log"
    log.write_text(RECEIVED)
    t = sysprobe.parse(log)
    table = t.fd_table(100, at=3)
    got = {
        fd: (d.kind, d.name, d.cloexec, d.origin.syscall, d.origin.line) for fd, d in table.items() if fd > 3
    }
    assert got == {
        5: ("file", "/etc/hostname", False, "recvmsg", 1),
        6: ("pipe", "pipe:[7]", False, "recvmsg", 1),
        7: ("file", "/etc/passwd", True, "recvmmsg", 2),
        8: ("socket", "socket:[9]", True, "recvmmsg", 2),
    }
    assert {d.origin.detail for fd, d in table.items() if fd > 3} == {"received over SCM_RIGHTS on fd 3"}
    assert sorted(leak.fd for leak in t.leaks()) == [5, 6]


# without -y, two control messages in one recvmsg, the second with its type as a number
# (-X raw, the ptrace backend): both give a descriptor, of a kind the log does not say
RECEIVED_BARE = """\
10 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0
10 socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0
10 recvmsg(3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, \
msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5]}, \
{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=0x1, cmsg_data=[6]}], msg_controllen=40, msg_flags=0}, 0) = 1
10 execve("/bin/next", ["next"], 0x7ffe /* 3 vars */) = 0
10 +++ exited with 0 +++
"""


def test_every_control_message_of_a_bare_recvmsg_gives_its_descriptor(tmp_path: Path) -> None:
    log = tmp_path / "received.log"
    log.write_text(RECEIVED_BARE)
    got = [
        (leak.fd, leak.descriptor.kind, leak.descriptor.origin.syscall)
        for leak in sysprobe.parse(log).leaks()
    ]
    assert got == [
        (3, "socket", "socketpair"),
        (4, "socket", "socketpair"),
        (5, "unknown", "recvmsg"),
        (6, "unknown", "recvmsg"),
    ]
