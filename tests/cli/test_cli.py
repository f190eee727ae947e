"""`sysprobe parse` and the command line's shape: help, completion, one vocabulary across
commands, corrected command lines, output files and stdout."""

from __future__ import annotations

import itertools
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sysprobe.cli import ELSEWHERE, app

from ..helpers import CORPUS, SYSPROBE, sysprobe

SMALL = CORPUS / "tree-sitter-strace" / "example-file-small.strace"


def test_parse_json_lines() -> None:
    done = sysprobe("parse", "--json", str(SMALL))
    assert done.returncode == 0
    header, *events = [json.loads(line) for line in done.stdout.splitlines()]
    assert (header["type"], header["schema"], header["source"]) == ("header", "sysprobe-events", str(SMALL))
    # the call left unfinished (line 9) is emitted when the log ends
    assert [e["line"] for e in events] == [1, 2, 3, 4, 5, 6, 7, 8, 10, 9]
    first = events[0]
    assert first == {
        "type": "syscall",
        "pid": 34724,  # unprefixed: the pid the log gives its only process later
        "line": 1,
        "lines": [1],
        "name": "execve",
        "args": [{"str": "/usr/bin/ls"}, [{"str": "ls"}], {"value": 0x7FFDCC909270, "comment": "84 vars"}],
        "ret": 0,
        "errno": None,
        "raw": 'execve("/usr/bin/ls", ["ls"], 0x7ffdcc909270 /* 84 vars */) = 0',
        "fds": [],
    }
    failed = events[2]
    assert (failed["errno"], failed["errno_text"], failed["ret"]) == ("EINVAL", "Argument invalide", -1)
    assert events[-1]["split"] == "unfinished" and events[-2]["split"] == "resumed"


def test_parse_summary_and_stdin() -> None:
    done = sysprobe("parse", "-", stdin=SMALL.read_text())
    assert done.returncode == 0
    assert "2 processes, 10 syscalls (2 failed), 0 signals" in done.stdout
    assert "failed:   arch_prctl EINVAL 1" in done.stdout


def test_parse_strict_flags_unparsed_lines(tmp_path: Path) -> None:
    log = tmp_path / "odd.log"
    log.write_text('1 close(3) = 0\nthis is not strace\n1 write(1, "cut off')
    lenient = sysprobe("parse", str(log))
    assert lenient.returncode == 0
    assert "unparsed line 2: not a strace line" in lenient.stdout
    assert "1 process, 2 syscalls (0 failed), 0 signals, 1 unparsed line" in lenient.stdout  # no "?" process
    cut = json.loads(sysprobe("parse", "--json", str(log)).stdout.splitlines()[-1])
    assert (cut["name"], cut["split"], cut["cut"]) == ("write", "unfinished", True)  # the log ends in it
    strict = sysprobe("parse", "--strict", str(log))
    assert strict.returncode == 1


def test_parse_per_pid_set_in_time_order() -> None:
    paths = [str(CORPUS / "tracecode-toolkit-strace" / n) for n in ("t.15480", "trace.70676")]
    done = sysprobe("parse", "--json", *paths)
    events = [json.loads(line) for line in done.stdout.splitlines()][1:]  # after the header
    assert {(e["file"], e["pid"]) for e in events} == {("t.15480", 15480), ("trace.70676", 70676)}


def test_parse_missing_file_is_a_usage_error() -> None:
    done = sysprobe("parse", "/nonexistent.log")
    assert (done.returncode, done.stderr) == (2, "sysprobe: /nonexistent.log: no such file\n")


def test_version_and_help() -> None:
    assert sysprobe("--version").stdout.startswith("sysprobe ")
    helped = sysprobe("trace", "--help")
    assert helped.returncode == 0 and "--timeout" in helped.stdout and "CMD [ARGS]..." in helped.stdout
    assert sysprobe("no-such-subcommand").returncode == 2


# ---- issue 19: the command line as people expect it ----

COMMANDS = ["trace", "check", "parse"]
README = (Path(__file__).parents[2] / "README.md").read_text()


