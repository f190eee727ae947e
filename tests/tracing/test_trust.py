"""No false greens at the tracing layer (issues 12 and 13): a run's verdict rests on its own
evidence, a run cut short says why, an injection is applied or refused, timeouts are
checked once, a stopped tracee stays stopped, nothing outlives a killed sysprobe. Each case
runs the real strace, the real ptrace backend and real programs, on both backends where it
applies, and asserts the exact outcome, exception and sentence."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sysprobe._tracing.backends import start
from sysprobe._tracing.base import RunOptions, checked_timeout
from sysprobe._tracing.strace.backend import StraceOptions
from sysprobe._tracing.supervisor import Leftover, PtraceRefusal, RunOutcome
from sysprobe._tracing.watchdog import Watchdog
from sysprobe.errors import RunIncomplete, TimedOut, TraceFailed, UsageError
from sysprobe.events import Event, Stopped, Syscall

from ..helpers import alive
from .test_runner import processes_with

SYSPROBE = [sys.executable, "-m", "sysprobe"]
TRACER_NAME = {"strace": "strace", "ptrace": "python-ptrace"}

# Runs one traced command with start() in a process of its own (so that it can be
# signalled, or run under another tracer) and prints its outcome, or its error, as JSON.
RUN_AND_REPORT = textwrap.dedent("""
    import json, sys
    from sysprobe._tracing.backends import start
    from sysprobe._tracing.base import RunOptions
    from sysprobe.errors import SysprobeError
    run = start(sys.argv[2:], RunOptions(), sys.argv[1])
    try:
        events = list(run.events())
    except SysprobeError as exc:
        print(json.dumps({"error": type(exc).__name__, "code": exc.exit_code, "message": str(exc)}))
        raise SystemExit(0)
    o = run.outcome
    print(json.dumps({"exit_status": o.exit_status, "incomplete": o.incomplete, "ran": o.exec_succeeded,
                      "events": len(events)}))
""")


def cli_run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command line (sysprobe's, or one that runs sysprobe) and capture its output."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)


def python_c(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def run(argv: list[str], backend: str, **options: Any) -> tuple[list[Event], RunOutcome]:
    supervisor = start(argv, RunOptions(**options), backend)
    events = list(supervisor.events())
    assert supervisor.outcome is not None
    return events, supervisor.outcome


def wait_for(condition: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def children(events: list[Event]) -> list[int]:
    """The pids the trace shows forked."""
    return [
        e.ret
        for e in events
        if isinstance(e, Syscall) and e.name in ("clone", "clone3", "fork", "vfork") and e.ret is not None
    ]


# ---- case 1: evidence, not a cache ----


@pytest.mark.usefixtures("strace_ok")
def test_under_a_tracer_the_run_is_denied_not_green(backend: str, tmp_path: Path) -> None:
    """sysprobe itself under `strace -f`: its tracer cannot trace (a process has one
    tracer). The answer is 77 with one line saying why — never strace's own failure
    status reported as the command's, so `--expect-exit 1` cannot pass either."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    for rules in (["--no-fd-leaks"], ["--expect-exit", "1"]):
        done = cli_run(["strace", "-f", "-o", os.devnull, *SYSPROBE, "check", *rules, "--", "true"], env)
        assert done.returncode == 77, done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith(
            "sysprobe: ptrace is not permitted here (sysprobe itself is traced by pid "
        )
        assert "(strace), which follows its children: a process has one tracer)" in done.stderr
    api = cli_run(["strace", "-f", "-o", os.devnull, *python_c(RUN_AND_REPORT), backend, "true"], env)
    said = json.loads(api.stdout.splitlines()[-1])
    assert (said["error"], said["code"]) == ("PtraceDenied", 77)


