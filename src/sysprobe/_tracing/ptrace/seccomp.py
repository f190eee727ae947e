"""The seccomp filter the ptrace backend installs (what strace --seccomp-bpf installs): the
kernel stops a tracee only at the selected calls, and lets every other call run untraced."""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Sequence

from ..._kernel.syscalls import X32_SYSCALL_BIT as X32_BIT

_AUDIT_ARCH_X86_64 = 0xC000003E
_RET_TRACE, _RET_ALLOW = 0x7FF00000, 0x7FFF0000
_LD_ABS, _JEQ, _JSET, _RET = 0x20, 0x15, 0x45, 0x06


def seccomp_filter(numbers: Sequence[int]) -> bytes | None:
    """A classic-BPF program: stop (SECCOMP_RET_TRACE) at ``numbers``, at any call of
    another ABI (so a 32-bit or x32 program is still seen, and refused), allow the rest."""
    if len(numbers) > 250:  # jump offsets are one byte
        return None
    n = len(numbers)
    trace_at = 6 + n  # index of the RET TRACE instruction, after n JEQs and RET ALLOW
    prog = [
        (_LD_ABS, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 1, 0, _AUDIT_ARCH_X86_64),
        (_RET, 0, 0, _RET_TRACE),
        (_LD_ABS, 0, 0, 0),  # seccomp_data.nr
        (_JSET, trace_at - 5, 0, X32_BIT),  # jumps count from the next instruction
    ]
    for i, nr in enumerate(numbers):
        prog.append((_JEQ, trace_at - (5 + i) - 1, 0, nr))
    prog += [(_RET, 0, 0, _RET_ALLOW), (_RET, 0, 0, _RET_TRACE)]
    return b"".join(struct.pack("<HBBI", *ins) for ins in prog)


def install_filter(program: bytes) -> bool:
    """Install a seccomp filter on this process (the child, before its exec)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    buf = ctypes.create_string_buffer(program, len(program))

    class SockFprog(ctypes.Structure):
        _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))

    fprog = SockFprog(len(program) // 8, ctypes.addressof(buf))
    if os.geteuid() != 0:
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: required without CAP_SYS_ADMIN
    return int(libc.prctl(22, 2, ctypes.addressof(fprog), 0, 0)) == 0  # PR_SET_SECCOMP, FILTER
