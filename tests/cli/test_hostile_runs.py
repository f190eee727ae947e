"""The run cases of issues 12 and 13 as a table, on both backends where they apply: each
names sysprobe's arguments, the exit code and the sentence it must give. None may pass
green, none may print a traceback, and nothing may be left behind: no process of the
run, no temporary directory, no file a refused run would have made.

The table has the shape of tests/rules/test_hostile.py (the verdicts' cases): argv,
exit_code, says. A case may run sysprobe under another program (``under``), or
signal it once the traced program says it is ready (``interrupt``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from sysprobe.errors import EXIT_INCOMPLETE, EXIT_PTRACE_DENIED, EXIT_TIMEOUT, EXIT_USAGE
from sysprobe.pytest_plugin import require_backend

from ..helpers import SYSPROBE, alive, program

BOTH = ("strace", "ptrace")
PYTHON = sys.executable
LATE = str(program("late.py"))
TRACER = {"strace": "strace", "ptrace": "python-ptrace"}


@dataclass(frozen=True)
class Case:
    """``argv`` follows ``sysprobe`` (trace or check); in it and in ``says`` (what stderr
    must hold), {tmp} is the test's folder and {tracer} the backend's tracer.
    ``backends``: () for a case that runs no tracer."""

    argv: tuple[str, ...]
    exit_code: int
    says: str
    backends: tuple[str, ...] = BOTH
    interrupt: signal.Signals | None = None  # sent to sysprobe once {tmp}/ready exists
    under: tuple[str, ...] = ()  # what runs sysprobe
    absent: str | None = None  # what must not exist afterwards: a refused run made nothing


def late(seconds: float) -> tuple[str, ...]:
    """late.py: ready at once, then a pipe leaked into a child after ``seconds``."""
    return (PYTHON, LATE, "{tmp}/ready", str(seconds))


DENIED = "sysprobe: ptrace is not permitted here (sysprobe itself is traced by pid "
INTERRUPTED = "interrupted by {}: the command was stopped before it finished"
KILLED = "{tracer} was killed by SIGKILL while the command ran: the trace ends there"
MKDIR = "import os\ntry:\n    os.mkdir('{tmp}/made')\nexcept PermissionError:\n    raise SystemExit(1)"
CASES: dict[str, Case] = {
    # 1: the answer rests on the run's own evidence, never on a cache
    "stale capability evidence": Case(
        ("check", "--no-fd-leaks", "--", "true"),
        EXIT_PTRACE_DENIED,
        DENIED,
        under=("strace", "-f", "-o", os.devnull),
    ),
    "stale capability evidence, --expect-exit 1": Case(
        ("check", "--expect-exit", "1", "--", "true"),
        EXIT_PTRACE_DENIED,
        DENIED,
        under=("strace", "-f", "-o", os.devnull),
    ),
    # 2: interrupted before the leak: no verdict (75), unless a failure stands already (1)
    "SIGTERM mid-check, the leak still to come": Case(
        ("check", "--no-fd-leaks", "--", *late(30)),
        EXIT_INCOMPLETE,
        INTERRUPTED.format("SIGTERM"),
        interrupt=signal.SIGTERM,
    ),
    "SIGINT mid-check, the leak still to come": Case(
        ("check", "--no-fd-leaks", "--", *late(30)),
        EXIT_INCOMPLETE,
        INTERRUPTED.format("SIGINT"),
        interrupt=signal.SIGINT,
    ),
    "SIGINT mid-check, a forbidden call already made": Case(
        ("check", "--no-fd-leaks", "--forbid", 'openat(*, "*late.py")', "--", *late(30)),
        1,
        "1 of 2 rules failed",
        interrupt=signal.SIGINT,
    ),
    "SIGTERM mid-trace: the command's status, said incomplete": Case(
        ("trace", "--no-summary", "--", *late(30)),
        128 + signal.SIGTERM,
        "sysprobe: incomplete run: " + INTERRUPTED.format("SIGTERM"),
        interrupt=signal.SIGTERM,
    ),
    # 3: the tracer killed under the command
    "tracer killed under check": Case(
        ("check", "--no-fd-leaks", "--", "sh", "-c", "kill -KILL $PPID; exec sleep 30"),
        EXIT_INCOMPLETE,
        KILLED,
    ),
    "tracer killed under trace": Case(
        ("trace", "--no-summary", "--", "sh", "-c", "kill -KILL $PPID; exec sleep 30"),
        EXIT_INCOMPLETE,
        "sysprobe: incomplete run: " + KILLED + ", and the command's exit status is unknown",
    ),
    "a command killed by a signal is a complete run": Case(
        ("check", "--no-fd-leaks", "--", "sh", "-c", "kill -SEGV $$"), 0, "exit 139"
    ),
    # the timeout: 124, unless a failure stands already
    "--timeout, the leak still to come": Case(
        ("check", "--no-fd-leaks", "--timeout", "1", "--", *late(30)), EXIT_TIMEOUT, "timed out after 1 s"
    ),
    "--timeout, a leak already made": Case(
        (
            "check",
            "--no-fd-leaks",
            "--timeout",
            "2.5",  # the leak, made at once, is seen before the timeout under any load
            "--",
            "sh",
            "-c",
            "exec 5</etc/hostname; /bin/true; sleep 30",
        ),
        1,
        "fd 5 (/etc/hostname) leaked into pid",
    ),
    "--golden --update of a timed-out run writes no golden": Case(
        (
            "trace",
            "--no-summary",
            "--golden",
            "{tmp}/g.trace",
            "--update",
            "--timeout",
            "1",
            "--",
            "sleep",
            "30",
        ),
        EXIT_TIMEOUT,
        "the trace of an incomplete run is not a golden",
        absent="{tmp}/g.trace",
    ),
    # 5: an injection outside check's filter is applied
    "--inject outside check's filter": Case(
        ("check", "--expect-exit", "1", "--inject", "mkdir:error=EPERM", "--", PYTHON, "-c", MKDIR),
        0,
        "PASS  --expect-exit 1: exit status 1",
        absent="{tmp}/made",
    ),
    # 10: the program's own tracer refused: the report says the run was degraded
    "the program's own ptrace refused": Case(
        ("check", "--no-fd-leaks", "--", "strace", "-o", os.devnull, "true"),
        0,
        "the command's own ptrace was refused (pid ",
    ),
    # 11, and issue 13's number options: one line, exit 2, nothing started
    "--timeout 0": Case(
        ("check", "--no-fd-leaks", "--timeout", "0", "--", "touch", "{tmp}/ran"),
        EXIT_USAGE,
        "sysprobe: timeout 0.0: expected seconds greater than 0 (no timeout: leave it out)\n",
        (),
        absent="{tmp}/ran",
    ),
    "--timeout -1": Case(
        ("trace", "--timeout", "-1", "--", "touch", "{tmp}/ran"),
        EXIT_USAGE,
        "sysprobe: timeout -1.0: expected seconds greater than 0 (no timeout: leave it out)\n",
        (),
        absent="{tmp}/ran",
    ),
    "--timeout nan": Case(
        ("check", "--no-fd-leaks", "--timeout", "nan", "--", "touch", "{tmp}/ran"),
        EXIT_USAGE,
        "sysprobe: timeout nan: not a number of seconds\n",
        (),
        absent="{tmp}/ran",
    ),
    "--timeout abc": Case(
        ("trace", "--timeout", "abc", "--", "touch", "{tmp}/ran"),
        EXIT_USAGE,
        "sysprobe: Invalid value for '--timeout': 'abc' is not a valid float. "
        "(sysprobe trace -h lists the options)\n",
        (),
        absent="{tmp}/ran",
    ),
    "--expect-exit 256": Case(
        ("check", "--expect-exit", "256", "--", "touch", "{tmp}/ran"),
        EXIT_USAGE,
        "sysprobe: Invalid value for '--expect-exit': 256 is not in the range 0<=x<=255.",
        (),
        absent="{tmp}/ran",
    ),
    "--strace ''": Case(
        ("trace", "--strace", "", "--", "touch", "{tmp}/ran"),
        EXIT_USAGE,
        "sysprobe: --strace '': expected a value (leave the option out for the default)\n",
        (),
        absent="{tmp}/ran",
    ),
    # issue 13: output paths, checked before anything runs
    "--json-report to a missing directory": Case(
        ("check", "--no-fd-leaks", "--json-report", "{tmp}/missing/r.json", "--", "touch", "{tmp}/ran"),
        EXIT_USAGE,
        "sysprobe: --json-report {tmp}/missing/r.json: no such directory: {tmp}/missing\n",
        (),
        absent="{tmp}/ran",
    ),
    "--json-report to a directory": Case(
        ("check", "--no-fd-leaks", "--json-report", "{tmp}", "--", "touch", "{tmp}/ran"),
        EXIT_USAGE,
        "sysprobe: --json-report {tmp}: it is a directory\n",
        (),
        absent="{tmp}/ran",
    ),
    "--json-report to an unwritable place": Case(
        ("check", "--no-fd-leaks", "--json-report", "/proc/self/r.json", "--", "touch", "{tmp}/ran"),
        EXIT_USAGE,
        "sysprobe: --json-report /proc/self/r.json: cannot write in /proc/self: permission denied\n",
        (),
        absent="{tmp}/ran",
    ),
    "-o to a missing directory": Case(
        ("check", "--no-fd-leaks", "-o", "{tmp}/missing/raw.log", "--", "touch", "{tmp}/ran"),
        EXIT_USAGE,
        "sysprobe: cannot write the trace to {tmp}/missing/raw.log: No such file or directory\n",
        absent="{tmp}/ran",
    ),
    "-o and --json-report naming one file": Case(
        (
            "check",
            "--no-fd-leaks",
            "-o",
            "{tmp}/out",
            "--json-report",
            "{tmp}/out",
            "--",
            "touch",
            "{tmp}/ran",
        ),
        EXIT_USAGE,
        "sysprobe: -o and --json-report name the same file: {tmp}/out\n",
        (),
        absent="{tmp}/out",
    ),
    "--events /dev/stdout beside --json-report -": Case(
        (
            "check",
            "--no-fd-leaks",
            "--events",
            "/dev/stdout",
            "--json-report",
            "-",
            "--",
            "touch",
            "{tmp}/ran",
        ),
        EXIT_USAGE,
        "sysprobe: --json-report and --events name the same file: stdout\n",
        (),
        absent="{tmp}/ran",
    ),
    "rules after the command, without --": Case(
        ("check", "--no-fd-leaks", "touch", "{tmp}/ran", "--forbid", "sendfile"),
        EXIT_USAGE,
        "sysprobe: --forbid came after the command, so touch would get it, not sysprobe; write\n"
        "  sysprobe check --no-fd-leaks --forbid sendfile -- touch {tmp}/ran\n",
        (),
        absent="{tmp}/ran",
    ),
}


def _params() -> list[object]:
    return [
        pytest.param(name, backend, id=f"{name} [{backend}]" if backend else name)
        for name, case in CASES.items()
        for backend in case.backends or (None,)
    ]


def wait_for(path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


@pytest.mark.parametrize(("name", "backend"), _params())
def test_hostile_run(
    name: str,
    backend: str | None,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = CASES[name]
    if backend is not None:
        require_backend(request.config, backend)
        monkeypatch.setenv("SYSPROBE_BACKEND", backend)
    if "strace" in case.under or "strace" in case.argv:
        require_backend(request.config, "strace")  # the case runs strace itself

    def fill(text: str) -> str:
        return text.format(tmp=tmp_path, tracer=TRACER.get(backend or "", ""))

    work = tmp_path / "tmpdir"  # the run's temporary files go here: none may stay
    work.mkdir()
    env = {**os.environ, "TMPDIR": str(work)}
    argv = [*case.under, *SYSPROBE, *(fill(a) for a in case.argv)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    pid = None
    if case.interrupt is not None:
        ready = tmp_path / "ready"
        wait_for(ready)
        pid = int(ready.read_text())
        time.sleep(0.2)  # the tracer has seen the program's write by now
        proc.send_signal(case.interrupt)
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, fill(case.says) in err) == (case.exit_code, True), err
    assert "Traceback" not in err
    if case.absent is not None:
        assert not Path(fill(case.absent)).exists()
    assert list(work.iterdir()) == []
    if pid is not None:
        assert not alive(pid)
