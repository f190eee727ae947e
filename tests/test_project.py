"""The project's configuration agrees with itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).parent.parent


def compiled_modules() -> set[str]:
    """setup.py's COMPILED: the modules mypyc compiles."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "COMPILED":
            return set(ast.literal_eval(node.value))
    raise AssertionError("setup.py has no COMPILED")


def test_coverage_leaves_out_exactly_the_compiled_modules() -> None:
    """Compiled modules run as C, invisible to coverage: measured, they would count as
    never run; a pure module left out would hide its untested lines."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    omitted = {
        pattern.removeprefix("*/sysprobe/").removesuffix(".py")
        for pattern in config["tool"]["coverage"]["run"]["omit"]
    }
    assert omitted == compiled_modules()
