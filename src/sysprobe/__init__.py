"""sysprobe: run a program under strace -f and assert what it did to the kernel.

    import sysprobe
    t = sysprobe.trace(["python3", "-c", "import subprocess; subprocess.run(['true'])"])
    t.assert_no_fd_leaks()
    t.assert_called("close_range")
    t = sysprobe.call(shutil.copyfile, "a", "b")   # one Python call, traced

Names are imported on first use, so that the command line starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS = {
    "trace": "._trace",
    "call": "._call",
    "Caller": "._call",
    "CallTrace": "._call",
    "parse": "._trace",
    "Trace": "._trace",
    "RuleSet": "._rules.rules",
    "Report": "._report.report",
    "Leak": "._rules.rules",
    "Descriptor": "._model.records",
    "ExecRecord": "._model.records",
    "Origin": "._model.records",
    "Process": "._model.records",
    "SysprobeError": ".errors",
    "UsageError": ".errors",
    "RuleSyntaxError": ".errors",
    "StraceMissing": ".errors",
    "StraceTooOld": ".errors",
    "PtraceDenied": ".errors",
    "CommandNotFound": ".errors",
    "CommandNotExecutable": ".errors",
    "TraceFailed": ".errors",
    "CallFailed": ".errors",
}

__all__ = [
    "CallFailed",
    "CallTrace",
    "Caller",
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
    "call",
    "parse",
    "trace",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sysprobe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from ._call import Caller, CallTrace, call
    from ._model.records import Descriptor, ExecRecord, Origin, Process
    from ._report.report import Report
    from ._rules.rules import Leak, RuleSet
    from ._trace import Trace, parse, trace
    from .errors import (
        CallFailed,
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
