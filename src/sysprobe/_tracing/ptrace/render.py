"""The ptrace backend's strace lines: one per finished call, one per signal.

The tracer hands each finished call here (``finish``) and gets back the line strace
would have written; the line parser reads it like strace's own, so the events, the model,
rules and goldens are the same code for both backends. Arguments are trees
(``decode.py``) printed by ``argtree.format_node``, the one printer of strace syntax:
quoting, escaping and ``-y`` decorations cannot differ from what the parser reads back.
"""

from __future__ import annotations

import errno as errno_module
import os
import struct
from typing import Final

from ..._kernel.constants import RESTART_ERRNO_TEXT, group
from ..._kernel.signals import signal_name
from ..._kernel.signatures import RESULT_FCNTL, RESULT_FD, RESULT_HEX, RESULT_NONE
from ...argtree import format_args, format_node
from .decode import F_DUPFD_COMMANDS, FD_CLOEXEC, PendingCall, arguments, open_flags_node, s32

_F_GETFD: Final = group("fcntl_commands").value("F_GETFD")
_F_GETFL: Final = group("fcntl_commands").value("F_GETFL")
_RESTART_ERRNOS: Final = group("restart_errnos")
_SI_CODES: Final = group("si_codes")
_CLD_CODES: Final = group("cld_codes")
_SEGV_CODES: Final = group("segv_codes")
_CLD_EXITED: Final = _CLD_CODES.value("CLD_EXITED")
_SIGNALS: Final = group("signals")
_SIGCHLD: Final = _SIGNALS.value("SIGCHLD")
_SIGSEGV: Final = _SIGNALS.value("SIGSEGV")
_FAULTS: Final = frozenset(_SIGNALS.value(name) for name in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE"))


def finish(
    pid: int, call: PendingCall, ret: int | None, injected: bool = False, *, resumed: bool = False
) -> str | None:
    """The line of a finished call (``ret`` None: the task did not come back). ``resumed``:
    its ``NAME( <unfinished ...>`` line is written, so this is its ``<... NAME resumed>``
    half — or nothing, when the task did not come back (the first half says it all)."""
    call.ret = ret
    args = format_args(arguments(call))
    opening = f"<... {call.name} resumed>" if resumed else f"{call.name}("
    if ret is None:
        if call.facts is not None and call.facts.result == RESULT_NONE:
            return f"{pid:<5} {opening}{args}) = ?"
        return None if resumed else f"{pid:<5} {call.name}({args} <unfinished ...>"
    result = result_text(call, ret)
    if injected:
        result += " (INJECTED)"
    return f"{pid:<5} {opening}{args}) = {result}"


def result_text(call: PendingCall, ret: int) -> str:
    """What strace prints after ``=``: ``3</tmp/x>``, ``-1 ENOENT (No such file or
    directory)``, ``0x1 (flags FD_CLOEXEC)``..."""
    if -4096 < ret < 0:
        return errno_text(-ret)
    kind = call.facts.result if call.facts is not None else "int"
    if kind == RESULT_FCNTL:
        command = s32(call.regs[1])
        if command in F_DUPFD_COMMANDS:
            kind = RESULT_FD
        elif command == _F_GETFD:
            return f"{ret:#x} (flags FD_CLOEXEC)" if ret & FD_CLOEXEC else str(ret)
        elif command == _F_GETFL:
            return f"{ret:#x} (flags {format_node(open_flags_node(ret))})"
    if kind == RESULT_FD:
        return format_node(call.fd(ret))
    if kind == RESULT_HEX:
        return hex(ret & 0xFFFFFFFFFFFFFFFF)
    return str(ret)


def errno_text(err: int) -> str:
    restart = _RESTART_ERRNOS.name_of(err)
    if restart is not None:  # never returned to user space: the call was interrupted
        return f"? {restart} ({RESTART_ERRNO_TEXT[restart]})"
    name = errno_module.errorcode.get(err, f"errno {err}")
    return f"-1 {name} ({os.strerror(err)})"


def siginfo_text(info: bytes) -> str:
    """A ``siginfo_t`` (x86_64 layout) as strace prints it in ``--- SIG... {...} ---``."""
    signo, _errno, code = struct.unpack_from("<iii", info)
    name = signal_name(signo)
    if signo == _SIGCHLD and code > 0:
        pid, uid, status = struct.unpack_from("<iIi", info, 16)
        utime, stime = struct.unpack_from("<qq", info, 32)
        status_text = str(status) if code == _CLD_EXITED else signal_name(status)
        return (
            f"{{si_signo={name}, si_code={_CLD_CODES.name_of(code) or code}, si_pid={pid}, si_uid={uid}, "
            f"si_status={status_text}, si_utime={utime}, si_stime={stime}}}"
        )
    if signo in _FAULTS and code > 0:
        addr = struct.unpack_from("<Q", info, 16)[0]
        code_text = (_SEGV_CODES.name_of(code) if signo == _SIGSEGV else None) or str(code)
        return f"{{si_signo={name}, si_code={code_text}, si_addr={hex(addr) if addr else 'NULL'}}}"
    pid, uid = struct.unpack_from("<iI", info, 16)
    return f"{{si_signo={name}, si_code={_SI_CODES.name_of(code) or code}, si_pid={pid}, si_uid={uid}}}"


__all__ = ["errno_text", "finish", "result_text", "siginfo_text"]
