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

from .mutate import MUTANTS

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


def test_compiled_modules_ask_isinstance_with_a_tuple() -> None:
    """mypyc compiles ``isinstance(x, (A, B))`` to type checks in C, but builds a
    ``types.UnionType`` and calls its ``__instancecheck__`` for ``isinstance(x, A | B)``,
    at every call: in the model's per-event dispatch that was a measurable share of a
    check of a log (BENCHMARKS.md, sixth round)."""
    unions = []
    for name in sorted(compiled_modules()):
        path = ROOT / "src" / "sysprobe" / f"{name}.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "isinstance"
                and len(node.args) == 2
                and isinstance(node.args[1], ast.BinOp)
                and isinstance(node.args[1].op, ast.BitOr)
            ):
                unions.append(f"{name}.py:{node.lineno}")
    assert unions == []


def test_mutmut_selects_and_mutates_what_exists() -> None:
    """`make mutate` stops at its first step when a selected test or a mutated path is
    gone (a renamed test once did that): every one of them must still exist."""
    mutmut = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    selection = mutmut["pytest_add_cli_args_test_selection"]
    paths = [item for i, item in enumerate(selection) if item != "-k" and selection[i - 1] != "-k"]
    assert paths
    for item in paths:
        file, _, test = item.partition("::")
        assert (ROOT / file).exists(), item
        if test:
            assert f"def {test.split('[')[0]}(" in (ROOT / file).read_text(), item
    mutated = {path for pattern in mutmut["only_mutate"] for path in ROOT.glob(pattern)}
    for pattern in mutmut["only_mutate"]:
        assert list(ROOT.glob(pattern)), pattern
    for name in MUTANTS:  # make mutate's mutant-name globs: each names a mutated module or package
        where = ROOT / "src" / name.split(".x")[0].removesuffix(".*").replace(".", "/")
        assert where.with_suffix(".py") in mutated or any(where in path.parents for path in mutated), name


def test_make_mutate_again_runs_no_test_the_tree_no_longer_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--again copies the tree over the last run's sandbox: a test renamed or removed since
    goes, from the copy and from mutmut's copy of it; mutmut's state and mutants stay."""
    from . import mutate

    monkeypatch.setattr(mutate, "SANDBOX", tmp_path)
    kept = ["tests/a.py", "src/x.py", "traces/t.trace"]
    mutmuts = ["mutants/mutmut-stats.json", "mutants/src/x.py", "mutants/src/x.py.meta", "mutants/tests/a.py"]
    stale = ["tests/old.py", "mutants/tests/old.py", "mutants/traces/gone.trace"]
    for name in kept + mutmuts + stale:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    mutate._remove_stale(set(kept))
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        kept + mutmuts
    )
