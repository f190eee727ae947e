"""Descriptor changes by one thread racing a fork (or an exec) by another.

The copy of a table is made somewhere inside the copying call; the other thread's change
takes effect somewhere inside its own call. The log's line order proves some orders and
not others (``_model/races.py``): these tests check the model against the kernel's own
answer (forkrace.c: a thread churns descriptors, the main thread forks and execs
`openfds`, which records what it really received), and on logs whose lines decide each
case. The race window of ``--cloexec`` is checked on seed 001's bug (epoll_race.c).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import sysprobe
from sysprobe import RuleSet, Trace
from sysprobe.events import Syscall

RACE_RUNS = 3
RACE_FORKS = 100
RACE_PAUSE_US = 1000  # the racing thread pauses between steps: some forks race it, most not
SYSPROBE = [sys.executable, "-m", "sysprobe"]


def lines_around(t: Trace) -> dict[tuple[int | None, int], Syscall]:
    return {(e.pid, e.line): e for e in t.events if isinstance(e, Syscall)}


def first_lines(t: Trace) -> dict[int | None, int]:
    first: dict[int | None, int] = {}
    for e in t.events:
        first[e.pid] = min(first.get(e.pid, e.line), e.line)
    return first


def test_racing_forks_against_the_kernel(
    backend: str, compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    """For every exec: what the trace proves crossed ⊆ what the kernel passed ⊆ what may
    have crossed; a crossing is uncertain only where another thread's call was in flight
    while the fork may have copied the table; most crossings are certain."""
    openfds, forkrace = str(compile_c("openfds")), str(compile_c("forkrace"))
    seen: Counter[str] = Counter()
    for run in range(RACE_RUNS):
        out = f"run{run}"  # relative: argv strings are cut at strace's -s limit
        t = sysprobe.trace([forkrace, openfds, out, str(RACE_FORKS), str(RACE_PAUSE_US)], cwd=tmp_path)
        assert t.exit_status == 0
        calls, first = lines_around(t), first_lines(t)
        execs = [r for r in t.model.execs if r.program == openfds]
        assert len(execs) == RACE_FORKS
        for record in execs:
            passed = {int(n) for n in (tmp_path / record.argv[1]).read_text().split()}
            crossed = record.all_crossed
            certain = {d.fd for d in crossed if d.surely_crosses()}
            possible = {d.fd for d in crossed}
            assert certain <= passed <= possible, (record.where(), passed, [d.describe() for d in crossed])
            seen["passed"] += len(passed)
            seen["certain"] += len(certain)
            for d in crossed:
                if d.surely_crosses():
                    continue
                seen["uncertain"] += 1
                race = d.race
                assert race is not None
                fork = calls[(race.copy.pid, race.copy.line or 0)]
                assert fork.name in ("clone", "clone3", "fork", "vfork")
                copied_by = min(fork.lines[-1], first[record.pid])  # the child's first line
                for origin in race.calls:  # each was in flight while the copy may have been made
                    call = calls[(origin.pid, origin.line or 0)]
                    assert call.pid != fork.pid
                    assert call.line < copied_by and call.lines[-1] > fork.line, (call, fork)
    assert seen["uncertain"] > 0  # the forks did race the thread
    assert seen["certain"] > seen["passed"] / 2, seen  # most crossings are proven


def test_an_uncertain_leak_says_so(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    log = tmp_path / "race.log"
    log.write_text(IN_FLIGHT)
    t = sysprobe.parse(log)
    (leak,) = t.leaks()
    assert not leak.certain and leak.fd == 3
    text = leak.describe()
    assert text.startswith("fd 3 (/etc/hostname) may have leaked (created by pid 101 while pid 100 forked)")
    assert (
        "clone at line 3 in pid 100 copied the table while openat at line 4 in pid 101 was in flight" in text
    )
    data = leak.to_json()
    assert data["certain"] is False and data["race"]["what"] == "created"
    assert data["race"]["in_flight"] == [{"call": "openat", "pid": 101, "line": 4}]
    report = tmp_path / "report.json"
    done = subprocess.run(
        [*SYSPROBE, "check", "--no-fd-leaks", "--log", str(log), "--json-report", str(report)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1  # the bug either way: no close-on-exec while a fork was in flight
    assert (
        "FAIL  --no-fd-leaks: 1 descriptor may have leaked (the trace cannot tell: see below)" in done.stderr
    )
    (result,) = json.loads(report.read_text())["results"]
    assert [leak["certain"] for leak in result["leaks"]] == [False]


# The lines: the thread's openat began after the clone began and ended after the
# child's first line. The copy was made between the clone's start and the child's first
# line; the openat's descriptor was installed somewhere inside the openat: either order.
THREAD = (
    "100 clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD"
    "|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=[101], "
    "tls=0x7f, child_tidptr=0x7f) = 101\n"
)
FORK = "100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
START = '100 execve("/bin/prog", ["prog"], 0x7ffd /* 1 var */) = 0\n' + THREAD
CHILD = '102 execve("/bin/true", ["true"], 0x7ffd /* 1 var */) = 0\n102 +++ exited with 0 +++\n'
IN_FLIGHT = (
    START
    + f"{FORK} <unfinished ...>\n"
    + '101 openat(AT_FDCWD, "/etc/hostname", O_RDONLY <unfinished ...>\n'
    + "102 set_robust_list(0x7f, 24) = 0\n"
    + "101 <... openat resumed>) = 3</etc/hostname>\n"
    + "100 <... clone resumed>, child_tidptr=0x7f) = 102\n"
    + CHILD
)
OPEN = '101 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3</etc/hostname>\n'


def fork_raced_by(body: str, start: str = START, child: str = "") -> str:
    """A log: ``body`` (another thread's lines) while the fork is in flight, then the
    clone's result, the child's ``child`` lines, its exec and exit."""
    resumed = "100 <... clone resumed>, child_tidptr=0x7f) = 102\n"
    return start + f"{FORK} <unfinished ...>\n" + body + resumed + child + CHILD


CASES = {
    # the openat ended before the clone began: in the copy
    "before": (START + OPEN + f"{FORK}) = 102\n" + CHILD, {3: True}),
    "in flight": (IN_FLIGHT, {3: False}),
    # it began after the child's first line: the child existed, its table too
    "after the child's first line": (
        START
        + f"{FORK} <unfinished ...>\n"
        + "102 set_robust_list(0x7f, 24) = 0\n"
        + OPEN
        + "100 <... clone resumed>, child_tidptr=0x7f) = 102\n"
        + CHILD,
        {},
    ),
    # it began after the clone's result
    "after the result": (START + f"{FORK}) = 102\n" + OPEN + CHILD, {}),
    # ended inside the clone: no line tells whether before or after the copy
    "inside the clone": (
        START
        + f"{FORK} <unfinished ...>\n"
        + OPEN
        + "100 <... clone resumed>, child_tidptr=0x7f) = 102\n"
        + CHILD,
        {3: False},
    ),
    # in flight when the clone returned, ended after the child's exec: told late
    "ended after the exec": (
        START
        + f"{FORK} <unfinished ...>\n"
        + '101 openat(AT_FDCWD, "/etc/hostname", O_RDONLY <unfinished ...>\n'
        + "100 <... clone resumed>, child_tidptr=0x7f) = 102\n"
        + '102 execve("/bin/true", ["true"], 0x7ffd /* 1 var */) = 0\n'
        + "101 <... openat resumed>) = 3</etc/hostname>\n"
        + "102 +++ exited with 0 +++\n",
        {3: False},
    ),
    # the same, but the child closed every descriptor above 2 before its exec
    "ended after the child closed all": (
        START
        + f"{FORK} <unfinished ...>\n"
        + '101 openat(AT_FDCWD, "/etc/hostname", O_RDONLY <unfinished ...>\n'
        + "100 <... clone resumed>, child_tidptr=0x7f) = 102\n"
        + "102 close_range(3, 4294967295, 0) = 0\n"
        + '102 execve("/bin/true", ["true"], 0x7ffd /* 1 var */) = 0\n'
        + "101 <... openat resumed>) = 3</etc/hostname>\n"
        + "102 +++ exited with 0 +++\n",
        {},
    ),
}


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("close(3)", {}),
        ("dup(3)", {}),
        ("dup2(3, 7)", {}),
        ("fcntl(3, F_GETFD)", {}),
        ("close(4)", {3: False}),  # another descriptor was bad: 3 may still be there
        ("dup2(4, 3)", {3: False}),  # the bad one is the source, not 3
    ],
)
def test_ebadf_settles_a_descriptor_the_copy_may_not_have(
    call: str, expected: dict[int, bool], tmp_path: Path
) -> None:
    """The child's copy may or may not hold the descriptor a thread made during the fork;
    a call of the child's on it that fails with EBADF says it does not."""
    log = tmp_path / "race.log"
    log.write_text(IN_FLIGHT.replace(CHILD, f"102 {call} = -1 EBADF (Bad file descriptor)\n" + CHILD))
    assert crossings(sysprobe.parse(log)) == expected


def test_ebadf_on_an_inherited_descriptor_is_only_a_failed_call(tmp_path: Path) -> None:
    """A command started with stdin closed: its close(0) fails, and nothing else changes."""
    log = tmp_path / "closed-stdin.log"
    log.write_text(
        '100 execve("/bin/prog", ["prog"], 0x7ffd /* 1 var */) = 0\n'
        "100 close(0) = -1 EBADF (Bad file descriptor)\n"
        '100 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3</etc/hostname>\n' + CHILD.replace("102 ", "100 ")
    )
    t = sysprobe.parse(log)
    assert [(leak.fd, leak.certain) for leak in t.leaks()] == [(3, True)]


def test_a_late_crossing_reaches_the_rules_as_a_supplement(tmp_path: Path) -> None:
    """The rules learn of a descriptor that crossed an exec after the exec's line was read
    from a supplement: the exec's own record, naming that descriptor and pointing back."""
    text, _ = CASES["ended after the exec"]
    log = tmp_path / "race.log"
    log.write_text(text)
    (result,) = sysprobe.parse(log).check(RuleSet(no_fd_leaks=True)).results
    assert result.leaks is not None
    (leak,) = result.leaks
    supplement = leak.exec
    assert (supplement.pid, supplement.program, supplement.argv, supplement.line) == (
        102,
        "/bin/true",
        ["true"],
        6,
    )
    assert supplement.crossed == [leak.descriptor] and supplement.late == []
    assert supplement.injected is False
    exec_itself = supplement.supplement_of
    assert exec_itself is not None and exec_itself.supplement_of is None
    assert (exec_itself.pid, exec_itself.line, exec_itself.crossed) == (102, 6, [])
    assert exec_itself.late == [leak.descriptor]
    assert leak.descriptor.fd == 3 and leak.descriptor.name == "/etc/hostname"


# changes of a descriptor the table already held: close, dup2 onto it, flag change, close_range
HELD = START + '101 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3</etc/hostname>\n'
HELD += '100 openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 5</etc/passwd>\n'
CHANGES = {
    "close": ("101 close(3</etc/hostname>", {3: False}, "closed"),
    "dup2 onto a close-on-exec descriptor": (
        "101 dup2(3</etc/hostname>, 5</etc/passwd>",
        {3: True, 5: False},
        "replaced",
    ),
    "fcntl(F_SETFD)": ("101 fcntl(3</etc/hostname>, F_SETFD, FD_CLOEXEC", {3: False}, "given close-on-exec"),
    "close_range": ("101 close_range(3, 4, 0", {3: False}, "closed"),
    "close_range(CLOSE_RANGE_CLOEXEC)": (
        "101 close_range(3, 4, CLOSE_RANGE_CLOEXEC",
        {3: False},
        "given close-on-exec",
    ),
}


def crossings(t: Trace) -> dict[int, bool]:
    return {leak.fd: leak.certain for leak in t.leaks(count_passes=True) if leak.exec.program == "/bin/true"}


@pytest.mark.parametrize("case", CASES)
def test_what_the_lines_prove(case: str, tmp_path: Path) -> None:
    text, expected = CASES[case]
    log = tmp_path / "race.log"
    log.write_text(text)
    assert crossings(sysprobe.parse(log)) == expected


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_in_flight(change: str, tmp_path: Path) -> None:
    call, expected, what = CHANGES[change]
    result = " = 5</etc/hostname>" if call.startswith("101 dup2") else " = 0"
    log = tmp_path / "race.log"
    log.write_text(
        HELD
        + f"{FORK} <unfinished ...>\n"
        + f"{call} <unfinished ...>\n"
        + "102 set_robust_list(0x7f, 24) = 0\n"
        + f"101 <... {call.split()[1].split('(')[0]} resumed>){result}\n"
        + "100 <... clone resumed>, child_tidptr=0x7f) = 102\n"
        + CHILD
    )
    t = sysprobe.parse(log)
    assert crossings(t) == expected
    (raced,) = [leak for leak in t.leaks(count_passes=True) if not leak.certain]
    assert raced.descriptor.race is not None and raced.descriptor.race.what == what
    # before the fork, and after it, the same change is certain either way
    for order in ("before", "after"):
        lines = [f"{call}){result}\n", f"{FORK}) = 102\n"]
        log.write_text(HELD + "".join(lines if order == "before" else lines[::-1]) + CHILD)
        assert all(leak.certain for leak in sysprobe.parse(log).leaks(count_passes=True))


def test_a_thread_exec_races_the_other_threads(tmp_path: Path) -> None:
    """A thread's execve copies the table it shares somewhere inside the call: another
    thread's open inside that window may or may not be in the new program."""
    log = tmp_path / "exec.log"
    log.write_text(
        START
        + '101 execve("/bin/true", ["true"], 0x7ffd /* 1 var */ <unfinished ...>\n'
        + OPEN.replace("101 ", "100 ")
        + "100 +++ superseded by execve in pid 101 +++\n"
        + "100 <... execve resumed>) = 0\n"
        + "100 +++ exited with 0 +++\n"
    )
    t = sysprobe.parse(log)
    (leak,) = t.leaks()
    assert leak.fd == 3 and not leak.certain
    assert "may have leaked (created by pid 100 while pid 101 exec'd)" in leak.describe()


def test_per_pid_logs_are_not_ordered(tmp_path: Path) -> None:
    """Lines of two -ff files say nothing of which came first: no race is inferred."""
    (tmp_path / "t.100").write_text(
        '12:00:00.000001 execve("/bin/prog", ["prog"], 0x7ffd /* 1 var */) = 0\n'
        + "12:00:00.000002 "
        + THREAD.removeprefix("100 ")
        + "12:00:00.000004 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, "
        "child_tidptr=0x7f) = 102\n"
    )
    (tmp_path / "t.101").write_text('12:00:00.000003 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3\n')
    (tmp_path / "t.102").write_text('12:00:00.000005 execve("/bin/true", ["true"], 0x7ffd /* 1 var */) = 0\n')
    t = sysprobe.parse([tmp_path / f"t.{pid}" for pid in (100, 101, 102)])
    assert not t.model.races.enabled
    assert [(leak.fd, leak.certain) for leak in t.leaks()] == [(3, True)]


# ---- the race window: seed 001 ----


def check(program: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SYSPROBE, "check", *args, "--", str(program)], capture_output=True, text=True, check=False
    )


