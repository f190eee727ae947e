"""The model's records as the API hands them out: what each keeps, what each says of
itself in a report, and what a changed copy keeps of the original."""

from __future__ import annotations

from sysprobe._model.records import Descriptor, ExecRecord, FlagChange, ForkRecord, Origin, Process, Race

OPENAT = Origin("openat", 7, 12)
FORK = Origin("clone", 5, 10)


def test_each_record_keeps_what_it_was_given() -> None:
    crossed = [Descriptor(3, "pipe", "pipe:[1]", False, OPENAT)]
    late = [Descriptor(4, "file", "/x", False, OPENAT)]
    record = ExecRecord(7, "/bin/true", ["true"], 20, "trace.7", crossed, late=late)
    assert (record.pid, record.program, record.argv, record.line, record.file) == (
        7,
        "/bin/true",
        ["true"],
        20,
        "trace.7",
    )
    assert record.crossed is crossed and record.late is late
    assert (record.injected, record.deliberate, record.supplement_of) == (False, set(), None)
    assert record.all_crossed == [*crossed, *late]
    assert ExecRecord(7, "/bin/true", [], 20, None, []).late == []

    fork = ForkRecord(5, 4, FORK, 9, crossed)
    assert (fork.pid, fork.tgid, fork.call, fork.child, fork.exposed) == (5, 4, FORK, 9, crossed)

    execs = [record]
    process = Process(7, 5, FORK, 11, threads=[7, 8], execs=execs, exit_code=3, signal="SIGTERM")
    assert (process.pid, process.parent, process.created_by, process.first_line) == (7, 5, FORK, 11)
    assert process.threads == [7, 8] and process.execs is execs
    assert (process.exit_code, process.signal, process.core_dumped) == (3, "SIGTERM", False)
    assert Process(7, 5, FORK, 11).threads == [] and Process(7, 5, FORK, 11).execs == []


def test_where_a_record_was_made_names_its_file_if_it_has_one() -> None:
    assert ExecRecord(7, "/bin/true", [], 20, "trace.7", []).where() == "trace.7:20"
    assert ExecRecord(7, "/bin/true", [], 20, None, []).where() == "line 20"
    assert Origin("openat", 7, 12, file="trace.7").describe() == "openat at trace.7:12 in pid 7"
    assert OPENAT.describe() == "openat at line 12 in pid 7"
    assert Origin(None, None, None).describe() == "inherited, origin unknown"
    assert Origin(None, None, None, detail="fd 3 of the shell").describe() == "fd 3 of the shell"


def test_a_race_says_who_raced_whom() -> None:
    close = Origin("close", 8, 11)
    race = Race(FORK, (OPENAT, close), (None,), "created")
    assert race.cause() == "created by pid 7 while pid 5 forked"
    assert race.describe() == (
        "clone at line 10 in pid 5 copied the table while openat at line 12 in pid 7, "
        "close at line 11 in pid 8 were in flight"
    )
    assert (
        Race(FORK, (close,), (None,), "closed").describe().endswith("close at line 11 in pid 8 was in flight")
    )
    for exec_call in ("execve", "execveat"):
        copy = Origin(exec_call, 5, 10)
        assert Race(copy, (OPENAT,), (None,), "created").cause() == "created by pid 7 while pid 5 exec'd"


def test_a_changed_descriptor_keeps_the_rest() -> None:
    source = Descriptor(3, "pipe", "pipe:[1]", False, OPENAT)
    d = Descriptor(5, "pipe", "pipe:[1]", False, Origin("dup", 7, 13), source=source)
    race = Race(FORK, (OPENAT,), (None, d), "created")
    assert d.with_race(race) == Descriptor(5, "pipe", "pipe:[1]", False, d.origin, source=source, race=race)
    change = FlagChange(True, "fcntl", 7, 14)
    marked = d.with_race(race).with_cloexec(True, change)
    assert marked == Descriptor(5, "pipe", "pipe:[1]", True, d.origin, (change,), source)  # proven: no race
    assert marked.with_cloexec(False).changes == (change,)  # no change to remember: none added


def test_a_descriptor_with_close_on_exec_never_surely_crosses() -> None:
    assert not Descriptor(5, "file", "/x", True, OPENAT).surely_crosses()
    assert Descriptor(5, "file", "/x", False, OPENAT).surely_crosses()
