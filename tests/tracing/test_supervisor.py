"""One supervisor for both tracers: what a run does to the program that called sysprobe
(its children, threads, signals and CPUs stay its own), and what it leaves behind (nothing),
on both backends. The ptrace backend's tracer is a process of its own, started like strace."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import sysprobe
from sysprobe import Trace
from sysprobe._tracing.backends import start
from sysprobe._tracing.base import RunOptions
from sysprobe.errors import PtraceDenied, StraceMissing
from sysprobe.events import Syscall

from ..helpers import alive

SYSPROBE = [sys.executable, "-m", "sysprobe"]


def test_the_callers_own_children_keep_their_status(backend: str) -> None:
    """A trace reaps only its own tracees: a child the caller started before it, which ends
    during it, is still the caller's to wait for, with its own exit status."""
    child = subprocess.Popen(["sh", "-c", "sleep 0.3; exit 3"])
    t = sysprobe.trace(["sh", "-c", "sleep 1; exit 5"], backend=backend)
    assert t.exit_status == 5
    assert child.wait(timeout=30) == 3


def test_two_traces_from_two_threads(backend: str) -> None:
    traces: dict[int, Trace] = {}
    errors: list[BaseException] = []

    def run(code: int) -> None:
        try:
            traces[code] = sysprobe.trace(["sh", "-c", f"sleep 0.5; exit {code}"], backend=backend)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(code,)) for code in (3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a trace hangs"
    assert errors == []
    assert {code: t.exit_status for code, t in traces.items()} == {3: 3, 4: 4}
    for t in traces.values():  # each trace holds its own command, and only it
        assert len({e.pid for e in t.events if e.pid is not None}) == 2  # sh, sleep
        assert t.outcome is not None and t.outcome.leader_pid == t.events[0].pid


def test_the_callers_cpus_are_restored(backend: str) -> None:
    before = os.sched_getaffinity(0)
    if len(before) < 2:
        pytest.skip("one CPU: placement leaves everything where it is")
    cpus: set[int] = set()

    def note(_: object) -> None:
        cpus.update(os.sched_getaffinity(0))

    run = start(["true"], RunOptions(placement="pin"), backend)
    for event in run.events():
        note(event)
    assert cpus and min(before) not in cpus  # sysprobe parses on the CPUs the tracer leaves it
    assert os.sched_getaffinity(0) == before


def test_the_command_gets_the_same_signal_state_on_both_backends(tmp_path: Path) -> None:
    """Blocked and ignored signals as under strace: none of the tracer's own (the ptrace
    backend's tracing process is Python, which ignores SIGPIPE and blocks ^C)."""
    seen = {}
    for name in ("strace", "ptrace"):
        out = tmp_path / name
        sysprobe.trace(["sh", "-c", f"grep -E '^Sig(Blk|Ign)' /proc/$$/status > {out}"], backend=name)
        seen[name] = out.read_text()
    assert seen["ptrace"] == seen["strace"]
    assert "SigBlk:\t0000000000000000" in seen["ptrace"]


def test_a_killed_tracer_leaves_no_tracee(backend: str) -> None:
    """The tracer dies mid-run (the OOM killer, a stray kill): its tracees die too — under
    strace by the supervisor's survivor kill, under ptrace by PTRACE_O_EXITKILL."""
    script = "import os, time\nif os.fork() == 0:\n    os.setsid()\ntime.sleep(60)"
    run = start([sys.executable, "-c", script], RunOptions(syscalls={"clone", "fork", "clone3"}), backend)
    pids: set[int] = set()
    for event in run.events():
        if isinstance(event, Syscall) and event.name in ("clone", "fork", "clone3") and event.ret:
            pids |= {event.pid or 0, event.ret}
            time.sleep(0.3)  # both processes are in their sleep now
            assert run._proc is not None
            os.kill(run._proc.pid, signal.SIGKILL)
    assert len(pids) == 2
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    assert not [pid for pid in pids if alive(pid)]


def test_stopping_early_leaves_nothing_behind(backend: str) -> None:
    """The consumer walks away mid-run: the tracer and the whole traced tree are gone."""
    run = start(["sh", "-c", "sleep 60 & sleep 60"], RunOptions(), backend)
    pids: set[int] = set()
    for event in run.events():
        if event.pid is not None:
            pids.add(event.pid)
        if len(pids) == 2:
            break  # the generator is closed here: CPython frees it at once
    assert run._proc is not None and run._proc.returncode is not None  # the tracer was waited for
    time.sleep(0.1)
    assert len(pids) == 2 and not [pid for pid in pids if alive(pid)]


def test_events_stream_while_the_command_runs(tmp_path: Path, backend: str) -> None:
    """The command waits for a file that the test creates only after reading an event:
    the tracer writes what it has before it waits (both backends)."""
    flag = tmp_path / "go"
    script = f"while [ ! -e {flag} ]; do sleep 0.02; done; exit 7"
    run = start(["sh", "-c", script], RunOptions(), backend)
    events = run.events()
    first = next(events)
    assert isinstance(first, Syscall) and first.name == "execve"
    flag.touch()
    for _ in events:
        pass
    assert run.outcome is not None and run.outcome.exit_status == 7


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["--backend", "strace", "--strace", "/nonexistent/strace"], 69, StraceMissing),
        (["--backend", "ptrace"], 77, PtraceDenied),
    ],
)
def test_a_run_that_cannot_start_leaves_no_temporary_files(
    args: list[str],
    code: int,
    error: type,
    compile_c: Callable[..., Path],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    request.getfixturevalue("ptrace_ok" if error is PtraceDenied else "strace_ok")
    work = tmp_path / "tmp"
    work.mkdir()
    env = {**os.environ, "TMPDIR": str(work), "XDG_CACHE_HOME": str(tmp_path)}
    argv = [*SYSPROBE, "trace", *args, "--", "true"]
    if error is PtraceDenied:
        argv = [str(compile_c("noptrace")), *argv]  # ptrace refused: the tracing process says so
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == code, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert list(work.iterdir()) == []


@pytest.mark.usefixtures("ptrace_ok")
def test_the_ptrace_tracer_is_a_process_of_its_own(tmp_path: Path) -> None:
    """The command's parent is the tracing process (not sysprobe), which is sysprobe's
    child, started with -I: the command's PYTHON* variables do not reach the tracer."""
    out = tmp_path / "parent"
    t = sysprobe.trace(
        ["sh", "-c", f"{{ tr '\\0' ' ' < /proc/$PPID/cmdline; echo; echo $PPID; }} > {out}"],
        backend="ptrace",
        env={**os.environ, "PYTHONPATH": "/nonexistent", "PYTHONWARNINGS": "error"},
    )
    assert t.exit_status == 0
    cmdline, parent = out.read_text().splitlines()
    assert "sysprobe._tracing.ptrace" in cmdline and " -I " in cmdline
    assert int(parent) != os.getpid()
    assert t.outcome is not None and t.outcome.tracer_info.argv[0] == sys.executable


@pytest.mark.usefixtures("ptrace_ok")
def test_undecoded_marks_reach_every_call_however_many_names() -> None:
    """The tracing process says once per call name which arguments it leaves undecoded, on
    a pipe of its own: thousands of names (more than that pipe holds) neither hang the run
    nor lose a mark."""
    script = "import ctypes; libc = ctypes.CDLL(None); [libc.syscall(1000 + i) for i in range(3000)]"
    t = sysprobe.trace([sys.executable, "-c", script], backend="ptrace", timeout=120)
    assert t.outcome is not None and not t.outcome.timed_out and t.exit_status == 0
    unknown = [call for call in t.calls() if call.name.startswith("syscall_0x")]
    assert len({call.name for call in unknown}) == 3000
    assert all(call.undecoded == (0, 1, 2, 3, 4, 5) for call in unknown)
