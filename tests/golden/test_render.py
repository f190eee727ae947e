"""The golden renderer on orderings a live run shows only now and then (hand-written logs
of what strace prints): each must render the same text every time."""

from __future__ import annotations

from pathlib import Path

import pytest

import sysprobe
from sysprobe._golden.golden import render

# a vfork child's lines come before its parent's vfork returns: strace shows the child's
# execve first, and the model applies it only once the vfork has returned
VFORK_CHILD_FIRST = """\
10 execve("/bin/parent", ["parent"], 0x7ffe /* 3 vars */) = 0
10 pipe2([3<pipe:[9]>, 4<pipe:[9]>], 0) = 0
10 vfork( <unfinished ...>
11 execve("/usr/bin/true", ["true"], 0x7ffe /* 3 vars */) = 0
10 <... vfork resumed>) = 11
11 +++ exited with 0 +++
10 close(3<pipe:[9]>) = 0
10 close(4<pipe:[9]>) = 0
10 pipe2([3<pipe:[12]>, 4<pipe:[12]>], O_CLOEXEC) = 0
10 execve("/bin/last", ["last"], 0x7ffe /* 3 vars */) = 0
10 +++ exited with 0 +++
"""


def golden_of(tmp_path: Path, text: str) -> list[str]:
    log = tmp_path / "trace.log"
    log.write_text(text)
    return sysprobe.parse(log).golden().splitlines()


def test_an_exec_logged_before_its_vfork_returns_shows_what_crossed_it(tmp_path: Path) -> None:
    lines = golden_of(tmp_path, VFORK_CHILD_FIRST)
    crossed = [
        (lines[i - 1].split("(")[1], line.strip()) for i, line in enumerate(lines) if "# crossed" in line
    ]
    assert crossed == [  # task 1's execs, then task 2's
        ('"/bin/parent", ["parent"], <env>) = 0', "# crossed the exec: no descriptor above 2"),
        ('"/bin/last", ["last"], <env>) = 0', "# crossed the exec: no descriptor above 2"),
        (
            '"/usr/bin/true", ["true"], <env>) = 0',
            "# crossed the exec without close-on-exec: fd 3 (pipe:[1]), fd 4 (pipe:[1])",
        ),
    ]


# pids wrap at pid_max: a later child can have a smaller pid than an earlier one
WRAPPED_PIDS = """\
32000 execve("/bin/parent", ["parent"], 0x7ffe /* 3 vars */) = 0
32000 clone(child_stack=NULL, flags=SIGCHLD) = 32767
32767 execve("/bin/first", ["first"], 0x7ffe /* 3 vars */) = 0
32767 clone(child_stack=NULL, flags=SIGCHLD) = 5
5 execve("/bin/grandchild", ["grandchild"], 0x7ffe /* 3 vars */) = 0
5 +++ exited with 0 +++
32767 +++ exited with 0 +++
32000 clone(child_stack=NULL, flags=SIGCHLD) = 300
300 execve("/bin/second", ["second"], 0x7ffe /* 3 vars */) = 0
300 +++ exited with 0 +++
32000 +++ exited with 0 +++
"""


def test_tasks_are_numbered_in_creation_order_not_by_pid(tmp_path: Path) -> None:
    lines = golden_of(tmp_path, WRAPPED_PIDS)
    processes = [
        (line, lines[i + 1].split('"')[1]) for i, line in enumerate(lines) if line.startswith("process ")
    ]
    assert processes == [
        ("process 1: the command", "/bin/parent"),
        ("process 2: made by process 1 (clone)", "/bin/first"),
        ("process 3: made by process 2 (clone)", "/bin/grandchild"),
        ("process 4: made by process 1 (clone)", "/bin/second"),
    ]
    clones = [line.strip() for line in lines if line.startswith("  clone(")]
    assert clones == [  # process 1's two, then process 2's
        "clone(child_stack=NULL, flags=SIGCHLD) = <process 2>",
        "clone(child_stack=NULL, flags=SIGCHLD) = <process 4>",
        "clone(child_stack=NULL, flags=SIGCHLD) = <process 3>",
    ]


