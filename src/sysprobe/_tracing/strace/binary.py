"""The strace binary: where it is, what it can do, and why it failed.

Whether strace can trace here is decided by each run's own evidence (the command's execve
in its trace, see ``supervisor``). A probe before the run only keeps strace's own
complaints off the terminal, and only its successes are remembered (``ensure_usable``), so
a run under another tracer, in a container or after a sysctl change can never poison a
later one. The binary's version is remembered on disk, keyed by the file itself.

Failures are diagnosed after the fact: when a run's trace does not show the command's
exec, a short probe (``strace -f -o /dev/null [the run's options] -- true`` with its stderr
captured) tells a missing option from a denied ptrace, and the kernel's own settings say
why ptrace was denied.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import subprocess
import zlib
from typing import Final

from ..._frozen import Frozen
from ...errors import StraceMissing, StraceTooOld, SysprobeError, TraceFailed, UsageError
from ..base import proc_status, ptrace_denied, which

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


class Strace(Frozen):
    path: Final[str]
    version: Final[tuple[int, int]]

    __match_args__ = ("path", "version")

    def __init__(self, path: str, version: tuple[int, int]) -> None:
        self.path = path
        self.version = version

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
    path = which(wanted)
    if path is None:
        where = wanted if os.sep in wanted else "on PATH"
        raise StraceMissing(
            f"strace not found ({where}); install it, e.g. `apt-get install strace`, "
            "or name it with --strace PATH"
        )
    real = os.path.realpath(path)
    info = os.stat(real)
    return _probe_version(real, (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))


@functools.lru_cache(maxsize=8)
def _probe_version(path: str, identity: tuple[int, ...]) -> Strace:
    """``strace -V``, remembered on disk per binary file (a fork saved on every run): a
    replaced or rebuilt binary has another inode, size or change time, so another entry."""
    cache = os.path.join(_cache_dir(), f"version-{_cache_key(f'{path}:{identity}')}")
    try:
        major, minor = (int(x) for x in _read(cache).split("."))
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
    _remember(cache, found.version_text)
    return found


def diagnose(strace: Strace, options: list[str]) -> SysprobeError | None:
    """Why did strace not trace? Re-run it on ``true`` with the run's options and stderr
    captured, and classify what it says; None when the re-run traces (the cause is gone)."""
    true = which("true") or "/bin/true"
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
    if probe.returncode == 0:
        return None
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
    """Raise the reason strace cannot trace in this environment, if it cannot — so that
    strace's own complaints never reach the user's terminal.

    A probe run (``strace -f [--seccomp-bpf -e trace=execve] -o /dev/null true``, stderr
    captured) answers, and says whether strace's seccomp filter works here. Only a success
    is remembered (in memory, and on disk so a normal run pays nothing after the first),
    keyed by everything that decides it: the strace binary, the boot, the user, this
    process's tracer, seccomp mode, capabilities and LSM label, the yama setting. A denial
    is never stored, so a run under a tracer cannot turn a working machine into a denied
    one; and a stored success cannot turn a denied machine into a working one either: a
    run is judged by its own evidence (the command's execve in its trace), and a run that
    shows none calls ``forget_usable``.
    """
    _capability(strace)


def seccomp_works(strace: Strace) -> bool:
    """Can strace filter with seccomp-bpf here (strace 5.3+, a kernel that hands filtered
    calls to a tracer, and the probe saw no complaint)? If strace still finds the filter
    unusable, it says so and traces every call: slower, never wrong."""
    if not (strace.supports("--seccomp-bpf") and _kernel_traces_seccomp()):
        return False
    try:
        return _capability(strace) == _SECCOMP
    except SysprobeError:
        return False  # the run will show why


_SECCOMP, _PLAIN = "seccomp", "plain"  # what a success remembers


def _capability(strace: Strace) -> str:
    key = _environment_key(strace)
    found = _WORKS.get(key)
    if found is None:
        marker = os.path.join(_cache_dir(), f"works-{key}")
        found = _read(marker)
        if found not in (_SECCOMP, _PLAIN):
            found = _probe(strace)
            _remember(marker, found)
        _WORKS[key] = found
    return found


def _probe(strace: Strace) -> str:
    """Trace ``true`` (filtered with seccomp-bpf where strace has it): raise why it cannot,
    or say whether the filter worked (strace warns and goes on without it where it cannot)."""
    seccomp = strace.supports("--seccomp-bpf") and _kernel_traces_seccomp()
    options = ["--seccomp-bpf", "-e", "trace=execve"] if seccomp else []
    true = which("true") or "/bin/true"
    try:
        probe = subprocess.run(
            [strace.path, "-f", "-o", os.devnull, *options, "--", true],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TraceFailed(f"strace did not run: {exc}") from None
    if probe.returncode != 0:
        raise classify(probe.stderr, probe.returncode)
    return _SECCOMP if seccomp and "seccomp" not in probe.stderr.lower() else _PLAIN


def forget_usable(strace: Strace) -> None:
    """A run under this strace showed no evidence of tracing: probe again next time."""
    key = _environment_key(strace)
    _WORKS.pop(key, None)
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(_cache_dir(), f"works-{key}"))


_WORKS: dict[str, str] = {}


@functools.lru_cache(maxsize=1)
def _kernel_traces_seccomp() -> bool:
    return "trace" in _read("/proc/sys/kernel/seccomp/actions_avail").split()


def _environment_key(strace: Strace) -> str:
    status = proc_status()
    tracer = status.get("TracerPid", "0")
    info = os.stat(strace.path)
    parts = [
        strace.path,
        str((info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)),
        _read("/proc/sys/kernel/random/boot_id"),
        str(os.geteuid()),
        tracer,
        _started(tracer) if tracer != "0" else "",  # the tracer's identity: pids are reused
        status.get("Seccomp", ""),
        status.get("Seccomp_filters", ""),
        status.get("NoNewPrivs", ""),
        status.get("CapEff", ""),
        _read("/proc/self/attr/current"),  # the AppArmor or SELinux confinement
        _read("/proc/sys/kernel/yama/ptrace_scope"),
    ]
    return _cache_key("\0".join(parts))


def _cache_key(text: str) -> str:
    """A file name for ``text``. Not sha256: hashlib loads OpenSSL, 3 ms of every check's
    start-up. Two checksums make 64 bits; two keys alike would only share a probe's
    result, and each run is judged by its own evidence whatever the cache says."""
    data = text.encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def _started(pid: str) -> str:
    """When ``pid`` started (clock ticks since boot), or ""."""
    fields = _read(f"/proc/{pid}/stat").rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sysprobe")


def _remember(path: str, text: str) -> None:
    """Write a cache entry; without a writable cache, the probe runs again next time."""
    from ..._files import write_atomically  # here: only a probe, not a run, writes

    with contextlib.suppress(OSError):
        write_atomically(path, text)


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return ""
