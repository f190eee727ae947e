"""The descriptor model's own books, read from ``FdModel`` directly: where each process and
each end is placed, what an exec record keeps, which tables a query walks, and the calls
that arrive out of order. The verdicts show little of this on one run; the goldens, the
reports and the history questions read all of it."""

from __future__ import annotations

import pytest

from sysprobe._kernel.constants import constants, host_arch
from sysprobe._model.fdmodel import FdModel, _prepared_by, _struct_of
from sysprobe._model.records import Descriptor, ExecRecord, FlagChange, Origin, Process
from sysprobe._parsing.lineparse import parse_lines
from sysprobe.argtree import Expr, Hex, Struct
from sysprobe.events import Event, Syscall

from ..helpers import RACED_COPY, closes_told

THREAD = "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM"
APP = '100 execve("/bin/app", ["app"], 0x7ffd /* 3 vars */) = 0\n'


def events_of(log: str, file: str | None = None, first_line: int = 1) -> list[Event]:
    return list(parse_lines(log.splitlines(), file=file, first_line=first_line))


def model_of(log: str, *, file: str | None = None, history: bool = False) -> FdModel:
    model = FdModel(history=history)
    for event in events_of(log, file):
        model.feed(event)
    model.finish()
    return model


# ---- what made a descriptor cross on purpose ----


def dup2_by(pid: int, line: int | None, file: str | None = None) -> Descriptor:
    return Descriptor(5, "file", "/tmp/f", False, Origin("dup2", pid, line, file=file))


@pytest.mark.parametrize(
    ("descriptor", "prepared"),
    [
        (dup2_by(7, 10), True),  # on the process's first line: its own
        (dup2_by(7, 12), True),
        (dup2_by(8, 12), True),  # by one of its threads
        (dup2_by(9, 12), False),  # by another process
        (dup2_by(7, 4), False),  # before it began: an earlier process of the same pid
        (dup2_by(8, 4, file="t.8"), True),  # a thread's own -ff file: lines of files are not ordered
        (dup2_by(7, None), True),  # no line to compare
        (Descriptor(5, "file", "/tmp/f", False, Origin("openat", 7, 12)), False),  # made so, not prepared
        (
            Descriptor(
                5, "file", "/tmp/f", False, Origin("openat", 9, 2), (FlagChange(False, "fcntl", 7, 11, None),)
            ),
            True,
        ),
    ],
)
def test_what_a_process_prepared_for_its_exec(descriptor: Descriptor, prepared: bool) -> None:
    proc = Process(7, None, None, 10, threads=[7, 8])
    assert _prepared_by(descriptor, proc) is prepared


# A pid reused: the first 100 placed fd 5 and exited; its child forked a new 100, which
# inherited fd 5 and exec'd. The new 100 prepared nothing.
REUSED_PID = f"""\
{APP}100 dup2(1, 5) = 5
100 clone(child_stack=NULL, flags=SIGCHLD) = 200
100 exit_group(0) = ?
100 +++ exited with 0 +++
200 clone(child_stack=NULL, flags=SIGCHLD) = 100
100 execve("/bin/b", ["b"], 0x7ffd /* 3 vars */) = 0
100 +++ exited with 0 +++
200 +++ exited with 0 +++
"""


def test_a_reused_pid_did_not_prepare_what_its_namesake_placed() -> None:
    model = model_of(REUSED_PID)
    first, reused = model.execs
    assert (first.program, reused.program) == ("/bin/app", "/bin/b")
    assert [d.fd for d in reused.crossed] == [5] and reused.deliberate == set()
    assert model.processes[100].first_line == 6  # the clone of 200 that made it


# ---- exec records ----


def test_an_exec_record_keeps_its_file_and_whether_it_was_injected() -> None:
    log = APP + '100 execve("/bin/b", ["b"], 0x7ffd /* 3 vars */) = 0 (INJECTED)\n'
    model = model_of(log, file="run.log")
    assert [(r.program, r.file, r.line, r.injected) for r in model.execs] == [
        ("/bin/app", "run.log", 1, False),
        ("/bin/b", "run.log", 2, True),
    ]


