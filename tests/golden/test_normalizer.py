"""The golden normalizer, one value at a time: what differs between runs (pids, ports,
inodes, offered sizes, temporary names) is written the same way every run, and what is
part of the behaviour (well-known ports, the sizes the kernel wrote back) stays."""

from __future__ import annotations

from pathlib import Path

import pytest

import sysprobe
from sysprobe._golden.golden import Normalizer
from sysprobe._parsing.lineparse import parse_lines
from sysprobe.argtree import format_node
from sysprobe.events import Syscall


def written(line: str, normalizer: Normalizer | None = None) -> list[str]:
    """The arguments of a call as a golden writes them."""
    n = normalizer or Normalizer()
    (ev,) = parse_lines([line])
    assert isinstance(ev, Syscall)
    return [format_node(n.node(a)) for a in ev.args]


def test_pids_inside_structs_are_named_and_other_numbers_kept() -> None:
    n = Normalizer()
    n.pids = {4242: "process 2"}
    clone3 = written(
        "10 clone3({flags=CLONE_VM|CLONE_PARENT_SETTID, parent_tid=[4242], exit_signal=SIGCHLD, "
        "stack=0x7f, stack_size=0x9000}, 88) = 4242",
        n,
    )
    assert clone3[0].startswith("{flags=CLONE_VM|CLONE_PARENT_SETTID, parent_tid=[process 2], ")
    waitid = written(
        "10 waitid(P_PID, 4242, {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=4242, si_uid=4242, "
        "si_status=0, si_utime=0, si_stime=0}, WEXITED, NULL) = 0",
        n,
    )
    # the pid the kernel reported is named; a uid that happens to equal it is not a pid
    assert waitid[2] == (
        "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=process 2, si_uid=4242, si_status=0, "
        "si_utime=0, si_stime=0}"
    )
    # a pid the trace never named stays a number
    assert (
        "si_pid=77,"
        in written(
            "10 waitid(P_ALL, 0, {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=77, si_uid=0, si_status=0, "
            "si_utime=0, si_stime=0}, WEXITED, NULL) = 0",
            n,
        )[2]
    )


def test_only_the_name_length_the_kernel_wrote_back_is_kept() -> None:
    (_, msg, _) = written(
        '10 recvmsg(3, {msg_name={sa_family=AF_UNIX, sun_path="/run/s"}, msg_namelen=128 => 9, '
        'msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_controllen=24 => 20, '
        "msg_flags=0}, 0) = 1"
    )
    # the size offered differs between tracers; the size written back is the behaviour,
    # and a size the call changed in any other field is shown whole
    assert "msg_namelen=9," in msg and "msg_controllen=24 => 20," in msg


@pytest.mark.parametrize(
    ("decoration", "expected"),
    [
        ("pipe:[4893]", "pipe:[1]"),
        ("TCP:[127.0.0.1:50259->127.0.0.1:39824]", "TCP:[127.0.0.1:PORT1->127.0.0.1:PORT2]"),
        ("TCP:[127.0.0.1:80->127.0.0.1:50259]", "TCP:[127.0.0.1:80->127.0.0.1:PORT1]"),
        ("TCP:[[::1]:1023->[::1]:1024]", "TCP:[[::1]:1023->[::1]:PORT1]"),
        ("TCP:[[::1]:50000->[::1]:80]", "TCP:[[::1]:PORT1->[::1]:80]"),
        ("UDP:[0.0.0.0:53]", "UDP:[0.0.0.0:53]"),
        ("UNIX:[7->8]", "UNIX:[1->2]"),
        # -yy: a unix socket's path after its inodes, whatever the path holds
        ('UNIX-STREAM:[8841,"/run/x.sock"]', 'UNIX-STREAM:[1,"/run/x.sock"]'),
        ('UNIX-STREAM:[4904783->4904779,"/tmp/a->b,c.sock"]', 'UNIX-STREAM:[1->2,"/tmp/a->b,c.sock"]'),
        ("/dev/pts/0", "/dev/pts/0"),
        ("[eventfd]", "[eventfd]"),
        ("anon_inode:[eventpoll]", "anon_inode:[eventpoll]"),
        ("/weird]name[", "/weird]name["),
    ],
)
def test_decorations(decoration: str, expected: str) -> None:
    assert Normalizer().decoration(decoration) == expected


def test_ports_and_inodes_are_numbered_in_order_of_writing() -> None:
    n = Normalizer()
    assert [n.port(p) for p in (1023, 1024, 50000, 1024, 443)] == ["1023", "PORT1", "PORT2", "PORT1", "443"]
    assert [n.decoration(f"pipe:[{i}]") for i in (99, 12, 99)] == ["pipe:[1]", "pipe:[2]", "pipe:[1]"]


def test_a_masked_normalizer_writes_every_port_and_inode_alike() -> None:
    n = Normalizer(mask=True)
    assert [n.port(p) for p in (80, 1024, 50000)] == ["80", "PORT?", "PORT?"]
    assert n.decoration("TCP:[10.0.0.1:40000->10.0.0.2:40001]") == "TCP:[10.0.0.1:PORT?->10.0.0.2:PORT?]"
    assert n.decoration("pipe:[123]") == "pipe:[?]"


def test_htons_ports_are_numbered_like_decorations() -> None:
    n = Normalizer()
    (_, addr, _) = written(
        '10 connect(3, {sa_family=AF_INET, sin_port=htons(40000), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
        n,
    )
    assert "sin_port=htons(PORT1)" in addr
    (_, addr, _) = written(
        '10 bind(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("0.0.0.0")}, 16) = 0', n
    )
    assert "sin_port=htons(80)" in addr


# dup2's target descriptor, written bare where the tracer did not decorate it: the golden
# writes it as -y would have, when it was open (by name, or as the command's stdio)
BARE_TARGETS = """\
10 execve("/bin/parent", ["parent"], 0x7ffe /* 3 vars */) = 0
10 openat(AT_FDCWD, "/etc/a", O_RDONLY) = 3</etc/a>
10 openat(AT_FDCWD, "/etc/b", O_RDONLY) = 4</etc/b>
10 dup2(3</etc/a>, 4) = 4</etc/a>
10 dup2(3</etc/a>, 1) = 1</etc/a>
10 dup2(3</etc/a>, 7) = 7</etc/a>
10 +++ exited with 0 +++
"""


def test_a_bare_dup2_target_is_written_as_the_descriptor_it_replaced(tmp_path: Path) -> None:
    log = tmp_path / "bare.log"
    log.write_text(BARE_TARGETS)
    calls = [line.strip() for line in sysprobe.parse(log).golden().splitlines() if "dup2(" in line]
    assert calls == [
        "dup2(3</etc/a>, 4</etc/b>) = 4</etc/a>",
        "dup2(3</etc/a>, 1<stdout>) = 1</etc/a>",
        "dup2(3</etc/a>, 7) = 7</etc/a>",
    ]


def test_the_longest_replacement_is_made_first() -> None:
    n = Normalizer(replacements=[("b/c", "$SHORT"), ("/a/b", "$LONG"), ("", "$NEVER")])
    assert n.text("/a/b/c") == "$LONG/c"
