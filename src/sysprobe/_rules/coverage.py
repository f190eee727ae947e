"""Which calls a trace holds, so that no rule about the others passes on it.

A run that traced only some calls (``check`` traces what its rules need; ``trace -e``)
holds nothing of the others — and neither does its raw copy (``-o FILE``), whose first
line says so (``selection.LOG_HEADER``). A rule that needs a call the trace does not
hold cannot be decided on it: a ``--forbid sendfile`` on a log without sendfile proves
nothing.

The set is strace's ``-e trace=`` expression: names (``?name``: optional), classes
(``%desc``; the table's classes), regular expressions (``/^sendfile``), ``all``,
``none``, and ``!`` for all but the listed. A name stands for its ABI variants
(``fcntl`` holds ``fcntl64``). What sysprobe cannot resolve (a class it does not know)
holds nothing it can count on.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Final

from .._frozen import Frozen
from .._kernel.syscalls import CLASSES, TABLE, in_class, variants

SHOWN_ITEMS = 6  # of a long expression, in sentences


class Selection(Frozen):
    """One ``-e trace=`` expression, resolved to names, and where it was said."""

    expression: Final[str]
    said: Final[str]  # who says so: "the run traced", "line 1 of the log says it holds"

    __match_args__ = ("expression", "said")

    def __init__(self, expression: str, said: str) -> None:
        self.expression = expression
        self.said = said

    @cached_property
    def _resolved(self) -> tuple[frozenset[str], bool, tuple[str, ...]]:
        """(the names listed, whether the list is negated, the items not understood)."""
        items = [item.strip() for item in self.expression.split(",") if item.strip()]
        negated = bool(items) and items[0].startswith("!")
        if negated:
            items[0] = items[0][1:]
        names: set[str] = set()
        unknown: list[str] = []
        for item in items:
            found = _names_of(item.lstrip("?"))
            if found is None:
                unknown.append(item)
            else:
                names |= found
        return frozenset(names), negated, tuple(unknown)

    def holds(self, name: str) -> bool:
        listed, negated, unknown = self._resolved
        group = variants(name)
        if negated:
            return not unknown and not (group & listed)  # an unknown item may strike it
        return bool(group & listed)

    def describe(self) -> str:
        items = self.expression.split(",")
        shown = ",".join(items[:SHOWN_ITEMS])
        if len(items) > SHOWN_ITEMS:
            shown += f",... ({len(items)} items)"
        unknown = self._resolved[2]
        text = f"{self.said} only the calls of -e trace={shown}"
        if unknown:
            verb = "stands" if len(unknown) == 1 else "stand"
            text += f" (sysprobe cannot tell which calls {', '.join(unknown)} {verb} for)"
        return text


def _names_of(item: str) -> frozenset[str] | None:
    """The calls one item names; None when sysprobe cannot tell."""
    if item == "all":
        return frozenset(TABLE)
    if item == "none":
        return frozenset()
    if item.startswith("/"):
        try:
            pattern = re.compile(item[1:])
        except re.error:
            return None
        return frozenset(name for name in TABLE if pattern.search(name))
    cls = item[1:] if item.startswith("%") else item
    if cls in CLASSES:
        return in_class(cls)
    if cls == "net":
        return in_class("network")
    if item in TABLE:
        return variants(item)
    return None


class Coverage(Frozen):
    """The calls a trace holds: every call, but for what each selection leaves out (a
    trace read from several logs holds what all of them do)."""

    selections: Final[tuple[Selection, ...]]

    __match_args__ = ("selections",)

    def __init__(self, selections: tuple[Selection, ...] = ()) -> None:
        self.selections = selections

    def but(self, expression: str, said: str) -> Coverage:
        """Also limited to ``expression``; ``said``: "the run traced", "line 1 of x.log says it holds"."""
        return Coverage((*self.selections, Selection(expression, said)))

    @property
    def complete(self) -> bool:
        return not self.selections

    def lacking(self, needs: set[str] | None) -> list[str]:
        """The calls of ``needs`` (None: any call) the trace does not hold, ABI variants
        once, sorted; ``["any call"]`` when a rule that may match any call meets a selection."""
        if not self.selections:
            return []
        if needs is None:
            return ["any call"]
        missing = {
            TABLE[name].canonical if name in TABLE else name
            for name in needs
            # another architecture's name is not a call this trace could hold
            if not (name in TABLE and TABLE[name].elsewhere)
            and not all(selection.holds(name) for selection in self.selections)
        }
        return sorted(missing)

    def describe(self) -> str:
        return "; ".join(selection.describe() for selection in self.selections)

    @property
    def expressions(self) -> list[str]:
        return [selection.expression for selection in self.selections]


FULL = Coverage()


def undecided_because(lacking: list[str], unseen: tuple[str, ...], coverage: Coverage) -> str:
    """The sentence of a rule the trace cannot decide."""
    parts: list[str] = []
    if lacking:
        if lacking == ["any call"]:
            parts.append(f"the rule can match any call, and {coverage.describe()}")
        else:
            shown = ", ".join(lacking[:SHOWN_ITEMS])
            if len(lacking) > SHOWN_ITEMS:
                shown += f" and {len(lacking) - SHOWN_ITEMS} more"
            verb = "is" if len(lacking) == 1 else "are"
            parts.append(f"{shown} {verb} not in the trace: {coverage.describe()}")
    parts += unseen
    return "cannot be decided: " + "; ".join(parts)
