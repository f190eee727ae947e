"""The start-up promise of ``sysprobe.cli``: a plain check (rule options, then ``--`` and
the command, or ``--log FILE``) is read without typer and runs without importing typer,
click, rich or the tracers it does not use — and reads its command line exactly as typer
does. Speed itself is measured by ``make bench``, not here."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from sysprobe._cli_run import check_rules, run_check
from sysprobe.cli import PLAIN_CHECK_FLAGS, PLAIN_CHECK_VALUES, app, plain_check

# what no plain check may import: the command line's libraries, the reports' colours, the
# other backend, goldens, the schemas' loader
NEVER = (
    "typer",
    "click",
    "rich",
    "sysprobe._app",
    "ptrace",
    "sysprobe._tracing.ptrace",
    "sysprobe._golden",
    "importlib.resources",
    # dataclasses (with inspect, ast, dis) cost more than all the rest: _value.Value instead
    "dataclasses",
    "inspect",
    # loaded where they are used, which a passing check never is: JSON output, a name not
    # found, bytes that are not UTF-8; hashlib (OpenSSL) not at all, nor secrets (hmac)
    "json",
    "difflib",
    "base64",
    "hashlib",
    "secrets",
    "hmac",
    # pathlib (with urllib.parse and ipaddress), tempfile and shutil (with bz2, lzma,
    # random): a tenth of the start-up, for one directory and a PATH search
    "pathlib",
    "tempfile",
    "shutil",
)
# and what a check of a log has no use for: anything that runs a tracer
NOT_FOR_A_LOG = ("sysprobe._tracing.supervisor", "sysprobe._tracing.strace", "sysprobe._tracing.placement")

# the probe imports nothing sysprobe might (json, say), so that NEVER can name it
PROBE = """
import sys
sys.argv = ["sysprobe", *sys.argv[1:]]
from sysprobe.cli import main
try:
    main()
    code = 0
except SystemExit as end:
    code = end.code
with open(OUT, "w") as fh:
    fh.write("\\n".join([repr(code), *sorted(sys.modules)]))
"""


def run_cli(tmp_path: Path, *args: str) -> tuple[int, set[str], str]:
    """(exit status, the modules imported by its end, stderr) of ``sysprobe ARGS``, in a
    fresh interpreter, with strace's cache of this machine's answers filled (a first run
    probes strace and writes the cache: that run may import more)."""
    out = tmp_path / "modules.txt"
    probe = PROBE.replace("OUT", repr(str(out)))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    assert out.exists(), done.stderr
    code, *modules = out.read_text().split("\n")
    return ast.literal_eval(code), set(modules), done.stderr


def imported(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_plain_check_of_a_run_imports_no_typer(tmp_path: Path) -> None:
    code, modules, stderr = run_cli(tmp_path, "check", "--no-fd-leaks", "--", "/bin/true")
    assert code == 0, stderr
    assert "sysprobe._tracing.strace.backend" in modules  # it did run strace
    assert imported(modules, NEVER) == []


# the parser's import waits until strace runs, so that the two overlap
PARSER_AFTER_SPAWN = """
import subprocess, sys
seen = []
spawn = subprocess.Popen.__init__
def watched(self, args, *rest, **named):
    if "strace" in str(args[0]):
        seen.append("sysprobe._parsing.lineparse" in sys.modules)
    spawn(self, args, *rest, **named)
subprocess.Popen.__init__ = watched
sys.argv = ["sysprobe", "check", "--no-fd-leaks", "--", "/bin/true"]
from sysprobe.cli import main
try:
    main()
except SystemExit as end:
    assert end.code == 0, end.code
