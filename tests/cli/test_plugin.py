"""The pytest plugin, run in a separate pytest session (pytester) as a user would."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from ..helpers import bin_with

pytestmark = pytest.mark.usefixtures("strace_ok")

USER_TESTS = """
import pytest

def test_true(sysprobe):
    t = sysprobe.run(["sh", "-c", "exec true"])
    t.assert_no_fd_leaks()
    t.assert_golden()

@pytest.mark.parametrize("code", [0, 3])
def test_exit(sysprobe, code):
    t = sysprobe.run(["sh", "-c", f"exit {code}"])
    assert t.exit_status == code
    t.assert_golden()
"""


def test_update_then_compare(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    missing = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    missing.assert_outcomes(failed=3)
    missing.stdout.fnmatch_lines(
        [
            "*golden trace traces/test_user/test_true.trace does not exist: "
            "run with --sysprobe-update to create it"
        ]
    )
    pytester.runpytest_subprocess("--sysprobe-update").assert_outcomes(passed=3)
    goldens = sorted(p.name for p in (pytester.path / "traces" / "test_user").iterdir())
    assert goldens == ["test_exit[0].trace", "test_exit[3].trace", "test_true.trace"]
    text = (pytester.path / "traces" / "test_user" / "test_exit[3].trace").read_text()
    assert "+++ exited with 3 +++" in text and "# command: sh -c 'exit 3'" in text
    pytester.runpytest_subprocess().assert_outcomes(passed=3)


def test_a_changed_program_shows_the_diff(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    pytester.runpytest_subprocess("--sysprobe-update").assert_outcomes(passed=3)
    pytester.makepyfile(test_user=USER_TESTS.replace("exec true", "exec true < /etc/hostname"))
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1, passed=2)
    result.stdout.fnmatch_lines(
        [
            "*golden trace traces/test_user/test_true.trace differs from this run: * changed "
            "(--sysprobe-update accepts it)",
            "*this run's golden: */test_true0/sysprobe/test_true.trace",
            "*this run's trace: */test_true0/sysprobe/test_true.strace.log",
            "*+++ traces/test_user/test_true.trace (this run)*",
            '*+  openat(AT_FDCWD<$ROOT>, "/etc/hostname", O_RDONLY) = 3</etc/hostname>*',
        ]
    )


def test_rule_failures_read_well(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_rules="""
        def test_leak(sysprobe):
            t = sysprobe.run(["sh", "-c", "exec 5</etc/hostname; /bin/true; exit 0"])
            t.assert_no_fd_leaks()

        def test_called(sysprobe):
            t = sysprobe.run(["true"])
            t.assert_called("sendfile")
    """
    )
    result = pytester.runpytest_subprocess("-ra")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*FAIL  --no-fd-leaks: 1 descriptor leaked*",
            "*fd 5 (/etc/hostname) leaked into pid * (/bin/true) at line *; created by *",
            "*FAIL  --expect sendfile: no call matched*",
            "*the trace has no sendfile or sendfile64 call at all*",
            "FAILED test_rules.py::test_leak - AssertionError: --no-fd-leaks: 1 desc*",
            "FAILED test_rules.py::test_called - AssertionError: --expect sendfile: no cal*",
        ]
    )


def test_an_incomplete_run_fails_its_test(pytester: pytest.Pytester) -> None:
    """A run cut short fails the test with the reason, whatever the test asserts (or not)."""
    pytester.makepyfile(
        test_cut="""
        def test_timed_out(sysprobe):
            t = sysprobe.run(["sleep", "30"], timeout=0.5)
            t.assert_not_called("sendfile")

        def test_asserts_nothing(sysprobe):
            sysprobe.run(["sh", "-c", "kill -KILL $PPID; exec sleep 30"], backend="strace")
    """
    )
    result = pytester.runpytest_subprocess("-ra")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "sysprobe: the run is incomplete: timed out after 0.5 s: the traced processes were killed",
            "sysprobe: the run is incomplete: strace was killed by SIGKILL while the command ran: *",
            "FAILED test_cut.py::test_timed_out - Failed: sysprobe: the run is incom*",
            "FAILED test_cut.py::test_asserts_nothing - Failed: sysprobe: the run is incom*",
        ]
    )


def test_ctrl_c_during_a_run_stops_the_session(pytester: pytest.Pytester) -> None:
    """sysprobe passes SIGINT on to the traced command and ends its run; the fixture then
    stops the session, as Ctrl-C does without sysprobe (never a pass, nor a mere failure)."""
    ready = pytester.path / "ready"
    pytester.makepyfile(
        test_long=f"""
        def test_long(sysprobe):
            sysprobe.run(["sh", "-c", "touch {ready}; exec sleep 30"])

        def test_after():
            pass
    """
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_long.py"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out
    assert "KeyboardInterrupt" in out and "passed" not in out


def test_unused_goldens_are_reported_and_pruned(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    pytester.runpytest_subprocess("--sysprobe-update").assert_outcomes(passed=3)
    stale = pytester.path / "traces" / "test_user" / "test_renamed.trace"
    stale.write_text("# an old golden\n")
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(
        [
            "*sysprobe: 1 golden trace(s) no test used (--sysprobe-prune deletes them): "
            "traces/test_user/test_renamed.trace"
        ]
    )
    partial = pytester.runpytest_subprocess("-k", "test_true")  # a partial run reports nothing
    assert "no test used" not in partial.stdout.str()
    assert "no test used" not in pytester.runpytest_subprocess("--collect-only").stdout.str()
    # a test that fails before its assert_golden: its module's goldens are left alone
    kept = pytester.path / "traces" / "test_failing" / "test_golden.trace"
    kept.parent.mkdir()
    kept.write_text("# reviewed\n")
    pytester.makepyfile(
        test_failing="""
        def test_golden(sysprobe):
            raise RuntimeError("broken before the golden")
        """
    )
    failing = pytester.runpytest_subprocess("--sysprobe-prune", "test_failing.py")
    failing.assert_outcomes(failed=1)
    assert kept.exists() and "deleted" not in failing.stdout.str()
    pruned = pytester.runpytest_subprocess("--sysprobe-prune")
    pruned.stdout.fnmatch_lines(
        ["*sysprobe: deleted 1 unused golden trace(s): traces/test_user/test_renamed.trace"]
    )
    assert not stale.exists()


def test_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    pytester.runpytest_subprocess("-n", "2", "--sysprobe-update").assert_outcomes(passed=3)
    (pytester.path / "traces" / "test_user" / "test_gone.trace").write_text("# old\n")
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*1 golden trace(s) no test used*traces/test_user/test_gone.trace"])


def test_traces_folder_is_configurable(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsysprobe_traces = golden/strace\n")
    pytester.makepyfile(test_user=USER_TESTS)
    pytester.runpytest_subprocess("--sysprobe-update").assert_outcomes(passed=3)
    assert (pytester.path / "golden" / "strace" / "test_user" / "test_true.trace").exists()


def test_skip_or_require_where_strace_cannot_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    monkeypatch.setenv("SYSPROBE_STRACE", "/nonexistent/strace")
    skipped = pytester.runpytest_subprocess("-rs", "--sysprobe-backend", "strace")
    skipped.assert_outcomes(skipped=3)
    skipped.stdout.fnmatch_lines(["*SKIPPED*sysprobe: strace not found (/nonexistent/strace)*"])
    required = pytester.runpytest_subprocess("--sysprobe-require", "--sysprobe-backend", "strace")
    required.assert_outcomes(errors=3)
    required.stdout.fnmatch_lines(["*the strace backend is required (--sysprobe-require): strace not found*"])


def test_auto_falls_back_to_the_ptrace_backend_without_strace(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No strace: the fixture traces with python-ptrace, and the goldens written with strace
    still compare equal (the header names the tracer; only bodies are compared)."""
    pytester.makepyfile(test_user=USER_TESTS)
    monkeypatch.delenv("SYSPROBE_STRACE", raising=False)
    tools = pytester.path / "bin"  # the same PATH for both runs: the goldens name sh and true by it
    monkeypatch.setenv("PATH", bin_with(tools, "sh", "true", "strace"))
    pytester.runpytest_subprocess("--sysprobe-update").assert_outcomes(passed=3)
    golden = pytester.path / "traces" / "test_user" / "test_true.trace"
    assert ", strace " in golden.read_text().splitlines()[1]
    (tools / "strace").unlink()  # now a machine without strace
    pytester.runpytest_subprocess("--sysprobe-require").assert_outcomes(passed=3)
    pytester.runpytest_subprocess("--sysprobe-update", "--sysprobe-backend", "ptrace").assert_outcomes(
        passed=3
    )
    assert "python-ptrace" in golden.read_text().splitlines()[1]