def test_what_an_exec_record_cannot_read_is_a_question_mark() -> None:
    """A path or an argument strace did not write as a string (a pointer it could not
    read, its ``...`` past -s's count of items) is shown as ``?``; an argv it did not write
    as an array, as no arguments."""
    log = (
        '100 execve(0x55d0, ["b", ...], 0x7ffd /* 3 vars */) = 0\n'
        '100 execve("/bin/c", 0x7ffc, 0x7ffd /* 3 vars */) = 0\n'
    )
    model = model_of(log)
    assert [(r.program, r.argv) for r in model.execs] == [("?", ["b", "?"]), ("/bin/c", [])]


def test_a_failed_exec_changes_nothing() -> None:
    log = (
        "100 pipe2([3<pipe:[7]>, 4<pipe:[7]>], O_CLOEXEC) = 0\n"
        '100 execve("/bin/nope", ["nope"], 0x7ffd /* 3 vars */) = -1 ENOENT (No such file or directory)\n'
    )
    model = model_of(log)
    assert model.execs == [] and model.exec_count == 0
    assert sorted(model.table(100)) == [0, 1, 2, 3, 4]


# ---- tables shared by processes (CLONE_FILES), and one's own ----

SHARED_THEN_EXEC = f"""\
{APP}100 pipe2([3<pipe:[7]>, 4<pipe:[7]>], O_CLOEXEC) = 0
100 clone(child_stack=0x7f00, flags=CLONE_FILES|SIGCHLD) = 200
200 execve("/bin/b", ["b"], 0x7ffd /* 3 vars */) = 0
"""


def test_an_exec_gives_a_process_sharing_its_table_its_own() -> None:
    """Process 200 shared 100's table (CLONE_FILES, not a thread): its exec closes the
    close-on-exec pipe in its new table only; 100 still holds both ends."""
    model = model_of(SHARED_THEN_EXEC)
    assert sorted(model.table(200)) == [0, 1, 2]
    assert sorted(model.table(100)) == [0, 1, 2, 3, 4]
    parent, child = model.tree.tasks[100], model.tree.tasks[200]
    assert parent.table is not child.table and parent.table.holders == {100}


def test_an_exec_keeps_a_table_no_other_process_holds() -> None:
    """A table only its own process uses stays that table through an exec (what watches
    it, a racing copy or the history, keeps watching it)."""
    model = FdModel()
    events = events_of(APP + "100 pipe2([3<pipe:[7]>, 4<pipe:[7]>], O_CLOEXEC) = 0\n")
    for event in events:
        model.feed(event)
    table = model.tree.tasks[100].table
    for event in events_of('100 execve("/bin/b", ["b"], 0x7ffd /* 3 vars */) = 0\n'):
        model.feed(event)
    assert model.tree.tasks[100].table is table and sorted(table.fds) == [0, 1, 2]


# ---- ends ----


def test_a_call_begun_before_its_task_ended_stays_that_tasks() -> None:
    """A thread's call that never returned is read at the log's end, after the thread's
    end: it is that thread's, not a new process's."""
    log = (
        f"{APP}100 clone3({{flags={THREAD}, exit_signal=0}}, 88) = 101\n"
        "101 read(0,  <unfinished ...>\n"
        "100 exit_group(0) = ?\n"
        "101 +++ exited with 0 +++\n"
        "100 +++ exited with 0 +++\n"
    )
    model = model_of(log)
    assert list(model.processes) == [100] and model.processes[100].threads == [100, 101]
    assert model.tree.ended_at == {101: (None, 5), 100: (None, 6)}


def test_a_call_begun_before_its_thread_was_retired_by_an_exec_stays_that_threads() -> None:
    log = (
        f"{APP}100 clone3({{flags={THREAD}, exit_signal=0}}, 88) = 101\n"
        f"100 clone3({{flags={THREAD}, exit_signal=0}}, 88) = 102\n"
        "101 read(0,  <unfinished ...>\n"
        '102 execve("/bin/true", ["true"], 0x7ffc /* 3 vars */ <unfinished ...>\n'
        "100 +++ superseded by execve in pid 102 +++\n"
        "100 <... execve resumed>) = 0\n"
        "100 +++ exited with 0 +++\n"
    )
    model = model_of(log)
    assert list(model.processes) == [100]
    assert model.tree.ended_at[101] == (None, 6)


