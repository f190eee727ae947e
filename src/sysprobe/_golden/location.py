"""Where a test's goldens live, and which goldens a test session left unused.

The conventions are syrupy's (``__snapshots__/<test file>/<Class>.<test>[<params>].<ext>``),
under the ``sysprobe_traces`` folder of the rootdir instead of next to the test file:

    traces/<test file's path from the rootdir, without .py>/<Class.>test[params][.name].trace

so two ``test_same`` in two classes, or two ``test_x.py`` in two packages, never share a
file. Characters a file name should not hold are %-escaped, never dropped, so that two
parametrize ids never meet in one name. A test run once per backend (a ``backend``
parameter) keeps one golden, which each backend's trace must match.

A golden is unused when no test compared with it and the session can vouch for it:
- it belongs to a selected test (its name, or its name then ``.``) that passed without
  using it: an ``assert_golden(name)`` renamed or removed;
- it belongs to no collected test, and its test module ran whole (no ``-k``, ``-m``,
  ``--deselect``, ``--lf`` or ``file.py::test`` narrowed it) with every test passing:
  a test renamed or removed.
A test that failed or was skipped may not have reached its ``assert_golden``: what it
owns is never reported, and a module with such a test reports no orphans.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

SUFFIX = ".trace"
_UNSAFE = re.compile(r"[^\w.\[\]=,+@-]|%")
_NAME_MAX = 240  # bytes: room for the suffix within the usual 255


def traces_dir(config: pytest.Config) -> Path:
    return config.rootpath / str(config.getini("sysprobe_traces"))


def escape(name: str) -> str:
    """A file name for ``name``: unsafe characters %-escaped (so distinct names stay
    distinct); a name too long for a file system keeps its start and a hash of the whole."""
    escaped = _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), name)
    if len(escaped.encode()) > _NAME_MAX:
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        escaped = escaped.encode()[: _NAME_MAX - 13].decode(errors="ignore") + "~" + digest
    return escaped


def module_folder(config: pytest.Config, path: str | Path) -> Path:
    """The folder of a test file's goldens: its path from the rootdir, without ``.py``."""
    file = Path(path)
    if not file.is_absolute():
        file = config.invocation_params.dir / file
    try:
        relative = file.resolve().relative_to(config.rootpath.resolve())
    except ValueError:
        relative = Path(*(escape(part) for part in file.resolve().parts[1:]))
    return traces_dir(config) / relative.with_suffix("")


def owner_name(node: pytest.Item) -> str:
    """``Class.Nested.test[params]`` — without the value of a ``backend`` parameter."""
    parts = node.nodeid.split("::")
    classes = [p for p in parts[1:-1] if p]
    name = node.name
    callspec = getattr(node, "callspec", None)  # only a parametrized pytest.Function has one
    if isinstance(node, pytest.Function) and callspec is not None and "backend" in callspec.params:
        ids = callspec.id.split("-")
        backend = str(callspec.params["backend"])
        if backend in ids:
            ids.remove(backend)
        name = f"{node.originalname}[{'-'.join(ids)}]" if ids else node.originalname
    return ".".join([*classes, name])


def golden_path(node: pytest.Item, name: str | None = None) -> Path:
    stem = escape(owner_name(node)) + (f".{escape(name)}" if name else "")
    return module_folder(node.config, node.path) / f"{stem}{SUFFIX}"


def owns(test: str, golden: Path) -> bool:
    """Is ``golden`` one of the files test ``test`` (its ``owner_name``) compares with?"""
    stem = escape(test)
    return golden.name == f"{stem}{SUFFIX}" or golden.name.startswith(f"{stem}.")


def unused_goldens(
    *,
    used: Iterable[str],
    selected: Mapping[str, tuple[str, str]],
    narrowed: Iterable[str],
    not_passed: Iterable[str],
) -> list[Path]:
    """Goldens no test used that the session can vouch for (the module's docstring).
    ``selected``: node id → (its golden folder, its test name) for every selected test;
    ``narrowed``: folders of modules whose selection was narrowed; ``not_passed``: node
    ids of tests that failed, errored or were skipped."""
    used_set, narrowed_set, failed = set(used), set(narrowed), set(not_passed)
    tests: dict[str, list[tuple[str, str]]] = {}
    for nodeid, (folder, name) in selected.items():
        tests.setdefault(folder, []).append((nodeid, name))
    unused: list[Path] = []
    for folder, members in tests.items():
        whole = folder not in narrowed_set and not any(nodeid in failed for nodeid, _ in members)
        for golden in sorted(Path(folder).glob(f"*{SUFFIX}")):
            if str(golden) in used_set:
                continue
            owners = [nodeid for nodeid, name in members if owns(name, golden)]
            if (owners and not failed.intersection(owners)) or (not owners and whole):
                unused.append(golden)
    return sorted(unused)
