"""The golden normalizer on hand-written strace logs and single calls: the machine's own
paths ($CWD, $HOME, $PYTHON, $VENV), the user's regular expressions, truncated strings,
temporary names (numbered, or masked for sorting), signal sets, -X verbose comments,
expressions, deleted descriptors, htons ports at the well-known boundary, the address
floor, and decorations a substitution or a file name shapes."""

from __future__ import annotations

import os
import pwd
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import sysprobe
from sysprobe._golden.golden import Normalizer, Substitution, standard_replacements
from sysprobe._parsing.lineparse import parse_lines
from sysprobe.argtree import format_node
from sysprobe.events import Syscall


def written(line: str, normalizer: Normalizer | None = None) -> list[str]:
    """The arguments of a call as a golden writes them."""
    n = normalizer or Normalizer()
    (ev,) = parse_lines([line])
    assert isinstance(ev, Syscall)
    return [format_node(n.node(a)) for a in ev.args]


def body_of(tmp_path: Path, text: str, substitutions: Sequence[Substitution] = ()) -> list[str]:
    """A golden's lines from ``process 1`` on (the header names the log and the version)."""
    log = tmp_path / "trace.log"
    log.write_text(text)
    lines = sysprobe.parse(log).golden(substitutions=substitutions).splitlines()
    return lines[lines.index("process 1: the command") :]


# ---- the machine's paths ----


def machine_log(cwd: Path, home: Path) -> str:
    """A Python job run from the virtual environment: files made under the working
    directory, home and the environment, the interpreter exec'd by its path."""
    return f"""\
10 execve("{sys.executable}", ["python", "{cwd}/job.py"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, "{cwd}/out.txt", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = 3<{cwd}/out.txt>
10 openat(AT_FDCWD, "{home}/.cache/job", O_WRONLY|O_CREAT|O_CLOEXEC, 0644) = 4<{home}/.cache/job>
10 openat(AT_FDCWD, "{sys.prefix}/job.log", O_WRONLY|O_CREAT|O_APPEND, 0644) = 5<{sys.prefix}/job.log>
10 +++ exited with 0 +++
"""


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A working directory and a home of the test's own, apart from each other and from
    the interpreter's folders."""
    cwd, home = tmp_path / "work", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(home))
    return cwd, home


