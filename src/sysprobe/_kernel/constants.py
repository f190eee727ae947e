"""Numeric values of the constants the descriptor model reads, per architecture.

With ``-X raw`` strace prints ``openat(-100, "/x", 0x80000)`` instead of names; to tell
whether 0x80000 contains O_CLOEXEC the model needs the number, and the numbers differ
between architectures (from the kernel's uapi headers). ``-X verbose`` prints both, and
names are preferred whenever they are there.
"""

from __future__ import annotations

import platform
from typing import Final

# asm-generic: x86-64, i386, arm, aarch64, riscv, loongarch, s390, ...
_GENERIC: Final[dict[str, int]] = {
    "O_CLOEXEC": 0o2000000,
    "SOCK_CLOEXEC": 0o2000000,
    "EPOLL_CLOEXEC": 0o2000000,
    "EFD_CLOEXEC": 0o2000000,
    "SFD_CLOEXEC": 0o2000000,
    "TFD_CLOEXEC": 0o2000000,
    "IN_CLOEXEC": 0o2000000,
    "OPEN_TREE_CLOEXEC": 0o2000000,
    "MFD_CLOEXEC": 0x1,
    "FAN_CLOEXEC": 0x1,
    "FSOPEN_CLOEXEC": 0x1,
    "FSMOUNT_CLOEXEC": 0x1,
    "FSPICK_CLOEXEC": 0x1,
    "PERF_FLAG_FD_CLOEXEC": 0x8,
    "MSG_CMSG_CLOEXEC": 0x40000000,
    "FD_CLOEXEC": 0x1,
    "F_DUPFD": 0,
    "F_GETFD": 1,
    "F_SETFD": 2,
    "F_DUPFD_CLOEXEC": 1030,
    "FIOCLEX": 0x5451,
    "FIONCLEX": 0x5450,
    "CLOSE_RANGE_UNSHARE": 0x2,
    "CLOSE_RANGE_CLOEXEC": 0x4,
    "CLONE_VM": 0x100,
    "CLONE_FILES": 0x400,
    "CLONE_VFORK": 0x4000,
    "CLONE_THREAD": 0x10000,
    "SOL_SOCKET": 1,
    "SCM_RIGHTS": 1,
    "AT_FDCWD": -100,
}

_DIFFERENCES: Final[dict[str, dict[str, int]]] = {
    "alpha": {"O_CLOEXEC": 0o10000000, "FIOCLEX": 0x20006601, "FIONCLEX": 0x20006602, "SOL_SOCKET": 0xFFFF},
    "parisc": {"O_CLOEXEC": 0o10000000, "SOL_SOCKET": 0xFFFF},
    "sparc64": {"O_CLOEXEC": 0x400000, "FIOCLEX": 0x20006601, "FIONCLEX": 0x20006602, "SOL_SOCKET": 0xFFFF},
    "mips": {"FIOCLEX": 0x6601, "FIONCLEX": 0x6602, "SOL_SOCKET": 0xFFFF},
    "ppc64": {"FIOCLEX": 0x20006601, "FIONCLEX": 0x20006602},
}
# The *_CLOEXEC flags that are O_CLOEXEC under another name follow it on every architecture.
_ALIASES_OF_O_CLOEXEC: Final = (
    "SOCK_CLOEXEC",
    "EPOLL_CLOEXEC",
    "EFD_CLOEXEC",
    "SFD_CLOEXEC",
    "TFD_CLOEXEC",
    "IN_CLOEXEC",
    "OPEN_TREE_CLOEXEC",
)
_MACHINE_TO_ARCH: Final = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "i386": "i386",
    "i686": "i386",
    "aarch64": "aarch64",
    "arm64": "aarch64",
    "armv7l": "arm",
    "riscv64": "riscv64",
    "s390x": "s390x",
    "ppc64le": "ppc64",
    "ppc64": "ppc64",
    "mips64": "mips",
    "mips": "mips",
    "sparc64": "sparc64",
    "alpha": "alpha",
    "parisc": "parisc",
    "loongarch64": "loongarch64",
}

ARCHES: Final = tuple(sorted({*_MACHINE_TO_ARCH.values()}))


def host_arch() -> str:
    return _MACHINE_TO_ARCH.get(platform.machine(), "x86_64")


def constants(arch: str) -> dict[str, int]:
    """Name → value for ``arch`` (see ARCHES); unknown architectures get asm-generic."""
    values = dict(_GENERIC)
    diff = _DIFFERENCES.get(arch, {})
    values.update(diff)
    if "O_CLOEXEC" in diff:
        for alias in _ALIASES_OF_O_CLOEXEC:
            values[alias] = diff["O_CLOEXEC"]
    return values
