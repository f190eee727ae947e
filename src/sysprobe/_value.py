"""Value classes that cost nothing at import: equality, hashing and repr by field.

``@dataclass`` builds each class's methods when its module is imported: on Python 3.11
it compiles every generated ``__init__``, ``__eq__``, ``__repr__``, ``__hash__`` (and a
frozen class's ``__setattr__``, ``__delattr__``) from source with ``exec``, in the
mypyc-compiled modules too. That was 0.6–0.8 ms a class, and with the ``dataclasses``
module itself (and ``inspect``) the 58 classes a check imported made 40 % of its
start-up (BENCHMARKS.md, issue 16). A ``Value`` writes its own ``__init__`` (compiled,
where its module is) and names its fields, in order, in ``__match_args__``; the rest is
here. Fields declared ``Final`` are read-only in the compiled modules
(``AttributeError``), as a frozen dataclass's are; ``_frozen.Frozen`` does that in the
interpreted ones. A class whose fields change is a ``MutableValue``: unhashable.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar, cast

from mypy_extensions import mypyc_attr

V = TypeVar("V", bound="Value")


@mypyc_attr(allow_interpreted_subclasses=True)
class Value:
    """Equal to another of its own class with equal fields; hashed and shown by its
    fields; pickled, copied and ``replace``d through its ``__init__``."""

    __match_args__: ClassVar[tuple[str, ...]] = ()

    def _fields(self) -> tuple[object, ...]:
        return tuple([getattr(self, name) for name in self.__match_args__])

    def _named_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__match_args__}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, Value):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle and copy: a native class has no __dict__ to restore from, so made anew
        return (_made, (type(self), self._named_fields()))

    def replace(self: V, **changes: Any) -> V:
        """A copy with ``changes``, the other fields as they are (``dataclasses.replace``)."""
        fields = self._named_fields()
        unknown = changes.keys() - fields.keys()
        if unknown:
            raise TypeError(f"{type(self).__qualname__} has no field {', '.join(sorted(unknown))}")
        made: Any = type(self)  # a subclass's __init__ takes its fields
        return cast(V, made(**{**fields, **changes}))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{type(self).__qualname__}({shown})"


@mypyc_attr(allow_interpreted_subclasses=True)
class MutableValue(Value):
    """A Value whose fields may change: unhashable, as a mutable dataclass is (its hash
    would change under a set or dict holding it)."""

    def __hash__(self) -> int:
        raise TypeError(f"unhashable type: {type(self).__qualname__!r}")


def _made(cls: Any, fields: dict[str, Any]) -> Value:
    """A pickled or copied Value, made again by its class's ``__init__``."""
    made: Value = cls(**fields)
    return made
