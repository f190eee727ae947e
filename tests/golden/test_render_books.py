"""Whole goldens of hand-written strace logs, rendered in-process: the heading of each
process in depth-first creation order and how it ended, which calls the default set keeps
and which stories it leaves out, the user's own set, canonical story order, temporary
names, and logs without -y decorations or without pids."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import sysprobe
from sysprobe._golden.golden import render

HEADER = [
    "# sysprobe golden trace, format 2",
    "# command: job",
]
DEFAULT = "# syscalls: descriptors, processes and data paths (the default)"


def golden(tmp_path: Path, log: str, syscalls: str | None = None) -> list[str]:
    """The golden's lines, rendered without the replacements a live run adds (nothing of
    this machine's paths can show) and with render's own default for threads."""
    path = tmp_path / "trace.log"
    path.write_text(log)
    t = sysprobe.parse(path)
    return render(t.events, t.model, command="job", syscalls=syscalls).splitlines()


THREAD_FLAGS = (
    "flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS"
    "|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"
)
FORK_FLAGS = "flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"

# a shell: a thread, two children (the first with a child of its own, made after the
# second: depth first is not creation order), ends by exit and by signal, a child that
# closes everything twice, and a process strace attached to on its own
TREE = f"""\
100 execve("/bin/sh", ["sh", "-c", "job"], 0x7ffd /* 3 vars */) = 0
100 clone(child_stack=0x7f00, {THREAD_FLAGS}, parent_tid=[105], tls=0x7f01, child_tidptr=0x7f02) = 105
100 clone(child_stack=NULL, {FORK_FLAGS}, child_tidptr=0x7f03) = 101
100 clone(child_stack=NULL, {FORK_FLAGS}, child_tidptr=0x7f03) = 102
101 clone(child_stack=NULL, {FORK_FLAGS}, child_tidptr=0x7f04) = 103
103 execve("/bin/crash", ["crash"], 0x7ffd /* 3 vars */) = 0
103 +++ killed by SIGSEGV (core dumped) +++
102 execve("/bin/sleep", ["sleep", "9"], 0x7ffd /* 3 vars */) = 0
102 +++ killed by SIGKILL +++
101 close_range(3, 4294967295, 0) = 0
101 close_range(3, 4294967295, 0) = 0
101 +++ exited with 0 +++
105 +++ exited with 0 +++
200 openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3</etc/a>
200 +++ exited with 0 +++
100 +++ exited with 1 +++
"""


def test_processes_depth_first_with_their_makers_and_ends(tmp_path: Path) -> None:
    """render's defaults leave the thread's clone out; two equal lines of one section are
    both written (equal sort keys: the sort must never compare the lines themselves)."""
    assert golden(tmp_path, TREE) == [
        *HEADER,
        DEFAULT,
        "",
        "process 1: the command",
        '  execve("/bin/sh", ["sh", "-c", "job"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        f"  clone(child_stack=NULL, {FORK_FLAGS}, child_tidptr=0x7f03) = <process 2>",
        f"  clone(child_stack=NULL, {FORK_FLAGS}, child_tidptr=0x7f03) = <process 4>",
        "  +++ exited with 1 +++",
        "",
        "process 2: made by process 1 (clone)",
        f"  clone(child_stack=NULL, {FORK_FLAGS}, child_tidptr=0x7f04) = <process 3>",
        "  close_range(3, 4294967295, 0) = 0",
        "  close_range(3, 4294967295, 0) = 0",
        "  +++ exited with 0 +++",
        "",
        "process 3: made by process 2 (clone)",
        '  execve("/bin/crash", ["crash"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        "  +++ killed by SIGSEGV (core dumped) +++",
        "",
        "process 4: made by process 1 (clone)",
        '  execve("/bin/sleep", ["sleep", "9"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        "  +++ killed by SIGKILL +++",
        "",
        "process 5: made outside the trace",
        '  openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3</etc/a>',
        "  +++ exited with 0 +++",
    ]


# what the default set keeps of calls that change only flags or copy a descriptor, and
# which files read and closed it leaves out
KEPT = """\
10 execve("/bin/serve", ["serve"], 0x7ffe /* 3 vars */) = 0
10 mq_open("/jobs", O_RDONLY) = 3</jobs>
10 close(3</jobs>) = 0
10 openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3</etc/a>
10 fcntl(3</etc/a>, F_DUPFD_CLOEXEC, 10) = 10</etc/a>
10 fcntl(3</etc/a>, F_DUPFD, 20) = 20</etc/a>
10 fcntl(3</etc/a>, F_GETFL) = 0 (flags O_RDONLY)
10 close(3</etc/a>) = 0
10 close(10</etc/a>) = 0
10 close(20</etc/a>) = 0
10 openat(AT_FDCWD, "/etc/b", O_RDONLY) = 3</etc/b>
10 ioctl(3</etc/b>, FIOCLEX) = 0
10 openat(AT_FDCWD, "/etc/c", O_RDONLY) = 4</etc/c>
10 ioctl(4</etc/c>, FIONCLEX) = 0
10 ioctl(4</etc/c>, TCGETS, 0x7ffd1000) = -1 ENOTTY (Inappropriate ioctl for device)
10 ioctl(4</etc/c>, FIONREAD, [5]) = 0
10 openat(AT_FDCWD, "/etc/d", O_RDONLY) = 5</etc/d>
10 fcntl(5</etc/d>, F_SETFD, FD_CLOEXEC) = 0
10 close(5</etc/d>) = 0
10 socketpair(AF_UNIX, SOCK_STREAM, 0, [5<UNIX-STREAM:[9002]>, 6<UNIX-STREAM:[9003]>]) = 0
10 sendmmsg(5<UNIX-STREAM:[9002]>, NULL, 0, 0) = 0
10 +++ exited with 0 +++
"""


def test_the_default_set_keeps_descriptor_changes_and_leaves_reads_out(tmp_path: Path) -> None:
    """A message queue opened and closed is kept (only files are left out); a copy made
    with fcntl is no flag change, so its file is kept; FIOCLEX and FIONCLEX are kept,
    other ioctls and F_GETFL are not; a file whose close-on-exec flag alone changed is
    left out; an empty sendmmsg (no array: NULL) passes nothing and is not kept."""
    assert golden(tmp_path, KEPT) == [
        *HEADER,
        DEFAULT,
        "",
        "process 1: the command",
        '  execve("/bin/serve", ["serve"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        '  mq_open("/jobs", O_RDONLY) = 3</jobs>',
        "    close(3</jobs>) = 0",
        '  openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3</etc/a>',
        "    fcntl(3</etc/a>, F_DUPFD_CLOEXEC, 10) = 10</etc/a>",
        "    fcntl(3</etc/a>, F_DUPFD, 20) = 20</etc/a>",
        "    close(3</etc/a>) = 0",
        "    close(10</etc/a>) = 0",
        "    close(20</etc/a>) = 0",
        '  openat(AT_FDCWD, "/etc/b", O_RDONLY) = 3</etc/b>',
        "    ioctl(3</etc/b>, FIOCLEX) = 0",
        '  openat(AT_FDCWD, "/etc/c", O_RDONLY) = 4</etc/c>',
        "    ioctl(4</etc/c>, FIONCLEX) = 0",
        "  socketpair(AF_UNIX, SOCK_STREAM, 0, [5<UNIX-STREAM:[1]>, 6<UNIX-STREAM:[2]>]) = 0",
        "  +++ exited with 0 +++",
    ]


# -X raw: requests and control message types as numbers (FIOCLEX is 0x5451, SCM_RIGHTS 1)
RAW = """\
10 execve("/bin/serve", ["serve"], 0x7ffe /* 3 vars */) = 0
10 socketpair(0x1, 0x1, 0, [3<UNIX-STREAM:[9002]>, 4<UNIX-STREAM:[9003]>]) = 0
10 openat(-100, "/etc/a", 0) = 5</etc/a>
10 sendmsg(3<UNIX-STREAM:[9002]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], \
msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=0x1, cmsg_type=0x1, cmsg_data=[5</etc/a>]}], \
msg_controllen=24, msg_flags=0}, 0) = 1
10 openat(-100, "/etc/b", 0) = 6</etc/b>
10 sendmmsg(3<UNIX-STREAM:[9002]>, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", \
iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=0x1, cmsg_type=0x1, \
cmsg_data=[6</etc/b>]}], msg_controllen=24, msg_flags=0}, msg_len=1}], 1, 0) = 1
10 openat(-100, "/etc/c", 0) = 7</etc/c>
10 ioctl(7</etc/c>, 0x5451) = 0
10 +++ exited with 0 +++
"""


def test_numbers_for_names_are_read_as_the_constants_they_stand_for(tmp_path: Path) -> None:
    """Descriptors passed with a numbered SCM_RIGHTS are stories of their own (the send is
    part of them), and an ioctl numbered FIOCLEX is kept."""
    assert golden(tmp_path, RAW)[4:] == [
        "process 1: the command",
        '  execve("/bin/serve", ["serve"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        '  openat(-100, "/etc/a", 0) = 5</etc/a>',
        '    sendmsg(3<UNIX-STREAM:[1]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], '
        "msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=0x1, cmsg_type=0x1, cmsg_data=[5</etc/a>]}], "
        "msg_controllen=24, msg_flags=0}, 0) = 1",
        '  openat(-100, "/etc/b", 0) = 6</etc/b>',
        '    sendmmsg(3<UNIX-STREAM:[1]>, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", '
        "iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=0x1, cmsg_type=0x1, "
        "cmsg_data=[6</etc/b>]}], msg_controllen=24, msg_flags=0}, msg_len=1}], 1, 0) = 1",
        '  openat(-100, "/etc/c", 0) = 7</etc/c>',
        "    ioctl(7</etc/c>, 0x5451) = 0",
        "  socketpair(0x1, 0x1, 0, [3<UNIX-STREAM:[1]>, 4<UNIX-STREAM:[2]>]) = 0",
        "  +++ exited with 0 +++",
    ]


# a child given three files: it replaces b with a copy of a, closes its copy of c
FORKED = f"""\
10 execve("/bin/serve", ["serve"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, "/etc/a", O_RDONLY|O_CLOEXEC) = 3</etc/a>
10 openat(AT_FDCWD, "/etc/b", O_RDONLY|O_CLOEXEC) = 4</etc/b>
10 openat(AT_FDCWD, "/etc/c", O_RDONLY|O_CLOEXEC) = 5</etc/c>
10 clone(child_stack=NULL, {FORK_FLAGS}, child_tidptr=0x7f03) = 11
11 dup2(3</etc/a>, 4</etc/b>) = 4</etc/a>
11 close(5</etc/c>) = 0
11 execve("/bin/worker", ["worker"], 0x7ffe /* 3 vars */) = 0
11 +++ exited with 0 +++
10 close(4</etc/b>) = 0
10 close(5</etc/c>) = 0
10 +++ exited with 0 +++
"""


def test_a_file_read_and_closed_is_kept_where_another_process_uses_it(tmp_path: Path) -> None:
    """b is named by the child's dup2 (as the descriptor it replaced), c has a story in
    the child too: both stay in the parent's section although it only opened and closed
    them."""
    assert golden(tmp_path, FORKED)[4:] == [
        "process 1: the command",
        '  execve("/bin/serve", ["serve"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        f"  clone(child_stack=NULL, {FORK_FLAGS}, child_tidptr=0x7f03) = <process 2>",
        '  openat(AT_FDCWD, "/etc/a", O_RDONLY|O_CLOEXEC) = 3</etc/a>',
        '  openat(AT_FDCWD, "/etc/b", O_RDONLY|O_CLOEXEC) = 4</etc/b>',
        "    close(4</etc/b>) = 0",
        '  openat(AT_FDCWD, "/etc/c", O_RDONLY|O_CLOEXEC) = 5</etc/c>',
        "    close(5</etc/c>) = 0",
        "  +++ exited with 0 +++",
        "",
        "process 2: made by process 1 (clone)",
        "  fd 3 (/etc/a), from before:",
        "    dup2(3</etc/a>, 4</etc/b>) = 4</etc/a>",
        "  fd 5 (/etc/c), from before:",
        "    close(5</etc/c>) = 0",
        '  execve("/bin/worker", ["worker"], <env>) = 0',
        "  # crossed the exec without close-on-exec: fd 4 (/etc/a)",
        "  +++ exited with 0 +++",
    ]


# a user's set (-e trace=...): every call of it is kept, files read and closed too
USER_SET = """\
10 execve("/bin/serve", ["serve"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>
10 mmap(NULL, 20000, PROT_READ, MAP_PRIVATE, 3</etc/ld.so.cache>, 0) = 0x7f5a1c2d3000
10 close(3</etc/ld.so.cache>) = 0
10 openat(AT_FDCWD, "/etc/locale.alias", O_RDONLY|O_CLOEXEC) = 3</etc/locale.alias>
10 close(3</etc/locale.alias>) = 0
10 mmap(0x10000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x10000
10 lseek(9</srv/big>, 0, SEEK_END) = 100000
10 dup(7</srv/in>) = 8</srv/in>
10 ioctl(7</srv/in>, FIDEDUPERANGE, {src_offset=0, src_length=4096, dest_count=1, \
info=[{dest_fd=8</srv/in>, dest_offset=4096}]} => {info=[{bytes_deduped=4096, status=0}]}) = 0
10 socketpair(AF_UNIX, SOCK_STREAM, 0, [4<UNIX-STREAM:[9002]>, 5<UNIX-STREAM:[9003]>]) = 0
10 poll([{fd=5<UNIX-STREAM:[9003]>, events=POLLIN}], 1, 0) = 0 (Timeout)
10 poll([{fd=5<UNIX-STREAM:[9003]>, events=POLLIN}], 1, 0) = 0 (Timeout)
10 sendmmsg(4<UNIX-STREAM:[9002]>, NULL, 0, 0) = 0
10 +++ exited with 0 +++
"""
USER_CALLS = "trace=openat,close,mmap,lseek,dup,ioctl,socketpair,poll,sendmmsg"


def test_a_users_set_keeps_every_call_and_masks_addresses(tmp_path: Path) -> None:
    """A file read and closed is kept; an address from 0x10000 up is ADDR, a large number
    that is no address is not; a descriptor named inside an array, a struct or the value
    before ``=>`` is part of its story (mmap's is its fifth argument); a run of the same
    call that changes no descriptor is written once."""
    assert golden(tmp_path, USER_SET, USER_CALLS) == [
        *HEADER,
        f"# syscalls: {USER_CALLS}",
        "",
        "process 1: the command",
        '  execve("/bin/serve", ["serve"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        "  fds 7, 8 (/srv/in), from before:",
        "    dup(7</srv/in>) = 8</srv/in>",
        "    ioctl(7</srv/in>, FIDEDUPERANGE, {src_offset=0, src_length=4096, dest_count=1, "
        "info=[{dest_fd=8</srv/in>, dest_offset=4096}]} => {info=[{bytes_deduped=4096, status=0}]}) = 0",
        "  fd 9 (/srv/big), from before:",
        "    lseek(9</srv/big>, 0, SEEK_END) = 100000",
        "  mmap(ADDR, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = ADDR",
        '  openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>',
        "    mmap(NULL, 20000, PROT_READ, MAP_PRIVATE, 3</etc/ld.so.cache>, 0) = ADDR",
        "    close(3</etc/ld.so.cache>) = 0",
        '  openat(AT_FDCWD, "/etc/locale.alias", O_RDONLY|O_CLOEXEC) = 3</etc/locale.alias>',
        "    close(3</etc/locale.alias>) = 0",
        "  sendmmsg(4<UNIX-STREAM:[1]>, NULL, 0, 0) = 0",
        "  socketpair(AF_UNIX, SOCK_STREAM, 0, [4<UNIX-STREAM:[1]>, 5<UNIX-STREAM:[2]>]) = 0",
        "    poll([{fd=5<UNIX-STREAM:[2]>, events=POLLIN}], 1, 0) = 0",
        "  +++ exited with 0 +++",
    ]


# two pipes made and closed in opposite orders; two temporary files whose random names
# sort the other way round from their descriptors
ORDER = """\
10 execve("/bin/serve", ["serve"], 0x7ffe /* 3 vars */) = 0
10 pipe2([3<pipe:[900]>, 4<pipe:[900]>], 0) = 0
10 close(4<pipe:[900]>) = 0
10 close(3<pipe:[900]>) = 0
10 pipe2([3<pipe:[800]>, 4<pipe:[800]>], 0) = 0
10 close(3<pipe:[800]>) = 0
10 close(4<pipe:[800]>) = 0
10 openat(AT_FDCWD, "/tmp/tmpzz1234", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 5</tmp/tmpzz1234>
10 openat(AT_FDCWD, "/tmp/tmpaa5678", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 6</tmp/tmpaa5678>
10 +++ exited with 0 +++
"""


def test_stories_are_sorted_with_run_dependent_numbers_masked(tmp_path: Path) -> None:
    """Inode numbers and temporary names differ between runs: the order of stories must
    not depend on them (nor on which was numbered first), only on the rest of the text."""
    assert golden(tmp_path, ORDER)[4:] == [
        "process 1: the command",
        '  execve("/bin/serve", ["serve"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        '  openat(AT_FDCWD, "/tmp/$TEMP1", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 5</tmp/$TEMP1>',
        '  openat(AT_FDCWD, "/tmp/$TEMP2", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 6</tmp/$TEMP2>',
        "  pipe2([3<pipe:[1]>, 4<pipe:[1]>], 0) = 0",
        "    close(3<pipe:[1]>) = 0",
        "    close(4<pipe:[1]>) = 0",
        "  pipe2([3<pipe:[2]>, 4<pipe:[2]>], 0) = 0",
        "    close(4<pipe:[2]>) = 0",
        "    close(3<pipe:[2]>) = 0",
        "  +++ exited with 0 +++",
    ]


# without -y: results are bare numbers, and what crossed the exec is named by its kind
BARE = """\
10 execve("/bin/spool", ["spool"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, "/etc/spool.conf", O_RDONLY) = 31
10 fcntl(31, F_SETFD, FD_CLOEXEC) = 0
10 openat(AT_FDCWD, "/etc/spool.conf", O_RDONLY) = 3
10 fcntl(3, F_SETFD, FD_CLOEXEC) = 0
10 openat(AT_FDCWD, "/srv/run.Q1w2E3", O_RDWR|O_CREAT|O_EXCL, 0600) = 4
10 pipe2([5, 6], 0) = 0
10 execve("/bin/next", ["next"], 0x7ffe /* 3 vars */) = 0
10 +++ exited with 0 +++
"""


def test_a_log_without_decorations(tmp_path: Path) -> None:
    """A story whose text is the start of another's comes first (``= 3`` before ``= 31``);
    a temporary name is found from the call alone."""
    assert golden(tmp_path, BARE)[4:] == [
        "process 1: the command",
        '  execve("/bin/spool", ["spool"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        '  openat(AT_FDCWD, "/etc/spool.conf", O_RDONLY) = 3',
        "    fcntl(3, F_SETFD, FD_CLOEXEC) = 0",
        '  openat(AT_FDCWD, "/etc/spool.conf", O_RDONLY) = 31',
        "    fcntl(31, F_SETFD, FD_CLOEXEC) = 0",
        '  openat(AT_FDCWD, "/srv/run.$TEMP1", O_RDWR|O_CREAT|O_EXCL, 0600) = 4',
        "  pipe2([5, 6], 0) = 0",
        '  execve("/bin/next", ["next"], <env>) = 0',
        "  # crossed the exec without close-on-exec: fd 4 (/srv/run.$TEMP1), fd 5 (pipe), fd 6 (pipe)",
        "  +++ exited with 0 +++",
    ]


# a name cut short by -s, and an injected failure of O_EXCL on a folder's name
TEMPORARIES = """\
10 execve("/bin/spool", ["spool"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, "/srv/spool/", O_RDWR|O_CREAT|O_EXCL, 0600) = -1 EISDIR (Is a directory) (INJECTED)
10 openat(AT_FDCWD, "/srv/spool/job", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3</srv/spool/job>
10 openat(AT_FDCWD, "/srv/cache/ru"..., O_RDWR|O_CREAT|O_EXCL, 0600) = 4</srv/cache/run.Q1w2E3>
10 +++ exited with 0 +++
"""


def test_only_whole_file_names_are_temporary_names(tmp_path: Path) -> None:
    """The cut name is left as strace wrote it (its random part is not all there; -y's
    whole path is numbered); a folder's name is no temporary name, or every path in it
    would be rewritten."""
    assert golden(tmp_path, TEMPORARIES)[4:] == [
        "process 1: the command",
        '  execve("/bin/spool", ["spool"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        '  openat(AT_FDCWD, "/srv/cache/ru"..., O_RDWR|O_CREAT|O_EXCL, 0600) = 4</srv/cache/run.$TEMP1>',
        '  openat(AT_FDCWD, "/srv/spool/", O_RDWR|O_CREAT|O_EXCL, 0600) = -1 EISDIR (INJECTED)',
        '  openat(AT_FDCWD, "/srv/spool/job", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3</srv/spool/job>',
        "  +++ exited with 0 +++",
    ]


# a descriptor first named after another one (the model learns only a call's first)
SECOND_ARGUMENT = """\
10 execve("/bin/serve", ["serve"], 0x7ffe /* 3 vars */) = 0
10 sendfile(1</dev/pts/0>, 9</srv/in>, NULL, 5) = 5
10 +++ exited with 0 +++
"""


def test_a_descriptor_the_model_never_held_is_written_as_decorated(tmp_path: Path) -> None:
    assert golden(tmp_path, SECOND_ARGUMENT)[7:9] == [
        "  fd 1 (stdout), from before:",
        "    sendfile(1<stdout>, 9</srv/in>, NULL, N) = N",
    ]


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail instead of hanging: a process order that walked a pid of None as a parent
    would go round forever."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"not done in {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# strace without -f: no pid on any line
WITHOUT_PIDS = """\
execve("/bin/parent", ["parent"], 0x7ffe /* 3 vars */) = 0
openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3
fcntl(3, F_SETFD, FD_CLOEXEC) = 0
+++ exited with 0 +++
"""


def test_a_log_without_pids_is_the_command_alone(tmp_path: Path) -> None:
    with deadline(10):
        lines = golden(tmp_path, WITHOUT_PIDS)
    assert lines[4:] == [
        "process 1: the command",
        '  execve("/bin/parent", ["parent"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        '  openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3',
        "    fcntl(3, F_SETFD, FD_CLOEXEC) = 0",
        "  +++ exited with 0 +++",
    ]


# sh's child (101) forks the command's own pid again (100, reused after it exited): each
# is the other's parent, and no process is the first one
PARENT_CYCLE = """\
100 execve("/bin/sh", ["sh"], 0x7ffd /* 3 vars */) = 0
100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 101
100 exit_group(0) = ?
100 +++ exited with 0 +++
101 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 100
100 execve("/bin/true", ["true"], 0x7ffd /* 3 vars */) = 0
100 exit_group(0) = ?
100 +++ exited with 0 +++
101 exit_group(0) = ?
101 +++ exited with 0 +++
"""


def test_processes_no_root_reaches_are_still_written(tmp_path: Path) -> None:
    """A golden of no process would match any other golden of none: every line is kept."""
    body = golden(tmp_path, PARENT_CYCLE)
    assert [line for line in body if line.startswith(("process ", "  execve", "  clone"))] == [
        "process 1: made by process 2 (clone)",
        '  execve("/bin/sh", ["sh"], <env>) = 0',
        "  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, "
        "child_tidptr=0x7f) = <process 2>",
        '  execve("/bin/true", ["true"], <env>) = 0',
        "process 2: made by process 1 (clone)",
        "  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, "
        "child_tidptr=0x7f) = <process 1>",
    ]
