"""``Trace.fd_table(pid, after=event)``: the table right after a call, always exact — for
a call strace split in two, and for a vfork child whose calls came before its parent's
vfork returned (``at=line`` reads the trace by line and can miss both)."""

from __future__ import annotations

import sys

import pytest

import sysprobe

SUBPROCESS = "import subprocess; subprocess.run(['true'], stdout=subprocess.PIPE)"


def test_after_a_vfork_childs_exec_and_a_split_call() -> None:
    t = sysprobe.trace([sys.executable, "-c", SUBPROCESS])
    (vfork,) = t.calls("vfork")
    child = [e for e in t.calls("execve") if e.ret == 0 and e.pid != t.events[0].pid][-1]
    table = t.fd_table(child.pid, after=child)
    assert sorted(table) == [0, 1, 2]  # what the child kept across its exec
    assert table[1].kind == "pipe"  # its stdout is the pipe subprocess made
    made = t.fd_table(vfork.pid, after=vfork)
    assert made == t.fd_table(vfork.pid, at=vfork.lines[-1])
    for event in t.calls():  # every call: the table after it has what it made
        if event.ret_fd is not None and event.ret is not None and event.ret >= 0:
            assert event.ret in t.fd_table(event.pid, after=event), event


def test_an_event_of_another_trace_is_refused() -> None:
    one = sysprobe.trace(["true"])
    other = sysprobe.trace(["true"])
    with pytest.raises(ValueError, match="is not an event this trace's model applied"):
        one.fd_table(other.events[0].pid, after=other.events[0])