def test_the_epoll_fallback_window_is_found(backend: str, compile_c: Callable[..., Path]) -> None:
    """Without epoll_create1, Go's fallback made the descriptor with epoll_create and set
    close-on-exec with fcntl: a fork by another thread between the two gives the child the
    descriptor without close-on-exec. No exec received it here: the window is the finding."""
    done = check(
        compile_c("epoll_race"),
        "--inject",
        "epoll_create1:error=ENOSYS",
        "--cloexec",
        "epoll_create",
        "--no-fd-leaks",
    )
    assert done.returncode == 1, done.stderr
    (finding,) = [line.strip() for line in done.stderr.splitlines() if "without close-on-exec while" in line]
    assert finding.startswith("fd ") and "(anon_inode:[eventpoll]) from epoll_create at line " in finding
    assert " was without close-on-exec while pid " in finding and " forked (clone at line " in finding
    assert finding.endswith(
        finding[finding.index("; close-on-exec set only later, by fcntl(F_SETFD) at line ") :]
    )
    creator = int(finding.split(" from epoll_create at line ")[1].split(" in pid ")[1].split()[0])
    forker = int(finding.split(" while pid ")[1].split()[0])
    assert creator != forker  # another thread of the process forked
    assert "PASS  --no-fd-leaks: no leaks across 1 exec" in done.stderr