SAME_NAMES = """
import pytest


class TestOne:
    def test_same(self, sysprobe):
        sysprobe.run(["sh", "-c", "exit 1"]).assert_golden()


class TestTwo:
    def test_same(self, sysprobe):
        sysprobe.run(["sh", "-c", "exit 2"]).assert_golden()


@pytest.mark.parametrize("where", ["a/b", "a_b", "a?b"])
def test_ids(sysprobe, where):
    sysprobe.run(["sh", "-c", f"exit {len(where) + ord(where[1]) % 7}"]).assert_golden()
"""


def test_classes_packages_and_ids_never_share_a_golden(pytester: pytest.Pytester) -> None:
    """Two test_same in two classes, two test_x.py in two packages, parametrize ids that a
    file name cannot hold as they are: each has a file of its own."""
    for package in ("pkg_a", "pkg_b"):
        pytester.mkpydir(package)
        (pytester.path / package / "test_x.py").write_text(SAME_NAMES)
    pytester.runpytest_subprocess("--sysprobe-update").assert_outcomes(passed=10)
    found = sorted(str(p.relative_to(pytester.path)) for p in (pytester.path / "traces").rglob("*.trace"))
    assert found == [
        f"traces/{package}/test_x/{name}.trace"
        for package in ("pkg_a", "pkg_b")
        for name in (
            "TestOne.test_same",
            "TestTwo.test_same",
            "test_ids[a%2Fb]",
            "test_ids[a%3Fb]",
            "test_ids[a_b]",
        )
    ]
    one = (pytester.path / "traces/pkg_a/test_x/TestOne.test_same.trace").read_text()
    assert "+++ exited with 1 +++" in one
    pytester.runpytest_subprocess().assert_outcomes(passed=10)


