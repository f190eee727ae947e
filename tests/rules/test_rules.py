"""The pattern language and the rule kinds, and `sysprobe check`'s exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import sysprobe
from sysprobe import RuleSet
from sysprobe._kernel.constants import constants
from sysprobe._parsing.lineparse import parse_lines
from sysprobe._rules.patterns import GLOB_STRING_LIMIT, parse_pattern
from sysprobe.errors import RuleSyntaxError
from sysprobe.events import Syscall
from sysprobe.pytest_plugin import require_strace

from ..helpers import check

CONSTS = constants("x86_64")


def call(line: str) -> Syscall:
    (ev,) = parse_lines([line])
    assert isinstance(ev, Syscall)
    return ev


def matches(pattern: str, line: str) -> bool:
    return parse_pattern(pattern).matches(call(line), CONSTS)


@pytest.mark.parametrize(
    ("pattern", "line", "expected"),
    [
        ("sendfile", "sendfile(4, 5, NULL, 3) = 3", True),
        ("sendfile", "sendfile64(4, 5, NULL, 3) = 3", True),  # ABI variant
        ("fcntl(*, F_SETFD, FD_CLOEXEC)", "fcntl64(3, F_SETFD, FD_CLOEXEC) = 0", True),
        ("sendfile64", "sendfile(4, 5, NULL, 3) = 3", True),
        ("epoll_create", "epoll_create1(EPOLL_CLOEXEC) = 3", False),  # a different call
        ("epoll_create1(EPOLL_CLOEXEC)", "epoll_create1(EPOLL_CLOEXEC) = 3<anon_inode:[eventpoll]>", True),
        ("epoll_create1(EPOLL_CLOEXEC)", "epoll_create1(0) = 3", False),
        ("epoll_create1 ( EPOLL_CLOEXEC ) = 3", "epoll_create1(EPOLL_CLOEXEC) = 3", True),  # spaces
        ("epoll_create|epoll_create1", "epoll_create(16) = 3", True),
        ("openat(*, *, O_CLOEXEC)", 'openat(AT_FDCWD, "/x", O_RDONLY|O_CLOEXEC) = 3', True),
        (
            "openat(*, *, O_RDONLY|O_CLOEXEC)",
            'openat(AT_FDCWD, "/x", O_RDONLY|O_CLOEXEC|O_DIRECTORY) = 3',
            True,
        ),
        ("openat(*, *, O_CLOEXEC)", 'openat(-100, "/x", 0x80000) = 3', True),  # -X raw
        ("openat(*, *, O_CLOEXEC)", 'openat(-100, "/x", 0) = 3', False),
        (
            "openat(AT_FDCWD, *, *)",
            'openat(-100 /* AT_FDCWD */, "/x", 0x80000 /* O_RDONLY|O_CLOEXEC */) = 3',
            True,
        ),
        ("openat(*, *, O_CLOEXEC)", 'openat(-100, "/x", 0x80000 /* O_RDONLY|O_CLOEXEC */) = 3', True),
        ("fcntl(*, F_SETFD, FD_CLOEXEC)", "fcntl(3, 0x2, 0x1) = 0", True),
        (
            'openat(*, "/etc/passwd")',
            'openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3',
            True,
        ),  # missing args: any
        ('openat(*, "/etc/*")', 'openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3', True),  # glob
        ('openat(*, "/etc/*")', 'openat(AT_FDCWD, "/usr/etc", O_RDONLY) = 3', False),
        ('read("/etc/hostname", ...)', 'read(3</etc/hostname>, "x", 1) = 1', True),  # -y path
        ("read(3, ...)", 'read(3</etc/hostname>, "x", 1) = 1', True),
        ("openat(*, *, *) = -1 ENOENT", 'openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file)', True),
        ("openat(*, *, *) = -1 EACCES", 'openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file)', False),
        ("openat = -1", 'openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file)', True),
        ("read > 0", 'read(3, "x", 1) = 1', True),
        ("read > 0", 'read(3, "", 1) = 0', False),
        ("exit_group = ?", "exit_group(0) = ?", True),
        (
            "sendmsg(*, {msg_control=[{cmsg_type=SCM_RIGHTS}]}, *)",
            'sendmsg(3, {msg_name=NULL, msg_iov=[{iov_base="x", iov_len=1}], msg_control=[{cmsg_len=20, '
            "cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5]}], msg_flags=0}, 0) = 1",
            True,
        ),
        (
            "sendmsg(*, {msg_control=[{cmsg_type=SCM_RIGHTS}]}, *)",
            'sendmsg(3, {msg_name=NULL, msg_iov=[{iov_base="x", iov_len=1}], msg_control=NULL}, 0) = 1',
            False,
        ),
        ("clone(flags=CLONE_VM)", "clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|SIGCHLD) = 7", True),
        (
            "clone3({flags=CLONE_VFORK})",
            "clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD}, 88) = 7",
            True,
        ),
        ("sendfile(*, *, [0] => [3], 3)", "sendfile(4, 5, [0] => [3], 3) = 3", True),
        ("poll([{fd=3}], ...)", "poll([{fd=4, events=POLLIN}, {fd=3, events=POLLIN}], 2, -1) = 1", True),
        ("* = -1 ENOSYS", "whatever(1) = -1 ENOSYS (Function not implemented)", True),
        (
            'execve("/usr/bin/true", ["true"], ...)',
            'execve("/usr/bin/true", ["true"], 0x7ffe /* 3 vars */) = 0',
            True,
        ),
    ],
)
def test_pattern_matching(pattern: str, line: str, expected: bool) -> None:
    assert matches(pattern, line) is expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "empty pattern"),
        ("(x)", "expected a syscall name"),
        ("openat(*, *", "this '(' is never closed"),
        ("openat(*,, *)", "missing value"),
        ("openat(*, O_CLOEXEC) maybe", "cannot read 'maybe'"),
        ("openat(a=b=c)", "'=' after something that is not a name"),
    ],
)
def test_pattern_syntax_errors(pattern: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=re.escape(message)):
        parse_pattern(pattern)


@pytest.mark.parametrize(
    ("pattern", "problem", "caret"),
    [
        ("openat(*,, *)", "missing value", 9),
        ("openat({a=}, *)", "missing value", 10),
        ("openat(a=b=c)", "'=' after something that is not a name", 10),
        ("close(0x)", "0x without digits", 6),
        ("  openat( *,, *)", "missing value", 12),  # columns of the text as the user wrote it
    ],
)
def test_a_syntax_error_points_at_its_character(pattern: str, problem: str, caret: int) -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        parse_pattern(pattern)
    head, source, pointer, *_ = str(raised.value).splitlines()
    assert head == f"pattern {pattern!r}: {problem}"
    assert source == f"    {pattern}" and pointer == " " * (4 + caret) + "^"


@pytest.mark.parametrize(
    ("pattern", "line", "expected"),
    [
        ("umask(*) = 077", "umask(022) = 077", True),  # octal, as strace prints umask's result
        ("umask(*) = 63", "umask(022) = 077", True),
        ("umask(*) = 0x3f", "umask(022) = 077", True),
        ("umask(*) == 077", "umask(077) = 022", False),  # "==" is "=", as in --expect-count
        ("close != 0", "close(3) = -1 EBADF (Bad file descriptor)", True),
        ("close >= 0", "close(3) = -1 EBADF (Bad file descriptor)", False),
        ("read <= 1", 'read(3, "x", 1) = 1', True),
        ("read < 1", 'read(3, "x", 1) = 1', False),
        ("close(3</tmp/a)b>)", "close(3</tmp/a)b>) = 0", True),  # a bracket in a -y path
    ],
)
def test_result_numbers_operators_and_decorations(pattern: str, line: str, expected: bool) -> None:
    assert matches(pattern, line) is expected


def test_mismatch_reasons() -> None:
    p = parse_pattern("epoll_create1(EPOLL_CLOEXEC) = 3")
    assert p.mismatch(call("epoll_create1(0) = 3"), CONSTS) == "argument 1 is 0, not EPOLL_CLOEXEC"
    assert p.mismatch(call("epoll_create1(EPOLL_CLOEXEC) = 4"), CONSTS) == "the result is 4, not = 3"
    assert p.mismatch(call("epoll_create1(EPOLL_CLOEXEC) = 3"), CONSTS) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--", "true"], "no rules given"),
        (["--expect", "open(", "--", "true"], "this '(' is never closed"),
        (
            ["--expect-count", "many sendfile", "--", "true"],
            "expected a comparison, a number, then a pattern",
        ),
        (["--order", "a b", "--", "true"], "expected '->' between two patterns"),
        (["--no-fd-leaks"], "give a command to run"),
        (["--no-fd-leaks", "--log", "x.log", "--", "true"], "not both"),
        (["--no-fd-leaks", "--log", "/nonexistent.log"], "/nonexistent.log: no such file"),
        (["--no-fd-leaks", "--arch", "vax", "--", "true"], "unknown architecture 'vax'"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    done = check(*args)
    assert done.returncode == 2
    assert message in done.stderr


@pytest.mark.usefixtures("strace_ok")
def test_runner_errors_keep_their_codes() -> None:
    assert check("--no-fd-leaks", "--strace", "/nonexistent/strace", "--", "true").returncode == 69
    assert check("--no-fd-leaks", "--", "no-such-command-xyz").returncode == 127
    slow = check("--no-fd-leaks", "--timeout", "0.3", "--", "sleep", "30")
    assert slow.returncode == 124 and "the verdicts are on a partial trace" in slow.stderr


@pytest.mark.usefixtures("strace_ok")
def test_verdict_does_not_depend_on_the_exit_status() -> None:
    crash = check("--no-fd-leaks", "--", "sh", "-c", "kill -SEGV $$")
    assert crash.returncode == 0
    assert "exit 139" in crash.stderr
    strict = check("--no-fd-leaks", "--expect-exit", "0", "--", "sh", "-c", "kill -SEGV $$")
    assert strict.returncode == 1
    assert "FAIL  --expect-exit 0: exit status 139, not 0" in strict.stderr
    assert check("--expect-exit", "3", "--", "sh", "-c", "exit 3").returncode == 0


@pytest.mark.usefixtures("strace_ok")
def test_counts_and_order() -> None:
    script = "cat /etc/hostname > /dev/null; cat /etc/hostname > /dev/null"
    ok = check(
        "--expect-count",
        '>=2 execve("/usr/bin/cat", ...) = 0',
        "--expect-count",
        "=0 sendfile",
        "--order",
        "vfork|clone|fork -> wait4",
        "--",
        "sh",
        "-c",
        script,
    )
    assert ok.returncode == 0, ok.stderr
    bad = check(
        "--expect-count",
        '=1 execve("/usr/bin/cat", ...) = 0',
        "--order",
        "wait4 -> vfork|clone|fork",
        "--",
        "sh",
        "-c",
        script,
    )
    assert bad.returncode == 1
    assert "FAIL  --expect-count =1 execve" in bad.stderr and "2 matching calls (wanted = 1)" in bad.stderr
    assert "FAIL  --order wait4 -> vfork|clone|fork: out of order" in bad.stderr


@pytest.mark.usefixtures("strace_ok")
@pytest.mark.parametrize("options", [["-X", "raw"], ["-X", "verbose"], []])
def test_check_log_in_every_notation(
    options: list[str], compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    """`check --log` on logs written with -X raw, -X verbose and without -y."""
    log = tmp_path / "trace.log"
    subprocess.run(
        ["strace", "-f", *options, "-o", str(log), str(compile_c("forkexec_pipe"))],
        check=True,
        capture_output=True,
    )
    done = check("--no-fd-leaks", "--expect", "pipe2(*, 0)", "--log", str(log))
    assert done.returncode == 1
    assert done.stderr.count("leaked into pid") == 2
    assert "PASS  --expect pipe2(*, 0)" in done.stderr
    fixed = tmp_path / "fixed.log"
    subprocess.run(
        ["strace", "-f", *options, "-o", str(fixed), str(compile_c("forkexec_pipe", "FIX_PIPE2"))],
        check=True,
        capture_output=True,
    )
    assert check("--no-fd-leaks", "--expect", "pipe2(*, O_CLOEXEC)", "--log", str(fixed)).returncode == 0


def test_inherited_descriptor_of_unknown_origin(tmp_path: Path) -> None:
    """A descriptor in use that was never created in the trace: inherited, origin unknown."""
    log = tmp_path / "inherited.log"
    log.write_text(
        '100 read(7</var/lib/app.db>, "x", 1) = 1\n'
        '100 execve("/usr/bin/helper", ["helper"], 0x7ffe /* 3 vars */) = 0\n'
        "100 set_robust_list(0x7f, 24) = 0\n"  # a program's start: the log is not filtered
        "100 +++ exited with 0 +++\n"
    )
    done = check("--no-fd-leaks", "--log", str(log))
    assert done.returncode == 1
    assert (
        "fd 7 (/var/lib/app.db) leaked into pid 100 (/usr/bin/helper) at line 2; created by origin unknown, "
        "first seen in read" in done.stderr
    )
    assert check("--no-fd-leaks", "--allow-fd", "7", "--log", str(log)).returncode == 0


def test_children_before_their_parents_clone_returns(tmp_path: Path) -> None:
    """vfork: the child's exec is logged before the parent's vfork returns."""
    log = tmp_path / "vfork.log"
    log.write_text(
        "10 pipe2([3<pipe:[9]>, 4<pipe:[9]>], 0) = 0\n"
        "10 vfork( <unfinished ...>\n"
        '11 execve("/usr/bin/true", ["true"], 0x7ffe /* 3 vars */) = 0\n'
        "10 <... vfork resumed>) = 11\n"
        "11 set_robust_list(0x7f, 24) = 0\n"  # a program's start: the log is not filtered
        "11 +++ exited with 0 +++\n"
        "10 +++ exited with 0 +++\n"
    )
    done = check("--no-fd-leaks", "--log", str(log))
    assert done.returncode == 1
    assert (
        "fd 3 (pipe:[9]) leaked into pid 11 (/usr/bin/true) at line 3; created by pipe2 at line 1 in pid 10"
        in done.stderr
    )


def many_children(n: int) -> list[str]:
    """A parent that forks n children; each opens a file without O_CLOEXEC and execs."""
    lines = ['100 execve("/bin/parent", ["parent"], 0x7ffd /* 3 vars */) = 0']
    for i in range(n):
        child = 1000 + i
        lines += [
            f"100 clone(child_stack=NULL, flags=SIGCHLD) = {child}",
            f'{child} openat(AT_FDCWD, "/tmp/f{i}", O_RDONLY) = 3',
            f'{child} openat(AT_FDCWD, "/tmp/g{i}", O_RDONLY|O_CLOEXEC) = 4',
            f'{child} execve("/bin/child", ["child"], 0x7ffd /* 3 vars */) = 0',
            f"{child} brk(NULL) = 0x5000",  # a program's start: the log is not filtered
            f"{child} +++ exited with 0 +++",
            f"100 wait4(-1, NULL, 0, NULL) = {child}",
        ]
    return [*lines, "100 +++ exited with 0 +++"]


def test_a_check_forgets_ended_processes_but_not_its_verdicts() -> None:
    """The check path's memory follows the live processes, not the trace: after 3000
    children only the first process is left, and every count and verdict is intact."""
    from sysprobe._pipeline import Analysis
    from sysprobe._rules.rules import RuleSet

    rules = RuleSet(no_fd_leaks=True, cloexec=["openat"], order=["openat -> execve"])
    analysis = Analysis(rules.build()).feed_all(parse_lines(many_children(3000)))
    report = analysis.finish("many")
    assert list(analysis.model.processes) == [100]
    assert not analysis.model.execs and not analysis.model._tasks  # all ended
    assert (report.processes, report.execs) == (3001, 3001)
    leaks, cloexec, order = report.results[2], report.results[1], report.results[0]
    assert (leaks.passed, leaks.summary) == (False, "3000 descriptors leaked")
    assert len(leaks.evidence) == 51 and leaks.evidence[-1] == "... and 2950 more"
    assert str(leaks.evidence[0]).startswith("fd 3 (/tmp/f0) leaked into pid 1000 (/bin/child)")
    assert (cloexec.passed, cloexec.summary) == (False, "3000 violations")
    assert len(analysis.rules[1].created) < 4096  # type: ignore[attr-defined]  # pruned on close
    assert (order.passed, order.summary) == (True, "in order")  # each child opens, then execs
    assert str(order.evidence[-1]).startswith("not judged: the command's own first exec (line 1 pid 100")
    kept = Analysis(rules.build(), keep_events=True).feed_all(parse_lines(many_children(3000)))
    assert kept.finish("many").to_json() == report.to_json()
    assert len(kept.model.processes) == 3001


# ---- each rule kind, both ways, on one real trace (checked in-process) ----


@pytest.fixture(scope="module")
def pipe_leak(request: pytest.FixtureRequest, compile_c: Callable[..., Path]) -> sysprobe.Trace:
    """forkexec_pipe: pipe2(p, 0) = 3, 4; a child execs sleep with both ends (2 execve = 0,
    counting the program's own, and the PATH search's failures); no sendfile."""
    require_strace(request.config)
    return sysprobe.trace([str(compile_c("forkexec_pipe"))], backend="strace")


def verdict(t: sysprobe.Trace, **rules: object) -> tuple[bool, str]:
    (result,) = t.check(RuleSet(**rules)).results  # type: ignore[arg-type]
    return result.passed, result.summary


@pytest.mark.parametrize(
    ("spec", "passed"),
    [
        ("=2 execve = 0", True),
        ("==2 execve = 0", True),
        ("=1 execve = 0", False),  # more than wanted
        ("=3 execve = 0", False),  # fewer than wanted
        ("= 2 execve = 0", True),
        ("!=2 execve = 0", False),
        ("!=1 execve = 0", True),
        (">1 execve = 0", True),
        (">2 execve = 0", False),
        (">=2 execve = 0", True),
        (">=3 execve = 0", False),
        ("<3 execve = 0", True),
        ("<2 execve = 0", False),
        ("<=2 execve = 0", True),
        ("<=1 execve = 0", False),
        ("=0 sendfile", True),
        ("=1 sendfile", False),
    ],
)
def test_expect_count_operators(spec: str, passed: bool, pipe_leak: sysprobe.Trace) -> None:
    count = 0 if "sendfile" in spec else 2
    ok, summary = verdict(pipe_leak, expect_count=[spec])
    assert ok is passed
    assert summary.startswith(f"{count} matching call{'s' if count != 1 else ''} (wanted ")


@pytest.mark.parametrize(
    ("allow", "summary", "leaked"),
    [
        ([], "2 descriptors leaked", [3, 4]),
        ([3], "1 descriptor leaked", [4]),
        ([4], "1 descriptor leaked", [3]),
        ([5], "2 descriptors leaked", [3, 4]),
        ([3, 4], "no leaks across 2 execs", []),
        ([4, 3, 5], "no leaks across 2 execs", []),
    ],
)
def test_allow_fd(allow: list[int], summary: str, leaked: list[int], pipe_leak: sysprobe.Trace) -> None:
    (result,) = pipe_leak.check(RuleSet(no_fd_leaks=True, allow_fds=allow)).results
    assert (result.passed, result.summary) == (not leaked, summary)
    assert result.rule == "--no-fd-leaks" + "".join(f" --allow-fd {fd}" for fd in allow)  # as written
    shown = [str(e) for e in result.evidence]
    if leaked:
        assert [int(line.split()[1]) for line in shown] == leaked
        assert all("leaked into pid" in line for line in shown)
    else:
        assert [re.fullmatch(r"allowed: fd (\d+) \(pipe:\[\d+\]\)", line) is not None for line in shown] == [
            True,
            True,
        ]
        assert [int(line.split()[2]) for line in shown] == [3, 4]
    assert [leak.fd for leak in pipe_leak.leaks(allow=allow)] == leaked


@pytest.mark.parametrize(
    ("pattern", "passed", "summary"),
    [
        ("pipe2", False, "1 matching call"),
        ("execve = 0", False, "2 matching calls"),
        ("pipe2(*, O_CLOEXEC)", True, "no call matched"),
        ("sendfile", True, "no call matched"),
    ],
)
def test_forbid(pattern: str, passed: bool, summary: str, pipe_leak: sysprobe.Trace) -> None:
    assert verdict(pipe_leak, forbid=[pattern]) == (passed, summary)
    assert verdict(pipe_leak, expect=[pattern])[0] is not passed  # --expect is its opposite
    if passed:
        pipe_leak.assert_not_called(pattern)
    else:
        with pytest.raises(AssertionError, match=f"FAIL  --forbid {re.escape(pattern)}: {summary}"):
            pipe_leak.assert_not_called(pattern)


@pytest.mark.usefixtures("strace_ok")
@pytest.mark.parametrize("flags", ["0", "os.O_CLOEXEC"])
def test_cloexec_without_any_exec(flags: str) -> None:
    """A descriptor closed without close-on-exec violates --cloexec even when
    no exec ever happens (the process might have exec'd while it was open)."""
    code = f"import os; r, w = os.pipe2({flags}); os.close(r); os.close(w)"
    t = sysprobe.trace([sys.executable, "-c", code], backend="strace")
    assert [e.program for e in t.model.execs] == [sys.executable]  # its own exec, before the pipe
    (result,) = t.check(RuleSet(cloexec=["pipe2"])).results
    if flags == "0":
        assert (result.passed, result.summary) == (False, "2 violations")
        for fd, line in zip((3, 4), result.evidence, strict=True):
            assert re.fullmatch(
                rf"fd {fd} \(pipe:\[\d+\]\) from pipe2 at line \d+ in pid \d+ closed at line \d+ "
                r"without close-on-exec",
                str(line),
            ), line
    else:
        assert result.passed and result.summary.endswith(", close-on-exec throughout")


@pytest.mark.parametrize(
    ("rule", "passed", "summary", "calls"),
    [
        ("execve -> pipe2", True, "in order", ["execve", "pipe2"]),
        ("clone|fork -> wait4", True, "in order", ["clone", "wait4"]),
        # each process is judged at its first B: the program's own exec, and the child's
        # the command's own exec is not judged: nothing can come before it
        ("pipe2 -> execve = 0", False, "out of order in 1 process", ["execve"]),
        ("sendfile -> pipe2", False, "out of order in 1 process", ["pipe2"]),
        ("pipe2 -> sendfile", False, "no call matched sendfile", []),
    ],
)
def test_order(rule: str, passed: bool, summary: str, calls: list[str], pipe_leak: sysprobe.Trace) -> None:
    (result,) = pipe_leak.check(RuleSet(order=[rule])).results
    assert (result.rule, result.passed, result.summary) == (f"--order {rule}", passed, summary)
    shown = [e for e in result.evidence if not isinstance(e, str)]
    assert [e.text.split("(")[0] for e in shown] == calls
    notes = [
        e for e in result.evidence if isinstance(e, str) and not e.startswith(("note: ", "not judged: "))
    ]
    before = rule.split(" -> ", maxsplit=1)[0]
    assert notes == ([] if passed else [f"  ... with no {before} before it in pid {e.pid}" for e in shown])
    if passed:
        first, then = (int(e.where.split()[1].split("+")[0]) for e in shown)  # "line 31+33": split
        assert shown[0].pid == shown[1].pid and first < then


def test_expect_exit(pipe_leak: sysprobe.Trace, tmp_path: Path) -> None:
    assert verdict(pipe_leak, expect_exit=0) == (True, "exit status 0")
    assert verdict(pipe_leak, expect_exit=1) == (False, "exit status 0, not 1")
    log = tmp_path / "trace.log"
    log.write_text(
        '10 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0\n10 +++ killed by SIGSEGV +++\n'
    )
    assert verdict(sysprobe.parse(log), expect_exit=139) == (True, "exit status 139")
    log.write_text('10 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0\n')  # cut short
    assert verdict(sysprobe.parse(log), expect_exit=0) == (False, "exit status unknown, not 0")
    (result,) = pipe_leak.check(RuleSet(expect_exit=0)).results
    assert result.rule == "--expect-exit 0"


def test_the_calls_a_check_needs_traced() -> None:
    """The derived set (check traces only these): the model's calls plus what the rules
    name; a rule that may match any call needs them all."""
    from sysprobe._kernel.syscalls import TRACKED
    from sysprobe._rules.rules import needed_syscalls

    def needed(**rules: object) -> set[str] | None:
        return needed_syscalls(RuleSet(**rules).build())  # type: ignore[arg-type]

    assert needed(no_fd_leaks=True, expect_exit=0) == set(TRACKED)
    assert needed(expect=["getpid"], forbid=["writev|readv"]) == {*TRACKED, "getpid", "writev", "readv"}
    assert needed(order=["getpid -> kill(*, 0)"], cloexec=["memfd_create"], expect_count=[">0 read"]) == {
        *TRACKED,
        "getpid",
        "kill",
        "memfd_create",
        "read",
    }
    assert "sendfile64" in (needed(expect=["sendfile"]) or set())  # its ABI variant too
    for rules in (
        {"forbid": ["*"]},
        {"order": ["* -> execve"]},
        {"cloexec": ["* = 3"]},
        {"expect_count": ["=1 *"]},
    ):
        assert needed(**rules) is None, rules


def test_cloexec_forgets_closed_creations_without_losing_a_verdict(tmp_path: Path) -> None:
    """Past PRUNE_AT tracked creations the rule forgets those closed everywhere: memory
    follows the open descriptors, and every violation is still counted."""
    from sysprobe._pipeline import Analysis
    from sysprobe._rules.rules import PRUNE_AT

    n = PRUNE_AT + 100
    lines = ['100 execve("/bin/prog", ["prog"], 0x7ffd /* 3 vars */) = 0']
    lines += ['100 openat(AT_FDCWD, "/tmp/kept", O_RDONLY|O_CLOEXEC) = 3']  # open throughout
    for i in range(n):
        lines += [f'100 openat(AT_FDCWD, "/tmp/f{i}", O_RDONLY) = 4', "100 close(4) = 0"]
    lines += ["100 brk(NULL) = 0x5000", "100 +++ exited with 0 +++"]  # brk: the log is not filtered
    analysis = Analysis(RuleSet(cloexec=["openat"]).build()).feed_all(parse_lines(lines))
    rule = analysis.rules[0]
    assert len(rule.created) < PRUNE_AT  # type: ignore[attr-defined]
    assert (100, 2) in rule.created  # type: ignore[attr-defined]  # the one still open is kept
    (result,) = analysis.finish("many").results
    assert (result.passed, result.summary) == (False, f"{n} violations")
    assert len(result.evidence) == 11 and result.evidence[-1] == f"... and {n - 10} more"
    assert str(result.evidence[0]).startswith(
        "fd 4 (/tmp/f0) from openat at line 3 in pid 100 closed at line 4"
    )


# every way a --cloexec descriptor can go wrong, or right, in one process
CLOEXEC_CASES = """\
100 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0
100 pipe2([3<pipe:[1]>, 4<pipe:[1]>], 0) = 0
100 close(4<pipe:[1]>) = 0
100 pipe2([5<pipe:[2]>, 6<pipe:[2]>], O_CLOEXEC) = 0
100 close(6<pipe:[2]>) = 0
100 execve("/bin/next", ["next"], 0x7ffe /* 3 vars */) = 0
100 pipe2([4<pipe:[3]>, 6<pipe:[3]>], 0) = 0
100 fcntl(4<pipe:[3]>, F_SETFD, FD_CLOEXEC) = 0
100 openat(AT_FDCWD, "/a", O_RDONLY) = 7</a>
100 openat(AT_FDCWD, "/b", O_RDONLY|O_CLOEXEC) = 7</b>
100 brk(NULL) = 0x5000
"""
CLOSED_WITHOUT = "fd 4 (pipe:[1]) from pipe2 at line 2 in pid 100 closed at line 3 without close-on-exec"
CROSSED = (
    "fd 3 (pipe:[1]) from pipe2 at line 2 in pid 100 crossed exec of /bin/next at line 6 "
    "without close-on-exec"
)
# the model never saw 7 closed before the second openat returned it again
REPLACED = "fd 7 (/a) from openat at line 9 in pid 100 closed without close-on-exec"
# fd 3 crossed an exec (said once); fd 6 is still held at the end, without the flag
OPEN_AT_THE_END = "fd 6 (pipe:[3]) from pipe2 at line 7 in pid 100 is open at the end without close-on-exec"
HELD_AT_EXIT = (
    "fd 6 (pipe:[3]) from pipe2 at line 7 in pid 100 held until pid 100 exited at line 12 "
    "without close-on-exec"
)


@pytest.mark.parametrize("ends", [True, False])
def test_cloexec_violations(ends: bool, tmp_path: Path) -> None:
    log = tmp_path / "trace.log"
    log.write_text(CLOEXEC_CASES + ("100 +++ exited with 0 +++\n" if ends else ""))
    t = sysprobe.parse(log)
    (result,) = t.check(RuleSet(cloexec=["pipe2|openat"])).results
    # a descriptor held until its process exits never had the flag either: the process
    # might have exec'd instead (each descriptor's lifelong lack is said once)
    expected = [CLOSED_WITHOUT, CROSSED, REPLACED, HELD_AT_EXIT if ends else OPEN_AT_THE_END]
    assert (result.rule, result.passed, result.summary) == ("--cloexec pipe2|openat", False, "4 violations")
    assert result.evidence == expected
    (fine,) = t.check(RuleSet(cloexec=["pipe2(*, O_CLOEXEC)"])).results
    held = "2 descriptors from 1 call, close-on-exec throughout"
    pipe2 = "line 4 pid 100: pipe2([5<pipe:[2]>, 6<pipe:[2]>], O_CLOEXEC) = 0"
    if ends:
        assert (fine.passed, fine.summary) == (True, held)
        assert [e.render() for e in fine.evidence] == [pipe2]  # type: ignore[union-attr]
    else:  # the log stops before its process ends: what held so far is no verdict
        assert (fine.verdict, fine.evidence[0]) == ("undecided", f"seen: {held}")
    (none,) = t.check(RuleSet(cloexec=["sendfile"])).results
    assert (none.passed, none.summary, none.evidence) == (False, "no descriptor was created by sendfile", [])
    (both,) = t.check(RuleSet(cloexec=["openat"])).results
    assert both.summary == "1 violation" and both.evidence == [REPLACED]


CONNECT6 = (
    "connect(3, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), "
    'inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0'
)


@pytest.mark.parametrize(
    ("pattern", "line", "expected"),
    [
        # values inside calls: htons(), makedev(), inet_addr()
        ("bind(*, {sin_port=htons(80)})", "bind(3, {sa_family=AF_INET, sin_port=htons(80)}, 16) = 0", True),
        (
            "bind(*, {sin_port=htons(80)})",
            "bind(3, {sa_family=AF_INET, sin_port=htons(8080)}, 16) = 0",
            False,
        ),
        ("bind(*, {sin_port=htons(80)})", "bind(3, {sa_family=AF_INET, sin_port=80}, 16) = 0", False),
        ("bind(*, {sin_port=ntohs(80)})", "bind(3, {sa_family=AF_INET, sin_port=htons(80)}, 16) = 0", False),
        ("mknod(*, *, makedev(1, ...))", 'mknod("/x", S_IFCHR, makedev(0x1, 0x3)) = 0', True),
        (
            "mknod(*, *, makedev(1))",
            'mknod("/x", S_IFCHR, makedev(0x1, 0x3)) = 0',
            False,
        ),  # one argument short
        ("mknod(*, *, makedev(1, 5))", 'mknod("/x", S_IFCHR, makedev(0x1, 0x3)) = 0', False),
        # a value changed by the call: before => after
        ("sendfile(*, *, [0] => [3], 3)", "sendfile(4, 5, [0] => [4], 3) = 3", False),
        ("sendfile(*, *, [1] => [3], 3)", "sendfile(4, 5, [0] => [3], 3) = 3", False),
        ("sendfile(*, *, [0] => [3], 3)", "sendfile(4, 5, [0], 3) = 3", False),
        # signal sets, complemented or not
        (
            "rt_sigprocmask(SIG_BLOCK, [TERM CHLD], ...)",
            "rt_sigprocmask(SIG_BLOCK, [CHLD TERM], NULL, 8) = 0",
            True,
        ),
        (
            "rt_sigprocmask(SIG_BLOCK, [CHLD INT], ...)",
            "rt_sigprocmask(SIG_BLOCK, [CHLD TERM], NULL, 8) = 0",
            False,
        ),
        ("rt_sigprocmask(*, ~[CHLD], ...)", "rt_sigprocmask(SIG_BLOCK, [CHLD TERM], NULL, 8) = 0", False),
        # strace writes a set of one as an array: a set of two cannot be in it
        ("rt_sigprocmask(*, [CHLD TERM], ...)", "rt_sigprocmask(SIG_BLOCK, [CHLD], NULL, 8) = 0", False),
        ("rt_sigprocmask(*, ~[KILL], ...)", "rt_sigprocmask(SIG_BLOCK, [CHLD], NULL, 8) = 0", False),
        ("rt_sigprocmask(*, [CHLD CHLD], ...)", "rt_sigprocmask(SIG_BLOCK, [CHLD], NULL, 8) = 0", True),
        ("rt_sigprocmask(*, ~[KILL], ...)", "rt_sigprocmask(SIG_SETMASK, ~[KILL STOP], NULL, 8) = 0", True),
        # descriptors by number, by -y path (glob), or by name
        ("read(3</etc/*>, ...)", 'read(3</etc/hostname>, "x", 1) = 1', True),
        ("read(4</etc/*>, ...)", 'read(3</etc/hostname>, "x", 1) = 1', False),
        ("read(3</etc/hostname>, ...)", 'read(3</etc/passwd>, "x", 1) = 1', False),
        ("read(3</etc/hostname>, ...)", 'read(3</etc/hostname>, "x", 1) = 1', True),
        ("openat(AT_FDCWD, ...)", 'openat(AT_FDCWD</tmp>, "/x", O_RDONLY) = 3', True),
        ("openat(3, ...)", 'openat(AT_FDCWD</tmp>, "/x", O_RDONLY) = 3', False),
        # a string strace cut short matches only when whatever followed would: else it
        # may match (test_what_strace_cut_short_may_match)
        ('write(1, "hello world")', 'write(1, "hello"..., 11) = 11', False),
        ('write(1, "hel*")', 'write(1, "hello"..., 11) = 11', True),
        ('write(1, "help")', 'write(1, "hello"..., 11) = 11', False),
        ('write(1, "hel")', 'write(1, "hello", 5) = 5', False),
        # arrays: each wanted item somewhere, an empty one only for an empty one
        (
            "poll([{fd=3}, {fd=4}], ...)",
            "poll([{fd=4, events=POLLIN}, {fd=3, events=POLLIN}], 2, -1) = 1",
            True,
        ),
        (
            "poll([{fd=3}, {fd=5}], ...)",
            "poll([{fd=4, events=POLLIN}, {fd=3, events=POLLIN}], 2, -1) = 1",
            False,
        ),
        ("poll([], ...)", "poll([], 0, 10) = 0 (Timeout)", True),
        ("poll([], ...)", "poll([{fd=3, events=POLLIN}], 1, 10) = 0 (Timeout)", False),
        ("poll([{fd=3}], ...)", "poll(NULL, 0, 10) = 0 (Timeout)", False),
        # struct fields by name, and a field the call does not have
        ("clone3({exit_signal=SIGCHLD})", "clone3({flags=CLONE_VM, exit_signal=SIGCHLD}, 88) = 7", True),
        ("clone3({exit_signal=SIGCHLD})", "clone3({flags=CLONE_VM, exit_signal=0}, 88) = 7", False),
        ("clone3({stack=NULL})", "clone3({flags=CLONE_VM, exit_signal=0}, 88) = 7", False),
        ("clone3({CLONE_VM})", "clone3({flags=CLONE_VM, exit_signal=0}, 88) = 7", False),
        ("clone3(7)", "clone3({flags=CLONE_VM, exit_signal=0}, 88) = 7", False),
        ("clone(flags=CLONE_VM)", "clone(child_stack=NULL, flags=SIGCHLD) = 7", False),
        ("clone(child_tidptr=NULL)", "clone(child_stack=NULL, flags=SIGCHLD) = 7", False),  # no such argument
        # a call inside an argument: its name, its arguments by value, "..." for the rest
        ("connect(*, {inet_pton(10, ...)}, *)", CONNECT6, True),
        ('connect(*, {inet_pton(AF_INET6, "::1", ...)}, *)', CONNECT6, True),
        ("connect(*, {inet_pton(2, ...)}, *)", CONNECT6, False),
        ('connect(*, {inet_pton(10, "::2", ...)}, *)', CONNECT6, False),
        ("connect(*, {inet_pton(10)}, *)", CONNECT6, False),  # fewer arguments, no "..."
        # ? is a wildcard too; without * or ?, brackets are literal
        ('write(1, "h?llo")', 'write(1, "hello", 5) = 5', True),
        ('write(1, "x[1]")', 'write(1, "x[1]", 4) = 4', True),
        # numbers: decimal, hex and named constants compare by value
        ("lseek(3, 16, SEEK_SET)", "lseek(3, 0x10, SEEK_SET) = 16", True),
        ("lseek(3, 17, SEEK_SET)", "lseek(3, 0x10, SEEK_SET) = 16", False),
        ("lseek(3, 16, SEEK_CUR)", "lseek(3, 16, SEEK_SET) = 16", False),
        ("close(3)", "close(4) = 0", False),
        ("close(3, 4)", "close(3) = 0", False),  # more arguments than the call has
    ],
)
def test_pattern_values(pattern: str, line: str, expected: bool) -> None:
    assert matches(pattern, line) is expected


@pytest.mark.parametrize(
    ("pattern", "line", "certain", "possible"),
    [
        # a string cut at -s: the part shown decides when it can
        ('write(*, "*SECRET*")', 'write(1, "0123"..., 60) = 60', False, True),
        ('write(*, "*SECRET*")', 'write(1, "0SECRET"..., 60) = 60', True, True),
        ('write(*, "*.txt")', 'write(1, "a.txt"..., 60) = 60', False, True),  # the end is unknown
        ('write(*, "abc*")', 'write(1, "xyz"..., 60) = 60', False, False),  # the start is known
        ('write(*, "ab?d*")', 'write(1, "a"..., 60) = 60', False, True),
        ('write(*, "[h]ello*SECRET*")', 'write(1, "hello"..., 60) = 60', False, True),  # a class
        ('write(*, "hello world")', 'write(1, "hello"..., 11) = 11', False, True),
        ('write(*, "hello")', 'write(1, "hello"..., 11) = 11', False, False),  # longer than that
        ('write(*, "help")', 'write(1, "hello"..., 11) = 11', False, False),
        ('write(*, "hello world")', 'write(1, "hello", 5) = 5', False, False),  # not cut: a miss
        # a struct strace abbreviated (...): a field or item it left out may be the one
        (
            "newfstatat(*, *, {st_uid=0}, ...)",
            'newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=5, ...}, AT_EMPTY_PATH) = 0',
            False,
            True,
        ),
        (
            "newfstatat(*, *, {st_size=6}, ...)",
            'newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=5, ...}, AT_EMPTY_PATH) = 0',
            False,
            False,
        ),
        (
            "newfstatat(*, *, {st_uid=0}, ...)",
            'newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=5}, AT_EMPTY_PATH) = 0',
            False,
            False,
        ),
        # an array strace cut short
        ("poll([{fd=9}], ...)", "poll([{fd=3, events=POLLIN}, ...], 40, -1) = 1", False, True),
        ("poll([{fd=9}], ...)", "poll([{fd=3, events=POLLIN}], 1, -1) = 1", False, False),
        # contents strace showed only as an address (an environment, a directory's entries)
        (
            'execve(*, *, ["LD_PRELOAD=*"])',
            'execve("/bin/true", ["true"], 0x7ffd /* 35 vars */) = 0',
            False,
            True,
        ),
        (
            'getdents64(*, [{d_name="passwd"}], *)',
            "getdents64(3</etc>, 0x5585 /* 20 entries */, 32768) = 640",
            False,
            True,
        ),
        (
            'getdents64(*, [{d_name="passwd"}], *)',
            "getdents64(3</etc>, 0x5585 /* 0 entries */, 32768) = 0",
            False,
            False,
        ),
        # a struct strace showed as an address only
        (
            "newfstatat(*, *, {st_uid=0}, ...)",
            'newfstatat(3, "", 0x7ffe1234, AT_EMPTY_PATH) = 0',
            False,
            True,
        ),
        # a field strace left out is skipped, a field it showed still decides
        (
            "newfstatat(*, *, {st_uid=0, st_size=6}, ...)",
            'newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=5, ...}, AT_EMPTY_PATH) = 0',
            False,
            False,
        ),
        # "..." in a pattern's struct: the fields after it still count
        (
            "newfstatat(*, *, {st_mode=*, ..., st_size=6}, ...)",
            'newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=5}, AT_EMPTY_PATH) = 0',
            False,
            False,
        ),
        (
            "newfstatat(*, *, {st_mode=*, ..., st_size=5}, ...)",
            'newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=5}, AT_EMPTY_PATH) = 0',
            True,
            True,
        ),
        # a cut string inside a struct, and positional items of a struct
        (
            'connect(*, {sun_path="/run/some/longer/path"}, *)',
            'connect(3, {sa_family=AF_UNIX, sun_path="/run/some/lo"...}, 110) = 0',
            False,
            True,
        ),
        ("clone3({CLONE_VM})", "clone3({flags=CLONE_VM, ...}, 88) = 7", False, True),
        ("setsockopt(*, *, *, {1}, *)", "setsockopt(3, SOL_SOCKET, SO_LINGER, {1, 0}, 8) = 0", True, True),
        ("setsockopt(*, *, *, {2}, *)", "setsockopt(3, SOL_SOCKET, SO_LINGER, {1, 0}, 8) = 0", False, False),
        (
            'setsockopt(*, *, *, {"abcdef"}, *)',
            'setsockopt(3, SOL_SOCKET, SO_LINGER, {"abc"..., 0}, 8) = 0',
            False,
            True,
        ),
        # the part before the first wildcard must agree with what strace showed
        ('write(*, "a?cd?")', 'write(1, "axc"..., 60) = 60', False, True),
        ('write(*, "ab?d")', 'write(1, "a"..., 60) = 60', False, True),
        ('write(*, "b?d")', 'write(1, "a"..., 60) = 60', False, False),
        ('write(*, "[h]ello[x]*SECRET")', 'write(1, "hello"..., 60) = 60', False, True),
        # the name and the result still decide
        ('read(*, "*SECRET*")', 'write(1, "0123"..., 60) = 60', False, False),
        ('write(*, "*SECRET*") = -1', 'write(1, "0123"..., 60) = 60', False, False),
    ],
)
def test_what_strace_cut_short_may_match(pattern: str, line: str, certain: bool, possible: bool) -> None:
    compiled, ev = parse_pattern(pattern), call(line)
    assert compiled.matches(ev, CONSTS) is certain
    assert compiled.could_match(ev, CONSTS) is possible


@pytest.mark.parametrize(
    ("pattern", "limit"),
    [
        ("write", 0),
        ("write(1, *, 5)", 0),
        ('write(1, "hello", 5)', 6),
        ('openat(*, "/etc/*", ...)', 4096),
        ('sendmsg(*, {msg_iov=[{iov_base="abc"}]}, *)', 4),
    ],
)
def test_the_string_limit_a_pattern_needs(pattern: str, limit: int) -> None:
    assert parse_pattern(pattern).string_limit == limit


CUT_LOG = """\
100 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0
100 write(1, "0123456789"..., 60) = 60
100 write(1, "0123456789"..., 60) = -1 EPIPE (Broken pipe)
100 exit_group(0) = ?
100 +++ exited with 0 +++
"""


@pytest.mark.parametrize(
    ("args", "verdict"),
    [
        (["--forbid", 'write(*, "*SECRET*")'], "undecided"),
        (["--forbid", 'write(*, "9*")'], "pass"),  # the shown start rules it out
        (["--forbid", 'write(*, "0123*")'], "fail"),
        (["--expect", 'write(*, "*SECRET*")'], "undecided"),
        (["--expect", 'write(*, "*SECRET*") = -1'], "undecided"),
        (["--expect-count", '<=1 write(*, "*SECRET*")'], "undecided"),  # 0, 1 or 2 of them
        (["--expect-count", '<=2 write(*, "*SECRET*")'], "pass"),  # whichever they were
        (["--expect-count", '>=3 write(*, "*SECRET*")'], "fail"),
    ],
)
def test_a_string_cut_short_leaves_the_rule_undecided(tmp_path: Path, args: list[str], verdict: str) -> None:
    log = tmp_path / "cut.log"
    log.write_text(CUT_LOG)
    done = check("--json-report", "-", "--log", str(log), *args)
    report = json.loads(done.stdout)
    (rule,) = report["results"]
    assert rule["verdict"] == verdict, done.stdout
    assert done.returncode == {"pass": 0, "fail": 1, "undecided": 75}[verdict]
    if verdict == "undecided":
        assert "may match: the trace shows only part of" in rule["summary"]
        shown = {item["where"] for item in rule["evidence"] if item["note"]}
        assert shown == ({"line 3"} if "= -1" in args[1] else {"line 2", "line 3"})


ORDER_CUT_LOG = """\
100 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0
100 brk(NULL) = 0x5000
100 write(1, "BEGIN-0123456789"..., 60) = 60
100 openat(AT_FDCWD, "/tmp/a-very-long-name-strace-cut"..., O_RDONLY) = 3
100 exit_group(0) = ?
100 +++ exited with 0 +++
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--order", 'write(1, "BEGIN-0123456789012345678901234567890123456789") -> exit_group'],
        ["--cloexec", 'openat(*, "/tmp/a-very-long-name-strace-cut-short", *)'],
    ],
)
def test_order_and_cloexec_on_a_string_cut_short_are_undecided(tmp_path: Path, args: list[str]) -> None:
    """Their patterns meet a string strace cut: neither "out of order" nor "no descriptor
    was created" is evidence then (both were reds before)."""
    log = tmp_path / "cut.log"
    log.write_text(ORDER_CUT_LOG)
    done = check("--log", str(log), *args)
    assert done.returncode == 75, done.stderr
    assert "1 call may match: the trace shows only part of its arguments" in done.stderr
    assert "(may match: part of it was not shown)" in done.stderr


def test_an_order_check_traces_strings_as_long_as_its_patterns_need() -> None:
    text = "BEGIN-0123456789012345678901234567890123456789"
    done = check("--order", f'write(1, "{text}") -> exit_group', "--", "printf", text)
    assert done.returncode == 0, done.stderr
    assert "PASS  --order" in done.stderr


def test_a_failed_call_that_may_match_is_shown_as_nearest(tmp_path: Path) -> None:
    """An --expect without a result condition wants a call that worked: one that failed and
    may match is no evidence for it, but it is the nearest call, not "no write at all"."""
    log = tmp_path / "ep.log"
    log.write_text(CUT_LOG.replace("= 60\n", "= -1 EPIPE (Broken pipe)\n", 1))
    done = check("--log", str(log), "--expect", 'write(1, "0123456789abc*")')
    assert "the trace has no write call at all" not in done.stderr, done.stderr
    assert "nearest calls:" in done.stderr and "(may match: part of it was not shown)" in done.stderr


@pytest.mark.parametrize("backend", ["strace", "ptrace"])
def test_a_check_traces_strings_as_long_as_its_patterns_need(backend: str, tmp_path: Path) -> None:
    """The secret lies past strace's default -s 32: the check raises -s and sees it."""
    script = tmp_path / "secret.py"
    script.write_text("import os\nos.write(1, b'x' * 40 + b' SECRET\\n')\n")
    done = check("--backend", backend, "--forbid", 'write(*, "*SECRET*")', "--", sys.executable, str(script))
    assert done.returncode == 1, done.stderr
    assert re.search(r'write\(1.*"x+ SECRET\\n", 48\) = 48$', done.stderr, re.M), done.stderr
    long = tmp_path / "long.py"
    long.write_text("import os\nos.write(1, b'x' * 5000 + b' SECRET\\n')\n")
    done = check("--backend", backend, "--forbid", 'write(*, "*SECRET*")', "--", sys.executable, str(long))
    assert done.returncode == 75, done.stderr  # past even the raised limit: undecided
    assert "UNDECIDED  --forbid" in done.stderr


@pytest.mark.parametrize(
    ("pattern", "verbose"),
    [
        ("write", False),
        ('openat(*, "/etc/*", ...)', False),
        ('execve(*, *, ["LD_PRELOAD=*"])', True),
        ("newfstatat(*, *, {st_size=0, ...}, 0)", True),
        ('sendmsg(*, {msg_iov=[{iov_base="abc"}]}, *)', True),
    ],
)
def test_a_pattern_that_looks_inside_a_struct_or_array_needs_v(pattern: str, verbose: bool) -> None:
    assert parse_pattern(pattern).verbose is verbose


@pytest.mark.parametrize(("backend", "code"), [("strace", 1), ("ptrace", 75)])
def test_a_check_traces_with_v_when_its_patterns_look_inside(backend: str, code: int) -> None:
    """strace shows an environment as `0x7ffd /* 35 vars */` unless -v: the check asks for
    it and finds the variable (a red, with the call). The ptrace backend abbreviates still:
    the rule stays undecided there, never green."""
    done = check(
        "--backend",
        backend,
        "--forbid",
        'execve(*, *, ["LD_PRELOAD=*"])',
        "--",
        "env",
        "LD_PRELOAD=",
        "/bin/true",
    )
    assert done.returncode == code, done.stderr
    if code == 1:
        assert re.search(r'execve\("/bin/true", \["/bin/true"\], \[.*"LD_PRELOAD="\]\) = 0', done.stderr)


@pytest.mark.parametrize(
    ("pattern", "line", "reason"),
    [
        ("close(3, 4)", "close(3) = 0", "the call has 1 argument"),
        ("write(1, *, 1, 4)", 'write(1, "x", 1) = 1', "the call has 3 arguments"),
        (
            "clone(child_tidptr=NULL)",
            "clone(child_stack=NULL, flags=SIGCHLD) = 7",
            "no argument child_tidptr=",
        ),
        (
            "clone(flags=CLONE_VM)",
            "clone(child_stack=NULL, flags=SIGCHLD) = 7",
            "argument 1 is SIGCHLD, not CLONE_VM",
        ),
        ("close = 0", "close(3) = -1 EBADF (Bad file descriptor)", "the result is -1 EBADF, not = 0"),
        ("exit_group = 0", "exit_group(0) = ?", "the result is ?, not = 0"),
        ("openat", 'open("/x", O_RDONLY) = 3', "the call is open"),
    ],
)
def test_pattern_mismatch_reasons(pattern: str, line: str, reason: str) -> None:
    assert parse_pattern(pattern).mismatch(call(line), CONSTS) == reason


EVIDENCE_LOG = """\
100 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0
100 close(3) = 0
100 close(4) = -1 EBADF (Bad file descriptor)
100 read(5, <unfinished ...>
101 close(6) = 0
100 <... read resumed>"x", 1) = 1
100 close(7) = 0
100 close(8) = 0
100 close(9) = 0
100 close(10) = 0
100 fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)
100 openat(AT_FDCWD, "/x", O_RDONLY) = 3
100 write(1, "y", 1 <unfinished ...>
100 brk(NULL) = 0x5000
100 +++ exited with 0 +++
"""
FIVE_CLOSES = [
    "line 2 pid 100: close(3) = 0",
    "line 5 pid 101: close(6) = 0",
    "line 7 pid 100: close(7) = 0",
    "line 8 pid 100: close(8) = 0",
    "line 9 pid 100: close(9) = 0",
    "... and 1 more",
]


@pytest.mark.parametrize(
    ("rules", "passed", "summary", "evidence"),
    [
        ({"expect": ["close = 0"]}, True, "6 matching calls", FIVE_CLOSES),
        ({"forbid": ["close = 0"]}, False, "6 matching calls", FIVE_CLOSES),
        ({"expect_count": ["=0 close = 0"]}, False, "6 matching calls (wanted = 0)", FIVE_CLOSES),
        ({"expect": ["read"]}, True, "1 matching call", ['line 4+6 pid 100: read(5, "x", 1) = 1']),
        (
            {"expect": ["fcntl(*, F_GETFL)"]},
            True,
            "1 matching call",
            ["line 11 pid 100: fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)"],
        ),
        ({"expect": ["write"]}, True, "1 matching call", ['line 13 pid 100: write(1, "y", 1) <unfinished>']),
        (
            {"expect": ["close_range"]},
            False,
            "no call matched",
            ["the trace has no close_range call at all; calls with similar names: close"],
        ),
        (
            {"expect": ['openat(*, "/y")']},
            False,
            "no call matched",
            [
                "nearest calls:",
                'line 12 pid 100: openat(AT_FDCWD, "/x", O_RDONLY) = 3   (argument 2 is "/x", not "/y")',
            ],
        ),
        (
            {"expect": ["sendfile"]},
            False,
            "no call matched",
            ["the trace has no sendfile or sendfile64 call at all"],
        ),
        (
            {"expect_count": ["=2 openat"]},
            False,
            "1 matching call (wanted = 2)",
            ['line 12 pid 100: openat(AT_FDCWD, "/x", O_RDONLY) = 3'],
        ),
    ],
)
def test_evidence_reads_as_strace_wrote_it(
    rules: dict[str, list[str]], passed: bool, summary: str, evidence: list[str], tmp_path: Path
) -> None:
    """Each matching call once, however strace split it; at most five, then a count; and
    when nothing matched, the nearest calls or the names that exist."""
    log = tmp_path / "trace.log"
    log.write_text(EVIDENCE_LOG)
    (result,) = sysprobe.parse(log).check(RuleSet(**rules)).results  # type: ignore[arg-type]
    assert (result.passed, result.summary) == (passed, summary)
    assert [e if isinstance(e, str) else e.render() for e in result.evidence] == evidence


@pytest.mark.parametrize(
    ("pattern", "line", "certain", "possible"),
    [
        # a number against a named constant, by value
        ("lseek(3, 0, 0)", "lseek(3, 0, SEEK_SET) = 0", True, True),
        # a -y path without *: compared whole, brackets and all
        ("read(3</etc/host[n]ame>, ...)", 'read(3</etc/hostname>, "x", 1) = 1', False, False),
        # an array holding a string strace cut
        (
            'execve(*, ["ls", "-lah"], ...)',
            'execve("/bin/ls", ["ls", "-l"...], 0x7ffe /* 1 var */) = 0',
            False,
            True,
        ),
        # before => after: each side by value, and what strace abbreviated in either
        ("recvmsg(*, {msg_flags=0 => MSG_CTRUNC}, *)", "recvmsg(3, {msg_flags=0 => 0x8}, 0) = 1", True, True),
        ("recvmsg(*, {msg_flags=MSG_TRUNC => 0}, *)", "recvmsg(3, {msg_flags=0x20 => 0}, 0) = 1", True, True),
        (
            "clone3({exit_signal=SIGCHLD} => *, ...)",
            "clone3({flags=CLONE_VM, ...} => {parent_tid=[7]}, 88) = 7",
            False,
            True,
        ),
    ],
)
def test_values_inside_values(pattern: str, line: str, certain: bool, possible: bool) -> None:
    compiled, ev = parse_pattern(pattern), call(line)
    assert compiled.matches(ev, CONSTS) is certain
    assert compiled.could_match(ev, CONSTS) is possible


def test_what_a_pattern_asks_of_the_trace() -> None:
    """Its result condition as written, the -s its strings need (a glob's may be any
    length), and whether it looks inside a struct (strace's -v)."""
    assert [str(parse_pattern(p).result) for p in ("close = ?", "close = -1 EBADF", "close != 0")] == [
        "= ?",
        "= -1 EBADF",
        "!= 0",
    ]
    limits = ['connect(*, {inet_pton(10, "' + "a" * 50 + '")}, *)', 'write(1, "a?c")', 'write(1, "abc")']
    assert [parse_pattern(p).string_limit for p in limits] == [51, GLOB_STRING_LIMIT, 4]
    verbose = [
        "clone3({exit_signal=SIGCHLD} => *, ...)",
        "clone3(* => {parent_tid=[7]}, ...)",
        "clone3(0 => 1, ...)",
    ]
    assert [parse_pattern(p).verbose for p in verbose] == [True, True, False]


@pytest.mark.parametrize(
    ("pattern", "caret", "example"),
    [
        # a glob on names: the calls the last name begins (four at most)
        ("read | epoll_*", 13, "epoll_create|epoll_create1|epoll_ctl|epoll_ctl_old"),
        ("zz*", 2, 'openat(*, "/etc/*", O_RDONLY|O_CLOEXEC) = 3'),
        # a word that is a syscall's name, as an argument: the argument is pointed at
        ("close(close)", 6, 'openat(*, "/etc/*", O_RDONLY|O_CLOEXEC) = 3'),
        # an errno nothing is close enough to: no guess
        ("close = -1 EBADFILES", 11, "close = -1 *"),
    ],
)
def test_what_an_error_points_at_and_offers(pattern: str, caret: int, example: str) -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        parse_pattern(pattern)
    lines = str(raised.value).splitlines()
    assert lines[2] == " " * (4 + caret) + "^"
    assert lines[-1] == f"  e.g. {example}"
    assert "did you mean" not in lines[0]
