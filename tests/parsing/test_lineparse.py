"""The line parser on exact lines: prefixes, times, results, split calls, odd lines."""

from __future__ import annotations

import pytest

from sysprobe._parsing.lineparse import parse_lines
from sysprobe.argtree import Const, Fd, Flags, Str
from sysprobe.events import (
    Attached,
    Detached,
    Event,
    Exit,
    Killed,
    Message,
    Signal,
    StackFrame,
    Stopped,
    Superseded,
    Syscall,
    Unparsed,
)


def parse(text: str, **kw: object) -> list[Event]:
    return list(parse_lines(text.strip("\n").split("\n"), **kw))  # type: ignore[arg-type]


def one(text: str, **kw: object) -> Event:
    events = parse(text, **kw)
    assert len(events) == 1, events
    return events[0]


def call(text: str, **kw: object) -> Syscall:
    ev = one(text, **kw)
    assert isinstance(ev, Syscall), ev
    return ev


# ---- prefixes ----


@pytest.mark.parametrize(
    ("line", "pid", "time"),
    [
        ('openat(AT_FDCWD, "/a", O_RDONLY) = 3', None, None),
        ('2147  openat(AT_FDCWD, "/a", O_RDONLY) = 3', 2147, None),
        ('374673 openat(AT_FDCWD, "/a", O_RDONLY) = 3', 374673, None),
        ('[pid  2169] openat(AT_FDCWD, "/a", O_RDONLY) = 3', 2169, None),
        ('[pid 1234567] openat(AT_FDCWD, "/a", O_RDONLY) = 3', 1234567, None),
        ('[pid 12345] openat(AT_FDCWD, "/a", O_RDONLY) = 3', 12345, None),  # 5 digits fill the field
        ('[pid 32767] 05:17:36 openat(AT_FDCWD, "/a", O_RDONLY) = 3', 32767, "05:17:36"),
        ('[pid     7] openat(AT_FDCWD, "/a", O_RDONLY) = 3', 7, None),
        ('2175<strace> openat(AT_FDCWD, "/a", O_RDONLY) = 3', 2175, None),
        ('2175<my prog> openat(AT_FDCWD, "/a", O_RDONLY) = 3', 2175, None),
        ('[pid  2169<sh>] openat(AT_FDCWD, "/a", O_RDONLY) = 3', 2169, None),
        ('05:17:36 openat(AT_FDCWD, "/a", O_RDONLY) = 3', None, "05:17:36"),
        ('2230  05:17:36 openat(AT_FDCWD, "/a", O_RDONLY) = 3', 2230, "05:17:36"),
        ('2237  05:17:36.334365 openat(AT_FDCWD, "/a", O_RDONLY) = 3', 2237, "05:17:36.334365"),
        ('1389171522.375781 openat(AT_FDCWD, "/a", O_RDONLY) = 3', None, "1389171522.375781"),
        ('2265  1795411056.464810557 openat(AT_FDCWD, "/a", O_RDONLY) = 3', 2265, "1795411056.464810557"),
        ('2251       0.000127 openat(AT_FDCWD, "/a", O_RDONLY) = 3', 2251, "0.000127"),
        ('     0.000127 openat(AT_FDCWD, "/a", O_RDONLY) = 3', None, "0.000127"),
        ('[pid  2169] 05:17:36.334365 openat(AT_FDCWD, "/a", O_RDONLY) = 3', 2169, "05:17:36.334365"),
        ('2147  [00007f8a1b2c3d4e] openat(AT_FDCWD, "/a", O_RDONLY) = 3', 2147, None),
        ('[  257] openat(AT_FDCWD, "/a", O_RDONLY) = 3', None, None),
    ],
)
def test_prefixes(line: str, pid: int | None, time: str | None) -> None:
    ev = call(line)
    assert (ev.pid, ev.time, ev.name, ev.ret) == (pid, time, "openat", 3)
    assert ev.args == (Const("AT_FDCWD"), Str(b"/a"), Const("O_RDONLY"))


def test_unprefixed_lines_take_the_given_pid() -> None:
    assert call("close(3) = 0", pid=4242).pid == 4242
    assert call("7 close(3) = 0", pid=4242).pid == 7


