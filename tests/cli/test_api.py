"""The Python API's surface, and a Trace that reads its events once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import sysprobe
import sysprobe._model.fdmodel
import sysprobe._pipeline
from sysprobe._kernel.constants import constants
from sysprobe.errors import RunIncomplete, TimedOut
from sysprobe.events import Syscall

PUBLIC = [
    "CallFailed",
    "CallTrace",
    "Caller",
    "CommandNotExecutable",
    "CommandNotFound",
    "Descriptor",
    "ExecRecord",
    "Leak",
    "Origin",
    "Process",
    "PtraceDenied",
    "Report",
    "RuleSet",
    "RuleSyntaxError",
    "StraceMissing",
    "StraceTooOld",
    "SysprobeError",
    "Trace",
    "TraceFailed",
    "UsageError",
    "__version__",
    "call",
    "parse",
    "trace",
]


def test_the_public_names_are_pinned() -> None:
    assert sysprobe.__all__ == PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_each_public_name_imports(name: str) -> None:
    value = getattr(sysprobe, name)
    if name == "__version__":
        assert isinstance(value, str) and value
    else:
        assert value.__name__ == name  # a class or function of that name, not a stand-in


def test_star_import_in_a_fresh_interpreter() -> None:
    """Names are imported on first use; ``from sysprobe import *`` resolves every one."""
    code = "from sysprobe import *; import sysprobe; print(all(n in globals() for n in sysprobe.__all__))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


@pytest.mark.usefixtures("strace_ok")
def test_a_trace_builds_its_model_once(
    compile_c: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every question — tables of the past, leaks, rules, asserts, golden, exit status —
    is answered from the pass made when the Trace was made."""
    made: list[dict[str, int]] = []

    # FdModel and the pass that makes it are compiled: neither can be replaced from here,
    # but each model, when made, looks up its architecture's constants by this name
    def counting(arch: str) -> dict[str, int]:
        consts = constants(arch)
        made.append(consts)
        return consts

    monkeypatch.setattr(sysprobe._model.fdmodel, "constants", counting)
    t = sysprobe.trace([str(compile_c("forkexec_pipe"))])
    assert made == [t.model.consts] and t.model.fed == len(t.events)

    for event in t.events:
        t.fd_table(event.pid, at=event.lines[-1])
    assert [leak.fd for leak in t.leaks()] == [3, 4]
    report = t.check(expect=["pipe2"], no_fd_leaks=True, expect_exit=0)
    assert [r.passed for r in report.results] == [True, False, True]
    t.assert_called("pipe2")
    t.assert_not_called("sendfile")
    t.assert_order("pipe2", "wait4")
    with pytest.raises(AssertionError, match="2 descriptors leaked"):
        t.assert_no_fd_leaks()
    with pytest.raises(AssertionError, match="violation"):
        t.assert_cloexec("pipe2")
    assert "# crossed the exec without close-on-exec: fd 3 (pipe:[1]), fd 4 (pipe:[1])" in t.golden()
    assert t.exit_status == 0
    assert len(made) == 1 and t.model.fed == len(t.events)  # no second model, nothing read again


# ---- an incomplete run never passes (issue 12) ----


@pytest.mark.usefixtures("strace_ok")
def test_asserts_on_an_incomplete_trace_raise_the_reason(tmp_path: Path) -> None:
    """A timed-out run: every assert raises TimedOut with the reason first; the report
    says incomplete; no golden is compared or written from it."""
    # long enough for sleep to reach its nanosleep under any load (see test_trust.py)
    t = sysprobe.trace(["sleep", "30"], timeout=2.5)
    reason = "timed out after 2.5 s: the traced processes were killed"
    for check, verdict in (
        # held so far: the rest of the run could have broken them
        (lambda: t.assert_not_called("sendfile"), "no verdict on --forbid sendfile"),
        (t.assert_no_fd_leaks, "no verdict on --no-fd-leaks"),
        # the call was seen: that stands, but the run as a whole was not checked
        (lambda: t.assert_called("nanosleep|clock_nanosleep"), "what held, held on a partial trace only"),
    ):
        with pytest.raises(TimedOut) as raised:
            check()
        assert str(raised.value).startswith(f"{reason}: {verdict}\n")
        assert raised.value.exit_code == 124
    report = t.check(forbid=["sendfile"])
    assert (report.passed, report.exit_code, report.failed) == (False, 124, [])
    assert reason in report.text()
    golden = tmp_path / "sleep.trace"
    with pytest.raises(TimedOut, match="the trace of an incomplete run is not a golden"):
        t.assert_golden(golden, update=True)
    assert not golden.exists()


