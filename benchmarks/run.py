"""sysprobe's benchmarks: `make bench` (or `python benchmarks/run.py [--quick]`).

Every figure is a median of several runs, and every ratio compares commands timed in the
same run, interleaved run by run, because these machines are noisy.

1. Three workloads, each untraced, under plain `strace -f -o /dev/null`, under
   `sysprobe trace` (everything traced and parsed) and under `sysprobe check` (only the
   calls the rules need, filtered with --seccomp-bpf). Two reference rows show what strace
   alone costs with sysprobe's placement (pinned to one CPU) and with check's filter: the
   floors sysprobe's own figures stand on.
2. Placement's trade-off: a syscall-heavy tracee and a tracee with two CPU-bound threads,
   traced with `--placement auto` and `--placement off`.
3. Parse throughput on a generated log of real strace lines: the envelope only, and with
   every argument tree decoded.
4. Peak RSS of `sysprobe check --log` on generated logs of increasing length (flat memory).
5. The targets of issue 16 (start-up, marginal cost, `check --log` throughput), each a
   ratio of commands timed in this run, printed with "met" or "MISSED".

`make bench` runs the targets and parse (the targets measure peak RSS at 1M and 10M lines
too); the workloads, placement and memory (about 15 minutes, most of it plain strace on
dd) run with `--all` or `--only`.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sysprobe
import sysprobe._parsing.lineparse
from sysprobe._parsing.sources import lines_of, parse_paths
from sysprobe._rules.rules import RuleSet, needed_syscalls
from sysprobe.events import Syscall

HERE = Path(__file__).parent
# the console script, as users run it (not `python -m`, which costs runpy's start-up)
SYSPROBE = [str(Path(sys.executable).with_name("sysprobe"))]
# Python as users run it: with its bytecode cache (a session that sets PYTHONDONTWRITEBYTECODE
# would time the compiler at every start; main() fills the cache first)
BENCH_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# A command whose first run takes longer than this is timed fewer times (plain strace on
# the dd workload takes a minute or more).
SLOW_SECONDS = 10.0
SLOW_RUNS = 3


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def time_commands(commands: dict[str, Sequence[str]], runs: int) -> dict[str, float]:
    """Median wall time of each command, the commands interleaved run by run."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(runs):
        for name, argv in commands.items():
            if round_ >= SLOW_RUNS and samples[name][0] > SLOW_SECONDS:
                continue
            started = time.perf_counter()
            done = subprocess.run(
                argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=BENCH_ENV
            )
            samples[name].append(time.perf_counter() - started)
            if done.returncode != 0:
                sys.exit(f"{name} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-500:]}")
    return {name: statistics.median(values) for name, values in samples.items()}


# ---- 1. the three workloads ----


@dataclass
class Workload:
    name: str
    argv: list[str]
    rules: RuleSet

    def rule_args(self) -> list[str]:
        out = ["--no-fd-leaks"] if self.rules.no_fd_leaks else []
        for pattern in self.rules.expect:
            out += ["--expect", pattern]
        return out

    def check_set(self) -> str:
        needed = needed_syscalls(self.rules.build())
        assert needed is not None
        return ",".join(f"?{name}" for name in sorted(needed))


def workloads(dd_count: int) -> list[Workload]:
    # the interpreter itself, not a venv's or pyenv's wrapper (a pyenv shim is a bash script)
    python = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    return [
        Workload(
            "dd",
            ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={dd_count}"],
            RuleSet(expect=['openat(*, "/dev/zero", O_RDONLY) = 3'], no_fd_leaks=True),
        ),
        Workload(
            "python",
            [python, "-c", 'import json, subprocess; subprocess.run(["true"])'],
            RuleSet(expect=["close_range(3, *, 0) = 0"], no_fd_leaks=True),
        ),
        Workload(
            "sh",
            ["sh", "-c", "for i in $(seq 50); do /bin/true; done"],
            RuleSet(expect=['execve("/bin/true", *) = 0'], no_fd_leaks=True),
        ),
    ]