VFORK_CHILD_DUP2 = """\
10 execve("/bin/parent", ["parent"], 0x7ffe /* 3 vars */) = 0
10 pipe2([3<pipe:[9]>, 4<pipe:[9]>], 0) = 0
10 vfork( <unfinished ...>
11 dup2(4<pipe:[9]>, 1</dev/pts/7>) = 1<pipe:[9]>
11 execve("/usr/bin/true", ["true"], 0x7ffe /* 3 vars */) = 0
10 <... vfork resumed>) = 11
11 +++ exited with 0 +++
10 +++ exited with 0 +++
"""


def test_a_held_childs_inherited_stdout_is_named_stdout(tmp_path: Path) -> None:
    lines = golden_of(tmp_path, VFORK_CHILD_DUP2)
    assert "    dup2(4<pipe:[1]>, 1<stdout>) = 1<pipe:[1]>" in lines  # in fd 4's story


# a log without -y: every descriptor bare, passed over a socket with sendmsg and sendmmsg
BARE = """\
10 execve("/bin/parent", ["parent"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3
10 openat(AT_FDCWD, "/etc/b", O_RDONLY|O_CLOEXEC) = 4
10 fcntl(3, F_SETFD, FD_CLOEXEC) = 0
10 dup2(4, 1) = 1
10 socketpair(AF_UNIX, SOCK_STREAM, 0, [5, 6]) = 0
10 sendmmsg(5, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, \
msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[4]}], msg_controllen=24, \
msg_flags=0}, msg_len=1}], 1, 0) = 1
10 sendmsg(5, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, \
msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[3]}], msg_controllen=24, \
msg_flags=0}, 0) = 1
10 fcntl(2, F_SETFD, FD_CLOEXEC) = 0
10 close(3) = 0
10 close(4) = 0
10 close_range(5, 6, 0) = 0
10 +++ exited with 0 +++
"""


def test_a_log_without_decorations_tells_each_descriptors_story(tmp_path: Path) -> None:
    """Calls join the story of the descriptor they name (a passed one's, not the socket's);
    a descriptor from before the command gets a story of its own; close_range none."""
    assert golden_of(tmp_path, BARE)[5:] == [
        "process 1: the command",
        '  execve("/bin/parent", ["parent"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        "  fd 2 (stderr), from before:",
        "    fcntl(2, F_SETFD, FD_CLOEXEC) = 0",
        "  close_range(5, 6, 0) = 0",
        '  openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3',
        "    fcntl(3, F_SETFD, FD_CLOEXEC) = 0",
        '    sendmsg(5, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, '
        "msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[3]}], "
        "msg_controllen=24, msg_flags=0}, 0) = 1",
        "    close(3) = 0",
        '  openat(AT_FDCWD, "/etc/b", O_RDONLY|O_CLOEXEC) = 4',
        "    dup2(4, 1<stdout>) = 1",
        '    sendmmsg(5, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], '
        "msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, "
        "cmsg_data=[4]}], msg_controllen=24, msg_flags=0}, msg_len=1}], 1, 0) = 1",
        "    close(4) = 0",
        "  socketpair(AF_UNIX, SOCK_STREAM, 0, [5, 6]) = 0",
        "  +++ exited with 0 +++",
    ]


# descriptors the command was started with, beyond stdio: 7 with -y, 9 without
INHERITED = """\
10 execve("/bin/parent", ["parent"], 0x7ffe /* 3 vars */) = 0
10 dup(7</srv/in>) = 8</srv/in>
10 fcntl(8</srv/in>, F_SETFD, FD_CLOEXEC) = 0
10 sendfile(1</dev/pts/1>, 8</srv/in>, NULL, 4096) = 4096
10 sendfile(1</dev/pts/1>, 8</srv/in>, NULL, 4096) = 1000
10 fcntl(8</srv/in>, F_SETFD, FD_CLOEXEC) = 0
10 fcntl(9, F_SETFD, FD_CLOEXEC) = 0
10 dup(9) = 11
10 fcntl(11, F_SETFD, FD_CLOEXEC) = 0
10 +++ exited with 0 +++
"""


