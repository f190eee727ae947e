"""The argument decoder on the notations strace prints."""

from __future__ import annotations

import pytest

from sysprobe._parsing.argdecode import decode_args, decode_value
from sysprobe.argtree import (
    MORE,
    Call,
    Changed,
    Comment,
    Commented,
    Const,
    Expr,
    Fd,
    Field,
    Flags,
    Hex,
    Oct,
    Op,
    Raw,
    Resuming,
    SigSet,
    Str,
    Struct,
    format_args,
    to_json,
)

C = Const


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3, 832", (3, 832)),
        ("-1, 0", (-1, 0)),
        ("0x7ffc7f287280", (0x7FFC7F287280,)),
        ("0644", (0o644,)),
        ("NULL, AT_FDCWD", (C("NULL"), C("AT_FDCWD"))),
        ('"/etc/passwd"', (Str(b"/etc/passwd"),)),
        ('"\\177ELF\\2\\1"...', (Str(b"\x7fELF\x02\x01", truncated=True),)),
        ('"\\x65\\x95\\xf3"', (Str(b"\x65\x95\xf3"),)),
        ('"a\\tb\\nc\\"d\\\\e"', (Str(b'a\tb\nc"d\\e'),)),
        ('"od/\\303\\251"', (Str("od/é".encode()),)),
        ('""', (Str(b""),)),
        ('"..."', (Str(b"..."),)),
        ("O_RDONLY|O_CLOEXEC|0x40", (Flags((C("O_RDONLY"), C("O_CLOEXEC"), 0x40)),)),
        ("S_IFREG|0644", (Flags((C("S_IFREG"), 0o644)),)),
        ('["ls", "-l"]', ((Str(b"ls"), Str(b"-l")),)),
        ("[]", ((),)),
        ("[3, 4]", ((3, 4),)),
        (
            "{st_mode=S_IFREG|0644, st_size=0, ...}",
            (Struct((Field("st_mode", Flags((C("S_IFREG"), 0o644))), Field("st_size", 0), MORE)),),
        ),
        ("[0] => [65536]", (Changed((0,), (65536,)),)),
        ("htons(80)", (Call("htons", (80,)),)),
        ('inet_addr("127.0.0.1")', (Call("inet_addr", (Str(b"127.0.0.1"),)),)),
        ("makedev(0x1, 0x3)", (Call("makedev", (1, 3)),)),
        ("0x7ffdcc909270 /* 84 vars */", (Commented(0x7FFDCC909270, "84 vars"),)),
        ("[/* 22 vars */]", ((Comment("22 vars"),),)),
        ("0x3001 /* ARCH_??? */", (Commented(0x3001, "ARCH_???"),)),
        ("~[RTMIN RT_1]", (SigSet((C("RTMIN"), C("RT_1")), True),)),
        ("[RTMIN RT_1]", (SigSet((C("RTMIN"), C("RT_1")), False),)),
        ("~[]", (SigSet((), True),)),
        ("[CHLD]", ((C("CHLD"),),)),
        (
            "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]",
            (
                (
                    Struct(
                        (
                            Expr(
                                (
                                    Call("WIFEXITED", (C("s"),)),
                                    Op("&&"),
                                    Call("WEXITSTATUS", (C("s"),)),
                                    Op("=="),
                                    0,
                                )
                            ),
                        )
                    ),
                ),
            ),
        ),
        (
            "{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}",
            (
                Struct(
                    (Field("rlim_cur", Expr((8192, Op("*"), 1024))), Field("rlim_max", C("RLIM64_INFINITY")))
                ),
            ),
        ),
        (
            "-100 /* AT_FDCWD */, 0x80000 /* O_RDONLY|O_CLOEXEC */",
            (Commented(-100, "AT_FDCWD"), Commented(0x80000, "O_RDONLY|O_CLOEXEC")),
        ),
        (
            "flags=0x1200000 /* CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID */|17 /* SIGCHLD */",
            (
                Field(
                    "flags",
                    Flags(
                        (
                            Commented(0x1200000, "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID"),
                            Commented(17, "SIGCHLD"),
                        )
                    ),
                ),
            ),
        ),
        ("~[32 /* RTMIN */ 33 /* RT_1 */]", (SigSet((Commented(32, "RTMIN"), Commented(33, "RT_1")), True),)),
        ("flags=0x1200000|17", (Field("flags", Flags((0x1200000, 17))),)),
        ("3</tmp/a\\76b>", (Fd(3, "/tmp/a>b"),)),
        ("4<pipe:[1234]>", (Fd(4, "pipe:[1234]"),)),
        ("5<TCP:[127.0.0.1:80->127.0.0.1:5555]>", (Fd(5, "TCP:[127.0.0.1:80->127.0.0.1:5555]"),)),
        ("3</tmp/sp/od/a b>(deleted)", (Fd(3, "/tmp/sp/od/a b", deleted=True),)),
        ("3</tmp/gone (deleted)>", (Fd(3, "/tmp/gone", deleted=True),)),
        ("3</tmp/a->", (Fd(3, "/tmp/a-"),)),
        ("1</dev/null<char 1:3>>", (Fd(1, "/dev/null<char 1:3>"),)),
        ("AT_FDCWD</tmp/sp>", (Fd("AT_FDCWD", "/tmp/sp"),)),
        ("7<anon_inode:[eventpoll]>", (Fd(7, "anon_inode:[eventpoll]"),)),
        ("<... resuming interrupted read ...>", (Resuming("read"),)),
        (
            "{SIG_DFL, [], SA_RESTORER, 0x7fc3443ed9a0}",
            (Struct((C("SIG_DFL"), (), C("SA_RESTORER"), 0x7FC3443ED9A0)),),
        ),
        ("SNDCTL_TMR_TIMEBASE or TCGETS", (Expr((C("SNDCTL_TMR_TIMEBASE"), C("or"), C("TCGETS"))),)),
        (
            "{B38400 opost isig icanon echo ...}",
            (Struct((Expr((C("B38400"), C("opost"), C("isig"), C("icanon"), C("echo"), MORE)),)),),
        ),
        (
            'inet_pton(AF_INET6, "::1", &sin6_addr)',
            (Call("inet_pton", (C("AF_INET6"), Str(b"::1"), Expr((Op("&"), C("sin6_addr"))))),),
        ),
        (
            '{sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}',
            (
                Struct(
                    (
                        Field("sa_family", C("AF_INET")),
                        Field("sin_port", Call("htons", (0,))),
                        Field("sin_addr", Call("inet_addr", (Str(b"127.0.0.1"),))),
                    )
                ),
            ),
        ),
        ("", ()),
    ],
)
def test_decodes(text: str, expected: tuple[object, ...]) -> None:
    assert decode_args(text) == expected