def test_epoll_create1_with_cloexec_has_no_window(backend: str, compile_c: Callable[..., Path]) -> None:
    done = check(compile_c("epoll_race"), "--cloexec", "epoll_create1", "--no-fd-leaks")
    assert done.returncode == 0, done.stderr
    assert "PASS  --cloexec epoll_create1: 1 descriptor from 1 call, close-on-exec throughout" in done.stderr


# Go's epoll fallback, by hand: a thread makes the descriptor with epoll_create and sets
# close-on-exec with fcntl; the main thread forks in between, or not
EPOLL = "101 epoll_create(1) = 3<anon_inode:[eventpoll]>\n"
SETFD = "101 fcntl(3<anon_inode:[eventpoll]>, F_SETFD, FD_CLOEXEC) = 0\n"
FORKED = f"{FORK}, child_tidptr=0x7f) = 102\n"
ENDED = "102 +++ exited with 0 +++\n101 +++ exited with 0 +++\n100 +++ exited with 0 +++\n"
MADE = "fd 3 (anon_inode:[eventpoll]) from epoll_create at line 4 in pid 101"
WINDOW = (
    f"{MADE} was without close-on-exec while pid 100 forked (clone at line 5 in pid 100): "
    "that child could exec with it"
)


@pytest.mark.parametrize(
    ("calls", "evidence"),
    [
        (
            EPOLL + FORKED + SETFD,
            [
                f"{WINDOW}; close-on-exec set only later, by fcntl(F_SETFD) at line 6 in pid 101",
                # the child's copy never had it
                f"{MADE} held until pid 102 exited at line 7 without close-on-exec",
            ],
        ),
        (
            EPOLL + FORKED,
            [WINDOW, f"{MADE} held until pid 102 exited at line 6 without close-on-exec"],
        ),
        (
            EPOLL + FORKED + "101 close(3<anon_inode:[eventpoll]>) = 0\n",
            [f"{MADE} closed at line 6 without close-on-exec", WINDOW],
        ),
        (EPOLL + SETFD + FORKED, None),  # set before any fork: no window
    ],
)
def test_a_fork_inside_the_cloexec_window(calls: str, evidence: list[str] | None, tmp_path: Path) -> None:
    log = tmp_path / "window.log"
    log.write_text(
        '100 execve("/bin/prog", ["prog"], 0x7ffe /* 1 var */) = 0\n100 brk(NULL) = 0x55\n'
        + THREAD
        + calls
        + ENDED
    )
    report = sysprobe.parse(log).check(RuleSet(cloexec=["epoll_create"]))
    (result,) = report.results
    if evidence is None:
        assert (result.verdict, report.exit_code) == ("pass", 0)
        assert result.summary == "1 descriptor from 1 call, close-on-exec throughout"
    else:
        assert (result.verdict, report.exit_code, result.summary) == (
            "fail",
            1,
            f"{len(evidence)} violations",
        )
        assert [e if isinstance(e, str) else e.render() for e in result.evidence] == evidence


