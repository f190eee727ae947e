"""Errors a user can act on, each with its own CLI exit code (README: "Exit codes").

The codes stay clear of what a traced command usually returns: the sysexits.h values for
"unavailable", "I/O error" (a golden that cannot be read or written), "temporary failure"
(an incomplete run: try again), "no permission" and "configuration", and the shell's 124-127.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_RULE_FAILED = 1
EXIT_USAGE = 2
EXIT_BAD_LOG = 65  # EX_DATAERR: a log that cannot be read as strace output (empty, binary, unreadable)
EXIT_STRACE_MISSING = 69  # EX_UNAVAILABLE: no strace (or no python-ptrace for --backend ptrace)
EXIT_FILE = 74  # EX_IOERR: a file sysprobe was told to read or write (a golden trace) cannot be
EXIT_INCOMPLETE = 75  # EX_TEMPFAIL: the run was cut short (interrupted, tracer killed): no verdict
EXIT_PTRACE_DENIED = 77  # EX_NOPERM
EXIT_STRACE_TOO_OLD = 78  # EX_CONFIG: the tracer cannot do what was asked
EXIT_TIMEOUT = 124  # as GNU timeout: an incomplete run whose cause was --timeout
EXIT_TRACE_FAILED = 125  # strace failed for another reason
EXIT_NOT_EXECUTABLE = 126  # as the shell
EXIT_NOT_FOUND = 127  # as the shell


class SysprobeError(Exception):
    """Base of sysprobe's errors; ``exit_code`` is what the CLI exits with."""

    exit_code = EXIT_TRACE_FAILED


class UsageError(SysprobeError):
    """Bad arguments: a rule that does not parse, an option value out of range."""

    exit_code = EXIT_USAGE


class StraceMissing(SysprobeError):
    """No strace binary was found."""

    exit_code = EXIT_STRACE_MISSING


class StraceTooOld(SysprobeError):
    """The installed strace lacks an option sysprobe needs."""

    exit_code = EXIT_STRACE_TOO_OLD


class PtraceDenied(SysprobeError):
    """The kernel refused ptrace (container without CAP_SYS_PTRACE, seccomp, yama)."""

    exit_code = EXIT_PTRACE_DENIED


class BackendMissing(SysprobeError):
    """The chosen tracer is not installed (python-ptrace for --backend ptrace) or cannot run here."""

    exit_code = EXIT_STRACE_MISSING


class UnsupportedTracee(SysprobeError):
    """The ptrace backend met a program it would misdecode (32-bit or x32)."""

    exit_code = EXIT_STRACE_TOO_OLD


class CommandNotFound(SysprobeError):
    """The command to trace does not exist."""

    exit_code = EXIT_NOT_FOUND


class CommandNotExecutable(SysprobeError):
    """The command exists but cannot be executed."""

    exit_code = EXIT_NOT_EXECUTABLE


class TraceFailed(SysprobeError):
    """strace exited without tracing the command, for a reason not covered above."""

    exit_code = EXIT_TRACE_FAILED


class RunIncomplete(SysprobeError):
    """The run was cut short — interrupted by a signal, its tracer killed, the consumer
    gone — so its trace does not cover everything the command did: whatever a rule says
    about it is not a verdict on the whole run. The message says why (``RunOutcome.incomplete``)."""

    exit_code = EXIT_INCOMPLETE


class TimedOut(RunIncomplete):
    """The run was cut short by its timeout (``--timeout``): as GNU timeout, 124."""

    exit_code = EXIT_TIMEOUT


class FileError(SysprobeError):
    """A file sysprobe was told to read or write — a golden trace — cannot be: it is not a
    regular file (a directory, a FIFO, a device, a link to nothing), or the system refused
    (no permission, a read-only file system, no space). Nothing was written."""

    exit_code = EXIT_FILE


class BadLog(SysprobeError):
    """A strace log that cannot be read: missing rights, empty, compressed data that ends
    early, or not strace output at all (no line of it reads as strace's)."""

    exit_code = EXIT_BAD_LOG


class RuleSyntaxError(UsageError):
    """A rule or pattern string that does not parse."""


class CallFailed(SysprobeError):
    """``sysprobe.call`` could not run the callable in the traced interpreter (it could not
    be unpickled there), or the call gave nothing back: its process ended inside it, or
    what it returned or raised could not be pickled. ``traceback`` is the traced side's."""

    def __init__(self, message: str, traceback: str | None = None) -> None:
        super().__init__(message)
        self.traceback = traceback