def test_hex_and_octal_remember_their_base() -> None:
    hexed, octal, plain = decode_args("0x10, 010, 10")
    assert type(hexed) is Hex and type(octal) is Oct and type(plain) is int
    assert (hexed, octal, plain) == (16, 8, 10)
    assert format_args(decode_args("0x10, 010, 10, -0x1")) == "0x10, 010, 10, -0x1"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("000000ff", 0xFF),  # strace before 5 printed nl_groups with %08x
        ("00000010", 0x10),  # the same with decimal-looking digits: not octal 010
        ("00000019", 0x19),
        ("00000000", 0),
        ("0x000011", 0x11),  # strace 6 (%#08x)
    ],
)
def test_zero_padded_hex_groups(text: str, value: int) -> None:
    (groups,) = decode_args(f"{{sa_family=AF_NETLINK, nl_pid=0, nl_groups={text}}}")[0].items[2:]  # type: ignore[union-attr]
    assert groups == Field("nl_groups", Hex(value))
    assert isinstance(groups, Field) and type(groups.value) is Hex


def test_short_zero_padded_numbers_stay_octal() -> None:
    """strace's octal: one leading zero (%#o), or a three-digit mode or umask (%#03o)."""
    mode, umask, none, big = decode_args("0644, 007, 000, 0100644")
    assert (type(mode), type(umask), type(none), type(big)) == (Oct, Oct, Oct, Oct)
    assert (mode, umask, none, big) == (0o644, 7, 0, 0o100644)
    assert decode_args("10000000, 01000000") == (10000000, 0o1000000)  # no "00": not padded hex


def test_scm_rights_message() -> None:
    text = (
        '3<UNIX-STREAM:[3969->3970]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], '
        "msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, "
        "cmsg_data=[5</etc/hostname>]}], msg_controllen=24, msg_flags=0}, 0"
    )
    sock, msg, flags = decode_args(text)
    assert sock == Fd(3, "UNIX-STREAM:[3969->3970]") and flags == 0
    assert isinstance(msg, Struct)
    control = msg.get("msg_control")
    assert isinstance(control, tuple) and isinstance(control[0], Struct)
    assert control[0].get("cmsg_type") == C("SCM_RIGHTS")
    assert control[0].get("cmsg_data") == (Fd(5, "/etc/hostname"),)


def test_odd_text_is_kept_not_raised() -> None:
    assert decode_args("3, ((, 4") == (3, Raw("(("), 4)
    assert decode_args('"unclosed') == (Raw('"unclosed'),)
    assert decode_args("a=b=c, 5") == (Raw("a=b=c"), 5)
    assert decode_args("}") == (Raw("}"),)


def test_decode_value_for_siginfo() -> None:
    info = decode_value("{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=2170<true>, si_status=0}")
    assert isinstance(info, Struct)
    assert info.get("si_signo") == C("SIGCHLD") and info.get("si_pid") == Fd(2170, "true")


def test_json_form() -> None:
    args = decode_args('3</etc/x>, "ab"..., {a=1, ...}, [0] => [3], ~[], 0x10 /* c */, htons(80), AT_FDCWD')
    assert [to_json(a) for a in args] == [
        {"fd": 3, "info": "/etc/x"},
        {"str": "ab", "truncated": True},
        {"struct": {"a": 1, "...": True}},
        {"before": [0], "after": [3]},
        {"sigset": [], "complement": True},
        {"value": 16, "comment": "c"},
        {"call": "htons", "args": [80]},
        {"const": "AT_FDCWD"},
    ]