def test_a_race_names_the_first_three_calls_in_flight(tmp_path: Path) -> None:
    """A fork raced by many calls of another thread: the finding names the first three
    (each once), and reading them costs linear time (0250773)."""
    body = "".join(
        f'101 openat(AT_FDCWD, "/etc/a{i}", O_RDONLY) = 3</etc/a{i}>\n101 close(3</etc/a{i}>) = 0\n'
        for i in range(5)
    )
    log = tmp_path / "race.log"
    log.write_text(fork_raced_by(body))
    (leak,) = sysprobe.parse(log).leaks(count_passes=True)
    assert leak.fd == 3 and not leak.certain and leak.descriptor.race is not None
    assert [(o.syscall, o.line) for o in leak.descriptor.race.calls] == [
        ("openat", 4),
        ("close", 5),
        ("openat", 6),
    ]


def test_a_close_told_late_makes_a_crossing_uncertain(tmp_path: Path) -> None:
    """A thread's close of a descriptor the table held, in flight across the fork and ended
    after the child's exec: the copy may have held it or not, so its crossing is uncertain."""
    log = tmp_path / "race.log"
    log.write_text(
        HELD
        + f"{FORK} <unfinished ...>\n"
        + "101 close(3</etc/hostname> <unfinished ...>\n"
        + "100 <... clone resumed>, child_tidptr=0x7f) = 102\n"
        + '102 execve("/bin/true", ["true"], 0x7ffd /* 1 var */) = 0\n'
        + "101 <... close resumed>) = 0\n"
        + "102 +++ exited with 0 +++\n"
    )
    assert crossings(sysprobe.parse(log)) == {3: False}


