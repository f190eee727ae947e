"""Golden traces of the cases sysprobe exists for (shared/context), through the pytest
plugin, committed in traces/test_goldens/. `pytest --sysprobe-update` rewrites them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sysprobe._files import write_atomically
from sysprobe.pytest_plugin import Sysprobe

from ..helpers import SYSPROBE, program
from ..helpers import sysprobe as cli

# Every golden is checked on both backends: the same committed file must match each.
pytestmark = pytest.mark.usefixtures("backend")


@pytest.mark.parametrize("variant", ["leak", "FIX_PIPE2", "FIX_FCNTL", "FIX_SPAWN"])
def test_pipe_leak(variant: str, sysprobe: Sysprobe, compile_c: Callable[..., Path]) -> None:
    binary = compile_c("forkexec_pipe", *([] if variant == "leak" else [variant]))
    t = sysprobe.run([binary])
    if variant == "leak":
        assert [leak.fd for leak in t.leaks()] == [3, 4]
    else:
        t.assert_no_fd_leaks()
    t.assert_golden()


@pytest.mark.parametrize(
    ("variant", "inject"),
    [
        ("create1", None),
        ("fallback", "epoll_create1:error=ENOSYS"),
        ("forget_fcntl", "epoll_create1:error=ENOSYS"),
        ("plain", None),
    ],
)
def test_epoll_cloexec(
    variant: str, inject: str | None, sysprobe: Sysprobe, compile_c: Callable[..., Path]
) -> None:
    defines = {"forget_fcntl": ["FORGET_FCNTL"], "plain": ["PLAIN"]}.get(variant, [])
    t = sysprobe.run([compile_c("epoll_cloexec", *defines)], inject=[inject] if inject else [])
    if variant in ("create1", "fallback"):
        t.assert_no_fd_leaks()
        t.assert_cloexec("epoll_create1|epoll_create")
    else:
        assert [leak.descriptor.kind for leak in t.leaks()] == ["epoll"]
    t.assert_golden()


def test_extra_files(sysprobe: Sysprobe, tmp_path: Path) -> None:
    t = sysprobe.run([sys.executable, program("extra_files.py", tmp_path), "pass_fds"])
    (sock,) = t.calls("socket")
    t.assert_no_fd_leaks(allow=[sock.ret or 0])
    t.assert_golden()


@pytest.mark.parametrize("variant", ["plain", "CMSG_CLOEXEC"])
def test_fd_passing(variant: str, sysprobe: Sysprobe, compile_c: Callable[..., Path]) -> None:
    t = sysprobe.run([compile_c("passfd", *([variant] if variant != "plain" else []))])
    t.assert_called("sendmsg(*, {msg_control=[{cmsg_type=SCM_RIGHTS}]}, *) = 1")
    t.assert_golden()


def test_sendfile(sysprobe: Sysprobe, tmp_path: Path) -> None:
    script, data = program("sendfile_server.py", tmp_path), tmp_path / "data.bin"
    data.write_bytes(b"x" * 200_000)
    t = sysprobe.run([sys.executable, script, "sendfile", data])
    t.assert_called("sendfile(*, *, *, *) > 0")
    t.assert_golden()


# ---- the golden workflow ----


def golden_cli(path: Path, command: str | Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli("trace", "--no-summary", "--golden", str(path), *extra, "--", str(command))


@pytest.mark.usefixtures("strace_ok")
def test_same_program_gives_byte_identical_goldens(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    """Two runs in separate processes (different pids, inodes, timing): the same bytes."""
    zoo = compile_c("zoo")  # threads, fork, vfork, posix_spawn, exec from a thread, signals
    first, second = tmp_path / "first.trace", tmp_path / "second.trace"
    for path in (first, second):
        assert golden_cli(path, zoo, "--update").returncode == 0
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text()
    assert "process 1: the command" in text and "made by process 1 (vfork)" in text
    assert "thread" not in text  # threads belong to their process
    assert "+++ killed by SIGSEGV +++" in text and "+++ exited with 7 +++" in text
    assert "<env>" in text and "vars */" not in text  # the environment is never written
    assert golden_cli(first, zoo).returncode == 0


@pytest.mark.usefixtures("strace_ok")
def test_changed_program_fails_with_a_diff(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    golden = tmp_path / "pipe.trace"
    assert golden_cli(golden, compile_c("forkexec_pipe"), "--update").returncode == 0
    done = golden_cli(golden, compile_c("forkexec_pipe", "FIX_PIPE2"))
    assert done.returncode == 1
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"sysprobe: golden trace {golden} differs from this run: "), first
    assert first.endswith("lines changed (--update accepts it)"), first
    assert "-  pipe2([3<pipe:[1]>, 4<pipe:[1]>], 0) = 0" in done.stderr
    assert "+  pipe2([3<pipe:[1]>, 4<pipe:[1]>], O_CLOEXEC) = 0" in done.stderr
    assert "-  # crossed the exec without close-on-exec: fd 3 (pipe:[1]), fd 4 (pipe:[1])" in done.stderr
    missing = golden_cli(tmp_path / "none.trace", compile_c("forkexec_pipe"))
    assert missing.returncode == 1
    assert "does not exist: run with --update to create it" in missing.stderr
    old = tmp_path / "old.trace"
    old.write_text(golden.read_text().replace("format 2", "format 1"))
    done = golden_cli(old, compile_c("forkexec_pipe"))
    assert done.returncode == 1
    assert (
        f"golden trace {old} was written by format 1: re-run with --update to write format 2" in done.stderr
    )


@pytest.mark.usefixtures("strace_ok")
def test_interrupted_update_leaves_the_old_golden(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    """SIGKILL an update at moments spread over its run: the golden is the old text or
    the new one, whole — never a mix, never cut short."""
    golden = tmp_path / "g.trace"
    assert golden_cli(golden, compile_c("forkexec_pipe"), "--update").returncode == 0
    old = golden.read_bytes()
    new_program = compile_c("zoo")
    reference = tmp_path / "new.trace"
    assert golden_cli(reference, new_program, "--update").returncode == 0
    new = reference.read_bytes()
    assert new != old
    seen = set()
    for delay in (0.05, 0.15, 0.3, 0.45, 0.6, 0.8, 1.2):  # while tracing, rendering, writing
        proc = subprocess.Popen(
            [*SYSPROBE, "trace", "--no-summary", "--golden", str(golden), "--update", "--", str(new_program)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        content = golden.read_bytes()
        assert content in (old, new), f"killed after {delay} s:\n{content.decode(errors='replace')}"
        seen.add(content == old)
        if content == new:
            golden.write_bytes(old)  # start again from the old golden
    assert True in seen, "every kill came after the rename"  # at least one left the old golden


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


@pytest.mark.usefixtures("strace_ok")
def test_cli_normalizes_the_interpreter_and_the_users_regex(tmp_path: Path) -> None:
    """The CLI writes the interpreter running sysprobe as $PYTHON (a venv path differs
    between machines) and applies --substitute after the built-in replacements."""
    golden = tmp_path / "g.trace"
    script = "import os; os.close(os.open('/etc/hostname', os.O_RDONLY | os.O_CREAT, 0o644))"
    done = subprocess.run(
        [*SYSPROBE, "trace", "--no-summary", "--golden", str(golden), "--update",
         "--substitute", r"host(name)=HOST\1", "--", sys.executable, "-c", script],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = golden.read_text()
    assert '["$PYTHON", "-c",' in text and sys.executable not in text
    assert '"/etc/HOSTname", O_RDONLY|O_CREAT' in text
    bad = golden_cli(golden, "true", "--substitute", "(=x")
    assert bad.returncode == 2 and "is not a regular expression" in bad.stderr
