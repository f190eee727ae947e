"""The fast paths of `sysprobe check` must not change a verdict: tracing only the calls the
rules and the descriptor model read (filtered in the kernel with --seccomp-bpf, or by
strace without it) gives the same verdicts as tracing everything; no tracee outlives
strace; placement puts strace and its tracees on one CPU, or leaves them alone."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sysprobe._kernel.syscalls import TRACKED
from sysprobe._parsing.lineparse import parse_lines
from sysprobe._tracing.strace.backend import StraceOptions as RunOptions
from sysprobe._tracing.strace.backend import StraceRun as TracedRun
from sysprobe._tracing.strace.binary import locate, seccomp_works
from sysprobe.events import Syscall

from ..helpers import (
    RULE_SCENARIOS,
    alive,
    assert_verdict,
    check,
    program,
    rule_command,
    sysprobe,
    verdicts,
    without_interrupted,
)

pytestmark = pytest.mark.usefixtures("strace_ok")


@pytest.mark.parametrize("name", RULE_SCENARIOS)
def test_filtered_verdicts_equal_a_full_trace(
    name: str, compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    scenario = RULE_SCENARIOS[name]
    command = rule_command(scenario, compile_c, tmp_path)
    full = verdicts(command, scenario.rules, ["--full"], tmp_path)
    kernel = verdicts(command, scenario.rules, [], tmp_path)
    by_strace = verdicts(command, scenario.rules, ["--no-seccomp"], tmp_path)
    assert_verdict(scenario, full)  # the verdict it must reach, not only equal runs
    assert kernel.results == full.results
    assert by_strace.results == full.results
    # and the filter did filter: the loader's mmap calls are in the full trace only, and
    # every call the filtered trace shows is one its header names (not a size ratio: under
    # load strace splits more calls in two, and the filtered log grows)
    assert re.search(r"^\d+ +mmap\(", full.raw_log, re.M)
    assert not re.search(r"^\d+ +mmap\(", kernel.raw_log, re.M)
    header = kernel.raw_log.partition("\n")[0]
    selected = {name.lstrip("?") for name in header.partition("-e trace=")[2].split(",")}
    shown = {a or b for a, b in CALL_NAME.findall(kernel.raw_log)}
    assert shown and shown <= selected, shown - selected


CALL_NAME = re.compile(r"^\d+ +(?:<\.\.\. (\w+) resumed>|(\w+)\()", re.M)


RESTARTED_RECVMSG = """\
100 recvmsg(3<socket:[1]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="", iov_len=1}], msg_iovlen=1, \
msg_controllen=0, msg_flags=0}, MSG_CMSG_CLOEXEC) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
100 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=101, si_uid=0, si_status=0} ---
"""
RECVMSG = """\
100 recvmsg(3<socket:[1]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, \
msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5</etc/hostname>]}], \
msg_controllen=24, msg_flags=MSG_CMSG_CLOEXEC}, MSG_CMSG_CLOEXEC) = 1
100 +++ exited with 0 +++
"""


def test_the_comparison_folds_restarted_calls(tmp_path: Path) -> None:
    """A signal may land while the receiver blocks in recvmsg (under ptrace even an ignored
    SIGCHLD does): the call is interrupted and restarted, and the rule sees two calls. Runs
    are compared as if the kernel had not been interrupted."""
    results = {}
    for name, text in (("restarted", RESTARTED_RECVMSG + RECVMSG), ("once", RECVMSG)):
        log, report = tmp_path / f"{name}.log", tmp_path / f"{name}.json"
        log.write_text(text)
        done = check(
            "--expect", "recvmsg(*, *, MSG_CMSG_CLOEXEC)", "--log", str(log), "--json-report", str(report)
        )
        assert done.returncode == 0, done.stderr
        (result,) = json.loads(report.read_text())["results"]
        for item in result["evidence"]:
            item["where"] = "line N"  # the restarted log is two lines longer
            item["text"] = re.sub(r"^line \d+", "line N", item["text"])
        results[name] = result
    # the rule itself counts calls that worked: the interrupted attempt is not one
    assert results["restarted"]["summary"] == "1 matching call"
    assert without_interrupted(results["restarted"]) == without_interrupted(results["once"])
    assert without_interrupted(results["once"]) == results["once"]


def test_the_derived_set_is_what_strace_is_given(tmp_path: Path) -> None:
    """The set: the descriptor model's calls plus those the rules name, and no others."""
    raw = tmp_path / "raw.log"
    done = check("--expect", "getpid", "-o", str(raw), "--", sys.executable, "-c", "import os; os.getpid()")
    assert done.returncode == 0, done.stderr
    names = {ev.name for ev in parse_lines(raw.read_text().splitlines()) if isinstance(ev, Syscall)}
    assert "getpid" in names
    assert names <= set(TRACKED) | {"getpid"}, names - set(TRACKED)
    assert "openat" in names and "read" not in names and "mmap" not in names


