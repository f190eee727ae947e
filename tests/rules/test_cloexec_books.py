"""--cloexec on hand-written logs: the race windows of a fork by one thread while another
thread's descriptor lacks close-on-exec (and the call that set the flag later), descriptors
made by a task whose creation has not shown yet, the forgetting of closed creations past
PRUNE_AT, and the exact summaries of a pass, a miss and an undecided verdict. Each log is
judged as the rule streams it and, where the rule reads tables by event, as a replay over
the finished model (``Analysis.replay``, what ``Trace.check`` does)."""

from __future__ import annotations

import pytest

from sysprobe._parsing.lineparse import parse_lines
from sysprobe._pipeline import Analysis
from sysprobe._rules.rules import PRUNE_AT, Cloexec, RuleResult, RuleSet

EXEC = '100 execve("/bin/prog", ["prog"], 0x7ffd /* 1 var */) = 0\n100 brk(NULL) = 0x55d0c000\n'
THREAD = (
    "100 clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD"
    "|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=[101], "
    "tls=0x7f, child_tidptr=0x7f) = 101\n"
)
START = EXEC + THREAD  # lines 1-3
FORK = "100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
FORKED = f"{FORK}, child_tidptr=0x7f) = 102\n"
FORKING = f"{FORK} <unfinished ...>\n"
RESUMED = "100 <... clone resumed>, child_tidptr=0x7f) = 102\n"
FIRST = "102 set_robust_list(0x7f, 24) = 0\n"  # the child's first line: the fork is told then
ENDED = (
    "102 exit_group(0) = ?\n102 +++ exited with 0 +++\n101 +++ exited with 0 +++\n100 +++ exited with 0 +++\n"
)


def judge(log: str, pattern: str, *, replay: bool = False) -> RuleResult:
    """The verdict of ``--cloexec pattern`` on ``log``: streamed along with the model, or
    replayed over the finished model."""
    events = parse_lines(log.splitlines())
    rules = RuleSet(cloexec=[pattern]).build()
    if replay:
        (result,) = Analysis(keep_events=True).feed_all(events).replay(rules, "replayed").results
    else:
        (result,) = Analysis(rules).feed_all(events).finish("streamed").results
    return result


def shown(result: RuleResult) -> list[str]:
    return [e if isinstance(e, str) else e.render() for e in result.evidence]


both_ways = pytest.mark.parametrize("replay", [False, True], ids=["streamed", "replayed"])

# ---- race windows: 100 forks while thread 101's descriptor lacks close-on-exec ----

A = "fd 3 (/a) from openat at line 4 in pid 101"
WINDOW = (
    f"{A} was without close-on-exec while pid 100 forked (clone at line 5 in pid 100): "
    "that child could exec with it"
)

# the flag is set later (line 10) and cleared again (line 11): the window names the call
# that set it as the event left the table, not as the trace ends; fd 4 got its flag from
# an fcntl (line 8) while fd 3 still lacked it, and a descriptor closed with the flag
# (line 9) is not the one a window waits for
SET_THEN_CLEARED = (
    START
    + '101 openat(AT_FDCWD, "/a", O_RDONLY) = 3</a>\n'
    + FORKED
    + FIRST
    + '101 openat(AT_FDCWD, "/b", O_RDONLY) = 4</b>\n'
    + "101 fcntl(4</b>, F_SETFD, FD_CLOEXEC) = 0\n"
    + "101 close(4</b>) = 0\n"
    + "101 fcntl(3</a>, F_SETFD, FD_CLOEXEC) = 0\n"
    + "101 fcntl(3</a>, F_SETFD, 0) = 0\n"
    + "101 close(3</a>) = 0\n"
    + ENDED
)


@both_ways
def test_a_window_names_the_call_that_set_the_flag_even_if_it_was_cleared_again(replay: bool) -> None:
    result = judge(SET_THEN_CLEARED, "openat", replay=replay)
    # the other violation: thread 101 closed fd 3 without the flag (said once, for all copies)
    assert (result.rule, result.verdict, result.summary) == ("--cloexec openat", "fail", "2 violations")
    assert (
        shown(result)[0] == f"{WINDOW}; close-on-exec set only later, by fcntl(F_SETFD) at line 10 in pid 101"
    )
    assert str(result.evidence[1]).startswith(f"{A} closed at line 12 without ")


