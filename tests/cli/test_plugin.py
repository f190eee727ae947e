"""The pytest plugin, run in a separate pytest session (pytester) as a user would."""

from __future__ import annotations

import pytest

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
    missing.stdout.fnmatch_lines(["*golden trace traces/test_user/test_true.trace does not exist;*--update*"])
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
            "*the trace differs from the golden traces/test_user/test_true.trace (--update accepts it):*",
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
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*FAIL  --no-fd-leaks: 1 descriptor leaked*",
            "*fd 5 (/etc/hostname) leaked into pid * (/bin/true) at line *; created by *",
            "*FAIL  --expect sendfile: no call matched*",
            "*the trace has no sendfile or sendfile64 call at all*",
        ]
    )


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
    pytester.runpytest_subprocess("--sysprobe-update").assert_outcomes(passed=3)
    golden = pytester.path / "traces" / "test_user" / "test_true.trace"
    assert ", strace " in golden.read_text().splitlines()[1]
    monkeypatch.setenv("SYSPROBE_STRACE", "/nonexistent/strace")
    pytester.runpytest_subprocess("--sysprobe-require").assert_outcomes(passed=3)
    pytester.runpytest_subprocess("--sysprobe-update", "--sysprobe-backend", "ptrace").assert_outcomes(
        passed=3
    )
    assert "python-ptrace" in golden.read_text().splitlines()[1]