def options_of(command: str) -> dict[str, str]:
    """Every option name of a command, with its help."""
    from typer.main import get_command

    group = get_command(app)
    params = group.commands[command].params  # type: ignore[attr-defined]
    return {
        name: str(param.help or "")
        for param in params
        if param.param_type_name == "option"
        for name in [*param.opts, *param.secondary_opts]
    }


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)], ids=lambda c: " ".join(c) or "sysprobe")
def test_h_is_help(command: list[str]) -> None:
    short, long = sysprobe(*command, "-h"), sysprobe(*command, "--help")
    assert (short.returncode, short.stdout, short.stderr) == (0, long.stdout, "")
    assert short.stdout.startswith(f"Usage: sysprobe {' '.join(command)}".rstrip() + " ")


@pytest.mark.parametrize("command", ["trace", "check"])
def test_help_keeps_bracketed_words(command: str) -> None:
    """Rich markup ate [ptrace] ("pip install 'sysprobe')"); the help is plain text."""
    text = " ".join(sysprobe(command, "-h").stdout.split())
    assert "pip install 'sysprobe[ptrace]'" in text
    if command == "check":
        assert "sendmsg(*, {msg_control=[{cmsg_type=SCM_RIGHTS}]}, *)" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_help_ends_with_the_readmes_examples(command: str) -> None:
    lines = sysprobe(command, "-h").stdout.rstrip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("Examples"))
    examples = [line.strip() for line in lines[start + 1 :] if line.strip()]
    assert 2 <= len(examples) <= 3
    for example in examples:
        assert example.startswith(f"$ sysprobe {command} ")
        assert f"\n{example}\n" in README, f"not in the README: {example}"


