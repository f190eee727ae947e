"""pytest --sysprobe-leaks on a suite nobody changed for it (pytester, as a user runs it)."""

from __future__ import annotations

import json
from typing import Any

import pytest

SUITE = """
import os
import subprocess


def test_clean():
    subprocess.run(["true"], check=True)


def test_leaky():
    r, w = os.pipe()
    os.set_inheritable(w, True)
    subprocess.run(["true"], close_fds=False, check=True)
    os.close(r)
    os.close(w)


def test_pass_fds():
    r, w = os.pipe()
    subprocess.run(["true"], pass_fds=[w], check=True)
    os.close(r)
    os.close(w)


class TestGroup:
    def test_leaky(self):
        with open("/etc/hostname") as fh:
            os.set_inheritable(fh.fileno(), True)
            subprocess.run(["cat", "/dev/null"], close_fds=False, check=True)
"""
LEAKY = ["test_suite.py::TestGroup::test_leaky", "test_suite.py::test_leaky"]


def hunt(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--sysprobe-leaks", "--sysprobe-leaks-report", "report.json", *args
    )
    report = pytester.path / "report.json"
    return result, json.loads(report.read_text()) if report.exists() else {}


def section(result: pytest.RunResult) -> list[str]:
    """The lines of sysprobe's report, from its title on."""
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if " sysprobe: " in line and "===" in line)
    return lines[start:]


@pytest.mark.parametrize(
    ("tracer", "workers"),
    [("strace", ()), ("strace", ("-n", "2")), ("ptrace", ())],
    ids=["strace", "strace-xdist", "ptrace"],
)
def test_the_leaky_tests_are_named(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tracer: str, workers: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    # a variable inherited by a pytest started inside a test, not from its tracer: this
    # session still hunts, it never runs silently as if it were the traced one
    monkeypatch.setenv("SYSPROBE_LEAKS_SESSION", f"1:00000000:{pytester.path}")
    result, report = hunt(pytester, "--sysprobe-backend", tracer, *workers)
    assert result.ret == 1, result.stdout.str()
    result.assert_outcomes(passed=4)  # the suite itself passed: the leaks fail the session
    lines = section(result)
    assert "2 tests leaked descriptors into the programs they ran" in lines[0]
    named = [line for line in lines if line.startswith("test_suite.py::")]
    assert named == [
        "test_suite.py::test_leaky",
        "test_suite.py::TestGroup::test_leaky",
        "test_suite.py::test_pass_fds",
    ]
    passes_at = lines.index("passed on purpose, not leaks (1 descriptor):")
    assert lines.index("test_suite.py::test_pass_fds") == passes_at + 1
    assert "passed on purpose into pid" in lines[passes_at + 2]
    assert "/usr/bin/true" in lines[passes_at + 2]
    assert "4 tests" in lines[-2] and tracer.replace("ptrace", "python-ptrace") in lines[-2]
    assert lines[-1] == "sysprobe: exit status 1"

    assert report["tests_with_leaks"] == LEAKY
    assert (report["pytest_exit_status"], report["exit_status"], report["tests_run"]) == (0, 1, 4)
    leaks = {leak["test"]: leak for leak in report["leaks"]}
    assert sorted(leaks) == LEAKY and len(report["leaks"]) == 2
    pipe, hostname = leaks["test_suite.py::test_leaky"], leaks["test_suite.py::TestGroup::test_leaky"]
    assert (pipe["kind"], pipe["program"], pipe["deliberate"]) == ("pipe", "/usr/bin/true", False)
    assert (hostname["name"], hostname["program"]) == ("/etc/hostname", "/usr/bin/cat")
    assert hostname["created_by"]["call"] == "openat" and hostname["certain"]
    assert hostname["cloexec_cleared_by"]["call"] == "ioctl(FIONCLEX)"
    (passed,) = report["passes"]
    assert (passed["test"], passed["deliberate"], passed["program"]) == (
        "test_suite.py::test_pass_fds",
        True,
        "/usr/bin/true",
    )


def test_a_suite_without_leaks_keeps_pytest_s_status(pytester: pytest.Pytester) -> None:
    clean = SUITE.split("\n\ndef test_leaky", maxsplit=1)[0]  # test_clean only
    pytester.makepyfile(test_suite=clean + "\n\ndef test_fails():\n    assert False\n")
    result, report = hunt(pytester)
    assert result.ret == 1, result.stdout.str()  # pytest's: a test failed
    result.assert_outcomes(passed=1, failed=1)
    lines = section(result)
    assert "no test leaked a descriptor" in lines[0]
    assert not any(line.startswith("test_suite.py") for line in lines)  # nothing leaked: no test named
    assert report["leaks"] == [] and report["tests_with_leaks"] == [] and report["pytest_exit_status"] == 1


def test_allowed_counted_and_outside_any_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import os, subprocess
        r, w = os.pipe()
        os.set_inheritable(w, True)
        subprocess.run(["true"], close_fds=False, check=True)  # at collection: no test runs
        os.close(r)
        os.close(w)
        """
    )
    pytester.makepyfile(test_suite=SUITE)
    result, report = hunt(pytester, "--sysprobe-allow-fd", "cat:3-1000", "--sysprobe-count-passes")
    assert result.ret == 1
    assert report["tests_with_leaks"] == ["test_suite.py::test_leaky", "test_suite.py::test_pass_fds"]
    tests = [leak["test"] for leak in report["leaks"]]
    assert tests == [None, "test_suite.py::test_leaky", "test_suite.py::test_pass_fds"]
    assert report["passes"] == [] and report["allowed"] == 1
    lines = section(result)
    assert lines[1] == "(outside any test: collection, plugins, session start-up)"
    assert "1 allowed crossing" in lines[-2]


def test_options_that_need_the_hunt(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite="def test_nothing():\n    pass\n")
    alone = pytester.runpytest_subprocess("--sysprobe-allow-fd", "3")
    assert alone.ret == pytest.ExitCode.USAGE_ERROR
    assert "--sysprobe-allow-fd goes with --sysprobe-leaks" in alone.stderr.str()
    bad = pytester.runpytest_subprocess("--sysprobe-leaks", "--sysprobe-allow-fd", "x:")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "--sysprobe-allow-fd 'x:'" in bad.stderr.str()
