"""The strace backend: ``strace -f -o FIFO`` as the command's parent.

What only strace takes lives here (``StraceOptions``: which binary, extra strace arguments,
features they need); how its argv is built from the common ``RunOptions``; and how its
failures are told apart (``binary.diagnose``). Supervision is ``supervisor.Supervisor``'s.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from typing import Any, Final

from ...errors import SysprobeError
from ..base import RunOptions, Tracer, TracerInfo
from ..placement import forking_on
from ..selection import trace_expression
from ..supervisor import Supervisor
from .binary import Strace, diagnose, ensure_usable, forget_usable, locate, seccomp_works


class StraceOptions(RunOptions):
    """``RunOptions`` plus what only strace takes; every option by keyword."""

    strace: Final[str | None]  # the binary (else $SYSPROBE_STRACE, else the PATH's)
    strace_args: Final[Sequence[str]]  # passed through as they are ("-X", "raw")
    features: Final[Sequence[str]]  # strace features strace_args need (see binary.FEATURE_SINCE)

    __match_args__ = (*RunOptions.__match_args__, "strace", "strace_args", "features")

    def __init__(
        self,
        *,
        strace: str | None = None,
        strace_args: Sequence[str] = (),
        features: Sequence[str] = (),
        **options: Any,  # RunOptions's
    ) -> None:
        super().__init__(**options)
        self.strace = strace
        self.strace_args = strace_args
        self.features = features


class StraceTracer(Tracer):
    """strace, started as ``strace -f -o FIFO [options] -- CMD``."""

    backend = "strace"

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        own = options if isinstance(options, StraceOptions) else StraceOptions()
        self.path, self.extra_args, self.features = own.strace, list(own.strace_args), list(own.features)
        self._strace: Strace | None = None
        self._argv: list[str] = []

    @property
    def binary(self) -> Strace:
        if self._strace is None:
            self._strace = locate(self.path)
        return self._strace

    def prepare(self) -> None:
        strace = self.binary
        for feature in [*self.features, *(["-e inject="] if self.options.inject else [])]:
            strace.require(feature)
        self.strace_options()  # a selection the run cannot honour is a UsageError now
        ensure_usable(strace)  # a denial, said once and cleanly (a success may be remembered)

    def strace_options(self) -> list[str]:
        """The options sysprobe gives strace besides ``-f -o FIFO``."""
        opts = self.options
        out = ["-y"] if opts.decode_fds else []
        # execve, ptrace and the injected calls are traced whatever the selection (selection.py)
        expression = trace_expression(opts.syscalls, opts.inject)
        if expression is not None:
            out += ["-e", f"trace={expression}"]
        if expression not in (None, "all") and opts.seccomp and seccomp_works(self.binary):
            out.append("--seccomp-bpf")  # the kernel stops the tracee only for these calls
        for spec in opts.inject:
            out += ["-e", spec if spec.startswith("inject=") else f"inject={spec}"]
        if opts.string_limit:
            out += ["-s", str(opts.string_limit)]
        if opts.verbose:
            out.append("-v")
        return out + self.extra_args

    def start(
        self, argv: Sequence[str], path: str, output: str, cpus: set[int] | None
    ) -> subprocess.Popen[bytes]:
        # strace finds the program on the PATH itself, as ``path`` was found
        self._argv = [self.binary.path, "-f", "-o", output, *self.strace_options(), "--", *argv]
        with forking_on(cpus):  # strace starts in a moment: it and its tracees inherit them
            return subprocess.Popen(
                self._argv,
                close_fds=True,
                cwd=self.options.cwd,
                env=dict(self.options.env) if self.options.env is not None else None,
                stdout=self.options.stdout,
                stderr=self.options.stderr,
            )

    def describe(self) -> TracerInfo:
        version = self._strace.version_text if self._strace is not None else ""
        return TracerInfo(self.backend, "strace", version, tuple(self._argv))

    def diagnose(self, returncode: int, ran: bool) -> SysprobeError | None:
        """The command did not run under strace: re-run strace on ``true`` with stderr
        captured and classify what it says (its stderr is the command's during the run)."""
        if ran:
            return None
        forget_usable(self.binary)
        return diagnose(self.binary, self.strace_options())


class StraceRun(Supervisor):
    """A supervised run under strace, its argv at hand: ``Supervisor(argv, options,
    StraceTracer(options))`` for callers that want strace whatever $SYSPROBE_BACKEND says."""

    def __init__(
        self,
        argv: Sequence[str],
        options: RunOptions | None = None,
        *,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        options = options or StraceOptions()
        self.strace = StraceTracer(options)
        super().__init__(argv, options, self.strace, on_idle=on_idle)

    def strace_options(self) -> list[str]:
        """The options this run gives strace besides ``-f -o FIFO``."""
        return self.strace.strace_options()

    @property
    def _strace(self) -> Strace | None:
        """The strace binary, once located (settable: to build argv without running)."""
        return self.strace._strace

    @_strace.setter
    def _strace(self, binary: Strace | None) -> None:
        self.strace._strace = binary
