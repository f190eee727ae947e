"""What sysprobe's commands do once their arguments are read, without typer: the errors'
one line, the events' and the report's destinations, and ``check``'s run. ``sysprobe.cli``
runs a plain ``check`` through here before typer is imported (typer costs a third of the
start-up); the typer commands (``_app``) come here too, so both paths are one.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from ._escape import printable
from ._report.output import emit
from .errors import SysprobeError, UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from ._parsing.jsonl import JsonLinesWriter
    from ._rules.rules import RuleSet
    from .events import Event

PROG = "sysprobe"


def fail(error: SysprobeError) -> NoReturn:
    print(f"{PROG}: " + "\n".join(map(printable, str(error).split("\n"))), file=sys.stderr)
    raise SystemExit(error.exit_code)


def _named(**values: str | None) -> None:
    """An option given an empty value (``--strace "$UNSET"``) would quietly mean its
    default: refuse it."""
    for name, value in values.items():
        if value == "":
            raise UsageError(f"--{name} '': expected a value (leave the option out for the default)")


class StdoutClosed(Exception):
    """stdout's reader went away (``sysprobe trace --json | head``): sysprobe ends as a
    process killed by SIGPIPE would, quietly (``main``); a run still going is stopped by
    its supervisor (the events were not read to the end)."""


class JsonLines:
    """Events as JSON Lines (``_parsing.jsonl``: the published contract), flushed whenever
    the trace goes quiet; a closed stdout ends sysprobe quietly (``StdoutClosed``). A file
    is opened at the first event: a run that ends before it (a usage error, a log that
    cannot be read) leaves an existing file as it was."""

    def __init__(self, open_writer: Callable[[], JsonLinesWriter]) -> None:
        self.open_writer = open_writer
        self.writer: JsonLinesWriter | None = None

    def write(self, event: Event) -> None:
        try:
            if self.writer is None:
                self.writer = self.open_writer()
            self.writer.write(event)
        except BrokenPipeError:
            raise StdoutClosed from None

    def flush(self) -> None:
        try:
            if self.writer is not None:
                self.writer.flush()
        except BrokenPipeError:
            raise StdoutClosed from None

    def close(self) -> None:
        """The end of the events (what waits for its exec's descriptors goes out)."""
        writer, self.writer = self.writer, None
        if writer is None:
            return
        try:
            writer.close()
            writer.out.close()  # the stream is ours: a file, or our copy of stdout
        except BrokenPipeError:
            raise StdoutClosed from None


def events_sink(json_out: bool, events: str | None, source: str) -> JsonLines | None:
    """Where ``--json`` (``--events -``) or ``--events PATH`` sends the events, if anywhere."""
    if json_out and events is not None and events != "-":
        fail(UsageError("--json is --events -: give one of them"))
    destination = "-" if json_out else events
    return None if destination is None else json_destination(destination, source)


def json_destination(path: str, source: str, arch: str | None = None) -> JsonLines:
    """The events' own stream (``--events PATH``): a file, or ``-`` for stdout. With
    ``-``, the stream takes a copy of stdout and stdout itself becomes stderr, so that a
    traced command's own output (and anything else written to fd 1) never lands in the
    JSON Lines."""
    from ._parsing.jsonl import JsonLinesWriter

    if path == "-":  # now: the command must inherit the new fd 1
        stream = os.fdopen(os.dup(1), "w", encoding="utf-8")
        os.dup2(2, 1)
        return JsonLines(lambda: JsonLinesWriter(stream, source, arch))
    from pathlib import Path  # here, not at import: a plain check has no path to check

    try:
        writable(Path(path), "--events")
    except UsageError as error:
        fail(error)

    def open_file() -> JsonLinesWriter:
        try:
            out = open(path, "w", encoding="utf-8")  # noqa: SIM115 - the writer closes it
        except OSError as error:
            raise UsageError(f"--events {printable(path)}: {error.strerror or error}") from None
        return JsonLinesWriter(out, source, arch)

    return JsonLines(open_file)


class ReportFile:
    """Where ``--json-report`` goes: ``-`` is stdout; a path is checked before anything
    runs (a usage error, nothing started, nothing left behind), then written atomically —
    an interrupted write leaves no half file. A device or a FIFO (``/dev/stderr``) is
    written as it is, never replaced."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.stdout = path is not None and str(path) == "-"
        if path is not None and not self.stdout:
            writable(path, "--json-report")

    def write(self, data: object) -> None:
        if self.path is None:
            return
        import json  # here, not at import: only --json-report needs it

        text = json.dumps(data, indent=2) + "\n"
        if self.stdout:
            try:
                sys.stdout.write(text)
                sys.stdout.flush()
            except BrokenPipeError:
                raise StdoutClosed from None
            return
        try:
            if self.path.exists() and not stat.S_ISREG(self.path.stat().st_mode):
                with open(self.path, "w", encoding="utf-8") as fh:  # /dev/stderr, a FIFO
                    fh.write(text)
            else:
                from ._files import write_atomically

                write_atomically(self.path, text)  # a symlink's target is written, the link kept
        except OSError as error:
            raise UsageError(
                f"cannot write the JSON report to {self.path}: {error.strerror or error}"
            ) from None


def writable(path: Path, option: str) -> None:
    """Refuse, before anything runs, an output path that cannot be written: a regular file
    is written atomically in its folder (a symlink's target's), a device or a pipe in place."""
    where = f"{option} {path}"
    if path.is_dir():
        raise UsageError(f"{where}: it is a directory")
    try:
        in_place = not stat.S_ISREG(path.stat().st_mode)  # /dev/stdout, a FIFO
    except OSError:
        in_place = False  # not there yet (or a dangling symlink: its target is made)
    if in_place or (path.exists() and not os.access(path, os.W_OK)):
        if not os.access(path, os.W_OK):
            raise UsageError(f"{where}: permission denied")
        return
    folder = os.path.dirname(os.path.realpath(path)) if path.is_symlink() else str(path.parent)
    if not os.path.isdir(folder):
        raise UsageError(f"{where}: no such directory: {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{where}: cannot write in {folder}: permission denied")


def distinct(files: Sequence[tuple[str, str | os.PathLike[str] | None]]) -> None:
    """Refuse two options naming one file (a report written over the log it judges), ``-``
    and a name of stdout (``/dev/stdout``, the file stdout is redirected to) included."""
    seen: dict[object, tuple[str, str | os.PathLike[str]]] = {}
    for option, path in files:
        if path is None:
            continue
        identity = _file_identity(os.fspath(path))
        if identity in seen:
            first, first_path = seen[identity]
            shown = "stdout" if "-" in (os.fspath(path), os.fspath(first_path)) else path
            raise UsageError(f"{first} and {option} name the same file: {shown}")
        seen[identity] = (option, path)


def _file_identity(path: str) -> object:
    """What two names of one file share: its device and inode when it exists (a link, a
    /dev/fd name), else the path it resolves to; ``-`` is stdout."""
    try:
        st = os.fstat(1) if path == "-" else os.stat(path)
    except OSError:
        return "-" if path == "-" else os.path.realpath(path)
    return (st.st_dev, st.st_ino)


def check_rules(
    *,
    expect: list[str] | None,
    forbid: list[str] | None,
    expect_count: list[str] | None,
    order: list[str] | None,
    cloexec: list[str] | None,
    no_fd_leaks: bool,
    allow_fd: list[str] | None,
    count_passes: bool,
    expect_exit: int | None = None,
) -> RuleSet:
    """check's rules from its options, as typer names them."""
    from ._rules.rules import RuleSet

    return RuleSet(
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


def run_check(
    rules: RuleSet,
    command: list[str] | None,
    log: list[str] | None,
    *,
    validate: Callable[[], None] = lambda: None,
    arch: str | None = None,
    json_report: Path | None = None,
    json_out: bool = False,
    events: str | None = None,
    output: Path | None = None,
    inject: list[str] | None = None,
    timeout: float | None = None,
    end_with_command: bool = False,
    full: bool = False,
    backend: str | None = None,
    placement: str = "auto",
    seccomp: bool = True,
    strace: str | None = None,
) -> int:
    """``sysprobe check``: the report on stderr, the exit status returned (a usage error
    or a failed run ends here, with its one line). ``validate`` checks what only the
    command line can tell (which options were given), at its place among the checks."""
    from . import _pipeline

    sink = None
    try:
        rules.build()  # a rule that does not parse is the first thing to say
        _named(strace=strace, backend=backend)
        validate()
        report_file = ReportFile(json_report)
        if (json_out or events == "-") and report_file.stdout:
            raise UsageError("--json and --json-report - both write to stdout: give --json-report a FILE")
        distinct(  # before events_sink, which may point stdout elsewhere
            [
                ("-o", output),
                ("--json-report", json_report),
                ("--events", events),
                *(("--log", name) for name in log or [] if name != "-"),  # "-": stdin
            ]
        )
        sink = events_sink(json_out, events, shlex.join(command) if command else " ".join(log or []))
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
            end_with_command=end_with_command,
        )
        report = _pipeline.check(
            rules,
            source,
            full=full,
            on_event=sink.write if sink else None,
            on_idle=sink.flush if sink else None,
        )
    except SysprobeError as error:
        fail(error)
    finally:
        if sink is not None:
            sink.close()
    emit(report.lines())
    try:
        report_file.write(report.to_json())
    except SysprobeError as error:
        fail(error)
    return report.exit_code
