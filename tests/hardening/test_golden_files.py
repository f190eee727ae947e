"""Goldens are never damaged, never half-written and never block, through the command line
(``trace --golden PATH --update``) and the pytest plugin (``--sysprobe-update``): paths
that are not regular files, folders that cannot be written, modes, links, and updates
interrupted by SIGTERM, SIGHUP, SIGINT, SIGKILL or a timeout."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sysprobe.errors import EXIT_FILE, EXIT_INCOMPLETE, EXIT_TIMEOUT
from tests.helpers import SYSPROBE, alive
from tests.helpers import sysprobe as cli

pytestmark = pytest.mark.usefixtures("backend")

USER_TEST = """
import os

def test_golden(sysprobe):
    sysprobe.run(["sh", "-c", os.environ.get("USER_SCRIPT", "exec true")]).assert_golden()
"""
GOLDEN = Path("traces", "test_user", "test_golden.trace")


def update(golden: Path, *command: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    argv = [*prefix, *SYSPROBE, "trace", "--no-summary", "--golden", str(golden), "--update", "--", *command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def unprivileged() -> tuple[str, ...]:
    """A prefix that takes away root's power to write where the modes say no (so that a
    read-only folder is read-only in the test, as for any user)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("as root, a read-only folder needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--")


def leftovers(folder: Path) -> list[str]:
    """Temporary files of an atomic write."""
    return sorted(p.name for p in folder.rglob(".*.tmp"))


def device(path: Path) -> Path:
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        path.symlink_to(os.devnull)
    return path


# ---- paths that are not regular files: refused before the run, never blocking ----


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
@pytest.mark.parametrize("mode", ["--update", "compare"])
def test_the_cli_refuses_what_is_not_a_regular_file_before_the_run(
    kind: str, mode: str, tmp_path: Path
) -> None:
    golden = tmp_path / "g.trace"
    if kind == "fifo":
        os.mkfifo(golden)
    elif kind == "directory":
        golden.mkdir()
    else:
        device(golden)
    ran = tmp_path / "ran"
    done = cli(
        "trace", "--golden", str(golden), *(["--update"] if mode == "--update" else []),
        "--", "touch", str(ran), timeout=20,
    )  # fmt: skip
    what = {"fifo": "a FIFO", "directory": "a directory", "device": "a character device"}[kind]
    assert (done.returncode, done.stderr) == (
        EXIT_FILE,
        f"sysprobe: cannot use golden trace {golden}: it is {what}, not a regular file\n",
    )
    assert not ran.exists()  # refused before anything ran
    assert (
        stat.S_IFMT(os.stat(golden).st_mode)
        == {
            "fifo": stat.S_IFIFO,
            "directory": stat.S_IFDIR,
            "device": stat.S_IFCHR,
        }[kind]
    )
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_the_plugin_refuses_what_is_not_a_regular_file(kind: str, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    golden = pytester.path / GOLDEN
    golden.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(golden)
    else:
        golden.mkdir()
    what = "a FIFO" if kind == "fifo" else "a directory"
    for options in (["--sysprobe-update"], []):
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *options, timeout=60)
        result.assert_outcomes(failed=1)
        verb = "write" if options else "read"
        said = f"cannot {verb} golden trace {golden}: it is {what}, not a regular file"
        result.stdout.fnmatch_lines([f"E*sysprobe.errors.FileError: {said}"])
    assert stat.S_ISFIFO(os.stat(golden).st_mode) if kind == "fifo" else golden.is_dir()


# ---- folders that cannot be written ----


def test_the_cli_says_when_the_golden_folder_cannot_be_written(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "g.trace").write_text("old\n")
    folder.chmod(0o555)
    ran = tmp_path / "ran"
    try:
        done = update(folder / "g.trace", "touch", str(ran), prefix=unprivileged())
        new = update(folder / "new" / "g.trace", "true", prefix=unprivileged())
    finally:
        folder.chmod(0o755)
    assert (done.returncode, done.stderr) == (
        EXIT_FILE,
        f"sysprobe: cannot write golden trace {folder}/g.trace: {folder} is not a writable directory\n",
    )
    assert not ran.exists()
    assert (folder / "g.trace").read_text() == "old\n"
    assert (new.returncode, new.stderr) == (
        EXIT_FILE,
        f"sysprobe: cannot write golden trace {folder}/new/g.trace: {folder} is not a writable directory\n",
    )
    assert sorted(os.listdir(folder)) == ["g.trace"]


def test_the_plugin_says_when_the_golden_folder_cannot_be_written(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    folder = pytester.path / GOLDEN.parent
    folder.mkdir(parents=True)
    folder.chmod(0o555)
    try:
        result = pytester.run(
            *unprivileged(), sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--sysprobe-update",
            timeout=60,
        )  # fmt: skip
    finally:
        folder.chmod(0o755)
    result.assert_outcomes(failed=1)
    said = f"cannot write golden trace {folder}/test_golden.trace: Permission denied"
    result.stdout.fnmatch_lines([f"E*sysprobe.errors.FileError: {said}*"])
    assert os.listdir(folder) == []


# ---- modes and links ----


def test_the_cli_keeps_a_goldens_mode_and_gives_a_new_one_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)  # what a temporary file would have had
    try:
        kept = tmp_path / "kept.trace"
        kept.write_text("old\n")
        kept.chmod(0o644)
        assert update(kept, "true").returncode == 0
        os.umask(0o027)
        assert update(tmp_path / "new.trace", "true").returncode == 0
    finally:
        os.umask(old)
    assert kept.read_text() != "old\n"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "new.trace").stat().st_mode) == 0o640