def test_closes_are_told_when_the_last_user_of_a_table_ends() -> None:
    """A thread's end closes nothing while its leader uses the table; the leader's end
    closes what the table held."""
    log = (
        f"{APP}100 pipe2([3<pipe:[7]>, 4<pipe:[7]>], 0) = 0\n"
        f"100 clone3({{flags={THREAD}, exit_signal=0}}, 88) = 101\n"
        "101 exit(0) = ?\n"
        "101 +++ exited with 0 +++\n"
        "100 exit_group(0) = ?\n"
        "100 +++ exited with 0 +++\n"
    )
    model = FdModel()
    told = closes_told(model)
    for event in events_of(log):
        model.feed(event)
        if event.line == 5:
            assert told == []
    assert told == [(0, 7), (1, 7), (2, 7), (3, 7), (4, 7)]


# ---- events that came before their task ----


def test_a_task_adopted_at_the_end_begins_at_its_first_line() -> None:
    log = APP + '200 write(1, "x", 1) = 1\n100 exit_group(0) = ?\n100 +++ exited with 0 +++\n'
    model = model_of(log)
    orphan = model.processes[200]
    assert (orphan.parent, orphan.created_by, orphan.first_line) == (None, None, 2)


def test_a_reused_pids_early_lines_wait_for_their_own_clone() -> None:
    """At a pid wrap: thread 200, made by 100's clone, ran and exited before that clone
    returned; 101's fork made another 200, which wrote before either clone returned. The
    write (which shows fd 5 open) is the second 200's: it waits for 101's clone."""
    log = (
        f"{APP}100 clone3({{flags={THREAD}, exit_signal=0}}, 88) = 101\n"
        f"100 clone(child_stack=0x7f, flags={THREAD} <unfinished ...>\n"
        "200 exit(0) = ?\n"
        "200 +++ exited with 0 +++\n"
        "101 clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>\n"
        '200 write(5</tmp/f>, "y", 1) = 1\n'
        "100 <... clone resumed>) = 200\n"
        "101 <... clone resumed>) = 200\n"
    )
    model = model_of(log)
    assert model.table(200)[5].name == "/tmp/f"
    assert 5 not in model.table(100)  # not the thread's, whose table was 100's
    assert model.processes[200].parent == 100 and model.processes[200].created_by == Origin("clone", 101, 6)
    assert [(t.pid, t.alive) for t in model.tree.tasks[100].children] == [(101, True), (200, False)]
    assert model.tree.tasks[101].children == [model.tree.tasks[200]] and model.tree.tasks[200].alive


def test_a_clone_returning_0_is_the_childs_side() -> None:
    model = model_of(APP + "100 clone(child_stack=NULL, flags=SIGCHLD) = 0\n")
    assert list(model.processes) == [100]


def test_a_clone_result_is_a_pid_whatever_its_number() -> None:
    """No kernel returns pid 1 to a clone's caller; a hand-written log may: only 0 is the
    child's side."""
    model = model_of(APP + "100 clone(child_stack=NULL, flags=SIGCHLD) = 1\n")
    assert list(model.processes) == [100, 1] and model.processes[1].parent == 100