# The racing child forks again before the thread's openat ends: the grandchild's table is
# a copy of the racing copy, so the late change may have reached it as well.
GRANDCHILD = (
    START
    + f"{FORK} <unfinished ...>\n"
    + '101 openat(AT_FDCWD, "/etc/hostname", O_RDONLY <unfinished ...>\n'
    + "100 <... clone resumed>, child_tidptr=0x7f) = 102\n"
    + FORK.replace("100 ", "102 ")
    + ", child_tidptr=0x7f) = 103\n"
    + '103 execve("/bin/true", ["true"], 0x7ffd /* 1 var */) = 0\n'
    + "101 <... openat resumed>) = 3</etc/hostname>\n"
    + "103 +++ exited with 0 +++\n102 +++ exited with 0 +++\n"
)


@pytest.mark.parametrize(
    ("before_the_fork", "expected"),
    [
        ("", {3: False}),
        ("102 close_range(3, 4294967295, 0) = 0\n", {}),  # the child closed them: so did the copy
    ],
)
def test_a_late_change_reaches_a_copy_of_the_racing_copy(
    before_the_fork: str, expected: dict[int, bool], tmp_path: Path
) -> None:
    log = tmp_path / "race.log"
    log.write_text(GRANDCHILD.replace("102 clone(", before_the_fork + "102 clone("))
    assert crossings(sysprobe.parse(log)) == expected