@both_ways
def test_a_window_closed_by_the_childs_own_call_before_its_creation_showed(replay: bool) -> None:
    """102's fcntl comes before the clone returns: the model holds it and applies it to
    the copy once 102 exists, after the fork was told; the log then stops. The child's
    copy has the flag at the end (its window names that fcntl), the parent's does not."""
    log = START + '101 openat(AT_FDCWD, "/a", O_RDONLY) = 3</a>\n' + FORKING
    log += "102 fcntl(3</a>, F_SETFD, FD_CLOEXEC) = 0\n" + RESUMED
    result = judge(log, "openat", replay=replay)
    assert shown(result) == [
        f"{WINDOW}; close-on-exec set only later, by fcntl(F_SETFD) at line 6 in pid 102",
        f"{A} is open at the end without close-on-exec",
    ]


# ---- a fork raced by a call of thread 101: what 102's copy holds is not proven ----

HOSTNAME = '101 openat(AT_FDCWD, "/etc/hostname", O_RDONLY'
IN_FLIGHT = {
    # the openat ended after the child's first line: the copy may hold fd 3 or nothing
    "created": (
        "",
        f"{HOSTNAME} <unfinished ...>\n{FIRST}101 <... openat resumed>) = 3</etc/hostname>\n",
        "fd 3 (/etc/hostname) from openat at line 5 in pid 101 may have been without close-on-exec "
        "while pid 100 forked (clone at line 4 in pid 100): that child could exec with it; clone at "
        "line 4 in pid 100 copied the table while openat at line 5 in pid 101 was in flight",
        "fd 3 (/etc/hostname) from openat at line 5 in pid 101 held until pid 102 exited at line 10",
    ),
    # F_SETFD 0 on a descriptor without the flag: every state the copy may be in lacks it,
    # so the window is certain, and no race needs naming
    "made inheritable": (
        f"{HOSTNAME}) = 3</etc/hostname>\n",
        f"101 fcntl(3</etc/hostname>, F_SETFD, 0 <unfinished ...>\n{FIRST}101 <... fcntl resumed>) = 0\n",
        "fd 3 (/etc/hostname) from openat at line 4 in pid 101 was without close-on-exec while pid 100 "
        "forked (clone at line 5 in pid 100): that child could exec with it",
        "fd 3 (/etc/hostname) from openat at line 4 in pid 101 held until pid 102 exited at line 11",
    ),
}


@pytest.mark.parametrize(("before", "racing", "window", "held"), IN_FLIGHT.values(), ids=IN_FLIGHT.keys())
def test_a_window_raced_by_a_call_in_flight_says_only_what_the_trace_proves(
    before: str, racing: str, window: str, held: str
) -> None:
    result = judge(START + before + FORKING + racing + RESUMED + ENDED, "openat")
    # the first end of a table holding it says its lifelong lack (the child's copy, here)
    assert shown(result) == [window, f"{held} without close-on-exec"]


def test_a_fork_shows_no_window_for_its_own_threads_descriptor() -> None:
    """100 made fd 3 itself before forking: no other thread raced it (its child's copy is
    judged where it ends). Thread 101's fd 4 has the flag: nothing to show either."""
    log = (
        START
        + '100 openat(AT_FDCWD, "/own", O_RDONLY) = 3</own>\n'
        + '101 openat(AT_FDCWD, "/flagged", O_RDONLY|O_CLOEXEC) = 4</flagged>\n'
        + FORKED
        + FIRST
        + "100 close(3</own>) = 0\n"
        + ENDED
    )
    result = judge(log, "openat")
    assert shown(result) == [
        "fd 3 (/own) from openat at line 4 in pid 100 closed at line 8 without close-on-exec"
    ]


