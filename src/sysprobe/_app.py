"""The ``sysprobe`` command line. It adapts the library to a terminal and nothing more:
every decision it shows is made in the library (the exit codes: ``Report.exit_code`` for
``check``, ``Recording.exit_code`` for ``trace``).

One vocabulary: an option two commands share is declared once here (``-o``, ``--json``,
``--inject``, ``--timeout``...), with the same words and help in both; an option of another
command gets a sentence saying where it is, or why not here (``ELSEWHERE``).

Help is plain text (``rich_markup_mode=None``): markup would eat ``[ptrace]`` and the
brackets of patterns. Start-up time counts (a check should cost little more than the
traced program): modules are imported by the command that needs them; rich only colours
reports on a terminal.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from ._cli_run import PROG, _named, check_rules, distinct, events_sink, fail, run_check
from ._report.output import emit
from ._version import __version__
from .errors import EXIT_USAGE, SysprobeError, UsageError

_ARGS = "sysprobe.args"  # ctx.meta key: the command's arguments as given


def examples(*lines: str) -> str:
    """A command's help epilog: examples from the README (tests/cli/test_readme.py checks
    that each one is there, and runs them)."""
    return "Examples (README.md has more):\n\n\b\n" + "\n".join(f"  $ {line}" for line in lines)


app = typer.Typer(
    name=PROG,
    help="Run a program under strace -f and check what it did to the kernel.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: [ptrace] and patterns print as written
    context_settings={"help_option_names": ["-h", "--help"]},
)


# ---- options more than one command takes: one declaration, one help ----

CommandArg = Annotated[list[str], typer.Argument(metavar="CMD [ARGS]...", help="The command to trace.")]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json", help="Same as --events -: the events as JSON Lines on stdout, the command's own on stderr."
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "-o",
        "--output",
        metavar="FILE",
        help="Also save the tracer's raw text to FILE (sysprobe parse reads it).",
    ),
]
InjectOpt = Annotated[
    list[str] | None,
    typer.Option(
        metavar="SPEC",
        help="Fault injection in strace's syntax, e.g. epoll_create1:error=ENOSYS (repeatable); "
        "the call is always traced.",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        metavar="S", help="Kill the whole traced tree after S seconds: the run is incomplete (exit 124)."
    ),
]
EndOpt = Annotated[
    bool,
    typer.Option(
        "--end-with-command",
        help="End the run when CMD exits, killing what it left running (a daemon keeps strace -f waiting).",
    ),
]
SeccompOpt = Annotated[
    bool,
    typer.Option(
        help="Let the kernel filter out the calls not traced (strace's --seccomp-bpf), where only some are."
    ),
]


def _backends() -> list[str]:
    from ._tracing.backends import BACKENDS

    return list(BACKENDS)


def _placements() -> list[str]:
    from ._tracing.placement import MODES

    return list(MODES)


PlacementOpt = Annotated[
    str,
    typer.Option(
        metavar="MODE",
        autocompletion=_placements,
        help="auto|pin: strace and CMD on one CPU, sysprobe on the others (fast); off: leave them be "
        "(for programs with several busy threads).",
    ),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        autocompletion=_backends,
        help="strace | ptrace (python-ptrace: pip install 'sysprobe[ptrace]') | auto (strace where it "
        "can trace, else ptrace). Default: $SYSPROBE_BACKEND, else auto.",
        show_default=False,
    ),
]
StraceOpt = Annotated[
    str | None,
    typer.Option(metavar="PATH", help="The strace binary (default: $SYSPROBE_STRACE, else the PATH's)."),
]
ArchOpt = Annotated[
    str | None,
    typer.Option(
        metavar="ARCH",
        help="The architecture the log comes from, for -X raw numbers (default: this machine's).",
    ),
]

# Options a command does not take, by command: the sentence that says where they are, or
# why not here. Said instead of click's "No such option".
_RULES = "is a rule: rules are check's (sysprobe check {option} ... -- CMD, or --log FILE)"
_NO_VERDICTS = "gives no verdicts: sysprobe check --json-report FILE writes check's as JSON"
_GOLDEN = "goes with --golden: goldens are compared by sysprobe trace --golden PATH -- CMD"
RULE_OPTIONS = (
    "--expect",
    "--forbid",
    "--expect-count",
    "--order",
    "--cloexec",
    "--no-fd-leaks",
    "--allow-fd",
    "--count-passes",
    "--expect-exit",
)
_RUN_OPTIONS = (
    "-o",
    "--output",
    "--inject",
    "--timeout",
    "--end-with-command",
    "--backend",
    "--placement",
    "--seccomp",
    "--no-seccomp",
    "--strace",
    "--strace-arg",
)
_STRICT = "sysprobe parse --strict FILE exits 1 on a line it could not read (-o FILE keeps a run's)"
_CHECK_TRACES = (
    "check traces what its rules and the descriptor model read (--full: every call); "
    "a narrower set would hide calls from them (sysprobe trace -e SET traces a set)"
)
_SUMMARY = ("--summary", "--no-summary")
ELSEWHERE: dict[str, dict[str, str]] = {
    "trace": {
        "--strict": f"trace exits with CMD's status: {_STRICT}",
        **{option: _RULES.format(option=option) for option in RULE_OPTIONS},
        "--json-report": f"trace {_NO_VERDICTS}",
        "--log": "trace runs a command: sysprobe parse FILE reads a log; sysprobe check --log FILE judges it",
        "--full": "trace traces every call unless -e SET names some",
        "--arch": "a run is this machine's: --arch names a log's (sysprobe parse, sysprobe check --log)",
    },
    "check": {
        "--strict": f"check judges rules: {_STRICT}",
        "-e": _CHECK_TRACES,
        "--trace": _CHECK_TRACES,
        "--strace-arg": "check decides what strace traces: an option passed as is could hide calls "
        "from its rules (sysprobe trace --strace-arg takes one)",
        **{
            option: "check prints its verdicts, not a summary (sysprobe trace prints one)"
            for option in _SUMMARY
        },
        **{option: _GOLDEN for option in ("--golden", "--update", "--replace", "--substitute")},
    },
    "parse": {
        **{option: _RULES.format(option=option) for option in RULE_OPTIONS},
        "--json-report": f"parse {_NO_VERDICTS} (with --log FILE)",
        "--log": "parse reads the FILEs it is given: sysprobe parse FILE...",
        "--full": "parse reads every line of the log",
        **{
            option: "parse reads every line: the log holds what its run traced"
            for option in ("-e", "--trace")
        },
        **{option: "parse prints its summary unless --json" for option in _SUMMARY},
        **{option: _GOLDEN for option in ("--golden", "--update", "--replace", "--substitute")},
        **{option: "parse reads a finished log: there is no run to give it to" for option in _RUN_OPTIONS},
    },
}


class SysprobeCommand(TyperCommand):
    """A sysprobe command: an option of another command gets a sentence saying where it is
    (``ELSEWHERE``); sysprobe's own options written after the command, without ``--``, get
    the corrected command line — they would silently go to the command instead.

    Only typer's public surface is used (typer 0.2x carries its own copy of click): the
    arguments are read here, and a usage error is sysprobe's one line and exit 2."""

    # ctx: typer's click Context (typer.Context is a subclass of it)
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        given = ctx.meta[_ARGS] = list(args)  # the parser consumes ``args``
        try:
            self._refuse_elsewhere(given)
            try:
                rest: list[str] = super().parse_args(ctx, args)
            except Exception as error:  # click's usage errors (typer's own copy of click): one line
                if getattr(error, "exit_code", None) != EXIT_USAGE or not hasattr(error, "format_message"):
                    raise
                said = error.format_message()
                raise UsageError(f"{said} ({PROG} {self.name} -h lists the options)") from None
            self._refuse_misplaced(ctx, given)
        except UsageError as error:
            fail(error)
        return rest

    def _options(self) -> dict[str, bool]:
        """This command's option names, each with whether it takes a value."""
        names: dict[str, bool] = {}
        for param in self.params:
            if param.param_type_name == "option":
                takes_value = not getattr(param, "is_flag", False)
                for name in [*param.opts, *param.secondary_opts]:
                    names[name] = takes_value
        return names

    def _refuse_elsewhere(self, args: list[str]) -> None:
        """An option of another command, before the command to run: say where it is."""
        elsewhere, ours = ELSEWHERE.get(self.name or "", {}), self._options()
        i = 0
        while i < len(args) and args[i] != "--" and args[i].startswith("-") and args[i] != "-":
            token = args[i]
            name = token.split("=", 1)[0] if token.startswith("--") else token[:2]
            if name in elsewhere:
                raise UsageError(f"{name}: {elsewhere[name]}")
            i += 2 if ours.get(name) and name == token else 1

    def _refuse_misplaced(self, ctx: Any, args: list[str]) -> None:
        command: list[str] = ctx.params.get("command") or []
        start = len(args) - len(command)
        if not command or (start > 0 and args[start - 1] == "--"):
            return
        ours = {name: value for name, value in self._options().items() if name.startswith("--")}
        program, moved, kept = command[0], [], []
        rest = command[1:]
        i = 0
        while i < len(rest):
            token = rest[i]
            name = token.split("=", 1)[0]
            if token == "--":
                kept += rest[i:]
                break
            if name in ours:
                width = 2 if ours[name] and "=" not in token else 1
                moved += rest[i : i + width]
                i += width
            else:
                kept.append(token)
                i += 1
        if not moved:
            return
        names = [token.split("=", 1)[0] for token in moved if token.split("=", 1)[0] in ours]
        head = [PROG, self.name or "", *args[:start]]
        fixed = shlex.join([*head, *moved, "--", program, *kept])
        literal = shlex.join([*head, "--", *command])
        them = "it" if len(names) == 1 else "them"
        raise UsageError(
            f"{', '.join(dict.fromkeys(names))} came after the command, so {program} would get {them}, "
            f"not sysprobe; write\n  {fixed}\nor, to give {them} to {program}, -- before the command:\n"
            f"  {literal}"
        )


