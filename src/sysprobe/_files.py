"""Files sysprobe writes and reads back for its users (golden traces) and for itself (the
strace cache): regular files only, written whole or not at all.

``write_atomically`` writes the new text to a hidden ``.NAME.PID.XXXXXXXX.tmp`` beside the
target, syncs it, and renames it over the target, so that a reader sees the old file or the
new one, never a part. What can go wrong, and what is done:

- SIGINT, SIGTERM, SIGHUP or SIGQUIT while writing: the signal is held until the write
  is over; if one came, the temporary file is removed and the target left as it was
  before the signal acts. An interrupted write writes nothing and leaves nothing.
- SIGKILL (or a crash, a power cut) while writing: the temporary file stays — only when the
  kill lands in the write itself, a few milliseconds (the text is ready in memory: one
  write, one fsync, one rename). The next write of the same file removes it: each writer
  holds a lock on its temporary file, and one nobody holds whose PID is gone (or that is
  older than an hour, whatever its PID says) is stale.
- A target that is not a regular file (a directory, a FIFO — opening it would block — a
  device, a socket) is refused, never replaced. A symbolic link is followed to the
  regular file it names, which is rewritten in its own directory (the link stays); a
  link to nothing is refused.
- A rewritten file keeps its permission bits; a new one gets what ``open()`` would give it
  (0666 less the umask). Its owner and group are the writer's, and hard links to the old
  file keep the old text (a rename makes a new inode).

Errors are ``OSError``s (``NotARegularFile`` for a refused target, ``Interrupted``): callers
say what the file was for.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import signal
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

STALE_SECONDS = 3600.0  # a temporary file nobody holds that is this old is stale, whatever its PID says
_HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}


class NotARegularFile(OSError):
    """The path names something sysprobe will not read or replace (``strerror`` says what)."""


class Interrupted(OSError):
    """A signal came while the file was written: nothing was written."""


def kind_of(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def regular_target(path: str | os.PathLike[str]) -> tuple[Path, os.stat_result | None]:
    """The regular file ``path`` names (through symbolic links) and its status, or the path
    and None where nothing is there yet; ``NotARegularFile`` for anything else."""
    target = Path(path)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return target, None
    if stat.S_ISLNK(info.st_mode):
        real = Path(os.path.realpath(target))
        try:
            info = os.stat(real)
        except FileNotFoundError:
            raise NotARegularFile(
                errno.ENOENT, f"is a symbolic link to {real}, which does not exist", str(path)
            ) from None
        target = real
    if not stat.S_ISREG(info.st_mode):
        raise NotARegularFile(errno.EINVAL, f"is {kind_of(info.st_mode)}, not a regular file", str(path))
    return target, info


def read_text(path: str | os.PathLike[str]) -> str | None:
    """The text of the regular file at ``path`` (undecodable bytes kept as surrogates), None
    if there is none. Never blocks: a FIFO, a device or a directory is ``NotARegularFile``."""
    target, info = regular_target(path)
    if info is None:
        return None
    try:  # O_NONBLOCK: a FIFO put there since the check does not block the open
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    with open(fd, encoding="utf-8", errors="surrogateescape") as fh:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(errno.EINVAL, f"is {kind_of(mode)}, not a regular file", str(path))
        return fh.read()


def new_file_mode() -> int:
    """What ``open(path, "w")`` gives a new file: 0666 less the umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(path: str | os.PathLike[str], text: str) -> Path:
    """Replace the regular file at ``path`` (or create it, and its directories) with
    ``text``, whole or not at all (the module's docstring); return the file written (the
    target of a symbolic link)."""
    target, info = regular_target(path)
    mode = stat.S_IMODE(info.st_mode) if info is not None else new_file_mode()
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep(target)
    data = text.encode("utf-8", "surrogateescape")
    with _signals_held() as arrived:
        name = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        written = False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # while it is held, no sweep removes the file
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
            os.fsync(fd)
            if arrived():
                raise Interrupted(errno.EINTR, "interrupted by a signal: nothing was written", str(path))
            os.replace(name, target)
            written = True
        finally:
            os.close(fd)
            if not written:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name)
    _sync_directory(target.parent)
    return target


def sweep(target: Path) -> list[Path]:
    """Remove the temporary files of ``target`` that dead writers left (SIGKILL between
    naming and renaming); return them."""
    ours = re.compile(rf"\.{re.escape(target.name)}\.(?:(\d+)\.[0-9a-f]{{8}}|[a-z0-9_]{{8}})\.tmp")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        found = ours.fullmatch(entry.name)
        if found is None:
            continue
        pid = found.group(1)  # None: a name without a PID (sysprobe 0.1's): only its age tells
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                continue
            if _alive(pid) and time.time() - info.st_mtime < STALE_SECONDS:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer is still at work (in another PID namespace, perhaps)
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


def _alive(pid: str | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _signals_held() -> Iterator[Callable[[], bool]]:
    """Hold the interrupting signals that would act on this thread (those not ignored);
    yield a function that says whether one came. On the way out they are let go: one that
    came acts then (the process ends, or its Python handler runs)."""
    held = {sig for sig in _HELD if signal.getsignal(sig) is not signal.SIG_IGN}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield lambda: bool(signal.sigpending() & held)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (a file system without directory fsync is left as is)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
