"""Deliberate passes are not leaks: `check --no-fd-leaks` on the fd scenarios.

A descriptor the exec'ing process prepared itself — close-on-exec cleared, or dup2/dup3'd
onto its number, as pass_fds, Go's ExtraFiles, posix_spawn's file actions and shell
redirections do between fork and exec — is "passed on purpose"; one that simply never had
close-on-exec is a leak. Each scenario also asserts what the kernel passed (`openfds`).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sysprobe

PROGRAMS = Path(__file__).parents[1] / "programs"

pytestmark = pytest.mark.usefixtures("strace_ok")
SYSPROBE = [sys.executable, "-m", "sysprobe"]

PYTHON = textwrap.dedent("""
    import os, socket, subprocess, sys
    listener = socket.create_server(("127.0.0.1", 0))
    openfds, out = sys.argv[2], sys.argv[3]
    if sys.argv[1] == "pass_fds":  # the child clears close-on-exec itself
        subprocess.run([openfds, out], pass_fds=(listener.fileno(),), check=True)
    else:  # made inheritable in the parent: every child gets it
        os.set_inheritable(listener.fileno(), True)
        subprocess.run([openfds, out], close_fds=False, check=True)
""")


@pytest.fixture(scope="session")
def compile_go(build_dir: Path, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """Build tests/programs/NAME.go with the Go toolchain (`make test-deps` installs it)."""
    go = shutil.which("go")

    def build(name: str) -> Path:
        if go is None:
            why = "the Go toolchain (go) is not installed; `make test-deps` installs golang-go"
            if request.config.getoption("--sysprobe-require"):
                pytest.fail(f"{why} (--sysprobe-require)", pytrace=False)
            pytest.skip(why)
        out = build_dir / name
        if not out.exists():
            env = {**os.environ, "GOCACHE": str(build_dir / "gocache"), "GOFLAGS": "-mod=mod"}
            env.setdefault("HOME", str(build_dir))
            subprocess.run([go, "build", "-o", str(out), str(PROGRAMS / f"{name}.go")], check=True, env=env)
        return out

    return build


def check(argv: list[str], *rules: str, cwd: Path) -> tuple[int, str, dict[str, Any]]:
    """`sysprobe check RULES -- ARGV`: exit status, report text, and the --no-fd-leaks
    result of the JSON report."""
    report = cwd / "report.json"
    done = subprocess.run(
        [*SYSPROBE, "check", *rules, "--json-report", str(report), "--", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    results = json.loads(report.read_text())["results"] if report.exists() else []
    (leaks,) = [r for r in results if r["rule"].startswith("--no-fd-leaks")]
    return done.returncode, done.stderr, leaks


def kernel(out: Path) -> set[int]:
    return {int(n) for n in out.read_text().split()}


def fds(items: object, key: str = "fd") -> list[int]:
    assert isinstance(items, list)
    return sorted(item[key] for item in items)


def scenario(
    name: str, compile_c: Callable[..., Path], compile_go: Callable[[str], Path], tmp_path: Path
) -> list[str]:
    openfds, out = str(compile_c("openfds")), str(tmp_path / "seen")
    commands = {
        "pass_fds": [sys.executable, str(tmp_path / "script.py"), "pass_fds", openfds, out],
        "inheritable": [sys.executable, str(tmp_path / "script.py"), "inheritable", openfds, out],
        "go-extrafiles": [str(compile_go("extrafiles")), openfds, out],
        "go-extrafiles-leak": [str(compile_go("extrafiles")), openfds, out, "leak"],
        "posix_spawn": [str(compile_c("spawn_dup2")), openfds, out],
        "posix_spawn-leak": [str(compile_c("spawn_dup2", "LEAK")), openfds, out],
        "shell": ["sh", "-c", f"exec 5</etc/hostname; exec {openfds} {out}"],
        "shell-forked": ["sh", "-c", f"exec 5</etc/hostname; {openfds} {out}; exit 0"],
        "pipe": [str(compile_c("fdops")), "pipe", openfds, out],
    }
    (tmp_path / "script.py").write_text(PYTHON)
    return commands[name]


# scenario: (descriptors leaked, descriptors passed on purpose) into openfds
EXPECTED = {
    "pass_fds": ([], [3]),  # the listener (CPython's child clears its close-on-exec)
    "inheritable": ([3], []),  # cleared in the parent before the fork: a leak
    "go-extrafiles": ([], [3]),
    "go-extrafiles-leak": ([7, 8], [3]),  # syscall.Pipe: pipe2(fds, 0)
    "posix_spawn": ([], [5]),
    "posix_spawn-leak": ([4], [5]),  # the pipe's write end was 5: dup2 replaced it
    "shell": ([], [5]),  # `exec 5<file` in the process that execs
    "shell-forked": ([5], []),  # ...prepared by the shell, inherited by a forked child
    "pipe": ([3, 4], []),  # a pipe never marked close-on-exec
}


@pytest.mark.parametrize("name", EXPECTED)
def test_check_tells_passes_from_leaks(
    name: str, compile_c: Callable[..., Path], compile_go: Callable[[str], Path], tmp_path: Path
) -> None:
    argv = scenario(name, compile_c, compile_go, tmp_path)
    leaked, passed = EXPECTED[name]
    status, text, result = check(argv, "--no-fd-leaks", cwd=tmp_path)
    assert kernel(tmp_path / "seen") == set(leaked) | set(passed)
    openfds = str(compile_c("openfds"))
    into = [leak for leak in result["leaks"] if leak["program"] == openfds]
    passes = [p for p in result["passes"] if p["program"] == openfds]
    assert (fds(into), fds(passes)) == (leaked, passed), text
    assert status == (1 if leaked else 0), text
    assert all(p["deliberate"] and p["certain"] for p in passes)
    assert all(not leak["deliberate"] for leak in into)
    if passed:
        assert f"passed on purpose ({len(passed)}):" in text
    # counted as leaks, the passes fail too (Go's strict TestExtraFiles)
    strict, text, result = check(argv, "--no-fd-leaks", "--count-passes", cwd=tmp_path)
    assert strict == (1 if leaked or passed else 0), text
    assert fds([leak for leak in result["leaks"] if leak["program"] == openfds]) == sorted(leaked + passed)


def test_the_api_tells_them_apart(
    compile_c: Callable[..., Path], compile_go: Callable[[str], Path], tmp_path: Path
) -> None:
    t = sysprobe.trace(scenario("go-extrafiles-leak", compile_c, compile_go, tmp_path))
    assert sorted(leak.fd for leak in t.leaks()) == [7, 8]
    (passed,) = t.passes()
    assert passed.fd == 3 and passed.deliberate and passed.descriptor.name == "/etc/hostname"
    assert "passed on purpose into pid" in passed.describe()
    assert sorted(leak.fd for leak in t.leaks(count_passes=True)) == [3, 7, 8]
    with pytest.raises(AssertionError, match=r"fd 7 \(pipe"):
        t.assert_no_fd_leaks()
    t.assert_no_fd_leaks(allow=["openfds:7-8"])
    with pytest.raises(AssertionError, match=r"fd 3 .*passed on purpose"):
        t.assert_no_fd_leaks(allow=["openfds:7-8"], count_passes=True)
    t.assert_no_fd_leaks(allow=["openfds:3", "openfds:7-8"], count_passes=True)


def test_allow_fd_per_program(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    """forkexec_pipe leaks both ends of its pipe into sleep: allowing them into another
    program allows nothing; a plain N stays global."""
    argv = [str(compile_c("forkexec_pipe"))]
    sleep = shutil.which("sleep") or "/usr/bin/sleep"
    for allow, status in [
        (["sleep:3-4"], 0),
        ([f"{sleep}:3", "sleep:4"], 0),
        (["sl*p:3-4"], 0),
        (["true:3-4"], 1),
        (["sleep:3"], 1),
        (["3", "4"], 0),
    ]:
        options = [option for spec in allow for option in ("--allow-fd", spec)]
        got, text, result = check(argv, "--no-fd-leaks", *options, cwd=tmp_path)
        assert got == status, (allow, text)
        assert result["rule"] == "--no-fd-leaks" + "".join(f" --allow-fd {shlex.quote(a)}" for a in allow)


@pytest.mark.parametrize("spec", ["x:", ":3", "3-1", "three", "sleep:-3"])
def test_a_bad_allow_fd_is_a_usage_error(spec: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [*SYSPROBE, "check", "--no-fd-leaks", "--allow-fd", spec, "--", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "--allow-fd" in done.stderr, done.stderr


def test_allow_fd_needs_no_fd_leaks() -> None:
    done = subprocess.run(
        [*SYSPROBE, "check", "--allow-fd", "3", "--expect", "execve", "--", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "--allow-fd goes with --no-fd-leaks" in done.stderr
