"""The README is a user's first contact: every example in it runs verbatim and prints what
it shows, and its option tables are the CLI's own help.

- Each ```console block runs, command by command, in a folder of its own holding what
  the README assumes (examples/, build/demo/pipe_leak from `make demo`, ./pipe_leak and
  pipe_leak.c, each file it shows: a ```python block introduced as `NAME.py`), with the
  virtual environment's `sysprobe`, `python3` and `pytest` first on PATH. Its output
  (stdout and stderr, as a terminal shows them) must be what the README prints, but for
  what depends on the machine and the moment: pids, line numbers, inodes, addresses,
  times, temporary folders, and the counts of a summary's calls (the C library decides
  those). The set-up block (`make demo`, `make test`) is what runs this suite, and is
  left out.
- Each ```python block runs (the API example; the pytest file is run by its block).
- The option tables between `<!-- options: COMMAND [GROUP] -->` and `<!-- /options -->`
  are generated from the commands' help: `python -m tests.cli.test_readme --write`
  rewrites them after a change of an option.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sysprobe.cli import RULE_OPTIONS

from ..helpers import default_signals

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent  # the virtual environment's sysprobe, python3, pytest
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
OPTIONS = re.compile(r"^<!-- options: (\w+)(?: (\w+))? -->\n(.*?)^<!-- /options -->$", re.M | re.S)


# ---- the examples ----


@dataclass
class Example:
    command: str
    output: str


def console_blocks(text: str) -> list[tuple[int, list[Example]]]:
    """(line, examples) of each ```console block: `$ ` commands (a trailing backslash
    continues one), each followed by the output it shows."""
    blocks = []
    for match in FENCE.finditer(text):
        if match.group(1) != "console":
            continue
        examples: list[Example] = []
        lines = match.group(2).splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            assert line.startswith("$ "), (
                f"README line {text[: match.start()].count(chr(10)) + 2 + i}: {line}"
            )
            command = line[2:]
            while command.endswith("\\"):
                i += 1
                command += "\n" + lines[i]  # bash reads the backslash-newline as one line
            i += 1
            output = []
            while i < len(lines) and not lines[i].startswith("$ "):
                output.append(lines[i])
                i += 1
            examples.append(Example(command, "".join(f"{o}\n" for o in output)))
        blocks.append((text[: match.start()].count("\n") + 1, examples))
    return blocks


def python_blocks(text: str) -> list[str]:
    return [m.group(2) for m in FENCE.finditer(text) if m.group(1) == "python"]


# the file a block is: the last `NAME.py` in the sentence that introduces it
INTRODUCED = re.compile(r"`([\w.]+\.py)`[^`\n]*(?::|next to it:)\s*$")


def named_blocks(text: str) -> dict[str, str]:
    """{file name: code} of the ```python blocks the README introduces as files."""
    return {name: code for name, (_, code) in _introduced(text).items()}


def _introduced(text: str) -> dict[str, tuple[int, str]]:
    named = {}
    for match in FENCE.finditer(text):
        if match.group(1) != "python":
            continue
        before = text[: match.start()].rstrip("\n").rsplit("\n\n", 1)[-1]
        introduced = INTRODUCED.search(before)
        if introduced is not None:
            named[introduced.group(1)] = (text[: match.start()].count("\n") + 1, match.group(2))
    return named


def other_suites(text: str, line: int) -> list[str]:
    """The test files the README shows that a console block at ``line`` must not see: all
    but the last one shown before it (each block's ``pytest`` runs the suite it shows)."""
    tests = sorted((at, name) for name, (at, _) in _introduced(text).items() if name.startswith("test_"))
    shown = [name for at, name in tests if at < line][-1:]
    return [name for _, name in tests if name not in shown]