def test_each_descriptor_shows_one_window_whatever_the_forks() -> None:
    """fd 3 was open across both forks: its window shows once; fd 4, made between them,
    gets its own at the second."""
    log = (
        START
        + '101 openat(AT_FDCWD, "/a", O_RDONLY) = 3</a>\n'
        + FORKED
        + FIRST
        + '101 openat(AT_FDCWD, "/b", O_RDONLY) = 4</b>\n'
        + FORKED.replace("102", "103")
        + FIRST.replace("102", "103")
        + "103 exit_group(0) = ?\n103 +++ exited with 0 +++\n"
        + ENDED
    )
    result = judge(log, "openat")
    assert shown(result) == [
        WINDOW,
        "fd 4 (/b) from openat at line 7 in pid 101 was without close-on-exec while pid 100 forked "
        "(clone at line 8 in pid 100): that child could exec with it",
        f"{A} held until pid 103 exited at line 11 without close-on-exec",
        "fd 4 (/b) from openat at line 7 in pid 101 held until pid 103 exited at line 11 without "
        "close-on-exec",
    ]


def test_a_window_past_the_violations_shown_takes_no_note_of_another() -> None:
    """Ten violations fill the report: the window that follows is counted, not shown, and
    the flag set later is no note on the last one shown."""
    closes = "".join(
        f'101 openat(AT_FDCWD, "/f{i}", O_RDONLY) = 3</f{i}>\n101 close(3</f{i}>) = 0\n' for i in range(10)
    )
    log = (
        START
        + closes
        + '101 openat(AT_FDCWD, "/a", O_RDONLY) = 3</a>\n'
        + FORKED
        + FIRST
        + "101 fcntl(3</a>, F_SETFD, FD_CLOEXEC) = 0\n"
        + ENDED
    )
    result = judge(log, "openat")
    assert result.summary == "12 violations"  # the ten, the window, the child's copy at its exit
    assert shown(result) == [
        *(
            f"fd 3 (/f{i}) from openat at line {4 + 2 * i} in pid 101 closed at line {5 + 2 * i} "
            "without close-on-exec"
            for i in range(10)
        ),
        "... and 2 more",
    ]


@pytest.mark.parametrize("closed", [True, False], ids=["closed", "cut"])
def test_a_flag_the_kernel_reports_closes_a_window_without_naming_a_call(closed: bool) -> None:
    """F_GETFD says fd 3 has close-on-exec: the model takes the kernel's word, but no call
    of the trace set it, so the window names none."""
    log = START + '101 openat(AT_FDCWD, "/a", O_RDONLY) = 3</a>\n' + FORKED + FIRST
    log += "101 fcntl(3</a>, F_GETFD) = 0x1 (flags FD_CLOEXEC)\n"
    if closed:
        log += "101 close(3</a>) = 0\n" + ENDED
    result = judge(log, "openat")
    # the child's copy never had the flag
    end = "held until pid 102 exited at line 10 without" if closed else "is open at the end without"
    assert shown(result) == [WINDOW, f"{A} {end} close-on-exec"]


@both_ways
def test_a_window_names_no_setting_of_the_flag_made_before_the_fork(replay: bool) -> None:
    """fd 3 had the flag at lines 5-6 only, before the fork; F_GETFD then says it has it
    again (set by no call the trace shows), and line 12 clears it once more. No call of
    the trace set the flag after the fork: the window names none, whatever event follows."""
    log = (
        START
        + '101 openat(AT_FDCWD, "/a", O_RDONLY) = 3</a>\n'
        + "101 fcntl(3</a>, F_SETFD, FD_CLOEXEC) = 0\n"
        + "101 fcntl(3</a>, F_SETFD, 0) = 0\n"
        + FORKED
        + FIRST
        + "101 fcntl(3</a>, F_GETFD) = 0x1 (flags FD_CLOEXEC)\n"
        + "100 brk(NULL) = 0x55d0d000\n"
        + "101 fcntl(3</a>, F_SETFD, 0) = 0\n"
        + "101 close(3</a>) = 0\n"
        + ENDED
    )
    result = judge(log, "openat", replay=replay)
    assert result.summary == "2 violations"  # and the close at line 12
    assert shown(result)[0] == WINDOW.replace("clone at line 5", "clone at line 7")


