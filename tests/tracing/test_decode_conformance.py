"""The ptrace backend decodes every call it decodes into the same argument trees as strace.

tests/programs/decode_zoo.c makes each of those calls with awkward data (quotes, '>',
newlines, non-UTF-8 bytes, octal-looking bytes, strings past -s); both backends trace it
and the calls between its two markers are compared one by one: name, every argument the
ptrace backend does not mark undecoded, result, errno. The only normalizations, for
values that differ between any two runs: addresses (ASLR), the ids the kernel hands out
(pids, System V IPC ids: by order of appearance) and inode numbers in -y decorations.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sysprobe
from sysprobe._kernel.syscalls import TABLE
from sysprobe.argtree import Fd, Hex, Node, Str, unwrap
from sysprobe.events import Syscall

pytestmark = pytest.mark.usefixtures("strace_ok", "ptrace_ok")

# kinds a signature needs no decoder of its own for: numbers, descriptors, paths
GENERIC_KINDS = {
    "fd",
    "dirfd",
    "int",
    "uint",
    "long",
    "ulong",
    "ptr",
    "hex",
    "raw",
    "path",
    "string",
    "signal",
}
# calls with a decoding of their own that the zoo cannot make everywhere
NEEDS_PRIVILEGE = {
    "bpf",
    "fanotify_init",
    "fsmount",
    "fsopen",
    "fspick",
    "io_uring_setup",
    "landlock_create_ruleset",
    "memfd_secret",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "userfaultfd",
}
# the calls whose results are pids; System V IPC ids are small numbers like descriptors,
# so they are normalized where they stand: the result of *get, the first argument of the rest
ASSIGNS_PIDS = {"fork", "vfork", "clone", "clone3", "getpid", "getppid"}
IPC_IDS = {"shmget": None, "shmat": 0, "shmctl": 0, "semctl": 0, "semop": 0, "msgctl": 0, "msgsnd": 0}


def decoded_by_the_ptrace_backend() -> set[str]:
    """x86_64 calls whose row asks for more than the generic decoding."""
    return {
        name
        for name, row in TABLE.items()
        if row.x86_64 is not None
        and row.same_as is None
        and (
            any(arg.kind not in GENERIC_KINDS for arg in row.args)
            or row.layout is not None
            or row.result != "int"
            or row.effect is not None
        )
    }


def zoo_calls(program: Path, directory: Path, backend: str) -> tuple[list[list[Syscall]], dict[int, int]]:
    """The calls between the zoo's markers, per process in order of appearance, and the
    pids of the run by order of appearance."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    t = sysprobe.trace([str(program), str(directory)], backend=backend)
    calls = [e for e in t.events if isinstance(e, Syscall)]
    main = calls[0].pid
    markers = [i for i, c in enumerate(calls) if c.name == "getppid" and c.pid == main]
    assert len(markers) == 2, backend
    ids: dict[int, int] = {}
    per_process: dict[int | None, list[Syscall]] = {}
    for call in calls[markers[0] : markers[1] + 1]:
        for value in (call.pid, call.ret if call.name in ASSIGNS_PIDS else None):
            if value is not None and value > 0:
                ids.setdefault(value, len(ids))
        per_process.setdefault(call.pid, []).append(call)
    return list(per_process.values()), ids


def normalized(node: Node | None, ids: dict[int, int]) -> Any:
    """A tree as comparable data: node types kept, run-specific values replaced."""
    if isinstance(node, tuple):
        return tuple(normalized(n, ids) for n in node)
    if isinstance(node, Hex):
        return "ADDR" if node >= 0x10000 else ("Hex", int(node))
    if isinstance(node, bool) or not isinstance(node, int):
        if isinstance(node, Fd):
            fd = node.fd if isinstance(node.fd, str) else normalized(node.fd, ids)
            return ("Fd", fd, re.sub(r"\[\d+\]", "[N]", node.info), node.deleted)
        if isinstance(node, Str):
            return ("Str", node.value, node.truncated)
        fields = getattr(node, "__match_args__", None)  # a node class's fields, in order
        if fields is not None:
            return (type(node).__name__, *(normalized(getattr(node, f), ids) for f in fields))
        return node
    # a plain number may be a pid; one written in octal (a mode: 0640 is 416) never is, and
    # on a fresh machine pids are small enough to meet modes and counts
    return ("id", ids[node]) if type(node) is int and node in ids else (type(node).__name__, int(node))


