"""--no-fd-leaks and --allow-fd as books: hand-written logs whose crossings have every part
a report can show (a duplicate, a flag cleared by fcntl, a racing fork, a log's name,
passes on purpose), pinned whole in the text and in the JSON report; and the small pieces
around them (AllowFd specs, evidence lines, call text, exit status)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import sysprobe
from sysprobe import RuleSet
from sysprobe._kernel.syscalls import TRACKED
from sysprobe._parsing.lineparse import parse_lines
from sysprobe._pipeline import Analysis
from sysprobe._rules.rules import (
    AllowFd,
    Cloexec,
    ExpectExit,
    Leak,
    NoFdLeaks,
    Rule,
    RuleResult,
    leaks_of,
)
from sysprobe.errors import RuleSyntaxError

from ..helpers import RACED_COPY


def results(log: str, rules: list[Rule]) -> list[RuleResult]:
    return Analysis(rules).feed_all(parse_lines(log.splitlines())).finish("book").results


def texts(result: RuleResult) -> list[str]:
    return [e if isinstance(e, str) else e.render() for e in result.evidence]


# ---- one crossing with every part, in the JSON report ----

# app (100) has two threads: 101 clears close-on-exec on fd 7 (a dup3 of fd 3) and 103
# dup2's a pipe over fd 8, both in flight while 100 forks 102, whose first line comes
# before either returns. 102's copy may hold fd 7 with or without the flag (it may have
# leaked); fd 8 is the log or the pipe, neither with the flag (it leaked either way);
# fd 4 never had the flag and was open long before (it leaked, nothing raced it).
APP_LOG = """\
100 execve("/usr/bin/app", ["app", "--serve"], 0x7ffd /* 3 vars */) = 0
100 brk(NULL) = 0x55d0c000
100 openat(AT_FDCWD, "/var/lib/app/state.db", O_RDWR|O_CLOEXEC) = 3</var/lib/app/state.db>
100 openat(AT_FDCWD, "/etc/app.conf", O_RDONLY) = 4</etc/app.conf>
100 pipe2([5<pipe:[4242]>, 6<pipe:[4242]>], O_CLOEXEC) = 0
100 dup3(3</var/lib/app/state.db>, 7, O_CLOEXEC) = 7</var/lib/app/state.db>
100 openat(AT_FDCWD, "/var/log/app.log", O_WRONLY|O_CREAT|O_APPEND, 0644) = 8</var/log/app.log>
100 clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, \
parent_tid=[101]) = 101
100 clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, \
parent_tid=[103]) = 103
100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>
101 fcntl(7</var/lib/app/state.db>, F_SETFD, 0 <unfinished ...>
103 dup2(5<pipe:[4242]>, 8</var/log/app.log> <unfinished ...>
102 set_robust_list(0x7f, 24) = 0
101 <... fcntl resumed>) = 0
103 <... dup2 resumed>) = 8<pipe:[4242]>
100 <... clone resumed>, child_tidptr=0x7f) = 102
102 execve("/usr/bin/helper", ["helper"], 0x7ffd /* 3 vars */) = 0
102 exit_group(0) = ?
102 +++ exited with 0 +++
101 exit(0) = ?
101 +++ exited with 0 +++
103 exit(0) = ?
103 +++ exited with 0 +++
100 exit_group(0) = ?
100 +++ exited with 0 +++
"""
# a second log checked along: with several logs, every place carries its log's name
OTHER_LOG = """\
200 execve("/usr/bin/true", ["true"], 0x7ffd /* 3 vars */) = 0
200 brk(NULL) = 0x55d0c000
200 exit_group(0) = ?
200 +++ exited with 0 +++
"""

CONF_TEXT = (
    "fd 4 (/etc/app.conf) leaked into pid 102 (/usr/bin/helper) at app.log:17; "
    "created by openat at app.log:4 in pid 100"
)
STATE_TEXT = (
    "fd 7 (/var/lib/app/state.db) may have leaked (made inheritable by pid 101 while pid 100 forked) "
    "into pid 102 (/usr/bin/helper) at app.log:17; created by dup3 at app.log:6 in pid 100 "
    "(duplicate of fd 3); it copies a descriptor created by openat at app.log:3 in pid 100; "
    "close-on-exec cleared by fcntl(F_SETFD) at app.log:11 in pid 101; clone at app.log:10 in pid 100 "
    "copied the table while fcntl at app.log:11 in pid 101 was in flight"
)
# either state of fd 8 crosses: certain, though a race is there to tell
LOG_TEXT = (
    "fd 8 (/var/log/app.log) leaked into pid 102 (/usr/bin/helper) at app.log:17; "
    "created by openat at app.log:7 in pid 100; clone at app.log:10 in pid 100 copied the table "
    "while dup2 at app.log:12 in pid 103 was in flight"
)
CLONE = {"call": "clone", "pid": 100, "line": 10, "file": "app.log"}
CROSSING = {"pid": 102, "program": "/usr/bin/helper", "exec": {"line": 17, "file": "app.log"}}
APP_LEAKS: list[dict[str, Any]] = [
    {
        "fd": 4,
        "kind": "file",
        "name": "/etc/app.conf",
        "certain": True,
        "deliberate": False,
        **CROSSING,
        "created_by": {"call": "openat", "pid": 100, "line": 4, "file": "app.log"},
        "copies": None,
        "cloexec_cleared_by": None,
        "race": None,
        "text": CONF_TEXT,
    },
    {
        "fd": 7,
        "kind": "file",
        "name": "/var/lib/app/state.db",
        "certain": False,
        "deliberate": False,
        **CROSSING,
        "created_by": {
            "call": "dup3",
            "pid": 100,
            "line": 6,
            "file": "app.log",
            "detail": "duplicate of fd 3",
        },
        "copies": {"call": "openat", "pid": 100, "line": 3, "file": "app.log"},
        "cloexec_cleared_by": {"call": "fcntl(F_SETFD)", "pid": 101, "line": 11, "file": "app.log"},
        "race": {
            "copy": CLONE,
            "in_flight": [{"call": "fcntl", "pid": 101, "line": 11, "file": "app.log"}],
            "what": "made inheritable",
        },
        "text": STATE_TEXT,
    },
    {
        "fd": 8,
        "kind": "file",
        "name": "/var/log/app.log",
        "certain": True,
        "deliberate": False,
        **CROSSING,
        "created_by": {"call": "openat", "pid": 100, "line": 7, "file": "app.log"},
        "copies": None,
        "cloexec_cleared_by": None,
        "race": {
            "copy": CLONE,
            "in_flight": [{"call": "dup2", "pid": 103, "line": 12, "file": "app.log"}],
            "what": "replaced",
        },
        "text": LOG_TEXT,
    },
]


def test_every_part_of_a_crossing_reaches_the_json_report(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text(APP_LOG)
    (tmp_path / "other.log").write_text(OTHER_LOG)
    report = sysprobe.parse([tmp_path / "app.log", tmp_path / "other.log"]).check(RuleSet(no_fd_leaks=True))
    (result,) = report.results
    assert (result.rule, result.verdict, result.final) == ("--no-fd-leaks", "fail", True)
    # two of three proven: the uncertain one is counted apart
    assert result.summary == "3 descriptors leaked (1 of them may have: the trace cannot tell)"
    assert result.evidence == [CONF_TEXT, STATE_TEXT, LOG_TEXT]
    assert report.to_json()["results"] == [
        {
            "rule": "--no-fd-leaks",
            "verdict": "fail",
            "passed": False,
            "final": True,
            "summary": result.summary,
            "undecided": None,
            "evidence": [
                {"text": text, "where": None, "pid": None, "call": None, "note": None}
                for text in (CONF_TEXT, STATE_TEXT, LOG_TEXT)
            ],
            "leaks": APP_LEAKS,
            "passes": [],
        }
    ]
    assert result.passes == []


def test_a_crossing_only_a_race_may_have_made_says_the_trace_cannot_tell() -> None:
    log = RACED_COPY + '102 execve("/bin/true", ["true"], 0x7ffd /* 3 vars */) = 0\n'
    (result,) = results(log, RuleSet(no_fd_leaks=True).build())
    assert (result.passed, result.summary) == (
        False,
        "1 descriptor may have leaked (the trace cannot tell: see below)",
    )
    assert result.evidence == [
        "fd 3 (/etc/hostname) may have leaked (created by pid 101 while pid 100 forked) into pid 102 "
        "(/bin/true) at line 8; created by openat at line 4 in pid 101; clone at line 3 in pid 100 "
        "copied the table while openat at line 4 in pid 101 was in flight"
    ]
    assert result.passes == []


# ---- passes on purpose, leaks and allowed crossings side by side ----

# The child clears close-on-exec of the pipe's read end and dup2's the lock onto fd 8
# itself, as pass_fds does: both passed on purpose. The log was simply never marked.
# The worker is exec'd by a relative path: its program has no directory part.
SUPERVISOR_LOG = """\
100 execve("/usr/bin/supervisor", ["supervisor"], 0x7ffd /* 3 vars */) = 0
100 brk(NULL) = 0x55d0c000
100 openat(AT_FDCWD, "/run/supervisor/sock.lock", O_RDWR|O_CLOEXEC) = 3</run/supervisor/sock.lock>
100 pipe2([4<pipe:[777]>, 5<pipe:[777]>], O_CLOEXEC) = 0
100 openat(AT_FDCWD, "/var/log/supervisor.log", O_WRONLY|O_APPEND) = 6</var/log/supervisor.log>
100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 101
101 fcntl(4<pipe:[777]>, F_SETFD, 0) = 0
101 dup2(3</run/supervisor/sock.lock>, 8) = 8</run/supervisor/sock.lock>
101 execve("worker", ["worker"], 0x7ffd /* 3 vars */) = 0
101 exit_group(0) = ?
101 +++ exited with 0 +++
100 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=101, si_uid=1000, si_status=0, \
si_utime=0, si_stime=0} ---
100 exit_group(0) = ?
100 +++ exited with 0 +++
"""
PIPE_PASS = (
    "fd 4 (pipe:[777]) passed on purpose into pid 101 (worker) at line 9: "
    "close-on-exec cleared by fcntl(F_SETFD) at line 7 in pid 101"
)
LOCK_PASS = (
    "fd 8 (/run/supervisor/sock.lock) passed on purpose into pid 101 (worker) at line 9: "
    "placed there by dup2 at line 8 in pid 101 (duplicate of fd 3); "
    "it copies a descriptor created by openat at line 3 in pid 100"
)
LOG_LEAK = (
    "fd 6 (/var/log/supervisor.log) leaked into pid 101 (worker) at line 9; "
    "created by openat at line 5 in pid 100"
)
SUPERVISOR_CROSSING = {"certain": True, "pid": 101, "program": "worker", "exec": {"line": 9}}
PIPE_JSON = {
    "fd": 4,
    "kind": "pipe",
    "name": "pipe:[777]",
    "deliberate": True,
    **SUPERVISOR_CROSSING,
    "created_by": {"call": "pipe2", "pid": 100, "line": 4},
    "copies": None,
    "cloexec_cleared_by": {"call": "fcntl(F_SETFD)", "pid": 101, "line": 7},
    "race": None,
    "text": PIPE_PASS,
}
LOCK_JSON = {
    "fd": 8,
    "kind": "file",
    "name": "/run/supervisor/sock.lock",
    "deliberate": True,
    **SUPERVISOR_CROSSING,
    "created_by": {"call": "dup2", "pid": 101, "line": 8, "detail": "duplicate of fd 3"},
    "copies": {"call": "openat", "pid": 100, "line": 3},
    "cloexec_cleared_by": None,
    "race": None,
    "text": LOCK_PASS,
}
LOG_JSON = {
    "fd": 6,
    "kind": "file",
    "name": "/var/log/supervisor.log",
    "deliberate": False,
    **SUPERVISOR_CROSSING,
    "created_by": {"call": "openat", "pid": 100, "line": 5},
    "copies": None,
    "cloexec_cleared_by": None,
    "race": None,
    "text": LOG_LEAK,
}
PASSES_SHOWN = ["passed on purpose (2):", f"  {PIPE_PASS}", f"  {LOCK_PASS}"]


@pytest.mark.parametrize(
    ("rules", "label", "summary", "evidence", "leaks", "passes"),
    [
        (
            RuleSet(no_fd_leaks=True),
            "--no-fd-leaks",
            "1 descriptor leaked",
            [LOG_LEAK, *PASSES_SHOWN],
            [LOG_JSON],
            [PIPE_JSON, LOCK_JSON],
        ),
        (  # None: the rule built with the API's defaults, where passes are not leaks
            None,
            "--no-fd-leaks",
            "1 descriptor leaked",
            [LOG_LEAK, *PASSES_SHOWN],
            [LOG_JSON],
            [PIPE_JSON, LOCK_JSON],
        ),
        (  # the file name of a program exec'd by a relative path
            RuleSet(no_fd_leaks=True, allow_fds=["worker:6"]),
            "--no-fd-leaks --allow-fd worker:6",
            "no leaks across 2 execs; 2 descriptors passed on purpose",
            ["allowed: fd 6 (/var/log/supervisor.log)", *PASSES_SHOWN],
            [],
            [PIPE_JSON, LOCK_JSON],
        ),
        (  # an allowance for another program allows nothing here
            RuleSet(no_fd_leaks=True, allow_fds=["server:3-8", "9"]),
            "--no-fd-leaks --allow-fd server:3-8 --allow-fd 9",
            "1 descriptor leaked",
            [LOG_LEAK, *PASSES_SHOWN],
            [LOG_JSON],
            [PIPE_JSON, LOCK_JSON],
        ),
        (
            RuleSet(no_fd_leaks=True, count_passes=True),
            "--no-fd-leaks --count-passes",
            "3 descriptors leaked",
            [PIPE_PASS, LOG_LEAK, LOCK_PASS],
            [PIPE_JSON, LOG_JSON, LOCK_JSON],
            [],
        ),
    ],
)
def test_passes_on_purpose_are_shown_apart_from_leaks(
    rules: RuleSet | None,
    label: str,
    summary: str,
    evidence: list[str],
    leaks: list[dict[str, Any]],
    passes: list[dict[str, Any]],
) -> None:
    (result,) = results(SUPERVISOR_LOG, [NoFdLeaks()] if rules is None else rules.build())
    assert (result.rule, result.passed, result.final, result.summary) == (label, not leaks, True, summary)
    assert texts(result) == evidence
    assert result.leaks is not None and result.passes is not None
    assert [leak.to_json() for leak in result.leaks] == leaks
    assert [p.to_json() for p in result.passes] == passes


def test_past_the_shown_passes_and_allowed_crossings_the_rest_are_counted() -> None:
    """Six allowed crossings show five; 51 passes show 50 and the count of the rest."""
    lines = [
        '100 execve("/usr/bin/pool", ["pool"], 0x7ffd /* 3 vars */) = 0',
        "100 brk(NULL) = 0x55d0c000",
    ]
    lines += [f'100 openat(AT_FDCWD, "/var/log/pool-{fd}.log", O_WRONLY) = {fd}' for fd in range(3, 9)]
    lines += [f'100 openat(AT_FDCWD, "/srv/pool/{fd}", O_RDONLY|O_CLOEXEC) = {fd}' for fd in range(9, 60)]
    lines.append("100 clone(child_stack=NULL, flags=SIGCHLD) = 101")
    lines += [f"101 fcntl({fd}, F_SETFD, 0) = 0" for fd in range(9, 60)]
    lines += [
        '101 execve("/usr/bin/shard", ["shard"], 0x7ffd /* 3 vars */) = 0',
        "101 +++ exited with 0 +++",
        "100 +++ exited with 0 +++",
    ]
    (result,) = results("\n".join(lines), RuleSet(no_fd_leaks=True, allow_fds=["3-8"]).build())
    assert (result.rule, result.passed) == ("--no-fd-leaks --allow-fd 3-8", True)
    assert result.summary == "no leaks across 2 execs; 51 descriptors passed on purpose"
    shown = texts(result)
    assert shown[:6] == [f"allowed: fd {fd} (/var/log/pool-{fd}.log)" for fd in range(3, 8)] + [
        "passed on purpose (51):"
    ]
    assert shown[6] == (
        "  fd 9 (/srv/pool/9) passed on purpose into pid 101 (/usr/bin/shard) at line 112: "
        "close-on-exec cleared by fcntl(F_SETFD) at line 61 in pid 101"
    )
    assert len(shown) == 57 and shown[-1] == "  ... and 1 more"
    assert result.passes is not None and [p.fd for p in result.passes] == list(range(9, 59))


def test_the_trace_api_leaves_out_passes_unless_counted(tmp_path: Path) -> None:
    log = tmp_path / "supervisor.log"
    log.write_text(SUPERVISOR_LOG)
    model = sysprobe.parse(log).model
    (leak,) = leaks_of(model)
    assert leak.to_json() == LOG_JSON
    assert leaks_of(model, ["worker:6"]) == []
    assert [leak.fd for leak in leaks_of(model, ["server:6"])] == [6]
    assert [(leak.fd, leak.deliberate) for leak in leaks_of(model, count_passes=True)] == [
        (4, True),
        (6, False),
        (8, True),
    ]
    # a Leak made without saying is a leak, not a pass
    bare = Leak(leak.descriptor, leak.exec)
    assert (bare.deliberate, bare.describe()) == (False, LOG_LEAK)


# ---- --allow-fd ----


@pytest.mark.parametrize(
    ("spec", "parsed", "shown"),
    [
        (0, AllowFd(0, 0), "0"),
        (3, AllowFd(3, 3), "3"),
        ("3-8", AllowFd(3, 8), "3-8"),
        ("python3:3-8", AllowFd(3, 8, "python3"), "python3:3-8"),
        ("/usr/bin/*:5", AllowFd(5, 5, "/usr/bin/*"), "/usr/bin/*:5"),
    ],
)
def test_an_allow_fd_spec_reads_and_prints_back(spec: int | str, parsed: AllowFd, shown: str) -> None:
    allow = AllowFd.parse(spec)
    assert (allow, allow.program, str(allow)) == (parsed, parsed.program, shown)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (-1, "--allow-fd -1: a descriptor number is not negative"),
        ("x", "--allow-fd 'x': expected N, N-M, PROGRAM:N or PROGRAM:N-M (e.g. 3, 'python3:3-8')"),
        (":3", "--allow-fd ':3': expected N, N-M, PROGRAM:N or PROGRAM:N-M (e.g. 3, 'python3:3-8')"),
        ("8-3", "--allow-fd '8-3': the range ends before it starts"),
    ],
)
def test_a_bad_allow_fd_spec_says_what_is_wrong(spec: int | str, message: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        AllowFd.parse(spec)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (RuleSet(allow_fds=[3]), "--allow-fd goes with --no-fd-leaks"),
        (RuleSet(count_passes=True), "--count-passes goes with --no-fd-leaks"),
    ],
)
def test_leak_options_without_no_fd_leaks_are_refused(rules: RuleSet, message: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        rules.build()
    assert str(caught.value) == message


# ---- what a rule needs from the trace ----


def test_a_model_rule_needs_the_calls_the_model_reads() -> None:
    assert NoFdLeaks().needs() == set(TRACKED)
    assert Cloexec("pipe2").needs() == {"pipe2"} | TRACKED
    # a log of execve and exit_group only (-e trace=execve): no leak seen proves nothing
    log = """\