def test_time_to_seconds() -> None:
    assert call("05:17:36.5 close(3) = 0").seconds == 5 * 3600 + 17 * 60 + 36.5
    assert call("1389171522.375781 close(3) = 0").seconds == pytest.approx(1389171522.375781)


# ---- results ----


@pytest.mark.parametrize(
    ("rest", "ret", "errno", "note", "duration"),
    [
        ("= 0", 0, None, None, None),
        ("= 832", 832, None, None, None),
        ("= 0x55bc63d90000", 0x55BC63D90000, None, None, None),
        ("= 022", 0o22, None, None, None),
        ("= -1 ENOENT (No such file or directory)", -1, "ENOENT", None, None),
        ("= -1 ENOTTY (Ioctl() inappropré pour un périphérique)", -1, "ENOTTY", None, None),
        ("= ? ERESTARTSYS (To be restarted if SA_RESTART is set)", None, "ERESTARTSYS", None, None),
        ("= ? ERESTART_RESTARTBLOCK (Interrupted by signal)", None, "ERESTART_RESTARTBLOCK", None, None),
        ("= 0x1 (flags FD_CLOEXEC)", 1, None, "flags FD_CLOEXEC", None),
        ("= 1 ([{fd=3, revents=POLLIN}])", 1, None, "[{fd=3, revents=POLLIN}]", None),
        ("= 0 (Timeout)", 0, None, "Timeout", None),
        ("= 3 <0.000013>", 3, None, None, 0.000013),
        ("= 3 <0.000005397>", 3, None, None, 0.000005397),
        ("= -1 EAGAIN (Resource temporarily unavailable) <0.000100>", -1, "EAGAIN", None, 0.0001),
        ("= ?", None, None, None, None),
        ("= ? <unavailable>", None, None, None, None),
    ],
)
def test_results(
    rest: str, ret: int | None, errno: str | None, note: str | None, duration: float | None
) -> None:
    ev = call(f"1 fcntl(3, F_GETFD)                     {rest}")
    assert (ev.ret, ev.errno, ev.note) == (ret, errno, note)
    assert ev.duration_seconds == (pytest.approx(duration) if duration else None)
    assert ev.args == (3, Const("F_GETFD"))


def test_result_text_is_kept_as_printed() -> None:
    assert call("umask(022) = 022").ret_text == "022"
    assert call("close(3) = 0").ret_text == "0"
    assert call("brk(NULL) = 0x5593").ret_text == "0x5593"
    assert call("exit_group(0) = ?").ret_text == "?"
    assert call("exit_group(0) = ? <unavailable>").duration == "unavailable"


def test_localized_errno_text() -> None:
    ev = call("ioctl(9, TCGETS, 0x7ffd9a3205d0)        = -1 ENOTTY (Ioctl() inappropré pour un périphérique)")
    assert ev.errno_text == "Ioctl() inappropré pour un périphérique"
    assert ev.failed


def test_injected_faults() -> None:
    ev = call("epoll_create1(EPOLL_CLOEXEC) = -1 ENOSYS (Function not implemented) (INJECTED)")
    assert (ev.ret, ev.errno, ev.errno_text, ev.injected) == (-1, "ENOSYS", "Function not implemented", True)
    ok = call("getpid() = 42 (INJECTED)")
    assert (ok.ret, ok.errno, ok.injected, ok.note) == (42, None, True, None)
    assert not call("getpid() = 42").injected


def test_decorated_results() -> None:
    ev = call('openat(AT_FDCWD</tmp>, "/etc/passwd", O_RDONLY) = 3</etc/passwd>')
    assert ev.ret == 3
    assert ev.ret_fd is not None and (ev.ret_fd.fd, ev.ret_fd.info) == (3, "/etc/passwd")
    spaced = call('openat(AT_FDCWD, "od/a b", O_RDONLY) = 3</tmp/od/a b> <0.000010>')
    assert spaced.ret == 3 and spaced.ret_text == "3</tmp/od/a b>" and spaced.duration == "0.000010"
    assert spaced.ret_fd is not None and spaced.ret_fd.info == "/tmp/od/a b"
    sock = call("accept4(12, NULL, NULL, SOCK_CLOEXEC) = 14<TCP:[127.0.0.1:50259->127.0.0.1:39824]>")
    assert sock.ret_fd is not None and sock.ret_fd.info == "TCP:[127.0.0.1:50259->127.0.0.1:39824]"


