"""What several test stages share: sysprobe's command line, the programs and scenarios they
run, and how to compare two runs' verdicts. Test modules import from here, never from each
other."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sysprobe._model.fdmodel import FdModel
from sysprobe.argtree import Raw, Str
from sysprobe.events import Syscall

TESTS = Path(__file__).parent
PROGRAMS = TESTS / "programs"
CORPUS = TESTS / "data" / "corpus"

SYSPROBE = [sys.executable, "-m", "sysprobe"]


def sysprobe(
    *args: str,
    stdin: str | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    close_fds: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run sysprobe's command line as a user would; never raises on a non-zero exit."""
    return subprocess.run(
        [*SYSPROBE, *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
        env=env,
        close_fds=close_fds,
        check=False,
    )


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return sysprobe("check", *args)


def program(name: str, into: Path | None = None) -> Path:
    """tests/programs/NAME (a Python or shell program), or a copy of it in ``into``: a
    golden names the copy $TMP/NAME, whatever the checkout's path."""
    path = PROGRAMS / name
    if into is None:
        return path
    copy = into / name
    shutil.copy2(path, copy)
    return copy


def bin_with(folder: Path, *names: str) -> str:
    """A PATH holding only ``names`` (links to the real ones): a machine without the rest,
    strace among them, for the tests of what sysprobe does where a tool is missing."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        found = shutil.which(name)
        assert found is not None, f"{name} is not on this machine's PATH"
        (folder / name).symlink_to(found)
    return str(folder)


def default_signals() -> None:
    """A child's preexec_fn: SIGINT, SIGQUIT and SIGHUP as a user's shell leaves them. A
    suite started in the background (`make flake-check &`, nohup) inherits them ignored,
    and a shell or a signal test then behaves unlike the one it stands for."""
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def lines_of(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        yield from fh


def raw_nodes(node: object) -> list[Raw]:
    """Every Raw (undecodable) node in an argument tree."""
    if isinstance(node, Raw):
        return [node]
    children: tuple[object, ...] = ()
    if isinstance(node, tuple):
        children = node
    elif hasattr(node, "items"):
        children = node.items
    elif hasattr(node, "args"):
        children = node.args
    elif hasattr(node, "value") and not isinstance(node, Str):
        children = (node.value,)
    return [r for child in children for r in raw_nodes(child)]


def without_run_details(text: str) -> str:
    """A report without what differs between any two runs: pids, line numbers, inodes,
    addresses."""
    text = re.sub(r"\b(pid|line|lines|at line|at) \d+([-+]\d+)*", r"\1 N", text)
    text = re.sub(r"\[\d+\]", "[N]", text)
    text = re.sub(r"/proc/\d+/", "/proc/N/", text)
    return re.sub(r"0x[0-9a-f]{6,}", "0xADDR", text)


# ---- the descriptor scenarios of fdops.c: the kernel says what crossed each exec ----

FD_SCENARIOS = [
    "pipe",
    "pipe2",
    "fcntl",
    "fcntl_clear",
    "getfd",
    "dup",
    "dup2",
    "dup2_same",
    "dup2_over",
    "dup3",
    "dupfd",
    "fioclex",
    "close",
    "close_range",
    "close_range_cloexec",
    "close_range_part",
    "sockets",
    "anon",
    "vfork",
    "fork_then_close",
    "thread",
    "clone_files",
    "unshare",
]


# ---- the rule scenarios: one `sysprobe check` line each, with the verdict it must reach ----


@dataclass(frozen=True)
class RuleScenario:
    program: tuple[str, ...]  # a C program and its defines, or ("python", SCRIPT)
    rules: list[str]
    # the summary of every rule, by its label: a pinned verdict, not only equal runs
    verdict: dict[str, tuple[bool, str]] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 0 if all(passed for passed, _ in self.verdict.values()) else 1


RULE_SCENARIOS: dict[str, RuleScenario] = {
    "pipe-leak": RuleScenario(
        ("forkexec_pipe",),
        ["--no-fd-leaks", "--expect-count", "=2 execve = 0", "--expect-count", "==1 pipe2"],
        {
            "--no-fd-leaks": (False, "2 descriptors leaked"),
            "--expect-count =2 execve = 0": (True, "2 matching calls (wanted = 2)"),
            "--expect-count ==1 pipe2": (True, "1 matching call (wanted = 1)"),
        },
    ),
    "pipe2-fix": RuleScenario(
        ("forkexec_pipe", "FIX_PIPE2"),
        [
            "--no-fd-leaks",
            "--expect",
            "pipe2(*, O_CLOEXEC)",
            "--expect-count",
            "=3 execve = 0",
            "--expect-count",
            "=1 execve = 0",
        ],
        {
            "--no-fd-leaks": (True, "no leaks across 2 execs"),
            "--expect pipe2(*, O_CLOEXEC)": (True, "1 matching call"),
            "--expect-count =3 execve = 0": (False, "2 matching calls (wanted = 3)"),
            "--expect-count =1 execve = 0": (False, "2 matching calls (wanted = 1)"),
        },
    ),
    "fcntl-fix": RuleScenario(
        ("forkexec_pipe", "FIX_FCNTL"),
        ["--no-fd-leaks", "--order", "pipe2 -> fcntl(*, F_SETFD, FD_CLOEXEC) = 0"],
        {
            "--no-fd-leaks": (True, "no leaks across 2 execs"),
            "--order pipe2 -> fcntl(*, F_SETFD, FD_CLOEXEC) = 0": (True, "in order"),
        },
    ),
    "spawn-fix": RuleScenario(
        ("forkexec_pipe", "FIX_SPAWN"),
        ["--no-fd-leaks", "--expect", "close_range(3, *, 0)", "--forbid", "close_range(3, *, 0)"],
        {
            "--no-fd-leaks": (True, "no leaks across 2 execs"),
            "--expect close_range(3, *, 0)": (True, "1 matching call"),
            "--forbid close_range(3, *, 0)": (False, "1 matching call"),
        },
    ),
    "epoll-plain": RuleScenario(
        ("epoll_cloexec", "PLAIN"),
        ["--no-fd-leaks", "--cloexec", "epoll_create", "--forbid", "epoll_create1"],
        {
            "--no-fd-leaks": (False, "1 descriptor leaked"),
            "--cloexec epoll_create": (False, "1 violation"),
            "--forbid epoll_create1": (True, "no call matched"),
        },
    ),
    "epoll-fallback-injected": RuleScenario(
        ("epoll_cloexec", "FORGET_FCNTL"),
        ["--inject", "epoll_create1:error=ENOSYS", "--no-fd-leaks", "--cloexec", "epoll_create"],
        {
            "--no-fd-leaks": (False, "1 descriptor leaked"),
            "--cloexec epoll_create": (False, "1 violation"),
        },
    ),
    "scm-rights": RuleScenario(
        ("passfd",),
        ["--no-fd-leaks", "--expect", "recvmsg(*, {msg_control=[{cmsg_type=SCM_RIGHTS}]}, *) = 1"],
        {
            "--no-fd-leaks": (False, "1 descriptor leaked"),
            "--expect recvmsg(*, {msg_control=[{cmsg_type=SCM_RIGHTS}]}, *) = 1": (True, "1 matching call"),
        },
    ),
    "scm-rights-cloexec": RuleScenario(
        ("passfd", "CMSG_CLOEXEC"),
        ["--no-fd-leaks", "--expect", "recvmsg(*, *, MSG_CMSG_CLOEXEC)"],
        {
            "--no-fd-leaks": (True, "no leaks across 2 execs"),
            "--expect recvmsg(*, *, MSG_CMSG_CLOEXEC)": (True, "1 matching call"),
        },
    ),
    "exec-from-thread": RuleScenario(
        ("fdops", "thread"),
        ["--no-fd-leaks", "--allow-fd", "4"],
        {"--no-fd-leaks --allow-fd 4": (False, "1 descriptor leaked")},
    ),
    "exec-from-thread-allowed": RuleScenario(
        ("fdops", "thread"),
        ["--no-fd-leaks", "--allow-fd", "3", "--allow-fd", "4"],
        {"--no-fd-leaks --allow-fd 3 --allow-fd 4": (True, "no leaks across 2 execs")},
    ),
    "python-inheritable": RuleScenario(
        ("python", "leaky_inheritable.py"),
        ["--no-fd-leaks", "--cloexec", "epoll_create1", "--expect-exit", "0"],
        {
            "--no-fd-leaks": (False, "1 descriptor leaked"),
            # Python's own startup makes one too, before the script's
            "--cloexec epoll_create1": (True, "2 descriptors from 2 calls, close-on-exec throughout"),
            "--expect-exit 0": (True, "exit status 0"),
        },
    ),
}


def rule_command(scenario: RuleScenario, compile_c: Callable[..., Path], tmp_path: Path) -> list[str]:
    spec = scenario.program
    if spec[0] == "python":
        return [sys.executable, str(program(spec[1]))]
    if spec[0] == "fdops":  # a thread opens 3 and 4, another thread execs openfds
        return [str(compile_c("fdops")), spec[1], str(compile_c("openfds")), str(tmp_path / "seen")]
    return [str(compile_c(*spec))]


# A call a signal interrupted before the kernel restarted it: "= ? ERESTARTSYS". Whether a
# signal lands inside a blocking call is the scheduler's (and the tracer's stops') choice:
# under ptrace even an ignored SIGCHLD stops the tracee and interrupts its recvmsg.
_INTERRUPTED = re.compile(r"= \? ERESTART\w+( \(.*\))?$")


def interrupted(call: Syscall) -> bool:
    """The first attempt of a call the kernel restarts after a signal (ERESTARTSYS, ...)."""
    return call.errno is not None and call.errno.startswith("ERESTART")


_MATCHING = re.compile(r"^(\d+) matching calls?")


def without_interrupted(result: dict[str, object]) -> dict[str, object]:
    """A rule's result as if every interrupted-and-restarted call had been one call: the
    interrupted attempts leave the evidence and the count."""
    evidence = result["evidence"]
    assert isinstance(evidence, list)
    kept = [e for e in evidence if not (isinstance(e, dict) and _INTERRUPTED.search(str(e["call"])))]
    dropped = len(evidence) - len(kept)
    summary = str(result["summary"])
    m = _MATCHING.match(summary)
    if dropped and m:
        n = int(m.group(1)) - dropped
        summary = f"{n} matching call{'' if n == 1 else 's'}" + summary[m.end() :]
    return {**result, "evidence": kept, "summary": summary}


@dataclass
class Verdicts:
    exit_code: int
    by_rule: dict[str, tuple[bool, str]]  # label → (passed, summary)
    results: object  # every rule's result and evidence, without what differs between runs
    raw_log: str  # what the tracer wrote (-o)


def verdicts(command: list[str], rules: list[str], mode: list[str], tmp_path: Path) -> Verdicts:
    """Run `sysprobe check` and read its JSON report."""
    report, raw = tmp_path / "report.json", tmp_path / "raw.log"
    done = check(*mode, *rules, "--json-report", str(report), "-o", str(raw), "--", *command)
    assert done.returncode in (0, 1), done.stderr
    data = json.loads(report.read_text())
    assert data["passed"] == (done.returncode == 0)
    results = [without_interrupted(r) for r in data["results"]]
    text = without_run_details(json.dumps(results, sort_keys=True))
    text = re.sub(r'"(pid|where|line)": [^,}]+', r'"\1": "N"', text)
    by_rule = {str(r["rule"]): (bool(r["passed"]), str(r["summary"])) for r in results}
    return Verdicts(done.returncode, by_rule, json.loads(text), raw.read_text())


def assert_verdict(scenario: RuleScenario, got: Verdicts) -> None:
    assert (got.exit_code, got.by_rule) == (scenario.exit_code, scenario.verdict)


def closes_told(model: FdModel) -> list[tuple[int, int | None]]:
    """What ``model`` tells its close listeners from now on: each descriptor's number and
    the line of the event that closed it (None: no event, as at a process's end)."""
    told: list[tuple[int, int | None]] = []
    model.on_close.append(lambda d, ev: told.append((d.fd, ev.line if ev is not None else None)))
    return told


# Thread 101's openat was in flight while 100 forked 102, whose first line came before the
# clone returned: 102's copy may hold fd 3 (/etc/hostname) or nothing there.
RACED_COPY = (
    '100 execve("/bin/app", ["app"], 0x7ffd /* 3 vars */) = 0\n'
    "100 clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD"
    "|CLONE_SYSVSEM) = 101\n"
    "100 clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>\n"
    '101 openat(AT_FDCWD, "/etc/hostname", O_RDONLY <unfinished ...>\n'
    "102 set_robust_list(0x7f, 24) = 0\n"
    "101 <... openat resumed>) = 3</etc/hostname>\n"
    "100 <... clone resumed>) = 102\n"
)