def test_bash_completion(tmp_path: Path) -> None:
    """The script --show-completion prints for bash completes commands, options and values.
    typer names the shell it runs in (its parent process), so bash runs it: under
    `sh .ci/run` a direct call would meet sh."""
    bin_dir = Path(sys.executable).parent  # where the console script `sysprobe` is
    script = subprocess.run(
        # "; exit $?": bash stays sysprobe's parent (a lone command would be exec'd in its place)
        ["bash", "-c", "sysprobe --show-completion; exit $?"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        check=False,
    )
    assert (script.returncode, script.stderr) == (0, "")
    assert "complete -o default -F _sysprobe_completion sysprobe" in script.stdout
    (tmp_path / "completion.bash").write_text(script.stdout)
    words = {
        "sysprobe ch": "check",
        "sysprobe check --no-fd": "--no-fd-leaks",
        "sysprobe trace --end": "--end-with-command",
        "sysprobe trace --backend ''": "auto strace ptrace",
        "sysprobe check --placement p": "pin",
    }
    probe = "".join(
        f"COMP_WORDS=({line}); COMP_CWORD={len(line.split()) - 1}; _sysprobe_completion sysprobe; "
        'echo "${COMPREPLY[*]}"\n'
        for line in words
    )
    assert (bin_dir / "sysprobe").exists()
    done = subprocess.run(
        ["bash", "-c", f"source {tmp_path}/completion.bash\n{probe}"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        check=True,
        timeout=60,
    )
    assert done.stdout.splitlines() == list(words.values())
    helped = sysprobe("-h").stdout
    assert "--install-completion" in helped and "--show-completion" in helped


def test_shared_options_read_the_same() -> None:
    """One vocabulary: an option two commands take is the same option in both."""
    by_command = {command: options_of(command) for command in COMMANDS}
    shared = {
        name
        for a, b in itertools.combinations(COMMANDS, 2)
        for name in by_command[a].keys() & by_command[b].keys()
    }
    assert {"--json", "-o", "--inject", "--timeout", "--end-with-command", "--backend", "--arch"} <= shared
    for name in shared:
        helps = {by_command[c][name] for c in COMMANDS if name in by_command[c]}
        assert len(helps) == 1, (name, helps)


@pytest.mark.parametrize(("one", "other"), list(itertools.permutations(COMMANDS, 2)))
def test_every_option_is_known_to_the_other_commands(one: str, other: str) -> None:
    """An option learnt in one command works in the other, or the other says why not."""
    theirs = options_of(other)
    missing = [
        name
        for name in options_of(one)
        if name not in theirs and name not in ELSEWHERE[other] and name not in ("-h", "--help")
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["check", "-e", "openat", "--no-fd-leaks"],
            "-e: check traces what its rules and the descriptor model read",
        ),
        (["check", "--strace-arg", "-v", "--no-fd-leaks"], "--strace-arg: check decides what strace traces"),
        (
            ["check", "--golden", "g", "--no-fd-leaks"],
            "--golden: goes with --golden: goldens are compared by",
        ),
        (
            ["trace", "--json-report", "r.json"],
            "--json-report: trace gives no verdicts: sysprobe check --json-report",
        ),
        (
            ["trace", "--forbid", "sendfile"],
            "--forbid: is a rule: rules are check's (sysprobe check --forbid",
        ),
        (["trace", "--full"], "--full: trace traces every call unless -e SET names some"),
        (["parse", "--timeout", "3"], "--timeout: parse reads a finished log: there is no run to give it to"),
    ],
)
def test_an_option_of_another_command_says_where_it_is(args: list[str], said: str, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    done = sysprobe(*args, "--", "touch", str(ran))
    assert (done.returncode, done.stderr.count("\n")) == (2, 1)
    assert done.stderr.startswith(f"sysprobe: {said}")
    assert not ran.exists()


def test_trace_takes_check_words(tmp_path: Path) -> None:
    """trace --inject (as check), check --json (as trace): the same words in both."""
    made = tmp_path / "made"
    code = f"import os\ntry:\n    os.mkdir({str(made)!r})\nexcept PermissionError:\n    raise SystemExit(1)"
    done = sysprobe(
        "trace", "--no-summary", "--inject", "mkdir:error=EPERM", "--", sys.executable, "-c", code
    )
    assert done.returncode == 1 and not made.exists()
    streamed = sysprobe("check", "--json", "--no-fd-leaks", "--", "true")
    header, *events = [json.loads(line) for line in streamed.stdout.splitlines()]
    assert (
        streamed.returncode == 0
        and header["type"] == "header"
        and events[0]["name"] == "execve"
        and "all 1 rule passed" in streamed.stderr
    )


def test_options_after_the_command_need_dashes(tmp_path: Path) -> None:
    """sysprobe's own options after the command would go to it: the corrected line is
    given; after --, they are the command's; options sysprobe does not have pass."""
    echo = ["sh", "-c", 'echo "$@"', "sh"]
    refused = sysprobe("trace", "--no-summary", *echo, "--json", "-e", "x", "--timeout=3")
    assert refused.returncode == 2
    assert refused.stderr == (
        "sysprobe: --json, --timeout came after the command, so sh would get them, not sysprobe; write\n"
        "  sysprobe trace --no-summary --json --timeout=3 -- sh -c 'echo \"$@\"' sh -e x\n"
        "or, to give them to sh, -- before the command:\n"
        "  sysprobe trace --no-summary -- sh -c 'echo \"$@\"' sh --json -e x --timeout=3\n"
    )
    given = sysprobe("trace", "--no-summary", "--", *echo, "--json", "--timeout=3")
    assert (given.returncode, given.stdout) == (0, "--json --timeout=3\n")
    theirs = sysprobe("trace", "--no-summary", *echo, "-l", "--weird")
    assert (theirs.returncode, theirs.stdout) == (0, "-l --weird\n")


def test_a_log_and_a_command_get_both_corrected_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("1 close(3) = 0\n")
    done = sysprobe("check", "--no-fd-leaks", "--log", str(log), "--", "true")
    assert (done.returncode, done.stderr) == (
        2,
        "sysprobe: give either a command or --log FILE, not both: to check the log, "
        f"sysprobe check --no-fd-leaks --log {log}; "
        "to run the command, sysprobe check --no-fd-leaks -- true\n",
    )


def test_options_of_a_run_are_refused_with_a_log(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("1 close(3) = 0\n")
    done = sysprobe("check", "--no-fd-leaks", "--log", str(log), "--timeout", "3", "-o", str(tmp_path / "o"))
    assert (done.returncode, done.stderr) == (
        2,
        "sysprobe: -o, --timeout apply to running a command; --log reads a finished trace\n",
    )


def test_usage_errors_are_one_line() -> None:
    done = sysprobe("check", "--forbidd", "sendfile", "--", "true")
    assert (done.returncode, done.stderr) == (
        2,
        "sysprobe: No such option: --forbidd (Possible options: --forbid, --order) "
        "(sysprobe check -h lists the options)\n",
    )


# ---- --json-report and stdout ----


def test_json_report_to_stdout() -> None:
    done = sysprobe("check", "--no-fd-leaks", "--json-report", "-", "--", "true")
    data = json.loads(done.stdout)
    assert (done.returncode, data["exit_code"], data["passed"]) == (0, 0, True)
    assert "all 1 rule passed" in done.stderr  # the report stays on stderr


def test_json_report_of_an_incomplete_run(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    done = sysprobe(
        "check", "--no-fd-leaks", "--timeout", "1", "--json-report", str(report), "--", "sleep", "30"
    )
    data = json.loads(report.read_text())
    assert (done.returncode, data["exit_code"], data["passed"]) == (124, 124, False)
    assert "timed out after 1 s: the traced processes were killed" in json.dumps(data["incomplete"])
    assert [r["verdict"] for r in data["results"]] == ["undecided"]
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # written whole: no temporary file left


@pytest.mark.usefixtures("strace_ok")
def test_json_report_carries_the_runs_notes(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    done = sysprobe(
        "check", "--no-fd-leaks", "--json-report", str(report), "--", "strace", "-o", os.devnull, "true"
    )
    data = json.loads(report.read_text())
    assert done.returncode == 0
    assert any("the command's own ptrace was refused" in note for note in data["notes"])
    assert "  note: the command's own ptrace was refused" in done.stderr


def test_json_report_through_a_symlink_and_to_a_device(tmp_path: Path) -> None:
    """A symlink's target is written (the link stays); a device is written, never replaced."""
    target, link = tmp_path / "real.json", tmp_path / "link.json"
    link.symlink_to(target)
    dangling = sysprobe("check", "--no-fd-leaks", "--json-report", str(link), "--", "true")
    assert dangling.returncode == 2 and "which does not exist" in dangling.stderr  # as for goldens
    assert not target.exists()
    target.write_text("{}")
    done = sysprobe("check", "--no-fd-leaks", "--json-report", str(link), "--", "true")
    assert done.returncode == 0 and link.is_symlink() and json.loads(target.read_text())["exit_code"] == 0
    device = sysprobe("check", "--no-fd-leaks", "--json-report", "/dev/stdout", "--", "true")
    assert device.returncode == 0 and json.loads(device.stdout)["exit_code"] == 0
    assert os.path.islink("/dev/stdout")


def test_a_closed_stdout_ends_sysprobe_quietly() -> None:
    """`sysprobe trace --json | head`: exit 141 as SIGPIPE, no traceback, the run stopped."""
    marker = f"7.{os.getpid()}"
    proc = subprocess.Popen(
        [
            *SYSPROBE,
            "trace",
            "--json",
            "--",
            "sh",
            "-c",
            f"while :; do echo x > /dev/null; done; sleep {marker}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline().startswith(b'{"type": "header"')
    assert proc.stdout.readline().startswith(b'{"type": "syscall"')
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (128 + signal.SIGPIPE, b"")


def test_end_with_command() -> None:
    """A daemon keeps strace -f open: --end-with-command ends the run with the command."""
    # the shell waits (without forking) until its child is sleep, not a "sh" between fork and exec
    wait = 'sleep 30 & c=; until [ "$c" = sleep ]; do read c < /proc/$!/comm; done; exit 4'
    script = ["sh", "-c", wait]
    started = time.monotonic()
    traced = sysprobe("trace", "--no-summary", "--end-with-command", "--", *script)
    assert traced.returncode == 4
    assert "sysprobe: note: the run ended with the command: pid " in traced.stderr
    assert "(sleep) left running, killed" in traced.stderr
    checked = sysprobe("check", "--no-fd-leaks", "--end-with-command", "--json-report", "-", "--", *script)
    assert (
        checked.returncode == 0 and "(sleep) left running, killed" in json.loads(checked.stdout)["notes"][0]
    )
    assert time.monotonic() - started < 20


# ---- logs that are not files ----


def test_parse_reads_a_pipe_and_refuses_a_directory_or_a_device(tmp_path: Path) -> None:
    piped = subprocess.run(
        ["bash", "-c", f"{' '.join(SYSPROBE)} parse <(cat {SMALL})"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert piped.returncode == 0 and "2 processes, 10 syscalls (2 failed)" in piped.stdout
    assert sysprobe("parse", str(tmp_path)).stderr == (
        f"sysprobe: {tmp_path}: a directory, not a log (the files of strace -ff are NAME.PID)\n"
    )
    assert sysprobe("check", "--no-fd-leaks", "--log", os.devnull).stderr == (
        f"sysprobe: {os.devnull}: not a file or a pipe\n"
    )
    loop = tmp_path / "loop"
    loop.symlink_to(loop)  # neither there nor missing: what stat says is the error
    assert sysprobe("check", "--no-fd-leaks", "--log", str(loop)).stderr == (
        f"sysprobe: {loop}: too many levels of symbolic links\n"
    )
    assert sysprobe("check", "--no-fd-leaks", "--log", f"{tmp_path}/none/x.log").stderr == (
        f"sysprobe: {tmp_path}/none/x.log: no such file\n"
    )


def test_a_raw_copy_that_cannot_be_written_is_an_error_and_never_unlinks_a_pipe(tmp_path: Path) -> None:
    """-o to a pipe whose reader goes away: one line, exit 2, the run stopped; a failed run
    removes its raw copy only if it is a regular file (as root, -o /dev/null was unlinked)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        failed = sysprobe(
            "trace", "--backend", "strace", "-o", str(fifo), "--strace-arg=--no-such-option", "--", "true"
        )
        assert failed.returncode == 78 and stat.S_ISFIFO(os.lstat(fifo).st_mode)
        started = tmp_path / "started"
        loop = f"touch {started}; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); : < /dev/null; done"
        proc = subprocess.Popen(
            [*SYSPROBE, "trace", "--no-summary", "-o", str(fifo), "--", "sh", "-c", loop],
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not started.exists():  # the copy is open once the command runs
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.5)  # the pipe is full by now: sysprobe waits to write the copy
    finally:
        os.close(reader)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (2, f"sysprobe: cannot write the trace to {fifo}: Broken pipe\n")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


HELP = Path(__file__).parents[1] / "data" / "help"


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_is_pinned(command: str) -> None:
    """The help, word for word (a lazier import of typer must keep it identical).
    SYSPROBE_WRITE_HELP=1 rewrites tests/data/help/ after a deliberate change."""
    done = sysprobe(*([command] if command else []), "-h", env={**os.environ, "COLUMNS": "80"})
    pinned = HELP / f"{command or 'sysprobe'}.txt"
    if os.environ.get("SYSPROBE_WRITE_HELP"):
        pinned.parent.mkdir(exist_ok=True)
        pinned.write_text(done.stdout)
    assert done.stdout == pinned.read_text()


def test_events_file_is_never_damaged_by_a_refused_run(tmp_path: Path) -> None:
    """--events PATH is opened at the first event: a run refused before it (a usage error,
    a log that does not exist) leaves an existing file as it was; two options naming one
    file are refused."""
    events = tmp_path / "events.jsonl"
    events.write_text('{"kept": true}\n')
    for args in (
        ["check", "--events", str(events), "--timeout", "0", "--no-fd-leaks", "--", "true"],
        ["check", "--events", str(events), "--no-fd-leaks", "--log", str(tmp_path / "none.log")],
        ["parse", "--events", str(events), str(tmp_path / "none.log")],
    ):
        done = sysprobe(*args)
        assert done.returncode == 2 and events.read_text() == '{"kept": true}\n', (args, done.stderr)
    same = sysprobe(
        "check", "--events", str(events), "--json-report", str(events), "--no-fd-leaks", "--", "true"
    )
    assert same.returncode == 2 and "--json-report and --events name the same file" in same.stderr
    done = sysprobe("check", "--events", str(events), "--no-fd-leaks", "--", "true")
    header, *written = [json.loads(line) for line in events.read_text().splitlines()]
    assert done.returncode == 0 and header["type"] == "header" and written[0]["name"] == "execve"


def test_stdin_and_stdout_are_not_one_file(tmp_path: Path) -> None:
    """`--log -` reads stdin: beside `--json-report -` nothing is written twice. And the
    file stdout is redirected to is the file `-` names, for -o too."""
    log = '1 execve("/bin/x", ["x"], 0x1 /* 1 var */) = 0\n1 brk(NULL) = 0\n1 +++ exited with 0 +++\n'
    done = sysprobe("check", "--log", "-", "--json-report", "-", "--forbid", "sendfile", stdin=log)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verdict"] == "passed"
    out = tmp_path / "out.log"
    with open(out, "w") as stdout:
        refused = subprocess.run(
            [*SYSPROBE, "check", "--events", "-", "-o", str(out), "--forbid", "sendfile", "--", "true"],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert refused.returncode == 2
    assert refused.stderr == "sysprobe: -o and --events name the same file: stdout\n"
