"""`sysprobe trace`: the command runs as strace's child and keeps its own stdio, the trace
streams while it runs, and every way of failing has its own message and exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import sysprobe as api
from sysprobe._parsing.sources import parse_paths
from sysprobe._tracing.strace.backend import StraceOptions as RunOptions
from sysprobe._tracing.strace.backend import StraceRun as TracedRun
from sysprobe.errors import EXIT_INCOMPLETE, CommandNotExecutable, CommandNotFound, StraceTooOld
from sysprobe.events import Exit, Syscall

from ..helpers import SYSPROBE, program, sysprobe

pytestmark = pytest.mark.usefixtures("strace_ok")


def processes_with(marker: str) -> list[str]:
    """Command lines of live processes that mention ``marker`` (of this machine: a marker
    holds this process's pid, so that two suites run side by side never see each other's)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if f" {marker} " in f" {' '.join(cmdline.split())} ":  # whole words: 41.12 is no 41.123
                found.append(cmdline)
    return found


@pytest.mark.parametrize("via", ["cli", "api"])
def test_a_killed_strace_is_not_the_commands_status(via: str) -> None:
    """strace killed before the command's exit line (the command runs as strace's child,
    so $PPID is strace): the tracer's death is not the command's status — the run is
    incomplete (exit 75), and says why."""
    script = "kill -KILL $PPID; exec sleep 30"
    if via == "cli":
        done = sysprobe("trace", "--backend", "strace", "--", "sh", "-c", script)
        assert done.returncode == EXIT_INCOMPLETE
        assert "strace was killed by SIGKILL" in done.stderr
    else:
        t = api.trace(["sh", "-c", script], backend="strace")
        assert t.exit_status is None
        assert t.outcome is not None and "strace was killed by SIGKILL" in (t.outcome.incomplete or "")
        assert not any(isinstance(e, Exit) for e in t.events)  # no exit line: strace died first


def test_exit_status_is_the_commands() -> None:
    done = sysprobe("trace", "--no-summary", "--", "sh", "-c", "exit 3")
    assert (done.returncode, done.stdout, done.stderr) == (3, "", "")


@pytest.mark.parametrize(("sig", "code"), [("SEGV", 139), ("TERM", 143), ("KILL", 137)])
def test_killed_command_gives_128_plus_n(sig: str, code: int) -> None:
    done = sysprobe("trace", "--", "sh", "-c", f"kill -{sig} $$")
    assert done.returncode == code
    assert f"killed by SIG{sig}" in done.stderr


def test_commands_output_stays_its_own() -> None:
    done = sysprobe("trace", "--no-summary", "--", "sh", "-c", "echo out; echo err >&2")
    assert (done.stdout, done.stderr) == ("out\n", "err\n")


def test_traced_command_starts_with_0_1_2_only(compile_c: Callable[..., Path]) -> None:
    # sysprobe (here: this test's process) holds inheritable descriptors; none may leak
    r, w = os.pipe()
    os.set_inheritable(r, True)
    os.set_inheritable(w, True)
    try:
        done = sysprobe("trace", "--no-summary", "--", str(compile_c("openfds")), close_fds=False)
    finally:
        os.close(r)
        os.close(w)
    assert done.returncode == 0
    assert done.stdout == ""  # not one descriptor above 2


def test_summary_names_processes_calls_failures_signals() -> None:
    done = sysprobe("trace", "--", "sh", "-c", "ls /nonexistent-sysprobe 2>/dev/null; /bin/true; exit 2")
    assert done.returncode == 2
    out = done.stderr
    assert "exit 2" in out and "processes" in out
    assert "/usr/bin/ls" in out or "/bin/ls" in out
    assert "exited 2" in out
    assert "ENOENT" in out and "SIGCHLD" in out


