"""Signal names as strace prints them → numbers."""

from __future__ import annotations

import signal


def signal_number(name: str) -> int:
    """``SIGSEGV`` → 11; ``SIGRT_3``/``SIGRTMIN+3`` → SIGRTMIN+3."""
    try:
        return int(signal.Signals[name])
    except KeyError:
        pass
    for prefix in ("SIGRT_", "SIGRTMIN+"):
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            return int(signal.SIGRTMIN) + int(name[len(prefix) :])
    if name.startswith("SIG") and name[3:].isdigit():
        return int(name[3:])
    return 0


def exit_status_for(signal_name: str) -> int:
    """The status a shell reports for a process killed by ``signal_name``: 128+N."""
    return 128 + signal_number(signal_name)
