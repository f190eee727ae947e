"""The strace binary: where it is, what it can do, and why it failed.

Failures are diagnosed after the fact: when a run produced no trace, a short probe
(``strace -f -o /dev/null -- true`` with its stderr captured) tells a missing option from
a denied ptrace, and the kernel's own settings say why ptrace was denied.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ...errors import PtraceDenied, StraceMissing, StraceTooOld, SysprobeError, TraceFailed, UsageError
from ..base import proc_status, ptrace_denied

# The first strace release with each option sysprobe may pass (strace's NEWS).
FEATURE_SINCE: dict[str, tuple[int, int]] = {
    "--seccomp-bpf": (5, 3),
    "--syscall-times": (5, 6),
    "--absolute-timestamps": (5, 6),
    "--decode-pids=comm": (5, 15),
    "--kill-on-exit": (6, 6),
    "-e inject=": (4, 16),
    "-X": (5, 7),
}

_VERSION = re.compile(r"version (\d+)\.(\d+)")


@dataclass(frozen=True)
class Strace:
    path: str
    version: tuple[int, int]

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    def supports(self, feature: str) -> bool:
        return self.version >= FEATURE_SINCE.get(feature, (0, 0))

    def require(self, feature: str) -> None:
        if not self.supports(feature):
            need = ".".join(map(str, FEATURE_SINCE[feature]))
            raise StraceTooOld(
                f"strace {self.version_text} at {self.path} is too old for {feature} (needs {need} or newer)"
            )


def locate(explicit: str | None = None) -> Strace:
    """The strace to use: ``explicit``, then $SYSPROBE_STRACE, then the PATH."""
    wanted = explicit or os.environ.get("SYSPROBE_STRACE") or "strace"
    path = shutil.which(wanted)
    if path is None:
        where = wanted if os.sep in wanted else "on PATH"
        raise StraceMissing(
            f"strace not found ({where}); install it, e.g. `apt-get install strace`, "
            "or name it with --strace PATH"
        )
    return _probe_version(os.path.realpath(path), os.stat(path).st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _probe_version(path: str, mtime: int) -> Strace:
    """``strace -V``, remembered on disk per binary (a fork saved on every run)."""
    digest = hashlib.sha256(f"{path}:{mtime}".encode()).hexdigest()[:32]
    cache = _cache_dir() / f"version-{digest}"
    try:
        major, minor = (int(x) for x in cache.read_text().split("."))
        return Strace(path, (major, minor))
    except (OSError, ValueError):
        pass
    try:
        out = subprocess.run([path, "-V"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StraceMissing(f"cannot run {path}: {exc}") from exc
    m = _VERSION.search(out.stdout)
    if m is None:
        raise StraceMissing(f"{path} does not look like strace: `{path} -V` printed {out.stdout[:80]!r}")
    found = Strace(path, (int(m.group(1)), int(m.group(2))))
    _write_text(cache, found.version_text)
    return found


def diagnose(strace: Strace, options: list[str]) -> SysprobeError:
    """Why did strace not trace? Re-run it on ``true`` with stderr captured and classify."""
    true = shutil.which("true") or "/bin/true"
    try:
        probe = subprocess.run(
            [strace.path, "-f", "-o", os.devnull, *options, "--", true],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return TraceFailed(f"strace did not run: {exc}")
    return classify(probe.stderr, probe.returncode)


_STRACE_SAYS = re.compile(r"^(?:\S*/)?strace: (.*)$", re.M)


def classify(stderr: str, returncode: int) -> SysprobeError:
    """Turn strace's own error text into one of sysprobe's errors."""
    said = [m.group(1).strip() for m in _STRACE_SAYS.finditer(stderr)]
    message = said[0] if said else stderr.strip().splitlines()[0] if stderr.strip() else ""
    lowered = stderr.lower()
    if "unrecognized option" in lowered or "invalid option" in lowered or "unknown option" in lowered:
        return StraceTooOld(f"strace rejected an option: {message}")
    if "ptrace" in lowered and ("not permitted" in lowered or "permission denied" in lowered):
        return ptrace_denied(f"strace says: {message}")
    if message.startswith(("invalid system call", "invalid ", "bad ")):
        return UsageError(f"strace rejected the syscall set or an expression: {message}")
    if returncode == 0 and not stderr.strip():
        return TraceFailed("strace exited without writing a trace")
    return TraceFailed(message or f"strace exited with status {returncode}")


def check_usable(path: str | None = None) -> str | None:
    """None when strace can trace here, else the reason."""
    try:
        ensure_usable(locate(path or None))
    except SysprobeError as exc:
        return str(exc)
    return None


def ensure_usable(strace: Strace) -> None:
    """Raise the reason strace cannot trace in this environment, if it cannot.

    A probe run (``strace -f -o /dev/null true``, stderr captured) answers; its answer
    is kept, in memory and on disk, for as long as nothing that decides it changes: the
    strace binary, the boot, the user, this process's seccomp mode, capabilities and
    the yama setting. So strace's own complaints never reach the user's terminal, and
    a normal run pays nothing after the first.
    """
    error = _capabilities(strace).error
    if error.startswith("ptrace"):
        raise PtraceDenied(error)
    if error:
        raise TraceFailed(error)


@dataclass(frozen=True)
class Capabilities:
    """What the probe found: why tracing fails ("" if it works), and whether seccomp-bpf does."""

    error: str
    seccomp: bool


def seccomp_works(strace: Strace) -> bool:
    """Can strace filter with seccomp-bpf here (strace 5.3+, a kernel with seccomp filters)?"""
    return _capabilities(strace).seccomp


def _capabilities(strace: Strace) -> Capabilities:
    key = _environment_key(strace)
    found = _USABLE.get(key) or _read_cached(key)
    if found is None:
        found = _probe(strace)
        _write_cached(key, found)
    _USABLE[key] = found
    return found


_USABLE: dict[str, Capabilities] = {}


def _probe(strace: Strace) -> Capabilities:
    """Trace ``true``: is tracing possible here, and is seccomp-bpf filtering?"""
    true = shutil.which("true") or "/bin/true"
    try:
        probe = subprocess.run(
            [strace.path, "-f", "-o", os.devnull, "--", true],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if probe.returncode != 0:
            return Capabilities(str(classify(probe.stderr, probe.returncode)), False)
        if not strace.supports("--seccomp-bpf"):
            return Capabilities("", False)
        filtered = subprocess.run(
            [strace.path, "-f", "--seccomp-bpf", "-e", "trace=execve", "-o", os.devnull, "--", true],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Capabilities(f"strace did not run: {exc}", False)
    # strace says why when it cannot install the filter, and carries on without it
    return Capabilities("", filtered.returncode == 0 and "seccomp" not in filtered.stderr.lower())


def _environment_key(strace: Strace) -> str:
    status = proc_status()
    parts = [
        strace.path,
        str(os.stat(strace.path).st_mtime_ns),
        _read("/proc/sys/kernel/random/boot_id"),
        str(os.geteuid()),
        status.get("Seccomp", ""),
        status.get("NoNewPrivs", ""),
        status.get("CapEff", ""),
        _read("/proc/sys/kernel/yama/ptrace_scope"),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sysprobe"


def _read_cached(key: str) -> Capabilities | None:
    try:
        data = json.loads((_cache_dir() / f"usable-{key}.json").read_text())
        return Capabilities(str(data["error"]), bool(data["seccomp"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cached(key: str, found: Capabilities) -> None:
    _write_text(
        _cache_dir() / f"usable-{key}.json", json.dumps({"error": found.error, "seccomp": found.seccomp})
    )


def _write_text(path: Path, text: str) -> None:
    """Write a cache file atomically; without a writable cache, the probe simply runs again."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError:
        pass


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return ""
