"""Figures of the parser on logs from the wild: lines, unparsed lines, calls recovered.

    python benchmarks/log_figures.py [PATH...]   (default: tests/data/wild, tests/data/corpus)

A "call" is a Syscall event; "whole" counts those with both the call and its result;
"no pid" counts calls the parser could not attribute to a process; "text in args"
counts write calls whose count argument is not a plain number (program output folded
into an argument: a call the parser got wrong).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from sysprobe._parsing.sources import lines_of, parse_paths
from sysprobe.events import Syscall

HERE = Path(__file__).parent
DEFAULT = [HERE.parent / "tests" / "data" / "wild", HERE.parent / "tests" / "data" / "corpus"]
SKIP = {"README.md", "LICENSE", "NOTICE", "apache-2.0.LICENSE", "make.sh"}


def logs(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.name not in SKIP)
        else:
            found.append(path)
    return found


def figures(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    counts["lines"] = sum(1 for _ in lines_of(path))
    for event in parse_paths([str(path)]):
        counts[event.type] += 1
        if isinstance(event, Syscall):
            counts["calls"] += 1
            counts["whole"] += event.complete
            counts["no pid"] += event.pid is None
            if event.name == "write" and event.args and not isinstance(event.args[-1], int):
                counts["text in args"] += 1
    return counts


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or DEFAULT
    total: Counter[str] = Counter()
    columns = ("lines", "unparsed", "calls", "whole", "text in args", "no pid")
    widths = (7, 8, 7, 7, 12, 6)
    print(f"{'log':48}", *(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for path in logs(paths):
        c = figures(path)
        total.update(c)
        name = str(path.relative_to(HERE.parent)) if path.is_relative_to(HERE.parent) else str(path)
        print(f"{name:48}", *(f"{c[k]:{w}}" for k, w in zip(columns, widths, strict=True)))
    print(f"{'total':48}", *(f"{total[k]:{w}}" for k, w in zip(columns, widths, strict=True)))


if __name__ == "__main__":
    main()
