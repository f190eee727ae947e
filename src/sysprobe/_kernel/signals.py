"""Signal names as strace prints them, both ways.

The standard signals are a constants group (``constants.py``). Real-time signals are
numbered the kernel's way, as strace names them: 32 is ``SIGRTMIN`` and 32+n is
``SIGRT_n`` (glibc keeps two for itself and calls 34 its SIGRTMIN; Python's ``signal``
module follows glibc, so it is not used for these).
"""

from __future__ import annotations

import signal

from .constants import KERNEL_SIGRTMAX, KERNEL_SIGRTMIN, group, host_arch


def signal_number(name: str, arch: str | None = None) -> int:
    """``SIGSEGV`` → 11; ``SIGRTMIN`` → 32, ``SIGRT_3``/``SIGRTMIN+3`` → 35; 0 if unknown."""
    value = group("signals", arch or host_arch()).value(name)
    if value is not None:
        return value
    if name == "SIGRTMIN":
        return KERNEL_SIGRTMIN
    for prefix in ("SIGRT_", "SIGRTMIN+"):
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            return KERNEL_SIGRTMIN + int(name[len(prefix) :])
    if name.startswith("SIG") and name[3:].isdigit():
        return int(name[3:])
    try:  # an architecture without data here: the host's own numbering
        return int(signal.Signals[name])
    except KeyError:
        return 0


def signal_name(number: int, arch: str = "x86_64") -> str:
    """11 → ``SIGSEGV``, 32 → ``SIGRTMIN``, 35 → ``SIGRT_3``; a number strace cannot name
    stays a number."""
    name = group("signals", arch).name_of(number)
    if name is not None:
        return name
    if number == KERNEL_SIGRTMIN:
        return "SIGRTMIN"
    if KERNEL_SIGRTMIN < number <= KERNEL_SIGRTMAX:
        return f"SIGRT_{number - KERNEL_SIGRTMIN}"
    return str(number)


def exit_status_for(signal_name: str) -> int:
    """The status a shell reports for a process killed by ``signal_name``: 128+N."""
    return 128 + signal_number(signal_name)
