"""sysprobe: run a program under strace -f and assert what it did to the kernel."""

from __future__ import annotations

__version__ = "0.1.0"
