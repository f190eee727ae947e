"""The host's own syscall numbers, read from the kernel's uapi headers (linux-libc-dev).

The syscall table (``syscalls.py``) was first written from these headers; the tests
check it against them, and ``python -m sysprobe._kernel.headers`` lists what a newer
header adds or changes, to bring the table up to date by hand.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Final

from .syscalls import ABIS, TABLE

INCLUDE: Final = Path("/usr/include")
_HEADER: Final = {"x86_64": "unistd_64.h", "i386": "unistd_32.h", "x32": "unistd_x32.h"}
_DEFINE: Final = re.compile(r"#define __NR_(\w+)\s+\(?(?:__X32_SYSCALL_BIT \+ )?(\d+)\)?\s*$")


def header_numbers(abi: str, include: Path = INCLUDE) -> dict[str, int] | None:
    """Name → number as the host's ``asm/unistd_*.h`` defines them (x32 without its
    bit); None when the header is not installed."""
    for folder in (include / "x86_64-linux-gnu" / "asm", include / "asm"):
        path = folder / _HEADER[abi]
        if path.exists():
            found = (_DEFINE.match(line) for line in path.read_text().splitlines())
            return {m.group(1): int(m.group(2)) for m in found if m}
    return None


def differences(include: Path = INCLUDE) -> list[str]:
    """What the host's headers say that the table does not (one line each)."""
    out: list[str] = []
    for abi in ABIS:
        numbers = header_numbers(abi, include)
        if numbers is None:
            out.append(f"{abi}: no header under {include}")
            continue
        for name, number in sorted(numbers.items(), key=lambda item: item[1]):
            row = TABLE.get(name)
            if row is None:
                out.append(f"{abi}: {name} = {number} is not in the table")
            elif row.number(abi) != number:
                out.append(f"{abi}: {name} = {number}, the table says {row.number(abi)}")
    return out


if __name__ == "__main__":
    lines = differences()
    print("\n".join(lines) or "the table has every number of the host's headers")
    sys.exit(1 if lines else 0)