def test_json_lines_and_raw_copy_agree(tmp_path: Path) -> None:
    raw = tmp_path / "raw.log"
    done = sysprobe(
        "trace", "--json", "--no-summary", "-o", str(raw), "--", "sh", "-c", "cat /etc/hostname >&2"
    )
    assert done.returncode == 0
    header, *streamed = [json.loads(line) for line in done.stdout.splitlines()]
    assert header["type"] == "header" and header["schema"] == "sysprobe-events"
    assert streamed and all(set(e) >= {"type", "pid", "line", "raw"} for e in streamed)
    # the stream adds what crossed each exec (the model's fact); the rest is the log's
    crossed = [e.pop("fds") for e in streamed if "fds" in e]
    assert crossed and all(isinstance(fds, list) for fds in crossed)
    reparsed = [e.to_json() for e in parse_paths([str(raw)])]
    assert streamed == reparsed
    names = {e["name"] for e in streamed if e["type"] == "syscall"}
    assert {"execve", "openat", "clone", "wait4"} <= names or {"execve", "openat", "vfork"} <= names


def test_syscall_set_is_passed_through() -> None:
    done = sysprobe("trace", "--json", "--no-summary", "-e", "openat,execve", "--", "cat", "/etc/hostname")
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert {e["name"] for e in events if e["type"] == "syscall"} == {"openat", "execve"}
    assert events[-1]["type"] == "exit"


