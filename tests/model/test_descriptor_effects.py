"""What each descriptor call does to a table, read from the model in this process, in the
notations the scenario tests leave to other processes: numbers for names (``-X raw``), the
kernel's own answer to F_GETFD, calls sharing a table, and what each close tells."""

from __future__ import annotations

from sysprobe._model.fdmodel import FdModel
from sysprobe._model.records import Origin
from sysprobe._parsing.lineparse import parse_lines

from ..helpers import RACED_COPY, closes_told

APP = '100 execve("/bin/app", ["app"], 0x7ffd /* 3 vars */) = 0\n'
PIPE = "100 pipe2([3<pipe:[7]>, 4<pipe:[7]>], 0) = 0\n"
PIPE_CLOEXEC = "100 pipe2([3<pipe:[7]>, 4<pipe:[7]>], O_CLOEXEC) = 0\n"
THREAD = "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM"


def model_of(log: str, arch: str = "x86_64") -> FdModel:
    model = FdModel(arch)
    for event in parse_lines(log.splitlines()):
        model.feed(event)
    return model


def cloexec_of(log: str, fd: int = 3) -> bool:
    return model_of(log).table(100)[fd].cloexec


# ---- fcntl ----


def test_f_getfd_is_the_kernels_answer() -> None:
    """The model thought fd 3 had no close-on-exec; F_GETFD says it has: trust the kernel."""
    assert cloexec_of(PIPE + "100 fcntl(3<pipe:[7]>, F_GETFD) = 0x1 (flags FD_CLOEXEC)\n")
    assert not cloexec_of(PIPE_CLOEXEC + "100 fcntl(3<pipe:[7]>, F_GETFD) = 0\n")
    assert cloexec_of(PIPE + "100 fcntl(3, 0x1) = 0x1 (flags 0x1)\n")  # -X raw: F_GETFD is 1


def test_f_getfd_settles_a_racing_copys_doubt() -> None:
    """A copy that may hold something else at 3: F_GETFD answered, so 3 is open there."""
    model = model_of(RACED_COPY)
    assert model.table(102)[3].race is not None
    for event in parse_lines(["102 fcntl(3</etc/hostname>, F_GETFD) = 0"], first_line=7):
        model.feed(event)
    settled = model.table(102)[3]
    assert settled.race is None and not settled.cloexec and settled.name == "/etc/hostname"


def test_other_fcntl_answers_say_nothing_of_close_on_exec() -> None:
    assert cloexec_of(PIPE_CLOEXEC + "100 fcntl(3<pipe:[7]>, F_GETFL) = 0 (flags O_RDONLY)\n")
    assert cloexec_of(PIPE_CLOEXEC + "100 fcntl(3, 0x3) = 0 (flags O_RDONLY)\n")  # -X raw: F_GETFL


def test_f_dupfd_copies_without_close_on_exec_and_f_dupfd_cloexec_with() -> None:
    for command, number in (("F_DUPFD", "0"), ("F_DUPFD_CLOEXEC", "0x406")):
        for line in (
            f"100 fcntl(3<pipe:[7]>, {command}, 10) = 10<pipe:[7]>\n",
            f"100 fcntl(3, {number}, 10) = 10\n",  # -X raw
        ):
            table = model_of(PIPE_CLOEXEC + line).table(100)
            copy = table[10]
            assert copy.cloexec is (command == "F_DUPFD_CLOEXEC"), line
            assert copy.source == table[3] and copy.origin.detail == "duplicate of fd 3"


def test_f_setfd_in_raw_numbers() -> None:
    assert cloexec_of(PIPE + "100 fcntl(3, 0x2, 0x1) = 0\n")
    assert not cloexec_of(PIPE_CLOEXEC + "100 fcntl(3, 0x2, 0) = 0\n")


# ---- duplicates ----


def test_dup2_onto_an_open_descriptor_tells_it_closed_by_that_call() -> None:
    model = FdModel()
    told = closes_told(model)
    for event in parse_lines([PIPE, "100 dup2(3<pipe:[7]>, 4<pipe:[7]>) = 4<pipe:[7]>"]):
        model.feed(event)
    assert told == [(4, 2)]
    assert model.table(100)[4].origin.detail == "duplicate of fd 3"


