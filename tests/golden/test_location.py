"""Where a test's goldens live: one file per test (and name), whatever its classes and
parameters, a backend parameter aside, and a file name for any name."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sysprobe._golden.location import escape, golden_path, module_folder, owner_name, owns, unused_goldens

TESTS = """
import pytest
class TestA:
    class TestB:
        @pytest.mark.parametrize("n", [1, 2])
        @pytest.mark.parametrize("backend", ["strace", "ptrace"])
        def test_x(self, backend, n): pass
@pytest.mark.parametrize("backend", ["strace"])
def test_only_backend(backend): pass
@pytest.mark.parametrize("backend", ["strace"], ids=["s"])
def test_own_id(backend): pass
def test_plain(): pass
"""


def test_a_tests_goldens_are_named_by_its_classes_and_parameters(pytester: pytest.Pytester) -> None:
    items = pytester.getitems(TESTS)
    folder = pytester.path / "traces" / "test_a_tests_goldens_are_named_by_its_classes_and_parameters"
    assert [(owner_name(i), golden_path(i), golden_path(i, "a b")) for i in items] == [
        (name, folder / f"{name}.trace", folder / f"{name}.a%20b.trace")
        for name in [
            # each backend's trace must match the same golden
            "TestA.TestB.test_x[1]",
            "TestA.TestB.test_x[2]",
            "TestA.TestB.test_x[1]",
            "TestA.TestB.test_x[2]",
            "test_only_backend",
            "test_own_id[s]",  # an id that does not name the backend is the user's
            "test_plain",
        ]
    ]


def test_a_test_file_outside_the_rootdir_keeps_its_whole_path(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (item, *_) = pytester.getitems(TESTS)
    traces = pytester.path / "traces"
    assert module_folder(item.config, "/elsewhere/x y/test_z.py") == traces / "elsewhere" / "x%20y" / "test_z"
    monkeypatch.chdir(tmp_path)  # a test that changed directory: a relative path is pytest's
    assert module_folder(item.config, "sub/test_z.py") == traces / "sub" / "test_z"  # from where pytest ran


def test_a_file_name_for_any_name() -> None:
    # %-escaped, so that two names never meet in one file; letters of any script stay
    assert escape("a/b c%é[x]=1,+@-.") == "a%2Fb%20c%25é[x]=1,+@-."
    assert escape("a b") != escape("a%20b")
    assert escape("a\u00a0b") == "a%C2%A0b"  # not a word character: each of its bytes
    fits = "x" * 240  # bytes: the suffix still fits in 255
    assert escape(fits) == fits


@pytest.mark.parametrize("name", ["y" * 241, "é" * 130, "/" * 100])
def test_a_name_too_long_keeps_its_start_and_a_hash_of_the_whole(name: str) -> None:
    short = escape(name)
    head, _, digest = short.rpartition("~")
    assert digest == hashlib.sha256(name.encode()).hexdigest()[:12]
    assert len(short.encode()) <= 240 and len(head.encode()) > 220
    assert escape(name)[:50] == escape(name[:60])[:50]  # the start, escaped, cut whole characters
    assert escape(name[:-1] + "z") != short  # the hash tells names that differ only at the end


def test_a_name_too_long_uses_the_whole_room() -> None:
    assert len(escape("y" * 241).encode()) == 240  # 227 bytes of the start, "~", 12 of the hash


def test_which_goldens_no_test_used(tmp_path: Path) -> None:
    """Only what the session can vouch for: a golden of a test that passed without using
    it, or of no test in a module that ran whole with every test passing."""
    whole, narrowed, failing = (tmp_path / name for name in ("whole", "narrowed", "failing"))
    files = {
        whole: ["test_a.trace", "test_a.extra.trace", "test_ab.trace", "test_gone.trace", "notes.txt"],
        narrowed: ["test_c.trace", "test_c.old.trace", "test_gone.trace"],
        failing: ["test_d.trace", "test_e.old.trace", "test_gone.trace"],
    }
    for folder, names in files.items():
        folder.mkdir()
        for name in names:
            (folder / name).write_text("")
    selected = {
        "w.py::test_a": (str(whole), "test_a"),
        "w.py::test_ab": (str(whole), "test_ab"),
        "n.py::test_c": (str(narrowed), "test_c"),
        "f.py::test_d": (str(failing), "test_d"),
        "f.py::test_e": (str(failing), "test_e"),
    }
    used = [str(whole / "test_a.trace"), str(narrowed / "test_c.trace"), str(failing / "test_e.old.trace")]
    unused = unused_goldens(
        used=used, selected=selected, narrowed=[str(narrowed)], not_passed=["f.py::test_d"]
    )
    assert unused == sorted(
        [
            whole / "test_a.extra.trace",  # test_a passed without this one (test_ab's is its own)
            whole / "test_ab.trace",
            whole / "test_gone.trace",  # no test of a module that ran whole
            narrowed / "test_c.old.trace",  # test_c ran and passed without it
        ]
    )
    # test_d failed: what it owns may be what it did not reach, and its module reports no orphans
    assert owns("test_a", whole / "test_a.extra.trace") and not owns("test_a", whole / "test_ab.trace")
    assert owns("a b", whole / "a%20b.trace") and not owns("a b", whole / "a b.trace")
