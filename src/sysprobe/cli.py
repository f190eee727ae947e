"""The ``sysprobe`` command line. It adapts the library to a terminal and nothing more:
every decision it shows is made in the library.

Start-up time counts (a check should cost little more than the traced program): modules
are imported by the command that needs them; rich only colours reports on a terminal.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TextIO

import typer

from ._report.output import emit
from ._version import __version__
from .errors import EXIT_TIMEOUT, SysprobeError, UsageError

if TYPE_CHECKING:
    from ._analysis import Analysis, Report
    from .events import Event

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


def check_placement(placement: str) -> None:
    from ._tracing.placement import MODES

    if placement not in MODES:
        fail(UsageError(f"--placement {placement!r}: expected one of {', '.join(MODES)}"))


class JsonLines:
    """Events as JSON Lines, flushed whenever the trace goes quiet."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, event: Event) -> None:
        self.out.write(json.dumps(event.to_json()) + "\n")

    def flush(self) -> None:
        self.out.flush()


@app.command(context_settings=COMMAND_CONTEXT)
def trace(
    command: CommandArg,
    json_out: Annotated[bool, typer.Option("--json", help="Stream events as JSON Lines to stdout.")] = False,
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
    placement: PlacementOpt = "auto",
    backend: BackendOpt = None,
) -> None:
    """Run CMD under strace -f, parse its trace as it runs, exit with CMD's status."""
    from ._golden.golden import GOLDEN_SYSCALLS, STRING_LIMIT
    from ._report.summary import Summary
    from ._tracing.backends import start
    from ._tracing.strace.backend import StraceOptions

    check_placement(placement)
    if update and golden is None:
        fail(UsageError("--update goes with --golden PATH"))
    pairs = [tuple(r.split("=", 1)) for r in replace or []]
    if any(len(p) != 2 or not p[0] for p in pairs):
        fail(UsageError("--replace takes OLD=NEW"))
    # a golden needs only the descriptor and process calls: tell strace to skip the rest
    syscalls = trace_set if trace_set or golden is None else GOLDEN_SYSCALLS
    options = StraceOptions(
        syscalls=syscalls,
        strace_args=strace_arg or [],
        string_limit=STRING_LIMIT if golden is not None else None,
        timeout=timeout,
        raw_output=str(output) if output else None,
        strace=strace,
        placement=placement,
    )
    sink = JsonLines(sys.stdout) if json_out else None
    tally = Summary()
    kept: list[Event] = []
    try:
        run = start(command, options, backend, on_idle=sink.flush if sink else None)
        for event in run.events():
            tally.add(event)
            if golden is not None:
                kept.append(event)
            if sink is not None:
                sink.write(event)
    except SysprobeError as error:
        fail(error)
    finally:
        if sink is not None:
            sink.flush()
    outcome = run.outcome
    assert outcome is not None
    if summary:
        end = "killed by " + outcome.leader_signal if outcome.leader_signal else f"exit {outcome.exit_status}"
        emit(tally.lines(f"{shlex.join(command)} — {end}, {outcome.wall_seconds:.2f} s, {outcome.tracer}"))
    if outcome.timed_out:
        print(f"sysprobe: timed out after {timeout:g} s; the traced processes were killed", file=sys.stderr)
        raise typer.Exit(EXIT_TIMEOUT)
    if golden is not None:
        from ._golden.golden import compare_or_update
        from ._trace import Trace

        recorded = Trace(kept, title=shlex.join(command), outcome=outcome, syscalls=trace_set)
        result = compare_or_update(golden, recorded.golden([(p[0], p[1]) for p in pairs]), update=update)
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
            help="Descriptors made by calls matching PATTERN have close-on-exec (at each exec, at the end)."
        ),
    ] = None,
    no_fd_leaks: Annotated[
        bool,
        typer.Option("--no-fd-leaks", help="No descriptor above 2 crosses an execve without close-on-exec."),
    ] = False,
    allow_fd: Annotated[
        list[int] | None, typer.Option(help="A descriptor passed on purpose (with --no-fd-leaks).")
    ] = None,
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
    from ._analysis import Analysis
    from ._kernel.constants import ARCHES
    from ._rules.rules import RuleSet, needed_syscalls

    check_placement(placement)
    rules = RuleSet(
        expect=expect or [],
        forbid=forbid or [],
        expect_count=expect_count or [],
        order=order or [],
        cloexec=cloexec or [],
        no_fd_leaks=no_fd_leaks,
        allow_fds=allow_fd or [],
        expect_exit=expect_exit,
    )
    try:
        built = rules.build()
        if not built:
            raise UsageError("no rules given (try --expect PATTERN, --forbid PATTERN or --no-fd-leaks)")
        if bool(log) == bool(command):
            raise UsageError(
                "give either a command to run (after --) or --log FILE, not both"
                if log
                else "give a command to run (after --) or --log FILE"
            )
        if arch is not None and arch not in ARCHES:
            raise UsageError(f"unknown architecture {arch!r} (known: {', '.join(ARCHES)})")
        analysis = Analysis(built, arch=arch)
        if log:
            from ._parsing.sources import parse_paths

            for name in log:
                if not Path(name).is_file():
                    raise UsageError(f"{name}: no such file")
            analysis.feed_all(parse_paths(log))
            report = analysis.finish(" ".join(log))
        else:
            assert command is not None
            report = run_check(
                command,
                analysis,
                None if full else needed_syscalls(built),
                inject or [],
                seccomp,
                placement,
                timeout,
                strace,
                output,
                backend,
            )
    except SysprobeError as error:
        fail(error)
    emit(report.lines())
    if json_report is not None:
        json_report.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    if report.incomplete:
        raise typer.Exit(EXIT_TIMEOUT)
    raise typer.Exit(0 if report.passed else 1)


def run_check(
    command: list[str],
    analysis: Analysis,
    syscalls: set[str] | None,
    inject: list[str],
    seccomp: bool,
    placement: str,
    timeout: float | None,
    strace: str | None,
    output: Path | None,
    backend: str | None,
) -> Report:
    from ._tracing.backends import start
    from ._tracing.strace.backend import StraceOptions

    options = StraceOptions(
        syscalls=syscalls,
        seccomp=seccomp,
        inject=inject,
        timeout=timeout,
        raw_output=str(output) if output else None,
        strace=strace,
        placement=placement,
    )
    run = start(command, options, backend)
    analysis.feed_all(run.events())
    outcome = run.outcome
    assert outcome is not None
    incomplete = (
        f"timed out after {timeout:g} s; the verdict is on a partial trace" if outcome.timed_out else None
    )
    report = analysis.finish(shlex.join(command), outcome.exit_status, incomplete)
    report.tracer = outcome.tracer
    return report


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
    from ._parsing.sources import parse_paths
    from ._report.summary import Summary

    for name in files:
        if name != "-" and not Path(name).is_file():
            print(f"sysprobe: {name}: no such file", file=sys.stderr)
            raise typer.Exit(2)
    tally = Summary()
    sink = JsonLines(sys.stdout) if json_out else None
    for event in parse_paths(files):
        tally.add(event)
        if sink is not None:
            sink.write(event)
    if sink is not None:
        sink.flush()
    else:
        emit(tally.lines(" ".join(files)), sys.stdout)
    if strict and tally.unparsed:
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