def test_strings_that_look_like_results() -> None:
    ev = call('write(1, "a) = 3 \\"q\\" \\n", 12) = 12')
    assert ev.ret == 12 and ev.args == (1, Str(b'a) = 3 "q" \n'), 12)


def test_decorations_are_utf8_with_undecodable_bytes_kept() -> None:
    """-y escapes a path's non-ASCII bytes (octal): UTF-8 decodes as UTF-8, a byte that is
    not UTF-8 (latin-1 é) is kept as a surrogate, never guessed as another encoding."""
    utf8 = call('openat(AT_FDCWD</tmp>, "caf\\303\\251", O_RDONLY) = 3</tmp/caf\\303\\251>')
    assert utf8.args[1] == Str("café".encode())
    assert utf8.ret_fd is not None and utf8.ret_fd.info == "/tmp/café"
    latin1 = call('read(4</tmp/l\\351>, "", 16) = 0')
    assert latin1.args[0].info == "/tmp/l\udce9"  # type: ignore[union-attr]
    assert latin1.args[0].info.encode("utf-8", "surrogateescape") == b"/tmp/l\xe9"  # type: ignore[union-attr]


def test_escaped_quote_in_a_decoration() -> None:
    ev = call('close(3</tmp/od/q\\"x>)               = 0')
    assert ev.ret == 0 and ev.args[0].info == '/tmp/od/q"x'  # type: ignore[union-attr]


@pytest.mark.parametrize("prefix", ["", "[pid  5] 12:00:00.000001 "])  # fast path, slow path
@pytest.mark.parametrize("path", ["/tmp/a)b", "/tmp/a(b", "/tmp/{b", "/tmp/a}b", "/tmp/a, b"])
def test_brackets_in_a_decorated_path(prefix: str, path: str) -> None:
    """strace escapes no bracket in a -y path: the argument list still ends at its own ")".
    (An unbalanced "[" stays ambiguous: "[...]" holds socket addresses in a decoration.)"""
    ev = call(f"{prefix}close(3<{path}>) = 0")
    assert (ev.name, ev.ret, ev.args) == ("close", 0, (Fd(3, path),))
    ev = call(f'{prefix}openat(AT_FDCWD<{path}>, "x", O_RDONLY) = 4<{path}/x>')
    assert ev.args == (Fd("AT_FDCWD", path), Str(b"x"), Const("O_RDONLY"))
    assert ev.ret == 4 and ev.ret_fd == Fd(4, path + "/x")


@pytest.mark.parametrize("prefix", ["", "[pid  5] 12:00:00.000001 "])  # fast path, slow path
def test_a_decorated_name_that_reads_as_a_result(prefix: str) -> None:
    """strace 6.1 on a file named 'x") = 5' and one named 'a"), c': the " = " and the
    ")" of the names are inside decorations, not the line's result or argument end."""
    ev = call(f'{prefix}openat(AT_FDCWD</tmp/t>, "x\\") = 5", O_RDONLY) = 3</tmp/t/x\\") = 5>')
    assert ev.args == (Fd("AT_FDCWD", "/tmp/t"), Str(b'x") = 5'), Const("O_RDONLY"))
    assert ev.ret == 3 and ev.ret_fd == Fd(3, '/tmp/t/x") = 5')
    ev = call(f'{prefix}dup2(3</tmp/t/a\\"), c>, 50</tmp/t/x\\") = 5>) = 50</tmp/t/a\\"), c>')
    assert ev.args == (Fd(3, '/tmp/t/a"), c'), Fd(50, '/tmp/t/x") = 5'))
    assert ev.ret == 50 and ev.ret_fd == Fd(50, '/tmp/t/a"), c')


@pytest.mark.parametrize("prefix", ["", "[pid  5] 12:00:00.000001 "])
def test_a_terminal_escape_in_a_decorated_path(prefix: str) -> None:
    """A terminal escape (\\33[) opens no bracket: the close is read, fd 3 not leaked."""
    ev = call(f"{prefix}close(3</tmp/t/a\\33[31mb>) = 0")
    assert ev.args == (Fd(3, "/tmp/t/a\x1b[31mb"),) and ev.ret == 0


