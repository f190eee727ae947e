"""The ``sysprobe`` command line. It adapts the library to a terminal and nothing more:
every decision it shows is made in the library.

Start-up time counts (a check should cost little more than the traced program): modules
are imported by the command that needs them; rich only colours reports on a terminal.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ._report.output import emit
from ._version import __version__
from .errors import EXIT_TIMEOUT, SysprobeError, UsageError

if TYPE_CHECKING:
    from ._parsing.jsonl import JsonLinesWriter

app = typer.Typer(
    name="sysprobe",
    help="Run a program under strace -f and check what it did to the kernel.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Options end at the command: `sysprobe trace ls -l` gives -l to ls, as strace and env do.
COMMAND_CONTEXT = {"allow_interspersed_args": False}

CommandArg = Annotated[list[str], typer.Argument(metavar="CMD [ARGS]...", help="The command to trace.")]
PlacementOpt = Annotated[
    str,
    typer.Option(
        help="auto|pin: strace and the program on one CPU, sysprobe on the others (fast); off: leave them be "
        "(for programs with several busy threads)."
    ),
]
TimeoutOpt = Annotated[
    float | None, typer.Option(help="Kill the whole traced tree after S seconds.", min=0.0)
]
StraceOpt = Annotated[str | None, typer.Option(help="The strace binary to use.")]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        help="strace | ptrace (in-process, python-ptrace: pip install 'sysprobe[ptrace]') | "
        "auto (strace where it can trace, else ptrace). Default: $SYSPROBE_BACKEND, else auto.",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    Path | None, typer.Option("-o", "--output", help="Also save the raw strace text to FILE.")
]


def fail(error: SysprobeError) -> NoReturn:
    print(f"sysprobe: {error}", file=sys.stderr)
    raise typer.Exit(error.exit_code)


def json_destination(path: str, source: str, arch: str | None = None) -> JsonLinesWriter:
    """The events' own stream (``--events PATH``): a file, or ``-`` for stdout. With
    ``-``, the stream takes a copy of stdout and stdout itself becomes stderr, so that a
    traced command's own output (and anything else written to fd 1) never lands in the
    JSON Lines."""
    from ._parsing.jsonl import JsonLinesWriter

    if path == "-":
        stream_fd = os.dup(1)
        os.dup2(2, 1)
        return JsonLinesWriter(os.fdopen(stream_fd, "w", encoding="utf-8"), source, arch)
    try:
        out = open(path, "w", encoding="utf-8")  # noqa: SIM115 - the writer closes it
    except OSError as error:
        fail(UsageError(f"--events {path}: {error.strerror or error}"))
    return JsonLinesWriter(out, source, arch)


EventsOpt = Annotated[
    str | None,
    typer.Option(
        "--events",
        metavar="PATH",
        help="Write the events as JSON Lines to PATH ('-': stdout; the command's own stdout then goes to "
        "stderr). Schema: README 'JSON Lines'.",
    ),
]


@app.command(context_settings=COMMAND_CONTEXT)
def trace(
    command: CommandArg,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json", help="Same as --events -: events as JSON Lines on stdout, the command's on stderr."
        ),
    ] = False,
    events: EventsOpt = None,
    output: OutputOpt = None,
    trace_set: Annotated[
        str | None,
        typer.Option("-e", "--trace", help="Syscalls to trace, in strace's syntax: openat,%process."),
    ] = None,
    timeout: TimeoutOpt = None,
    strace: StraceOpt = None,
    strace_arg: Annotated[
        list[str] | None, typer.Option("--strace-arg", help="Pass an option to strace as is (repeatable).")
    ] = None,
    summary: Annotated[bool, typer.Option(help="Print a summary to stderr at the end.")] = True,
    golden: Annotated[
        Path | None, typer.Option(help="Compare the normalized trace with this golden file (exit 0/1).")
    ] = None,
    update: Annotated[bool, typer.Option(help="With --golden: write the golden file instead.")] = False,
    replace: Annotated[
        list[str] | None, typer.Option(help="With --golden: OLD=NEW, a text to normalize (repeatable).")
    ] = None,
    substitute: Annotated[
        list[str] | None,
        typer.Option(
            help="With --golden: REGEX=REPLACEMENT, a regular expression to normalize (repeatable)."
        ),
    ] = None,
    placement: PlacementOpt = "auto",
    backend: BackendOpt = None,
) -> None:
    """Run CMD under strace -f, parse its trace as it runs, exit with CMD's status."""
    from . import _pipeline

    if update and golden is None:
        fail(UsageError("--update goes with --golden PATH"))
    split = [r.split("=", 1) for r in replace or []]
    if any(len(p) != 2 or not p[0] for p in split):
        fail(UsageError("--replace takes OLD=NEW"))
    pairs = [(p[0], p[1]) for p in split]
    from ._golden.golden import parse_substitution

    try:
        subs = [parse_substitution(text) for text in substitute or []]
    except ValueError as error:
        fail(UsageError(f"--substitute {error}"))
    if json_out and events is not None and events != "-":
        fail(UsageError("--json is --events -: give one of them"))
    destination = "-" if json_out else events
    sink = json_destination(destination, shlex.join(command)) if destination is not None else None
    try:
        run = _pipeline.command(
            command,
            syscalls=trace_set,
            golden=golden is not None,
            strace_args=strace_arg or [],
            timeout=timeout,
            raw_output=output,
            strace=strace,
            placement=placement,
            backend=backend,
        )
        recording = _pipeline.record(
            run,
            keep_events=golden is not None,
            on_event=sink.write if sink else None,
            on_idle=sink.flush if sink else None,
        )
    except SysprobeError as error:
        fail(error)
    finally:
        if sink is not None:
            sink.close()
    outcome = recording.outcome
    assert outcome is not None
    if summary:
        emit(recording.summary_lines())
    if outcome.timed_out:
        print(f"sysprobe: timed out after {timeout:g} s; the traced processes were killed", file=sys.stderr)
        raise typer.Exit(EXIT_TIMEOUT)
    if golden is not None:
        from ._trace import Trace

        result = Trace.of(recording).compare_golden(
            golden, update=update, replacements=pairs, substitutions=subs
        )
        print(f"sysprobe: {result.message()}", file=sys.stderr)
        raise typer.Exit(0 if result.ok else 1)
    raise typer.Exit(outcome.exit_status if outcome.exit_status is not None else 0)


