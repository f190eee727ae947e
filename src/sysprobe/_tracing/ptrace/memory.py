"""A stopped tracee's memory and descriptors, read through /proc (what decoders read)."""

from __future__ import annotations

import os


class TraceeMemory:
    """One task's memory and descriptors, read through /proc while it is stopped."""

    __slots__ = ("_fd", "pid")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._fd: int | None = None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _handle(self) -> int | None:
        if self._fd is None:
            try:
                self._fd = os.open(f"/proc/{self.pid}/mem", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
        return self._fd

    def read(self, addr: int, size: int) -> bytes | None:
        fd = self._handle()
        if fd is None or addr <= 0 or addr >= 1 << 63 or size < 0:
            return None
        try:
            return os.pread(fd, size, addr)
        except OSError:
            return None

    def cstring(self, addr: int, limit: int) -> tuple[bytes, bool] | None:
        out = b""
        while len(out) <= limit:
            # never read across a page: the next one may be unmapped
            chunk = 4096 - ((addr + len(out)) & 4095)
            data = self.read(addr + len(out), chunk)
            if not data:
                return (out, False) if out else None
            nul = data.find(b"\0")
            if nul >= 0:
                return out + data[:nul], False
            out += data
        return out[:limit], True

    def fd_info(self, fd: int) -> str | None:
        try:
            return os.readlink(f"/proc/{self.pid}/fd/{fd}")
        except OSError:
            return None

    def cwd(self) -> str | None:
        try:
            return os.readlink(f"/proc/{self.pid}/cwd")
        except OSError:
            return None
