"""The matching rules read in-process over hand-written strace logs (--expect, --forbid,
--expect-count, --order): their exact summaries and evidence lines, which calls they show
and how many more they count, the undecided verdict that calls strace cut short (a string
past -s: ``"abc"...``) leave, how --order judges each process (a pid reused after an exit
is another process) and what --order says of a rule it cannot read."""

from __future__ import annotations

import pytest

from sysprobe._parsing.lineparse import parse_lines
from sysprobe._pipeline import Analysis
from sysprobe._report.report import Report
from sysprobe._rules.rules import Order, RuleResult, RuleSet
from sysprobe.errors import RuleSyntaxError

START = [
    '100 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0',
    "100 brk(NULL) = 0x55d1c000",  # a call only an unfiltered trace holds: the log is whole
]
END = ["100 exit_group(0) = ?", "100 +++ exited with 0 +++"]
MAY_NOTE = "   (may match: part of it was not shown)"
UNDECIDED = (
    "may match: the trace shows only part of {} arguments (a string cut at strace's -s, a struct "
    "strace abbreviated with ...); capture the trace with a larger -s (and -v)"
)
SECRET = 'write(*, "*PASSWORD*")'


def check(lines: list[str], **rules: list[str]) -> Report:
    return Analysis(RuleSet(**rules).build()).feed_all(parse_lines(lines)).finish("books")  # type: ignore[arg-type]


def shown(result: RuleResult) -> list[str]:
    return [e if isinstance(e, str) else e.render() for e in result.evidence]


def undecided(calls: int) -> str:
    return f"{calls} call{'s' if calls != 1 else ''} " + UNDECIDED.format("its" if calls == 1 else "their")


# ---- --expect, --forbid: which matching calls are shown, and how many more ----

# one failed write, six that worked, six closes that all failed, and calls named like getuid
WRITES = [
    *START,
    '100 write(1, "a", 1) = -1 EPIPE (Broken pipe)',
    *[f'100 write(1, "{i}", 1) = 1' for i in range(6)],
    "100 getgid() = 0",
    "100 geteuid() = 0",
    "100 getegid() = 0",
    "100 getresuid([0], [0], [0]) = 0",
    "100 getpid() = 100",
    *[f"100 close({fd}) = -1 EBADF (Bad file descriptor)" for fd in range(10, 16)],
    *END,
]


def test_expect_shows_the_calls_that_did_what_it_asks_for() -> None:
    """Without a result condition the calls that worked are the evidence, the failed one
    only a count; with one, the calls that meet it. "... and N more" counts what the
    summary counts, not the failed calls."""
    report = check(WRITES, expect=["write", "write = -1"])
    worked, failed = report.results
    assert (worked.rule, worked.verdict, worked.summary) == (
        "--expect write",
        "pass",
        "6 matching calls (1 more failed)",
    )
    assert shown(worked) == [
        *[f'line {4 + i} pid 100: write(1, "{i}", 1) = 1' for i in range(5)],
        "... and 1 more",
    ]
    assert (failed.rule, failed.verdict, failed.summary) == ("--expect write = -1", "pass", "1 matching call")
    assert shown(failed) == ['line 3 pid 100: write(1, "a", 1) = -1 EPIPE (Broken pipe)']


def test_expect_of_calls_that_all_failed_shows_the_first_five() -> None:
    report = check(WRITES, expect=["close"])
    (result,) = report.results
    assert (result.rule, result.verdict, result.summary) == (
        "--expect close",
        "fail",
        "matched only failed calls (6: EBADF ×6)",
    )
    assert shown(result) == [
        *[f"line {15 + i} pid 100: close({10 + i}) = -1 EBADF (Bad file descriptor)" for i in range(5)],
        "... and 1 more",
        "a pattern without a result condition asks for a call that worked; "
        "to expect a failed one, say so: 'close = -1'",
    ]
    # a failed verdict, not a missing one, in the report CI tools read
    results = report.to_json()["results"]
    assert isinstance(results, list)
    assert [(r["passed"], r["verdict"]) for r in results] == [(False, "fail")]


def test_expect_of_a_call_never_made_shows_the_nearest_or_similar_names() -> None:
    """The nearest calls are the first three of the name wanted, each with why it is not a
    match; a name the trace lacks gets the three closest names it has."""
    report = check(WRITES, expect=["write(2, ...)", "getuid"])
    near, named = report.results
    assert (near.verdict, near.summary) == ("fail", "no call matched")
    assert shown(near) == [
        "nearest calls:",
        'line 3 pid 100: write(1, "a", 1) = -1 EPIPE (Broken pipe)   (argument 1 is 1, not 2)',
        'line 4 pid 100: write(1, "0", 1) = 1   (argument 1 is 1, not 2)',
        'line 5 pid 100: write(1, "1", 1) = 1   (argument 1 is 1, not 2)',
    ]
    assert (named.verdict, named.summary) == ("fail", "no call matched")
    assert shown(named) == [
        "the trace has no getuid or getuid32 call at all; calls with similar names: geteuid, getpid, getgid"
    ]