def _given(ctx: Any, name: str) -> bool:
    """Whether option ``name`` was given on the command line (not left at its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


EventsOpt = Annotated[
    str | None,
    typer.Option(
        "--events",
        metavar="PATH",
        help="Write the events as JSON Lines to PATH ('-': stdout; the command's own stdout then goes to "
        "stderr). Schema: README 'JSON Lines'.",
    ),
]


@app.command(
    cls=SysprobeCommand,
    short_help="Run CMD under strace -f: a summary, its events, a golden trace.",
    context_settings={"allow_interspersed_args": False},  # options end at CMD, as in strace and env
    epilog=examples(
        "sysprobe trace -- build/demo/pipe_leak",
        "sysprobe trace --no-summary --golden traces/pipe_leak.trace --update -- ./pipe_leak",
        "sysprobe trace --no-summary --golden traces/pipe_leak.trace -- ./pipe_leak",
    ),
)
def trace(
    command: CommandArg,
    json_out: JsonOpt = False,
    events: EventsOpt = None,
    output: OutputOpt = None,
    trace_set: Annotated[
        str | None,
        typer.Option(
            "-e",
            "--trace",
            metavar="SET",
            help="Trace only SET, in strace's syntax: openat,close or %process.",
        ),
    ] = None,
    inject: InjectOpt = None,
    timeout: TimeoutOpt = None,
    end_with_command: EndOpt = False,
    summary: Annotated[bool, typer.Option(help="Print a summary to stderr at the end.")] = True,
    golden: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Compare the normalized trace with the golden file PATH (exit 0 equal, 1 different).",
        ),
    ] = None,
    update: Annotated[
        bool, typer.Option("--update", help="With --golden: write the golden file instead.")
    ] = False,
    replace: Annotated[
        list[str] | None,
        typer.Option(metavar="OLD=NEW", help="With --golden: a text to normalize (repeatable)."),
    ] = None,
    substitute: Annotated[
        list[str] | None,
        typer.Option(
            metavar="REGEX=NEW", help="With --golden: a regular expression to normalize (repeatable)."
        ),
    ] = None,
    backend: BackendOpt = None,
    placement: PlacementOpt = "auto",
    seccomp: SeccompOpt = True,
    strace: StraceOpt = None,
    strace_arg: Annotated[
        list[str] | None,
        typer.Option("--strace-arg", metavar="OPT", help="Pass OPT to strace as is (repeatable)."),
    ] = None,
) -> None:
    """Run CMD under strace -f, parse its trace as it runs, exit with CMD's status.

    The summary goes to stderr; CMD keeps its own stdout and stderr. Options end at CMD:
    write them before it (and -- before a CMD that takes an option sysprobe has too).

    Exit: CMD's status (128+N when signal N killed it); 124 when --timeout cut the run
    short; 75 when the run is incomplete and CMD's status unknown (its tracer was killed);
    with --golden, 0 equal, 1 different. README: Exit codes.
    """
    from . import _pipeline

    if update and golden is None:
        fail(UsageError("--update goes with --golden PATH"))
    split = [r.split("=", 1) for r in replace or []]
    if any(len(p) != 2 or not p[0] for p in split):
        fail(UsageError("--replace takes OLD=NEW"))
    pairs = [(p[0], p[1]) for p in split]
    from ._golden.golden import check_path, parse_substitution

    try:
        subs = [parse_substitution(text) for text in substitute or []]
        if golden is not None:
            check_path(golden, update=update)  # a FIFO, a directory...: refused before the run
        distinct([("-o", output), ("--golden", golden), ("--events", events)])  # before events_sink
    except ValueError as error:
        fail(UsageError(f"--substitute {error}"))
    except SysprobeError as error:
        fail(error)
    sink = events_sink(json_out, events, shlex.join(command))
    try:
        _named(strace=strace, backend=backend)
        run = _pipeline.command(
            command,
            syscalls=trace_set,
            inject=inject or [],
            golden=golden is not None,
            strace_args=strace_arg or [],
            timeout=timeout,
            raw_output=output,
            strace=strace,
            placement=placement,
            seccomp=seccomp,
            backend=backend,
            end_with_command=end_with_command,
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
    if summary:
        emit(recording.summary_lines())
    emit(_pipeline.outcome_lines(recording.outcome))
    if golden is not None:
        from ._trace import Trace

        try:
            result = Trace.of(recording).compare_golden(
                golden, update=update, replacements=pairs, substitutions=subs
            )
        except SysprobeError as error:
            fail(error)
        print(f"sysprobe: {result.message()}", file=sys.stderr)
        raise typer.Exit(0 if result.ok else 1)
    raise typer.Exit(recording.exit_code)


@app.command(
    cls=SysprobeCommand,
    short_help="Check rules on what CMD did, or on a log: exit 0 if all hold.",
    context_settings={"allow_interspersed_args": False},
    epilog=examples(
        "sysprobe check --no-fd-leaks --cloexec openat -- build/demo/pipe_leak",
        "sysprobe check --no-fd-leaks -- sh -c 'exec 5</etc/hostname; /bin/true; exit 0'",
        "sysprobe check --no-fd-leaks --log examples/race.log",
    ),
)
def check(
    ctx: typer.Context,
    command: Annotated[
        list[str] | None,
        typer.Argument(metavar="[CMD [ARGS]...]", help="The command to trace (or use --log)."),
    ] = None,
    expect: Annotated[
        list[str] | None, typer.Option(metavar="PATTERN", help="At least one call matches PATTERN.")
    ] = None,
    forbid: Annotated[
        list[str] | None, typer.Option(metavar="PATTERN", help="No call matches PATTERN.")
    ] = None,
    expect_count: Annotated[
        list[str] | None,
        typer.Option(
            metavar="'OP N PATTERN'",
            help="The number of matching calls compares to N: '>=2 sendfile', '=0 fork'.",
        ),
    ] = None,
    order: Annotated[
        list[str] | None,
        typer.Option(
            metavar="'A -> B'", help="B is called, and in each process that calls B an A came first."
        ),
    ] = None,
    cloexec: Annotated[
        list[str] | None,
        typer.Option(
            metavar="PATTERN",
            help="Every descriptor a matching call created had close-on-exec at each exec it lived "
            "through, whenever another thread of its process forked, when closed, and at the end.",
        ),
    ] = None,
    no_fd_leaks: Annotated[
        bool,
        typer.Option(
            "--no-fd-leaks",
            help="No descriptor above 2 crossed an execve without close-on-exec, but those the "
            "exec'ing process passed on purpose (it cleared close-on-exec or dup2'd it itself).",
        ),
    ] = False,
    allow_fd: Annotated[
        list[str] | None,
        typer.Option(
            metavar="N",
            help="With --no-fd-leaks: N, N-M, or PROGRAM:N (crossings into that program only: a path, "
            "a file name or a glob) may cross.",
        ),
    ] = None,
    count_passes: Annotated[
        bool,
        typer.Option(
            "--count-passes",
            help="With --no-fd-leaks: descriptors passed on purpose count as leaks too "
            "(Go's strict TestExtraFiles).",
        ),
    ] = False,
    expect_exit: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="The command's exit status is N (128+N when signal N killed it).",
            min=0,
            max=255,
        ),
    ] = None,
    log: Annotated[
        list[str] | None,
        typer.Option(
            metavar="FILE",
            help="Check an existing strace log instead of running CMD (repeatable: the files of strace -ff).",
        ),
    ] = None,
    arch: ArchOpt = None,
    json_report: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Also write the verdicts as JSON to FILE (-: stdout; the report stays on stderr).",
        ),
    ] = None,
    json_out: JsonOpt = False,
    events: EventsOpt = None,
    output: OutputOpt = None,
    inject: InjectOpt = None,
    timeout: TimeoutOpt = None,
    end_with_command: EndOpt = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Trace every call, not only the ones the rules and the descriptor model read."
        ),
    ] = False,
    backend: BackendOpt = None,
    placement: PlacementOpt = "auto",
    seccomp: SeccompOpt = True,
    strace: StraceOpt = None,
) -> None:
    """Check rules on what CMD did (or on a --log): exit 0 if all hold, 1 if one fails.

    The report goes to stderr. Options end at CMD: write them before it (and -- before a
    CMD that takes an option sysprobe has too). PATTERN reads like strace's output:

    \b
      sendfile
      epoll_create1(EPOLL_CLOEXEC)
      fcntl(*, F_SETFD, FD_CLOEXEC) = 0
      openat(*, "/etc/*", ...)
      sendmsg(*, {msg_control=[{cmsg_type=SCM_RIGHTS}]}, *)

    Exit: 0 every rule held; 1 a rule failed (also in an incomplete run, for a failure
    that no later event could undo: a forbidden call made, a leak); 75 the run is
    incomplete (interrupted, its tracer killed), 124 cut short by --timeout; 2 usage.
    README: Exit codes.
    """
    rules = check_rules(
        expect=expect,
        forbid=forbid,
        expect_count=expect_count,
        order=order,
        cloexec=cloexec,
        no_fd_leaks=no_fd_leaks,
        allow_fd=allow_fd,
        count_passes=count_passes,
        expect_exit=expect_exit,
    )
    status = run_check(
        rules,
        command,
        log,
        validate=lambda: _one_source(ctx, command, log),
        arch=arch,
        json_report=json_report,
        json_out=json_out,
        events=events,
        output=output,
        inject=inject,
        timeout=timeout,
        end_with_command=end_with_command,
        full=full,
        backend=backend,
        placement=placement,
        seccomp=seccomp,
        strace=strace,
    )
    raise typer.Exit(status)


# check's options that only a run takes: with --log they would be silently ignored
_RUN_ONLY = {
    "output": "-o",
    "inject": "--inject",
    "timeout": "--timeout",
    "end_with_command": "--end-with-command",
    "backend": "--backend",
    "placement": "--placement",
    "seccomp": "--seccomp",
    "strace": "--strace",
    "full": "--full",
}


def _one_source(ctx: typer.Context, command: list[str] | None, log: list[str] | None) -> None:
    """A command or --log, not both (the sentence shows both corrected command lines); a
    --log with an option only a run takes is refused (it would be ignored)."""
    if command and log:
        args: list[str] = ctx.meta.get(_ARGS, [])
        start = len(args) - len(command)
        options = args[:start]
        if options and options[-1] == "--":
            options = options[:-1]
        without_log, i = [], 0
        while i < len(options):
            if options[i] == "--log":
                i += 2
                continue
            if not options[i].startswith("--log="):
                without_log.append(options[i])
            i += 1
        raise UsageError(
            "give either a command or --log FILE, not both: to check the log, "
            f"{shlex.join([PROG, 'check', *options])}; to run the command, "
            f"{shlex.join([PROG, 'check', *without_log, '--', *command])}"
        )
    if log:
        given = [option for name, option in _RUN_ONLY.items() if _given(ctx, name)]
        if given:
            raise UsageError(
                f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to running a command; "
                "--log reads a finished trace"
            )


@app.command(
    cls=SysprobeCommand,
    short_help="Parse strace logs (any version, any options) into events.",
    epilog=examples(
        "sysprobe parse sh.log",
        'sysprobe parse --json sh.log | grep -E \'hostname|"split": "merged"\' '
        '| grep -E \'"openat", .*"/etc/hostname"|"wait4"\'',
    ),
)
def parse(
    files: Annotated[list[str], typer.Argument(metavar="FILE...", help="strace logs (- reads stdin).")],
    json_out: JsonOpt = False,
    events: EventsOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when a line could not be parsed.")] = False,
    arch: ArchOpt = None,
) -> None:
    """Parse existing strace logs (any strace version, any options) into events.

    Per-pid files of one strace -ff -o NAME run (NAME.123, NAME.124) are merged in time
    order when they carry timestamps. The summary goes to stdout.
    """
    from . import _pipeline

    sink = events_sink(json_out, events, " ".join(files))
    try:
        recording = _pipeline.record(
            _pipeline.logs(files, arch=arch), keep_events=False, on_event=sink.write if sink else None
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
    """sysprobe: assert what a program really did to the kernel.

    sysprobe COMMAND -h explains each command.
    """
