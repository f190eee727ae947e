"""Read-only fields for the records of the interpreted modules.

In the mypyc-compiled modules a ``Final`` field is read-only by itself; interpreted, it
is only mypy's rule. A ``Frozen`` record's fields are set once, by its ``__init__``, and
then refuse to change, as a frozen dataclass's did (``AttributeError``).
"""

from __future__ import annotations

from ._value import Value


class Frozen(Value):
    def __setattr__(self, name: str, value: object) -> None:
        if name in vars(self):
            raise AttributeError(f"cannot assign to field {name!r} of {type(self).__qualname__}")
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of {type(self).__qualname__}")