def test_forbid_that_holds_keeps_what_its_name_matches() -> None:
    """``open`` matches openat too: the note says so even when nothing matched."""
    (result,) = check(WRITES, forbid=["open"]).results
    assert (result.rule, result.verdict, result.summary) == ("--forbid open", "pass", "no call matched")
    assert shown(result) == [
        "note: open matches the open syscall and openat: glibc's open() calls openat on x86_64"
    ]


# ---- calls strace cut short: neither a match nor a miss ----

CUT = 'write(1, "0000"..., 60) = 60'
CUT_FAILED = 'write(1, "0000"..., 60) = -1 EPIPE (Broken pipe)'


def test_expect_is_undecided_by_the_cut_calls_that_worked() -> None:
    """A failed call is no call --expect asks for: the count names only the two that
    worked, though all three are shown."""
    lines = [*START, f"100 {CUT}", f"100 {CUT_FAILED}", f"100 {CUT}", *END]
    (result,) = check(lines, expect=[SECRET]).results
    assert (result.rule, result.verdict, result.passed) == (f"--expect {SECRET}", "undecided", False)
    assert result.summary == undecided(2)
    assert shown(result) == [
        "seen: no call matched",
        f"line 3 pid 100: {CUT}{MAY_NOTE}",
        f"line 4 pid 100: {CUT_FAILED}{MAY_NOTE}",
        f"line 5 pid 100: {CUT}{MAY_NOTE}",
    ]


def test_cut_calls_that_all_failed_are_the_nearest_calls() -> None:
    lines = [*START, *[f"100 {CUT_FAILED}"] * 4, *END]
    (result,) = check(lines, expect=[SECRET]).results
    assert (result.verdict, result.summary) == ("fail", "no call matched")
    assert shown(result) == [
        "nearest calls:",
        *[f"line {3 + i} pid 100: {CUT_FAILED}{MAY_NOTE}" for i in range(3)],
    ]


# two calls that match, four strace cut short (one of them failed: --expect-count counts attempts)
COUNTED = [
    *START,
    *['100 write(1, "PASSWORD=x\\n", 11) = 11'] * 2,
    *[f"100 {CUT}"] * 3,
    f"100 {CUT_FAILED}",
    *END,
]
MATCHED = [
    'line 3 pid 100: write(1, "PASSWORD=x\\n", 11) = 11',
    'line 4 pid 100: write(1, "PASSWORD=x\\n", 11) = 11',
]
MAYBE = [
    *[f"line {5 + i} pid 100: {CUT}{MAY_NOTE}" for i in range(3)],
    f"line 8 pid 100: {CUT_FAILED}{MAY_NOTE}",
]


@pytest.mark.parametrize(
    ("count", "verdict"),
    [
        (">=2", "pass"),  # 2 to 6 calls: every count keeps it
        ("=3", "undecided"),  # 3, the fewest the cut calls allow, is the one wanted
        ("=4", "undecided"),  # neither end of 3..6 is, one inside is
        (">=5", "undecided"),  # only the highest counts they allow reach it
        ("<=6", "pass"),
        ("<2", "fail"),  # two seen already: more cannot help
    ],
)
def test_expect_count_is_undecided_only_where_the_cut_calls_could_change_it(count: str, verdict: str) -> None:
    (result,) = check(COUNTED, expect_count=[f"{count} {SECRET}"]).results
    assert (result.rule, result.verdict) == (f"--expect-count {count} {SECRET}", verdict)
    seen = f"2 matching calls (wanted {count[:-1].strip()} {count[-1]})"
    if verdict == "undecided":
        assert (result.summary, shown(result)) == (undecided(4), [f"seen: {seen}", *MATCHED, *MAYBE])
    else:
        assert (result.summary, shown(result)) == (seen, MATCHED)


# ---- --order: each process judged at its first B ----

BEFORE = 'openat(*, "/etc/*", O_CLOEXEC)'
AFTER = "fcntl(*, F_SETFD, FD_CLOEXEC)"
ORDER = f"{BEFORE} -> {AFTER}"
NOT_BEFORE = f"  ... with no {BEFORE} before it in pid {{}}"


def clone(pid: int) -> str:
    flags = "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
    return f"100 clone(child_stack=NULL, flags={flags}, child_tidptr=0x7f3a) = {pid}"


def opened(pid: int) -> str:
    return f'{pid} openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3'


def flagged(pid: int) -> str:
    return f"{pid} fcntl(3, F_SETFD, FD_CLOEXEC) = 0"


def at(line: int, logged: str) -> str:
    """A log line as evidence renders it."""
    pid, call = logged.split(" ", 1)
    return f"line {line} pid {pid}: {call}"