# ---- summaries ----

PIPE_NOTE = "note: pipe matches the pipe syscall and pipe2: glibc's pipe() calls pipe2 on x86_64"


def test_a_pass_counts_descriptors_and_calls_and_shows_the_first_five() -> None:
    """pipe2 returns 0, not a descriptor: its two are counted all the same."""
    pipes = "".join(
        f"100 pipe2([{fd}<pipe:[{fd}]>, {fd + 1}<pipe:[{fd}]>], O_CLOEXEC) = 0\n" for fd in range(3, 15, 2)
    )
    result = judge(EXEC + pipes + "100 +++ exited with 0 +++\n", "pipe")
    assert (result.rule, result.verdict, result.summary) == (
        "--cloexec pipe",
        "pass",
        "12 descriptors from 6 calls, close-on-exec throughout",
    )
    assert shown(result) == [
        *(
            f"line {line} pid 100: pipe2([{fd}<pipe:[{fd}]>, {fd + 1}<pipe:[{fd}]>], O_CLOEXEC) = 0"
            for line, fd in zip(range(3, 8), range(3, 13, 2), strict=True)
        ),
        PIPE_NOTE,
    ]


def test_no_descriptor_made_fails_with_the_patterns_notes() -> None:
    result = judge(EXEC + "100 +++ exited with 0 +++\n", "pipe")
    assert (result.rule, result.verdict, result.summary) == (
        "--cloexec pipe",
        "fail",
        "no descriptor was created by pipe",
    )
    assert shown(result) == [PIPE_NOTE]


LONG = "/tmp/a-very-long-name-strace-cut-short"
CUT = (
    f'100 openat(AT_FDCWD, "{LONG}", O_RDONLY|O_CLOEXEC) = 3<{LONG}>\n'
    "100 close(0</dev/null>) = 0\n"
    '100 openat(AT_FDCWD, "/tmp/a-very-long"..., O_RDONLY|O_CLOEXEC) = 0\n'
    "100 +++ exited with 0 +++\n"
)


@pytest.mark.parametrize("flag", ["|O_CLOEXEC", ""], ids=["kept", "broken"])
def test_a_call_that_may_match_leaves_a_pass_undecided_but_not_a_violation(flag: str) -> None:
    """The second openat's path was cut at -s: it may be one more of the pattern's (it
    returned descriptor 0, stdin's number, closed just before)."""
    pattern = f'open("{LONG}", *)'
    result = judge(EXEC + CUT.replace("O_RDONLY|O_CLOEXEC) = 3", f"O_RDONLY{flag}) = 3"), pattern)
    note = "note: open matches the open syscall and openat: glibc's open() calls openat on x86_64"
    assert result.rule == f"--cloexec {pattern}"
    if flag:
        assert (result.verdict, result.passed, result.final) == ("undecided", False, False)
        assert result.summary.startswith("1 call may match: the trace shows only part of its arguments")
        assert shown(result) == [
            "seen: 1 descriptor from 1 call",
            note,
            'line 5 pid 100: openat(AT_FDCWD, "/tmp/a-very-long"..., O_RDONLY|O_CLOEXEC) = 0   '
            "(may match: part of it was not shown)",
        ]
    else:
        assert (result.verdict, result.summary) == ("fail", "1 violation")
        assert shown(result) == [
            f"fd 3 ({LONG}) from openat at line 3 in pid 100 held until pid 100 exited at line 6 "
            "without close-on-exec",
            note,
        ]


def test_a_descriptor_held_until_its_process_is_killed_says_by_what() -> None:
    result = judge(
        EXEC + "100 pipe2([3<pipe:[7]>, 4<pipe:[7]>], 0) = 0\n100 +++ killed by SIGKILL +++\n", "pipe2"
    )
    assert shown(result) == [
        f"fd {fd} (pipe:[7]) from pipe2 at line 3 in pid 100 held until pid 100 was killed by SIGKILL "
        "at line 4 without close-on-exec"
        for fd in (3, 4)
    ]