def test_a_dup_whose_descriptor_cannot_be_read_changes_nothing() -> None:
    # a damaged line (strace writes dup's descriptor): a guard, not a case strace makes
    assert sorted(model_of("100 dup() = 5\n").table(100)) == [0, 1, 2]


# ---- close_range ----


def test_close_range_unshare_closes_in_a_table_of_its_own() -> None:
    """Process 200 shares 100's table (CLONE_FILES); with CLOSE_RANGE_UNSHARE it closes in
    a copy, and 100 keeps its pipe."""
    shared = f"{APP}{PIPE}100 clone(child_stack=0x7f00, flags=CLONE_FILES|SIGCHLD) = 200\n"
    for flag in ("CLOSE_RANGE_UNSHARE", "0x2"):
        model = model_of(shared + f"200 close_range(3, 4294967295, {flag}) = 0\n")
        assert sorted(model.table(200)) == [0, 1, 2]
        assert sorted(model.table(100)) == [0, 1, 2, 3, 4]
    model = model_of(shared + "200 close_range(3, 4294967295, 0) = 0\n")
    assert sorted(model.table(100)) == [0, 1, 2]  # one table: closed for both


def test_close_range_tells_what_it_closes() -> None:
    model = FdModel()
    told = closes_told(model)
    for event in parse_lines([PIPE, "100 close_range(4, 10, 0) = 0"]):
        model.feed(event)
    assert told == [(4, 2)]


def test_a_close_range_whose_bounds_cannot_be_read_closes_nothing() -> None:
    """strace writes both bounds as numbers (``4294967295`` for ~0U): names here stand for
    a damaged or hand-written line, which must close nothing rather than guess."""
    assert sorted(model_of(PIPE + "100 close_range(3, UINT_MAX, 0) = 0\n").table(100)) == [0, 1, 2, 3, 4]
    assert sorted(model_of(PIPE + "100 close_range(FIRST, 4, 0) = 0\n").table(100)) == [0, 1, 2, 3, 4]


# ---- what a call on a descriptor shows ----


def test_a_descriptor_seen_in_use_is_learnt_from_its_first_decoration() -> None:
    """The first ``<`` ends the number: what the call read may hold more of them."""
    table = model_of('100 read(5</tmp/x>, "<a>", 3) = 3\n').table(100)
    assert table[5].name == "/tmp/x" and table[5].origin.detail == "origin unknown, first seen in read"


def test_recvmmsg_without_readable_messages_receives_nothing() -> None:
    log = "100 recvmmsg(3<socket:[9]>, 0x7ffd, 2, 0, NULL) = 2\n"
    assert sorted(model_of(log).table(100)) == [0, 1, 2]


def test_f_getfd_shows_a_descriptor_never_seen_made() -> None:
    table = model_of("100 fcntl(7</tmp/x>, F_GETFD) = 0x1 (flags FD_CLOEXEC)\n").table(100)
    learnt = table[7]
    assert (learnt.name, learnt.cloexec) == ("/tmp/x", True)
    assert learnt.origin.detail == "origin unknown, first seen in fcntl"


def test_a_descriptor_seen_in_use_of_no_known_kind() -> None:
    assert model_of('100 read(5<[weird]>, "", 1) = 0\n').table(100)[5].kind == "unknown"


def test_bpf_makes_a_descriptor_only_with_the_commands_that_return_one() -> None:
    log = (
        "100 bpf(BPF_MAP_CREATE, {map_type=BPF_MAP_TYPE_ARRAY, key_size=4, value_size=4, max_entries=1}, 72)"
        " = 3<anon_inode:bpf-map>\n"
        "100 bpf(BPF_MAP_UPDATE_ELEM, {map_fd=3<anon_inode:bpf-map>, key=0x7f, value=0x7f,"
        " flags=BPF_ANY}, 32) = 0\n"
    )
    table = model_of(log).table(100)
    assert sorted(table) == [0, 1, 2, 3] and table[3].origin.syscall == "bpf"
    assert table[0].origin.syscall is None  # BPF_MAP_UPDATE_ELEM's 0 is no descriptor