@pytest.mark.parametrize(
    ("log_text", "used", "expected"),
    [
        # the racing openat: the child's copy may not hold fd 3, until the child uses it
        (IN_FLIGHT, "3</etc/hostname>", {3: True}),
        # a racing fcntl making close-on-exec fd 5 inheritable: in use, fd 5 is there, but
        # whether the copy has the flag the use does not say (-y names the same file)
        (
            HELD
            + f"{FORK} <unfinished ...>\n"
            + "101 fcntl(5</etc/passwd>, F_SETFD, 0 <unfinished ...>\n"
            + "102 set_robust_list(0x7f, 24) = 0\n"
            + "101 <... fcntl resumed>) = 0\n"
            + "100 <... clone resumed>, child_tidptr=0x7f) = 102\n"
            + CHILD,
            "5</etc/passwd>",
            {3: True, 5: False},
        ),
    ],
)
def test_a_descriptor_in_use_is_in_the_racing_copy(
    log_text: str, used: str, expected: dict[int, bool], tmp_path: Path
) -> None:
    log = tmp_path / "race.log"
    fstat = f"102 fstat({used}, {{st_mode=S_IFREG|0644, st_size=5}}) = 0\n"
    log.write_text(log_text.replace(CHILD, fstat + CHILD))
    t = sysprobe.parse(log)
    assert crossings(t) == expected
    # a certain crossing carries no race to report; an uncertain one, only the other state
    races = {leak.fd: leak.descriptor.race for leak in t.leaks(count_passes=True)}
    others = {fd: race and [d and (d.name, d.cloexec) for d in race.others] for fd, race in races.items()}
    assert others == {fd: None if certain else [("/etc/passwd", True)] for fd, certain in expected.items()}


def test_a_descriptor_in_use_was_not_closed_by_the_race(tmp_path: Path) -> None:
    """fd 3 opened, closed and opened again on one file while the fork was in flight: the
    copy may hold either open or nothing. In use in the child, it holds one of the opens:
    it crosses the exec for certain; which open it is, -y (the same name) cannot say."""
    body = (
        '101 openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3</etc/a>\n'
        "101 close(3</etc/a>) = 0\n"
        '101 openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3</etc/a>\n'
    )
    log = tmp_path / "race.log"
    log.write_text(fork_raced_by(body, child="102 fstat(3</etc/a>, {st_mode=S_IFREG|0644, st_size=5}) = 0\n"))
    (leak,) = sysprobe.parse(log).leaks(count_passes=True)
    race = leak.descriptor.race
    assert leak.fd == 3 and leak.certain and race is not None
    others = [d and (d.name, d.origin.line) for d in race.others]
    assert (leak.descriptor.origin.line, others) == (4, [("/etc/a", 6)])


