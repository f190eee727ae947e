"""The names a pattern may use (syscalls, glibc wrappers, constants, errnos), and pattern
errors that point at the column with a caret and show a pattern that reads (issue 19)."""

from __future__ import annotations

import pytest

from sysprobe._kernel.constants import constants
from sysprobe._kernel.syscalls import GLIBC_X86_64, TABLE
from sysprobe._parsing.lineparse import parse_lines
from sysprobe._rules.names import known_constants
from sysprobe._rules.patterns import parse_pattern
from sysprobe.errors import RuleSyntaxError
from sysprobe.events import Syscall

CONSTS = constants("x86_64")


def matches(pattern: str, line: str) -> bool:
    (ev,) = parse_lines([line])
    assert isinstance(ev, Syscall)
    return parse_pattern(pattern).matches(ev, CONSTS)


def error(pattern: str) -> str:
    with pytest.raises(RuleSyntaxError) as raised:
        parse_pattern(pattern)
    return str(raised.value)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (
            "clone*",
            "pattern 'clone*': cannot read '*'\n"
            "    clone*\n"
            "         ^\n"
            "  expected a name matched whole: name each call, or * alone for any call\n"
            "  e.g. clone|clone3",
        ),
        (
            "sendfil",
            "pattern 'sendfil': unknown syscall 'sendfil' (did you mean sendfile?)\n"
            "    sendfil\n"
            "    ^\n"
            "  e.g. sendfile",
        ),
        (
            "  close|sendfil(3)",
            "pattern '  close|sendfil(3)': unknown syscall 'sendfil' (did you mean sendfile?)\n"
            "      close|sendfil(3)\n"
            "            ^\n"
            "  e.g. close|sendfile(3)",
        ),
        (
            "openat(*, *, O_CRAET) = 3",
            "pattern 'openat(*, *, O_CRAET) = 3': unknown constant 'O_CRAET' (did you mean O_CREAT?): not in "
            "sysprobe's constant tables, so it could never be compared with the numbers that -X raw and the "
            "ptrace backend print; write * in its place\n"
            "    openat(*, *, O_CRAET) = 3\n"
            "                 ^\n"
            "  e.g. openat(*, *, O_CREAT) = 3",
        ),
        (
            "openat(*,, *)",
            "pattern 'openat(*,, *)': missing value\n"
            "    openat(*,, *)\n"
            "             ^\n"
            "  expected arguments as strace prints them, * for any\n"
            '  e.g. openat(*, "/etc/*", O_RDONLY|O_CLOEXEC) = 3',
        ),
        (
            "openat(*, *",
            "pattern 'openat(*, *': this '(' is never closed\n"
            "    openat(*, *\n"
            "          ^\n"
            "  expected ')' after the arguments\n"
            '  e.g. openat(*, "/etc/*", O_RDONLY|O_CLOEXEC) = 3',
        ),
        (
            "close(3) maybe",
            "pattern 'close(3) maybe': cannot read 'maybe'\n"
            "    close(3) maybe\n"
            "             ^\n"
            "  expected a result condition: = 0, > 0, != -1, = -1 EINVAL, = ? (no result)\n"
            "  e.g. close(...) = 0",
        ),
        (
            "close = -1 EBADFD0",
            "pattern 'close = -1 EBADFD0': unknown errno 'EBADFD0' (did you mean EBADFD or EBADF?)\n"
            "    close = -1 EBADFD0\n"
            "               ^\n"
            "  e.g. close = -1 EBADFD",
        ),
        # a constant nothing is close to: * in its place; a word that is no constant's
        # shape: the general example
        (
            "openat(*,\t*,\nO_QQQQQQQ)",
            "pattern 'openat(*,\\t*,\\nO_QQQQQQQ)': unknown constant 'O_QQQQQQQ': not in sysprobe's "
            "constant tables, so it could never be compared with the numbers that -X raw and the ptrace "
            "backend print; write * in its place\n"
            "    openat(*, *, O_QQQQQQQ)\n"  # tabs and newlines shown as blanks, columns kept
            "                 ^\n"
            "  e.g. openat(*, *, *)",
        ),
        (
            "openat(*, *, oqqqq)",
            "pattern 'openat(*, *, oqqqq)': unknown constant 'oqqqq': not in sysprobe's constant tables, "
            "so it could never be compared with the numbers that -X raw and the ptrace backend print; "
            "write * in its place\n"
            "    openat(*, *, oqqqq)\n"
            "                 ^\n"
            '  e.g. openat(*, "/etc/*", O_RDONLY|O_CLOEXEC) = 3',
        ),
        # at most three names, the nearest, and the example uses the first
        (
            "clsoe(3)",
            "pattern 'clsoe(3)': unknown syscall 'clsoe' (did you mean close or clone or clone3?)\n"
            "    clsoe(3)\n"
            "    ^\n"
            "  e.g. close(3)",
        ),
        (
            "inotify_add(*)",
            "pattern 'inotify_add(*)': unknown syscall 'inotify_add' "
            "(did you mean inotify_add_watch or inotify_init?)\n"
            "    inotify_add(*)\n"
            "    ^\n"
            "  e.g. inotify_add_watch(*)",
        ),
        ("", "pattern '': empty pattern\n  expected a syscall name, or * for any call\n"),
    ],
)
def test_pattern_errors_point_at_the_column(pattern: str, message: str) -> None:
    assert error(pattern).startswith(message)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "many sendfile",
            "--expect-count 'many sendfile': expected a comparison, a number, then a pattern\n"
            "    many sendfile\n"
            "    ^\n"
            "  expected OP N PATTERN, with OP one of = != < <= > >=\n"
            "  e.g. >=2 sendfile",
        ),
    ],
)
def test_expect_count_errors(spec: str, message: str) -> None:
    from sysprobe._rules.rules import Count

    with pytest.raises(RuleSyntaxError) as raised:
        Count(spec)
    assert str(raised.value) == message