# ---- what a created descriptor is ----


def test_a_descriptor_is_what_its_decoration_says_else_what_its_call_makes() -> None:
    log = (
        '100 openat(AT_FDCWD, "/dev/null", O_RDWR) = 3</dev/null>\n'
        '100 openat(AT_FDCWD, "/etc/hosts", O_RDONLY) = 4\n'  # no -y: the path names it
        "100 openat(AT_FDCWD, 0x55d0, O_RDONLY) = 5\n"  # a path strace could not read
    )
    table = model_of(log).table(100)
    assert [(table[fd].kind, table[fd].name) for fd in (3, 4, 5)] == [
        ("device", "/dev/null"),
        ("file", "/etc/hosts"),
        ("file", None),
    ]


def test_calls_that_always_give_close_on_exec() -> None:
    table = model_of("100 pidfd_open(200, 0) = 3<anon_inode:[pidfd]>\n").table(100)
    assert table[3].cloexec and table[3].kind == "pidfd"


def test_close_on_exec_asked_in_a_struct() -> None:
    log = (
        '100 openat2(AT_FDCWD, "/x", {flags=O_RDONLY|O_CLOEXEC, resolve=0}, 24) = 3</x>\n'
        '100 openat2(AT_FDCWD, "/y", {flags=O_RDONLY, resolve=0}, 24) = 4</y>\n'
    )
    table = model_of(log).table(100)
    assert table[3].cloexec and not table[4].cloexec


def test_ioctl_fioclex_in_raw_numbers() -> None:
    assert cloexec_of(PIPE + "100 ioctl(3, 0x5451) = 0\n")  # FIOCLEX
    assert not cloexec_of(PIPE_CLOEXEC + "100 ioctl(3, 0x5450) = 0\n")  # FIONCLEX


def test_a_descriptor_keeps_the_file_its_call_was_read_from() -> None:
    model = FdModel()
    for event in parse_lines([PIPE], file="trace.100"):
        model.feed(event)
    assert model.table(100)[3].origin == Origin("pipe2", 100, 1, "trace.100")


# ---- closes that fail ----


def test_a_close_that_failed_otherwise_than_ebadf_still_closed() -> None:
    """close(2): the descriptor is released even when close reports EINTR or EIO."""
    model = FdModel()
    told = closes_told(model)
    for event in parse_lines([PIPE, "100 close(4<pipe:[7]>) = -1 EINTR (Interrupted system call)"]):
        model.feed(event)
    assert sorted(model.table(100)) == [0, 1, 2, 3] and told == [(4, 2)]


def test_ebadf_is_only_a_failed_call_where_nothing_raced() -> None:
    """The model holds fd 3; the kernel says it is not open: a call that failed changes
    nothing (only a racing copy's doubt is settled by it)."""
    for call in ("close(3)", "dup(3)", "dup2(3, 9)", "fcntl(3, F_SETFD, FD_CLOEXEC)"):
        table = model_of(PIPE + f"100 {call} = -1 EBADF (Bad file descriptor)\n").table(100)
        assert sorted(table) == [0, 1, 2, 3, 4] and not table[3].cloexec, call


def test_ebadf_settles_what_a_racing_copy_held_and_other_errors_do_not() -> None:
    """102's copy may hold hostname at 3, or nothing: EBADF says nothing; EINVAL says it
    is there (the call got as far as its other arguments)."""
    gone = model_of(RACED_COPY + "102 dup(3) = -1 EBADF (Bad file descriptor)\n").table(102)
    assert 3 not in gone
    there = model_of(RACED_COPY + "102 fcntl(3, 0xffff) = -1 EINVAL (Invalid argument)\n").table(102)
    assert there[3].race is not None


