"""Build hook: compile the parser's hot modules with mypyc.

The line parser and argument decoder are plain typed Python. Compiled, they read strace
lines several times faster (BENCHMARKS.md); interpreted, they behave identically. Set
SYSPROBE_PURE=1 to skip compilation; a failed compile (no C compiler) falls back to the
interpreted modules instead of failing the install.
"""

import os

from setuptools import setup

COMPILED = [
    "events", "argtree", "_argdecode", "_lineparse",  # the parser: every line goes through them
    "_query", "_flags", "_fdspec", "_model", "_patterns", "_rules", "_syscalls",  # the model and rules
]


def ext_modules() -> list:
    if os.environ.get("SYSPROBE_PURE"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        return []
    exts = mypycify(
        ["--ignore-missing-imports", *(f"src/sysprobe/{name}.py" for name in COMPILED)],
        opt_level="3",
    )
    for ext in exts:
        ext.optional = True
    return exts


setup(ext_modules=ext_modules())
