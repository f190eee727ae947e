"""Golden files: written whole or not at all, compared on their body, with messages that
say what to do."""

from __future__ import annotations

import errno
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import sysprobe
from sysprobe._files import write_atomically
from sysprobe._golden import golden as golden_module
from sysprobe._golden.golden import compare_or_update
from sysprobe._tracing.base import TracerInfo
from sysprobe._tracing.supervisor import RunOutcome
from sysprobe.errors import FileError, RunIncomplete, TimedOut

from ..helpers import default_signals

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
    # a printable name as it is; an undecodable byte as strace writes it (the file is UTF-8)
    assert b"fd 3 (/tmp/caf\xc3\xa9), fd 4 (/tmp/l\\351)" in golden.read_bytes()
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
    file system), synced before the rename; the directory synced after it."""
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
    assert len(synced) == 2  # the file, then its directory
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


# ---- what is written: modes, links, what is refused ----


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o640, 0o664, 0o444])
def test_an_update_keeps_the_files_mode(mode: int, tmp_path: Path) -> None:
    golden = tmp_path / "g.trace"
    golden.write_text("old\n")
    golden.chmod(mode)
    write_atomically(golden, "new\n")
    assert golden.read_text() == "new\n"
    assert stat.S_IMODE(golden.stat().st_mode) == mode


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_users_umask(umask: int, mode: int, tmp_path: Path) -> None:
    old = os.umask(umask)
    try:
        write_atomically(tmp_path / "g.trace", "new\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "g.trace").stat().st_mode) == mode


def test_a_symlink_is_followed_to_its_file(tmp_path: Path) -> None:
    """The file the link names is rewritten, beside itself; the link stays a link."""
    shared = tmp_path / "shared"
    shared.mkdir()
    real = shared / "real.trace"
    real.write_text("old\n")
    real.chmod(0o640)
    tests = tmp_path / "tests"
    tests.mkdir()
    link = tests / "g.trace"
    link.symlink_to("../shared/real.trace")
    assert write_atomically(link, "new\n") == real
    assert link.is_symlink() and os.readlink(link) == "../shared/real.trace"
    assert real.read_text() == "new\n" and stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in tests.iterdir()) == ["g.trace"]
    assert sorted(p.name for p in shared.iterdir()) == ["real.trace"]


def _device(tmp_path: Path) -> Path:
    """A character device to write over: a node of its own where we may make one (root),
    else a link to /dev/null (which an unprivileged writer could not replace anyway)."""
    node = tmp_path / "device.trace"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        node.symlink_to(os.devnull)
    return node


def _fifo(tmp_path: Path) -> Path:
    fifo = tmp_path / "fifo.trace"
    os.mkfifo(fifo)
    return fifo


def _socket(tmp_path: Path) -> Path:
    path = tmp_path / "socket.trace"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
    return path


def _dangling(tmp_path: Path) -> Path:
    link = tmp_path / "dangling.trace"
    link.symlink_to(tmp_path / "nowhere" / "g.trace")
    return link


def _loop(tmp_path: Path) -> Path:
    link = tmp_path / "loop.trace"
    link.symlink_to(link)
    return link


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda tmp: tmp, "it is a directory, not a regular file"),
        (_fifo, "it is a FIFO, not a regular file"),
        (_device, "it is a character device, not a regular file"),
        (_socket, "it is a socket, not a regular file"),
        (_dangling, "it is a symbolic link to {tmp}/nowhere/g.trace, which does not exist"),
        (_loop, "Too many levels of symbolic links"),
    ],
    ids=["directory", "fifo", "device", "socket", "dangling-link", "link-loop"],
)
@pytest.mark.parametrize("update", [True, False], ids=["update", "compare"])
def test_what_is_not_a_regular_file_is_refused_and_left_alone(
    make: Callable[[Path], Path], said: str, update: bool, trace: sysprobe.Trace, tmp_path: Path
) -> None:
    """Never replaced, never opened (a FIFO would block the open; a device may act on it):
    an error that says what the path is, and everything as it was."""
    folder = tmp_path / "f"
    folder.mkdir()
    path = make(folder)
    before = os.lstat(path)
    listing = sorted(os.listdir(folder))
    unblock = threading.Timer(10, _unblock, [path])  # a reader stuck on the FIFO gets out
    unblock.start()
    try:
        with pytest.raises(FileError) as raised:
            trace.compare_golden(path, update=update)
    finally:
        unblock.cancel()
    verb = "write" if update else "read"
    assert str(raised.value) == f"cannot {verb} golden trace {path}: {said.format(tmp=folder)}"
    assert raised.value.exit_code == 74
    after = os.lstat(path)
    assert (after.st_mode, after.st_ino, after.st_mtime_ns) == (
        before.st_mode,
        before.st_ino,
        before.st_mtime_ns,
    )
    assert sorted(os.listdir(folder)) == listing


def _unblock(path: Path) -> None:
    if stat.S_ISFIFO(os.lstat(path).st_mode):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def test_the_golden_of_an_incomplete_run_is_neither_written_nor_compared(
    strace_ok: None, tmp_path: Path
) -> None:
    """A partial trace is not a golden: an update writes nothing, a comparison says why
    it cannot be made (not "equal", not "different")."""
    cut = sysprobe.trace(["sh", "-c", "exec sleep 10"], timeout=0.3)
    assert cut.outcome is not None and cut.outcome.timed_out
    golden = tmp_path / "g.trace"
    with pytest.raises(TimedOut, match=r"^timed out after 0\.3 s.*; golden trace .* not written: "):
        cut.compare_golden(golden, update=True)
    assert list(tmp_path.iterdir()) == []
    golden.write_text("old\n")
    with pytest.raises(TimedOut, match=r"not compared: the trace of an incomplete run is not a golden$"):
        cut.compare_golden(golden)
    assert [p.name for p in tmp_path.iterdir()] == ["g.trace"] and golden.read_text() == "old\n"


# ---- interruptions and what they leave: nothing, or what the next write removes ----

WRITER = """
import os, signal, sys
from sysprobe import _files
how, golden = sys.argv[1], sys.argv[2]
if how == "ignored":
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # nohup
real_fsync = os.fsync
def fsync(fd):  # the signal comes in the middle of the write, before the rename
    os.kill(os.getpid(), getattr(signal, "SIGHUP" if how == "ignored" else how))
    real_fsync(fd)