def workload_commands(w: Workload, cpu: str) -> dict[str, list[str]]:
    strace = ["strace", "-f", "-o", "/dev/null"]
    return {
        "untraced": w.argv,
        "strace -f -o /dev/null": [*strace, "--", *w.argv],
        "sysprobe trace": [*SYSPROBE, "trace", "--no-summary", "--", *w.argv],
        "sysprobe check": [*SYSPROBE, "check", *w.rule_args(), "--", *w.argv],
        "sysprobe trace --backend ptrace": [
            *SYSPROBE,
            "trace",
            "--no-summary",
            "--backend",
            "ptrace",
            "--",
            *w.argv,
        ],
        "sysprobe check --backend ptrace": [
            *SYSPROBE,
            "check",
            "--backend",
            "ptrace",
            *w.rule_args(),
            "--",
            *w.argv,
        ],
        "  ref: strace -f, pinned": ["taskset", "-c", cpu, *strace, "--", *w.argv],
        "  ref: strace, check's filter, pinned": [
            *["taskset", "-c", cpu, *strace, "--seccomp-bpf", "-y", "-e", f"trace={w.check_set()}"],
            *["--", *w.argv],
        ],
    }


def report_times(times: dict[str, float]) -> None:
    base, untraced = times["strace -f -o /dev/null"], times["untraced"]
    for name, seconds in times.items():
        print(
            f"  {name:<38} {seconds:>8.3f} s  {seconds / untraced:>7.2f} x untraced"
            f"  {seconds / base:>6.3f} x strace"
        )


# ---- 2. placement ----


def placement_commands(spin: Path, dd_count: int) -> dict[str, dict[str, list[str]]]:
    cases = {
        f"dd bs=1 count={dd_count} (one thread, all syscalls)": [
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=1",
            f"count={dd_count}",
        ],
        "spin 2 threads (CPU-bound, few syscalls)": [str(spin), "2", "150000000"],
    }
    return {
        label: {
            "untraced": argv,
            "sysprobe trace --placement auto": [*SYSPROBE, "trace", "--no-summary", "--", *argv],
            "sysprobe trace --placement off": [
                *SYSPROBE,
                "trace",
                "--no-summary",
                "--placement",
                "off",
                "--",
                *argv,
            ],
        }
        for label, argv in cases.items()
    }


# ---- 3. a log of real lines ----

SOURCES = [
    [
        sys.executable,
        "-c",
        "import json, subprocess, threading; subprocess.run(['true']); "
        "t = threading.Thread(target=lambda: open('/etc/hostname').read()); t.start(); t.join()",
    ],
    ["sh", "-c", "for i in 1 2 3 4 5; do ls /etc > /dev/null; cat /etc/hostname > /dev/null; done"],
    ["sh", "-c", "dd if=/dev/zero of=/dev/null bs=512 count=2000 2>/dev/null"],
]
_FORK_RESULT = re.compile(r"^(\d+ +(?:<\.\.\. )?(?:clone3?|v?fork|wait4)\b.* = )(\d+)$")


def sample_lines() -> list[str]:
    """Real lines: the sources traced with `strace -f -y -o` (what sysprobe itself reads)."""
    sample: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, argv in enumerate(SOURCES):
            out = Path(tmp) / f"s{i}.log"
            subprocess.run(
                ["strace", "-f", "-y", "-o", str(out), "--", *argv],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            sample.extend(out.read_text(errors="surrogateescape").splitlines())
    return sample


def shifted(line: str, shift: int) -> str:
    """The line with every pid moved by ``shift``: the prefix and the values that are pids
    (fork results, superseded, parent_tid), so each copy is a consistent set of processes."""
    head, sep, rest = line.partition(" ")
    if not head.isdigit():
        return line
    line = f"{int(head) + shift}{sep}{rest}"
    m = _FORK_RESULT.match(line)
    if m is not None:
        line = f"{m.group(1)}{int(m.group(2)) + shift}"
    return re.sub(
        r"(?<=superseded by execve in pid )\d+|(?<=pid changed to )\d+|(?<=parent_tid=\[)\d+",
        lambda p: str(int(p.group()) + shift),
        line,
    )


def generate_log(path: Path, target_lines: int, sample: list[str]) -> int:
    """Repeat the sample whole, pids shifted per copy, until the log has at least
    ``target_lines`` lines (a copy cut short is a run cut short, whose verdicts check
    rightly leaves undecided: exit 75)."""
    written = copy = 0
    with open(path, "w", errors="surrogateescape") as fh:
        while written < target_lines:
            chunk = [shifted(line, copy * 100_000) for line in sample]
            fh.write("\n".join(chunk) + "\n")
            written += len(chunk)
            copy += 1
    return written


def parse_throughput(log: Path, lines: int, runs: int) -> dict[str, float]:
    def envelope() -> None:
        collections.deque(parse_paths([str(log)]), maxlen=0)

    def decoded() -> None:
        for event in parse_paths([str(log)]):
            if isinstance(event, Syscall):
                event.args  # noqa: B018 - decoding is the point

    def read_only() -> None:
        collections.deque(lines_of(log), maxlen=0)

    return {
        "read lines only": lines / median_seconds(read_only, runs),
        "envelope": lines / median_seconds(envelope, runs),
        "all arguments decoded": lines / median_seconds(decoded, runs),
    }


# ---- 4. memory ----


def peak_rss_mb(argv: list[str]) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, exit status) of one run of argv."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=BENCH_ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, time.perf_counter() - started, proc.returncode


