"""The syscall table: its numbers against the host's headers, the lists derived from it,
name validation, and what glibc really calls, measured with strace."""

from __future__ import annotations

import platform
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from sysprobe._kernel.effects import Creates, Execs, Forks
from sysprobe._kernel.headers import differences, header_numbers
from sysprobe._kernel.syscalls import (
    ABIS,
    CREATES_PROCESS,
    EFFECTS,
    EXECS,
    GLIBC_X86_64,
    TABLE,
    TRACKED,
    facts,
    in_class,
    is_syscall,
    libc_calls,
    name_of,
    number_of,
    suggest,
    variants,
)


@pytest.mark.skipif(header_numbers("x86_64") is None, reason="no kernel headers (linux-libc-dev)")
def test_the_table_has_every_number_of_the_hosts_headers() -> None:
    assert differences() == []
    for abi in ABIS:
        numbers = header_numbers(abi)
        assert numbers is not None
        assert {name: number_of(name, abi) for name in numbers} == numbers


def test_each_number_names_one_call_per_abi() -> None:
    for abi in ABIS:
        seen: dict[int, str] = {}
        for row in TABLE.values():
            nr = row.number(abi)
            if nr is not None:
                assert nr not in seen, f"{abi} {nr}: {seen[nr]} and {row.name}"
                seen[nr] = row.name
    assert (name_of(59), name_of(11, "i386"), name_of(520, "x32"), name_of(0x40000000 | 520, "x32")) == (
        "execve",
        "execve",
        "execve",
        "execve",
    )
    assert number_of("execve", "x32") == 520 and number_of("waitpid") is None


def test_rows_are_complete() -> None:
    assert len(TABLE) > 450
    for row in TABLE.values():
        assert row.arity <= 6, row.name
        assert row.x86_64 is not None or row.i386 is not None or row.x32 is not None or row.elsewhere, (
            row.name
        )
        if row.same_as is not None:
            base = TABLE[row.same_as]
            assert base.same_as is None and base.effect == row.effect and base.classes == row.classes
    openat = facts("openat")
    assert openat is not None and openat.arity == 4 and openat.result == "fd"
    assert openat.classes == {"desc", "file"} and isinstance(openat.effect, Creates)


def test_the_derived_lists() -> None:
    assert set(EFFECTS) == TRACKED == {name for name, row in TABLE.items() if row.effect is not None}
    assert {"execve", "execveat"} == EXECS
    assert {"fork", "vfork", "clone", "clone2", "clone3"} == CREATES_PROCESS
    assert all(isinstance(EFFECTS[n], Execs) for n in EXECS)
    assert all(isinstance(EFFECTS[n], Forks) for n in CREATES_PROCESS)
    assert {"fcntl64", "recvmmsg_time64"} <= TRACKED  # ABI variants share their call's effect
    assert {"execve", "clone", "wait4", "kill"} <= in_class("process")
    assert {"socket", "accept4", "sendmsg"} <= in_class("network")
    assert {"close", "dup2", "pipe", "epoll_create1", "read"} <= in_class("desc")
    assert {"openat", "execve", "unlink"} <= in_class("file") and "close" not in in_class("file")
    assert {"rt_sigaction", "kill"} <= in_class("signal") and "mmap" in in_class("memory")
    with pytest.raises(ValueError, match="unknown syscall class"):
        in_class("%process")


def test_variants_are_the_same_call_under_another_name() -> None:
    assert variants("fcntl") == variants("fcntl64") == {"fcntl", "fcntl64"}
    assert variants("newfstatat") == {"newfstatat", "fstatat64"}
    assert variants("fadvise64") == {"fadvise64", "fadvise64_64", "arm_fadvise64_64"}
    assert variants("epoll_create") == {"epoll_create"}  # not epoll_create1: another call
    assert variants("no_such_call") == {"no_such_call"}


def test_names_a_user_writes_are_checked() -> None:
    assert is_syscall("openat") and is_syscall("openat", "x86_64") and is_syscall("openat", "x32")
    assert is_syscall("waitpid", "i386") and not is_syscall("waitpid", "x86_64")
    assert is_syscall("uselib", "x86_64") and not is_syscall("uselib", "x32")
    assert is_syscall("clone2") and not is_syscall("clone2", "x86_64")  # ia64's
    assert not is_syscall("opnat") and not is_syscall("fork_exec")
    assert suggest("opnat")[0] == "openat"
    assert suggest("waitpid", "x86_64")[0] == "waitid"
    with pytest.raises(ValueError, match="no syscall list for 'sparc64'"):
        is_syscall("openat", "sparc64")