def machine_free(text: str) -> str:
    """Output without what differs between machines and runs."""
    text = re.sub(r"#\d+\b", "#N", text)
    text = re.sub(r"\b(pid|line|lines|at line) \d+(\+\d+)*", r"\1 N", text)
    text = re.sub(r'"(line|pid|ret)": \d+', r'"\1": N', text)
    text = re.sub(r'"lines": \[[\d, ]+\]', '"lines": [N]', text)
    text = re.sub(r"(pipe|socket):\[\d+\]", r"\1:[N]", text)
    text = re.sub(r"0x[0-9a-f]+", "0xN", text)
    text = re.sub(r"\b\d+\.\d+ ?s\b", "N s", text)
    text = re.sub(r"AT_FDCWD<[^>]*>", "AT_FDCWD<$CWD>", text)
    text = re.sub(r"\S*/pytest-of-[^/\s]+/pytest-\d+", "$PYTEST_TMP", text)
    text = _table_pids_free(text)
    text = re.sub(r"^\d+(?= +(?:\w+\(|<\.\.\.|\+\+\+|---))", "N", text, flags=re.M)  # raw lines' pids
    text = re.sub(r"\[pid +\d+\]", "[pid N]", text)
    text = re.sub(r"\bpid=\d+", "pid=N", text)  # a Syscall's repr, with its raw line's pid:
    text = re.sub(r"'\d+(?= +\w+\()", "'N", text)  # short after pid_max wraps
    text = re.sub(r"\b\d{4,}\b", "N", text)  # pids elsewhere (pid_max wraps: short ones too, above)
    text = re.sub(r'"raw": "\d+(?= )', '"raw": "N', text)  # a JSON event's raw line: its pid
    text = re.sub(r"\\n\d+(?= )", r"\\nN", text)  # ... and after each "\n" in it
    text = re.sub(r"((?:wait4|waitid|clone3?|v?fork)\b[^\"\n]*?\) += )\d+", r"\1N", text)  # pid results
    text = re.sub(r"\d+ syscalls \(\d+ failed\)", "N syscalls (N failed)", text)
    text = re.sub(r"^( +(syscalls|failed): ).*$", r"\1...", text, flags=re.M)
    return re.sub(r" {2,}", " ", text)  # columns sized by the pids (strace pads them too)


def _table_pids_free(text: str) -> str:
    """A summary's process table, its pid and parent columns as N: after pid_max wraps
    (32768 here) a run's pids may have any number of digits."""
    out, in_table = [], False
    for line in text.split("\n"):
        if re.match(r" +pid +parent +program\b", line):
            in_table = True
        elif in_table and (row := re.match(r"( +)\d+( {2,})(\d+ +)?(?=\S)", line)):
            parent = "N " if row.group(3) else ""
            line = f"{row.group(1)}N{row.group(2)}{parent}{line[row.end() :]}"
        else:
            in_table = False
        out.append(line)
    return "\n".join(out)


def test_machine_free_hides_pids_of_any_length() -> None:
    """Run 19 of a flake check failed three examples: pid_max had wrapped, the table's pids
    had three digits, and only pids of four or more were hidden; a later one failed on the
    pids inside a JSON event's raw line."""
    ran = (
        "  pid  parent  program               end\n"
        "  513          build/demo/pipe_leak  exited 0\n"
        "  514  513     /usr/bin/true         exited 0\n"
        "  2 processes\n"
        '513   write(1, "x", 1) = 1\n'
        "[pid   514] +++ exited with 0 +++\n"
        '{"pid": 513, "raw": "513   wait4(-1,  <unfinished ...>\\n513   <... wait4 resumed>) = 514"}\n'
    )
    shown = ran.replace("513", "48213").replace("514", "48214")
    assert machine_free(ran) == machine_free(shown)
    assert "2 processes" in machine_free(ran) and "exited 0" in machine_free(ran)


@pytest.fixture
def readme_folder(tmp_path: Path) -> Path:
    """A folder holding what the README's examples assume."""
    folder = tmp_path / "readme"
    shutil.copytree(ROOT / "examples", folder / "examples")
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.fail("a C compiler (cc) is needed to build the README's example program")
    (folder / "build" / "demo").mkdir(parents=True)
    subprocess.run([cc, "-O1", "-o", "build/demo/pipe_leak", "examples/pipe_leak.c"], cwd=folder, check=True)
    shutil.copy(folder / "examples" / "pipe_leak.c", folder / "pipe_leak.c")
    subprocess.run([cc, "-D_GNU_SOURCE", "-o", "pipe_leak", "pipe_leak.c"], cwd=folder, check=True)
    for name, code in named_blocks(README.read_text()).items():
        (folder / name).write_text(code)
    return folder


