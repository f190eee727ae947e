"""A Trace reads its events once: the model keeps what every table held after every
event, so ``fd_table(pid, at=line)`` is the table a model fed the trace up to that line
would show — on other people's logs and on real programs, with threads, vfork children
whose lines come before their parent's vfork returns, dup2 over open descriptors,
close_range and unshare."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import sysprobe
from sysprobe import Trace
from sysprobe._model.fdmodel import FdModel
from sysprobe._model.reorder import HOLD_BUDGET
from sysprobe._parsing.lineparse import parse_lines
from sysprobe._pipeline import Analysis
from sysprobe._rules.rules import RuleSet
from sysprobe.events import Event

from ..helpers import CORPUS

LOGS = [
    CORPUS / "tree-sitter-strace" / "example-file-interleaf.strace",  # threads, split calls
    CORPUS / "tracecode-toolkit-strace" / "trace.70676",
    CORPUS / "tracecode-toolkit-strace" / "t.15480",
]
SCENARIOS = ["vfork", "thread", "dup2_over", "close_range_cloexec", "unshare", "fork_then_close"]


def ends_of(events: list[Event]) -> list[int]:
    """For each event, the last line the trace has reached once it is read."""
    ends, last = [], 0
    for event in events:
        last = max(last, event.lines[-1])
        ends.append(last)
    return ends


def assert_tables_match_a_model_fed_so_far(t: Trace) -> int:
    """At every line the trace reaches, every pid's table from the Trace equals the table
    of a second model fed the events up to that line. Returns how many lines were checked."""
    model = FdModel(t.arch)
    pids = {event.pid for event in t.events}
    ends = ends_of(t.events)
    checked = 0
    for k, event in enumerate(t.events):
        model.feed(event)
        line = ends[k]
        if k + 1 < len(ends) and ends[k + 1] == line:
            continue  # the next event also ends by this line: it belongs to the same prefix
        for pid in pids:
            assert t.fd_table(pid, at=line) == model.table(pid), f"pid {pid} after line {line}"
        checked += 1
    return checked


def assert_fresh_models_agree(t: Trace, samples: int = 5) -> None:
    """The same at a few lines, each with a model made for that line alone."""
    ends = ends_of(t.events)
    for i in range(1, samples + 1):
        k = len(t.events) * i // samples
        line = ends[k - 1]
        fresh = FdModel(t.arch)
        for event in t.events[: sum(1 for end in ends if end <= line)]:
            fresh.feed(event)
        for pid in {event.pid for event in t.events}:
            assert t.fd_table(pid, at=line) == fresh.table(pid)


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.name)
def test_fd_table_at_every_line_of_a_recorded_log(log: Path) -> None:
    t = sysprobe.parse(log)
    assert assert_tables_match_a_model_fed_so_far(t) > 50
    assert_fresh_models_agree(t)


@pytest.mark.usefixtures("strace_ok")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_fd_table_at_every_line_of_a_real_program(
    scenario: str, compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    fdops, openfds = compile_c("fdops"), compile_c("openfds")
    t = sysprobe.trace([str(fdops), scenario, str(openfds), str(tmp_path / "out")])
    assert assert_tables_match_a_model_fed_so_far(t) > 20
    assert_fresh_models_agree(t)


@pytest.mark.usefixtures("strace_ok")
def test_fd_table_at_every_line_of_python_with_a_thread_and_a_subprocess(tmp_path: Path) -> None:
    program = (
        "import os, subprocess, threading\n"
        "r, w = os.pipe()\n"
        "t = threading.Thread(target=lambda: os.close(os.dup(r)))\n"
        "t.start(); t.join()\n"
        "subprocess.run(['true'], pass_fds=[w])\n"
        "os.dup2(r, 9)\n"
    )
    t = sysprobe.trace([sys.executable, "-c", program])
    assert len(t.processes) == 2
    assert assert_tables_match_a_model_fed_so_far(t) > 100


def test_a_table_before_its_task_existed_is_empty() -> None:
    t = sysprobe.parse(CORPUS / "tree-sitter-strace" / "example-file-interleaf.strace")
    made = [task for task in t.model.tree.walk() if task.created_by is not None]
    assert len(made) == 5  # the threads of node
    for task in made:
        origin = task.created_by
        assert origin is not None
        (clone,) = [e for e in t.calls() if (e.pid, e.line) == (origin.pid, origin.line)]
        assert t.fd_table(task.pid, at=clone.line - 1) == {}
        assert t.fd_table(task.pid, at=clone.lines[-1]) == t.fd_table(origin.pid, at=clone.lines[-1])


# ---- events held for a task whose creation has not shown ----


def vfork_children(children: int, held_each: int) -> list[str]:
    """A parent with a pipe vforks ``children`` children; each child's calls and exec come
    before the parent's vfork returns (as strace prints a vfork)."""
    lines = [
        '100 execve("/bin/parent", ["parent"], 0x7ffd /* 3 vars */) = 0',
        "100 pipe2([3<pipe:[7]>, 4<pipe:[7]>], 0) = 0",
    ]
    for i in range(children):
        child = 1000 + i
        lines += [f"{child} getpid() = {child}"] * held_each
        lines += [
            f'{child} execve("/bin/true", ["true"], 0x7ffd /* 3 vars */) = 0',
            f"100 vfork() = {child}",
            f"{child} +++ exited with 0 +++",
        ]
    return [*lines, "100 brk(NULL) = 0x5000", "100 +++ exited with 0 +++"]  # brk: not a filtered log


def test_held_events_released_by_their_fork_leave_the_budget() -> None:
    """Events released when their parent's vfork returns no longer count against the hold
    budget. (They did: after HOLD_BUDGET events held in all, every child was taken as
    made outside the trace, with a table of 0-2 only, and its leaks were missed.)"""
    children = HOLD_BUDGET // 10 + 500  # 11 held events each: well past the budget in all
    rules = RuleSet(no_fd_leaks=True)
    report = Analysis(rules.build()).feed_all(parse_lines(vfork_children(children, 10))).finish("vfork")
    assert report.results[0].summary == f"{2 * children} descriptors leaked"
    t = sysprobe.Trace(parse_lines(vfork_children(children, 10)), title="vfork")
    assert len(t.leaks()) == 2 * children
    assert all(p.parent == 100 for p in t.processes[1:])


def test_logs_one_after_another_hold_nothing() -> None:
    """When every task has ended, a new pid cannot be a child whose clone has not
    returned: it starts a tree of its own at once (concatenated logs, the benchmark's
    generated logs), instead of waiting in the held events."""
    copy = [
        '{p} execve("/bin/parent", ["parent"], 0x7ffd /* 3 vars */) = 0',
        "{p} pipe2([3<pipe:[7]>, 4<pipe:[7]>], 0) = 0",
        '{c} execve("/bin/true", ["true"], 0x7ffd /* 3 vars */) = 0',
        "{p} vfork() = {c}",
        "{c} +++ exited with 0 +++",
        "{p} +++ exited with 0 +++",
    ]
    lines = [line.format(p=100 + 2 * i, c=101 + 2 * i) for i in range(1000) for line in copy]
    model, most_held = FdModel(retain=False), 0
    for event in parse_lines(lines):
        model.feed(event)
        most_held = max(most_held, model._held_count)
    assert most_held == 1  # each child's exec, until its parent's vfork returns
    t = sysprobe.Trace(parse_lines(lines[: 2 * len(copy)]), title="two logs")
    assert [(p.pid, p.parent) for p in t.processes] == [(100, None), (101, 100), (102, None), (103, 102)]
    assert [leak.fd for leak in t.leaks()] == [3, 4, 3, 4]