# How a C program calls each name glibc implements with another syscall.
WRAPPER_CALLS = {
    "fork": "if (fork() == 0) _exit(0); wait(NULL);",
    "wait": "if (fork() == 0) _exit(0); mark(); wait(NULL);",
    "waitpid": "pid_t p = fork(); if (p == 0) _exit(0); mark(); waitpid(p, NULL, 0);",
    "wait3": "if (fork() == 0) _exit(0); mark(); wait3(NULL, 0, NULL);",
    "pipe": "int p[2]; pipe(p);",
    "open": 'open("/dev/null", O_RDONLY);',
    "stat": 'struct stat st; stat("/", &st);',
    "lstat": 'struct stat st; lstat("/", &st);',
    "fstat": "struct stat st; fstat(0, &st);",
    "select": "struct timeval tv = {0, 0}; select(0, NULL, NULL, NULL, &tv);",
    "eventfd": "eventfd(0, 0);",
    "signalfd": "sigset_t m; sigemptyset(&m); signalfd(-1, &m, 0);",
    "mknod": 'mknod("/nonexistent/x", S_IFIFO | 0600, 0);',
    "utime": 'utime("/nonexistent/x", NULL);',
    "utimes": 'utimes("/nonexistent/x", NULL);',
    "signal": "signal(SIGUSR1, SIG_IGN);",
    "sigaction": "struct sigaction sa; memset(&sa, 0, sizeof sa); sigaction(SIGUSR2, &sa, NULL);",
    "sigprocmask": "sigset_t m; sigemptyset(&m); sigprocmask(SIG_BLOCK, &m, NULL);",
    "getrlimit": "struct rlimit r; getrlimit(RLIMIT_NOFILE, &r);",
    "setrlimit": "struct rlimit r; getrlimit(RLIMIT_NOFILE, &r); mark(); setrlimit(RLIMIT_NOFILE, &r);",
    "nanosleep": "struct timespec t = {0, 1}; nanosleep(&t, NULL);",
    "sleep": "sleep(0);",
    "usleep": "usleep(1);",
    "send": 'int s[2]; socketpair(AF_UNIX, SOCK_DGRAM, 0, s); mark(); send(s[0], "x", 1, 0);',
    "recv": 'int s[2]; socketpair(AF_UNIX, SOCK_DGRAM, 0, s); write(s[1], "x", 1); mark(); '
    "char b; recv(s[0], &b, 1, 0);",
    "pread": "char b; pread(0, &b, 0, 0);",
    "pwrite": 'pwrite(1, "", 0, 0);',
    "posix_fadvise": "posix_fadvise(0, 0, 0, 0);",
    "readdir": 'DIR *d = opendir("/"); mark(); readdir(d);',
    "raise": "signal(SIGUSR1, SIG_IGN); mark(); raise(SIGUSR1);",
    "nice": "nice(0);",
    "time": "time(NULL);",
    "gettimeofday": "struct timeval tv; gettimeofday(&tv, NULL);",
    "clock_gettime": "struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);",
}
HEADERS = [
    "dirent.h",
    "fcntl.h",
    "signal.h",
    "stdlib.h",
    "string.h",
    "sys/eventfd.h",
    "sys/resource.h",
    "sys/select.h",
    "sys/signalfd.h",
    "sys/socket.h",
    "sys/stat.h",
    "sys/syscall.h",
    "sys/time.h",
    "sys/wait.h",
    "time.h",
    "unistd.h",
    "utime.h",
]


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the facts are x86_64's")
def test_what_glibc_really_calls(run_strace: Callable[..., Path], tmp_path: Path) -> None:
    """Each wrapper between two markers (getcwd(NULL, N)): strace sees the listed calls,
    never the wrapper's own name; the vDSO answers time() and its kind with no call."""
    assert set(WRAPPER_CALLS) == set(GLIBC_X86_64)
    names = sorted(WRAPPER_CALLS)
    body = [f"    {{ mark(); {WRAPPER_CALLS[name]} }}" for name in names]
    source = tmp_path / "wrappers.c"
    source.write_text(
        "#define _GNU_SOURCE\n"
        + "".join(f"#include <{h}>\n" for h in HEADERS)
        + "static long n;\nstatic void mark(void) { syscall(SYS_getcwd, NULL, ++n); }\n"
        + "int main(void) {\n"
        + "\n".join(body)
        + "\n    mark();\n    return 0;\n}\n"
    )
    binary = tmp_path / "wrappers"
    subprocess.run(["cc", "-O0", "-o", str(binary), str(source)], check=True)
    log = run_strace([str(binary)], "-f", "-qq")
    blocks: dict[int, list[str]] = {}
    current = 0
    for line in log.read_text().splitlines():
        line = re.sub(r"^\d+ +", "", line)
        marker = re.search(r"getcwd(?: resumed>|\()NULL, (\d+)\)", line)
        if marker:
            current = int(marker.group(1))
            blocks.setdefault(current, [])
        elif current and (call := re.match(r"(?:<\.\.\. )?(\w+)[( ]", line)) and call.group(1) != "getcwd":
            blocks[current].append(call.group(1))
    # a wrapper's block is the last marker before it: the markers inside a statement
    # (after a fork, a setup call) start the part that is measured
    seen: dict[str, set[str]] = {}
    mark = 0
    for name in names:
        mark += 1 + WRAPPER_CALLS[name].count("mark()")
        seen[name] = set(blocks.get(mark, []))
    for name in names:
        expected = libc_calls(name)
        assert expected is not None
        assert set(expected) <= seen[name], (name, seen[name])
        assert name not in seen[name] - set(expected), (name, seen[name])
        if not expected:
            assert seen[name] == set(), (name, seen[name])
    assert libc_calls("openat") is None
