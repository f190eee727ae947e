"""Facts about syscalls by name, in one place.

``ABI_VARIANTS`` maps a name to the names the same call has on other ABIs or in other
libc eras, so ``sendfile`` matches ``sendfile64`` and ``fcntl`` matches ``fcntl64``.
What a call does to descriptors and processes is in ``_fdspec``.
"""

from __future__ import annotations

from typing import Final

ABI_VARIANTS: Final[dict[str, frozenset[str]]] = {
    name: frozenset(group)
    for group in (
        # The same call under another name on another ABI (32-bit, time64) — never a
        # different call: epoll_create is not epoll_create1, pipe is not pipe2.
        {"sendfile", "sendfile64"},
        {"fcntl", "fcntl64"},
        {"mmap", "mmap2"},
        {"stat", "stat64"},
        {"fstat", "fstat64"},
        {"lstat", "lstat64"},
        {"newfstatat", "fstatat64"},
        {"truncate", "truncate64"},
        {"ftruncate", "ftruncate64"},
        {"statfs", "statfs64"},
        {"fstatfs", "fstatfs64"},
        {"lseek", "_llseek"},
        {"getdents", "getdents64"},
        {"select", "_newselect"},
        {"pselect6", "pselect6_time64"},
        {"ppoll", "ppoll_time64"},
        {"futex", "futex_time64"},
        {"clock_gettime", "clock_gettime64"},
        {"clock_nanosleep", "clock_nanosleep_time64"},
        {"recvmmsg", "recvmmsg_time64"},
        {"utimensat", "utimensat_time64"},
        {"fadvise64", "fadvise64_64", "arm_fadvise64_64"},
        {"sigaction", "rt_sigaction"},
        {"sigprocmask", "rt_sigprocmask"},
        {"sigreturn", "rt_sigreturn"},
        {"chown", "chown32"},
        {"fchown", "fchown32"},
        {"lchown", "lchown32"},
        {"getuid", "getuid32"},
        {"geteuid", "geteuid32"},
        {"getgid", "getgid32"},
        {"getegid", "getegid32"},
        {"setuid", "setuid32"},
        {"setgid", "setgid32"},
    )
    for name in group
}


def variants(name: str) -> frozenset[str]:
    """The names ``name`` goes by across ABIs, itself included."""
    return ABI_VARIANTS.get(name, frozenset({name}))