# ---- 5. the targets of issue 16 ----

# A real CPython run with the calls `check --expect sendfile` needs (shutil.copyfile is
# sendfile on Linux), a child process and a thread: the log the throughput target reads.
CPYTHON_RUN = (
    "import json, os, shutil, subprocess, tempfile, threading\n"
    "with tempfile.TemporaryDirectory() as d:\n"
    "    shutil.copyfile('/etc/hostname', os.path.join(d, 'h'))\n"
    "subprocess.run(['true'])\n"
    "t = threading.Thread(target=lambda: open('/etc/hostname').read()); t.start(); t.join()\n"
)
CHECK_LOG_RULES = ["--no-fd-leaks", "--expect", "sendfile"]


def base_python() -> str:
    """The interpreter itself, not a venv's or pyenv's wrapper (a pyenv shim is a bash script)."""
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def cpython_lines() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cpython.log"
        subprocess.run(
            ["strace", "-f", "-y", "-o", str(out), "--", base_python(), "-c", CPYTHON_RUN],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return out.read_text(errors="surrogateescape").splitlines()


def check_log_argv(log: Path) -> list[str]:
    return [*SYSPROBE, "check", "--log", str(log), *CHECK_LOG_RULES]


def startup_target(targets: Targets, runs: int) -> None:
    """The fixed cost: sysprobe on /bin/true against the floor of any Python CLI on strace."""
    commands = {
        "python3 -S -c pass": [base_python(), "-S", "-c", "pass"],
        "strace -f -o /dev/null /bin/true": ["strace", "-f", "-o", "/dev/null", "/bin/true"],
        "sysprobe --version": [*SYSPROBE, "--version"],
        "sysprobe check --no-fd-leaks -- /bin/true": [*SYSPROBE, "check", "--no-fd-leaks", "--", "/bin/true"],
    }
    times = time_commands(commands, runs)
    floor = times["python3 -S -c pass"] + times["strace -f -o /dev/null /bin/true"]
    print("\nstart-up (the floor: python3 -S -c pass + strace -f -o /dev/null /bin/true)")
    for name, seconds in times.items():
        print(f"  {name:<44} {seconds * 1000:>8.1f} ms  {seconds / floor:>6.2f} x floor")
    ratio = times["sysprobe check --no-fd-leaks -- /bin/true"] / floor
    targets.add("check --no-fd-leaks -- /bin/true <= 4 x floor", f"{ratio:.2f} x", ratio <= 4)


def dd_check_target(targets: Targets, cpu: str, count: int, runs: int) -> None:
    """The marginal cost of check: strace with check's own filter is the floor (pinned to one
    CPU as sysprobe runs it, or not: whichever is faster)."""
    w = workloads(count)[0]
    strace = ["strace", "-f", "-o", "/dev/null", "--seccomp-bpf", "-y", "-e", f"trace={w.check_set()}"]
    commands = {
        "untraced": w.argv,
        "strace, check's filter": [*strace, "--", *w.argv],
        "strace, check's filter, pinned": ["taskset", "-c", cpu, *strace, "--", *w.argv],
        "sysprobe check": [*SYSPROBE, "check", *w.rule_args(), "--", *w.argv],
    }
    times = time_commands(commands, runs)
    floor = min(times["strace, check's filter"], times["strace, check's filter, pinned"])
    print(f"\ncheck's marginal cost: `{' '.join(w.argv)}` ({2 * count:,} syscalls)")
    for name, seconds in times.items():
        print(f"  {name:<44} {seconds:>8.3f} s  {seconds / floor:>6.3f} x strace with the filter")
    ratio = times["sysprobe check"] / floor
    targets.add(f"check, dd count={count:,} <= 1.05 x strace, same filter", f"{ratio:.3f} x", ratio <= 1.05)


def dd_trace_target(targets: Targets, count: int, runs: int) -> None:
    w = workloads(count)[0]
    commands = {
        "untraced": w.argv,
        "strace -f -o /dev/null": ["strace", "-f", "-o", "/dev/null", "--", *w.argv],
        "sysprobe trace": [*SYSPROBE, "trace", "--no-summary", "--", *w.argv],
    }
    times = time_commands(commands, runs)
    print(f"\ntrace against plain strace: `{' '.join(w.argv)}`")
    for name, seconds in times.items():
        print(
            f"  {name:<44} {seconds:>8.3f} s  {seconds / times['strace -f -o /dev/null']:>6.3f} x strace -f"
        )
    ratio = times["sysprobe trace"] / times["strace -f -o /dev/null"]
    targets.add(f"trace, dd count={count:,} <= 0.2 x strace -f", f"{ratio:.3f} x", ratio <= 0.2)


def check_log_target(targets: Targets, lines: list[int], runs: int) -> None:
    """`check --log` on a log of a real CPython run (repeated, pids shifted per copy): lines
    per second on the first length (the whole command, start-up included), peak RSS on each."""
    sample = cpython_lines()
    print(f"\n`sysprobe check --log LOG {' '.join(CHECK_LOG_RULES)}` on a CPython run's log")
    rss_of: dict[int, float] = {}
    rate = 0.0
    for i, target_lines in enumerate(lines):
        with tempfile.TemporaryDirectory(dir=os.environ.get("SYSPROBE_BENCH_TMP")) as tmp:
            log = Path(tmp) / "cpython.log"
            written = generate_log(log, target_lines, sample)
            measured = [peak_rss_mb(check_log_argv(log)) for _ in range(runs if i == 0 else 1)]
            statuses = {status for _, _, status in measured}
            if statuses != {0}:
                sys.exit(f"check --log on the CPython log: exit {statuses}, expected 0")
            seconds = statistics.median(s for _, s, _ in measured)
            rss_of[written] = max(r for r, _, _ in measured)
            if i == 0:
                rate = written / seconds
            print(
                f"  {written:>12,} lines ({log.stat().st_size / 1e6:>6,.0f} MB)  {seconds:>6.2f} s"
                f"  {written / seconds:>12,.0f} lines/s  peak RSS {rss_of[written]:>6.1f} MB"
            )
    first, last = min(rss_of), max(rss_of)
    targets.add(f"check --log, {first:,} lines >= 1,000,000 lines/s", f"{rate:,.0f}", rate >= 1e6)
    growth = rss_of[last] / rss_of[first]
    targets.add(
        f"check --log peak RSS flat: {last:,} lines <= 1.15 x {first:,}",
        f"{rss_of[last]:.1f} / {rss_of[first]:.1f} MB = {growth:.2f} x",
        growth <= 1.15,
    )


# ---- the report ----


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    except OSError:
        pass
    strace = subprocess.run(["strace", "-V"], capture_output=True, text=True, check=False).stdout.split("\n")[
        0
    ]
    parser = "mypyc-compiled" if sysprobe._parsing.lineparse.__file__.endswith(".so") else "interpreted"
    return (
        f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}, Python {platform.python_version()}, "
        f"{strace}, sysprobe {sysprobe.__version__} ({parser})"
    )