def test_a_unix_socket_path_in_a_decoration() -> None:
    """-yy quotes a bound unix socket's path inside the decoration, "]" and ">" as they are."""
    ev = call('close(3<UNIX-STREAM:[1861487,"s\\"]>, x"]>) = 0')
    assert ev.args == (Fd(3, 'UNIX-STREAM:[1861487,"s"]>, x"]'),) and ev.ret == 0


# ---- split calls ----


def test_unfinished_and_resumed_merge() -> None:
    events = parse(
        """
34724 rt_sigprocmask(SIG_SETMASK, [],  <unfinished ...>
34725 set_robust_list(0x7f, 24) = 0
34724 <... rt_sigprocmask resumed>NULL, 8) = 0
"""
    )
    assert [type(e).__name__ for e in events] == ["Syscall", "Syscall"]
    merged = events[1]
    assert isinstance(merged, Syscall)
    assert (merged.name, merged.split, merged.lines, merged.ret) == ("rt_sigprocmask", "merged", (1, 3), 0)
    assert merged.args_text == "SIG_SETMASK, [], NULL, 8"
    assert merged.raw_lines[0].endswith("<unfinished ...>") and "resumed" in merged.raw_lines[1]


@pytest.mark.parametrize("tail", ["<... read resumed>) = 0", "<... read resumed> ) = 0"])
def test_both_spacings_of_resumed(tail: str) -> None:
    ev = one(f"5 read(3,  <unfinished ...>\n5 {tail}")
    assert isinstance(ev, Syscall) and ev.args == (3,) and ev.split == "merged" and ev.ret == 0


def test_resumed_with_arguments_and_changed_values() -> None:
    ev = one(
        "6781  clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0} <unfinished ...>\n"
        "6781  <... clone3 resumed> => {parent_tid=[6782]}, 88) = 6782"
    )
    assert isinstance(ev, Syscall) and ev.ret == 6782
    assert ev.args_text == "{flags=CLONE_VM|CLONE_THREAD, exit_signal=0} => {parent_tid=[6782]}, 88"


def test_resumed_without_start_and_start_without_resume_are_kept() -> None:
    events = parse(
        """
34724 <... rt_sigprocmask resumed>NULL, 8) = 0
374673 rseq(0x7f8f38516fe0, 0x20, 0, 0x53053053 <unfinished ...>
"""
    )
    assert [(e.line, getattr(e, "split", None)) for e in events] == [(1, "resumed"), (2, "unfinished")]
    resumed, unfinished = events
    assert isinstance(resumed, Syscall) and resumed.args_text == "NULL, 8" and resumed.ret == 0
    assert isinstance(unfinished, Syscall) and unfinished.ret is None and unfinished.args[-1] == 0x53053053


def test_exit_flushes_the_call_the_process_died_in() -> None:
    events = parse(
        """
6784  read(3,  <unfinished ...>
6784  +++ killed by SIGKILL +++
"""
    )
    assert isinstance(events[0], Syscall) and events[0].split == "unfinished" and events[0].line == 1
    assert isinstance(events[1], Killed) and events[1].signal == "SIGKILL"


def test_exec_from_a_thread_resumes_under_the_leader_pid() -> None:
    events = parse(
        """
2148  execve("/bin/true", ["true"], 0x7ffd87ea2848 /* 35 vars */ <unfinished ...>
2147  <... futex resumed>)              = ?
2147  +++ superseded by execve in pid 2148 +++
2147  <... execve resumed>)             = 0
"""
    )
    kinds = [(type(e).__name__, e.pid) for e in events]
    assert kinds == [("Syscall", 2147), ("Superseded", 2147), ("Syscall", 2147)]
    assert isinstance(events[1], Superseded) and events[1].by == 2148
    execve = events[2]
    assert isinstance(execve, Syscall)
    assert (execve.name, execve.ret, execve.split, execve.lines) == ("execve", 0, "merged", (1, 4))
    assert execve.pid == 2147  # the pid the program runs under from now on