@app.command(context_settings=COMMAND_CONTEXT)
def check(
    command: Annotated[
        list[str] | None,
        typer.Argument(metavar="[CMD [ARGS]...]", help="The command to trace (or use --log)."),
    ] = None,
    expect: Annotated[list[str] | None, typer.Option(help="At least one call matches PATTERN.")] = None,
    forbid: Annotated[list[str] | None, typer.Option(help="No call matches PATTERN.")] = None,
    expect_count: Annotated[
        list[str] | None,
        typer.Option(help="'OP N PATTERN': the count of matching calls, e.g. '>=2 sendfile'."),
    ] = None,
    order: Annotated[
        list[str] | None, typer.Option(help="'A -> B': in each process, an A before its first B.")
    ] = None,
    cloexec: Annotated[
        list[str] | None,
        typer.Option(
            help="Descriptors made by calls matching PATTERN have close-on-exec (at each exec, whenever "
            "another thread forks, at the end)."
        ),
    ] = None,
    no_fd_leaks: Annotated[
        bool,
        typer.Option(
            "--no-fd-leaks",
            help="No descriptor above 2 crosses an execve without close-on-exec, but those the exec'ing "
            "process passed on purpose (it cleared close-on-exec or dup2'd it itself).",
        ),
    ] = False,
    allow_fd: Annotated[
        list[str] | None,
        typer.Option(help="With --no-fd-leaks: N, N-M, or PROGRAM:N (into that program only) may cross."),
    ] = None,
    count_passes: Annotated[
        bool,
        typer.Option(
            "--count-passes", help="With --no-fd-leaks: descriptors passed on purpose count as leaks too."
        ),
    ] = False,
    expect_exit: Annotated[
        int | None, typer.Option(help="The command's exit status (128+N when killed by N).")
    ] = None,
    log: Annotated[
        list[str] | None, typer.Option(help="Check an existing strace log instead of running CMD.")
    ] = None,
    inject: Annotated[
        list[str] | None,
        typer.Option(help="strace fault injection, e.g. epoll_create1:error=ENOSYS (repeatable)."),
    ] = None,
    arch: Annotated[
        str | None, typer.Option(help="Architecture of a --log, for -X raw numbers (default: this one).")
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Trace every call, not only the ones the rules and the descriptor model read."
        ),
    ] = False,
    seccomp: Annotated[
        bool, typer.Option(help="Let the kernel filter the traced calls (--seccomp-bpf).")
    ] = True,
    json_report: Annotated[Path | None, typer.Option(help="Also write the verdicts as JSON to FILE.")] = None,
    placement: PlacementOpt = "auto",
    timeout: TimeoutOpt = None,
    strace: StraceOpt = None,
    output: OutputOpt = None,
    backend: BackendOpt = None,
) -> None:
    """Check rules on what CMD did (or on a --log): exit 0 if all hold, 1 if one fails.

    PATTERN reads like strace's output: sendfile, epoll_create1(EPOLL_CLOEXEC),
    fcntl(*, F_SETFD, FD_CLOEXEC) = 0, sendmsg(*, {msg_control=[{cmsg_type=SCM_RIGHTS}]}, *).
    """
    from . import _pipeline
    from ._rules.rules import RuleSet

    rules = RuleSet(
        expect=expect or [],
        forbid=forbid or [],
        expect_count=expect_count or [],
        order=order or [],
        cloexec=cloexec or [],
        no_fd_leaks=no_fd_leaks,
        allow_fds=allow_fd or [],
        expect_exit=expect_exit,
        count_passes=count_passes,
    )
    try:
        rules.build()  # a rule that does not parse is the first thing to say
        source = _pipeline.source(
            command,
            log,
            arch=arch,
            inject=inject or [],
            seccomp=seccomp,
            placement=placement,
            timeout=timeout,
            strace=strace,
            raw_output=output,
            backend=backend,
        )
        report = _pipeline.check(rules, source, full=full)
    except SysprobeError as error:
        fail(error)
    emit(report.lines())
    if json_report is not None:
        json_report.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    raise typer.Exit(report.exit_code)


@app.command()
def parse(
    files: Annotated[list[str], typer.Argument(metavar="FILE...", help="strace logs ('-' reads stdin).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print events as JSON Lines.")] = False,
    strict: Annotated[bool, typer.Option(help="Exit 1 when a line could not be parsed.")] = False,
) -> None:
    """Parse existing strace logs (any strace version, any options) into events.

    Per-pid files of one `strace -ff -o NAME` run (NAME.123, NAME.124) are merged in time
    order when they carry timestamps.
    """
    from . import _pipeline

    sink = json_destination("-", " ".join(files)) if json_out else None
    try:
        recording = _pipeline.record(
            _pipeline.logs(files), keep_events=False, on_event=sink.write if sink else None
        )
    except SysprobeError as error:
        if sink is not None:
            sink.close()  # the events read before the error stay valid JSON Lines
        fail(error)
    if sink is not None:
        sink.close()
    else:
        emit(recording.summary_lines(), sys.stdout)
    summary = recording.analysis.summary
    if strict and summary is not None and summary.unparsed:
        raise typer.Exit(1)


def version_callback(value: bool) -> None:
    if value:
        print(f"sysprobe {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """sysprobe: assert what a program really did to the kernel."""


def main() -> None:
    app()
