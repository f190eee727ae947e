"""The ``sysprobe`` command (``main``, the console script). The commands, their options
and their help are typer's, in ``_app``.

Start-up is most of what a short check costs, and typer (with its copy of click) is a
third of it. So a plain ``check`` — rule options only, then ``--`` and the command, or
``--log FILE`` — is read here and run at once (``_cli_run.run_check``, the same code the
typer command runs); any other command line, help, or an error goes to typer, which says
it in its own words. tests/cli/test_lazy_imports.py checks that both readings agree and
that the plain check imports neither typer nor rich.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

from ._cli_run import PROG, StdoutClosed

EXIT_STDOUT_CLOSED = 128 + 13  # as a process killed by SIGPIPE (stdout's reader went away)

# check's options a plain check may give, by their typer parameter: the rules (each
# repeatable, with a value) and --log; typer declares them (_app.check), the test holds
# this table to typer's
PLAIN_CHECK_VALUES = {
    "--expect": "expect",
    "--forbid": "forbid",
    "--expect-count": "expect_count",
    "--order": "order",
    "--cloexec": "cloexec",
    "--allow-fd": "allow_fd",
    "--log": "log",
}
PLAIN_CHECK_FLAGS = {"--no-fd-leaks": "no_fd_leaks", "--count-passes": "count_passes"}


def plain_check(args: list[str]) -> dict[str, Any] | None:
    """The parameters of a plain check (``args`` without the program's name) as typer
    would read them, or None for anything else: another command, another option, a value
    that looks like an option, no ``--`` before the command, a command and --log, neither."""
    if not args or args[0] != "check":
        return None
    values: dict[str, list[str]] = {name: [] for name in PLAIN_CHECK_VALUES.values()}
    flags = dict.fromkeys(PLAIN_CHECK_FLAGS.values(), False)
    command: list[str] = []
    i = 1
    while i < len(args):
        token = args[i]
        if token == "--":
            command = args[i + 1 :]
            break
        name, has_value, value = token.partition("=")
        if name in PLAIN_CHECK_FLAGS and not has_value:
            flags[PLAIN_CHECK_FLAGS[name]] = True
            i += 1
        elif name in PLAIN_CHECK_VALUES:
            if not has_value:
                if i + 1 >= len(args):
                    return None
                value = args[i + 1]
            if value.startswith("-"):
                return None
            values[PLAIN_CHECK_VALUES[name]].append(value)
            i += 1 if has_value else 2
        else:
            return None
    if bool(command) == bool(values["log"]):
        return None
    return {
        **{name: given or None for name, given in values.items()},
        **flags,
        "command": command or None,
    }


def _run_plain_check(params: dict[str, Any]) -> int:
    """A plain check, run as typer's ``check`` runs it, ending as typer ends a run: ^C is
    exit 130, a closed stdin "Aborted!" and exit 1, a closed stderr or stdout exit 1."""
    from ._cli_run import check_rules, run_check

    command, log = params.pop("command"), params["log"]
    params.pop("log")
    try:
        return run_check(check_rules(**params), command, log)
    except KeyboardInterrupt:
        return 130
    except EOFError:
        print("\nAborted!", file=sys.stderr)
        return 1
    except OSError as error:
        if error.errno != errno.EPIPE:
            raise
        # nothing more can be said: keep Python's last flush of the closed stream quiet
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, sys.stdout.fileno())
        os.dup2(quiet, sys.stderr.fileno())
        return 1


def main() -> None:
    try:
        params = plain_check(sys.argv[1:])
        if params is not None:
            sys.exit(_run_plain_check(params))
        from ._app import app

        app(prog_name=PROG)  # the same name (in help and completion) however it was started
    except StdoutClosed:
        # nothing more can reach the reader: keep Python's own last flush from complaining
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_STDOUT_CLOSED)


def __getattr__(name: str) -> Any:
    """The typer app and its tables (``sysprobe.cli.app``), imported when first asked for
    (not for a dunder: ``from sysprobe.cli import main`` asks for ``__path__``)."""
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import _app

    return getattr(_app, name)