def test_a_descriptor_learnt_from_its_flag_has_that_flag_in_a_racing_copy() -> None:
    """Thread 101 asked fd 7's flag while 100 forked: whichever moment the copy was made,
    it held fd 7 with close-on-exec (the fcntl only read it) — nothing leaks into 102."""
    for call, result in (("F_GETFD", "0x1 (flags FD_CLOEXEC)"), ("F_SETFD, FD_CLOEXEC", "0")):
        log = (
            f"{APP}100 clone(child_stack=0x7f, flags={THREAD}) = 101\n"
            "100 clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>\n"
            f"101 fcntl(7</tmp/x>, {call} <unfinished ...>\n"
            "102 set_robust_list(0x7f, 24) = 0\n"
            f"101 <... fcntl resumed>) = {result}\n"
            "100 <... clone resumed>) = 102\n"
            '102 execve("/bin/true", ["true"], 0x7ffd /* 1 var */) = 0\n'
        )
        model = model_of(log)
        assert model.execs[-1].all_crossed == [], call


def test_a_call_strace_answered_itself_changes_nothing() -> None:
    """With --inject, strace's answer replaces the kernel's: the call never ran."""
    log = (
        PIPE_CLOEXEC
        + "100 dup2(3<pipe:[7]>, 10) = 5 (INJECTED)\n"
        + "100 close(4<pipe:[7]>) = -1 EIO (Input/output error) (INJECTED)\n"
        + "100 fcntl(3<pipe:[7]>, F_SETFD, 0) = 0 (INJECTED)\n"
        + '100 openat(AT_FDCWD, "/x", O_RDONLY) = 9 (INJECTED)\n'
    )
    table = model_of(log).table(100)
    assert sorted(table) == [0, 1, 2, 3, 4] and table[3].cloexec


def test_every_form_strace_writes_for_a_call_that_never_ran() -> None:
    """error= or retval=, with a delay too, or with arguments poked too: the call never
    ran. A delay alone (DELAYED), or arguments poked alone (INJECTED: args): it ran."""
    for never_ran in (
        "= -1 EIO (Input/output error) (INJECTED) (DELAYED)",
        "= -1 EIO (Input/output error) (INJECTED: args, retval)",
    ):
        assert sorted(model_of(PIPE + f"100 close(4<pipe:[7]>) {never_ran}\n").table(100)) == [0, 1, 2, 3, 4]
    for ran in ("= 0 (DELAYED)", "= 0 (INJECTED: args)"):
        assert sorted(model_of(PIPE + f"100 close(4<pipe:[7]>) {ran}\n").table(100)) == [0, 1, 2, 3]


def test_cloexec_of_a_call_does_not_claim_a_descriptor_it_only_showed() -> None:
    """fd 7 was inherited: the fcntl that first showed it did not make it, so `--cloexec
    fcntl` neither judges it nor counts it (2 calls, 1 descriptor): with none fcntl made,
    there is nothing to hold, and the rule says so instead of passing."""
    from sysprobe import RuleSet
    from sysprobe._pipeline import Analysis

    start = APP + "100 brk(NULL) = 0x5600\n"
    exec_b = '100 execve("/bin/b", ["b"], 0x7ffd /* 3 vars */) = 0\n100 +++ exited with 0 +++\n'
    shown = "100 fcntl(7</tmp/x>, F_SETFD, 0) = 0\n"
    made = "100 fcntl(3<pipe:[7]>, F_DUPFD_CLOEXEC, 0) = 8<pipe:[7]>\n"
    results = {}
    for name, log in (("made", start + shown + made + exec_b), ("shown", start + shown + exec_b)):
        analysis = Analysis(RuleSet(cloexec=["fcntl"]).build()).feed_all(parse_lines(log.splitlines()))
        (results[name],) = analysis.finish("t").results
    made_result, shown_result = results["made"], results["shown"]
    assert made_result.passed and made_result.summary.startswith("1 descriptor from 2 calls"), made_result
    assert not any("fd 7" in str(e) for e in made_result.evidence)
    assert not shown_result.passed and shown_result.summary == "no descriptor was created by fcntl"
