"""sysprobe: run a program under strace -f and assert what it did to the kernel.

import sysprobe
t = sysprobe.trace(["python3", "-c", "import subprocess; subprocess.run(['true'])"])
t.assert_no_fd_leaks()
t.assert_called("close_range")
"""

from __future__ import annotations

from ._analysis import Report
from ._model import Descriptor, ExecRecord, Origin, Process
from ._rules import Leak
from ._trace import RuleSet, Trace, parse, trace
from ._version import __version__
from .errors import (
    CommandNotExecutable,
    CommandNotFound,
    PtraceDenied,
    RuleSyntaxError,
    StraceMissing,
    StraceTooOld,
    SysprobeError,
    TraceFailed,
    UsageError,
)

__all__ = [
    "CommandNotExecutable",
    "CommandNotFound",
    "Descriptor",
    "ExecRecord",
    "Leak",
    "Origin",
    "Process",
    "PtraceDenied",
    "Report",
    "RuleSet",
    "RuleSyntaxError",
    "StraceMissing",
    "StraceTooOld",
    "SysprobeError",
    "Trace",
    "TraceFailed",
    "UsageError",
    "__version__",
    "parse",
    "trace",
]
