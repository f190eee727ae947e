"""Functions the sysprobe.call tests run in a traced interpreter: a module of their own,
importable there by name (as multiprocessing's spawn needs)."""

from __future__ import annotations

import os
import subprocess
import sys


def copy_with_sendfile(src: str, dst: str) -> int:
    with open(src, "rb") as a, open(dst, "wb") as b:
        return os.sendfile(b.fileno(), a.fileno(), 0, os.fstat(a.fileno()).st_size)


def refuse(what: str, *, code: int = 7) -> None:
    raise ValueError(f"refused {what} with {code}")


def spawn_leaking_child() -> int:
    """A pipe made inheritable by the parent: a leak into ``true``. Returns its fd."""
    r, w = os.pipe()
    os.set_inheritable(w, True)
    subprocess.run(["true"], close_fds=False, check=True)
    os.close(r)
    os.close(w)
    return w


def spawn_with_pass_fds() -> int:
    """The same pipe, passed with pass_fds: the child clears close-on-exec itself."""
    r, w = os.pipe()
    subprocess.run(["true"], pass_fds=[w], check=True)
    os.close(r)
    os.close(w)
    return w


def talk(out: str, err: str) -> str:
    sys.stdout.write(out)
    sys.stderr.write(err)
    sys.stdout.flush()
    sys.stderr.flush()
    return out + err


def end_process(code: int) -> None:
    os._exit(code)


def unpicklable_result() -> object:
    return lambda: None
