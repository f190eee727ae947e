"""sysprobe.call: the Trace of one Python call, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

import sysprobe
from sysprobe.errors import CallFailed, UsageError
from sysprobe.pytest_plugin import Sysprobe

from . import callees, opens_at_import


def test_sendfile_and_no_interpreter_start_up(backend: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"x" * 5000)
    t = sysprobe.call(callees.copy_with_sendfile, str(src), str(tmp_path / "dst"))
    assert t.value == 5000 and t.exception is None and t.result() == 5000
    assert (tmp_path / "dst").read_bytes() == src.read_bytes()
    (sendfile,) = t.assert_called("sendfile")
    assert sendfile.ret == 5000
    t.assert_not_called("execve")  # neither the interpreter's exec nor the marks
    opened = [str(call.args[1]) for call in t.calls("openat")]
    assert len(opened) == 2 and not any(".py" in path for path in opened)  # no imports
    assert {p.pid for p in t.processes} == {sendfile.pid}
    assert t.exit_status is None  # the call returned: its process's exit is not the call's
    assert t.outcome is not None and t.outcome.backend == backend
    t.assert_no_fd_leaks()


def test_an_exception_is_on_the_trace(backend: str) -> None:
    t = sysprobe.call(callees.refuse, "this", code=3)  # keyword arguments go to the function
    assert isinstance(t.exception, ValueError) and str(t.exception) == "refused this with 3"
    assert t.value is None
    assert t.traceback is not None and "in refuse" in t.traceback
    with pytest.raises(ValueError, match="refused this with 3"):
        t.result()
    assert "raised ValueError" in repr(t)


def test_a_leaking_child_and_a_deliberate_pass(backend: str) -> None:
    t = sysprobe.call(callees.spawn_leaking_child)
    (leak,) = t.leaks()
    assert (leak.fd, leak.descriptor.kind, leak.exec.program) == (t.value, "pipe", "/usr/bin/true")
    assert leak.certain and not leak.deliberate
    with pytest.raises(AssertionError, match="1 descriptor leaked"):
        t.assert_no_fd_leaks()
    passed = sysprobe.call(callees.spawn_with_pass_fds)
    assert passed.leaks() == []
    assert [(p.fd, p.exec.program) for p in passed.passes()] == [(passed.value, "/usr/bin/true")]


def test_a_descriptor_held_before_the_call_is_in_the_model(backend: str) -> None:
    """The table at the first mark is the interpreter's real one: a descriptor a module
    opened at import, without close-on-exec, crosses the call's exec."""
    t = sysprobe.call(opens_at_import.run_true_with_every_fd)
    (leak,) = t.leaks()
    assert leak.fd == t.value and leak.exec.program == "/usr/bin/true"
    assert "inherited, origin unknown" in leak.describe()


def test_output_is_captured_when_asked(backend: str) -> None:
    t = sysprobe.Caller(capture_output=True).call(callees.talk, "out\n", "err\n")
    assert (t.stdout, t.stderr, t.value) == (b"out\n", b"err\n", "out\nerr\n")
    assert sysprobe.call(callees.refuse, "x").stdout is None  # not captured: not known


def test_a_process_ended_inside_the_call(backend: str) -> None:
    t = sysprobe.call(callees.end_process, 3)
    assert isinstance(t.exception, CallFailed)
    assert "did not return: its process exited 3 inside the call" in str(t.exception)
    assert t.exit_status == 3
    with pytest.raises(CallFailed):
        t.result()


def test_a_result_that_cannot_come_back(backend: str) -> None:
    t = sysprobe.call(callees.unpicklable_result)
    assert isinstance(t.exception, CallFailed)
    assert "its return value <function" in str(t.exception) and "cannot be pickled" in str(t.exception)


@pytest.mark.usefixtures("strace_ok")
def test_what_cannot_travel_is_refused_before_anything_runs() -> None:
    with pytest.raises(UsageError, match="must be picklable"):
        sysprobe.call(lambda: None)

    def local() -> None: ...

    with pytest.raises(UsageError, match="not a lambda or a local function"):
        sysprobe.call(local)
    with pytest.raises(UsageError, match="must be picklable"):
        sysprobe.call(callees.refuse, lambda: None)
    with pytest.raises(TypeError, match="not callable"):
        sysprobe.call(3)  # type: ignore[arg-type]


def test_the_fixture_calls_with_its_backend(sysprobe: Sysprobe) -> None:
    t = sysprobe.call(callees.talk, "from the call\n", "")
    assert t.value == "from the call\n" and t.stdout == b"from the call\n"
    t.assert_not_called("execve")


def test_the_fixture_run_keeps_the_output(sysprobe: Sysprobe, capsys: pytest.CaptureFixture[str]) -> None:
    t = sysprobe.run(["sh", "-c", "echo out; echo err >&2"])
    assert (t.stdout, t.stderr) == (b"out\n", b"err\n")
    assert capsys.readouterr() == ("out\n", "err\n")  # still the test's output, as before
    passed = sysprobe.run(["sh", "-c", "echo through"], capture_output=False)
    assert passed.stdout is None
