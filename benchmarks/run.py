"""sysprobe's benchmarks: `make bench` (or `python benchmarks/run.py [--quick]`).

Every figure is a median of several runs, and every ratio compares commands timed in the
same run, interleaved, because these machines are noisy.

- parse throughput: lines/s of the line parser on a generated log of real strace lines
  (envelope only, and with every argument tree decoded);
- trace overhead: wall time of `sysprobe trace` against `strace -f -o /dev/null` and the
  untraced command, on a syscall-heavy workload.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import sysprobe
import sysprobe._lineparse
from sysprobe._sources import lines_of, parse_paths
from sysprobe.events import Syscall

HERE = Path(__file__).parent
ROOT = HERE.parent
SYSPROBE = [sys.executable, "-m", "sysprobe"]


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# ---- a log of real lines ----

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


def generate_log(path: Path, target_lines: int) -> int:
    """Trace real programs (-f -y -tt -T: the richest common option set) and repeat their
    lines, shifting pids per copy, until the log has ``target_lines`` lines."""
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
    written = 0
    copy = 0
    with open(path, "w", errors="surrogateescape") as fh:
        while written < target_lines:
            shift = copy * 100000
            for line in sample:
                head, sep, rest = line.partition(" ")
                if head.isdigit():
                    line = f"{int(head) + shift}{sep}{rest}"
                fh.write(line + "\n")
                written += 1
                if written >= target_lines:
                    break
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
        "all arguments decoded": lines / median_seconds(decoded, max(1, runs // 2 + 1)),
    }


# ---- trace overhead ----


def time_commands(commands: dict[str, Sequence[str]], runs: int) -> dict[str, float]:
    """Median wall time of each command, the commands interleaved run by run."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            started = time.perf_counter()
            subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def trace_overhead(count: int, runs: int) -> tuple[dict[str, float], str]:
    workload = ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={count}"]
    commands = {
        "untraced": workload,
        "strace -f -o /dev/null": ["strace", "-f", "-o", "/dev/null", "--", *workload],
        "sysprobe trace": [*SYSPROBE, "trace", "--no-summary", "--", *workload],
    }
    return time_commands(commands, runs), " ".join(workload)


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
    parser = "mypyc-compiled" if sysprobe._lineparse.__file__.endswith(".so") else "interpreted"
    return (
        f"{platform.node()}: {os.cpu_count()} CPUs ({model}), Linux {platform.release()}, "
        f"Python {platform.python_version()}, {strace}, sysprobe {sysprobe.__version__} ({parser} parser)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller inputs, fewer runs (a smoke test)")
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines in the generated log")
    parser.add_argument("--runs", type=int, default=5, help="runs per median")
    opts = parser.parse_args()
    if shutil.which("strace") is None:
        sys.exit("strace is needed: run `make deps` first")
    lines = 50_000 if opts.quick else opts.lines
    runs = 3 if opts.quick else opts.runs
    print(f"machine: {machine()}")
    print(f"command: python benchmarks/run.py{' --quick' if opts.quick else ''} (medians of {runs} runs)\n")

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "generated.log"
        written = generate_log(log, lines)
        size = log.stat().st_size
        print(f"parse throughput: a generated log of {written:,} lines, {size / 1e6:.0f} MB")
        for name, rate in parse_throughput(log, written, runs).items():
            print(f"  {name:<24} {rate:>12,.0f} lines/s")

    count = 20_000 if opts.quick else 100_000
    times, workload = trace_overhead(count, runs)
    base = times["strace -f -o /dev/null"]
    print(f"\ntrace overhead on `{workload}` ({2 * count:,} syscalls)")
    for name, seconds in times.items():
        print(
            f"  {name:<24} {seconds:>8.3f} s   {seconds / base:>6.2f} x strace   "
            f"{seconds / times['untraced']:>8.1f} x untraced"
        )


if __name__ == "__main__":
    main()