def test_a_descriptor_from_before_the_command_has_one_story_from_its_first_use(tmp_path: Path) -> None:
    """The first call that names such a descriptor opens its story (it used to stand
    alone, and the story went by the copy's number); a run of the same data-path call is
    written once, a repeated flag change each time."""
    assert golden_of(tmp_path, INHERITED)[5:] == [
        "process 1: the command",
        '  execve("/bin/parent", ["parent"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        "  fd 1 (stdout), from before:",
        "    sendfile(1<stdout>, 8</srv/in>, NULL, N) = N",
        "  fds 7, 8 (/srv/in), from before:",
        "    dup(7</srv/in>) = 8</srv/in>",
        "    fcntl(8</srv/in>, F_SETFD, FD_CLOEXEC) = 0",
        "    fcntl(8</srv/in>, F_SETFD, FD_CLOEXEC) = 0",
        "  fd 9 (unknown), from before:",
        "    fcntl(9, F_SETFD, FD_CLOEXEC) = 0",
        "    dup(9) = 11",
        "    fcntl(11, F_SETFD, FD_CLOEXEC) = 0",
        "  +++ exited with 0 +++",
    ]


# files read and closed are left out; a file made with O_EXCL has a temporary name, in
# every open call's notation (open, openat, openat2), and relative as well as absolute
OPENS = """\
10 execve("/bin/parent", ["parent"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>
10 close(3</etc/ld.so.cache>) = 0
10 openat(AT_FDCWD, "/srv/made", O_WRONLY|O_CREAT|O_CLOEXEC, 0644) = 3</srv/made>
10 close(3</srv/made>) = 0
10 open("/srv/old", O_RDONLY) = 3</srv/old>
10 close(3</srv/old>) = 0
10 openat2(AT_FDCWD, "/srv/old2", {flags=O_RDONLY|O_CLOEXEC, resolve=0}, 24) = 3</srv/old2>
10 close(3</srv/old2>) = 0
10 creat("/srv/c", 0644) = 3</srv/c>
10 close(3</srv/c>) = 0
10 openat(AT_FDCWD, "/tmp/tmpk3j4h5g6", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 3</tmp/tmpk3j4h5g6>
10 open("/srv/run.Q1w2E3", O_RDWR|O_CREAT|O_EXCL, 0600) = 4</srv/run.Q1w2E3>
10 openat2(AT_FDCWD, "/srv/lock-88321", {flags=O_RDWR|O_CREAT|O_EXCL, mode=0600, resolve=0}, 24) = \
5</srv/lock-88321>
10 openat(AT_FDCWD, "build-Ab3dE9.o", O_RDWR|O_CREAT|O_EXCL, 0600) = 6</work/build-Ab3dE9.o>
10 openat(AT_FDCWD, "/srv/kept.Zx9Yw8", O_RDWR|O_CREAT, 0600) = 7</srv/kept.Zx9Yw8>
10 openat(AT_FDCWD, "/srv/a/lock.Ab12Cd", O_RDWR|O_CREAT|O_EXCL, 0600) = 8</srv/a/lock.Ab12Cd>
10 openat(AT_FDCWD, "/srv/b/lock.Ab12Cd", O_RDWR|O_CREAT|O_EXCL, 0600) = 9</srv/b/lock.Ab12Cd>
10 openat(AT_FDCWD, "../w/tmpZx9Yw8q1", O_RDWR|O_CREAT|O_EXCL, 0600) = 10</srv/w/tmpZx9Yw8q1>
10 execve("/bin/next", ["next"], 0x7ffe /* 3 vars */) = 0
10 +++ exited with 0 +++
"""