def test_a_task_taken_as_made_outside_is_adopted_when_its_clone_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the hold budget, a task seen before its creation is taken as made outside the
    trace; the clone that made it, returning later, gives it its parent."""
    monkeypatch.setattr("sysprobe._model.reorder.HOLD_BUDGET", 1)
    log = (
        f"{APP}100 clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>\n"
        '200 write(5</tmp/f>, "x", 1) = 1\n'
        '200 write(5</tmp/f>, "y", 1) = 1\n'
        "100 <... clone resumed>) = 200\n"
    )
    model = model_of(log)
    child = model.processes[200]
    assert child.parent == 100 and child.created_by == Origin("clone", 100, 2)
    assert model.tree.tasks[200].parent is model.tree.tasks[100]
    # the same task, with what its own lines showed: not a second one made at the clone
    assert model.table(200)[5].name == "/tmp/f"
    assert (model.process_count, model.tree.task_count) == (2, 2)


@pytest.mark.parametrize(
    "call",
    [
        "fork() = ?\n",  # strace 6.1, nothing between the call's entry and its end
        "fork( <unfinished ...>\n150 <... fork resumed>) = ?\n",
        "vfork() = ?\n",
    ],
)
def test_a_fork_whose_result_never_printed_made_the_task_seen_next(call: str) -> None:
    """The caller was killed inside fork while another process lived on: the kernel may
    have made the child, whose lines then come without a result naming it. fork and vfork
    make a process with a copy of the table, as a clone without CLONE_THREAD and
    CLONE_FILES does: the one task seen next is taken as that child."""
    log = (
        f"{APP}100 pipe2([3<pipe:[7]>, 4<pipe:[7]>], 0) = 0\n"
        "100 clone(child_stack=NULL, flags=SIGCHLD) = 150\n"
        f"150 {call}"
        "150 +++ killed by SIGKILL +++\n"
        "200 close(3<pipe:[7]>) = 0\n"
        "200 +++ exited with 0 +++\n"
        "100 +++ exited with 0 +++\n"
    )
    model = model_of(log)
    child = model.processes[200]
    assert (child.parent, child.created_by) == (150, Origin(call[:5].rstrip("("), 150, 4))
    assert model.tree.tasks[150].children == [model.tree.tasks[200]]
    assert sorted(model.table(200)) == [0, 1, 2, 4] and sorted(model.table(150)) == [0, 1, 2, 3, 4]


def test_a_lost_fork_adopts_nothing_once_every_task_ended() -> None:
    """The command itself was killed inside fork: a task that shows after is taken as
    made outside the trace (another log's, as likely as that fork's)."""
    log = f"{APP}100 fork() = ?\n100 +++ killed by SIGKILL +++\n200 getpid() = 200\n"
    child = model_of(log).processes[200]
    assert (child.parent, child.created_by) == (None, None)


def test_the_racing_copy_of_a_child_that_showed_first_is_made_at_its_clone() -> None:
    """The child's first line came before its clone returned: the copy was made before
    that line, so the child's table holds what the copy may hold from the clone on."""
    log = RACED_COPY
    model = FdModel(history=True)
    resumed = None
    for event in events_of(log):
        model.feed(event)
        if isinstance(event, Syscall) and event.name == "clone" and event.ret == 102:
            resumed = event
    assert resumed is not None
    clock = model.applied_at(resumed)
    assert clock is not None
    copied = model.table_at(102, clock)
    assert copied[3].race is not None and not copied[3].certain


def test_a_leaders_exec_raced_by_a_thread_names_the_leader() -> None:
    log = (
        f"{APP}100 clone3({{flags={THREAD}, exit_signal=0}}, 88) = 101\n"
        '100 execve("/bin/true", ["true"], 0x7ffc /* 3 vars */ <unfinished ...>\n'
        '101 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3</etc/hostname>\n'
        "100 <... execve resumed>) = 0\n"
    )
    model = model_of(log)
    crossed = model.execs[-1].crossed
    assert [d.fd for d in crossed] == [3]
    race = crossed[0].race
    assert race is not None and race.copy == Origin("execve", 100, 3)


# ---- queries ----


def test_open_descriptors_are_a_live_tables_once() -> None:
    log = (
        f"{APP}100 clone3({{flags={THREAD}, exit_signal=0}}, 88) = 101\n"
        "100 clone(child_stack=NULL, flags=SIGCHLD) = 200\n"
        '200 openat(AT_FDCWD, "/tmp/x", O_RDONLY) = 3</tmp/x>\n'
        "200 +++ exited with 0 +++\n"
    )
    model = model_of(log)
    assert [(pid, d.fd) for pid, d in model.open_descriptors()] == [(100, 0), (100, 1), (100, 2)]