@pytest.mark.usefixtures("strace_ok")
def test_a_denied_run_does_not_poison_later_runs(tmp_path: Path) -> None:
    """One run under a tracer, with an empty cache, then a normal run: the normal run
    traces (a denial is never remembered)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "SYSPROBE_BACKEND": "strace"}
    check = [*SYSPROBE, "check", "--no-fd-leaks", "--", "true"]
    denied = cli_run(["strace", "-f", "-o", os.devnull, *check], env)
    assert denied.returncode == 77
    assert not list((tmp_path / "sysprobe").glob("works-*"))
    normal = cli_run(check, env)
    assert normal.returncode == 0, normal.stderr
    assert "1 process, 1 exec" in normal.stdout + normal.stderr
    assert len(list((tmp_path / "sysprobe").glob("works-*"))) == 1


@pytest.mark.usefixtures("strace_ok")
def test_a_remembered_success_cannot_make_a_denied_run_green(
    compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    """The cache says "strace works" for exactly this environment, but ptrace is refused:
    the run's own evidence (no execve in its trace) decides — 77, and the entry is gone."""
    noptrace = str(compile_c("noptrace"))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "SYSPROBE_BACKEND": "strace"}
    code = "from sysprobe._tracing.strace import binary; print(binary._environment_key(binary.locate()))"
    key = cli_run([noptrace, *python_c(code)], env).stdout.strip()  # the key in the denied environment
    assert key
    marker = tmp_path / "sysprobe" / f"works-{key}"
    marker.parent.mkdir(exist_ok=True)
    marker.write_text("seccomp")
    done = cli_run([noptrace, *SYSPROBE, "check", "--expect-exit", "1", "--", "true"], env)
    assert done.returncode == 77, done.stderr
    assert done.stderr.splitlines()[-1].startswith(
        "sysprobe: ptrace is not permitted here (this process runs under a seccomp filter); strace says: "
    )
    assert not marker.exists()


@pytest.mark.usefixtures("strace_ok")
def test_a_tracer_that_exits_without_running_the_command_is_an_error(tmp_path: Path) -> None:
    """A "strace" that writes what strace writes when its child cannot be traced (the
    child's exit) and exits 1: no execve of the command in the trace, so TraceFailed —
    not a run of `true` that exited 1."""
    fake = tmp_path / "strace"
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$1" = -V ] && { echo "strace -- version 6.1"; exit 0; }\n'
        'while [ "$1" != -o ]; do shift; done; out=$2\n'
        '[ "$out" = /dev/null ] && exit 0\n'  # its probes work
        'echo "4242 +++ exited with 1 +++" > "$out"; exit 1\n'
    )
    fake.chmod(0o755)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    supervisor = start(["true"], StraceOptions(strace=str(fake), env=env), "strace")
    with pytest.raises(TraceFailed) as raised:
        list(supervisor.events())
    assert str(raised.value) == (
        "strace exited with 1 and its trace does not show the command's own execve: "
        "true did not run under it, so there is nothing to check"
    )


