"""`make mutate`: mutation testing (mutmut) of the modules whose verdicts users trust.

What is mutated is [tool.mutmut] only_mutate in pyproject.toml (paths) narrowed by
MUTANTS below (mutmut's mutant-name globs, for the part of a file that is in scope); the
tests that may kill them are [tool.mutmut] pytest_add_cli_args_test_selection (the fast,
in-process subset: mutmut runs, for each mutant, only the tests that called the mutated
function in this process). The run happens in build/mutate, a copy of the working tree
without the mypyc .so files, so the interpreted, mutated sources are the ones that run,
in the tests' process and in the sysprobe processes they start (PYTHONPATH).

    make mutate                      # the whole scope, then the score and the survivors
    make mutate MUTANTS='sysprobe._rules.patterns.*'   # a part, e.g. after a change
    .venv/bin/python tests/mutate.py --report          # the last run's score again
    .venv/bin/python tests/mutate.py --again           # after new tests: the survivors only
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SANDBOX = ROOT / "build" / "mutate"
# Mutant names are MODULE.x_FUNCTION__mutmut_N (methods: MODULE.xǁCLASSǁMETHOD__mutmut_N).
MUTANTS = [
    "sysprobe._model.*",  # the descriptor model
    "sysprobe._rules.*",  # the rules and the pattern language
    "sysprobe._golden.*",  # the golden normalizer and renderer
    "sysprobe._kernel.signals.*",  # the runner's exit status: 128+N for signal N
    "sysprobe._tracing.supervisor.xǁRunBookǁnote__*",  # ... and the command's status from its events
    "sysprobe._pipeline.xǁAnalysisǁcommand_status__*",  # ... or a log's
    "sysprobe._value.*",  # the records' equality, hash, copies
    "sysprobe._frozen.*",
]
KILLED = {1, 3}  # a test failed (3: pytest's internal error, a crash, counts too)
# Which exit codes mutmut records mean what (mutmut/stats.py); a mutant that runs out of
# its CPU time (SIGXCPU) hangs the tests: caught, as a kill is
STATUS = {
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    None: "not run",
}


def sandbox(*, fresh: bool) -> None:
    """A copy of the tracked (and new, unignored) files: no .so, no caches. Not ``fresh``:
    copied over the last run's, whose results (mutants/) stay."""
    if fresh and SANDBOX.exists():
        shutil.rmtree(SANDBOX)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    # what is on disk: git lists a file moved away (mv, not git mv) until it is committed
    names = {
        name
        for name in (os.fsdecode(n) for n in listed)
        if name and not name.endswith(".so") and (ROOT / name).is_file()
    }
    for name in names:
        target = SANDBOX / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    if not fresh:
        _remove_stale(names)


def _remove_stale(names: set[str]) -> None:
    """Files the tree no longer has (a test renamed or removed), in the copy and in the
    copy mutmut makes of it, must not run: only mutmut's own (mutants/src, its state) stay."""
    for path in [p for p in SANDBOX.rglob("*") if p.is_file()]:
        parts = path.relative_to(SANDBOX).parts
        inside = parts[1:] if parts[0] == "mutants" else parts
        if parts[0] == "mutants" and (len(parts) == 2 or parts[1] == "src"):
            continue
        if "/".join(inside) not in names:
            path.unlink()


def run(patterns: list[str], children: int) -> int:
    # mutmut copies the sources there; it must exist before Python starts, or the import
    # system remembers the PYTHONPATH entry as missing and imports the installed package
    (SANDBOX / "mutants" / "src").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        # the CLI runs that tests start import the mutated sources too
        "PYTHONPATH": str(SANDBOX / "mutants" / "src"),
        "SYSPROBE_PURE": "1",
        "HYPOTHESIS_PROFILE": "ci",
    }
    mutmut = Path(sys.executable).parent / "mutmut"
    command = [str(mutmut), "run", "--max-children", str(children), *patterns]
    return subprocess.run(command, cwd=SANDBOX, env=env, check=False).returncode


def results(patterns: list[str]) -> dict[str, str]:
    """Every mutant in scope and what became of it."""
    found: dict[str, str] = {}
    for meta in (SANDBOX / "mutants").rglob("*.py.meta"):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in codes.items():
            if any(fnmatch.fnmatch(name, p) for p in patterns):
                found[name] = "killed" if code in KILLED else STATUS.get(code, f"suspicious (exit {code})")
    return dict(sorted(found.items()))


def score(counts: Counter[str]) -> str:
    """Killed (a timeout counts) among the mutants some test ran against."""
    caught = counts["killed"] + counts["timeout"]
    tested = caught + counts["survived"]
    text = f"{caught}/{tested} killed ({caught / tested:.1%})" if tested else "none tested"
    return text + f", {counts['no tests']} with no test, {counts['not run']} not run"


def report(patterns: list[str]) -> int:
    found = results(patterns)
    if not found:
        print("mutate: no mutants in scope (has `make mutate` run?)", file=sys.stderr)
        return 2
    counts = Counter(found.values())
    print(f"\n{len(found)} mutants: " + ", ".join(f"{n} {status}" for status, n in counts.most_common()))
    for module in sorted({name.split(".x")[0] for name in found}):
        mine = Counter(status for name, status in found.items() if name.split(".x")[0] == module)
        print(f"  {module}: {score(mine)}")
    print(f"all: {score(counts)}")
    for name, status in found.items():
        if status != "killed":
            print(f"  {status:9} {name}")
    print("\n(`cd build/mutate && ../../.venv/bin/mutmut show NAME` shows a mutant's diff)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("patterns", nargs="*", help="mutant-name globs (default: the whole scope)")
    parser.add_argument("--report", action="store_true", help="only print the last run's results")
    parser.add_argument(
        "--again",
        action="store_true",
        help="after new tests: run again what the last run tested and did not kill (survived, no test)",
    )
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    patterns = args.patterns or MUTANTS
    if args.report:
        return report(patterns)
    # a fresh run reads nothing of the last one: a .meta file cut short must not stop it
    before = results(patterns) if args.again else {}
    # mutmut keeps a mutant's result unless it is named: name the ones to run again
    again = [name for name, status in before.items() if status not in ("killed", "timeout", "not run")]
    if args.again and not again:
        print(
            "mutate: nothing to run again: "
            + (
                "no earlier run (make mutate)"
                if not before
                else "the last run's tested mutants were all killed"
            ),
            file=sys.stderr,
        )
        return 2 if not before else report(patterns)
    sandbox(fresh=not args.again)
    code = run(again if args.again else patterns, args.children)
    if code != 0:
        print(f"mutate: mutmut exited {code}", file=sys.stderr)
        return code
    if args.again:
        after = results(patterns)
        lost = [
            n for n, status in before.items() if status != "not run" and after.get(n, "not run") == "not run"
        ]
        if lost:
            print(
                f"mutate: mutmut reset {len(lost)} results of the last run (their functions, or the "
                "test selection, changed) and --again did not run them: make mutate measures them",
                file=sys.stderr,
            )
    return report(patterns)


if __name__ == "__main__":
    sys.exit(main())
