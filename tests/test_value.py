"""``_value.Value``: the records and argument trees keep what they had as dataclasses —
equality and hashing by field within one class, a repr by field, ``match`` by position,
read-only fields where frozen — without dataclasses' cost at import."""

from __future__ import annotations

import copy
import pickle

import pytest

from sysprobe import argtree
from sysprobe._frozen import Frozen
from sysprobe._kernel.effects import Closes, Creates, Fcntl, Flag
from sysprobe._model import records
from sysprobe._model.records import Descriptor, Origin, Process, Race
from sysprobe._rules.coverage import Selection
from sysprobe._rules.rules import RuleResult, RuleSet
from sysprobe._tracing.base import TracerInfo
from sysprobe._tracing.strace.backend import StraceOptions
from sysprobe._value import MutableValue, Value
from sysprobe.argtree import Const, Fd, Field, Op, Str, Struct

ORIGIN = Origin("openat", 7, 12)


def test_equal_by_every_field_within_one_class() -> None:
    assert Const("NULL") == Const("NULL")
    assert Const("NULL") != Const("AT_FDCWD")
    assert Const("*") != Op("*")  # the same fields, another class
    assert Str(b"x") == Str(b"x", truncated=False) != Str(b"x", truncated=True)
    assert Struct((Field("a", 1),)) == Struct((Field("a", 1),)) != Struct((Field("a", 2),))
    assert Fcntl() == Fcntl() != Closes()  # no fields: the class decides
    assert Const("NULL") != "NULL"
    assert Const("NULL").__eq__("NULL") is NotImplemented  # the other side may know better


def test_hashed_by_its_fields_where_frozen() -> None:
    assert len({Const("NULL"), Const("NULL"), Const("AT_FDCWD")}) == 2
    assert hash(Creates(Flag(1, "O_CLOEXEC"), "file")) == hash(Creates(Flag(1, "O_CLOEXEC"), "file"))
    assert hash(TracerInfo("strace", "strace", "6.1")) == hash(TracerInfo("strace", "strace", "6.1"))
    assert len({hash(Const(f"F_{n}")) for n in range(20)}) > 1  # by its fields, not a constant


@pytest.mark.parametrize(
    "value",
    [
        Str(b"x"),
        Fd(3, "/x"),
        Process(5, None, None, 1),
        RuleSet(expect=("openat",)),
        RuleResult("r", True, "ok"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_unhashable_where_fields_may_change(value: Value) -> None:
    """As a mutable dataclass: a hash by fields would change under the set holding it."""
    assert isinstance(value, MutableValue)
    with pytest.raises(TypeError, match=f"^unhashable type: '{type(value).__name__}'$"):
        hash(value)


def test_shown_by_its_fields_in_order() -> None:
    assert repr(Fd(3, "/etc/passwd")) == "Fd(fd=3, info='/etc/passwd', deleted=False)"
    assert repr(Origin("openat", 7, 12)) == (
        "Origin(syscall='openat', pid=7, line=12, file=None, detail=None)"
    )
    assert repr(argtree.More()) == "More()"


def test_matched_by_position() -> None:
    match Fd(3, "/etc/passwd"):
        case Fd(number, info):
            assert (number, info) == (3, "/etc/passwd")
        case _:
            pytest.fail("no match")


def test_every_field_is_an_argument_of_its_init() -> None:
    """``__match_args__`` names the fields: what equality, hash and repr compare and show.
    A field missing from it would be left out of all three."""
    d = Descriptor(5, "file", "/tmp/x", False, ORIGIN, race=None)
    for value in (d, RuleResult("--expect x", True, "ok"), Race(ORIGIN, (ORIGIN,), (None, d), "closed")):
        names = type(value).__match_args__
        assert type(value)(**{name: getattr(value, name) for name in names}) == value


def test_a_changed_race_keeps_the_rest() -> None:
    d = Descriptor(5, "file", "/tmp/x", False, ORIGIN)
    race = Race(ORIGIN, (ORIGIN,), (None, d), "closed")
    assert race.holding((d,)) == Race(ORIGIN, (ORIGIN,), (d,), "closed")


def test_a_frozen_record_cannot_change() -> None:
    d = Descriptor(5, "file", "/tmp/x", False, ORIGIN)
    if not records.__file__.endswith(".so"):
        pytest.skip("interpreted (SYSPROBE_PURE=1): only mypy holds Final fields there")
    with pytest.raises(AttributeError):
        d.cloexec = True  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Const("NULL").name = "AT_FDCWD"  # type: ignore[misc]
    assert d.cloexec is False


@pytest.mark.parametrize(
    "value",
    [
        TracerInfo("strace", "strace", "6.1"),
        StraceOptions(strace="/usr/bin/strace"),
        Selection("openat", "the run"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_a_frozen_record_of_an_interpreted_module_cannot_change(value: Frozen) -> None:
    name = type(value).__match_args__[0]
    before = getattr(value, name)
    cls = type(value).__name__
    with pytest.raises(AttributeError, match=f"^cannot assign to field '{name}' of {cls}$"):
        setattr(value, name, "changed")
    with pytest.raises(AttributeError, match=f"^cannot delete field '{name}' of {cls}$"):
        delattr(value, name)
    assert getattr(value, name) == before
    assert value.replace(**{name: before}) == value  # a copy is made through __init__


def test_value_is_the_base_of_every_record() -> None:
    for cls in (Descriptor, Origin, Race, Process, RuleResult, Creates, Const, Str):
        assert issubclass(cls, Value)


def test_a_copy_with_changes_keeps_its_class_and_the_rest() -> None:
    options = StraceOptions(strace="/usr/bin/strace", timeout=5.0)
    changed = options.replace(verbose=True)
    assert type(changed) is StraceOptions
    assert (changed.verbose, changed.strace, changed.timeout) == (True, "/usr/bin/strace", 5.0)
    assert changed == StraceOptions(strace="/usr/bin/strace", timeout=5.0, verbose=True)
    assert options.verbose is False  # the original is as it was
    with pytest.raises(TypeError, match=r"^StraceOptions has no field tiemout, verbos$"):
        options.replace(verbos=True, tiemout=1.0)


@pytest.mark.parametrize(
    "value",
    [
        Descriptor(5, "file", "/tmp/x", False, ORIGIN, race=Race(ORIGIN, (ORIGIN,), (None,), "closed")),
        Struct((Field("a", Str(b"\xff", truncated=True)), Const("NULL"))),
        StraceOptions(strace="/usr/bin/strace", timeout=5.0, inject=("openat:error=ENOENT",)),
        Process(5, None, ORIGIN, 1, threads=[5, 6]),
    ],
    ids=lambda v: type(v).__name__,
)
def test_pickled_and_copied_as_it_was(value: Value) -> None:
    """``sysprobe.call`` pickles what a traced function returns; users copy records."""
    for again in (pickle.loads(pickle.dumps(value)), copy.copy(value), copy.deepcopy(value)):
        assert type(again) is type(value)
        assert again == value
    if isinstance(value, Process):
        assert copy.deepcopy(value).threads is not value.threads
        assert copy.copy(value).threads is value.threads