def test_order_errors() -> None:
    from sysprobe._rules.rules import Order

    with pytest.raises(RuleSyntaxError) as raised:
        Order("pipe2 fcntl")
    assert str(raised.value) == (
        "--order 'pipe2 fcntl': expected '->' between two patterns\n"
        "    pipe2 fcntl\n"
        "               ^\n"
        "  expected PATTERN -> PATTERN\n"
        "  e.g. pipe2 -> fcntl(*, F_SETFD, FD_CLOEXEC)"
    )


def test_every_name_of_the_table_and_every_wrapper_reads() -> None:
    """Every syscall of every ABI, every glibc wrapper of the table, and strace's own
    name for a number it cannot name."""
    for name in [*TABLE, *GLIBC_X86_64, "syscall_0x1b4", "syscall_436"]:
        parse_pattern(name)


def test_every_constant_of_the_tables_reads() -> None:
    for name in sorted(known_constants()):
        parse_pattern(f"ioctl(*, {name})")
    for text in ("[CHLD USR1]", "~[KILL STOP RTMIN RT_1]", "[]", "NULL", "AT_FDCWD</tmp>", "SIGRT_3"):
        parse_pattern(f"rt_sigprocmask(*, {text})")


@pytest.mark.parametrize(
    ("pattern", "line", "expected"),
    [
        # glibc's wrappers: what the kernel sees instead on x86_64
        ("fork", "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 7", True),
        ("fork", "fork() = 7", True),  # a program that calls the syscall itself
        ("pipe", "pipe2([3, 4], 0) = 0", True),
        ("pipe([3, 4])", "pipe2([3, 4], O_CLOEXEC) = 0", True),  # pipe's arguments start pipe2's
        ("pipe([3, 5])", "pipe2([3, 4], 0) = 0", False),
        ('open("/etc/hostname")', 'openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3', True),  # after the dirfd
        ('open("/etc/hostname")', 'open("/etc/hostname", O_RDONLY) = 3', True),
        ('open("/etc/passwd")', 'openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3', False),
        ("open(*, O_CLOEXEC)", 'openat(AT_FDCWD, "/x", O_RDONLY|O_CLOEXEC) = 3', True),
        (
            'openat|open("/x")',
            'openat(AT_FDCWD, "/x", O_RDONLY) = 3',
            False,
        ),  # openat written: its own arguments
        ("sleep", "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=0}, 0x7ffd) = 0", True),
        ('stat("/x")', 'newfstatat(AT_FDCWD, "/x", {st_mode=S_IFREG|0644}, 0) = 0', True),
        # a signal set of one prints as an array
        (
            "rt_sigprocmask(SIG_BLOCK, [CHLD], ...)",
            "rt_sigprocmask(SIG_BLOCK, [CHLD TERM], NULL, 8) = 0",
            True,
        ),
        ("rt_sigprocmask(SIG_BLOCK, [CHLD], ...)", "rt_sigprocmask(SIG_BLOCK, [CHLD], NULL, 8) = 0", True),
        (
            "rt_sigprocmask(SIG_BLOCK, [INT], ...)",
            "rt_sigprocmask(SIG_BLOCK, [CHLD TERM], NULL, 8) = 0",
            False,
        ),
        (
            "rt_sigprocmask(SIG_BLOCK, [CHLD TERM], ...)",
            "rt_sigprocmask(SIG_BLOCK, [CHLD], NULL, 8) = 0",
            False,
        ),
        ("rt_sigprocmask(*, [CHLD], ...)", "rt_sigprocmask(SIG_UNBLOCK, ~[CHLD], NULL, 8) = 0", False),
        # the new constants compare by value in -X raw logs too
        ("rt_sigprocmask(SIG_SETMASK, ...)", "rt_sigprocmask(2, [], NULL, 8) = 0", True),
        ("epoll_ctl(*, EPOLL_CTL_ADD, ...)", "epoll_ctl(5, 1, 3, {events=EPOLLIN}) = 0", True),
        ("epoll_ctl(*, EPOLL_CTL_DEL, ...)", "epoll_ctl(5, EPOLL_CTL_ADD, 3, {events=EPOLLIN}) = 0", False),
    ],
)
def test_what_names_match(pattern: str, line: str, expected: bool) -> None:
    assert matches(pattern, line) is expected


def test_a_wrapper_says_what_it_matches() -> None:
    assert parse_pattern("fork").notes == (
        "fork matches the fork syscall and clone: glibc's fork() calls clone on x86_64",
    )
    assert parse_pattern("sleep").notes == (
        "sleep matches clock_nanosleep: glibc's sleep() calls clock_nanosleep on x86_64",
    )
    assert parse_pattern("clock_gettime").unseen == (
        "glibc answers clock_gettime() in user space (the vDSO) on x86_64: the kernel sees a "
        "clock_gettime call only when the vDSO cannot answer, so a trace cannot show every one",
    )
    assert parse_pattern("openat").notes == ()


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("fstat(1)", "glibc's fstat() calls newfstatat on x86_64, whose arguments are not fstat's"),
        ("wait(NULL)", "leave the arguments out ('wait' alone matches wait4)"),
        ("nanosleep({tv_sec=1})", "glibc's nanosleep() calls clock_nanosleep on x86_64"),
    ],
)
def test_a_wrapper_whose_arguments_do_not_carry_over(pattern: str, message: str) -> None:
    assert message in error(pattern)
