"""Build hook: compile the parser's hot modules with mypyc.

The line parser and argument decoder are plain typed Python. Compiled, they read strace
lines several times faster (BENCHMARKS.md); interpreted, they behave identically. Set
SYSPROBE_PURE=1 to skip compilation; a failed compile (no C compiler) falls back to the
interpreted modules instead of failing the install.
"""

import os

from setuptools import setup

COMPILED = [
    # the parser: every line goes through them
    "_value", "events", "argtree", "_parsing/scan", "_parsing/argdecode", "_parsing/lineparse", "_parsing/attribution",
    # the model and the rules (the kernel tables are data: compiling them only slows the build)
    "_kernel/effects",
    "_model/query", "_model/records", "_model/tables", "_model/tree", "_model/reorder", "_model/races",
    "_model/descriptors", "_model/fdmodel", "_rules/patterns", "_rules/rules",
    # the pass: every event of a check goes through Analysis.feed (BENCHMARKS.md, sixth round)
    "_pipeline",
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
