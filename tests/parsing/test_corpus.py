"""Every line of every log in the corpus (other people's strace runs) is read."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sysprobe._parsing.sources import parse_paths
from sysprobe.argtree import Call, Comment, Commented, Const, Flags, Str, Struct
from sysprobe.events import Event, Exit, Syscall, Unparsed

from ..helpers import CORPUS, raw_nodes

LOGS = sorted(
    p
    for p in CORPUS.rglob("*")
    if p.is_file() and p.suffix not in (".md", ".LICENSE") and p.name not in ("LICENSE", "NOTICE")
)


def events_of(path: Path) -> list[Event]:
    return list(parse_paths([str(path)]))


def test_the_corpus_is_there() -> None:
    assert len(LOGS) == 6


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_every_line_parses(path: Path) -> None:
    events = events_of(path)
    unparsed = [e for e in events if isinstance(e, Unparsed)]
    assert unparsed == []
    with open(path, "rb") as fh:
        line_count = len(fh.read().splitlines())
    assert sorted(n for e in events for n in e.lines) == list(range(1, line_count + 1))
    undecoded = [(e.line, r) for e in events if isinstance(e, Syscall) for r in raw_nodes(e.args)]
    assert undecoded == []


def test_small_file_facts() -> None:
    events = events_of(CORPUS / "tree-sitter-strace" / "example-file-small.strace")
    calls = [e for e in events if isinstance(e, Syscall)]
    assert [c.name for c in calls] == [
        "execve",
        "brk",
        "arch_prctl",
        "newfstatat",
        "poll",
        "read",
        "fcntl",
        "ioctl",
        "rt_sigprocmask",
        "rseq",
    ]
    by_name = {c.name: c for c in calls}
    assert by_name["arch_prctl"].args[0] == Commented(0x3001, "ARCH_???")
    assert (by_name["arch_prctl"].errno, by_name["arch_prctl"].errno_text) == ("EINVAL", "Argument invalide")
    assert by_name["ioctl"].errno_text == "Ioctl() inappropré pour un périphérique"
    assert by_name["poll"].note == "Timeout"
    assert (by_name["fcntl"].ret, by_name["fcntl"].note) == (0x402, "flags O_RDWR|O_APPEND")
    stat = by_name["newfstatat"].args[2]
    assert isinstance(stat, Struct) and stat.get("st_rdev") == Call("makedev", (0x88, 0))
    read = by_name["read"].args[1]
    assert isinstance(read, Str) and read.truncated and read.value.startswith(b'{\n  "name"')
    assert by_name["execve"].args[2] == Commented(0x7FFDCC909270, "84 vars")
    assert (by_name["rt_sigprocmask"].split, by_name["rt_sigprocmask"].pid) == ("resumed", 34724)
    assert (by_name["rseq"].split, by_name["rseq"].pid) == ("unfinished", 374673)


def test_multithreaded_interleaving() -> None:
    events = events_of(CORPUS / "tree-sitter-strace" / "example-file-interleaf.strace")
    calls = [e for e in events if isinstance(e, Syscall)]
    merged = [c for c in calls if c.split == "merged"]
    assert len(merged) == 292  # every <unfinished ...> found its <... resumed>
    assert all(c.end_line is not None and c.end_line > c.line for c in merged)
    assert not [c for c in calls if c.split in ("unfinished", "resumed")]
    exits = [e for e in events if isinstance(e, Exit)]
    assert sorted(e.pid or 0 for e in exits) == [34724, 34725, 34726, 34727, 34728, 34729]
    clones = [c for c in calls if c.name == "clone3"]
    assert sorted(c.ret for c in clones if c.ret) == [34725, 34726, 34727, 34728, 34729]
    # 583 lines of the main thread, 94 of them the second halves of split calls
    assert Counter(e.pid for e in events)[34724] == 489


def test_per_pid_files_from_strace_4() -> None:
    events = events_of(CORPUS / "tracecode-toolkit-strace" / "t.15480")
    assert {e.pid for e in events} == {15480}  # from the file name: -ff lines carry no pid
    assert all(e.time is not None for e in events)
    cp = next(e for e in events if isinstance(e, Syscall) and e.name == "execve")
    assert cp.args[0] == Str(b"/bin/cp") and cp.time == "1392637437.085484"
    sigaction = next(e for e in events if isinstance(e, Syscall) and e.name == "rt_sigaction")
    assert sigaction.args[1] == Struct((Const("SIG_DFL"), (), Const("SA_RESTORER"), 0x7FC3443ED9A0))
    written = next(e for e in events if isinstance(e, Syscall) and e.name == "write")
    assert written.args[0].info == "/home/nexb/bin/systemsupport"  # type: ignore[union-attr]
    assert isinstance(events[-1], Exit) and events[-1].code == 0


def test_arm_cross_compiler_run() -> None:
    events = events_of(CORPUS / "tracecode-toolkit-strace" / "trace.70676")
    calls = [e for e in events if isinstance(e, Syscall)]
    assert sum(c.name == "mmap2" for c in calls) == 58
    execve = calls[0]
    assert execve.name == "execve" and execve.args[2] == (Comment("70 vars"),)
    missing = [c for c in calls if c.errno == "ENOENT"]
    assert missing and all(c.errno_text == "No such file or directory" for c in missing)


def test_paths_with_spaces() -> None:
    events = events_of(CORPUS / "tracecode-toolkit-strace" / "space.trace")
    calls = [e for e in events if isinstance(e, Syscall)]
    read = next(c for c in calls if c.name == "read")
    assert read.args[0].info == "/lib/x86_64-linux  -gnu/libc-2.15.so"  # type: ignore[union-attr]
    write = next(c for c in calls if c.name == "write")
    assert write.args[0].info == "/dev/p  ts/6"  # type: ignore[union-attr]
    assert write.args[1] == Str(b"/bin/mkdir -p ./linux\n")
    opened = next(c for c in calls if c.name == "openat")
    assert opened.args[2] == Flags(
        (Const("O_RDONLY"), Const("O_NONBLOCK"), Const("O_DIRECTORY"), Const("O_CLOEXEC"))
    )


def test_unrelated_logs_are_read_one_after_another() -> None:
    paths = [str(CORPUS / "tracecode-toolkit-strace" / n) for n in ("t.15480", "trace.70676")]
    events = list(parse_paths(paths))
    assert [e.file for e in (events[0], events[-1])] == ["t.15480", "trace.70676"]
    assert {e.pid for e in events} == {15480, 70676}
