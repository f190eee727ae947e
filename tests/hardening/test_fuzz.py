"""The fuzz test: real trace lines and real patterns, mutated, through the whole chain.

Lines come from the recorded corpus (tests/data/corpus) and from traces made in this
session by both backends (strace with -y and with timestamps; the ptrace backend's -o);
a window of one log is cut, broken and spliced (the mutations below), then parsed, fed to
the model, the rules and the summary, rendered as a report, as JSON and as a golden. No
exception may escape, and no line may be lost. Patterns (``--expect`` strings) are
mutated the same way: they either parse or raise a ``sysprobe.errors`` error with a
message, and what parses is matched against a real trace and built into every kind of rule.

Hypothesis runs deterministically here (tests/conftest.py); HYPOTHESIS_PROFILE=explore
searches at random, with more examples, when hunting for new failures.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sysprobe._parsing.lineparse import parse_lines
from sysprobe._pipeline import Analysis, Recording
from sysprobe._rules.patterns import parse_pattern
from sysprobe._rules.rules import RuleSet
from sysprobe._trace import Trace
from sysprobe.errors import SysprobeError
from sysprobe.events import Event, Syscall
from sysprobe.pytest_plugin import require_backend, require_strace
from tests.helpers import CORPUS, SYSPROBE

# what breaks a parser: brackets, quotes, escapes, markers of split calls and ends, numbers
# at the edges of their types, control characters, undecodable bytes, the -y decorations
TOKENS = [
    "(", ")", "[", "]", "{", "}", "<", ">", '"', "\\", "\\\"", "\\x", "\\0", "\\377", ",", ", ",
    "=", " = ", " = -1 ", "|", "...", "/* ", " */", "=>", "<unfinished ...>", "<... ", " resumed>",
    "+++ ", " +++", "--- ", " ---", "[pid  7] ", "?", "~", "0x", "0x7fff0000", "-1", "0",
    "18446744073709551616", "-9223372036854775809", "99999999999999999999999", "1e300", "nan",
    "EBADF", "ERESTARTSYS", "(To be restarted)", "O_CLOEXEC", "AT_FDCWD", "SIGCHLD", "NULL",
    "3</tmp/x>", "3<pipe:[123]>", "3<socket:[9]>", "3</a\\33[31mb>", '3</p") = 5>', "<deleted>",
    "\t", "\r", "\x00", "\x1b[2J", "\u2028", "\udcff", "é", " ", "  ",
]  # fmt: skip
# escapes strace never writes, and a backslash where a string or a decoration ends
ESCAPES = ["\\", "\\x", "\\x4", "\\xZZ", "\\e", "\\8", "\\777", "\\u00e9", "\\N{DASH}", "\\\\\\"]
SEED_PATTERNS = [
    "openat", "close(3)", "read(*) = 03", "read > 0", "umask(*) = 077", "openat = -1",
    'openat(*, "/etc/*", O_RDONLY|O_CLOEXEC) = 3', 'read("/etc/hostname", ...)',
    "openat(*, *, *) = -1 ENOENT", "exit_group = ?", "* = -1 ENOSYS", "sendfile(*, *, [0] => [3], 3)",
    "sendmsg(*, {msg_control=[{cmsg_type=SCM_RIGHTS}]}, *)", "clone(flags=CLONE_VM)",
    "clone3({flags=CLONE_VFORK})", "poll([{fd=3}], ...)", 'execve("/usr/bin/true", ["true"], ...)',
    "pipe2(*, O_CLOEXEC)", "epoll_create1(EPOLL_CLOEXEC) = 3", "close(3</tmp/a)b>)",
    "fcntl(*, F_SETFD, FD_CLOEXEC)", "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, *)", "kill(*, [CHLD])",
    "rt_sigprocmask(SIG_BLOCK, ~[RTMIN RT_1], ...)",
    "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL)",
    "mmap(NULL, *, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f0000000000", "write(1, \"x\\n\", 2) = 2",
]  # fmt: skip
RULES = RuleSet(
    expect=["openat"],
    forbid=['execve("/nonexistent")'],
    expect_count=[">=0 close"],
    order=["openat -> close"],
    cloexec=["openat", "pipe2", "socket"],
    no_fd_leaks=True,
    allow_fds=["0-2", "sh:9"],
    expect_exit=0,
)


def _log_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()


@pytest.fixture(scope="module")
def logs(
    compile_c: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> list[list[str]]:
    """The corpus, and fresh traces of a program that makes many kinds of calls."""
    found = [
        _log_lines(p)
        for p in sorted(CORPUS.rglob("*"))
        if p.is_file() and p.name not in ("README.md", "NOTICE") and "LICENSE" not in p.name
    ]
    require_strace(request.config)
    require_backend(request.config, "ptrace")
    zoo, where = compile_c("zoo"), tmp_path_factory.mktemp("fuzz")
    for name, argv in [
        ("strace-y", ["strace", "-f", "-y", "-o", str(where / "strace-y"), "--", str(zoo)]),
        ("strace-ttT", ["strace", "-f", "-tt", "-T", "-o", str(where / "strace-ttT"), "--", str(zoo)]),
        ("ptrace", [*SYSPROBE, "trace", "--no-summary", "--backend", "ptrace", "-o", str(where / "ptrace"),
                    "--", str(zoo)]),
    ]:  # fmt: skip
        subprocess.run(argv, capture_output=True, timeout=120, check=False)
        lines = _log_lines(where / name)
        assert len(lines) > 50, f"{name}: {len(lines)} lines"
        found.append(lines)
    return [lines for lines in found if lines]


@st.composite
def mutated_text(draw: st.DrawFn, text: str, others: list[str]) -> str:
    """One cut, deletion, insertion, repetition, splice or number change of ``text``."""
    size = len(text)
    i = draw(st.integers(0, size))
    j = draw(st.integers(i, size))
    op = draw(st.sampled_from(["cut", "delete", "insert", "escape", "repeat", "splice", "number", "text"]))
    if op == "escape":  # an odd escape where a string or a decoration ends
        ends = [m.start() for m in re.finditer(r'["<>\])}]', text)]
        at = draw(st.sampled_from(ends)) if ends else i
        return text[:at] + draw(st.sampled_from(ESCAPES)) + text[at:]
    if op == "cut":
        return text[:i]
    if op == "delete":
        return text[:i] + text[j:]
    if op == "insert":
        return text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
    if op == "repeat":
        return text[:j] + text[i:j] + text[j:]
    if op == "splice":
        other = draw(st.sampled_from(others)) if others else text
        return text[:i] + other[draw(st.integers(0, len(other))) :]
    if op == "number":
        numbers = list(re.finditer(r"\d+", text))
        if not numbers:
            return text
        m = draw(st.sampled_from(numbers))
        extreme = draw(
            st.sampled_from(["0", "-1", "4294967296", "18446744073709551616", "0777", "99999999999"])
        )
        return text[: m.start()] + extreme + text[m.end() :]
    return text[:i] + draw(st.text(max_size=8)) + text[j:]


@st.composite
def mutated_log(draw: st.DrawFn, logs: list[list[str]]) -> list[str]:
    log = draw(st.sampled_from(logs))
    start = draw(st.integers(0, max(0, len(log) - 1)))
    lines = list(log[start : start + draw(st.integers(1, 40))])
    for _ in range(draw(st.integers(0, 8))):
        k = draw(st.integers(0, len(lines) - 1))
        what = draw(st.sampled_from(["line", "line", "line", "drop", "duplicate", "swap"]))
        if what == "line":
            lines[k] = draw(mutated_text(lines[k], lines))
        elif what == "drop" and len(lines) > 1:
            del lines[k]
        elif what == "duplicate":
            lines.insert(k, lines[k])
        elif what == "swap":
            m = draw(st.integers(0, len(lines) - 1))
            lines[k], lines[m] = lines[m], lines[k]
    # a line of a log holds no line end: what splitlines() splits on cannot be in one
    return [re.sub(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]", " ", line) for line in lines]


def run_the_chain(lines: list[str]) -> list[Event]:
    """Everything a log goes through, as ``check --log`` and the Python API would."""
    events = list(parse_lines(lines))
    covered = sorted({n for e in events for n in e.lines})
    assert covered == list(range(1, len(lines) + 1)), "a line was lost"
    analysis = Analysis(RULES.build(), keep_events=True, summary=True)
    analysis.feed_all(events)
    report = analysis.finish("fuzz")
    report.lines()
    report.text()
    json.dumps(report.to_json())
    assert analysis.summary is not None
    analysis.summary.lines("fuzz")
    for event in events:
        json.dumps(event.to_json())
    trace = Trace.of(Recording("fuzz", analysis, None, None, None))
    trace.golden()
    trace.leaks()
    trace.check(RULES)
    return events


@settings(
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)  # the profile says how many
@given(data=st.data())
def test_mutated_real_lines_raise_nothing_and_lose_nothing(
    logs: list[list[str]], data: st.DataObject
) -> None:
    run_the_chain(data.draw(mutated_log(logs)))


def test_every_real_log_goes_through_whole(logs: list[list[str]]) -> None:
    for lines in logs:
        events = run_the_chain(lines)
        assert any(isinstance(e, Syscall) for e in events)


@pytest.fixture(scope="module")
def real_calls(logs: list[list[str]]) -> tuple[list[Syscall], dict[str, int]]:
    analysis = Analysis(keep_events=True).feed_all(parse_lines(logs[-3]))  # the fresh strace -y trace
    assert analysis.events is not None
    return [e for e in analysis.events if isinstance(e, Syscall)], analysis.model.consts


@st.composite
def mutated_pattern(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEED_PATTERNS))
    for _ in range(draw(st.integers(0, 4))):
        text = draw(mutated_text(text, SEED_PATTERNS))
    return text


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated_pattern())
def test_mutated_patterns_parse_or_say_why(
    real_calls: tuple[list[Syscall], dict[str, int]], logs: list[list[str]], text: str
) -> None:
    calls, consts = real_calls
    errors: list[SysprobeError] = []
    try:
        pattern = parse_pattern(text)
    except SysprobeError as error:
        errors.append(error)
    else:
        for call in calls:
            pattern.matches(call, consts)
    rules = RuleSet(
        expect=[text],
        forbid=[text],
        expect_count=[f">=1 {text}"],
        order=[f"{text} -> {text}"],
        cloexec=[text],
    )
    try:
        built = rules.build()
    except SysprobeError as error:
        errors.append(error)
        built = []
    assert all(str(error).strip() for error in errors), f"an error without a message for {text!r}"
    if built:
        Analysis(built, keep_events=True).feed_all(parse_lines(logs[-3])).finish("fuzz").lines()


def test_odd_escapes_where_strings_and_decorations_end(logs: list[list[str]]) -> None:
    """The mutation that found a crash (``3</a\\x>``: ValueError out of the parser), made
    at every end of every line of a fresh -y trace with every odd escape: systematic, so
    that the suite's few random examples need not hit it."""
    lines = [
        line[:at] + escape + line[at:]
        for line in logs[-3]
        for at in (m.start() for m in re.finditer(r'["<>)\]}]', line))
        for escape in ESCAPES
    ]
    assert len(lines) > 10_000
    for start in range(0, len(lines), 500):
        run_the_chain(lines[start : start + 500])