# ---- case 2: incomplete runs ----


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_an_interrupted_run_is_incomplete(sig: signal.Signals, backend: str, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_AND_REPORT, backend, "sh", "-c", f"touch {ready}; exec sleep 30"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert wait_for(ready.exists)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    said = json.loads(out)
    assert said["incomplete"] == f"interrupted by {sig.name}: the command was stopped before it finished"
    assert said["exit_status"] == 128 + sig and said["ran"]


def test_a_timed_out_run_is_incomplete(backend: str) -> None:
    # long enough for the tracer to start and the command to exec under any load (0.5 s
    # once fired before python-ptrace had traced the execve, on a machine with load 8)
    events, outcome = run(["sleep", "30"], backend, timeout=2.5)
    assert outcome.incomplete == "timed out after 2.5 s: the traced processes were killed"
    assert outcome.exit_status == 137
    with pytest.raises(TimedOut, match=r"^timed out after 2.5 s") as raised:
        outcome.raise_if_incomplete()
    assert raised.value.exit_code == 124
    assert events[0].raw.split()[1].startswith("execve(")


@pytest.mark.parametrize("selection", [None, {"openat"}])
def test_a_tracer_killed_under_the_command_is_not_the_commands_status(
    selection: set[str] | None, backend: str, tmp_path: Path
) -> None:
    """`kill -KILL $PPID` kills the tracer (as the OOM killer may): the run is incomplete,
    and the tracer's 137 is not the command's exit status (unknown: None)."""
    pids = tmp_path / "pid"
    script = f"echo $$ > {pids}; kill -KILL $PPID; sleep 30; exit 3"
    _, outcome = run(["sh", "-c", script], backend, syscalls=selection)
    name = TRACER_NAME[backend]
    assert outcome.incomplete == (
        f"{name} was killed by SIGKILL while the command ran: the trace ends there, "
        "and the command's exit status is unknown"
    )
    assert outcome.exit_status is None and outcome.tracer_killed_by == "SIGKILL"
    with pytest.raises(RunIncomplete) as raised:
        outcome.raise_if_incomplete()
    assert raised.value.exit_code == 75
    assert wait_for(lambda: not alive(int(pids.read_text())), 10)  # the command, untraced now, is gone


def test_a_consumer_that_stops_reading_leaves_an_incomplete_run(backend: str) -> None:
    supervisor = start(["sleep", "30"], RunOptions(), backend)
    for _ in supervisor.events():
        break
    assert supervisor.outcome is not None
    assert (
        supervisor.outcome.incomplete
        == "the events were not read to the end: the traced processes were killed"
    )


def test_a_complete_run_says_so(backend: str) -> None:
    _, outcome = run(["sh", "-c", "exit 5"], backend)
    assert outcome.incomplete is None and outcome.exit_status == 5
    outcome.raise_if_incomplete()


# ---- case 3: an injected call is always traced and injected ----


def test_an_injection_outside_the_selection_is_applied(backend: str, tmp_path: Path) -> None:
    target = tmp_path / "made"
    events, outcome = run(
        [sys.executable, "-c", f"import os; os.mkdir({str(target)!r})"],
        backend,
        syscalls={"openat"},
        inject=["mkdir:error=EPERM"],
    )
    assert not target.exists()
    mkdirs = [e for e in events if isinstance(e, Syscall) and e.name == "mkdir"]
    assert [(e.errno, e.injected) for e in mkdirs] == [("EPERM", True)]
    assert outcome.exit_status == 1


def test_check_injects_outside_its_filter(backend: str, tmp_path: Path) -> None:
    target = tmp_path / "made"
    mkdir = f"import os; os.mkdir({str(target)!r})"
    done = cli_run(
        [*SYSPROBE, "check", "--expect-exit", "1", "--inject", "mkdir:error=EPERM", "--", *python_c(mkdir)]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not target.exists()


ONE_ACTION = "the ptrace backend injects NAME:error=ERRNO or NAME:retval=N only (one action; "


@pytest.mark.parametrize(
    ("backend_name", "spec", "message"),
    [
        ("strace", "mkdirr:error=EPERM", "strace rejected the syscall set or an expression: "),
        ("ptrace", "mkdirr:error=EPERM", "inject 'mkdirr:error=EPERM': "),
        ("ptrace", "mkdir:error=EPERM:when=2", f"inject 'mkdir:error=EPERM:when=2': {ONE_ACTION}"),
        ("ptrace", "%file:error=EPERM", "inject '%file:error=EPERM': the ptrace backend injects into calls"),
        ("ptrace", "mkdir:error=EWHAT", "inject 'mkdir:error=EWHAT': unknown errno 'EWHAT'"),
    ],
)
def test_an_injection_that_cannot_be_applied_is_an_error(
    backend_name: str, spec: str, message: str, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue(f"{backend_name}_ok")
    with pytest.raises(UsageError) as raised:
        run(["true"], backend_name, syscalls={"openat"}, inject=[spec])
    assert str(raised.value).startswith(message)
    if spec.startswith("mkdirr"):
        assert "invalid system call 'mkdirr'" in str(raised.value)


@pytest.mark.usefixtures("ptrace_ok")
def test_the_ptrace_backend_checks_selected_names_as_strace_does() -> None:
    with pytest.raises(
        UsageError, match=r"^invalid system call 'no_such_call' \(the ptrace backend knows x86_64's\)$"
    ):
        run(["true"], "ptrace", syscalls="openat,no_such_call")
    events, _ = run(["true"], "ptrace", syscalls={"openat", "no_such_call"})  # a set's names are optional
    assert {e.name for e in events if isinstance(e, Syscall)} == {"execve", "openat"}


def test_selecting_kill_starts_the_command(backend: str) -> None:
    """The ptrace backend's child once stopped itself with kill() after installing the
    filter, with no tracer yet: selecting kill failed the start as "ptrace denied"."""
    events, outcome = run(["sh", "-c", "kill -0 $$; exit 6"], backend, syscalls="kill")
    assert outcome.exit_status == 6
    assert [e.name for e in events if isinstance(e, Syscall)] == ["execve", "kill"]


# ---- case 4: timeouts, checked once ----


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "timeout 0: expected seconds greater than 0 (no timeout: leave it out)"),
        (-1.5, "timeout -1.5: expected seconds greater than 0 (no timeout: leave it out)"),
        (math.nan, "timeout nan: not a number of seconds"),
        ("nan", "timeout nan: not a number of seconds"),
        ("soon", "timeout 'soon': expected a number of seconds"),
        (True, "timeout True: expected a number of seconds"),
    ],
)
def test_nonsense_timeouts_are_usage_errors(value: object, expected: str) -> None:
    with pytest.raises(UsageError) as raised:
        checked_timeout(value)
    assert str(raised.value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), (2, 2.0), ("0.5", 0.5), (math.inf, None), (1e300, None)]
)
def test_huge_timeouts_mean_no_limit(value: object, expected: float | None) -> None:
    assert checked_timeout(value) == expected