def test_a_rule_on_every_call_traces_everything(tmp_path: Path) -> None:
    """`--expect-count '>0 *'`-like rules cannot be answered from a subset: no filter."""
    raw = tmp_path / "raw.log"
    done = check("--forbid", "*", "-o", str(raw), "--", "true")
    assert done.returncode == 1  # every call matches `*`
    assert re.search(r"^\d+ +mmap\(", raw.read_text(), re.M)


def test_seccomp_is_used_where_it_works() -> None:
    strace = locate()
    run = TracedRun(["true"], RunOptions(syscalls={"openat", "close"}))
    run._strace = strace
    options = run.strace_options()
    assert options[:3] == ["-y", "-e", "trace=?close,?execve,?openat,?ptrace"]  # execve, ptrace: always
    assert ("--seccomp-bpf" in options) == seccomp_works(strace)
    assert seccomp_works(strace), "seccomp-bpf should work on the machines sysprobe is tested on"
    run = TracedRun(["true"], RunOptions(syscalls={"openat"}, seccomp=False))
    run._strace = strace
    assert "--seccomp-bpf" not in run.strace_options()


def test_no_tracee_outlives_a_killed_strace(tmp_path: Path) -> None:
    """strace 6.1 has no --kill-on-exit: when strace dies first, its tracees would run on
    untraced (with --seccomp-bpf, every filtered call failing with ENOSYS). sysprobe kills them."""
    run = TracedRun(
        [sys.executable, str(program("daemon_pair.py"))],
        RunOptions(syscalls={"openat", "clone", "fork", "vfork", "clone3"}),
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
    # no exit line for the command: strace's death is not the command's status (issue 12)
    assert run.outcome is not None and run.outcome.exit_status is None
    assert run.outcome.incomplete is not None and "killed by SIGKILL" in run.outcome.incomplete
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    assert not [pid for pid in pids if alive(pid)]


AFFINITY = "import os; print(sorted(os.sched_getaffinity(0)))"


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="placement needs two CPUs to split")
@pytest.mark.parametrize("placement", ["auto", "pin", "off"])
def test_placement(placement: str) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    done = sysprobe("trace", "--no-summary", "--placement", placement, "--", sys.executable, "-c", AFFINITY)
    assert done.returncode == 0, done.stderr
    expected = allowed if placement == "off" else allowed[:1]
    assert done.stdout.strip() == str(expected)
    assert sorted(os.sched_getaffinity(0)) == allowed  # the test process itself is left alone


def test_placement_rejects_unknown_modes() -> None:
    done = sysprobe("trace", "--placement", "sideways", "--", "true")
    assert done.returncode == 2
    assert "--placement 'sideways': expected one of auto, pin, off" in done.stderr


def fake_strace(tmp_path: Path, version: str, refuse_seccomp: bool) -> tuple[Path, Path, dict[str, str]]:
    """tests/programs/fake_strace.sh: the real strace reporting another version, or
    refusing --seccomp-bpf; it records the arguments it was given. Returns the wrapper, the
    record and the environment that configures it."""
    wrapper, calls = program("fake_strace.sh", tmp_path), tmp_path / "calls"
    env = {
        **os.environ,
        "FAKE_STRACE_VERSION": version,
        "FAKE_STRACE_CALLS": str(calls),
        "FAKE_STRACE_REAL": locate().path,
        "FAKE_STRACE_REFUSE_SECCOMP": "1" if refuse_seccomp else "",
    }
    return wrapper, calls, env


@pytest.mark.parametrize(("version", "refuse"), [("5.0", False), ("6.1", True)])
def test_without_seccomp_the_filter_falls_back_to_strace(version: str, refuse: bool, tmp_path: Path) -> None:
    """strace before 5.3 has no --seccomp-bpf, and a kernel may refuse the filter: check
    still traces only the calls it needs (strace filters them) and reaches its verdict."""
    wrapper, calls, env = fake_strace(tmp_path, version, refuse)
    done = sysprobe(
        "check", "--strace", str(wrapper), "--no-fd-leaks", "--expect", "execve", "--", "true", env=env
    )
    assert done.returncode == 0, done.stderr
    traced = calls.read_text().splitlines()[-1]  # the run itself, after the probes
    assert "-e trace=?" in traced and "--seccomp-bpf" not in traced
    assert "PASS  --no-fd-leaks" in done.stderr
