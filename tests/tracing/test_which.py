"""What the tracing layer does without the standard library's heavier modules (start-up):
its PATH search answers as ``shutil.which`` does, and the run's FIFO directory is made
and removed as ``tempfile.mkdtemp`` and ``shutil.rmtree`` would."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from sysprobe._tracing.base import which
from sysprobe._tracing.supervisor import _make_workdir, _remove_workdir


@pytest.fixture
def bins(tmp_path: Path) -> Path:
    """Folders a, b, c: an executable `tool` in b and c, a non-executable `tool` in a, a
    directory `dir` in a and an executable `dir` in b, a non-executable `data` only in c."""
    for folder in "abc":
        (tmp_path / folder).mkdir()
    for where, mode in (("a", 0o644), ("b", 0o755), ("c", 0o755)):
        (tmp_path / where / "tool").write_text("#!/bin/sh\n")
        (tmp_path / where / "tool").chmod(mode)
    (tmp_path / "a" / "dir").mkdir()
    (tmp_path / "b" / "dir").write_text("")
    (tmp_path / "b" / "dir").chmod(0o755)
    (tmp_path / "c" / "data").write_text("")
    (tmp_path / "c" / "data").chmod(0o644)
    return tmp_path


# (name, PATH's entries: folders of `bins` or "" for the current directory, mode)
CASES = [
    ("tool", ["a", "b", "c"], os.X_OK),
    ("tool", ["a", "b", "c"], os.F_OK),  # the first that exists, executable or not
    ("dir", ["a", "b"], os.X_OK),  # a directory is never an answer
    ("data", ["a", "b", "c"], os.X_OK),
    ("data", ["a", "b", "c"], os.F_OK),
    ("tool", [], os.X_OK),  # PATH='' finds nothing
    ("tool", ["", "c"], os.X_OK),  # an empty entry is the current directory (b)
    ("tool", ["missing", "c"], os.X_OK),
    ("b/tool", ["c"], os.X_OK),  # a directory part: the name itself, not the PATH
    ("a/tool", ["b"], os.X_OK),
    ("a/dir", ["b"], os.F_OK),
    ("nothing", ["a", "b", "c"], os.F_OK),
]


@pytest.mark.parametrize(("name", "entries", "mode"), CASES)
def test_which_answers_as_shutil_does(
    bins: Path, monkeypatch: pytest.MonkeyPatch, name: str, entries: list[str], mode: int
) -> None:
    monkeypatch.chdir(bins / "b" if "" in entries else bins)
    path = os.pathsep.join(str(bins / e) if e else "" for e in entries)
    assert which(name, path, mode) == shutil.which(name, mode, path)


def test_which_reads_path_from_the_environment(bins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{bins / 'a'}:{bins / 'c'}")
    assert which("tool") == shutil.which("tool") == str(bins / "c" / "tool")
    monkeypatch.delenv("PATH")
    assert which("sh") == shutil.which("sh") is not None  # the system's default path


def test_the_workdir_is_private_and_goes_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    workdir = _make_workdir()
    assert os.path.dirname(workdir) == str(tmp_path)
    assert os.path.basename(workdir).startswith("sysprobe-")
    assert stat.S_IMODE(os.stat(workdir).st_mode) & 0o077 == 0
    assert _make_workdir() != workdir
    fifo = os.path.join(workdir, "trace")
    os.mkfifo(fifo, 0o600)
    _remove_workdir(workdir, fifo)
    assert not os.path.exists(workdir)
    _remove_workdir(workdir, fifo)  # gone already: nothing to say


def test_a_workdir_holding_more_than_its_fifo_still_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    workdir = _make_workdir()
    (Path(workdir) / "sub").mkdir()
    (Path(workdir) / "sub" / "file").write_text("x")
    _remove_workdir(workdir, os.path.join(workdir, "trace"))  # no FIFO was made
    assert not os.path.exists(workdir)


def test_an_unusable_tmpdir_falls_back_to_tempfiles_choice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tempfile skips a $TMPDIR it cannot write in: so does the run."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / "not-there"))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # tempfile caches its choice
    workdir = _make_workdir()
    try:
        assert not workdir.startswith(str(tmp_path))
        assert os.path.isdir(workdir) and os.path.basename(workdir).startswith("sysprobe-")
    finally:
        os.rmdir(workdir)


def test_a_directory_in_the_fifos_place_goes_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The traced command can replace the FIFO: cleaning up must not raise over it."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    workdir = _make_workdir()
    fifo = os.path.join(workdir, "trace")
    os.mkdir(fifo)
    (Path(fifo) / "x").write_text("x")
    _remove_workdir(workdir, fifo)
    assert not os.path.exists(workdir)
