"""Every x86_64 constant sysprobe knows, checked against the host's own values.

First Python's modules (os, fcntl, socket, select, signal, termios, time, errno); what
Python has no name for is checked against the C headers (glibc's, then the kernel's
uapi headers, which cannot be included together); what neither has is counted and named,
so a new unverified constant fails until someone says why it cannot be checked here.
"""

from __future__ import annotations

import enum
import errno
import fcntl
import os
import platform
import select
import signal
import socket
import subprocess
import termios
import time
from pathlib import Path

import pytest

from sysprobe._kernel.constants import ARCHES, GROUPS, constants, group, groups, is_constant
from sysprobe._kernel.signals import exit_status_for, signal_name, signal_number

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="the host's values are x86_64's")

PYTHON_MODULES = (os, fcntl, socket, select, signal, termios, time, errno)
GLIBC_HEADERS = [
    "fcntl.h",
    "sys/socket.h",
    "netinet/in.h",
    "linux/netlink.h",
    "sys/epoll.h",
    "sys/eventfd.h",
    "sys/signalfd.h",
    "sys/timerfd.h",
    "sys/inotify.h",
    "sys/mman.h",
    "sys/ioctl.h",
    "termios.h",
    "signal.h",
    "time.h",
    "sched.h",
    "sys/wait.h",
    "unistd.h",
    "sys/fanotify.h",
]
UAPI_HEADERS = [
    "linux/fcntl.h",
    "linux/mount.h",
    "linux/sched.h",
    "linux/memfd.h",
    "linux/pidfd.h",
    "linux/close_range.h",
    "linux/perf_event.h",
    "linux/fanotify.h",
    "linux/eventpoll.h",
    "linux/wait.h",
    "linux/in.h",
]
# glibc's value is not the kernel's on purpose: checked against the uapi headers instead
KERNEL_ONLY = {
    "O_LARGEFILE",  # 0 in glibc on 64-bit (every open is large); the kernel sets 0o100000
}
# Constants no installed header or Python module names, and why.
UNVERIFIABLE = {
    # kernel-internal errnos: never returned to user space, not in uapi headers
    "ERESTARTSYS",
    "ERESTARTNOINTR",
    "ERESTARTNOHAND",
    "ENOIOCTLCMD",
    "ERESTART_RESTARTBLOCK",
    # newer than the host's linux-libc-dev 6.1 headers
    "MFD_NOEXEC_SEAL",
    "MFD_EXEC",
    "F_SEAL_EXEC",
}


def python_value(name: str) -> int | None:
    for module in PYTHON_MODULES:
        value = getattr(module, name, None)
        if isinstance(value, int):
            return int(value)
    return None


def header_values(names: list[str], headers: list[str], tmp_path: Path, tag: str) -> dict[str, int]:
    lines = [
        "#define _GNU_SOURCE",
        *(f"#include <{h}>" for h in headers),
        "#include <stdio.h>",
        "int main(void) {",
    ]
    for name in names:
        lines += [f"#ifdef {name}", f'    printf("{name} %lld\\n", (long long)({name}));', "#endif"]
    lines += ["    return 0;", "}"]
    source = tmp_path / f"{tag}.c"
    source.write_text("\n".join(lines) + "\n")
    binary = tmp_path / tag
    subprocess.run(["cc", "-o", str(binary), str(source)], check=True)
    out = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout
    return {name: int(value) for name, value in (line.split() for line in out.splitlines())}


def test_every_x86_64_constant_is_the_hosts(tmp_path: Path) -> None:
    ours = constants("x86_64")
    by_python = {
        name: v for name in ours if name not in KERNEL_ONLY and (v := python_value(name)) is not None
    }
    rest = sorted(set(ours) - set(by_python))
    by_c = header_values([n for n in rest if n not in KERNEL_ONLY], GLIBC_HEADERS, tmp_path, "glibc")
    by_c.update(header_values([n for n in rest if n not in by_c], UAPI_HEADERS, tmp_path, "uapi"))
    wrong = {
        name: (ours[name], host)
        for name, host in {**by_c, **by_python}.items()
        # a C value is an int of the C type: compare as unsigned 32-bit where ours is
        if host != ours[name] and host & 0xFFFFFFFF != ours[name] & 0xFFFFFFFF
    }
    assert not wrong, f"sysprobe's value, the host's: {wrong}"
    unverified = set(ours) - set(by_python) - set(by_c)
    print(
        f"\n{len(ours)} x86_64 constants: {len(by_python)} checked against Python, "
        f"{len(by_c)} against the C headers, {len(unverified)} without a counterpart: {sorted(unverified)}"
    )
    assert unverified == UNVERIFIABLE


def test_signals_use_the_kernels_real_time_numbering() -> None:
    """strace names 32 SIGRTMIN and 32+n SIGRT_n (glibc's SIGRTMIN is 34)."""
    assert [signal_name(n) for n in (9, 32, 33, 34, 64, 65)] == [
        "SIGKILL",
        "SIGRTMIN",
        "SIGRT_1",
        "SIGRT_2",
        "SIGRT_32",
        "65",
    ]
    assert signal_number("SIGRT_2") == 34 == signal_number("SIGRTMIN+2")
    assert exit_status_for("SIGRT_2") == 128 + 34
    assert signal_number("SIGIOT") == signal.SIGABRT


