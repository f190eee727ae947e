"""The questions the model asks of argument trees, in every notation strace writes them:
names (the default), numbers (``-X raw``), numbers with names in comments (``-X
verbose``), ``-y`` decorations. The model's own tests read -y logs with names; these
read the trees of the other notations, straight from the decoder."""

from __future__ import annotations

from sysprobe._model.query import arg, field, has_flag, int_of, is_value, names_in, scm_rights, text_of
from sysprobe._parsing.argdecode import decode_args
from sysprobe.argtree import Const, Expr, Node, Op

CONSTS = {"AT_FDCWD": -100, "O_CLOEXEC": 0o2000000, "O_NONBLOCK": 0o4000, "SCM_RIGHTS": 1, "F_SETFD": 2}


def tree(text: str) -> Node:
    (node,) = decode_args(text)
    return node


def test_the_number_a_node_stands_for() -> None:
    assert int_of(tree("3")) == 3
    assert int_of(True) == 1  # a bool is an int: kept a number, not dropped
    assert int_of(tree("3</etc/passwd>")) == 3
    assert int_of(tree("0x1 /* FD_CLOEXEC */")) == 1
    assert int_of(tree("AT_FDCWD"), CONSTS) == -100
    assert int_of(tree("AT_FDCWD")) is None  # a name, and nothing to read it by
    assert int_of(tree("AT_FDCWD</tmp>"), CONSTS) == -100  # -y on a name: AT_FDCWD</tmp>
    assert int_of(tree("AT_FDCWD</tmp>")) is None
    assert int_of(tree('"text"')) is None


def test_the_names_a_value_is_made_of() -> None:
    assert names_in(tree("O_RDONLY|O_CLOEXEC")) == {"O_RDONLY", "O_CLOEXEC"}
    assert names_in(tree("0x80000 /* O_CLOEXEC|O_NONBLOCK */")) == {"O_CLOEXEC", "O_NONBLOCK"}
    assert names_in(tree("O_RDONLY /* O_CLOEXEC */")) == {"O_RDONLY", "O_CLOEXEC"}
    assert names_in(Expr((Const("SEEK_SET"), Op("|"), Const("SEEK_HOLE")))) == {"SEEK_SET", "SEEK_HOLE"}
    assert names_in(tree("WIFEXITED(s) && WEXITSTATUS(s) == 0")) == set()  # a call's arguments are not flags
    assert "SIGCHLD" in names_in(tree("CLONE_VM|SIGCHLD"))
    assert names_in(tree("3")) == set()


def test_a_flag_read_by_name_or_by_bit() -> None:
    assert has_flag(tree("O_RDONLY|O_CLOEXEC"), "O_CLOEXEC", CONSTS)
    assert has_flag(tree("0x80000"), "O_CLOEXEC", CONSTS)  # -X raw
    assert has_flag(tree("0x80000|0x800"), "O_NONBLOCK", CONSTS)
    assert has_flag(tree("0x80800 /* O_NONBLOCK|O_CLOEXEC */"), "O_CLOEXEC", CONSTS)
    assert has_flag(True, "FD", {"FD": 1})  # a bool's bit
    assert has_flag(tree("0x80000 /* O_RDONLY */"), "O_CLOEXEC", CONSTS)  # a comment naming less
    assert not has_flag(tree("0x800"), "O_CLOEXEC", CONSTS)
    assert not has_flag(tree("0x80000"), "O_TMPFILE", CONSTS)  # a name it cannot read by
    assert not has_flag(tree("0"), "ZERO", {"ZERO": 0})  # a flag of no bit is never set
    assert not has_flag(tree("0x2|0x4"), "ONE", {"ONE": 1})  # bits gathered from nothing
    assert has_flag(tree("0x2|0x4"), "SIX", {"SIX": 6})  # every bit of the flag, from both
    assert not has_flag(tree("0x2|0x1"), "SIX", {"SIX": 6})
    assert has_flag(tree("1"), "ONE", {"ONE": 1}) and not has_flag(tree("1"), "TWO", {"TWO": 2})


def test_a_constant_by_name_number_or_comment() -> None:
    assert is_value(tree("F_SETFD"), "F_SETFD", CONSTS)
    assert is_value(tree("2"), "F_SETFD", CONSTS)  # -X raw
    assert is_value(tree("0x2 /* F_SETFD */"), "F_SETFD", CONSTS)  # -X verbose
    assert is_value(tree("0x2 /* F_SETFL */"), "F_SETFD", CONSTS)  # the number decides it too
    assert is_value(tree("0x7 /* F_SETFD */"), "F_SETFD", CONSTS)  # so does the comment
    assert not is_value(tree("0x3 /* F_SETFL */"), "F_SETFD", CONSTS)
    assert not is_value(tree("F_GETFD"), "F_SETFD", CONSTS)
    assert not is_value(tree('"F_SETFD"'), "F_SETFD", CONSTS)


def test_struct_fields_and_arguments() -> None:
    message = tree("{msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[3<pipe:[1]>, 4]}], msg_flags=0}")
    assert scm_rights(message, CONSTS) == [(3, "pipe:[1]"), (4, None)]
    raw = tree("{msg_control=[{cmsg_type=0x1, cmsg_data=[5]}]}")
    assert scm_rights(raw, CONSTS) == [(5, None)]
    assert field(tree("[1, 2]"), "msg_control") is None  # not a struct: no field
    assert field(tree("3"), "x") is None
    args = decode_args("3, flags=CLONE_VM, [0] => [3]")
    assert arg(args, 0) == 3
    assert arg(args, 1) == tree("CLONE_VM")
    assert arg(args, 2) == tree("[0]")  # the value before the kernel changed it
    assert arg(args, 3) is None


def test_a_path_as_text() -> None:
    assert text_of(tree('"/etc/passwd"')) == "/etc/passwd"
    assert text_of(tree('"/very/long/pa"...')) == "/very/long/pa..."
    assert text_of(tree("3</etc/passwd>")) == "/etc/passwd"
    assert text_of(tree("3")) is None