@pytest.mark.parametrize(("closed", "final"), [("", False), ("100 close(5</a>) = 0\n", True)])
def test_violations_only_of_a_log_cut_short_are_not_final(closed: str, final: bool) -> None:
    """Both ends of the pipe lack the flag when the log stops: a missing later line could
    be the fcntl that sets it. A descriptor closed without it is a violation whatever follows."""
    log = (
        EXEC
        + "100 pipe2([3<pipe:[7]>, 4<pipe:[7]>], 0) = 0\n"
        + '100 openat(AT_FDCWD, "/a", O_RDONLY) = 5</a>\n'
    )
    result = judge(log + closed, "pipe2|openat")
    assert (result.verdict, result.final) == ("fail", final)
    assert result.summary == "3 violations"


@both_ways
def test_a_creation_by_a_task_not_yet_shown_made_one_descriptor(replay: bool) -> None:
    """102's openat comes before the clone that made 102 returns: streamed, the model
    holds it back and the rule counts the one descriptor the call returned; replayed, the
    model had applied it."""
    log = (
        EXEC
        + FORKING
        + '102 openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3</etc/hosts>\n'
        + RESUMED
        + "102 close(3</etc/hosts>) = 0\n102 +++ exited with 0 +++\n100 +++ exited with 0 +++\n"
    )
    result = judge(log, "openat", replay=replay)
    assert (result.verdict, result.summary) == ("pass", "1 descriptor from 1 call, close-on-exec throughout")


# ---- past PRUNE_AT creations the rule forgets those closed everywhere ----


def opened_and_closed(n: int, fd: int, pid: int = 100) -> list[str]:
    """``n`` creations with the flag, each closed at once: what pruning forgets."""
    return [
        line
        for i in range(n)
        for line in (
            f'{pid} openat(AT_FDCWD, "/tmp/f{i}", O_RDONLY|O_CLOEXEC) = {fd}</tmp/f{i}>',
            f"{pid} close({fd}</tmp/f{i}>) = 0",
        )
    ]


def fed(lines: list[str], *stops: int) -> tuple[Analysis, list[set[tuple[int | None, int]]]]:
    """``--cloexec openat`` streamed over ``lines``, and the creations it tracked once the
    event of each line of ``stops`` was fed (a call <unfinished ...> is fed when it resumes)."""
    (rule,) = RuleSet(cloexec=["openat"]).build()
    assert isinstance(rule, Cloexec)
    analysis = Analysis([rule])
    tracked = []
    for event in parse_lines(lines):
        analysis.feed(event)
        if event.line in stops:
            tracked.append(set(rule.created))
    return analysis, tracked


def test_pruning_keeps_a_held_tasks_creations_and_what_was_already_said() -> None:
    """The PRUNE_AT-th creation is 102's, seen before the clone that made 102 returns: the
    model holds it, so no table shows it open, yet it must be kept. fd 3, said to have
    crossed an exec, is still open: its close must not be said again."""
    lines = [
        *EXEC.splitlines(),
        '100 openat(AT_FDCWD, "/x", O_RDONLY) = 3</x>',  # line 3
        '100 execve("/bin/next", ["next"], 0x7ffd /* 1 var */) = 0',
        *opened_and_closed(PRUNE_AT - 2, 4),  # lines 5 to 2 PRUNE_AT
        FORKING.rstrip(),  # from here, line N is 2 PRUNE_AT + N
        '102 openat(AT_FDCWD, "/y", O_RDONLY) = 4</y>',  # the PRUNE_AT-th creation
        RESUMED.rstrip(),
        "102 close(4</y>) = 0",
        "100 close(3</x>) = 0",
        "102 +++ exited with 0 +++",
        "100 +++ exited with 0 +++",
    ]
    at = 2 * PRUNE_AT
    analysis, (before, after) = fed(lines, at, at + 2)
    assert len(before) == PRUNE_AT - 1  # nothing forgotten yet
    assert after == {(100, 3), (102, at + 2)}
    (result,) = analysis.finish("pruned").results
    assert (result.verdict, result.summary) == ("fail", "2 violations")
    assert shown(result) == [
        "fd 3 (/x) from openat at line 3 in pid 100 crossed exec of /bin/next at line 4 "
        "without close-on-exec",
        f"fd 4 (/y) from openat at line {at + 2} in pid 102 closed at line {at + 4} without close-on-exec",
    ]


