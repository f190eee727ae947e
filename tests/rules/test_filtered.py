"""The fast paths of `sysprobe check` must not change a verdict: tracing only the calls the
rules and the descriptor model read (filtered in the kernel with --seccomp-bpf, or by
strace without it) gives the same verdicts as tracing everything; no tracee outlives
strace; placement puts strace and its tracees on one CPU, or leaves them alone."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sysprobe._kernel.effects import TRACKED
from sysprobe._parsing.lineparse import parse_lines
from sysprobe._tracing.strace.backend import StraceOptions as RunOptions
from sysprobe._tracing.strace.backend import StraceRun as TracedRun
from sysprobe._tracing.strace.binary import locate, seccomp_works
from sysprobe.events import Syscall

pytestmark = pytest.mark.usefixtures("strace_ok")
SYSPROBE = [sys.executable, "-m", "sysprobe"]

LEAKY_PYTHON = textwrap.dedent("""
    import os, select, socket, subprocess
    listener = socket.create_server(("127.0.0.1", 0))
    poller = select.epoll()
    os.set_inheritable(listener.fileno(), True)
    subprocess.run(["true"], close_fds=False, check=True)
""")

# (C program and its defines or a Python script, arguments to check): the fd scenarios
SCENARIOS: dict[str, tuple[tuple[str, ...], list[str]]] = {
    "pipe-leak": (("forkexec_pipe",), ["--no-fd-leaks", "--expect-count", "=2 execve = 0"]),
    "pipe2-fix": (("forkexec_pipe", "FIX_PIPE2"), ["--no-fd-leaks", "--expect", "pipe2(*, O_CLOEXEC)"]),
    "fcntl-fix": (
        ("forkexec_pipe", "FIX_FCNTL"),
        ["--no-fd-leaks", "--order", "pipe2 -> fcntl(*, F_SETFD, FD_CLOEXEC) = 0"],
    ),
    "spawn-fix": (("forkexec_pipe", "FIX_SPAWN"), ["--no-fd-leaks", "--expect", "close_range(3, *, 0)"]),
    "epoll-plain": (
        ("epoll_cloexec", "PLAIN"),
        ["--no-fd-leaks", "--cloexec", "epoll_create", "--forbid", "epoll_create1"],
    ),
    "epoll-fallback-injected": (
        ("epoll_cloexec", "FORGET_FCNTL"),
        ["--inject", "epoll_create1:error=ENOSYS", "--no-fd-leaks", "--cloexec", "epoll_create"],
    ),
    "scm-rights": (
        ("passfd",),
        ["--no-fd-leaks", "--expect", "recvmsg(*, {msg_control=[{cmsg_type=SCM_RIGHTS}]}, *) = 1"],
    ),
    "scm-rights-cloexec": (
        ("passfd", "CMSG_CLOEXEC"),
        ["--no-fd-leaks", "--expect", "recvmsg(*, *, MSG_CMSG_CLOEXEC)"],
    ),
    "exec-from-thread": (("fdops", "@thread"), ["--no-fd-leaks", "--allow-fd", "4"]),
    "python-inheritable": (
        ("python",),
        ["--no-fd-leaks", "--cloexec", "epoll_create1", "--expect-exit", "0"],
    ),
}


def command_for(spec: tuple[str, ...], compile_c: Callable[..., Path], tmp_path: Path) -> list[str]:
    if spec[0] == "python":
        script = tmp_path / "leaky.py"
        script.write_text(LEAKY_PYTHON)
        return [sys.executable, str(script)]
    if spec[0] == "fdops":  # a thread opens 3 and 4, another thread execs openfds
        return [str(compile_c("fdops")), "thread", str(compile_c("openfds")), str(tmp_path / "seen")]
    return [str(compile_c(*spec))]


def verdicts(command: list[str], rules: list[str], mode: list[str], tmp_path: Path) -> tuple[object, str]:
    """Each rule's verdict and evidence, without what differs between any two runs (pids,
    line numbers, inodes), plus the raw log strace wrote."""
    report, raw = tmp_path / "report.json", tmp_path / "raw.log"
    done = subprocess.run(
        [*SYSPROBE, "check", *mode, *rules, "--json-report", str(report), "-o", str(raw), "--", *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    data = json.loads(report.read_text())
    assert data["passed"] == (done.returncode == 0)
    text = json.dumps(data["results"], sort_keys=True)
    text = re.sub(r"\b(pid|line|lines|at) \d+(-\d+)?", r"\1 N", text)
    text = re.sub(r"\[\d+\]", "[N]", text)
    text = re.sub(r"0x[0-9a-f]{6,}", "0xADDR", text)
    text = re.sub(r'"(pid|where|line)": [^,}]+', r'"\1": "N"', text)
    return json.loads(text), raw.read_text()


@pytest.mark.parametrize("name", SCENARIOS)
def test_filtered_verdicts_equal_a_full_trace(
    name: str, compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    spec, rules = SCENARIOS[name]
    command = command_for(spec, compile_c, tmp_path)
    full, full_log = verdicts(command, rules, ["--full"], tmp_path)
    kernel, kernel_log = verdicts(command, rules, [], tmp_path)
    by_strace, _ = verdicts(command, rules, ["--no-seccomp"], tmp_path)
    assert kernel == full
    assert by_strace == full
    # and the filter did filter: the loader's mmap calls are in the full trace only
    assert re.search(r"^\d+ +mmap\(", full_log, re.M)
    assert not re.search(r"^\d+ +mmap\(", kernel_log, re.M)
    assert len(kernel_log) < len(full_log) / 2


def test_the_derived_set_is_what_strace_is_given(tmp_path: Path) -> None:
    """The set: the descriptor model's calls plus those the rules name, and no others."""
    raw = tmp_path / "raw.log"
    done = subprocess.run(
        [
            *SYSPROBE,
            "check",
            "--expect",
            "getpid",
            "-o",
            str(raw),
            "--",
            sys.executable,
            "-c",
            "import os; os.getpid()",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names = {ev.name for ev in parse_lines(raw.read_text().splitlines()) if isinstance(ev, Syscall)}
    assert "getpid" in names
    assert names <= set(TRACKED) | {"getpid"}, names - set(TRACKED)
    assert "openat" in names and "read" not in names and "mmap" not in names


def test_a_rule_on_every_call_traces_everything(tmp_path: Path) -> None:
    """`--expect-count '>0 *'`-like rules cannot be answered from a subset: no filter."""
    raw = tmp_path / "raw.log"
    done = subprocess.run(
        [*SYSPROBE, "check", "--forbid", "*", "-o", str(raw), "--", "true"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1  # every call matches `*`
    assert re.search(r"^\d+ +mmap\(", raw.read_text(), re.M)


def test_seccomp_is_used_where_it_works() -> None:
    strace = locate()
    run = TracedRun(["true"], RunOptions(syscalls={"openat", "close"}))
    run._strace = strace
    options = run.strace_options()
    assert options[:3] == ["-y", "-e", "trace=?close,?openat"]
    assert ("--seccomp-bpf" in options) == seccomp_works(strace)
    assert seccomp_works(strace), "seccomp-bpf should work on the machines sysprobe is tested on"
    run = TracedRun(["true"], RunOptions(syscalls={"openat"}, seccomp=False))
    run._strace = strace
    assert "--seccomp-bpf" not in run.strace_options()


def test_no_tracee_outlives_a_killed_strace(tmp_path: Path) -> None:
    """strace 6.1 has no --kill-on-exit: when strace dies first, its tracees would run on
    untraced (with --seccomp-bpf, every filtered call failing with ENOSYS). sysprobe kills them."""
    # two processes that outlive strace, one of them a daemon in a session of its own
    script = "import os, time\nif os.fork() == 0:\n    os.setsid()\ntime.sleep(60)"
    run = TracedRun(
        [sys.executable, "-c", script], RunOptions(syscalls={"openat", "clone", "fork", "vfork", "clone3"})
    )
    pids: set[int] = set()
    killed_strace = False
    for event in run.events():
        if event.pid is not None:
            pids.add(event.pid)
        forked = isinstance(event, Syscall) and event.name in ("clone", "fork", "clone3") and event.ret
        if forked and not killed_strace:
            assert run._proc is not None and isinstance(event, Syscall) and event.ret is not None
            pids.add(event.ret)
            time.sleep(0.3)  # both processes are in their sleep now
            os.kill(run._proc.pid, signal.SIGKILL)
            killed_strace = True
    assert killed_strace and len(pids) == 2
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    assert not [pid for pid in pids if alive(pid)]


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


AFFINITY = "import os; print(sorted(os.sched_getaffinity(0)))"


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="placement needs two CPUs to split")
@pytest.mark.parametrize("placement", ["auto", "pin", "off"])
def test_placement(placement: str) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    done = subprocess.run(
        [*SYSPROBE, "trace", "--no-summary", "--placement", placement, "--", sys.executable, "-c", AFFINITY],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = allowed if placement == "off" else allowed[:1]
    assert done.stdout.strip() == str(expected)
    assert sorted(os.sched_getaffinity(0)) == allowed  # the test process itself is left alone


def test_placement_rejects_unknown_modes() -> None:
    done = subprocess.run(
        [*SYSPROBE, "trace", "--placement", "sideways", "--", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "--placement 'sideways': expected one of auto, pin, off" in done.stderr


def fake_strace(tmp_path: Path, version: str, refuse_seccomp: bool) -> tuple[Path, Path]:
    """A wrapper around the real strace that reports another version, or refuses
    --seccomp-bpf as strace does where the kernel cannot filter (it warns, then traces
    without the filter); it records the arguments it was given."""
    real, calls = locate().path, tmp_path / "calls"
    wrapper = tmp_path / f"strace-{version}{'-noseccomp' if refuse_seccomp else ''}"
    refuse = (
        'for a in "$@"; do [ "$a" = --seccomp-bpf ] && seccomp=1; done\n'
        'if [ -n "$seccomp" ]; then\n'
        '  echo "strace: seccomp filter is requested but unavailable" >&2\n'
        '  for a; do shift; [ "$a" = --seccomp-bpf ] || set -- "$@" "$a"; done\n'
        "fi\n"
        if refuse_seccomp
        else ""
    )
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = -V ]; then echo "strace -- version {version}"; exit 0; fi\n'
        f'echo "$*" >> {calls}\n'
        f"{refuse}"
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper, calls


@pytest.mark.parametrize(("version", "refuse"), [("5.0", False), ("6.1", True)])
def test_without_seccomp_the_filter_falls_back_to_strace(version: str, refuse: bool, tmp_path: Path) -> None:
    """strace before 5.3 has no --seccomp-bpf, and a kernel may refuse the filter: check
    still traces only the calls it needs (strace filters them) and reaches its verdict."""
    wrapper, calls = fake_strace(tmp_path, version, refuse)
    done = subprocess.run(
        [*SYSPROBE, "check", "--strace", str(wrapper), "--no-fd-leaks", "--expect", "execve", "--", "true"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    traced = calls.read_text().splitlines()[-1]  # the run itself, after the probes
    assert "-e trace=?" in traced and "--seccomp-bpf" not in traced
    assert "PASS  --no-fd-leaks" in done.stderr
