"""The run's books (``supervisor.RunBook``), read in-process: which tasks are alive and
which stopped, and the command's exit status — its own exit code, or 128+N when a signal
killed it — from the events as they go by. The runner's tests see the same through the
CLI, in another process, where the mutation run cannot look."""

from __future__ import annotations

from sysprobe._parsing.lineparse import parse_lines
from sysprobe._tracing.base import TracerInfo
from sysprobe._tracing.supervisor import RunBook, RunOutcome


def books(*lines: str) -> tuple[RunBook, RunOutcome]:
    book = RunBook()
    outcome = RunOutcome(["prog"], TracerInfo("strace", "strace", "6.1"))
    for event in parse_lines(list(lines)):
        book.note(event, outcome)
    return book, outcome


START = [
    '100 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0',
    "100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, "
    "child_tidptr=0x7f) = 101",
]


def test_the_commands_own_exit_code_is_its_status() -> None:
    book, outcome = books(*START, "101 +++ exited with 3 +++", "100 +++ exited with 0 +++")
    assert (outcome.leader_pid, outcome.exit_status, outcome.leader_signal) == (100, 0, None)
    assert book.leader_ended and book.alive == set()


def test_a_childs_end_is_not_the_commands() -> None:
    book, outcome = books(*START, "101 +++ exited with 3 +++")
    assert (outcome.exit_status, book.leader_ended) == (None, False)
    assert book.alive == {100}


def test_a_command_killed_by_a_signal_ends_with_128_and_its_number() -> None:
    book, outcome = books(*START, "100 +++ killed by SIGSEGV (core dumped) +++")
    assert (outcome.exit_status, outcome.leader_signal, book.leader_ended) == (139, "SIGSEGV", True)
    assert book.alive == {101}  # the child it left running


def test_a_childs_death_by_a_signal_is_not_the_commands() -> None:
    book, outcome = books(*START, "101 +++ killed by SIGKILL +++")
    assert (outcome.exit_status, outcome.leader_signal, book.leader_ended) == (None, None, False)
    assert book.alive == {100}


def test_a_stopped_task_is_stopped_until_it_runs_again() -> None:
    book, _ = books(*START, "101 --- stopped by SIGTSTP ---", "100 --- stopped by SIGSTOP ---")
    assert book.stopped == {101: "SIGTSTP", 100: "SIGSTOP"}
    book, _ = books(
        *START,
        "101 --- stopped by SIGTSTP ---",
        "100 --- stopped by SIGSTOP ---",
        "101 --- SIGCONT {si_signo=SIGCONT, si_code=SI_USER, si_pid=1, si_uid=0} ---",
    )
    assert book.stopped == {100: "SIGSTOP"}