@pytest.mark.usefixtures("strace_ok")
def test_a_failure_that_stands_on_an_incomplete_trace_is_an_assertion_error() -> None:
    """The leak happened before the timeout: the red is proven (as check's exit 1)."""
    t = sysprobe.trace(["sh", "-c", "exec 5</etc/hostname; /bin/true; sleep 30"], timeout=2.5)
    assert t.outcome is not None and t.outcome.timed_out
    with pytest.raises(AssertionError, match=r"^--no-fd-leaks: [12] descriptors? leaked"):
        t.assert_no_fd_leaks()
    with pytest.raises(TimedOut):  # nothing matched so far: no verdict either way
        t.assert_called("sendfile")
    assert t.check(no_fd_leaks=True).exit_code == 1


@pytest.mark.usefixtures("strace_ok")
def test_a_killed_tracer_makes_asserts_raise_run_incomplete() -> None:
    t = sysprobe.trace(["sh", "-c", "kill -KILL $PPID; exec sleep 30"], backend="strace")
    with pytest.raises(RunIncomplete, match=r"^strace was killed by SIGKILL while the command ran") as raised:
        t.assert_no_fd_leaks()
    assert type(raised.value) is RunIncomplete and raised.value.exit_code == 75


@pytest.mark.usefixtures("strace_ok")
def test_trace_can_end_with_the_command() -> None:
    # the shell waits (without forking) until its child is sleep: never a "sh" caught
    # between fork and exec
    script = 'sleep 30 & c=; until [ "$c" = sleep ]; do read c < /proc/$!/comm; done; exit 4'
    t = sysprobe.trace(["sh", "-c", script], end_with_command=True, timeout=30)
    assert t.exit_status == 4 and t.outcome is not None and t.outcome.incomplete is None
    assert [leftover.program for leftover in t.outcome.ended_leftovers] == ["sleep"]
    t.assert_no_fd_leaks()  # a complete run: the asserts decide


@pytest.mark.usefixtures("strace_ok")
def test_a_run_dropped_half_way_still_has_its_outcome_and_leaves_nothing() -> None:
    """A consumer that stops reading (an exception in its own code) gets the run's
    outcome on its source, and no tracer or tracee outlives it; the pass is compiled,
    and a compiled generator is not closed when dropped (issue 16, sixth round)."""
    source = sysprobe._pipeline.command(["sleep", "37.5"])
    seen: list[object] = []

    def fails_on_the_fifth(event: object) -> None:
        seen.append(event)
        if len(seen) == 5:
            raise RuntimeError("the consumer failed")

    with pytest.raises(RuntimeError, match="the consumer failed"):
        sysprobe._pipeline.record(source, on_event=fails_on_the_fifth)
    assert source.outcome is not None
    assert source.outcome.tracer_returncode is not None  # the tracer was waited for
    left = subprocess.run(["pgrep", "-f", "sleep 37.5"], check=False, capture_output=True, text=True)
    assert left.stdout == ""


@pytest.mark.usefixtures("strace_ok")
def test_a_command_takes_its_calls_as_any_collection() -> None:
    """``command`` is compiled: its arguments are checked at run time against their types,
    and the calls to trace may come in any collection, as the tracer's options take them."""
    for names in (["openat", "close"], ("openat", "close"), frozenset({"openat", "close"})):
        source = sysprobe._pipeline.command(["cat", "/etc/hostname"], syscalls=names)
        events = sysprobe._pipeline.record(source).analysis.events or []
        called = {e.name for e in events if isinstance(e, Syscall)}
        assert {"openat", "close"} <= called <= {"openat", "close", "execve"}, names