def test_too_many_forks_racing_one_call_are_counted_when_given_up(tmp_path: Path) -> None:
    """A thread in one long read while its process forks 66 times: each copy waits for the
    read to end, but one task is watched for at most 64 copies. The two given up are said,
    and no copy is still followed once the read ended."""
    from sysprobe._model.races import MAX_WATCHED, log_of

    forks = "".join(
        f"{FORK}, child_tidptr=0x7f) = {pid}\n{pid} exit_group(0) = ?\n{pid} +++ exited with 0 +++\n"
        for pid in range(200, 200 + MAX_WATCHED + 2)
    )
    log = tmp_path / "race.log"
    log.write_text(
        START
        + "100 brk(NULL) = 0x5600\n"  # an unfiltered log: sysprobe can judge it
        + "101 read(0, <unfinished ...>\n"
        + forks
        + '101 <... read resumed>"", 4096) = 0\n'
        + "101 +++ exited with 0 +++\n100 +++ exited with 0 +++\n"
    )
    t = sysprobe.parse(log)
    (result,) = t.check(RuleSet(no_fd_leaks=True)).results
    assert result.passed
    notes = [e for e in result.evidence if isinstance(e, str) and "racing fork" in e]
    assert notes == [
        "note: 2 racing forks stopped being followed for calls still in flight (too many forks raced"
        " one long call); a descriptor such a call made later is not counted"
    ]
    changes = log_of(t.model.tree.tasks[100].table)
    assert changes is not None and changes.forks == []


def long_race(start: str, pair: str, pairs: int) -> str:
    body = "".join(pair.format(i=i, was=f"a{i - 1}" if i else "hostname") for i in range(pairs))
    return fork_raced_by(body, start)


OPEN_CLOSE = '101 openat(AT_FDCWD, "/etc/a{i}", O_RDONLY) = 3</etc/a{i}>\n101 close(3</etc/a{i}>) = 0\n'
CLOSE_OPEN = '101 close(3</etc/{was}>) = 0\n101 openat(AT_FDCWD, "/etc/a{i}", O_RDONLY) = 3</etc/a{i}>\n'


def test_a_long_race_folds_its_oldest_changes(tmp_path: Path) -> None:
    """Past RECENT_CHANGES changes during one fork, the oldest are folded into one change
    per descriptor: it keeps its first and last calls, and the first MAX_STATES of the
    states it went through (memory stays bounded: later ones of the fold are let go)."""
    from sysprobe._model.races import MAX_STATES, RECENT_CHANGES

    pairs = RECENT_CHANGES // 2 + 5  # ten changes past the limit: the oldest ten are folded
    log = tmp_path / "race.log"
    log.write_text(long_race(START, OPEN_CLOSE, pairs))
    (leak,) = sysprobe.parse(log).leaks(count_passes=True)
    race = leak.descriptor.race
    assert not leak.certain and race is not None and race.what == "created"
    # the folded change's calls are the first openat (line 4) and the tenth change (line 13)
    assert [(o.syscall, o.line) for o in race.calls] == [("openat", 4), ("close", 13), ("openat", 14)]
    # the fold went through a0, None, a1, None, a2, ... a4, None: it keeps a0, None, a1,
    # a2 (MAX_STATES) and ends at None; a3 and a4 are let go; a5 on are recent changes
    assert leak.descriptor.name == "/etc/a0"
    names = [d and d.name for d in race.others]
    assert names[: MAX_STATES + 1] == [None, "/etc/a1", "/etc/a2", "/etc/a5", "/etc/a6"]
    assert len(names) == pairs - 2 and "/etc/a3" not in names and "/etc/a4" not in names

    # fd 3 open before the fork: the folded change starts from it, the file the copy may
    # still hold (the one that would cross, so the one the finding names)
    log.write_text(long_race(HELD, CLOSE_OPEN, pairs))
    leaks = {leak.fd: leak for leak in sysprobe.parse(log).leaks(count_passes=True)}
    race = leaks[3].descriptor.race
    assert leaks[3].descriptor.name == "/etc/hostname" and race is not None and race.what == "replaced"
    assert [d and d.name for d in race.others[:3]] == [None, "/etc/a0", "/etc/a1"]
