"""The vocabulary's own answers (``_rules.names``), read in-process: what a syscall name
or a glibc wrapper matches and says, which constants a pattern may write where (signal
names without their ``SIG`` only inside a set), and the suggestions for a name not
found. tests/rules/test_names.py holds the patterns' error messages as a user sees them.
"""

from __future__ import annotations

import pytest

from sysprobe._rules.names import UnknownName, names_starting, syscall_meaning
from sysprobe._rules.patterns import parse_pattern
from sysprobe.errors import RuleSyntaxError


def refused(pattern: str) -> str | None:
    """The name a pattern is refused for (None: it reads)."""
    try:
        parse_pattern(pattern)
    except RuleSyntaxError as error:
        first = str(error).splitlines()[0]
        return first.split(": ", 1)[1]
    return None


# ---- signal names: with SIG anywhere, without it only as an item of a set ----


@pytest.mark.parametrize(
    "pattern",
    [
        "kill(1, SIGRTMIN)",  # numbered the same everywhere: no table has them
        "kill(1, SIGRT_3)",
        "kill(1, SIG40)",
        "rt_sigprocmask(SIG_BLOCK, [CHLD RTMIN RT_3 RTMAX 40], NULL, 8)",
        "rt_sigprocmask(SIG_BLOCK, ~[CHLD RTMIN], NULL, 8)",
        "rt_sigprocmask(SIG_BLOCK, [CHLD|USR1], NULL, 8)",  # a set's item, however combined
        "rt_sigaction(SIGCHLD, {sa_mask=[CHLD]}, NULL, 8)",
        'newfstatat(AT_FDCWD</x>, "a", *, 0)',
    ],
)
def test_signal_names_that_read(pattern: str) -> None:
    assert refused(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("kill(1, CHLD)", "CHLD"),  # an argument, not a set's item: SIG is needed
        ("kill(1, SIGFOO)", "SIGFOO"),  # SIG and a name no signal has
        ("rt_sigprocmask(SIG_BLOCK, [FOO], NULL, 8)", "FOO"),
        ("rt_sigaction(SIGCHLD, {sa_handler=CHLD}, NULL, 8)", "CHLD"),  # a field's value
        ('mknodat(AT_FDCWD, "x", 0600, makedev(CHLD, 3))', "CHLD"),  # a macro's argument
        ('newfstatat(CHLD</x>, "a", *, 0)', "CHLD"),  # a descriptor's name
        ("poll([{fd=3, events=CHLD}], 1, 0)", "CHLD"),  # a field inside an array
    ],
)
def test_signal_names_out_of_a_set_need_their_sig(pattern: str, name: str) -> None:
    reason = refused(pattern)
    assert reason is not None and reason.startswith(f"unknown constant {name!r}"), reason


def test_a_constant_suggestion_must_be_close() -> None:
    """Constants are many and alike: a suggestion needs 3/4 of the name in common."""
    assert refused("openat(AT_FDCWD, *, O_CREATE_NEW)") == (
        "unknown constant 'O_CREATE_NEW': not in sysprobe's constant tables, so it could never be "
        "compared with the numbers that -X raw and the ptrace backend print; write * in its place"
    )
    assert (refused("openat(AT_FDCWD, *, O_CLOXC)") or "").startswith(
        "unknown constant 'O_CLOXC' (did you mean O_CLOEXEC?)"
    )


# ---- syscall names and glibc's wrappers ----


def test_a_syscall_name_matches_its_abi_variants() -> None:
    meaning = syscall_meaning("sendfile", with_args=True)
    assert meaning.names == {"sendfile", "sendfile64"}
    assert (meaning.shifted, meaning.note, meaning.unseen) == (frozenset(), None, None)


def test_a_wrapper_that_is_no_syscall_matches_only_what_glibc_calls() -> None:
    meaning = syscall_meaning("sleep", with_args=False)
    assert meaning.names == {"clock_nanosleep", "clock_nanosleep_time64"}
    assert meaning.note == "sleep matches clock_nanosleep: glibc's sleep() calls clock_nanosleep on x86_64"


def test_a_wrapper_of_two_calls_names_both() -> None:
    meaning = syscall_meaning("nice", with_args=False)
    assert meaning.names == {"nice", "getpriority", "setpriority"}
    assert meaning.note == (
        "nice matches the nice syscall and getpriority and setpriority: glibc's nice() calls "
        "getpriority and setpriority on x86_64"
    )
    with pytest.raises(UnknownName) as raised:  # whose arguments would nice(10) be?
        syscall_meaning("nice", with_args=True)
    assert str(raised.value) == (
        "nice(...) with arguments: glibc's nice() calls getpriority and setpriority on x86_64, whose "
        "arguments are not nice's; write the pattern for getpriority and setpriority, or leave the "
        "arguments out ('nice' alone matches nice and getpriority and setpriority)"
    )


def test_a_wrapper_whose_arguments_differ_says_what_it_alone_matches() -> None:
    with pytest.raises(UnknownName) as raised:
        syscall_meaning("fstat", with_args=True)
    assert str(raised.value).endswith("leave the arguments out ('fstat' alone matches fstat and newfstatat)")


def test_where_a_wrappers_arguments_land() -> None:
    assert syscall_meaning("open", with_args=True).shifted == {"openat"}  # after the dirfd
    assert syscall_meaning("open", with_args=False).shifted == frozenset()
    assert syscall_meaning("pipe", with_args=True).shifted == frozenset()  # pipe2's first ones
    assert syscall_meaning("pipe", with_args=True).names == {"pipe", "pipe2"}


def test_a_call_the_vdso_answers_says_so_in_the_report_too() -> None:
    meaning = syscall_meaning("gettimeofday", with_args=False)
    assert meaning.names == {"gettimeofday"}
    assert meaning.unseen is not None and meaning.note == meaning.unseen
    assert meaning.note.startswith("glibc answers gettimeofday() in user space (the vDSO)")


def test_a_name_like_nothing_suggests_nothing() -> None:
    with pytest.raises(UnknownName) as raised:
        syscall_meaning("qqqqqqqqqq", with_args=False)
    assert (str(raised.value), raised.value.closest) == ("unknown syscall 'qqqqqqqqqq'", None)


@pytest.mark.parametrize(
    ("word", "suggested"),
    [
        # ABI variants count once, under the name a call has on x86_64
        ("t_sigaction", ["rt_sigaction"]),
        ("sendfil64", ["sendfile"]),
        # up to three names nearly as close as the best, among six candidates
        ("imer_settime", ["timer_settime", "timerfd_settime", "timer_gettime"]),
    ],
)
def test_what_a_misspelt_syscall_suggests(word: str, suggested: list[str]) -> None:
    with pytest.raises(UnknownName) as raised:
        syscall_meaning(word, with_args=False)
    assert str(raised.value) == f"unknown syscall {word!r} (did you mean {' or '.join(suggested)}?)"
    assert raised.value.closest == suggested[0]


def test_names_starting_with_a_prefix() -> None:
    assert names_starting("clone") == "clone|clone3"
    assert names_starting("pipe", most=1) == "pipe"
    assert names_starting("qqq") is None