def test_reads_are_left_out_and_temporary_names_numbered(tmp_path: Path) -> None:
    assert golden_of(tmp_path, OPENS)[5:] == [
        "process 1: the command",
        '  execve("/bin/parent", ["parent"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        '  creat("/srv/c", 0644) = 3</srv/c>',
        "    close(3</srv/c>) = 0",
        '  open("/srv/run.$TEMP1", O_RDWR|O_CREAT|O_EXCL, 0600) = 4</srv/run.$TEMP1>',
        # a relative name stays relative, and is the same file as -y's absolute form
        '  openat(AT_FDCWD, "../w/$TEMP2", O_RDWR|O_CREAT|O_EXCL, 0600) = 10</srv/w/$TEMP2>',
        # one name in two folders: two files
        '  openat(AT_FDCWD, "/srv/a/lock.$TEMP3", O_RDWR|O_CREAT|O_EXCL, 0600) = 8</srv/a/lock.$TEMP3>',
        '  openat(AT_FDCWD, "/srv/b/lock.$TEMP4", O_RDWR|O_CREAT|O_EXCL, 0600) = 9</srv/b/lock.$TEMP4>',
        '  openat(AT_FDCWD, "/srv/kept.Zx9Yw8", O_RDWR|O_CREAT, 0600) = 7</srv/kept.Zx9Yw8>',
        '  openat(AT_FDCWD, "/srv/made", O_WRONLY|O_CREAT|O_CLOEXEC, 0644) = 3</srv/made>',
        "    close(3</srv/made>) = 0",
        '  openat(AT_FDCWD, "/tmp/$TEMP5", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 3</tmp/$TEMP5>',
        '  openat(AT_FDCWD, "build-$TEMP6.o", O_RDWR|O_CREAT|O_EXCL, 0600) = 6</work/build-$TEMP6.o>',
        '  openat2(AT_FDCWD, "/srv/lock-$TEMP7", {flags=O_RDWR|O_CREAT|O_EXCL, mode=0600, resolve=0}, 24) = '
        "5</srv/lock-$TEMP7>",
        '  execve("/bin/next", ["next"], <env>) = 0',
        "  # crossed the exec without close-on-exec: fd 4 (/srv/run.$TEMP1), fd 5 (/srv/lock-$TEMP7), "
        "fd 6 (/work/build-$TEMP6.o), fd 7 (/srv/kept.Zx9Yw8), fd 8 (/srv/a/lock.$TEMP3), "
        "fd 9 (/srv/b/lock.$TEMP4), fd 10 (/srv/w/$TEMP2)",
        "  +++ exited with 0 +++",
    ]


# a thread's clone (written only on request); files read with only their close-on-exec
# flag changed, by name or by number (-X raw), are left out; stdin and stdout by name,
# until stdout is closed and its number reused
THREADED = """\
10 execve("/bin/parent", ["parent"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3</etc/a>
10 ioctl(3</etc/a>, FIONCLEX) = 0
10 close(3</etc/a>) = 0
10 openat(AT_FDCWD, "/etc/b", O_RDONLY) = 3</etc/b>
10 fcntl(3</etc/b>, 0x2, 0x1) = 0
10 close(3</etc/b>) = 0
10 clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM\
|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=[11], tls=0x7f, child_tidptr=0x7f) = 11
11 dup2(0</dev/null>, 5) = 5</dev/null>
11 close(1</dev/pts/0>) = 0
11 openat(AT_FDCWD, "/srv/out", O_WRONLY|O_CREAT, 0644) = 1</srv/out>
11 fcntl(1</srv/out>, F_SETFD, FD_CLOEXEC) = 0
11 +++ exited with 0 +++
10 +++ exited with 0 +++
"""


@pytest.mark.parametrize("threads", [False, True])
def test_threads_flag_changes_and_stdio(threads: bool, tmp_path: Path) -> None:
    log = tmp_path / "trace.log"
    log.write_text(THREADED)
    clone = (
        "  clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD"
        "|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, "
        "parent_tid=[thread of process 1], tls=0x7f, "
        "child_tidptr=0x7f) = <thread of process 1>"
    )
    assert sysprobe.parse(log).golden(threads=threads).splitlines()[5:] == [
        "process 1: the command",
        '  execve("/bin/parent", ["parent"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        "  fd 0 (stdin), from before:",
        "    dup2(0<stdin>, 5) = 5<stdin>",
        "  fd 1 (stdout), from before:",
        "    close(1<stdout>) = 0",
        *([clone] if threads else []),
        '  openat(AT_FDCWD, "/srv/out", O_WRONLY|O_CREAT, 0644) = 1</srv/out>',
        "    fcntl(1</srv/out>, F_SETFD, FD_CLOEXEC) = 0",
        "  +++ exited with 0 +++",
    ]