def test_exec_from_a_thread_in_strace_6() -> None:
    events = parse(
        """
8675  futex(0x7f, FUTEX_WAIT, 8676, NULL <unfinished ...>
8676  execve("/bin/true", ["true"], 0x7ffe45f15208 /* 35 vars */ <pid changed to 8675 ...>
8675  +++ superseded by execve in pid 8676 +++
8675  <... execve resumed>)    = 0
8675  brk(NULL)                = 0x55d7609e4000
"""
    )
    kinds = [(type(e).__name__, getattr(e, "name", None), e.pid, e.lines) for e in events]
    assert kinds == [
        ("Syscall", "futex", 8675, (1,)),
        ("Superseded", None, 8675, (3,)),
        ("Syscall", "execve", 8675, (2, 4)),
        ("Syscall", "brk", 8675, (5,)),
    ]
    assert isinstance(events[2], Syscall) and events[2].ret == 0 and events[2].split == "merged"


@pytest.mark.parametrize(
    "start",
    [
        '4821  execve("/tmp/openfds", ["openfds"], 0x7ffe53182660 /* 35 vars */ <pid changed to 4819 ...>',
        '4821  execve("/tmp/openfds", ["openfds"], 0x7ffe53182660 /* 35 vars */ <unfinished ...>',
    ],
)
def test_a_thread_exec_misreported_under_seccomp_bpf(start: str) -> None:
    """strace 6.1 with --seccomp-bpf misses the exit stop of a thread's exec (seen here):
    the takeover proves the exec succeeded, so the event says so and keeps what was printed.
    Both ways strace starts such an exec lead to the same repair."""
    events = parse(
        f"""
{start}
4819  +++ superseded by execve in pid 4821 +++
4819  <... execve resumed>)             = -1 (errno 18446744073709551359)
"""
    )
    ev = events[-1]
    assert isinstance(ev, Syscall) and ev.lines == (1, 3)
    assert (ev.ret, ev.ret_text, ev.errno, ev.failed) == (0, "0", None, False)
    assert ev.note == "the pid change shows success; strace printed '-1 (errno 18446744073709551359)'"


def test_unknown_syscall_name() -> None:
    ev = call("10050 ???()                             = ?")
    assert (ev.pid, ev.name, ev.args, ev.ret) == (10050, "???", (), None)


def test_a_call_fused_with_an_exit_line() -> None:
    line = (
        "10298<zoo> 06:15:24.281375 pause(10298<zoo> 06:15:24.281675 "
        "+++ superseded by execve in pid 10299 +++"
    )
    first, second = parse(line)
    assert isinstance(first, Syscall)
    assert (first.name, first.split, first.time, first.line) == ("pause", "unfinished", "06:15:24.281375", 1)
    assert isinstance(second, Superseded)
    assert (second.pid, second.by, second.time, second.line) == (10298, 10299, "06:15:24.281675", 1)


def test_stderr_call_that_starts_unprefixed_and_resumes_prefixed() -> None:
    events = parse(
        """
vfork(strace: Process 15333 attached
 <unfinished ...>
[pid 15333] execve("/bin/true", ["true"], 0x7fff /* 35 vars */) = 0
[pid 15329] <... vfork resumed>)        = 15333
"""
    )
    vfork = events[-1]
    assert isinstance(vfork, Syscall)
    assert (vfork.name, vfork.pid, vfork.split, vfork.ret, vfork.lines) == (
        "vfork",
        15329,
        "merged",
        15333,
        (1, 2, 4),
    )


def test_a_second_start_flushes_the_first() -> None:
    events = parse(
        '1 read(0,  <unfinished ...>\n1 write(1, "x", 1 <unfinished ...>\n1 <... write resumed>) = 1'
    )
    assert [(getattr(e, "name", ""), getattr(e, "split", "")) for e in events] == [
        ("read", "unfinished"),
        ("write", "merged"),
    ]