def test_the_machines_paths_are_named_in_a_golden(machine: tuple[Path, Path], tmp_path: Path) -> None:
    cwd, home = machine
    venv = "$VENV" if sys.prefix != sys.base_prefix else sys.prefix
    assert body_of(tmp_path, machine_log(cwd, home)) == [
        "process 1: the command",
        '  execve("$PYTHON", ["python", "$CWD/job.py"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        '  openat(AT_FDCWD, "$CWD/out.txt", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = 3<$CWD/out.txt>',
        '  openat(AT_FDCWD, "$HOME/.cache/job", O_WRONLY|O_CREAT|O_CLOEXEC, 0644) = 4<$HOME/.cache/job>',
        f'  openat(AT_FDCWD, "{venv}/job.log", O_WRONLY|O_CREAT|O_APPEND, 0644) = 5<{venv}/job.log>',
        "  +++ exited with 0 +++",
    ]


def test_the_replacements_a_golden_is_given(machine: tuple[Path, Path]) -> None:
    """The user's first, then the interpreter (as run and as resolved), the environment,
    the working directory (the one given, else the process's) and home."""
    cwd, home = machine
    pythons = {(sys.executable, "$PYTHON"), (os.path.realpath(sys.executable), "$PYTHON")}
    given = standard_replacements(cwd="/srv/checkout", extra=[("/opt/tools", "$TOOLS")])
    assert given[0] == ("/opt/tools", "$TOOLS")
    assert set(given[1 : 1 + len(pythons)]) == pythons
    assert given[1 + len(pythons) :] == [
        *([(sys.prefix, "$VENV")] if sys.prefix != sys.base_prefix else []),
        ("/srv/checkout", "$CWD"),
        (str(home), "$HOME"),
    ]
    assert standard_replacements()[-2:] == [(str(cwd), "$CWD"), (str(home), "$HOME")]


def test_outside_a_virtual_environment_there_is_no_venv(
    machine: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "base_prefix", sys.prefix)
    names = [new for _, new in standard_replacements()]
    assert "$VENV" not in names
    assert names[-2:] == ["$CWD", "$HOME"]


def no_passwd_entry(uid: int) -> pwd.struct_passwd:
    raise KeyError(f"getpwuid(): uid not found: {uid}")


@pytest.mark.parametrize("home", ["/", None], ids=["root-is-home", "no-home-at-all"])
def test_a_home_that_names_no_folder_of_its_own_is_not_replaced(
    home: str | None, machine: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HOME=/ (a container's root) would turn every path into $HOME/...; with no HOME and
    a uid the password database does not know (``docker run --user 4242``), ``~`` stays
    ``~`` and is no folder."""
    if home is None:
        monkeypatch.delenv("HOME")
        monkeypatch.setattr(pwd, "getpwuid", no_passwd_entry)
    else:
        monkeypatch.setenv("HOME", home)
    cwd, _ = machine
    pairs = standard_replacements()
    assert pairs[-1] == (str(cwd), "$CWD")
    assert Normalizer(pairs).text("/etc/x ~/notes") == "/etc/x ~/notes"


# ---- the user's regular expressions ----

BUILDS = """\
10 execve("/usr/bin/make", ["make", "-j4"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, "/srv/build-240611/out.o", O_WRONLY|O_CREAT, 0644) = 3</srv/build-240611/out.o>
10 openat(AT_FDCWD, "/srv/cache/host-a17.db", O_RDWR|O_CREAT, 0600) = 4</srv/cache/host-a17.db>
10 +++ exited with 0 +++
"""


def test_substitutions_given_as_text_or_compiled_rewrite_every_line(tmp_path: Path) -> None:
    """A pattern given as text is compiled once; each is applied after the replacements,
    in the order given, to arguments and decorations alike."""
    subs: list[Substitution] = [
        (r"build-\d+", "build-DATE"),
        (re.compile(r"host-[a-z0-9]+"), "host-ID"),
        (r"DATE/out", "DATE/obj"),  # sees the first one's result
    ]
    assert body_of(tmp_path, BUILDS, substitutions=subs)[3:5] == [
        '  openat(AT_FDCWD, "/srv/build-DATE/obj.o", O_WRONLY|O_CREAT, 0644) = 3</srv/build-DATE/obj.o>',
        '  openat(AT_FDCWD, "/srv/cache/host-ID.db", O_RDWR|O_CREAT, 0600) = 4</srv/cache/host-ID.db>',
    ]


def test_a_substitution_that_leaves_the_bracket_first_still_numbers_the_inode() -> None:
    n = Normalizer(substitutions=[(r"^socket:", "")])
    assert [n.decoration(f"socket:[{i}]") for i in (4242, 77, 4242)] == ["[1]", "[2]", "[1]"]


# ---- truncated strings (strace -s) ----


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        # cut inside the replaced path: how much strace kept depends on the path's length
        ('"/home/ann/proj"...', '"$PROJ"...'),
        ('"/home/ann/project"...', '"$PROJ"...'),
        # cut after it: the rest of what strace kept stays
        ('"/home/ann/project/src/ma"...', '"$PROJ/src/ma"...'),
        # not the start of a replaced path: replaced anywhere as usual
        ('"cd /home/ann/project && ma"...', '"cd $PROJ && ma"...'),
        ('"/home/ann/project/src/main.c"', '"$PROJ/src/main.c"'),
    ],
)
def test_a_truncated_string_is_named_by_the_path_it_starts(argument: str, expected: str) -> None:
    n = Normalizer(replacements=[("/home/ann/project", "$PROJ")])
    assert written(f'10 execve("/bin/sh", ["sh", "-c", {argument}], 0x7ffe /* 3 vars */) = 0', n)[1] == (
        f'["sh", "-c", {expected}]'
    )


# ---- temporary names ----


def test_a_temporary_inside_a_longer_one_does_not_take_its_number() -> None:
    """A relative name made in two folders is two files: the absolute form -y showed is
    replaced whole, before the relative name inside it."""
    n = Normalizer(temporaries=["pkg.lock", "/r/a/pkg.lock", "/r/b/pkg.lock"])
    assert [n.text(t) for t in ("pkg.lock", "/r/a/pkg.lock", "/r/b/pkg.lock", "/r/a/pkg.lock")] == [
        "$TEMP1",
        "/r/a/$TEMP2",
        "/r/b/$TEMP3",
        "/r/a/$TEMP2",
    ]


@pytest.mark.parametrize(
    "names", [("/tmp/tmp.Zy8xW7vU6t", "/tmp/tmp.aB3dE9fG1h"), ("/tmp/tmp.aB3dE9fG1h", "/tmp/tmp.Zy8xW7vU6t")]
)
def test_temporaries_are_numbered_in_the_order_the_text_names_them(names: tuple[str, str]) -> None:
    """mktemp's names are random: whichever sorts first, the first named is $TEMP1 (they
    were numbered in a set's order, which changed with Python's hash seed)."""
    first, second = names
    n = Normalizer(temporaries=names)
    assert n.text(f"cat {first} > {second}") == "cat /tmp/tmp.$TEMP1 > /tmp/tmp.$TEMP2"
    assert n.text(second) == "/tmp/tmp.$TEMP2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mv {a} {b}", "mv /tmp/tmp.$TEMP1 /tmp/tmp.$TEMP1.$TEMP2"),
        ("mv {b} {a}", "mv /tmp/tmp.$TEMP2.$TEMP1 /tmp/tmp.$TEMP2"),
    ],
)
def test_a_temporary_named_after_another_leaves_no_random_part(text: str, expected: str) -> None:
    """mktemp "$t.XXXXXX": the second name holds the first; neither leaves its random part
    in the golden, whichever the text names first."""
    a, b = "/tmp/tmp.Ab12Cd3EfG", "/tmp/tmp.Ab12Cd3EfG.Zz98Yy"
    assert Normalizer(temporaries=[a, b]).text(text.format(a=a, b=b)) == expected


# the same relative name made with O_EXCL in two folders, after a chdir each
TWO_LOCKS = """\
10 execve("/usr/bin/pkgtool", ["pkgtool", "sync"], 0x7ffe /* 3 vars */) = 0
10 chdir("/r/a") = 0
10 openat(AT_FDCWD, "pkg.lock", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 3</r/a/pkg.lock>
10 chdir("/r/b") = 0
10 openat(AT_FDCWD, "pkg.lock", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 4</r/b/pkg.lock>
10 +++ exited with 0 +++
"""


def test_one_relative_lock_in_two_folders_in_a_golden(tmp_path: Path) -> None:
    assert body_of(tmp_path, TWO_LOCKS)[3:] == [
        '  openat(AT_FDCWD, "$TEMP1", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 3</r/a/$TEMP2>',
        '  openat(AT_FDCWD, "$TEMP1", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 4</r/b/$TEMP3>',
        "  +++ exited with 0 +++",
    ]


def test_a_masked_normalizer_writes_every_temporary_alike() -> None:
    """For sorting stories before the numbers are known: what the program chose stays."""
    n = Normalizer(temporaries=["/tmp/tmpk3j4h5g6", "/srv/run.Q1w2E3.json"], mask=True)
    assert n.text("/tmp/tmpk3j4h5g6 /srv/run.Q1w2E3.json") == "/tmp/$TEMP /srv/run.$TEMP.json"
    assert n.temps == {}


# ---- argument trees ----

# signal sets are kept as written, a complement too; a memfd is deleted from birth, and a
# stdout that points at a deleted file is still stdout; -X verbose comments stay
SIGNALS_AND_MEMFD = """\
10 execve("/usr/sbin/daemon", ["daemon"], 0x7ffe /* 3 vars */) = 0
10 signalfd4(-1, [HUP INT TERM], 8, SFD_NONBLOCK|SFD_CLOEXEC) = 3<anon_inode:[signalfd]>
10 signalfd4(-1, ~[KILL STOP RTMIN RT_1], 8, SFD_CLOEXEC) = 4<anon_inode:[signalfd]>
10 memfd_create("jit", MFD_CLOEXEC) = 5</memfd:jit (deleted)>
10 dup2(5</memfd:jit (deleted)>, 7) = 7</memfd:jit (deleted)>
10 dup2(5</memfd:jit (deleted)>, 1</srv/out.log (deleted)>) = 1</memfd:jit (deleted)>
10 fcntl(4<anon_inode:[signalfd]>, 0x2 /* F_SETFD */, 0x1 /* FD_CLOEXEC */) = 0
10 +++ exited with 0 +++
"""


def test_signal_sets_deleted_files_and_comments_in_a_golden(tmp_path: Path) -> None:
    assert body_of(tmp_path, SIGNALS_AND_MEMFD)[3:] == [
        '  memfd_create("jit", MFD_CLOEXEC) = 5</memfd:jit>(deleted)',
        "    dup2(5</memfd:jit>(deleted), 7) = 7</memfd:jit>(deleted)",
        "    dup2(5</memfd:jit>(deleted), 1<stdout>) = 1</memfd:jit>(deleted)",
        "  signalfd4(-1, [HUP INT TERM], 8, SFD_NONBLOCK|SFD_CLOEXEC) = 3<anon_inode:[signalfd]>",
        "  signalfd4(-1, ~[KILL STOP RTMIN RT_1], 8, SFD_CLOEXEC) = 4<anon_inode:[signalfd]>",
        "    fcntl(4<anon_inode:[signalfd]>, 0x2 /* F_SETFD */, 0x1 /* FD_CLOEXEC */) = 0",
        "  +++ exited with 0 +++",
    ]


def test_a_normalizer_alone_knows_no_stdio_and_no_pids() -> None:
    """Outside a golden's writer: a deleted file stays deleted, a pid stays a number."""
    assert written('10 write(3</tmp/x (deleted)>, "abc", 3) = 3') == ["3</tmp/x>(deleted)", '"abc"', "3"]
    (_, _, info, _, _) = written(
        "10 waitid(P_PID, 4242, {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=4242, si_uid=0, "
        "si_status=0, si_utime=0, si_stime=0}, WEXITED, NULL) = 0"
    )
    assert info.startswith("{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=4242, ")


def test_an_expression_is_written_with_its_parts() -> None:
    assert written("10 wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 11")[1] == (
        "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]"
    )


def test_only_htons_ports_from_1024_up_are_numbered() -> None:
    n = Normalizer()
    (_, addr, _) = written(
        "10 connect(3, {sa_family=AF_INET6, sin6_port=htons(1024), sin6_flowinfo=htonl(0), "
        'inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
        n,
    )
    # the flow label is no port, nor is a device number a port
    assert addr == (
        "{sa_family=AF_INET6, sin6_port=htons(PORT1), sin6_flowinfo=htonl(0), "
        'inet_pton(AF_INET6, "::1", & sin6_addr), sin6_scope_id=0}'
    )
    assert written('10 mknod("/dev/x", S_IFCHR|0600, makedev(0x1, 0x3)) = 0', n)[2] == "makedev(0x1, 0x3)"
    assert (
        written(
            '10 bind(3, {sa_family=AF_INET, sin_port=htons(1023), sin_addr=inet_addr("0.0.0.0")}, 16) = 0', n
        )[1]
        == '{sa_family=AF_INET, sin_port=htons(1023), sin_addr=inet_addr("0.0.0.0")}'
    )


def test_addresses_start_at_the_floor() -> None:
    assert written("10 mmap(0x10000, 65536, PROT_READ, MAP_SHARED, 3</dev/shm/x>, 0) = 0x10000")[0] == "ADDR"
    assert written("10 mmap(0xffff, 65536, PROT_READ, MAP_SHARED, 3</dev/shm/x>, 0) = 0xffff")[0] == "0xffff"


@pytest.mark.parametrize(
    "name",
    [
        "/srv/logs/[api:v2].log",  # a colon in brackets, with no port after it
        "/srv/[::1]:50000",  # an endpoint after the brackets is part of the name
        "/srv/report[2024].txt",  # digits in brackets: a name, not an inode
        "/data/run[7]/out->x",
    ],
)
def test_a_file_name_with_brackets_and_colons_is_kept(name: str) -> None:
    assert Normalizer().decoration(name) == name