def environment(folder: Path) -> dict[str, str]:
    temporary = folder.parent / "pytest-tmp"  # outside the rootdir: pytest shows these paths whole
    temporary.mkdir(exist_ok=True)
    # pytest prints the short summary untruncated when CI or BUILD_NUMBER is set, as on CI machines
    inherited = {name: value for name, value in os.environ.items() if name not in ("CI", "BUILD_NUMBER")}
    return {
        **inherited,
        "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",  # no pyenv shims: python3 is the venv's
        "PYTEST_DEBUG_TEMPROOT": str(temporary),  # the inner pytest's, away from this session's
        "PYTEST_ADDOPTS": "-p no:cacheprovider",
        "COLUMNS": "80",
    }


def run_example(command: str, folder: Path, env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=folder,
        env=env,
        preexec_fn=default_signals,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout


BLOCKS = console_blocks(README.read_text())
SET_UP = [line for line, examples in BLOCKS if examples[0].command.startswith("make ")]


@pytest.mark.usefixtures("strace_ok")
@pytest.mark.parametrize(
    ("line", "examples"),
    [pytest.param(line, examples, id=f"line {line}") for line, examples in BLOCKS if line not in SET_UP],
)
def test_console_examples(line: int, examples: list[Example], readme_folder: Path, backend_env: None) -> None:
    for name in other_suites(README.read_text(), line):
        (readme_folder / name).unlink()
    env = environment(readme_folder)
    status = 0
    for example in examples:
        if example.command == "echo $?":
            got = f"{status}\n"
        else:
            status, got = run_example(example.command, readme_folder, env)
        assert machine_free(got) == machine_free(example.output), f"$ {example.command}\n{got}"


def test_the_set_up_block_is_the_only_one_left_out() -> None:
    assert len(SET_UP) == 1
    (line,) = SET_UP
    (examples,) = [examples for at, examples in BLOCKS if at == line]
    assert [e.command.split("#")[0].strip() for e in examples] == ["make demo", "make test"]


@pytest.mark.usefixtures("strace_ok")
def test_python_examples(readme_folder: Path, backend_env: None) -> None:
    text = README.read_text()
    files = named_blocks(text).values()
    (api,) = [code for code in python_blocks(text) if code not in files]
    done = subprocess.run(
        [sys.executable, "-c", api],
        cwd=readme_folder,
        env=environment(readme_folder),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")


@pytest.fixture
def backend_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples show the default backend (strace where it can trace)."""
    monkeypatch.delenv("SYSPROBE_BACKEND", raising=False)


# ---- the option tables ----


def option_rows(command: str, group: str | None) -> list[tuple[str, str]]:
    """(option, help) rows of a command's options, as its help declares them."""
    from typer.main import get_command

    from sysprobe.cli import app

    rows = []
    for param in get_command(app).commands[command].params:  # type: ignore[attr-defined]
        if param.param_type_name != "option" or "--help" in param.opts:
            continue
        names = [*param.opts, *param.secondary_opts]
        if group is not None and (group == "rules") != any(name in RULE_OPTIONS for name in names):
            continue
        metavar = "" if getattr(param, "is_flag", False) else f" {param.metavar}"
        cell = ", ".join(f"`{name}{metavar}`" for name in names if name in param.opts) + "".join(
            f", `{name}`" for name in param.secondary_opts
        )
        rows.append((cell, str(param.help).replace("|", "\\|")))
    return rows


def option_table(command: str, group: str | None) -> str:
    head = "| rule | holds when |" if group == "rules" else "| option | |"
    return "".join(
        f"{line}\n"
        for line in [head, "| --- | --- |", *(f"| {a} | {b} |" for a, b in option_rows(command, group))]
    )


def with_tables(text: str) -> str:
    def table(match: re.Match[str]) -> str:
        command, group = match.group(1), match.group(2)
        marker = f"<!-- options: {command}{f' {group}' if group else ''} -->"
        return f"{marker}\n{option_table(command, group)}<!-- /options -->"

    return OPTIONS.sub(table, text)


def test_option_tables_are_the_help() -> None:
    text = README.read_text()
    tables = {(m.group(1), m.group(2)) for m in OPTIONS.finditer(text)}
    assert tables == {("trace", None), ("check", "rules"), ("check", "others"), ("parse", None)}
    assert with_tables(text) == text, (
        "README option tables differ from the help: python -m tests.cli.test_readme --write"
    )


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    README.write_text(with_tables(README.read_text()))
