"""The ptrace backend against strace: every descriptor scenario and every rule scenario of
the suite runs on both and must give identical verdicts and identical leak reports (same
descriptors, same origins). The use cases of test_scenarios and the committed goldens of
test_goldens run on both backends through the ``backend`` fixture as well.

Also here: what only the ptrace backend does — its honest limits (arguments it leaves
undecoded are marked, a 32-bit program is refused), its own errors, and its handling of
the run (timeouts, signals, no tracee left behind)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import sysprobe
from sysprobe import Trace
from sysprobe.argtree import to_json

from ..helpers import (
    FD_SCENARIOS,
    PROGRAMS,
    RULE_SCENARIOS,
    SYSPROBE,
    alive,
    assert_verdict,
    bin_with,
    interrupted,
    program,
    rule_command,
    verdicts,
    without_run_details,
)
from ..helpers import sysprobe as cli

pytestmark = pytest.mark.usefixtures("strace_ok", "ptrace_ok")


def leak_report(t: Trace, program: str) -> list[str]:
    return sorted(without_run_details(leak.describe()) for leak in t.leaks() if leak.exec.program == program)


@pytest.mark.parametrize("scenario", FD_SCENARIOS)
def test_leaks_are_the_kernels_and_equal_across_backends(
    scenario: str, compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    openfds = str(compile_c("openfds"))
    reports = {}
    for backend in ("strace", "ptrace"):
        out = tmp_path / f"inherited.{backend}"
        t = sysprobe.trace([str(compile_c("fdops")), scenario, openfds, str(out)], backend=backend)
        assert t.outcome is not None and t.outcome.backend == backend
        truth = {int(line) for line in out.read_text().split()}
        execs = [r for r in t.model.execs if r.program == openfds]
        assert len(execs) == 1, backend
        assert {d.fd for d in execs[0].crossed} == truth, backend
        reports[backend] = leak_report(t, openfds)
    assert reports["ptrace"] == reports["strace"]


@pytest.mark.parametrize("name", RULE_SCENARIOS)
def test_rule_verdicts_equal_across_backends(
    name: str, compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    scenario = RULE_SCENARIOS[name]
    command = rule_command(scenario, compile_c, tmp_path)
    by_strace = verdicts(command, scenario.rules, ["--backend", "strace"], tmp_path)
    by_ptrace = verdicts(command, scenario.rules, ["--backend", "ptrace"], tmp_path)
    full_ptrace = verdicts(command, scenario.rules, ["--backend", "ptrace", "--full"], tmp_path)
    assert_verdict(scenario, by_ptrace)  # the verdict it must reach, not only equal runs
    assert by_ptrace.results == by_strace.results
    assert full_ptrace.results == by_strace.results
    # check's derived set applies to this backend too: the loader's mmap calls are left out
    assert re.search(r"^\d+ +mmap\(", full_ptrace.raw_log, re.M)
    assert not re.search(r"^\d+ +mmap\(", by_ptrace.raw_log, re.M)


def test_the_report_and_summary_say_which_tracer_ran(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = cli("check", "--backend", "ptrace", "--no-fd-leaks", "--json-report", str(report), "--", "true")
    assert done.returncode == 0, done.stderr
    assert "traced by python-ptrace 0.9.9" in done.stderr
    assert json.loads(report.read_text())["tracer"] == "python-ptrace 0.9.9"
    traced = cli("trace", "--backend", "ptrace", "--", "sh", "-c", "exit 3")
    assert traced.returncode == 3
    assert "python-ptrace 0.9.9" in traced.stderr.splitlines()[0]


def test_auto_takes_ptrace_where_strace_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYSPROBE_STRACE", raising=False)
    monkeypatch.setenv("PATH", bin_with(tmp_path / "bin", "true"))  # a machine without strace
    t = sysprobe.trace(["true"])
    assert t.outcome is not None and (t.outcome.backend, t.outcome.tracer) == (
        "ptrace",
        "python-ptrace 0.9.9",
    )
    monkeypatch.undo()
    t = sysprobe.trace(["true"])
    assert t.outcome is not None and t.outcome.backend == "strace"


def test_a_named_strace_that_is_missing_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """$SYSPROBE_STRACE names the strace to use: when it is not there, auto does not switch
    to the other tracer behind the user's back (their goldens name the tracer)."""
    monkeypatch.setenv("SYSPROBE_STRACE", "/nonexistent/strace")
    done = cli("check", "--no-fd-leaks", "--", "true")
    assert done.returncode == 69, done.stderr
    assert done.stderr == (
        "sysprobe: strace not found (/nonexistent/strace); install it, e.g. `apt-get install strace`, "
        "or name it with --strace PATH\n"
    )