100 execve("/usr/bin/app", ["app"], 0x7ffd /* 3 vars */) = 0
100 exit_group(0) = ?
100 +++ exited with 0 +++
"""
    (result,) = results(log, RuleSet(no_fd_leaks=True).build())
    assert result.verdict == "undecided"
    assert result.evidence[0] == "seen: no leaks across 1 exec"


# ---- evidence lines ----


def payload(n: int) -> str:
    """``n`` characters that tell every position apart: "<0000><0001>..." cut at ``n``."""
    return "".join(f"<{i:04d}>" for i in range(n // 6 + 1))[:n]


def test_evidence_of_a_log_without_pids_and_of_long_calls() -> None:
    """A log of strace without -f has no pids; a call past 400 characters is shown cut."""
    just = payload(377)  # the call's text is 400 characters: shown whole
    over = payload(378)  # 401: its first 340 and last 50 characters
    log = f"""\
execve("/usr/bin/app", ["app"], 0x7ffd /* 3 vars */) = 0
brk(NULL) = 0x55d0c000
write(1, "{just}", 377) = 377
write(1, "{over}", 378) = 378
exit_group(0) = ?
+++ exited with 0 +++
"""
    (result,) = results(log, RuleSet(expect=["write"]).build())
    assert texts(result) == [
        f'line 3: write(1, "{just}", 377) = 377',
        f'line 4: write(1, "{over[:330]} [...] ><0057><0058><0059><0060><0061><0062>", 378) = 378',
    ]
    assert over[:330].endswith("<0053><0054>")


def test_a_call_the_log_cut_in_its_second_half_shows_no_result() -> None:
    """strace was stopped while it printed the resumed half: the call has no result, and
    was not left unfinished either."""
    log = (
        '100 execve("/usr/bin/app", ["app"], 0x7ffd /* 3 vars */) = 0\n'
        "100 brk(NULL) = 0x55d0c000\n"
        "100 read(0, <unfinished ...>\n"
        '100 <... read resumed>"abc", 4096'
    )
    (result,) = results(log, RuleSet(forbid=["read"]).build())
    assert texts(result) == ['line 3+4 pid 100: read(0, "abc", 4096)']


def test_a_numbered_call_whose_path_was_cut_may_be_a_cloexec_creation() -> None:
    """Under -X raw the dirfd is a number the pattern names (AT_FDCWD is -100), and the
    path was cut at -s: the call may be one of the pattern's, the verdict waits."""
    log = """\
100 execve("/usr/bin/app", ["app"], 0x7ffd /* 3 vars */) = 0
100 brk(NULL) = 0x55d0c000
100 openat(-100, "/var/cache/app/0123456789abcdef0123"..., 0x80000) = 3
100 exit_group(0) = ?
100 +++ exited with 0 +++
"""
    pattern = 'openat(AT_FDCWD, "/var/cache/app/0123456789abcdef0123456789abcdef")'
    (result,) = results(log, RuleSet(cloexec=[pattern]).build())
    assert (result.verdict, result.summary) == (
        "undecided",
        "1 call may match: the trace shows only part of its arguments (a string cut at strace's -s, "
        "a struct strace abbreviated with ...); capture the trace with a larger -s (and -v)",
    )
    assert texts(result) == [
        "seen: 0 descriptors from 0 calls",
        'line 3 pid 100: openat(-100, "/var/cache/app/0123456789abcdef0123"..., 0x80000) = 3'
        "   (may match: part of it was not shown)",
    ]


# ---- --expect-exit and a verdict's fields ----


def test_an_exit_status_given_with_the_rule_is_the_one_judged() -> None:
    # the log's command exits 1, the rule was told 139 (a tracer's word): 139 is judged
    log = '100 execve("/usr/bin/app", ["app"], 0x7ffd /* 3 vars */) = 0\n100 +++ exited with 1 +++\n'
    (told,) = results(log, [ExpectExit(139, 139)])
    assert (told.rule, told.passed, told.summary, told.final) == (
        "--expect-exit 139",
        True,
        "exit status 139",
        True,
    )
    (wrong,) = results(log, RuleSet(expect_exit=0).build())
    assert (wrong.rule, wrong.passed, wrong.summary) == ("--expect-exit 0", False, "exit status 1, not 0")


def test_a_verdict_made_undecided_says_so() -> None:
    result = RuleResult("--expect sendfile", False, "no call matched", undecided="sendfile is not traced")
    assert (result.verdict, result.undecided, result.final, result.passes) == (
        "undecided",
        "sendfile is not traced",
        True,
        None,
    )
