"""Where a test's goldens live, and which goldens a test session left unused.

``traces/<test module>/<test name>[.<name>].trace`` under the rootdir (the
``sysprobe_traces`` ini value). The pytest plugin tracks which goldens the session
compared with, which test modules it collected, deselected or did not finish; a golden is
unused when its module ran in full and no test compared with it.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

_UNSAFE = re.compile(r"[^\w.\[\]=,+@-]")


def traces_dir(config: pytest.Config) -> Path:
    return config.rootpath / str(config.getini("sysprobe_traces"))


def module_of(path: str | Path) -> str:
    """The folder of a test module's goldens: its name without ``.py``."""
    return Path(str(path)).stem


def golden_path(node: pytest.Item, name: str | None = None) -> Path:
    test = _UNSAFE.sub("_", shared_name(node)) + (f".{_UNSAFE.sub('_', name)}" if name else "")
    return traces_dir(node.config) / module_of(node.path) / f"{test}.trace"


def shared_name(node: pytest.Item) -> str:
    """The test's name without the value of a ``backend`` parameter: a test run once per
    backend keeps one golden, which each backend's trace must match."""
    callspec = getattr(node, "callspec", None)
    if callspec is None or "backend" not in callspec.params:
        return node.name
    parts = callspec.id.split("-")
    with contextlib.suppress(ValueError):
        parts.remove(str(callspec.params["backend"]))
    base = getattr(node, "originalname", node.name)
    return f"{base}[{'-'.join(parts)}]" if parts else base


def unused_goldens(
    config: pytest.Config,
    *,
    used: set[str],
    collected: set[str],
    deselected: set[str],
    incomplete: set[str],
) -> list[Path]:
    """Goldens in folders of test modules that ran in full, that no test compared with."""
    complete = collected - deselected - incomplete
    found = traces_dir(config).glob("*/*.trace")
    return sorted(p for p in found if p.parent.name in complete and str(p) not in used)