def test_a_table_after_n_events_and_after_more_than_were_fed() -> None:
    log = '100 openat(AT_FDCWD, "/tmp/x", O_RDONLY) = 3</tmp/x>\n100 close(3</tmp/x>) = 0\n'
    model = model_of(log, history=True)
    assert model.fed == 2
    assert sorted(model.table(100, after=0)) == [0, 1, 2]
    assert sorted(model.table(100, after=1)) == [0, 1, 2, 3]
    for after in (2, 3, 50):
        assert sorted(model.table(100, after=after)) == [0, 1, 2]


def test_the_history_clock_counts_events_applied() -> None:
    model = FdModel(history=True)
    events = events_of(
        APP + '100 openat(AT_FDCWD, "/tmp/x", O_RDONLY) = 3</tmp/x>\n100 close(3</tmp/x>) = 0\n'
    )
    for event in events:
        model.feed(event)
    assert [model.applied_at(e) for e in events] == [1, 2, 3] and model.applied == 3
    assert sorted(model.table_at(100, 2)) == [0, 1, 2, 3]
    without = FdModel()
    for event in events:
        without.feed(event)
    assert without.applied_at(events[0]) is None and without.applied == 0


def test_a_model_without_history_says_so() -> None:
    with pytest.raises(ValueError, match=r"^this model keeps no history of its tables$"):
        FdModel().table_at(100, 1)


def test_a_clone3_whose_caller_died_in_it_reads_its_struct() -> None:
    """``{flags=...} <unfinished ...>`` reads as one expression: its struct, or None for a
    clone3 whose argument strace wrote as a pointer."""
    struct = Struct(())
    assert _struct_of(Expr((struct, Hex(88)))) is struct
    assert _struct_of(Expr((Hex(1), Hex(88)))) is None
    assert _struct_of(struct) is struct and _struct_of(None) is None


def test_the_root_is_the_first_process_even_after_it_ended() -> None:
    assert FdModel().root_process() is None
    log = f"{APP}100 clone(child_stack=NULL, flags=SIGCHLD) = 200\n100 +++ exited with 0 +++\n"
    model = FdModel(retain=False)
    for event in events_of(log):
        model.feed(event)
    root = model.root_process()
    assert root is not None and root.pid == 100 and root.exit_code == 0


def test_a_model_reads_numbers_as_its_architecture_writes_them() -> None:
    """With -X raw, flags are numbers: 0x200000 is O_CLOEXEC on alpha, O_PATH on x86_64."""
    assert FdModel().consts == constants(host_arch())
    assert FdModel(arch="alpha").consts == constants("alpha")
    log = '100 openat(-100, "/x", 0x200000) = 3\n'
    alpha = FdModel(arch="alpha")
    x86 = FdModel(arch="x86_64")
    for event in events_of(log):
        alpha.feed(event)
        x86.feed(event)
    assert alpha.table(100)[3].cloexec and not x86.table(100)[3].cloexec


# ---- a copy raced by another thread, through the child's exec ----

FORK = "100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
# Thread 101's dup2 onto the close-on-exec fd 3 was in flight while 100 forked 102 and
# ended after 102's exec: 102's copy held passwd at 3 (gone at the exec) or the dup of 4
# (without close-on-exec: it crossed).
RACED_EXEC = f"""\
{APP}100 clone3({{flags={THREAD}, exit_signal=0}}, 88) = 101
100 openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3</etc/passwd>
100 openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC) = 4</etc/hostname>
{FORK} <unfinished ...>
101 dup2(4</etc/hostname>, 3</etc/passwd> <unfinished ...>
100 <... clone resumed>, child_tidptr=0x7f) = 102
102 execve("/bin/true", ["true"], 0x7ffd /* 1 var */) = 0@INJECTED@
@AFTER@101 <... dup2 resumed>) = 3</etc/hostname>
"""