# a file read and closed is left out, unless another story's call names it
MENTIONED = """\
10 execve("/bin/parent", ["parent"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3</etc/a>
10 sendfile(1</dev/pts/0>, 3</etc/a>, NULL, 5) = 5
10 close(3</etc/a>) = 0
10 openat(AT_FDCWD, "/etc/b", O_RDONLY) = 3</etc/b>
10 close(3</etc/b>) = 0
10 +++ exited with 0 +++
"""


def test_a_file_another_call_names_is_kept(tmp_path: Path) -> None:
    assert golden_of(tmp_path, MENTIONED)[5:] == [
        "process 1: the command",
        '  execve("/bin/parent", ["parent"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        "  fd 1 (stdout), from before:",
        "    sendfile(1<stdout>, 3</etc/a>, NULL, N) = N",
        '  openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3</etc/a>',
        "    close(3</etc/a>) = 0",
        "  +++ exited with 0 +++",
    ]


# a user's set of calls, in a log without -y: numbers that are no descriptor (umask's
# mode, alarm's seconds, kill's pid) stay out of the stories of descriptors 0 to 3
NUMBERS = """\
10 execve("/bin/parent", ["parent"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3
10 umask(03) = 022
10 alarm(1) = 0
10 kill(0, SIGTERM) = 0
10 fstat(3, {st_mode=S_IFREG|0644, st_size=5}) = 0
10 fcntl(3, F_SETFD, FD_CLOEXEC) = 0
10 mq_open("q", O_RDWR|O_CREAT, 0600, NULL) = 4
10 mq_timedsend(4, "x", 1, 0, NULL) = 0
10 +++ exited with 0 +++
"""


def test_a_first_argument_that_is_no_descriptor_tells_no_story(tmp_path: Path) -> None:
    log = tmp_path / "trace.log"
    log.write_text(NUMBERS)
    t = sysprobe.parse(log)
    calls = "trace=execve,openat,umask,alarm,kill,fstat,fcntl,mq_open,mq_timedsend"
    text = render(t.events, t.model, command="p", syscalls=calls)
    lines = text.splitlines()
    assert lines[lines.index("process 1: the command") :] == [
        "process 1: the command",
        '  execve("/bin/parent", ["parent"], <env>) = 0',
        "  # crossed the exec: no descriptor above 2",
        "  alarm(1) = 0",
        "  kill(0, SIGTERM) = 0",
        '  mq_open("q", O_RDWR|O_CREAT, 0600, NULL) = 4',
        '    mq_timedsend(4, "x", 1, 0, NULL) = 0',  # a message queue is a descriptor
        '  openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3',
        "    fstat(3, {st_mode=S_IFREG|0644, st_size=5}) = 0",
        "    fcntl(3, F_SETFD, FD_CLOEXEC) = 0",
        "  umask(03) = 022",
        "  +++ exited with 0 +++",
    ]


# one relative temporary name made in two folders (git's lock in two repositories)
TWO_FOLDERS = """\
10 execve("/bin/parent", ["parent"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, ".git/index.lock", O_RDWR|O_CREAT|O_EXCL, 0600) = 3</r/a/.git/index.lock>
10 openat(AT_FDCWD, ".git/index.lock", O_RDWR|O_CREAT|O_EXCL, 0600) = 4</r/b/.git/index.lock>
10 execve("/bin/next", ["next"], 0x7ffe /* 3 vars */) = 0
10 +++ exited with 0 +++
"""


def test_one_relative_name_in_two_folders_is_two_files(tmp_path: Path) -> None:
    """Neither absolute form takes the relative name's number: the same line would say two
    numbers for one file."""
    assert golden_of(tmp_path, TWO_FOLDERS)[8:10] == [
        '  openat(AT_FDCWD, ".git/$TEMP1", O_RDWR|O_CREAT|O_EXCL, 0600) = 3</r/a/.git/$TEMP2>',
        '  openat(AT_FDCWD, ".git/$TEMP1", O_RDWR|O_CREAT|O_EXCL, 0600) = 4</r/b/.git/$TEMP3>',
    ]