def ends(pid: int) -> list[str]:
    return [f"{pid} exit_group(0) = ?", f"{pid} +++ exited with 0 +++"]


def test_order_in_order_shows_five_pairs_and_judges_a_process_once() -> None:
    """The parent's openat without O_CLOEXEC and its F_GETFD are neither A nor B (a flag
    the call does not name is looked up among the constants); its second F_SETFD comes
    after its first B and is not judged again. Six children in order: five pairs shown."""
    lines = [
        *START,
        '100 openat(AT_FDCWD, "/etc/hosts", O_RDONLY) = 3',
        "100 fcntl(3, F_GETFD) = 0",
        '100 openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 4',
        "100 fcntl(4, F_SETFD, FD_CLOEXEC) = 0",
        "100 fcntl(3, F_SETFD, FD_CLOEXEC) = 0",
    ]
    for pid in range(101, 107):
        lines += [clone(pid), opened(pid), flagged(pid), *ends(pid)]
    lines += END
    (result,) = check(lines, order=[ORDER]).results
    assert (result.rule, result.verdict, result.summary) == (f"--order {ORDER}", "pass", "in order")
    assert shown(result) == [
        'line 5 pid 100: openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 4',
        "line 6 pid 100: fcntl(4, F_SETFD, FD_CLOEXEC) = 0",
        *[
            at(9 + 5 * i + k, call(pid))
            for i, pid in enumerate(range(101, 105))
            for k, call in enumerate((opened, flagged))
        ],
    ]


def test_order_out_of_order_shows_five_processes() -> None:
    lines = [*START]
    for pid in range(101, 107):
        lines += [clone(pid), flagged(pid), *ends(pid)]
    lines += END
    (result,) = check(lines, order=[ORDER]).results
    assert (result.verdict, result.summary) == ("fail", "out of order in 6 processes")
    assert shown(result) == [
        line
        for i, pid in enumerate(range(101, 106))
        for line in (at(4 + 4 * i, flagged(pid)), NOT_BEFORE.format(pid))
    ]


def test_order_takes_a_reused_pid_for_another_process() -> None:
    """A pid that ended is forgotten: its A does not count for the process that gets the
    pid next, nor does its having been judged keep the new one from being judged."""
    lines = [
        *START,
        clone(101),
        opened(101),
        flagged(101),
        *ends(101),
        clone(102),
        opened(102),  # never its B: ends waiting
        *ends(102),
        clone(101),
        flagged(101),
        *ends(101),
        clone(102),
        flagged(102),
        *ends(102),
        *END,
    ]
    (result,) = check(lines, order=[ORDER]).results
    assert (result.verdict, result.summary) == ("fail", "out of order in 2 processes")
    assert shown(result) == [
        "line 13 pid 101: fcntl(3, F_SETFD, FD_CLOEXEC) = 0",
        NOT_BEFORE.format(101),
        "line 17 pid 102: fcntl(3, F_SETFD, FD_CLOEXEC) = 0",
        NOT_BEFORE.format(102),
    ]


def test_order_does_not_judge_the_commands_own_exec() -> None:
    (result,) = check([*START, *END], order=["openat -> execve"]).results
    assert (result.verdict, result.summary) == ("fail", "no call matched execve")
    assert shown(result) == [
        "not judged: the command's own first exec (line 1 pid 100: "
        'execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0): nothing the command does can come before it'
    ]


def test_order_is_undecided_by_a_cut_call_that_may_be_its_a() -> None:
    lines = [*START, f"100 {CUT}", "100 close(1) = 0", '100 write(2, "->", 2) = 2', *END]
    rule = f"{SECRET} -> close"
    cut, arrow = check(lines, order=[rule, 'close -> write(*, "->")']).results
    assert (cut.rule, cut.verdict, cut.summary) == (f"--order {rule}", "undecided", undecided(1))
    assert shown(cut) == [
        "seen: out of order in 1 process",
        "line 4 pid 100: close(1) = 0",
        f"  ... with no {SECRET} before it in pid 100",
        f"line 3 pid 100: {CUT}{MAY_NOTE}",
    ]
    # the arrow that splits the rule is the first: one inside the second pattern's string is its own
    assert (arrow.verdict, arrow.summary) == ("pass", "in order")


@pytest.mark.parametrize(
    ("text", "problem", "column"),
    [
        ("openat -> ", "expected two patterns around '->'", 7),
        (" -> close", "expected two patterns around '->'", 1),
        ("openat close ", "expected '->' between two patterns", 12),
    ],
)
def test_order_that_does_not_read_says_where(text: str, problem: str, column: int) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        Order(text)
    assert str(caught.value).splitlines() == [
        f"--order {text!r}: {problem}",
        f"    {text}",
        "    " + " " * column + "^",
        "  expected PATTERN -> PATTERN",
        "  e.g. pipe2 -> fcntl(*, F_SETFD, FD_CLOEXEC)",
    ]
