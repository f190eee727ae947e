"""A Trace judges rules from its recorded pass exactly as a streaming check judges them
while reading the trace: same verdicts, same evidence, same counts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import sysprobe
from sysprobe._parsing.lineparse import parse_lines
from sysprobe._parsing.sources import parse_paths
from sysprobe._pipeline import Analysis
from sysprobe._rules.rules import PRUNE_AT, RuleSet
from sysprobe._tracing.supervisor import RunOutcome

from ..helpers import CORPUS

RULES = RuleSet(
    expect=["execve", "sendfile"],
    forbid=["openat(*, *, O_RDONLY)"],
    expect_count=[">=2 close", "=0 vfork"],
    order=["openat -> close", "pipe2 -> execve"],
    cloexec=["openat", "pipe2|pipe"],
    no_fd_leaks=True,
    allow_fds=[4],
    expect_exit=0,
)
LOGS = [
    CORPUS / "tree-sitter-strace" / "example-file-interleaf.strace",
    CORPUS / "tree-sitter-strace" / "example-file.strace",
    CORPUS / "tracecode-toolkit-strace" / "trace.70676",
    CORPUS / "tracecode-toolkit-strace" / "t.15480",
]


def streamed(title: str, events: object, outcome: RunOutcome | None = None) -> dict[str, object]:
    analysis = Analysis(RULES.build()).feed_all(events)  # type: ignore[arg-type]
    return analysis.finish(title, outcome).to_json()


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.name)
def test_recorded_logs(log: Path) -> None:
    t = sysprobe.parse(log)
    assert t.check(RULES).to_json() == streamed(t.title, parse_paths([str(log)]))


@pytest.mark.usefixtures("strace_ok")
@pytest.mark.parametrize("variant", ["leak", "FIX_FCNTL", "FIX_SPAWN"])
def test_real_programs(variant: str, compile_c: Callable[..., Path]) -> None:
    program = compile_c("forkexec_pipe", *([] if variant == "leak" else [variant]))
    t = sysprobe.trace([str(program)])
    report = t.check(RULES)
    assert report.to_json() == streamed(t.title, t.events, t.outcome)
    assert t.outcome is not None and report.tracer == t.outcome.tracer
    (leaks,) = [r for r in report.results if r.rule == "--no-fd-leaks --allow-fd 4"]
    assert leaks.passed is (variant != "leak")


def test_enough_creations_to_prune_the_streaming_check() -> None:
    """The streaming --cloexec forgets closed creations as it goes; the replay, over the
    finished model, keeps them all: both must reach the same verdicts."""
    lines = ['100 execve("/bin/parent", ["parent"], 0x7ffd /* 3 vars */) = 0']
    for i in range(PRUNE_AT + 100):
        lines += [f'100 openat(AT_FDCWD, "/tmp/f{i}", O_RDONLY) = 3', "100 close(3) = 0"]
    lines += [
        '100 openat(AT_FDCWD, "/tmp/last", O_RDONLY) = 3',
        "100 clone(child_stack=NULL, flags=SIGCHLD) = 200",
    ]
    lines += ['200 execve("/bin/child", ["child"], 0x7ffd /* 3 vars */) = 0', "200 +++ exited with 0 +++"]
    lines += ["100 brk(NULL) = 0x5000", "100 +++ exited with 0 +++"]  # brk: not a filtered log
    t = sysprobe.Trace(parse_lines(lines), title="many")
    report = t.check(RULES)
    assert report.to_json() == streamed("many", parse_lines(lines))
    (cloexec,) = [r for r in report.results if r.rule == "--cloexec openat"]
    assert cloexec.summary == f"{PRUNE_AT + 101} violations"  # each closed one, and the exec
