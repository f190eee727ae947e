"""Golden files: written whole or not at all, compared on their body, with messages that
say what to do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import sysprobe
from sysprobe._golden.golden import write_atomically

# a file whose name is UTF-8 and one whose name is not (latin-1 é): both must survive
LOG = """\
10 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, "caf\\303\\251", O_RDONLY) = 3</tmp/caf\\303\\251>
10 openat(AT_FDCWD, "l\\351", O_RDONLY) = 4</tmp/l\\351>
10 execve("/bin/next", ["next"], 0x7ffe /* 3 vars */) = 0
10 +++ exited with 0 +++
"""


@pytest.fixture
def trace(tmp_path: Path) -> sysprobe.Trace:
    log = tmp_path / "trace.log"
    log.write_text(LOG)
    return sysprobe.parse(log)


def test_update_compare_and_their_statuses(trace: sysprobe.Trace, tmp_path: Path) -> None:
    golden = tmp_path / "new" / "dir" / "g.trace"  # directories made as needed
    assert trace.assert_golden(golden, update=True).status == "created"
    text = trace.golden()
    assert golden.read_bytes() == text.encode("utf-8", "surrogateescape")
    assert b"/tmp/caf\xc3\xa9" in golden.read_bytes() and b"/tmp/l\xe9" in golden.read_bytes()
    assert trace.assert_golden(golden).status == "equal"
    assert trace.assert_golden(golden, update=True).status == "unchanged"
    lines = text.split("\n")
    assert lines[1].startswith("# sysprobe ")
    lines[1] = "# sysprobe 9.9, strace 9.9"  # another version wrote it
    golden.write_text("\n".join(lines), errors="surrogateescape")
    assert trace.assert_golden(golden).status == "equal"  # the header is not compared
    assert trace.assert_golden(golden, update=True).status == "updated"
    assert golden.read_bytes() == text.encode("utf-8", "surrogateescape")


def test_missing_and_different_goldens_say_what_to_do(trace: sysprobe.Trace, tmp_path: Path) -> None:
    missing = tmp_path / "none.trace"
    with pytest.raises(AssertionError) as raised:
        trace.assert_golden(missing)
    assert str(raised.value) == f"golden trace {missing} does not exist: run with --update to create it"
    assert not missing.exists()
    golden = tmp_path / "g.trace"
    golden.write_text(trace.golden().replace("/bin/next", "/bin/other"), errors="surrogateescape")
    with pytest.raises(AssertionError) as raised:
        trace.assert_golden(golden)
    message = str(raised.value).splitlines()
    assert message[0] == f"golden trace {golden} differs from this run: 2 lines changed (--update accepts it)"
    assert message[1:3] == [f"--- {golden} (golden)", f"+++ {golden} (this run)"]
    assert '-  execve("/bin/other", ["next"], <env>) = 0' in message
    assert '+  execve("/bin/next", ["next"], <env>) = 0' in message


def test_the_new_text_is_renamed_over_the_old_from_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hidden temporary file in the same directory (a rename is atomic only within one
    file system), synced before the rename."""
    golden = tmp_path / "g.trace"
    golden.write_text("old\n")
    renamed: list[tuple[str, str]] = []
    synced: list[int] = []
    real_replace, real_fsync = os.replace, os.fsync

    def replace(source: str, target: str) -> None:
        renamed.append((str(source), str(target)))
        real_replace(source, target)

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fsync", fsync)
    write_atomically(golden, "new \udce9\n")
    ((source, target),) = renamed
    assert target == str(golden) and Path(source).parent == tmp_path
    assert Path(source).name.startswith(".g.trace.") and source.endswith(".tmp")
    assert len(synced) == 1
    assert golden.read_bytes() == b"new \xe9\n"
    assert [p.name for p in tmp_path.iterdir()] == ["g.trace"]


def test_a_failing_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    golden = tmp_path / "g.trace"
    golden.write_text("old\n")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt  # ^C while the new text is being written

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(golden, "new\n" * 10_000)
    assert golden.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["g.trace"]  # no temporary file left