def test_pruning_waits_for_twice_the_creations_it_kept() -> None:
    """Past half PRUNE_AT descriptors open, the next pruning waits until twice as many
    creations are tracked: pruning stays linear however many stay open. (102 opens and
    closes, in a table of its own: the rule counts each creation in its call's table.)"""
    kept = PRUNE_AT // 2 + 1
    lines = [
        *EXEC.splitlines(),
        FORKED.rstrip(),
        *(f'100 openat(AT_FDCWD, "/k{i}", O_RDONLY|O_CLOEXEC) = {3 + i}</k{i}>' for i in range(kept)),
        # the pruning at the PRUNE_AT-th creation keeps the open ones: kept and that one
        *opened_and_closed(PRUNE_AT - kept, 3, pid=102),
        *opened_and_closed(kept + 1, 3, pid=102),  # the last makes twice kept + 1: pruned again
        "102 +++ exited with 0 +++",
        "100 +++ exited with 0 +++",
    ]
    first = 3 + kept + 2 * (PRUNE_AT - kept)
    analysis, tracked = fed(lines, first, first + 2 * kept, first + 2 * kept + 1)
    assert [len(t) for t in tracked] == [kept + 1, 2 * (kept + 1) - 1, kept + 1]
    (result,) = analysis.finish("pruned").results
    made = PRUNE_AT + kept + 1
    assert (result.verdict, result.summary) == (
        "pass",
        f"{made} descriptors from {made} calls, close-on-exec throughout",
    )


CLEARED_BY_FCNTL = "(close-on-exec cleared by fcntl(F_SETFD) at line 4 in pid 100)"


@both_ways
@pytest.mark.parametrize(
    ("made", "changed", "said"),
    [
        ("O_RDONLY|O_CLOEXEC", "100 fcntl(3</c>, F_SETFD, 0) = 0\n", CLEARED_BY_FCNTL),
        ("O_RDONLY", "100 fcntl(3</c>, F_SETFD, FD_CLOEXEC) = 0\n100 ioctl(3</c>, FIONCLEX) = 0\n",
         "(close-on-exec cleared by ioctl(FIONCLEX) at line 5 in pid 100)"),
        # the kernel says the flag is off, and no call of the trace cleared it
        ("O_RDONLY", "100 fcntl(3</c>, F_SETFD, FD_CLOEXEC) = 0\n100 fcntl(3</c>, F_GETFD) = 0\n",
         "(close-on-exec set by fcntl(F_SETFD) at line 4 in pid 100, then found cleared)"),
        ("O_RDONLY|O_CLOEXEC", "100 fcntl(3</c>, F_GETFD) = 0\n", ""),
        ("O_RDONLY", "", ""),
    ],
    ids=["cleared", "set-then-cleared", "set-then-found-cleared", "made-with-then-found-cleared", "never"],
)  # fmt: skip
def test_a_descriptor_without_the_flag_is_told_with_the_last_change_the_trace_shows(
    made: str, changed: str, said: str, replay: bool
) -> None:
    """A descriptor that ends its life without close-on-exec is reported with the last
    change of its flag the trace holds, never as "never had it": one made with O_CLOEXEC
    and found cleared by F_GETFD has no change to name."""
    opened = f'100 openat(AT_FDCWD, "/c", {made}) = 3</c>\n'
    fd3 = "fd 3 (/c) from openat at line 3 in pid 100"
    end = 4 + changed.count("\n")
    lacking = f"without close-on-exec {said}".rstrip()
    closed = judge(EXEC + opened + changed + "100 close(3</c>) = 0\n", "openat", replay=replay)
    assert shown(closed) == [f"{fd3} closed at line {end} {lacking}"]
    exited = "100 exit_group(0) = ?\n100 +++ exited with 0 +++\n"
    held = judge(EXEC + opened + changed + exited, "openat", replay=replay)
    assert shown(held) == [f"{fd3} held until pid 100 exited at line {end + 1} {lacking}"]