def comparable(call: Syscall, ids: dict[int, int], undecoded: tuple[int, ...]) -> Any:
    args = [normalized(a, ids) for i, a in enumerate(call.args) if i not in undecoded]
    ret = normalized(call.ret_fd, ids) if call.ret_fd is not None else normalized(call.ret, ids)
    if call.ret is not None and (call.ret_text or "").startswith("0x"):
        ret = normalized(Hex(call.ret), ids)  # an address: mmap's, brk's
    if call.name in IPC_IDS:
        where = IPC_IDS[call.name]
        if where is None:
            ret = "IPC_ID"
        elif where not in undecoded:
            args[where] = "IPC_ID"
    return call.name, args, ret, call.errno


def test_every_decoded_call_gives_strace_s_trees(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    program = compile_c("decode_zoo")
    directory = tmp_path / "zoo"
    by_strace, strace_ids = zoo_calls(program, directory, "strace")
    by_ptrace, ptrace_ids = zoo_calls(program, directory, "ptrace")
    assert len(by_ptrace) == len(by_strace) == 6  # the zoo and its five children
    compared = 0
    for strace_calls, ptrace_calls in zip(by_strace, by_ptrace, strict=True):
        assert [c.name for c in ptrace_calls] == [c.name for c in strace_calls]
        for theirs, ours in zip(strace_calls, ptrace_calls, strict=True):
            assert comparable(ours, ptrace_ids, ours.undecoded) == comparable(
                theirs, strace_ids, ours.undecoded
            ), f"\nstrace: {theirs.raw}\nptrace: {ours.raw}"
            compared += 1
    assert compared > 100
    seen = {c.name for calls in by_ptrace for c in calls}
    missing = decoded_by_the_ptrace_backend() - NEEDS_PRIVILEGE - seen
    assert not missing, f"decode_zoo.c makes no {sorted(missing)} call"


def test_an_octal_escape_before_a_digit_keeps_its_bytes(backend: str) -> None:
    """\\1 then the digit 2: strace writes "\\0012"; printing "\\12" would be a newline."""
    t = sysprobe.trace(["sh", "-c", "printf '\\001%s\\n' 2"], backend=backend)
    (write,) = [c for c in t.calls("write") if c.args and unwrap(c.args[0]) == 1]
    assert isinstance(write.args[1], Str) and write.args[1].value == b"\x012\n"


# 'x") = 5' and 'a"), c' read as the end of a line or of an argument in a -y decoration
# ("= 3</tmp/x\\") = 5>"); a "[" in a path once opened a bracket the decoration never closed
@pytest.mark.parametrize(
    "name",
    ['q"uote', "an>gle", 'both"and>', "new\nline", "back\\slash", 'x") = 5', 'a"), c', "a[b>c"],
)
def test_a_leak_through_an_awkward_name_is_reported(
    name: str, backend: str, compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    """dup2 of an awkwardly named file, then fork: fd 4 leaks into the child's true. The
    -y decorations of the dup2 line must be escaped, or the line is cut short or dropped
    and the leak is missed."""
    path = tmp_path / name
    path.write_text("")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sysprobe",
            "check",
            "--no-fd-leaks",
            "--",
            str(compile_c("dup_leak")),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = done.stdout + done.stderr
    assert "1 descriptor leaked" in report and "fd 4 (" in report
    assert f"fd 4 ({path})" in report or "\n" in name