os.fsync = fsync
_files.write_atomically(golden, "new\\n" * 100_000)
"""


def _write_interrupted(how: str, golden: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WRITER, how, str(golden)],
        preexec_fn=default_signals,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
def test_a_signal_during_the_write_writes_nothing_and_leaves_nothing(
    sig: signal.Signals, tmp_path: Path
) -> None:
    """The signal is held until the write is over, the temporary file removed, then the
    signal does what it does (here: end the process)."""
    golden = tmp_path / "g.trace"
    golden.write_text("old\n")
    done = _write_interrupted(sig.name, golden)
    assert done.returncode == -sig, done.stderr
    assert golden.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["g.trace"]


def test_ctrl_c_during_the_write_writes_nothing_and_leaves_nothing(tmp_path: Path) -> None:
    golden = tmp_path / "g.trace"
    done = _write_interrupted("SIGINT", golden)
    assert done.returncode == -signal.SIGINT, done.stderr  # as Python ends on ^C
    assert done.stderr.rstrip().endswith("KeyboardInterrupt"), done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_ignored_signal_does_not_interrupt_the_write(tmp_path: Path) -> None:
    golden = tmp_path / "g.trace"
    done = _write_interrupted("ignored", golden)
    assert done.returncode == 0, done.stderr
    assert golden.read_text() == "new\n" * 100_000
    assert [p.name for p in tmp_path.iterdir()] == ["g.trace"]


def test_what_a_sigkill_during_the_write_left_the_next_write_removes(tmp_path: Path) -> None:
    golden = tmp_path / "g.trace"
    golden.write_text("old\n")
    done = _write_interrupted("SIGKILL", golden)
    assert done.returncode == -signal.SIGKILL
    assert golden.read_text() == "old\n"
    (left,) = (p for p in tmp_path.iterdir() if p != golden)
    assert left.name.startswith(".g.trace.") and left.name.endswith(".tmp")
    write_atomically(golden, "next\n")
    assert [p.name for p in tmp_path.iterdir()] == ["g.trace"] and golden.read_text() == "next\n"


def _dead_pid() -> int:
    child = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    return int(child.stdout)


def test_the_sweep_removes_only_what_dead_writers_left(tmp_path: Path) -> None:
    golden = tmp_path / "g.trace"
    golden.write_text("old\n")
    hour_ago = time.time() - 3700
    dead, alive = _dead_pid(), os.getpid()
    files = {
        f".g.trace.{dead}.0123abcd.tmp": ("dead writer", None, True),
        f".g.trace.{alive}.0123abcd.tmp": ("live writer, fresh", None, False),
        f".g.trace.{alive}.89abcdef.tmp": ("live PID, an hour old: reused", hour_ago, True),
        ".g.trace.k2j4_x9a.tmp": ("sysprobe 0.1's, fresh", None, False),
        ".g.trace.abcdefgh.tmp": ("sysprobe 0.1's, an hour old", hour_ago, True),
        f".other.trace.{dead}.0123abcd.tmp": ("another file's", None, False),
        f".g.trace.{dead}.nothex00.tmp": ("not our shape", None, False),
        "g.trace.bak": ("the user's", None, False),
    }
    for name, (_, mtime, _) in files.items():
        (tmp_path / name).write_text("partial")
        if mtime is not None:
            os.utime(tmp_path / name, (mtime, mtime))
    write_atomically(golden, "new\n")
    left = {p.name for p in tmp_path.iterdir()}
    for name, (what, _, swept) in files.items():
        assert (name not in left) == swept, what
    assert golden.read_text() == "new\n"


def test_a_temporary_file_whose_writer_holds_it_is_kept(tmp_path: Path) -> None:
    """Its PID may mean nothing here (another PID namespace): the lock tells."""
    golden = tmp_path / "g.trace"
    held = tmp_path / f".g.trace.{_dead_pid()}.0123abcd.tmp"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys; f = open(sys.argv[1], 'w'); fcntl.flock(f, fcntl.LOCK_EX); "
            "print('held', flush=True); sys.stdin.read()",
            str(held),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        write_atomically(golden, "new\n")
        assert held.exists()
    finally:
        holder.communicate("", timeout=30)
    write_atomically(golden, "newer\n")  # let go: now it is a dead writer's
    assert [p.name for p in tmp_path.iterdir()] == ["g.trace"]


def test_each_status_of_a_comparison_and_what_it_says(tmp_path: Path) -> None:
    """compare_or_update, as the plugin calls it (its own update flag): every outcome, the
    path and the flag it names, and the format of an old golden."""
    text = "# sysprobe golden trace, format 2\n# sysprobe 9.9\nprocess 1: the command\n"
    golden = tmp_path / "g.trace"
    flag = "--sysprobe-update"

    def result(update: bool = False) -> tuple[Path, str, str, int | None, str]:
        r = compare_or_update(golden, text, update=update, update_flag=flag)
        return r.path, r.status, r.update_flag, r.old_format, r.summary()

    assert result() == (
        golden,
        "missing",
        flag,
        None,
        f"golden trace {golden} does not exist: run with {flag} to create it",
    )
    assert result(update=True) == (golden, "created", flag, None, f"golden trace {golden}: created")
    assert result(update=True) == (golden, "unchanged", flag, None, f"golden trace {golden}: unchanged")
    assert result() == (golden, "equal", flag, None, f"golden trace {golden}: equal")
    golden.write_text(text.replace("format 2", "format 1"))
    assert result() == (
        golden,
        "old-format",
        flag,
        1,
        f"golden trace {golden} was written by format 1: re-run with {flag} to write format 2",
    )
    assert result(update=True) == (golden, "updated", flag, None, f"golden trace {golden}: updated")
    golden.write_text("a file sysprobe did not write\n")  # no format line: compared, and differs
    assert result()[1:3] == ("different", flag)
    # the whole message: the summary, what the plugin kept (a name with a newline stays
    # on its line), and the diff
    differs = compare_or_update(golden, text, update=False, update_flag=flag)
    differs.artifacts = [("this run's trace", tmp_path / "run\n.trace")]
    lines = differs.message().splitlines()
    assert lines[:2] == [differs.summary(), f"  this run's trace: {tmp_path}/run\\n.trace"]
    assert "\n".join(lines[2:]) == differs.diff.rstrip("\n") and differs.diff.startswith("--- ")


@pytest.mark.parametrize(("timed_out", "error"), [(False, RunIncomplete), (True, TimedOut)])
def test_the_trace_of_a_cut_run_is_neither_written_nor_compared(
    timed_out: bool, error: type[Exception], tmp_path: Path
) -> None:
    golden = tmp_path / "g.trace"
    outcome = RunOutcome(["prog"], TracerInfo("strace", "strace", "6.1"), timed_out=timed_out)
    outcome.incomplete = "strace was killed by SIGKILL"
    for update, done in ((True, "written"), (False, "compared")):
        with pytest.raises(error) as raised:
            compare_or_update(golden, "text\n", update=update, outcome=outcome)
        assert type(raised.value) is error
        assert str(raised.value) == (
            f"strace was killed by SIGKILL; golden trace {golden} not {done}: "
            "the trace of an incomplete run is not a golden"
        )
    assert not golden.exists()


def test_what_a_failed_or_interrupted_write_of_a_golden_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(FileError) as failed:
        golden_module.write(blocker / "g.trace", "new\n")
    assert str(failed.value) == f"cannot write golden trace {blocker / 'g.trace'}: Not a directory"
    # a signal while the new text is written: held, the write abandoned, then delivered
    golden = tmp_path / "g.trace"
    golden.write_text("old\n")
    delivered: list[int] = []
    sync = os.fsync

    def sync_then_hang_up(fd: int) -> None:
        sync(fd)
        # to this thread: the hold is this thread's (pthread_sigmask), and a signal sent to
        # the process may go to another of its threads (an xdist worker has some)
        signal.pthread_kill(threading.get_ident(), signal.SIGHUP)

    previous = signal.signal(signal.SIGHUP, lambda sig, frame: delivered.append(sig))
    try:
        monkeypatch.setattr(os, "fsync", sync_then_hang_up)
        with pytest.raises(RunIncomplete) as interrupted:
            golden_module.write(golden, "new\n")
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert str(interrupted.value) == f"interrupted while writing golden trace {golden}: it was not written"
    assert delivered == [signal.SIGHUP]
    assert golden.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "g.trace"]  # no temporary left


def test_a_difference_counts_the_body_lines_only(tmp_path: Path) -> None:
    golden = tmp_path / "g.trace"
    old = "# sysprobe golden trace, format 2\n# sysprobe 9.9\nprocess 1: the command\n  close(3) = 0\n"
    golden.write_text(old)
    new = old.replace("# sysprobe 9.9", "# sysprobe 10.0, strace 6.1")  # another version wrote it
    one_more = compare_or_update(golden, new + "  close(4) = 0\n", update=False)
    assert (
        one_more.summary()
        == f"golden trace {golden} differs from this run: 1 line changed (--update accepts it)"
    )
    assert "-# sysprobe 9.9" in one_more.diff.splitlines()  # shown, not counted
    changed = compare_or_update(golden, new.replace("close(3)", "close(5)"), update=False)
    assert changed.summary().endswith(": 2 lines changed (--update accepts it)")


def test_a_golden_path_is_checked_before_the_run(tmp_path: Path) -> None:
    """What check_path refuses before a run is traced, and what read says of a folder."""
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    (tmp_path / "file").write_text("")
    refused = {
        (tmp_path / "dir", False): "it is a directory, not a regular file",
        (tmp_path / "fifo", True): "it is a FIFO, not a regular file",
        (tmp_path / "link", True): f"it is a symbolic link to {tmp_path / 'nowhere'}, which does not exist",
        (tmp_path / "file" / "g.trace", True): "Not a directory",
    }
    for (path, update), why in refused.items():
        with pytest.raises(FileError) as raised:
            golden_module.check_path(path, update=update)
        assert str(raised.value) == f"cannot use golden trace {path}: {why}"
    golden_module.check_path(tmp_path / "new" / "deeper" / "g.trace", update=True)  # folders to be made
    golden_module.check_path(tmp_path / "g.trace", update=False)
    assert golden_module.read(tmp_path / "g.trace") is None
    for update, verb in ((False, "read"), (True, "write")):
        with pytest.raises(
            FileError, match=f"^cannot {verb} golden trace {tmp_path / 'dir'}: it is a directory"
        ):
            golden_module.read(tmp_path / "dir", update=update)
    with pytest.raises(FileError, match=r"^cannot read golden trace "):
        golden_module.read(tmp_path / "dir")  # reading is the default


def test_a_golden_in_a_folder_no_one_can_write() -> None:
    """The kernel refuses new files in /proc/sys to root as well: an update there is
    refused before the run, naming the folder the missing ones would be made in."""
    path = Path("/proc/sys/sysprobe-missing/deeper/g.trace")
    with pytest.raises(FileError) as raised:
        golden_module.check_path(path, update=True)
    assert str(raised.value) == f"cannot write golden trace {path}: /proc/sys is not a writable directory"
    golden_module.check_path(path, update=False)  # only read: a missing golden is no error yet


def test_what_an_error_on_a_golden_names() -> None:
    """The operating system's reason, and the file it names when that is another file
    (a folder on the way, the temporary copy), printable; a reason without strerror whole."""
    path = "/g/a.trace"
    cases = [
        (OSError(errno.EACCES, "Permission denied", "/g"), "Permission denied (/g)"),
        (OSError(errno.EACCES, "Permission denied", "/g/\x1b.tmp"), "Permission denied (/g/\\033.tmp)"),
        (OSError(errno.ENOSPC, "No space left on device", path), "No space left on device"),
        (OSError(errno.EIO, "Input/output error"), "Input/output error"),
        (OSError("the disk fell off"), "the disk fell off"),
    ]
    for error, why in cases:
        said = golden_module._file_error(path, error, "read")
        assert str(said) == f"cannot read golden trace {path}: {why}"
    # the plugin and the CLI pass a Path: the same file is still not named twice
    full = OSError(errno.ENOSPC, "No space left on device", path)
    said = golden_module._file_error(Path(path), full, "write")
    assert str(said) == f"cannot write golden trace {path}: No space left on device"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("a=b", ("a", "b")),
        ("a=b=c", ("a", "b=c")),  # split at the first =
        (r"\d+=N", (r"\d+", "N")),
        ("a=", ("a", "")),
        ("=b", "'=b': expected REGEX=REPLACEMENT"),
        ("ab", "'ab': expected REGEX=REPLACEMENT"),
        ("a(=x", "'a(' is not a regular expression: missing ), unterminated subpattern at position 1"),
    ],
)
def test_a_substitution_is_read_and_checked_at_once(text: str, parsed: tuple[str, str] | str) -> None:
    if isinstance(parsed, tuple):
        assert golden_module.parse_substitution(text) == parsed
    else:
        with pytest.raises(ValueError, match=r".") as raised:
            golden_module.parse_substitution(text)
        assert str(raised.value) == parsed