class Targets:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, bool]] = []

    def add(self, what: str, measured: str, met: bool) -> None:
        self.rows.append((what, measured, met))

    def print(self) -> None:
        print("\ntargets")
        for what, measured, met in self.rows:
            print(f"  {'met   ' if met else 'MISSED'}  {what:<58} {measured}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="small inputs, few runs: a smoke test of the script"
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per median (default 5)")
    parser.add_argument(
        "--only", choices=["targets", "workloads", "placement", "parse", "memory"], action="append"
    )
    parser.add_argument("--all", action="store_true", help="the workloads and placement too (slow)")
    opts = parser.parse_args()
    for tool in ("strace", "taskset", "cc"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed: run `make deps` first")
    runs = 3 if opts.quick else opts.runs
    dd_count = 20_000 if opts.quick else 300_000
    parse_lines = 100_000 if opts.quick else 1_000_000
    memory_lines = [100_000, 300_000] if opts.quick else [1_000_000, 3_000_000, 10_000_000]
    default = ["targets", "parse", *(["workloads", "placement", "memory"] if opts.all else [])]
    only = set(opts.only or default)
    cpu = str(min(os.sched_getaffinity(0)))
    package = str(Path(sysprobe.__file__).parent)
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True, env=BENCH_ENV)
    targets = Targets()
    print(f"machine: {machine()}")
    print(
        f"command: make bench  (python benchmarks/run.py{' --quick' if opts.quick else ''}; "
        f"medians of {runs} runs)"
    )

    if "targets" in only:
        startup_target(targets, 5 if opts.quick else 21)
        dd_check_target(targets, cpu, 300_000 if opts.quick else 3_000_000, runs)
        dd_trace_target(targets, 4_000 if opts.quick else 40_000, runs)
        check_log_target(targets, [100_000, 300_000] if opts.quick else [1_000_000, 10_000_000], runs)

    if "workloads" in only:
        for w in workloads(dd_count):
            print(f"\n{w.name}: `{' '.join(w.argv)}`   check: {' '.join(w.rule_args())}")
            times = time_commands(workload_commands(w, cpu), runs)
            report_times(times)
            untraced, plain = times["untraced"], times["strace -f -o /dev/null"]
            check_ratio = times["sysprobe check"] / untraced
            trace_ratio = times["sysprobe trace"] / plain
            if w.name in ("dd", "python"):
                limit = 1.2 if w.name == "dd" else 1.5
                targets.add(
                    f"{w.name}: sysprobe check <= {limit} x untraced",
                    f"{check_ratio:.2f} x",
                    check_ratio <= limit,
                )
            if w.name == "dd":
                targets.add(
                    "dd: sysprobe trace <= 0.2 x strace -f", f"{trace_ratio:.3f} x", trace_ratio <= 0.2
                )
            targets.add(
                f"{w.name}: sysprobe trace <= 1.05 x strace -f", f"{trace_ratio:.3f} x", trace_ratio <= 1.05
            )

    if "placement" in only:
        with tempfile.TemporaryDirectory() as tmp:
            spin = Path(tmp) / "spin"
            subprocess.run(["cc", "-O1", "-pthread", "-o", str(spin), str(HERE / "spin.c")], check=True)
            for label, commands in placement_commands(spin, dd_count // 10).items():
                print(f"\nplacement: {label}")
                times = time_commands(commands, runs)
                for name, seconds in times.items():
                    print(f"  {name:<38} {seconds:>8.3f} s  {seconds / times['untraced']:>7.2f} x untraced")

    if "parse" in only or "memory" in only:
        sample = sample_lines()
    if "parse" in only:
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "generated.log"
            written = generate_log(log, parse_lines, sample)
            print(
                f"\nparse throughput: a generated log of {written:,} lines "
                f"({log.stat().st_size / 1e6:.0f} MB)"
            )
            rates = parse_throughput(log, written, runs)
            for name, rate in rates.items():
                print(f"  {name:<38} {rate:>12,.0f} lines/s")
            targets.add(
                "parse, envelope >= 1,000,000 lines/s", f"{rates['envelope']:,.0f}", rates["envelope"] >= 1e6
            )
            targets.add(
                "parse, all arguments decoded >= 150,000 lines/s",
                f"{rates['all arguments decoded']:,.0f}",
                rates["all arguments decoded"] >= 150_000,
            )

    if "memory" in only:
        print("\npeak RSS of `sysprobe check --log LOG --no-fd-leaks --expect execve --cloexec openat`")
        rss = 0.0
        for lines in memory_lines:
            with tempfile.TemporaryDirectory(dir=os.environ.get("SYSPROBE_BENCH_TMP")) as tmp:
                log = Path(tmp) / "generated.log"
                written = generate_log(log, lines, sample)
                argv = [
                    *SYSPROBE,
                    *[
                        "check",
                        "--log",
                        str(log),
                        "--no-fd-leaks",
                        "--expect",
                        "execve",
                        "--cloexec",
                        "openat",
                    ],
                ]
                rss, seconds, status = peak_rss_mb(argv)
                size = log.stat().st_size / 1e6
                print(
                    f"  {written:>12,} lines ({size:>6,.0f} MB)  peak RSS {rss:>6.1f} MB  "
                    f"{seconds:>6.1f} s ({written / seconds:,.0f} lines/s)  exit {status}"
                )
        targets.add(
            f"peak RSS of check --log, {memory_lines[-1]:,} lines <= 100 MB", f"{rss:.1f} MB", rss <= 100
        )

    targets.print()


if __name__ == "__main__":
    main()