def test_events_stream_while_the_command_runs(tmp_path: Path) -> None:
    """The command waits for a file that the test creates only after reading an event."""
    flag = tmp_path / "go"
    script = f"while [ ! -e {flag} ]; do sleep 0.02; done; echo done >&2"
    proc = subprocess.Popen(
        [*SYSPROBE, "trace", "--json", "--no-summary", "--", "sh", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline())["type"] == "header"
    first = json.loads(proc.stdout.readline())
    assert first["type"] == "syscall" and first["name"] == "execve"
    flag.touch()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and err.endswith("done\n")


def test_timeout_kills_the_whole_tree() -> None:
    marker = f"41.{os.getpid()}"  # one suite's, never another's running beside it
    started = time.monotonic()
    done = sysprobe(
        "trace",
        "--timeout",
        "0.5",
        "--",
        "sh",
        "-c",
        f"sleep {marker} & (setsid sleep {marker} &) ; sleep {marker}",
    )
    assert done.returncode == 124
    assert time.monotonic() - started < 20
    assert "timed out after 0.5 s" in done.stderr
    assert "killed by SIGKILL" in done.stderr  # the summary was still printed
    time.sleep(0.2)
    assert processes_with(f"sleep {marker}") == []  # daemonized one included


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_to_sysprobe_reaches_the_command(sig: int, code: int, tmp_path: Path) -> None:
    marker = f"42.{os.getpid()}{sig:02d}"
    proc = subprocess.Popen(
        [*SYSPROBE, "trace", "--", "sleep", marker],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not any(c.startswith("sleep") for c in processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # let strace see the exec
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code
    assert f"killed by {signal.Signals(sig).name}" in err  # what it saw is still reported
    assert processes_with(marker) == []


def test_a_command_that_ignores_the_signal_is_killed_after_a_grace() -> None:
    marker = f"43.{os.getpid()}"
    proc = subprocess.Popen(
        [*SYSPROBE, "trace", "--", "sh", "-c", f"trap '' TERM; sleep {marker}; echo never"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not any(c.startswith("sleep") for c in processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 137 and "never" not in out
    assert processes_with(marker) == []


def test_missing_strace() -> None:
    done = sysprobe("trace", "--strace", "/nonexistent/strace", "--", "true")
    assert done.returncode == 69
    assert done.stderr.count("\n") == 1 and "strace not found" in done.stderr


@pytest.mark.usefixtures("backend")  # strace's denial and PTRACE_TRACEME's: one diagnosis
def test_ptrace_denied(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run(
        [str(compile_c("noptrace")), *SYSPROBE, "trace", "--", "true"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 77
    assert done.stderr.count("\n") == 1  # one line, no traceback, none of strace's own
    assert done.stderr.startswith("sysprobe: ptrace is not permitted here (this process runs under a seccomp")


def test_strace_rejects_an_option() -> None:
    done = sysprobe("trace", "--strace-arg=--no-such-option", "--", "true")
    assert done.returncode == 78
    assert "sysprobe: strace rejected an option: unrecognized option '--no-such-option'" in done.stderr


def test_bad_syscall_set_is_a_usage_error() -> None:
    done = sysprobe("trace", "-e", "no_such_syscall", "--", "true")
    assert done.returncode == 2
    assert "invalid system call 'no_such_syscall'" in done.stderr.splitlines()[-1]


def test_strace_too_old_for_a_feature(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = program("fake_strace.sh", tmp_path)
    monkeypatch.setenv("FAKE_STRACE_VERSION", "4.8")
    run = TracedRun(["true"], RunOptions(strace=str(old), features=["--seccomp-bpf"]))
    with pytest.raises(StraceTooOld, match=r"strace 4.8 .* too old for --seccomp-bpf .needs 5.3"):
        list(run.events())


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["no-such-command-xyz"], 127, "no-such-command-xyz: command not found"),
        (["/"], 126, "/: not an executable file"),
        (["./missing"], 127, "./missing: no such file"),
    ],
)
def test_command_problems(argv: list[str], code: int, message: str) -> None:
    done = sysprobe("trace", "--", *argv)
    assert done.returncode == code
    assert done.stderr == f"sysprobe: {message}\n"


def test_command_the_kernel_refuses_to_execute(tmp_path: Path) -> None:
    # strace reports its failed exec too (binfmt_misc makes "executable" unknowable in
    # advance); sysprobe's line comes last, with the shell's exit code
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x00\x01not an executable\n")
    garbage.chmod(0o755)
    done = sysprobe("trace", "--", str(garbage))
    assert done.returncode == 126
    assert done.stderr.splitlines()[-1] == f"sysprobe: {garbage}: cannot execute: Exec format error"
    script = tmp_path / "script"
    script.write_text("#!/nonexistent/interpreter\n")
    script.chmod(0o755)
    done = sysprobe("trace", "--", str(script))
    assert done.returncode == 127
    assert done.stderr.splitlines()[-1] == f"sysprobe: {script}: cannot execute: No such file or directory"
    plain = tmp_path / "plain"
    plain.write_text("data\n")
    done = sysprobe("trace", "--", str(plain))
    assert (done.returncode, done.stderr) == (126, f"sysprobe: {plain}: not an executable file\n")


def test_library_api_outcome() -> None:
    run = TracedRun(["sh", "-c", "exit 5"])
    events = list(run.events())
    assert run.outcome is not None
    assert (run.outcome.exit_status, run.outcome.leader_pid) == (5, events[0].pid)
    assert isinstance(events[-1], Exit) and events[-1].code == 5
    assert isinstance(events[0], Syscall) and events[0].name == "execve"
    with pytest.raises(CommandNotFound):
        list(TracedRun(["no-such-command-xyz"]).events())
    with pytest.raises(CommandNotExecutable):
        list(TracedRun(["/etc"]).events())


def test_stopping_early_leaves_nothing_behind() -> None:
    marker = f"44.{os.getpid()}"
    run = TracedRun(["sh", "-c", f"sleep {marker}"])
    for event in run.events():
        if isinstance(event, Syscall) and event.name == "execve":
            break  # the consumer walks away mid-run
    run_events = run.events  # noqa: F841  (the generator is closed above)
    time.sleep(0.1)
    assert processes_with(f"sleep {marker}") == []


@pytest.mark.parametrize(
    ("end", "status"),
    [
        ("+++ exited with 3 +++", 3),
        ("+++ killed by SIGSEGV (core dumped) +++", 139),
        ("+++ killed by SIGKILL +++", 137),
        # strace counts real-time signals from the kernel's SIGRTMIN (32), not glibc's
        # (34): `kill -35` is written "SIGRT_3"
        ("+++ killed by SIGRT_3 +++", 128 + 35),
        ("+++ killed by SIGRTMIN+3 +++", 128 + 35),
        ("+++ killed by SIG40 +++", 168),
    ],
)
def test_the_exit_status_a_log_gives(end: str, status: int, tmp_path: Path) -> None:
    """The command's status as a shell reports it, from the log alone: 128+N for signal N."""
    log = tmp_path / "trace.log"
    log.write_text(f'10 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0\n10 {end}\n')
    assert api.parse(log).exit_status == status


@pytest.mark.parametrize(
    ("script", "status"), [("exit 3", 3), ("kill -SEGV $$", 139), ("kill -TERM $$", 143)]
)
def test_the_exit_status_a_run_gives(script: str, status: int) -> None:
    t = api.trace(["sh", "-c", script], backend="strace")
    assert t.exit_status == status
    assert t.outcome is not None and t.outcome.leader_signal == (
        None if status < 128 else t.processes[0].signal
    )