def test_a_run_checks_its_timeout_before_anything_starts(backend: str, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    with pytest.raises(UsageError, match=r"^timeout nan: not a number of seconds$"):
        run(["touch", str(ran)], backend, timeout=math.nan)
    assert not ran.exists()
    _, outcome = run(["sh", "-c", "exit 4"], backend, timeout=1e300)  # no limit, no overflow
    assert outcome.exit_status == 4 and outcome.incomplete is None


@pytest.mark.parametrize("command", [["trace", "--no-summary"], ["check", "--no-fd-leaks"]])
@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("0", "sysprobe: timeout 0.0: expected seconds greater than 0 (no timeout: leave it out)\n"),
        ("nan", "sysprobe: timeout nan: not a number of seconds\n"),
    ],
)
def test_the_cli_rejects_nonsense_timeouts(command: list[str], value: str, said: str, backend: str) -> None:
    done = cli_run([*SYSPROBE, *command, f"--timeout={value}", "--", "true"])
    assert (done.returncode, done.stderr) == (2, said)


# ---- case 5: a tracee that stops itself, a daemon that outlives its parent ----


def test_a_stopped_tracee_stays_stopped_until_the_timeout(backend: str, tmp_path: Path) -> None:
    after = tmp_path / "after"
    events, outcome = run(["sh", "-c", f"kill -STOP $$; touch {after}"], backend, timeout=1)
    leader = events[0].pid
    assert any(isinstance(e, Stopped) and e.pid == leader and e.signal == "SIGSTOP" for e in events)
    assert not after.exists()
    assert outcome.incomplete == (
        f"timed out after 1 s; pid {leader} ({shutil.which('sh')}) stayed stopped by SIGSTOP: "
        "the traced processes were killed"
    )
    assert outcome.exit_status == 137