def test_a_second_superseding_exec_does_not_lose_the_first_call() -> None:
    """Issue 20 (found by Hypothesis): the second "superseded" moved thread 2's new call
    to where the first one waited for its resumed half, and line 1 vanished."""
    events = parse(
        """
2 a( <unfinished ...>
1 +++ superseded by execve in pid 2 +++
2 b( <unfinished ...>
1 +++ superseded by execve in pid 2 +++
"""
    )
    assert sorted(n for e in events for n in e.lines) == [1, 2, 3, 4]
    assert [(type(e).__name__, e.line, getattr(e, "split", None), e.pid) for e in events] == [
        ("Superseded", 2, None, 1),
        ("Syscall", 1, "unfinished", 1),  # displaced at line 4: it never resumed
        ("Superseded", 4, None, 1),
        ("Syscall", 3, "unfinished", 1),  # still waiting at the end of the log
    ]


def test_a_second_pid_change_does_not_lose_the_first_call() -> None:
    events = parse(
        """
8676  execve("/bin/a", ["a"], 0x7ffe /* 35 vars */ <pid changed to 8675 ...>
8677  execve("/bin/b", ["b"], 0x7ffe /* 35 vars */ <pid changed to 8675 ...>
8675  <... execve resumed>)    = 0
"""
    )
    assert [(e.line, e.lines, getattr(e, "split", None)) for e in events] == [
        (1, (1,), "unfinished"),
        (2, (2, 3), "merged"),
    ]


def test_an_exit_flushes_an_exec_waiting_to_resume_under_its_pid() -> None:
    events = parse(
        """
8676  execve("/bin/a", ["a"], 0x7ffe /* 35 vars */ <unfinished ...>
8675  +++ superseded by execve in pid 8676 +++
8675  +++ exited with 0 +++
"""
    )
    assert [(type(e).__name__, e.line) for e in events] == [("Superseded", 2), ("Syscall", 1), ("Exit", 3)]


def test_detached_calls_never_resume() -> None:
    ev = one("9 read(0,  <detached ...>")
    assert isinstance(ev, Syscall) and ev.split == "unfinished"


# ---- non-syscall lines ----


def test_signal_lines_in_three_notations() -> None:
    new = one("[pid  2169] --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=2170, si_status=0} ---")
    assert isinstance(new, Signal) and (new.pid, new.signal) == (2169, "SIGCHLD")
    assert new.info is not None
    old = one("--- SIGCHLD (Child exited) @ 0 (0) ---")
    assert isinstance(old, Signal) and (old.signal, old.description, old.info) == (
        "SIGCHLD",
        "Child exited",
        None,
    )
    older = one("--- {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=2170} (Child exited) ---")
    assert isinstance(older, Signal) and (older.signal, older.description) == ("SIGCHLD", "Child exited")
    assert older.info_text == "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=2170}"


def test_stop_exit_kill_lines() -> None:
    stopped = one("2175<sh> --- stopped by SIGSTOP ---")
    assert isinstance(stopped, Stopped) and (stopped.pid, stopped.signal) == (2175, "SIGSTOP")
    exited = one("1398117334.454741 +++ exited with 0 +++")
    assert isinstance(exited, Exit) and (exited.code, exited.time) == (0, "1398117334.454741")
    killed = one("[pid 2171<sh>] +++ killed by SIGSEGV (core dumped) +++")
    assert isinstance(killed, Killed) and (killed.pid, killed.signal, killed.core_dumped) == (
        2171,
        "SIGSEGV",
        True,
    )
    plain = one("+++ killed by SIGKILL +++")
    assert isinstance(plain, Killed) and not plain.core_dumped
    sup = one("2147  +++ superseded by execve in pid 2148 +++")
    assert isinstance(sup, Superseded) and (sup.pid, sup.by) == (2147, 2148)


def test_strace_messages() -> None:
    att = one("strace: Process 2170 attached")
    assert isinstance(att, Attached) and att.pid == 2170
    det = one("strace: Process 2170 detached")
    assert isinstance(det, Detached) and det.pid == 2170
    old = one("Process 15481 attached")
    assert isinstance(old, Attached) and old.pid == 15481
    msg = one("strace: [ Process PID=4321 runs in 32 bit mode. ]")
    assert isinstance(msg, Message) and msg.pid == 4321
    personality = one("[ Process PID=4321 runs in x32 mode. ]")
    assert isinstance(personality, Message) and personality.pid == 4321