def raced_exec(
    *, injected: bool = False, after_exec: str = "", file: str | None = None
) -> tuple[FdModel, list[ExecRecord]]:
    log = RACED_EXEC.replace("@INJECTED@", " (INJECTED)" if injected else "").replace("@AFTER@", after_exec)
    model = FdModel()
    told: list[ExecRecord] = []
    model.on_exec.append(told.append)
    for event in events_of(log, file):
        model.feed(event)
    model.finish()
    return model, told


def test_a_late_crossing_is_told_as_a_supplement_of_its_exec() -> None:
    _, told = raced_exec(injected=True, file="race.log")
    exec_itself, supplement = told[1:]
    assert exec_itself.program == "/bin/true" and exec_itself.crossed == []
    assert supplement.supplement_of is exec_itself
    assert (supplement.pid, supplement.line, supplement.file, supplement.injected) == (
        102,
        8,
        "race.log",
        True,
    )
    (late,) = supplement.crossed
    assert late.fd == 3 and late.name == "/etc/hostname" and not late.certain
    assert exec_itself.late == [late]


def test_what_an_exec_dropped_may_come_back_with_a_late_change() -> None:
    """The exec closed 102's fd 3 (close-on-exec): not a change of its own, so the late
    dup2 may still have put the dup of 4 there, without close-on-exec."""
    model, _ = raced_exec()
    after = model.table(102)[3]
    assert after.name == "/etc/hostname" and not after.cloexec
    assert after.race is not None and after.race.others == (None,)


def test_a_late_change_does_not_undo_what_the_new_program_did() -> None:
    """After its exec, 102 opened /tmp/x as fd 3 itself: the dup2 that ends later changes
    nothing there."""
    model, _ = raced_exec(after_exec='102 openat(AT_FDCWD, "/tmp/x", O_RDONLY) = 3</tmp/x>\n')
    after = model.table(102)[3]
    assert after.name == "/tmp/x" and after.race is None


# Thread 101's openat of fd 3 was in flight while 100 forked 102: 102's copy may hold it
# or not. What the exec keeps of that doubt depends on what else may be at 3.
def raced_fork(held_before: str, call: str, result: str) -> str:
    return (
        f"{APP}100 clone3({{flags={THREAD}, exit_signal=0}}, 88) = 101\n"
        + held_before
        + f"{FORK} <unfinished ...>\n"
        + f"101 {call} <unfinished ...>\n"
        + "102 set_robust_list(0x7f, 24) = 0\n"
        + f"101 <... {call.split('(', maxsplit=1)[0]} resumed>) = {result}\n"
        + "100 <... clone resumed>, child_tidptr=0x7f) = 102\n"
        + '102 execve("/bin/true", ["true"], 0x7ffd /* 1 var */) = 0\n'
    )


def test_after_an_exec_a_copy_may_still_hold_nothing_where_it_raced() -> None:
    model = model_of(raced_fork("", 'openat(AT_FDCWD, "/etc/hostname", O_RDONLY', "3</etc/hostname>"))
    table = model.table(102)
    assert sorted(table, key=str) == [0, 1, 2, 3]
    raced = table[3]
    assert raced.name == "/etc/hostname" and raced.race is not None and raced.race.others == (None,)


def test_after_an_exec_what_else_may_be_there_drops_its_close_on_exec_part() -> None:
    """The copy held passwd (close-on-exec, gone at the exec) or hostname's dup at 3: after
    the exec, the dup or nothing."""
    held = (
        '100 openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3</etc/passwd>\n'
        '100 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 4</etc/hostname>\n'
    )
    model = model_of(raced_fork(held, "dup2(4</etc/hostname>, 3</etc/passwd>", "3</etc/hostname>"))
    raced = model.table(102)[3]
    assert raced.race is not None and raced.race.others == (None,)


def test_after_an_exec_a_number_surely_used_is_certain() -> None:
    """The copy held one of two descriptors at 4, neither with close-on-exec: something
    crossed there for sure, so the exec's doubt is dropped (which one is not kept: a
    leak at 4 is certain either way)."""
    held = (
        '100 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3</etc/passwd>\n'
        '100 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 4</etc/hostname>\n'
    )
    model = model_of(raced_fork(held, "dup2(3</etc/passwd>, 4</etc/hostname>", "4</etc/passwd>"))
    assert model.table(102)[4].race is None