def test_a_stopped_tracee_resumes_on_sigcont(backend: str, tmp_path: Path) -> None:
    """Stopped means stopped (its state stays "t" a while later), and SIGCONT resumes it."""
    seen = tmp_path / "seen"
    script = (
        "sleep 30 & c=$!; sleep 0.1; kill -STOP $c; sleep 0.3; "
        f"cut -d' ' -f3 /proc/$c/stat > {seen}; kill -CONT $c; kill $c; wait $c; exit $?"
    )
    _, outcome = run(["sh", "-c", script], backend, timeout=30)
    assert seen.read_text().strip() == "t"
    assert outcome.exit_status == 128 + signal.SIGTERM and outcome.incomplete is None


def test_a_run_can_end_with_the_command(backend: str) -> None:
    """A daemon keeps `strace -f` waiting; end_with_command kills it when the command exits
    and says what it killed; the run is complete (it covers the command's whole life)."""
    # the shell waits (without forking) until its child is sleep, so the leftover is
    # "sleep" on every run, never a "sh" caught between fork and exec
    script = 'sleep 30 & c=; until [ "$c" = sleep ]; do read c < /proc/$!/comm; done; exit 4'
    events, outcome = run(["sh", "-c", script], backend, end_with_command=True, timeout=30)
    forked = children(events)
    assert outcome.exit_status == 4 and outcome.incomplete is None
    assert outcome.ended_leftovers == [Leftover(forked[0], "sleep")]
    assert outcome.notes() == [
        f"the run ended with the command: pid {forked[0]} (sleep) left running, killed"
    ]
    assert not alive(forked[0])


def test_a_timeout_says_what_the_command_left_running(backend: str) -> None:
    events, outcome = run(["sh", "-c", "sleep 30 & exit 4"], backend, timeout=1)
    forked = children(events)
    assert outcome.incomplete == (
        f"timed out after 1 s, after the command itself had ended (exit 4); it left pid {forked[0]} (sleep) "
        "running (ending the run with the command stops there): the traced processes were killed"
    )


# ---- case 6: nothing left behind ----


@pytest.mark.parametrize("command", [["trace", "--no-summary"], ["check", "--no-fd-leaks"]])
def test_a_sigkilled_sysprobe_leaves_no_process_and_no_fifo(
    command: list[str], backend: str, tmp_path: Path
) -> None:
    """SIGKILL runs no code in sysprobe: its watchdog stops the tracer, kills its tracees
    (a daemon in a session of its own included), then the tracer, and removes the FIFO."""
    work = tmp_path / "tmp"
    work.mkdir()
    marker = f"79.{os.getpid()}{len(command[0])}"
    script = f"sleep {marker} & (setsid sleep {marker} &); sleep {marker}"
    proc = subprocess.Popen(
        [*SYSPROBE, *command, "--", "sh", "-c", script],
        env={**os.environ, "TMPDIR": str(work)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert wait_for(lambda: sum(c.startswith("sleep") for c in processes_with(f"sleep {marker}")) == 3)
    assert len(list(work.iterdir())) == 1  # the run's FIFO directory
    proc.kill()
    proc.wait()
    assert wait_for(lambda: not processes_with(marker) and not list(work.iterdir()), 10), processes_with(
        marker
    )


@pytest.mark.usefixtures("strace_ok")
def test_the_watchdog_finds_a_tracer_sysprobe_never_named(tmp_path: Path) -> None:
    """sysprobe killed between starting strace and naming it to its watchdog: the watchdog
    finds strace by its -o FIFO, and leaves neither it, nor its tracees, nor the FIFO."""
    workdir = tmp_path / "run"
    workdir.mkdir()
    fifo = workdir / "trace"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    watchdog = Watchdog(str(workdir), reader)
    marker = f"81.{os.getpid()}"
    strace = subprocess.Popen(
        ["strace", "-f", "-o", str(fifo), "--", "sh", "-c", f"sleep {marker} & sleep {marker}"],
        stderr=subprocess.DEVNULL,
    )
    assert wait_for(lambda: sum(c.startswith("sleep") for c in processes_with(f"sleep {marker}")) == 2)
    os.close(reader)
    assert watchdog._proc is not None and watchdog._proc.stdin is not None
    watchdog._proc.stdin.close()  # as sysprobe's death closes it: no pid was said
    assert strace.wait(timeout=10) == -signal.SIGKILL
    assert wait_for(lambda: not processes_with(marker) and not workdir.exists(), 10)
    watchdog._proc.wait(timeout=10)


@pytest.mark.usefixtures("strace_ok")
@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--strace-arg=--no-such-option"], 78, "sysprobe: strace rejected an option: unrecognized option"),
        (["-e", "!%process"], 2, "sysprobe: -e trace=!%process: '%process' leaves out"),
    ],
)
def test_a_failed_run_leaves_no_fifo_and_no_raw_copy(
    args: list[str], code: int, said: str, tmp_path: Path
) -> None:
    work = tmp_path / "tmp"
    work.mkdir()
    raw = tmp_path / "raw.log"
    done = cli_run(
        [*SYSPROBE, "trace", "--backend", "strace", "-o", str(raw), *args, "--", "true"],
        {**os.environ, "TMPDIR": str(work)},
    )
    assert done.returncode == code
    assert done.stderr.splitlines()[-1].startswith(said), done.stderr
    assert list(work.iterdir()) == [] and not raw.exists()


