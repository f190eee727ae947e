"""Hostile cases (issue 12, "No false greens"): situations in which `sysprobe check` once
printed "all rules passed" and exited 0 although nothing — or not the right thing — was
checked. Each row pins the exit code and a sentence the report must say; no row may
pass silently (exit 0 only where the row's sentence is the caveat, as for a degraded run).

The tables are meant to grow: add a row to HOSTILE for a `sysprobe check` situation (a
command runs once per backend unless ``log`` gives the trace), to API_CASES for the
Python API. Placeholders in arguments: ``{tmp}`` (the test's directory), ``{python}``
(this interpreter), ``{log}`` (the row's log text, written to a file).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import sysprobe
from sysprobe import RuleSet
from sysprobe.errors import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_RULE_FAILED,
    EXIT_USAGE,
    RuleSyntaxError,
    RunIncomplete,
)

from ..helpers import sysprobe as run_sysprobe


@dataclass(frozen=True)
class Hostile:
    """One `sysprobe check` situation and the answer it must get."""

    check: tuple[str, ...]  # check's arguments (a command after "--", or --log {log})
    exit_code: int
    says: tuple[str, ...]  # sentences the report (stderr) must hold
    log: str | None = None  # the text of {log}: the row reads a log, on no backend
    first: tuple[str, ...] = ()  # a sysprobe command run before (it writes what check reads)
    issue: str = ""  # where the situation was reported


PY = "{python}"
LEAK_LOG = (
    '100 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0\n'
    "100 pipe2([3<pipe:[9]>, 4<pipe:[9]>], 0) = 0\n"
    '100 execve("/bin/next", ["next"], 0x7ffe /* 3 vars */) = 0\n'
    "100 brk(NULL) = 0x5000\n"  # a program's start: the log is not filtered
    "100 +++ exited with 0 +++\n"
)
SENDFILE_FAILS = "import os\ntry:\n    os.sendfile(99, 98, 0, 1)\nexcept OSError:\n    pass"
EPOLL = "import select\ntry:\n    select.epoll()\nexcept OSError:\n    pass"
OPEN_HOSTNAME = "open('/etc/hostname').close()"

HOSTILE: dict[str, Hostile] = {
    # ---- case 4: a name that does not exist matches nothing, so a --forbid of it passed
    "forbid-misspelt-call": Hostile(
        ("--forbid", "sendfil", "--", "true"),
        EXIT_USAGE,
        ("unknown syscall 'sendfil' (did you mean sendfile?)",),
        issue="12.4",
    ),
    "expect-count-misspelt-call": Hostile(
        ("--expect-count", "=0 sendfil", "--", "true"),
        EXIT_USAGE,
        ("unknown syscall 'sendfil' (did you mean sendfile?)",),
        issue="12.4",
    ),
    "order-misspelt-call": Hostile(
        ("--order", "pipe2 -> execv", "--", "true"),
        EXIT_USAGE,
        ("unknown syscall 'execv' (did you mean execve?)",),
        issue="12.4",
    ),
    "cloexec-misspelt-call": Hostile(
        ("--cloexec", "opneat", "--", "true"),
        EXIT_USAGE,
        ("unknown syscall 'opneat' (did you mean openat or openat2?)",),
        issue="12.4",
    ),
    "forbid-misspelt-flag": Hostile(
        ("--forbid", "openat(*, *, O_CRAET)", "--", "true"),
        EXIT_USAGE,
        ("unknown constant 'O_CRAET' (did you mean O_CREAT?)", "e.g. openat(*, *, O_CREAT)"),
        issue="12.4",
    ),
    "forbid-misspelt-errno": Hostile(
        ("--forbid", "openat = -1 ENOENTT", "--", "true"),
        EXIT_USAGE,
        ("unknown errno 'ENOENTT' (did you mean ENOENT?)",),
        issue="12.4",
    ),
    "forbid-constant-without-value": Hostile(
        ("--forbid", "mprotect(*, *, PROT_EXEC)", "--", "true"),
        EXIT_USAGE,
        (
            "unknown constant 'PROT_EXEC'",
            "could never be compared with the numbers that -X raw and the ptrace",
        ),
        issue="12.4",
    ),
    # the kernel never sees glibc's fork, pipe and open under those names on x86_64
    "forbid-fork-glibc-clones": Hostile(
        ("--forbid", "fork", "--", PY, "-c", "import os\nif os.fork() == 0: os._exit(0)\nos.wait()"),
        EXIT_RULE_FAILED,
        ("FAIL  --forbid fork: 1 matching call", "glibc's fork() calls clone on x86_64", "clone("),
        issue="12.4",
    ),
    "forbid-open-glibc-openat": Hostile(
        ("--forbid", 'open("/etc/hostname")', "--", PY, "-c", OPEN_HOSTNAME),
        EXIT_RULE_FAILED,
        ('FAIL  --forbid open("/etc/hostname"): 1 matching call', "glibc's open() calls openat"),
        issue="12.4",
    ),
    "forbid-fstat-arguments-differ": Hostile(
        ("--forbid", "fstat(1)", "--", "true"),
        EXIT_USAGE,
        ("glibc's fstat() calls newfstatat on x86_64, whose arguments are not fstat's",),
        issue="12.4",
    ),
    "vdso-call-cannot-be-counted": Hostile(
        ("--expect-count", "=0 clock_gettime", "--", PY, "-c", "import time; time.monotonic()"),
        EXIT_INCOMPLETE,
        ("UNDECIDED  --expect-count =0 clock_gettime: cannot be decided", "(the vDSO)"),
        issue="12.4",
    ),
    # ---- issue 19: a pattern error points at the column and shows a valid pattern
    "glob-in-a-name": Hostile(
        ("--expect", "clone*", "--", "true"),
        EXIT_USAGE,
        ("pattern 'clone*': cannot read '*'\n    clone*\n         ^\n", "e.g. clone|clone3"),
        issue="19",
    ),
    # ---- case 8: a log saved from a filtered check held no sendfile, and "proved" none
    "saved-filtered-log": Hostile(
        ("--log", "{tmp}/saved.log", "--forbid", "sendfile", "--no-fd-leaks"),
        EXIT_INCOMPLETE,
        (
            "UNDECIDED  --forbid sendfile: cannot be decided: sendfile is not in the trace: "
            "the log's line 1 says it holds only the calls of -e trace=",
            "PASS  --no-fd-leaks",
        ),
        first=("check", "--no-fd-leaks", "-o", "{tmp}/saved.log", "--", PY, "-c", OPEN_HOSTNAME),
        issue="12.8",
    ),
    "saved-trace-e-log": Hostile(
        ("--log", "{tmp}/saved.log", "--no-fd-leaks"),
        EXIT_INCOMPLETE,
        ("UNDECIDED  --no-fd-leaks: cannot be decided: ", "are not in the trace"),
        first=("trace", "--no-summary", "-e", "openat", "-o", "{tmp}/saved.log", "--", "true"),
        issue="12.8",
    ),
    # ---- case 9: "used" means it worked
    "expect-sendfile-all-failed": Hostile(
        ("--expect", "sendfile", "--", PY, "-c", SENDFILE_FAILS),
        EXIT_RULE_FAILED,
        ("FAIL  --expect sendfile: matched only failed calls (1: EBADF)",),
        issue="12.9",
    ),
    "expect-after-injected-enosys": Hostile(
        (
            "--inject",
            "epoll_create1:error=ENOSYS",
            "--expect",
            "epoll_create1(EPOLL_CLOEXEC)",
            "--",
            PY,
            "-c",
            EPOLL,
        ),
        EXIT_RULE_FAILED,
        ("matched only failed calls (1: ENOSYS)", "(INJECTED)"),
        issue="12.9",
    ),
    # ---- case 11: the command's own exec comes before anything it does
    "order-before-the-initial-exec": Hostile(
        ("--order", "pipe2 -> execve", "--", "true"),
        EXIT_RULE_FAILED,
        ("FAIL  --order pipe2 -> execve: no call matched execve", "not judged: the command's own first exec"),
        issue="12.11",
    ),
    # ---- case 6 (the verdict's side): lines the parser could not read
    "log-with-unreadable-lines": Hostile(
        ("--log", "{log}", "--no-fd-leaks", "--allow-fd", "3-4"),
        EXIT_INCOMPLETE,
        (
            "warning: 1 line of the trace could not be read (line 3 (not a strace line))",
            "incomplete: 1 passed",
        ),
        log=LEAK_LOG.replace('100 execve("/bin/next"', 'garbage\n100 execve("/bin/next"'),
        issue="12.6",
    ),
    "failure-despite-unreadable-lines": Hostile(
        ("--log", "{log}", "--forbid", "pipe2"),
        EXIT_RULE_FAILED,  # a call seen stays seen, whatever the unread lines hold
        ("FAIL  --forbid pipe2: 1 matching call", "1 line of the trace could not be read"),
        log="garbage\n" + LEAK_LOG,
        issue="12.6",
    ),
    # ---- case 10: the program's own tracer refused: the green says so
    "degraded-run": Hostile(
        ("--no-fd-leaks", "--", "strace", "-o", "/dev/null", "true"),
        EXIT_OK,
        ("note: the verdicts describe a degraded run", "all 1 rule passed — on a degraded run"),
        issue="12.10",
    ),
}


def _expand(args: tuple[str, ...], tmp: Path, log: Path | None) -> list[str]:
    values = {"tmp": str(tmp), "python": sys.executable, "log": str(log)}
    return [arg.format(**values) if "{" in arg and "}" in arg else arg for arg in args]


def _judge(case: Hostile, tmp_path: Path) -> None:
    log = None
    if case.log is not None:
        log = tmp_path / "trace.log"
        log.write_text(case.log)
    if case.first:
        done = run_sysprobe(*_expand(case.first, tmp_path, log))
        assert done.returncode == 0, done.stderr
    done = run_sysprobe("check", *_expand(case.check, tmp_path, log))
    assert done.returncode == case.exit_code, done.stderr
    for sentence in case.says:
        assert sentence in done.stderr, done.stderr


RUNS = [name for name, case in HOSTILE.items() if case.log is None]
LOGS = [name for name, case in HOSTILE.items() if case.log is not None]


@pytest.mark.parametrize("name", RUNS)
def test_hostile_runs(name: str, backend: str, tmp_path: Path) -> None:
    _judge(HOSTILE[name], tmp_path)


@pytest.mark.parametrize("name", LOGS)
def test_hostile_logs(name: str, tmp_path: Path) -> None:
    _judge(HOSTILE[name], tmp_path)


# ---- the Python API: the same questions, through a Trace ----


@dataclass(frozen=True)
class ApiCase:
    """A use of the API (given the test's directory) and the error it must raise."""

    use: Callable[[Path], object]
    raises: type[BaseException]
    says: str
    issue: str = ""


def _openat_only(tmp: Path) -> sysprobe.Trace:
    return sysprobe.trace([sys.executable, "-c", OPEN_HOSTNAME], syscalls="openat")


def _log(tmp: Path, text: str) -> sysprobe.Trace:
    path = tmp / "trace.log"
    path.write_text(text)
    return sysprobe.parse(path)


API_CASES: dict[str, ApiCase] = {
    "calls-misspelt": ApiCase(
        lambda tmp: _log(tmp, LEAK_LOG).calls("pipe3"),
        RuleSyntaxError,
        "unknown syscall 'pipe3' (did you mean pipe or pipe2?)",
        "12.4",
    ),
    "assert-called-misspelt": ApiCase(
        lambda tmp: _log(tmp, LEAK_LOG).assert_called("execv"),
        RuleSyntaxError,
        "unknown syscall 'execv' (did you mean execve?)",
        "12.4",
    ),
    "assert-not-called-misspelt-flag": ApiCase(
        lambda tmp: _log(tmp, LEAK_LOG).assert_not_called("pipe2(*, O_CLOXEC)"),
        RuleSyntaxError,
        "unknown constant 'O_CLOXEC' (did you mean O_CLOEXEC?)",
        "12.4",
    ),
    "assert-cloexec-misspelt": ApiCase(
        lambda tmp: _log(tmp, LEAK_LOG).assert_cloexec("piep2"),
        RuleSyntaxError,
        "unknown syscall 'piep2' (did you mean pipe2?)",
        "12.4",
    ),
    "assert-order-misspelt": ApiCase(
        lambda tmp: _log(tmp, LEAK_LOG).assert_order("pipe2", "exceve"),
        RuleSyntaxError,
        "unknown syscall 'exceve' (did you mean execve?)",
        "12.4",
    ),
    "not-called-outside-the-selection": ApiCase(
        lambda tmp: _openat_only(tmp).assert_not_called("sendfile"),
        RunIncomplete,
        "--forbid sendfile: cannot be decided: sendfile is not in the trace: the run traced only "
        "the calls of -e trace=openat",
        "12.8",
    ),
    "expect-on-unreadable-lines": ApiCase(
        lambda tmp: _log(tmp, "garbage\n" + LEAK_LOG).assert_no_fd_leaks(allow=["3-4"]),
        RunIncomplete,
        "1 line of the trace could not be read (line 1 (not a strace line))",
        "12.6",
    ),
    "expect-only-failed": ApiCase(
        lambda tmp: _log(
            tmp,
            # a call that worked: a log of failed calls only would be strace -Z's (undecided)
            "100 brk(NULL) = 0x5000\n100 sendfile(4, 5, NULL, 3) = -1 EINVAL (Invalid argument)\n"
            "100 +++ exited with 0 +++\n",
        ).assert_called("sendfile"),
        AssertionError,
        "--expect sendfile: matched only failed calls (1: EINVAL)",
        "12.9",
    ),
}


@pytest.mark.parametrize("name", list(API_CASES))
def test_hostile_api(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    case = API_CASES[name]
    if "selection" in name:
        request.getfixturevalue("strace_ok")
    with pytest.raises(case.raises) as raised:
        case.use(tmp_path)
    assert case.says in str(raised.value)


def test_a_live_check_cannot_pass_a_rule_outside_its_own_filter() -> None:
    """A check whose run traced a set without a rule's calls (``--full`` keeps the
    command's own selection) leaves that rule undecided: 75, never 0."""
    from sysprobe import _pipeline

    source = _pipeline.command([sys.executable, "-c", OPEN_HOSTNAME], syscalls="openat")
    report = _pipeline.check(RuleSet(forbid=["sendfile"], expect=["openat"]), source, full=True)
    assert report.exit_code == EXIT_INCOMPLETE and report.verdict == "incomplete"
    expect, forbid = report.results
    assert forbid.verdict == "undecided" and forbid.undecided is not None
    assert (
        "sendfile is not in the trace: the run traced only the calls of -e trace=openat" in forbid.undecided
    )
    assert expect.verdict == "pass"  # what the run traced decides it
    assert report.coverage == ["openat,?execve,?ptrace"]
