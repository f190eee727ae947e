"""How far a verdict reaches: failed calls and `--expect`, rules a trace cannot decide
(calls it does not hold, lines it could not read, a run cut short), the report's exit
code, text and JSON, and the raw copy's first line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sysprobe
from sysprobe import RuleSet
from sysprobe._parsing.lineparse import parse_lines
from sysprobe._pipeline import Analysis
from sysprobe._report.report import Report
from sysprobe._rules.coverage import FULL
from sysprobe._rules.rules import Count, RuleResult, needed_string_limit, needed_verbose
from sysprobe._tracing.selection import LOG_HEADER
from sysprobe.errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_RULE_FAILED

from ..helpers import check
from ..helpers import sysprobe as run_sysprobe

START = '100 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0'
CALLS = """\
100 sendfile(4, 5, NULL, 3) = -1 EINVAL (Invalid argument)
100 sendfile(4, 5, NULL, 3) = -1 EBADF (Bad file descriptor)
100 sendfile(4, 5, NULL, 3) = -1 EINVAL (Invalid argument)
100 epoll_create1(EPOLL_CLOEXEC) = -1 ENOSYS (Function not implemented) (INJECTED)
100 read(3, <unfinished ...>
100 +++ killed by SIGKILL +++
"""


def judge(lines: str, **rules: object) -> RuleResult:
    analysis = Analysis(RuleSet(**rules).build()).feed_all(parse_lines([START, *lines.splitlines()]))  # type: ignore[arg-type]
    (result,) = analysis.finish("t").results
    return result


@pytest.mark.parametrize(
    ("rules", "verdict", "summary"),
    [
        # --expect without a result condition asks for a call that worked
        ({"expect": ["sendfile"]}, "fail", "matched only failed calls (3: EINVAL ×2, EBADF)"),
        ({"expect": ["epoll_create1(EPOLL_CLOEXEC)"]}, "fail", "matched only failed calls (1: ENOSYS)"),
        ({"expect": ["sendfile = -1"]}, "pass", "3 matching calls"),  # failures, asked for
        ({"expect": ["sendfile = -1 EBADF"]}, "pass", "1 matching call"),
        ({"expect": ["read"]}, "pass", "1 matching call"),  # no result: it never returned, nor failed
        # --forbid and --expect-count count attempts, and say how many failed
        ({"forbid": ["sendfile"]}, "fail", "3 matching calls, all failed"),
        ({"forbid": ["epoll_create1"]}, "fail", "1 matching call, which failed"),
        ({"expect_count": [">=1 sendfile"]}, "pass", "3 matching calls (wanted >= 1), all failed"),
        ({"expect_count": ["=3 sendfile = -1"]}, "pass", "3 matching calls (wanted = 3)"),
    ],
)
def test_failed_calls(rules: dict[str, list[str]], verdict: str, summary: str) -> None:
    result = judge(CALLS, **rules)
    assert (result.verdict, result.summary) == (verdict, summary)


def test_expect_shows_the_failed_calls_and_what_to_write() -> None:
    result = judge(CALLS, expect=["sendfile"])
    assert [e if isinstance(e, str) else e.render() for e in result.evidence] == [
        "line 2 pid 100: sendfile(4, 5, NULL, 3) = -1 EINVAL (Invalid argument)",
        "line 3 pid 100: sendfile(4, 5, NULL, 3) = -1 EBADF (Bad file descriptor)",
        "line 4 pid 100: sendfile(4, 5, NULL, 3) = -1 EINVAL (Invalid argument)",
        "a pattern without a result condition asks for a call that worked; to expect a failed one, "
        "say so: 'sendfile = -1'",
    ]
    worked = judge(CALLS + "200 sendfile(4, 5, NULL, 3) = 3\n", expect=["sendfile"])
    assert (worked.verdict, worked.summary) == ("pass", "1 matching call (3 more failed)")


def test_an_interrupted_call_neither_worked_nor_failed() -> None:
    restarted = (
        "100 read(3, 0x7ffd, 1) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)\n"
        "100 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=101} ---\n"
        '100 read(3, "x", 1) = 1\n'
    )
    assert judge(restarted, expect=["read"]).summary == "1 matching call"
    assert judge(restarted, forbid=["read"]).summary == "2 matching calls"
    only = judge(restarted.splitlines()[0] + "\n", expect=["read"])
    assert (only.verdict, only.summary) == ("fail", "matched only failed calls (1: ERESTARTSYS)")


@pytest.mark.parametrize(
    ("spec", "count", "settled"),
    [
        ("=2 x", 1, False),  # one more would pass
        ("=2 x", 3, True),  # more can only make it worse
        ("=2 x", 2, False),
        ("<=2 x", 3, True),
        ("<2 x", 2, True),
        ("<2 x", 1, False),
        (">=2 x", 2, True),
        (">=2 x", 1, False),
        (">0 x", 1, True),
        ("!=2 x", 3, True),
        ("!=2 x", 1, False),
        ("=0 x", 0, False),
    ],
)
def test_a_count_is_settled_when_more_calls_cannot_change_it(spec: str, count: int, settled: bool) -> None:
    rule = Count(spec.replace(" x", " read"))
    rule.count = count
    assert rule.settled(holes=True) is settled


def report_of(results: list[RuleResult], incomplete: list[str], *, timed_out: bool = False) -> Report:
    return Report("t", results, 0, 1, 1, incomplete, timed_out=timed_out)


@pytest.mark.parametrize(
    ("verdicts", "incomplete", "timed_out", "code"),
    [
        ([("pass", True)], [], False, EXIT_OK),
        ([("fail", True), ("pass", True)], [], False, EXIT_RULE_FAILED),
        ([("pass", False)], ["cut short"], False, EXIT_INCOMPLETE),
        ([("pass", False)], ["cut short"], True, 124),
        ([("fail", False)], ["cut short"], False, EXIT_INCOMPLETE),  # more trace could undo it
        ([("fail", True), ("undecided", False)], ["1 rule"], False, EXIT_RULE_FAILED),  # a final failure
        ([("fail", True)], ["cut short"], True, EXIT_RULE_FAILED),
        ([("undecided", False), ("pass", True)], ["1 rule"], False, EXIT_INCOMPLETE),
    ],
)
def test_the_exit_code(
    verdicts: list[tuple[str, bool]], incomplete: list[str], timed_out: bool, code: int
) -> None:
    results = []
    for verdict, final in verdicts:
        result = RuleResult("--rule", verdict == "pass", "said", final=final)
        if verdict == "undecided":
            result.undecide("cannot be decided: why")
        results.append(result)
    report = report_of(results, incomplete, timed_out=timed_out)
    assert report.exit_code == code
    assert report.passed is (code == EXIT_OK)
    assert report.verdict == {0: "passed", 1: "failed"}.get(code, "incomplete")


LEAK = """\
100 pipe2([3<pipe:[9]>, 4<pipe:[9]>], 0) = 0
100 execve("/bin/next", ["next"], 0x7ffe /* 3 vars */) = 0
"""


@pytest.mark.parametrize(
    ("holes", "rules", "code"),
    [
        (True, {"no_fd_leaks": True}, EXIT_INCOMPLETE),  # a missing line could be its close
        (True, {"forbid": ["pipe2"]}, EXIT_RULE_FAILED),  # a call seen stays seen
        (True, {"expect": ["sendfile"]}, EXIT_INCOMPLETE),  # it may be in a missing line
        # seen, so it stands (final), but a green needs the whole trace: never 0 over a hole
        (True, {"expect": ["pipe2"]}, EXIT_INCOMPLETE),
        (True, {"forbid": ["sendfile"]}, EXIT_INCOMPLETE),
        (False, {"forbid": ["sendfile"]}, EXIT_OK),  # the controls: the whole trace
        (False, {"no_fd_leaks": True}, EXIT_RULE_FAILED),
    ],
)
def test_unreadable_lines(holes: bool, rules: dict[str, object], code: int, tmp_path: Path) -> None:
    text = (
        START
        + "\n"
        + ("garbage line\n" if holes else "")
        + LEAK
        + "100 brk(NULL) = 0\n100 +++ exited with 0 +++\n"
    )
    log = tmp_path / "t.log"
    log.write_text(text)
    report = sysprobe.parse(log).check(RuleSet(**rules))  # type: ignore[arg-type]
    assert report.exit_code == code, report.text()
    if holes:
        assert report.incomplete[0] == (
            "1 line of the trace could not be read (line 2 (not a strace line)): what it holds is missing "
            "from every verdict"
        )
        assert report.unparsed == 1


LATE_LEAK = "import os, time; r, w = os.pipe2(0); os.spawnv(os.P_WAIT, '/bin/true', ['true']); time.sleep(30)"


@pytest.mark.parametrize(
    ("rule", "code", "says"),
    [
        # a leak seen before the timeout stays a leak: the red points at it
        ("--no-fd-leaks", EXIT_RULE_FAILED, "FAIL  --no-fd-leaks: 2 descriptors leaked"),
        # nothing seen yet proves nothing: the timeout's own code
        (
            "--forbid=sendfile",
            124,
            "UNDECIDED  --forbid sendfile: cannot be decided: it held on the partial trace",
        ),
    ],
)
def test_a_run_cut_short_by_its_timeout(rule: str, code: int, says: str, backend: str) -> None:
    done = check(rule, "--timeout", "2", "--", sys.executable, "-c", LATE_LEAK)
    assert done.returncode == code, done.stderr
    assert says in done.stderr
    assert (
        "warning: timed out after 2 s" in done.stderr and "the verdicts are on a partial trace" in done.stderr
    )


def test_a_blank_line_is_not_a_hole(tmp_path: Path) -> None:
    log = tmp_path / "t.log"
    log.write_text(START + "\n\n" + LEAK + "100 +++ exited with 0 +++\n")
    report = sysprobe.parse(log).check(RuleSet(expect=["pipe2"]))
    assert (report.exit_code, report.incomplete, report.unparsed) == (EXIT_OK, [], 0)


# ---- the calls a trace holds ----


@pytest.mark.parametrize(
    ("expression", "needs", "lacking"),
    [
        ("openat,close", {"openat"}, []),
        ("openat,close", {"sendfile", "sendfile64"}, ["sendfile"]),  # ABI variants once
        ("?fcntl", {"fcntl", "fcntl64"}, []),  # a name holds its variants
        ("%desc", {"close", "dup2"}, []),
        ("%network", {"sendmsg", "close"}, ["close"]),
        ("/^send", {"sendfile", "sendmsg", "recvmsg"}, ["recvmsg"]),
        ("!sendfile", {"openat", "sendfile"}, ["sendfile"]),
        ("all", {"openat"}, []),
        (
            "openat,%stat",
            {"newfstatat"},
            ["newfstatat"],
        ),  # a class sysprobe cannot resolve holds nothing sure
        ("openat", None, ["any call"]),
    ],
)
def test_coverage(expression: str, needs: set[str] | None, lacking: list[str]) -> None:
    assert FULL.but(expression, "the run traced").lacking(needs) == lacking
    assert FULL.lacking(needs) == []


def test_a_filtered_run_writes_what_it_traced_first(tmp_path: Path, backend: str) -> None:
    """The raw copy of a filtered run starts with the line that says which calls it holds;
    a full one is strace's text alone."""
    filtered, full = tmp_path / "filtered.log", tmp_path / "full.log"
    assert check("--no-fd-leaks", "-o", str(filtered), "--", "true").returncode == EXIT_OK
    assert check("--no-fd-leaks", "--full", "-o", str(full), "--", "true").returncode == EXIT_OK
    first = filtered.read_text().splitlines()[0]
    assert first.startswith(LOG_HEADER + "?accept,") and "?execve" in first and "?pipe2" in first
    assert not full.read_text().startswith("#")
    # read back: the header is no event and no unparsed line; rules on its calls decide
    for log in (filtered, full):
        report = sysprobe.parse(log).check(RuleSet(no_fd_leaks=True, expect=["execve"]))
        assert (report.exit_code, report.unparsed) == (EXIT_OK, 0), report.text()
    summary = run_sysprobe("parse", str(filtered))
    assert summary.returncode == 0 and "unparsed" not in summary.stdout


def test_the_header_is_read_in_every_log_of_several(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text(f"{LOG_HEADER}openat,?execve\n{START}\n100 +++ exited with 0 +++\n")
    b.write_text(f"{START.replace('100', '200')}\n200 +++ exited with 0 +++\n")
    done = check("--log", str(a), "--log", str(b), "--expect", "execve", "--forbid", "close")
    assert done.returncode == EXIT_INCOMPLETE, done.stderr
    assert (
        "close is not in the trace: line 1 of a.log says it holds only the calls of -e trace=openat,?execve"
        in (done.stderr)
    )
    assert "PASS  --expect execve" in done.stderr


# ---- the report: text and JSON ----


def test_the_json_report(tmp_path: Path) -> None:
    log, out = tmp_path / "t.log", tmp_path / "r.json"
    log.write_text(f"{LOG_HEADER}openat,?execve,?ptrace\n{START}\ngarbage\n100 +++ exited with 0 +++\n")
    done = check("--log", str(log), "--expect", "execve", "--forbid", "sendfile", "--json-report", str(out))
    assert done.returncode == EXIT_INCOMPLETE, done.stderr
    data = json.loads(out.read_text())
    assert {
        k: data[k] for k in ("verdict", "exit_code", "passed", "unparsed", "coverage", "degraded", "notes")
    } == {
        "verdict": "incomplete",
        "exit_code": 75,
        "passed": False,
        "unparsed": 1,
        "coverage": ["openat,?execve,?ptrace"],
        "degraded": False,
        "notes": [],
    }
    assert data["incomplete"] == [
        "1 line of the trace could not be read (line 3 (not a strace line)): what it holds is missing "
        "from every verdict",
        "1 rule cannot be decided on this trace: it does not hold every call it needs (below)",
    ]
    expect, forbid = data["results"]
    assert (expect["verdict"], expect["final"], expect["undecided"]) == (
        "pass",
        True,
        None,
    )  # seen: it stands
    assert forbid["verdict"] == "undecided" and forbid["undecided"].startswith(
        "cannot be decided: sendfile is not in the trace: the log's line 1 says it holds only"
    )
    assert [e["text"] for e in forbid["evidence"]] == ["seen: no call matched"]
    assert done.stderr.splitlines()[-1] == (
        "incomplete: 1 passed, 1 undecided of 2 rules on what the trace holds — "
        "not a verdict on the whole run"
    )


@pytest.mark.usefixtures("strace_ok")
def test_a_crash_the_trace_shows_is_a_complete_run() -> None:
    """strace ends itself with the signal that killed the command: that is no killed tracer."""
    done = check("--no-fd-leaks", "--expect-exit", "139", "--", "sh", "-c", "kill -SEGV $$")
    assert done.returncode == EXIT_OK, done.stderr
    assert "warning" not in done.stderr


# ---- --order and the command's own exec ----


def test_order_does_not_judge_the_commands_own_exec(backend: str) -> None:
    code = "import os; r, w = os.pipe(); os.execv('/bin/true', ['true'])"
    done = check("--order", "pipe2 -> execve", "--", sys.executable, "-c", code)
    assert done.returncode == EXIT_OK, done.stderr
    assert "PASS  --order pipe2 -> execve: in order" in done.stderr
    assert re.search(r"not judged: the command's own first exec \(line 1 pid \d+: execve\(", done.stderr)


# ---- --cloexec: a descriptor held until its process ends ----

HELD = """\
100 pipe2([3<pipe:[1]>, 4<pipe:[1]>], 0) = 0
100 clone(child_stack=NULL, flags=SIGCHLD) = 200
200 close(4<pipe:[1]>) = 0
200 +++ exited with 0 +++
100 close(3<pipe:[1]>) = 0
100 brk(NULL) = 0x5000
100 +++ killed by SIGTERM +++
"""


def test_cloexec_held_until_the_end_of_a_process() -> None:
    result = judge(HELD, cloexec=["pipe2"])
    assert (result.verdict, result.summary) == ("fail", "2 violations")
    # each descriptor once, at the first end of its life (the fork's copies share the creation)
    assert result.evidence == [
        "fd 4 (pipe:[1]) from pipe2 at line 2 in pid 100 closed at line 4 without close-on-exec",
        "fd 3 (pipe:[1]) from pipe2 at line 2 in pid 100 held until pid 200 exited at line 5 without "
        "close-on-exec",
    ]
    killed = judge(
        HELD.replace("100 close(3<pipe:[1]>) = 0\n", "").replace("200 close(4<pipe:[1]>) = 0\n", ""),
        cloexec=["pipe2"],
    )
    assert killed.evidence[-1] == (
        "fd 4 (pipe:[1]) from pipe2 at line 2 in pid 100 held until pid 200 exited at line 4 without "
        "close-on-exec"
    )


@pytest.mark.usefixtures("strace_ok")
def test_a_log_missing_a_process_is_incomplete(tmp_path: Path) -> None:
    """One file of an `strace -ff` set: the parent's clone made a child whose lines are in
    another file. What the child did is missing, so a rule that held is undecided."""
    done = subprocess.run(
        ["strace", "-ff", "-o", str(tmp_path / "t"), "sh", "-c", "exec 3</dev/null; /bin/true; exit 0"],
        capture_output=True,
        check=True,
    )
    files = sorted(tmp_path.glob("t.*"), key=lambda p: int(p.suffix[1:]))
    assert len(files) == 2, done.stderr
    parent, child = (str(f) for f in files)
    alone = check("--log", parent, "--no-fd-leaks")
    assert alone.returncode == EXIT_INCOMPLETE, alone.stderr
    child_pid = files[1].suffix[1:]
    said = rf"the log never shows pid {child_pid} \(made by (v?fork|clone3?) at line \d+ in pid \d+\) end: "
    assert re.search(said, alone.stderr), alone.stderr
    assert "UNDECIDED  --no-fd-leaks" in alone.stderr
    # the whole set shows what the parent's file alone could not: fd 3 leaked into true
    whole = check("--log", parent, "--log", child, "--no-fd-leaks")
    assert whole.returncode == EXIT_RULE_FAILED, whole.stderr
    leak = rf"fd 3 \(/dev/null\) leaked into pid {child_pid} \(/bin/true\)"
    assert re.search(leak, whole.stderr), whole.stderr


def test_a_log_without_a_childs_lines_is_incomplete() -> None:
    """A log with lines removed (grep) or made without -f: the child the clone made never
    shows up, so nothing it did was checked."""
    lines = """\
100 pipe2([3, 4], 0) = 0
100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 101
100 wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 101
100 brk(NULL) = 0x5000
100 exit_group(0) = ?
100 +++ exited with 0 +++
"""
    analysis = Analysis(RuleSet(no_fd_leaks=True).build()).feed_all(parse_lines([START, *lines.splitlines()]))
    report = analysis.finish("t")
    assert report.exit_code == EXIT_INCOMPLETE
    assert report.incomplete == [
        "the log never shows pid 101 (made by clone at line 3 in pid 100) end: what it did may be missing "
        "(a log of one process of strace -ff: give every file; strace without -f; lines removed)"
    ]
    (result,) = report.results
    assert result.verdict == "undecided"


# one -ff set of `prog` -> child 101 -> grandchild 102, given without the child's file
WITHOUT_THE_CHILDS_FILE = """\
100 brk(NULL) = 0x5000
100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 101
102 brk(NULL) = 0x5000
102 exit_group(0) = ?
102 +++ exited with 0 +++
100 wait4(-1, NULL, 0, NULL) = 101
100 +++ exited with 0 +++
"""


@pytest.mark.parametrize(
    ("log", "said"),
    [
        pytest.param(WITHOUT_THE_CHILDS_FILE, "pid 101 (made by clone at line 3 in pid 100)", id="child"),
    ],
)
def test_a_task_that_never_shows_a_line_is_missing(log: str, said: str) -> None:
    """A grandchild of unknown parent does not stand for the missing child: only a log that
    made (or began inside) a pid namespace renames its children."""
    analysis = Analysis(RuleSet(no_fd_leaks=True).build()).feed_all(parse_lines([START, *log.splitlines()]))
    report = analysis.finish("t")
    assert report.exit_code == EXIT_INCOMPLETE, report.incomplete
    assert report.incomplete[0].startswith(f"the log never shows {said} end: ")


@pytest.mark.usefixtures("strace_ok")
def test_a_log_filtered_by_hand_decides_only_what_it_holds(tmp_path: Path) -> None:
    """`strace -e trace=execve` writes no header saying what it left out; its programs
    start without a single brk or mmap, which gives it away: what it does not show cannot
    pass, and a leak it cannot see is no pass either."""
    script = ["sh", "-c", "exec 3</dev/null; /bin/true; exit 0"]  # fd 3 leaks into true
    filtered, full = tmp_path / "filtered.log", tmp_path / "full.log"
    subprocess.run(["strace", "-f", "-e", "trace=execve", "-o", str(filtered), *script], check=True)
    subprocess.run(["strace", "-f", "-o", str(full), *script], check=True)

    done = check("--log", str(filtered), "--no-fd-leaks", "--forbid", "sendfile")
    assert done.returncode == EXIT_INCOMPLETE, done.stderr
    assert (
        "the log seems filtered (a program started, and no process made any of arch_prctl, brk" in done.stderr
    )
    assert "it is taken to hold only the calls of -e trace=execve" in done.stderr
    assert "UNDECIDED  --no-fd-leaks" in done.stderr and "UNDECIDED  --forbid sendfile" in done.stderr
    # what it does hold still decides
    assert check("--log", str(filtered), "--expect", "execve").returncode == EXIT_OK

    whole = check("--log", str(full), "--no-fd-leaks", "--forbid", "sendfile")
    assert whole.returncode == EXIT_RULE_FAILED, whole.stderr
    assert "fd 3 (/dev/null) leaked into pid" in whole.stderr and "seems filtered" not in whole.stderr


@pytest.mark.usefixtures("strace_ok")
def test_a_log_of_failed_calls_only_decides_nothing_it_lacks(tmp_path: Path) -> None:
    """`strace -Z` keeps only the calls that failed: no exec, no clone, no open that
    succeeded, so a leak and a forbidden call that worked are out of sight. A failed call
    it shows still decides (a red), and the whole log of the same run is judged in full."""
    script = ["sh", "-c", "exec 3</dev/null; /bin/true; cat /nonexistent 2>/dev/null; exit 0"]
    failed, full = tmp_path / "failed.log", tmp_path / "full.log"
    subprocess.run(["strace", "-f", "-Z", "-o", str(failed), *script], check=True)
    subprocess.run(["strace", "-f", "-o", str(full), *script], check=True)

    done = check("--log", str(failed), "--no-fd-leaks", "--forbid", "sendfile")
    assert done.returncode == EXIT_INCOMPLETE, done.stderr
    assert "the log seems made with strace -Z: none of its" in done.stderr
    assert "UNDECIDED  --no-fd-leaks" in done.stderr and "UNDECIDED  --forbid sendfile" in done.stderr
    forbidden = check("--log", str(failed), "--forbid", 'openat(*, "/nonexistent", *) = -1 ENOENT')
    assert forbidden.returncode == EXIT_RULE_FAILED, forbidden.stderr

    whole = check("--log", str(full), "--no-fd-leaks")
    assert whole.returncode == EXIT_RULE_FAILED, whole.stderr
    assert "strace -Z" not in whole.stderr


def test_a_log_of_ends_without_a_call_decides_nothing(tmp_path: Path) -> None:
    """`strace -Z` of a program none of whose calls failed: only ends and signals."""
    log = tmp_path / "ends.log"
    log.write_text(
        "7 +++ exited with 0 +++\n6 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=7} ---\n"
        "6 +++ exited with 0 +++\n"
    )
    done = check("--log", str(log), "--no-fd-leaks", "--forbid", "sendfile")
    assert done.returncode == EXIT_INCOMPLETE, done.stderr
    assert "none of its 0 calls succeeded" in done.stderr


NAMESPACE_LOG = """\
100 brk(NULL) = 0x5000
100 clone(child_stack=NULL, flags=CLONE_NEWPID|SIGCHLD) = 2
501 set_robust_list(0x7f, 24) = 0
501 exit_group(0) = ?
501 +++ exited with 0 +++
100 wait4(-1, NULL, 0, NULL) = 2
100 +++ exited with 0 +++
"""
# nsenter -p: setns into a namespace, then the children it makes have pids there
SETNS_LOG = NAMESPACE_LOG.replace(
    "100 clone(child_stack=NULL, flags=CLONE_NEWPID|SIGCHLD) = 2",
    "100 setns(3</proc/77/ns/pid>, CLONE_NEWPID) = 0\n100 clone(child_stack=NULL, flags=SIGCHLD) = 2",
)
# strace -p of a process inside a container: the log begins mid-run, inside its namespace
ATTACHED_LOG = NAMESPACE_LOG.replace("CLONE_NEWPID|", "")
THREAD_EXEC_LOG = """\
100 brk(NULL) = 0x5000
100 clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD) = 101
101 execve("/bin/true", ["true"], 0x7ffe /* 3 vars */ <unfinished ...>
100 <... execve resumed>) = 0
100 exit_group(0) = ?
100 +++ exited with 0 +++
"""


@pytest.mark.parametrize(
    "log",
    [
        pytest.param(NAMESPACE_LOG, id="a clone in a pid namespace returns the child's pid there"),
        pytest.param(SETNS_LOG, id="a process that entered a pid namespace (nsenter)"),
        pytest.param(ATTACHED_LOG, id="a log attached inside a running process"),
        pytest.param(THREAD_EXEC_LOG, id="strace --quiet=thread-execve: no superseded line"),
    ],
)
def test_a_whole_log_whose_tasks_change_pid_is_complete(log: str) -> None:
    """The child the clone named, or the thread that exec'd, shows up under another pid:
    the log is whole, and nothing in it says a task's calls are missing."""
    start = [] if log is ATTACHED_LOG else [START]  # attached: no exec begins it
    analysis = Analysis(RuleSet(forbid=["sendfile"]).build()).feed_all(
        parse_lines([*start, *log.splitlines()])
    )
    report = analysis.finish("t")
    assert (report.exit_code, report.incomplete) == (EXIT_OK, [])


# a log that ends before the program does (no exit line): what was seen may still stand
CUT = """\
10 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0
10 brk(NULL) = 0x55
10 openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3</etc/a>
"""
CROSSED = '10 execve("/bin/next", ["next"], 0x7ffe /* 3 vars */) = 0\n10 brk(NULL) = 0x55\n'
CLOSED = "10 close(3</etc/a>) = 0\n"


@pytest.mark.parametrize(
    ("tail", "rules", "verdict", "code"),
    [
        # one leak seen is one leak: no later line can undo an exec
        (CROSSED, {"no_fd_leaks": True}, "fail", EXIT_RULE_FAILED),
        (CLOSED + CROSSED, {"no_fd_leaks": True}, "undecided", EXIT_INCOMPLETE),
        # the exit status is unknown until the exit line
        (CROSSED, {"expect_exit": 0}, "fail", EXIT_INCOMPLETE),
        # a descriptor made without close-on-exec: final once it crossed an exec or was
        # closed; while open, a later fcntl may still set the flag
        (CROSSED, {"cloexec": ["openat"]}, "fail", EXIT_RULE_FAILED),
        (CLOSED, {"cloexec": ["openat"]}, "fail", EXIT_RULE_FAILED),
        ("", {"cloexec": ["openat"]}, "fail", EXIT_INCOMPLETE),
        # a B with no A before it in its process stays out of order; one in order may
        # still be followed by one that is not
        (CLOSED, {"order": ["read -> close"]}, "fail", EXIT_RULE_FAILED),
        (CLOSED, {"order": ["openat -> close"]}, "undecided", EXIT_INCOMPLETE),
        # ... unless a line sysprobe could not read may be the A
        ("10 what is this\n" + CLOSED, {"order": ["read -> close"]}, "fail", EXIT_INCOMPLETE),
    ],
)
def test_what_a_log_cut_short_still_decides(
    tail: str, rules: dict[str, object], verdict: str, code: int, tmp_path: Path
) -> None:
    log = tmp_path / "cut.log"
    log.write_text(CUT + tail)
    report = sysprobe.parse(log).check(RuleSet(**rules))  # type: ignore[arg-type]
    (result,) = report.results
    assert (result.verdict, result.final, report.exit_code) == (verdict, code == EXIT_RULE_FAILED, code)


def test_the_string_length_a_check_traces() -> None:
    """strace's -s for a check: enough for the longest string a pattern compares whole;
    0 (strace's default) when no pattern compares a string."""
    long = "x" * 300
    assert needed_string_limit(RuleSet(expect=[f'write(1, "{long}")'], no_fd_leaks=True).build()) > 300
    assert needed_string_limit(RuleSet(expect=["write(1, ...)"], no_fd_leaks=True).build()) == 0
    assert needed_string_limit([]) == 0


def test_what_each_rule_asks_strace_to_show() -> None:
    """-s and -v follow the patterns: an --order rule's two, either side; a rule without a
    pattern asks for neither."""
    long = '"' + "a" * 50 + '"'
    struct = "clone3({exit_signal=SIGCHLD}, ...)"
    cases: list[tuple[RuleSet, int, bool]] = [
        (RuleSet(no_fd_leaks=True, expect_exit=0), 0, False),
        (RuleSet(order=[f"openat(*, {long}) -> close"]), 51, False),
        (RuleSet(order=[f"close -> openat(*, {long})"]), 51, False),
        (RuleSet(order=[f"{struct} -> close"]), 0, True),
        (RuleSet(order=[f"close -> {struct}"]), 0, True),
    ]
    for rules, limit, verbose in cases:
        built = rules.build()
        assert (needed_string_limit(built), needed_verbose(built)) == (limit, verbose), rules


MAY = """\
10 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0
10 brk(NULL) = 0x55
{calls}10 +++ exited with 0 +++
"""
NOTE = "   (may match: part of it was not shown)"


def verdict_on(calls: list[str], rules: dict[str, object], tmp_path: Path) -> tuple[str, int, str, list[str]]:
    log = tmp_path / "may.log"
    log.write_text(MAY.format(calls="".join(f"10 {c}\n" for c in calls)))
    report = sysprobe.parse(log).check(RuleSet(**rules))  # type: ignore[arg-type]
    (result,) = report.results
    evidence = [e if isinstance(e, str) else e.render() for e in result.evidence]
    return result.verdict, report.exit_code, result.summary, evidence


def test_calls_that_may_match_leave_a_rule_undecided(tmp_path: Path) -> None:
    """A string strace cut short may hold what a pattern looks for: neither a match nor a
    miss. The first five are shown, then how many more."""
    cut = [f'write(1, "{i:04d}"..., 60) = 60' for i in range(6)]
    verdict, code, summary, evidence = verdict_on(cut, {"forbid": ['write(*, "*PASSWORD*")']}, tmp_path)
    assert (verdict, code) == ("undecided", EXIT_INCOMPLETE)
    assert summary.startswith("6 calls may match: the trace shows only part of their arguments (")
    assert evidence == [
        "seen: no call matched",
        *[f'line {3 + i} pid 10: write(1, "{i:04d}"..., 60) = 60{NOTE}' for i in range(5)],
        "... and 1 more",
    ]
    one = cut[:1]
    verdict, code, summary, evidence = verdict_on(one, {"expect": ['write(*, "*PASSWORD*")']}, tmp_path)
    assert (verdict, code) == ("undecided", EXIT_INCOMPLETE)
    assert summary.startswith("1 call may match: the trace shows only part of its arguments (")
    assert evidence == ["seen: no call matched", f'line 3 pid 10: write(1, "0000"..., 60) = 60{NOTE}']


def test_a_failed_call_that_may_match_is_no_call_expected(tmp_path: Path) -> None:
    failed = ['write(1, "0123"..., 60) = -1 EPIPE (Broken pipe)']
    verdict, code, summary, _ = verdict_on(failed, {"expect": ['write(*, "*PASSWORD*")']}, tmp_path)
    assert (verdict, code, summary) == ("fail", EXIT_RULE_FAILED, "no call matched")
    # unless the pattern asks for a failure: then it may be the one
    verdict, code, _, _ = verdict_on(failed, {"expect": ['write(*, "*PASSWORD*") = -1']}, tmp_path)
    assert (verdict, code) == ("undecided", EXIT_INCOMPLETE)
    verdict, code, _, _ = verdict_on(failed, {"forbid": ['write(*, "*PASSWORD*")']}, tmp_path)
    assert (verdict, code) == ("undecided", EXIT_INCOMPLETE)
