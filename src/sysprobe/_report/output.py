"""Styled lines to a stream: colour through rich on a terminal, plain text elsewhere.

Reports are lists of (style, text) lines. On a terminal rich colours them; into a pipe or
a file (CI logs) they are written as they are, without importing rich at all — its import
would be a sizeable part of a short check's run time. Whatever a line holds — a file name
with a newline, a program named with terminal escapes — it is written as one line, its
non-printable characters escaped (``printable``): no name can forge a line of a report.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from .._escape import printable

StyledLine = tuple[str, str]  # (rich style, text)


def emit(lines: Iterable[StyledLine], stream: TextIO | None = None) -> None:
    out = stream if stream is not None else sys.stderr
    if out.isatty():
        from rich.console import Console
        from rich.text import Text

        console = Console(file=out, highlight=False, soft_wrap=True)
        for style, text in lines:
            console.print(Text(printable(text), style=style))
    else:
        out.write("".join(printable(text) + "\n" for _, text in lines))
        out.flush()


def columns(rows: list[tuple[str, ...]], indent: str = "") -> list[str]:
    """Rows as aligned text columns (the first row is the heading)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"