print(seen)
"""


def test_plain_check_imports_the_parser_once_strace_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PARSER_AFTER_SPAWN], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    spawned = ast.literal_eval(done.stdout.splitlines()[-1])  # the capability probe's strace too, once
    assert spawned and not any(spawned)


def test_plain_check_of_a_log_imports_no_tracer(tmp_path: Path) -> None:
    log = tmp_path / "copy.log"
    log.write_text(
        '7 openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC) = 3\n'
        '7 openat(AT_FDCWD, "/tmp/h", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = 4\n'
        "7 sendfile(4, 3, NULL, 8388608) = 9\n"
        "7 close(4) = 0\n7 close(3) = 0\n7 exit_group(0) = ?\n7 +++ exited with 0 +++\n"
    )
    code, modules, stderr = run_cli(
        tmp_path, "check", "--log", str(log), "--no-fd-leaks", "--expect", "sendfile"
    )
    assert code == 0, stderr
    assert "sysprobe._rules.rules" in modules
    assert imported(modules, NEVER + NOT_FOR_A_LOG) == []


def test_any_other_command_line_goes_to_typer(tmp_path: Path) -> None:
    """The probe sees typer when typer runs: the two tests above are not vacuous."""
    code, modules, _ = run_cli(tmp_path, "check", "--no-fd-leaks", "/bin/true")
    assert code == 0
    assert "typer" in modules and "sysprobe._app" in modules


PLAIN = [
    ["check", "--no-fd-leaks", "--", "/bin/true"],
    ["check", "--", "sh", "-c", "exit 3"],
    ["check", "--expect", "openat", "--expect=close(3) = 0", "--forbid", "fork", "--", "true", "--expect"],
    ["check", "--expect-count", ">=2 sendfile", "--order", "socket -> connect", "--", "x"],
    ["check", "--cloexec", "openat", "--no-fd-leaks", "--allow-fd", "3-4", "--count-passes", "--", "a", "--"],
    ["check", "--log", "a.log", "--log=b.log", "--no-fd-leaks"],
    ["check", "--no-fd-leaks", "--no-fd-leaks", "--expect", "", "--", "-x"],
]
NOT_PLAIN = [
    [],
    ["check"],
    ["check", "-h"],
    ["check", "--help"],
    ["check", "--no-fd-leaks", "/bin/true"],  # no -- : typer's corrected command line
    ["check", "--log", "a.log", "--", "true"],  # both sources: typer's error
    ["check", "--no-fd-leaks", "--"],  # neither
    ["check", "--expect", "-x", "--", "true"],  # a value like an option: click's reading
    ["check", "--expect"],
    ["check", "--log", "-", "--no-fd-leaks"],
    ["check", "--no-fd-leaks=1", "--", "true"],
    ["check", "--timeout", "3", "--", "true"],
    ["check", "--json", "--", "true"],
    ["check", "-o", "x.log", "--", "true"],
    ["check", "--golden", "g", "--", "true"],
    ["trace", "--", "true"],
    ["--version"],
    ["check", "--expect-exit", "0", "--", "true"],
    ["check", "--exp", "openat", "--", "true"],
]


def typer_params(args: list[str]) -> dict[str, Any]:
    """check's parameters as typer reads ``args`` (a list for a repeated option, None for
    one not given, as the command function receives them)."""
    group = typer.main.get_command(app)
    assert args[0] == "check"
    command = group.commands["check"]  # type: ignore[attr-defined]
    ctx = command.make_context("check", list(args[1:]))
    params: dict[str, Any] = {}
    for name, value in ctx.params.items():
        if isinstance(value, tuple | list):
            value = list(value) or None
        params[name] = value
    return params


@pytest.mark.parametrize("args", PLAIN, ids=" ".join)
def test_plain_check_reads_as_typer_does(args: list[str]) -> None:
    plain = plain_check(args)
    assert plain is not None
    by_typer = typer_params(args)
    defaults = {
        name: p.default
        for fn in (check_rules, run_check)
        for name, p in inspect.signature(fn).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    for name, value in by_typer.items():
        assert plain.get(name, defaults.get(name)) == value, name
    assert set(plain) <= set(by_typer)


@pytest.mark.parametrize("args", NOT_PLAIN, ids=lambda a: " ".join(a) or "(none)")
def test_other_command_lines_are_typers(args: list[str]) -> None:
    assert plain_check(args) is None


def test_plain_options_are_checks_own() -> None:
    """Each option a plain check reads is check's, with the same parameter and shape."""
    command = typer.main.get_command(app).commands["check"]  # type: ignore[attr-defined]
    by_option = {opt: param for param in command.params for opt in param.opts}
    for option, name in PLAIN_CHECK_VALUES.items():
        assert (by_option[option].name, by_option[option].multiple) == (name, True), option
    for option, name in PLAIN_CHECK_FLAGS.items():
        assert (by_option[option].name, by_option[option].is_flag) == (name, True), option
