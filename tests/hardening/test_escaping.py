"""Names cannot forge lines: a file and a program whose names hold a newline, a carriage
return, terminal escapes and a tab show, in every text sysprobe writes for people, as
escaped characters on the line they belong to — the check report, the summary, golden
traces and their messages, error messages, the plugin's failures — on both backends."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import sysprobe
from sysprobe._escape import printable
from tests.helpers import sysprobe as cli

# what the name tries: a line of its own that reads as a passing rule, a carriage return
# that overwrites what came before, colours, a tab
FORGERY = "\nPASS  --forged\r\x1b[31mred\x1b[0m\tTAB"
ESCAPED = "\\nPASS  --forged\\r\\033[31mred\\033[0m\\tTAB"
RAW_CONTROLS = set("\n\r\x1b\t\x0b\x0c\x85\u2028\u2029") - {"\n"}


def assert_unforged(text: str, at_least: int = 1) -> None:
    """No raw control character but the line ends, and every ``--forged`` is on the line
    of the name it belongs to, after the escaped newline (in strace's notation or
    sysprobe's: ``\\33`` or ``\\033`` for the escape character)."""
    assert not RAW_CONTROLS & set(text), text
    for line in text.split("\n"):
        assert not re.match(r"\s*PASS\s+--forged", line), text
    shown = text.count("--forged")
    assert shown >= at_least, text
    assert text.count("\\nPASS  --forged\\r\\") == shown, text


@pytest.fixture
def named(tmp_path: Path) -> tuple[Path, Path]:
    """A file and a program (a copy of true) with the forgery in their names."""
    data = tmp_path / f"file{FORGERY}"
    data.write_text("data\n")
    prog = tmp_path / f"prog{FORGERY}"
    true = shutil.which("true")
    assert true is not None
    shutil.copy2(true, prog)
    return data, prog


def leaking(data: Path, prog: Path) -> list[str]:
    """A shell that opens the file without close-on-exec and execs the program: the leak
    report names both. ``exec 3<`` opens the file as fd 3 itself (another fd would be
    placed by dup2, a deliberate pass)."""
    return ["sh", "-c", 'exec 3<"$1"; exec "$2"', "sh", str(data), str(prog)]


def test_printable_escapes_what_is_not_printable_and_nothing_else() -> None:
    assert printable("plain/path é 日本 \\n") == "plain/path é 日本 \\n"  # printable, backslash kept
    assert printable(FORGERY) == ESCAPED
    assert (
        printable("a\u2028b\u202ec\x85d\x7fe\x00")
        == "a\\342\\200\\250b\\342\\200\\256c\\302\\205d\\177e\\000"
    )
    assert printable("l\udce9") == "l\\351"  # an undecodable byte, as strace writes it
    assert printable("\v\f") == "\\v\\f"
    for text in (FORGERY, "a\u2028b", "x\udcff", ESCAPED):
        assert printable(printable(text)) == printable(text)  # safe to apply twice
        assert printable(text).isprintable()


def test_the_check_report(named: tuple[Path, Path], backend: str) -> None:
    done = cli("check", "--no-fd-leaks", "--", *leaking(*named))
    assert done.returncode == 1, done.stderr
    assert "FAIL  --no-fd-leaks: 1 descriptor leaked" in done.stderr
    # the title (argv) and the program the file leaked into
    assert_unforged(done.stdout + done.stderr, at_least=3)


def test_the_summary(named: tuple[Path, Path], backend: str) -> None:
    done = cli("trace", "--", *leaking(*named))
    assert done.returncode == 0, done.stderr
    # the title, and the program's row in the table of processes
    assert_unforged(done.stderr, at_least=3)
    row = next(line for line in done.stderr.splitlines() if line.endswith("exited 0"))
    assert f"/prog{ESCAPED}" in row


def test_the_parse_summary(named: tuple[Path, Path], backend: str, tmp_path: Path) -> None:
    raw = tmp_path / "raw.log"
    assert cli("trace", "--no-summary", "-o", str(raw), "--", *leaking(*named)).returncode == 0
    done = cli("parse", str(raw))
    assert done.returncode == 0, done.stderr
    assert_unforged(done.stdout + done.stderr)


def test_goldens_and_their_messages(named: tuple[Path, Path], backend: str, tmp_path: Path) -> None:
    data, prog = named
    golden = tmp_path / f"golden{FORGERY}.trace"
    done = cli("trace", "--no-summary", "--golden", str(golden), "--update", "--", *leaking(data, prog))
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"sysprobe: golden trace {printable(str(golden))}: created\n"
    text = golden.read_text()
    assert_unforged(text, at_least=3)  # the command, the exec, what crossed it
    crossed = next(line for line in text.splitlines() if "# crossed the exec without" in line)
    assert f"({tmp_path}/file\\nPASS" in crossed, text
    other = Path(shutil.which("true") or "/bin/true")
    done = cli("trace", "--no-summary", "--golden", str(golden), "--", *leaking(data, other))
    assert done.returncode != 0
    assert_unforged(done.stderr, at_least=5)  # the message, the diff's headers and its lines


def test_error_messages(tmp_path: Path, backend: str) -> None:
    missing = tmp_path / f"missing{FORGERY}"
    done = cli("trace", "--", str(missing))
    assert (done.returncode, done.stderr) == (127, f"sysprobe: {printable(str(missing))}: no such file\n")
    done = cli("check", "--no-fd-leaks", "--log", str(missing))
    assert done.returncode == 2 and done.stderr == f"sysprobe: {printable(str(missing))}: no such file\n"


def test_the_python_api(named: tuple[Path, Path], backend: str) -> None:
    trace = sysprobe.trace(leaking(*named), backend=backend)
    report = trace.check(no_fd_leaks=True)
    assert_unforged(report.text(), at_least=3)
    with pytest.raises(AssertionError) as raised:
        trace.assert_no_fd_leaks()
    assert_unforged(str(raised.value), at_least=3)


def test_the_plugins_failures(named: tuple[Path, Path], backend: str, pytester: pytest.Pytester) -> None:
    data, prog = named
    argv = pytester.path / "argv.json"
    argv.write_text(json.dumps(leaking(data, prog)))
    pytester.makepyfile(
        test_user=f"""
        import json

        ARGV = json.loads(open({str(argv)!r}).read())

        def test_leaks(sysprobe):
            sysprobe.run(ARGV).assert_no_fd_leaks()

        def test_golden(sysprobe):
            sysprobe.run(ARGV).assert_golden()
        """
    )
    args = ["-p", "no:cacheprovider", f"--sysprobe-backend={backend}"]
    pytester.runpytest_subprocess(*args, "--sysprobe-update").assert_outcomes(passed=1, failed=1)
    argv.write_text(json.dumps(leaking(data, Path(shutil.which("true") or "/bin/true"))))
    result = pytester.runpytest_subprocess(*args, "-ra")
    result.assert_outcomes(failed=2)
    out = "\n".join(result.outlines)
    assert "FAIL  --no-fd-leaks: 1 descriptor leaked" in out and "differs from this run" in out
    assert_unforged(out, at_least=4)


def test_a_crafted_log_cannot_drive_the_terminal(tmp_path: Path) -> None:
    """strace escapes what it writes; a log made by hand (or damaged) may hold anything
    but a newline inside a line: a raw escape sequence, a carriage return, a tab."""
    log = tmp_path / "crafted.log"
    log.write_text(
        '10 execve("/bin/prog", ["prog"], 0x7ffe /* 3 vars */) = 0\n'
        '10 openat(AT_FDCWD, "f", O_RDONLY) = 3</tmp/f\x1b[2J\rPASS\tX>\n'
        '10 execve("/bin/next", ["next"], 0x7ffe /* 3 vars */) = 0\n'
        "10 brk(NULL) = 0x5000\n"  # a program's start: the log is not filtered
        "10 +++ exited with 0 +++\n"
    )
    done = cli("check", "--no-fd-leaks", "--log", str(log))
    assert done.returncode == 1, done.stderr
    assert not RAW_CONTROLS & set(done.stderr), done.stderr
    assert "fd 3 (/tmp/f\\033[2J\\rPASS\\tX) leaked into pid 10 (/bin/next)" in done.stderr


def test_a_name_with_an_escape_sequence_names_the_right_descriptor(tmp_path: Path, backend: str) -> None:
    data = tmp_path / "a\x1b[31mb"
    data.write_text("data\n")
    true = shutil.which("true") or "/bin/true"
    done = cli("check", "--no-fd-leaks", "--", "sh", "-c", 'exec 5<"$1"; exec "$2"', "sh", str(data), true)
    assert done.returncode == 0, done.stderr  # fd 5 was dup2'd on purpose; fd 3 was closed
