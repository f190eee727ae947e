"""`make leak-hunt`: pytest --sysprobe-leaks on real suites nobody here wrote.

For each project: its source distribution from PyPI (`pip download --no-binary :all:`),
the same version installed in this environment, its tests copied out of the sdist (so
that they import the installed package, not the unbuilt sources), then the chosen test
modules run untraced and under --sysprobe-leaks, interleaved ROUNDS times (medians: the
machine is noisy), on each backend. Prints the times, their ratios and the findings of
the last traced run (true leaks and deliberate passes, per test).

    python benchmarks/leak_hunt.py [--rounds N] [--workdir build/leak-hunt]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Suite:
    project: str
    version: str
    copy: tuple[str, ...]  # what to copy out of the sdist (tests and the files they read)
    modules: tuple[str, ...]  # the test modules to run (those that run here and spawn processes)


SUITES = [
    Suite(
        "psutil",
        "7.2.2",
        ("tests",),
        (
            "tests/test_process.py",
            "tests/test_posix.py",
            "tests/test_connections.py",
            "tests/test_testutils.py",
            "tests/test_unicode.py",
            "tests/test_misc.py",
        ),
    ),
    Suite("ptyprocess", "0.7.0", ("tests",), ("tests",)),
]


def prepare(suite: Suite, workdir: Path) -> Path:
    """The suite's folder: its tests out of the sdist, the package installed."""
    folder = workdir / f"{suite.project}-{suite.version}"
    if folder.exists():
        return folder
    sdists = workdir / "sdists"
    spec = f"{suite.project}=={suite.version}"
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [*pip, "download", "-q", "--no-binary", ":all:", "--no-deps", "-d", str(sdists), spec], check=True
    )
    subprocess.run([*pip, "install", "-q", spec], check=True)
    archive = next(sdists.glob(f"{suite.project}-{suite.version}.tar.gz"))
    unpacked = workdir / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    staging = folder.with_suffix(".part")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in suite.copy:
        shutil.copytree(unpacked / f"{suite.project}-{suite.version}" / name, staging / name)
    staging.rename(folder)
    return folder


def run(folder: Path, modules: tuple[str, ...], extra: list[str]) -> tuple[float, int, str]:
    ini = folder / "pytest.ini"  # the suite's own rootdir: not sysprobe's checkout and its config
    if not ini.exists():
        ini.write_text("[pytest]\n")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *modules, *extra],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.monotonic() - started, done.returncode, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("build/leak-hunt"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for suite in SUITES:
        folder = prepare(suite, args.workdir.resolve())
        modes: dict[str, list[str]] = {"untraced": []}
        for backend in ("strace", "ptrace"):
            report = folder / f"report-{backend}.json"
            modes[f"--sysprobe-leaks ({backend})"] = [
                "--sysprobe-leaks",
                "--sysprobe-backend",
                backend,
                "--sysprobe-leaks-report",
                str(report),
            ]
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        outputs: dict[str, tuple[int, str]] = {}
        for _ in range(args.rounds):
            for mode, extra in modes.items():
                seconds, status, out = run(folder, suite.modules, extra)
                times[mode].append(seconds)
                outputs[mode] = (status, out)
        print(f"\n== {suite.project} {suite.version}: {' '.join(suite.modules)} ({args.rounds} rounds)")
        base = statistics.median(times["untraced"])
        for mode, seconds in times.items():
            median = statistics.median(seconds)
            status, out = outputs[mode]
            lines = out.strip().splitlines() or [""]
            last = next((line for line in lines if "the session ran under" in line), lines[-1])
            print(f"  {mode:28} {median:7.1f} s  x{median / base:4.2f}  exit {status}  {last}")
        report = json.loads((folder / "report-strace.json").read_text())
        print(
            f"  strace's last run: {report['tests_run']} tests, {report['execs']} execs, "
            f"leaks: {len(report['leaks'])} in {len(report['tests_with_leaks'])} tests, "
            f"passed on purpose: {len(report['passes'])}"
        )
        for finding in report["leaks"] + report["passes"]:
            kind = "passed on purpose" if finding["deliberate"] else "LEAK"
            print(f"    {kind}: {finding['test']}: {finding['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