# ---- case 7: the raw output path ----


@pytest.mark.parametrize(
    ("where", "said"),
    [("missing/raw.log", "No such file or directory"), ("", "it is a directory")],
)
def test_a_raw_output_path_that_cannot_be_written_is_a_usage_error(
    where: str, said: str, backend: str, tmp_path: Path
) -> None:
    work = tmp_path / "tmp"
    work.mkdir()
    path = str(tmp_path / where) if where else str(tmp_path)
    done = cli_run(
        [*SYSPROBE, "trace", "-o", path, "--", "sh", "-c", f"touch {tmp_path}/ran"],
        {**os.environ, "TMPDIR": str(work)},
    )
    assert (done.returncode, done.stderr) == (2, f"sysprobe: cannot write the trace to {path}: {said}\n")
    assert list(work.iterdir()) == [] and not (tmp_path / "ran").exists()


def test_a_non_utf8_raw_output_path_works(backend: str, tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/trace-\xff.log"
    done = subprocess.run(
        [*(os.fsencode(a) for a in SYSPROBE), b"trace", b"--no-summary", b"-o", raw, b"--", b"true"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"execve(" in Path(os.fsdecode(raw)).read_bytes()


# ---- case 8: the program's own tracer refused ----


@pytest.mark.parametrize("selection", [None, {"openat"}])
def test_a_refused_ptrace_of_the_program_is_reported(selection: set[str] | None, backend: str) -> None:
    code = "import ctypes; libc = ctypes.CDLL(None, use_errno=True); libc.ptrace(0, 0, 0, 0)"
    events, outcome = run([sys.executable, "-c", code], backend, syscalls=selection)
    leader = events[0].pid
    assert leader is not None
    call = next(e for e in events if isinstance(e, Syscall) and e.name == "ptrace")
    expected = PtraceRefusal(leader, "PTRACE_TRACEME", sys.executable, call.line)
    assert outcome.ptrace_refused == [expected]
    assert outcome.notes() == [
        f"the command's own ptrace was refused (pid {leader} ({sys.executable}): ptrace(PTRACE_TRACEME) = -1 "
        f"EPERM (line {call.line})): a traced process cannot be traced again, so its strace or debugger did "
        "not work and it may have degraded"
    ]


@pytest.mark.usefixtures("strace_ok")
def test_a_program_running_strace_is_seen_refused(backend: str) -> None:
    _, outcome = run(["strace", "-o", os.devnull, "true"], backend, syscalls={"openat"})
    refused = outcome.ptrace_refused
    assert refused and {r.request for r in refused} <= {"PTRACE_TRACEME", "PTRACE_SEIZE", "PTRACE_ATTACH"}
    assert outcome.exit_status == 1  # strace could not trace `true`