def test_a_signal_is_named_by_its_architectures_numbers() -> None:
    """10 is SIGUSR1 on x86_64 and aarch64; mips numbers its signals otherwise (its
    SIGUSR1 is 16), and sysprobe has no table of them: the number stays a number."""
    assert [signal_name(10, arch) for arch in ("x86_64", "aarch64", "mips")] == ["SIGUSR1", "SIGUSR1", "10"]


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("SIGRTMIN", 32),  # the kernel's, not glibc's (Python's signal.SIGRTMIN is 34)
        ("SIGRTMAX", 64),
        ("SIGRT_0", 32),
        ("SIGRTMIN+30", 62),
        ("SIG40", 40),  # a number strace could not name
        ("SIGRT_X", 0),  # not a name strace writes: unknown, never an exception
        ("SIGRTMIN+", 0),
        ("SIGX0", 0),
        ("SIGFOO", 0),
        ("", 0),
    ],
)
def test_signal_numbers_of_every_form_strace_writes(name: str, number: int) -> None:
    assert signal_number(name) == number


def test_a_logs_architecture_numbers_its_signals_whatever_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """An x86_64 log read on a host that numbers signals otherwise (mips: SIGCHLD is 18)
    keeps x86_64's numbers; an architecture without a table here takes the host's."""

    class MipsSignals(enum.IntEnum):
        SIGCHLD = 18
        SIGUSR1 = 16
        SIGKILL = 9

    monkeypatch.setattr(signal, "Signals", MipsSignals)
    assert [signal_number(n, "x86_64") for n in ("SIGCHLD", "SIGUSR1")] == [17, 10]
    assert [signal_number(n, "mips") for n in ("SIGCHLD", "SIGUSR1")] == [18, 16]
    assert exit_status_for("SIGKILL") == 128 + 9


def test_names_and_values_both_ways() -> None:
    opens = group("open_flags")
    assert opens.flags_of(0o2000000 | 0o4000 | 0o10000000000) == (["O_NONBLOCK", "O_CLOEXEC"], 0o10000000000)
    assert opens.flags_of(0o4010000) == (["O_SYNC"], 0)  # the composite, not O_DSYNC again
    assert opens.flags_of(0o20200000) == (["O_TMPFILE"], 0)
    assert group("address_families").name_of(1) == "AF_UNIX"  # not its alias AF_LOCAL
    assert group("address_families").value("AF_LOCAL") == 1
    assert is_constant("O_CLOEXEC") and is_constant("MSG_CMSG_CLOEXEC", "alpha")
    assert not is_constant("O_CLOSEXEC")


@pytest.mark.parametrize("arch", ARCHES)
def test_every_architecture_resolves(arch: str) -> None:
    values = constants(arch)
    assert set(groups(arch)) == set(GROUPS)
    # the *_CLOEXEC flags that are O_CLOEXEC under another name follow it everywhere
    for alias in ("SOCK_CLOEXEC", "EPOLL_CLOEXEC", "EFD_CLOEXEC", "TFD_CLOEXEC", "IN_CLOEXEC"):
        assert values[alias] == values["O_CLOEXEC"], (arch, alias)
    assert values["EFD_NONBLOCK"] == values["O_NONBLOCK"]


def test_architectures_differ_where_their_headers_do() -> None:
    expected: dict[str, dict[str, int | None]] = {
        "x86_64": {"O_CLOEXEC": 0o2000000, "SOL_SOCKET": 1, "FIOCLEX": 0x5451, "O_DIRECTORY": 0o200000},
        "aarch64": {"O_CLOEXEC": 0o2000000, "O_DIRECTORY": 0o40000, "FIOCLEX": 0x5451},
        "alpha": {
            "O_CLOEXEC": 0o10000000,
            "SOL_SOCKET": 0xFFFF,
            "FIOCLEX": 0x20006601,
            "SOCK_NONBLOCK": 0x40000000,
        },
        "mips": {
            "O_NONBLOCK": 0x80,
            "SOCK_NONBLOCK": 0x80,
            "SOCK_STREAM": 2,
            "SOL_SOCKET": 0xFFFF,
            "FIOCLEX": 0x6601,
        },
        "parisc": {"O_CLOEXEC": 1 << 21, "SOCK_NONBLOCK": 0x40000000, "F_GETOWN": 11},
        "sparc64": {"O_CLOEXEC": 0x400000, "SOCK_CLOEXEC": 0x400000, "F_GETLK": 7},
        "ppc64": {"O_DIRECTORY": 0o40000, "FIOCLEX": 0x20006601},
    }
    for arch, values in expected.items():
        got = constants(arch)
        assert {name: got.get(name) for name in values} == values, arch
    # a whole header of its own: what it says is all that is known there
    assert "FIONBIO" not in constants("alpha") and "SIGUSR1" not in constants("mips")
    assert "FIONBIO" in constants("s390x") and "SIGUSR1" in constants("riscv64")