def test_restart_syscall_and_unknown_syscalls() -> None:
    ev = call("6778  restart_syscall(<... resuming interrupted clock_nanosleep ...>) = 0")
    assert ev.name == "restart_syscall" and ev.args[0].call == "clock_nanosleep"  # type: ignore[union-attr]
    unknown = call("syscall_0x1ff(0x1, 0x2) = -1 ENOSYS (Function not implemented)")
    assert unknown.name == "syscall_0x1ff" and unknown.errno == "ENOSYS"


def test_stack_trace_frames() -> None:
    ev = one(" > /usr/lib/x86_64-linux-gnu/libc.so.6(__open64+0x1b) [0x10f0bb]")
    assert isinstance(ev, StackFrame) and ev.frame.startswith("/usr/lib")


def test_torn_stderr_line_is_glued() -> None:
    events = parse(
        "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLDstrace: Process 2170 attached\n"
        ", child_tidptr=0x7f5a3b654a10) = 2170\n"
        '[pid  2170] execve("/bin/true", ["/bin/true"], 0x5557 /* 35 vars */) = 0'
    )
    assert [type(e).__name__ for e in events] == ["Attached", "Syscall", "Syscall"]
    clone = events[1]
    assert isinstance(clone, Syscall) and clone.name == "clone" and clone.ret == 2170
    assert clone.lines == (1, 2)
    assert clone.raw_lines == (
        "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD",
        ", child_tidptr=0x7f5a3b654a10) = 2170",
    )
    assert clone.args_text.endswith("child_tidptr=0x7f5a3b654a10")


def test_torn_unfinished_start_keeps_both_lines() -> None:
    events = parse(
        "vfork(strace: Process 7 attached\n"
        " <unfinished ...>\n"
        "[pid 7] exit_group(0) = ?\n"
        "<... vfork resumed>) = 7"
    )
    vfork = events[-1]
    assert isinstance(vfork, Syscall) and vfork.split == "merged" and vfork.ret == 7
    assert vfork.lines == (1, 2, 4)


def test_a_line_torn_by_two_messages_is_glued() -> None:
    """Two tasks attached while strace wrote the vfork line (seen with -f -ttt on stderr)."""
    events = parse(
        "[pid 7] 1795994360.183050 vfork(strace: Process 8 attached\n"
        "strace: Process 9 attached\n"
        " <unfinished ...>\n"
        "[pid 7] 1795994360.183100 <... vfork resumed>) = 8"
    )
    assert [(type(e).__name__, e.pid, e.lines) for e in events] == [
        ("Attached", 8, (1,)),
        ("Attached", 9, (2,)),
        ("Syscall", 7, (1, 3, 4)),
    ]
    vfork = events[-1]
    assert isinstance(vfork, Syscall) and (vfork.name, vfork.split, vfork.ret) == ("vfork", "merged", 8)


# ---- losslessness ----


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("hello world", "not a strace line"),
        ("nosuchcall(1, 2", "incomplete line"),
        ("+++ something odd +++", "unknown +++ line"),
    ],
)
def test_unreadable_lines_become_unparsed(line: str, reason: str) -> None:
    ev = one(line)
    assert isinstance(ev, Unparsed) and ev.reason.startswith(reason) and ev.raw == line and ev.line == 1


def test_every_line_is_accounted_for() -> None:
    text = """
1 openat(AT_FDCWD, "/x", O_RDONLY) = 3
garbage
1 read(3,  <unfinished ...>
2 close(0) = 0

1 <... read resumed>"ab", 2) = 2
2 +++ exited with 0 +++
1 write(1, "torn
"""
    events = parse(text)
    covered = sorted(n for e in events for n in e.lines)
    assert covered == list(range(1, 9))


def test_flags_and_lines_json() -> None:
    ev = call('openat(AT_FDCWD, "/x", O_RDONLY|O_CLOEXEC) = 3')
    assert ev.args[2] == Flags((Const("O_RDONLY"), Const("O_CLOEXEC")))
    data = ev.to_json()
    assert data["type"] == "syscall" and data["line"] == 1 and data["ret"] == 3 and data["errno"] is None
    assert data["args"][2] == {"flags": [{"const": "O_RDONLY"}, {"const": "O_CLOEXEC"}]}