PRUNED = """
import pytest


@pytest.mark.parametrize("code", [0, 3])
def test_exit(sysprobe, code):
    sysprobe.run(["sh", "-c", f"exit {code}"]).assert_golden()


def test_named(sysprobe):
    sysprobe.run(["true"]).assert_golden("first")
"""


def test_prune_respects_the_selection(pytester: pytest.Pytester) -> None:
    """A run narrowed to some tests (file.py::test[id], -k) reports and prunes only what
    the tests it ran left unused; a whole run reports the orphans too."""
    pytester.makepyfile(test_user=PRUNED)
    pytester.runpytest_subprocess("--sysprobe-update").assert_outcomes(passed=3)
    folder = pytester.path / "traces" / "test_user"
    orphan = folder / "test_removed.trace"
    orphan.write_text("# a golden of a test that is gone\n")
    stale = folder / "test_named.second.trace"
    stale.write_text("# a name test_named no longer uses\n")
    narrowed = pytester.runpytest_subprocess("test_user.py::test_exit[0]", "--sysprobe-prune")
    narrowed.assert_outcomes(passed=1)
    assert "deleted" not in narrowed.stdout.str()
    assert sorted(p.name for p in folder.iterdir()) == [
        "test_exit[0].trace",
        "test_exit[3].trace",
        "test_named.first.trace",
        "test_named.second.trace",
        "test_removed.trace",
    ]
    named = pytester.runpytest_subprocess("-k", "test_named", "--sysprobe-prune")
    named.stdout.fnmatch_lines(
        ["*sysprobe: deleted 1 unused golden trace(s): traces/test_user/test_named.second.trace"]
    )
    assert orphan.exists()
    whole = pytester.runpytest_subprocess("--sysprobe-prune")
    whole.stdout.fnmatch_lines(
        ["*sysprobe: deleted 1 unused golden trace(s): traces/test_user/test_removed.trace"]
    )
    assert sorted(p.name for p in folder.iterdir()) == [
        "test_exit[0].trace",
        "test_exit[3].trace",
        "test_named.first.trace",
    ]


def test_a_golden_is_written_with_the_users_umask(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    old = os.umask(0o002)
    try:
        pytester.runpytest_subprocess("--sysprobe-update").assert_outcomes(passed=3)
    finally:
        os.umask(old)
    golden = pytester.path / "traces" / "test_user" / "test_true.trace"
    assert stat.S_IMODE(golden.stat().st_mode) == 0o664


def test_a_format_1_golden_says_how_to_rewrite_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    pytester.runpytest_subprocess("--sysprobe-update").assert_outcomes(passed=3)
    golden = pytester.path / "traces" / "test_user" / "test_true.trace"
    golden.write_text(golden.read_text().replace("format 2", "format 1"))
    result = pytester.runpytest_subprocess("-ra")
    result.assert_outcomes(failed=1, passed=2)
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: golden trace traces/test_user/test_true.trace was written by format 1: "
            "re-run with --sysprobe-update to write format 2",
            "FAILED test_user.py::test_true - AssertionError: golden trace traces/test_use*",
        ]
    )