def test_the_same_events_as_strace(compile_c: Callable[..., Path]) -> None:
    """Calls the model reads decode to the same argument trees as strace's (pids, inodes
    and addresses aside): socketpair's array, sendmsg's and recvmsg's SCM_RIGHTS."""
    program = [str(compile_c("passfd", "CMSG_CLOEXEC"))]
    seen = {}
    for backend in ("strace", "ptrace"):
        t = sysprobe.trace(program, backend=backend, syscalls="socketpair,sendmsg,recvmsg,close")
        seen[backend] = sorted(  # sender and receiver are two processes: their order is the scheduler's
            without_run_details(json.dumps([call.name, [to_json(a) for a in call.args], call.ret]))
            for call in t.calls()
            if call.name in ("socketpair", "sendmsg", "recvmsg") and not interrupted(call)
        )
    assert len(seen["strace"]) == 3
    assert seen["ptrace"] == seen["strace"]


def test_undecoded_arguments_are_marked(tmp_path: Path) -> None:
    t = sysprobe.trace(["true"], backend="ptrace")
    mmaps = t.calls("mmap")
    assert mmaps and all(call.undecoded == (2, 3) for call in mmaps)  # prot and flags stay numbers
    assert mmaps[0].to_json()["undecoded"] == [2, 3]
    assert all(not call.undecoded for call in t.calls("openat") + t.calls("execve"))
    assert all(not call.undecoded for call in sysprobe.trace(["true"], backend="strace").calls())


def test_a_32_bit_program_is_refused(tmp_path: Path) -> None:
    binary = tmp_path / "i386"
    built = subprocess.run(
        ["cc", "-m32", "-nostdlib", "-static", "-o", str(binary), str(PROGRAMS / "exit7_i386.S")],
        capture_output=True,
        check=False,
    )
    if built.returncode != 0:
        pytest.skip(f"no 32-bit toolchain: {built.stderr.decode()[:200]}")
    if subprocess.run([str(binary)], check=False).returncode != 7:
        pytest.skip("this kernel runs no 32-bit programs")
    done = cli("trace", "--backend", "ptrace", "--", str(binary))
    assert done.returncode == 78
    assert "runs a 32-bit (i386) program" in done.stderr and "--backend strace" in done.stderr
    assert "Traceback" not in done.stderr
    with_strace = cli("trace", "--backend", "strace", "--", str(binary))
    assert with_strace.returncode == 7


def test_a_missing_python_ptrace_says_how_to_install_it() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(program("without_python_ptrace.py")),
            "trace",
            "--backend",
            "ptrace",
            "--",
            "true",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 69
    assert "pip install 'sysprobe[ptrace]'" in done.stderr and "Traceback" not in done.stderr


def test_the_ptrace_backend_refuses_what_it_cannot_do() -> None:
    for args, said in (
        (["--strace-arg", "-X", "--strace-arg", "raw"], "takes no strace options"),
        (["-e", "%process"], "selects calls by name only"),
    ):
        done = cli("trace", "--backend", "ptrace", *args, "--", "true")
        assert done.returncode == 2 and said in done.stderr, done.stderr
    bad = cli(
        "check", "--backend", "ptrace", "--inject", "openat:delay_enter=10", "--no-fd-leaks", "--", "true"
    )
    assert bad.returncode == 2 and "error=ERRNO or NAME:retval=N only" in bad.stderr


def test_timeout_kills_the_whole_tree(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 60 & echo $! > {pids}; sleep 60"
    started = time.monotonic()
    done = cli("trace", "--backend", "ptrace", "--timeout", "1", "--", "sh", "-c", script)
    assert done.returncode == 124, done.stderr
    assert time.monotonic() - started < 20
    assert "timed out after 1 s" in done.stderr
    assert not alive(int(pids.read_text()))


def test_sigterm_is_forwarded_to_the_command(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    script = f"trap 'exit 42' TERM; touch {ready}; while :; do sleep 0.05; done"
    proc = subprocess.Popen(
        [*SYSPROBE, "trace", "--backend", "ptrace", "--", "sh", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 42, err


def test_a_killed_sysprobe_leaves_no_tracee(tmp_path: Path) -> None:
    """PTRACE_O_EXITKILL: when the tracer dies, the kernel kills every tracee."""
    pids = tmp_path / "pids"
    script = f"sleep 60 & echo $! > {pids}; sleep 60"
    proc = subprocess.Popen([*SYSPROBE, "trace", "--backend", "ptrace", "--", "sh", "-c", script])
    deadline = time.monotonic() + 30
    while not (pids.exists() and pids.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pids.read_text())
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_signals_and_exits_are_reported_like_strace(tmp_path: Path) -> None:
    t = sysprobe.trace(["sh", "-c", "kill -USR1 $$"], backend="ptrace")
    kinds = [(type(e).__name__, getattr(e, "signal", None)) for e in t.events[-2:]]
    assert kinds == [("Signal", "SIGUSR1"), ("Killed", "SIGUSR1")]
    assert t.exit_status == 128 + signal.SIGUSR1