def test_the_plugin_keeps_a_goldens_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    golden = pytester.path / GOLDEN
    golden.parent.mkdir(parents=True)
    golden.write_text("old\n")
    golden.chmod(0o644)
    old = os.umask(0o077)
    try:
        pytester.runpytest_subprocess("-p", "no:cacheprovider", "--sysprobe-update").assert_outcomes(passed=1)
    finally:
        os.umask(old)
    assert golden.read_text().startswith("# sysprobe golden trace")
    assert stat.S_IMODE(golden.stat().st_mode) == 0o644


def test_a_symlinked_golden_is_followed(tmp_path: Path) -> None:
    real = tmp_path / "shared" / "real.trace"
    real.parent.mkdir()
    link = tmp_path / "g.trace"
    link.symlink_to(real)
    dangling = update(link, "true")
    assert (dangling.returncode, dangling.stderr) == (
        EXIT_FILE,
        f"sysprobe: cannot use golden trace {link}: it is a symbolic link to {real}, which does not exist\n",
    )
    real.write_text("old\n")
    assert update(link, "true").returncode == 0
    assert link.is_symlink() and real.read_text().startswith("# sysprobe golden trace")
    compared = cli("trace", "--no-summary", "--golden", str(link), "--", "true")
    assert (compared.returncode, compared.stderr) == (0, f"sysprobe: golden trace {link}: equal\n")


# ---- interrupted updates: no golden written, nothing left behind ----


@pytest.fixture
def started(tmp_path: Path) -> Path:
    """The file the traced command makes once it runs (its pid in ``started.pid``)."""
    return tmp_path / "started"


def slow(started: Path) -> str:
    """A script that says it runs (its pid in ``started.pid``, then ``started``) and waits."""
    return f"echo $$ > {shlex.quote(f'{started}.pid')}; touch {shlex.quote(str(started))}; exec sleep 30"


def interrupt(argv: list[str], started: Path, sig: signal.Signals, **popen: Any) -> tuple[int, str]:
    """Start ``argv``, send it ``sig`` once its traced command runs; its status and output.
    The traced command must not outlive it."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)
    deadline = time.monotonic() + 30
    while not started.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the traced command never started"
        time.sleep(0.02)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    pid = int(Path(f"{started}.pid").read_text())
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid), "the traced command outlived its tracer"
    return proc.returncode, out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL])
@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_an_interrupted_cli_update_writes_no_golden(
    sig: signal.Signals, existing: bool, started: Path, tmp_path: Path
) -> None:
    golden = tmp_path / "goldens" / "g.trace"
    if existing:
        golden.parent.mkdir()
        golden.write_text("old\n")
        golden.chmod(0o644)
    argv = [
        *SYSPROBE,
        "trace",
        "--no-summary",
        "--golden",
        str(golden),
        "--update",
        "--",
        "sh",
        "-c",
        slow(started),
    ]
    status, out = interrupt(argv, started, sig)
    if sig == signal.SIGKILL:
        assert status == -sig
    else:
        assert status == EXIT_INCOMPLETE, out
        assert out.endswith(
            f"interrupted by {sig.name}: the command was stopped before it finished; golden trace "
            f"{golden} not written: the trace of an incomplete run is not a golden\n"
        ), out
    if existing:
        assert golden.read_text() == "old\n" and stat.S_IMODE(golden.stat().st_mode) == 0o644
    else:
        assert not golden.exists()
    assert leftovers(tmp_path) == []


def test_a_timed_out_cli_update_writes_no_golden(tmp_path: Path) -> None:
    golden = tmp_path / "g.trace"
    done = cli(
        "trace", "--no-summary", "--timeout", "0.5", "--golden", str(golden), "--update", "--", "sleep", "30"
    )
    assert done.returncode == EXIT_TIMEOUT, done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_an_interrupted_plugin_update_writes_no_golden(
    sig: signal.Signals, pytester: pytest.Pytester, started: Path
) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    status, out = interrupt(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "--sysprobe-update"],
        started,
        sig,
        cwd=pytester.path,
        env={**os.environ, "USER_SCRIPT": slow(started)},
    )
    if sig == signal.SIGKILL:
        assert status == -sig
    else:
        assert status == 1, out  # the test failed, saying why
        # the fixture's run fails the test before any golden is compared or written
        assert f"sysprobe: the run is incomplete: interrupted by {sig.name}" in out, out
    assert not (pytester.path / "traces").exists() or leftovers(pytester.path / "traces") == []
    assert not (pytester.path / GOLDEN).exists()