# ---- calls the model only looks at ----


def test_a_failed_call_does_not_show_a_descriptor_open() -> None:
    """-y decorates the number when the call begins; another thread may close it before the
    call fails: only a call that succeeded shows it was open. (Only a call's first
    argument is read so: mmap's descriptor, fifth, is not.)"""
    log = (
        '100 read(5</tmp/f>, "", 1) = -1 EBADF (Bad file descriptor)\n'
        '100 read(6</tmp/g>, "x", 1) = 1\n'
        "100 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 7</tmp/h>, 0) = 0x7f0000\n"
    )
    assert sorted(model_of(log).table(100)) == [0, 1, 2, 6]


def test_an_exec_tells_what_it_closes() -> None:
    model = FdModel()
    told = closes_told(model)
    log = APP + "100 pipe2([3<pipe:[7]>, 4<pipe:[7]>], O_CLOEXEC) = 0\n" + APP
    for event in events_of(log):
        model.feed(event)
    assert told == [(3, 3), (4, 3)]


def test_a_task_adopted_when_the_others_ended_goes_on() -> None:
    """200's first line came while 100 lived (held: its creation may still show); once
    100 ended, nobody can be inside the clone that made it: 200 is taken as made outside
    the trace, and its next line continues that task."""
    log = (
        APP
        + '200 write(5</tmp/f>, "x", 1) = 1\n'
        + "100 exit_group(0) = ?\n"
        + "100 +++ exited with 0 +++\n"
        + '200 write(1, "y", 1) = 1\n'
    )
    model = FdModel()
    for event in events_of(log):
        model.feed(event)
    assert list(model.processes) == [100, 200] and model.process_count == 2
    assert model.processes[200].first_line == 2 and model.table(200)[5].name == "/tmp/f"


def test_a_call_that_ends_releases_the_copies_it_raced() -> None:
    """Thread 101 was inside openat when 100 forked: the copy waits to learn what that
    call did, and stops waiting once it ends."""
    log = (
        f"{APP}100 clone(child_stack=0x7f, flags={THREAD}) = 101\n"
        f"{FORK} <unfinished ...>\n"
        '101 openat(AT_FDCWD, "/etc/hostname", O_RDONLY <unfinished ...>\n'
        "100 <... clone resumed>, child_tidptr=0x7f) = 102\n"
        "101 <... openat resumed>) = 3</etc/hostname>\n"
    )
    model = FdModel()
    waiting = []
    for event in events_of(log):
        model.feed(event)
        waiting.append(model.tree.tasks[101].watched_by is not None if 101 in model.tree.tasks else None)
    assert waiting == [None, False, True, False]  # the fork, then the openat's end


def test_what_a_process_has_when_the_trace_begins() -> None:
    inherited = Descriptor(
        0, "unknown", None, False, Origin(None, None, None, detail="inherited, origin unknown")
    )
    table = model_of(APP).table(100)
    assert table[0] == inherited and sorted(table) == [0, 1, 2]
    assert FdModel().table(None) == {}  # no task yet
    assert sorted(model_of_inherited(APP, (0, 5)).table(100)) == [0, 5]


def model_of_inherited(log: str, inherited: tuple[int, ...]) -> FdModel:
    model = FdModel(inherited=inherited)
    for event in events_of(log):
        model.feed(event)
    return model


def test_only_unshare_of_the_files_gives_a_table_of_its_own() -> None:
    log = (
        f"{APP}100 clone(child_stack=0x7f00, flags=CLONE_FILES|SIGCHLD) = 200\n"
        "100 unshare(CLONE_NEWNS) = 0\n"
        "200 unshare(CLONE_FILES|CLONE_NEWNS) = -1 EPERM (Operation not permitted)\n"
    )
    model = model_of(log)
    assert model.tree.tasks[100].table is model.tree.tasks[200].table
    model = model_of(log + "100 unshare(CLONE_FILES|CLONE_NEWNS) = 0\n")
    assert model.tree.tasks[100].table is not model.tree.tasks[200].table
