"""Program output inside strace's lines: finding the call again, and the text.

When strace writes to the terminal or pipe the program writes to (``strace -f prog 2>&1``,
a CI log), the program's own output lands between the two halves strace prints of a call:
strace prints ``write(1, "hi\\n", 3`` when the call starts, the program's ``hi`` and its
newline follow, and strace ends the line with ``) = 3`` when the call returns::

    write(1, "hi\\n", 3hi
    )                       = 3

Another process's output can land inside any call the same way (``wait4(-1, mkdir: cannot
create directory...`` with the rest of the call on a later line), or in front of a line
(``Initializing...[pid 837231] <... mmap resumed>``).

What is known is used: a ``write``'s text is exactly the bytes of its buffer argument
(``WriteText``), so a write is rebuilt whatever its text looks like, even ``a) = 3``. Any
other call line left open is held (``HeldCall``) until a later line ends it: the line's
end must make, with the start, an argument list that decodes and, where the syscall table
knows it, has the call's number of arguments. A line that does not read as strace's is
searched for the next strace-shaped token (``resync_points``).

The program's text becomes ``Text`` events (kind "output"); what cannot be told apart
stays ``Unparsed``.
"""

from __future__ import annotations

import re
from typing import Final

from .argdecode import decode_args_strict, unescape
from .scan import close_bracket, is_word, string_end, top_level_commas, write_count_end

MAX_HELD_LINES: Final = 64  # lines of text a call may be held open across
_RESULT_TAIL = re.compile(r"\)\s*= \S")
_RESYNC = re.compile(
    r"\[pid +\d+|<\.\.\. \w+ resumed>|strace: "
    r"|\+\+\+ (?:exited|killed|superseded) |--- (?:SIG|\{|stopped )|\w\("
)


def write_head(body: str, p: int) -> tuple[int, bytes, int, bool] | None:
    """``write(FD, "S"[...], N`` at ``body[p]`` == ``(``: (the index after N, the bytes
    S shows, N, whether S was cut short with ``...``); None for any other shape."""
    a = write_count_end(body, p, len(body))
    if a < 0:
        return None
    q = body.find('"', p)
    e = string_end(body, q, len(body))
    count = int(body[body.rindex(" ", 0, a) + 1 : a])
    return a, unescape(body[q + 1 : e - 1]), count, body.startswith("...", e)


class WriteText:
    """The program text of one ``write``: ``count`` bytes, starting with ``shown``."""

    __slots__ = ("count", "seen", "shown")

    def __init__(self, shown: bytes, count: int) -> None:
        self.shown = shown
        self.count = count
        self.seen = 0  # bytes of text matched so far

    def take(self, segment: str, after_newline: bool) -> int:
        """Match the text against ``segment`` (a line, or the rest of one; a newline came
        before it when ``after_newline``). Returns where the text ends in it, -1 when it
        goes on past the segment, -2 when the segment is not this text."""
        if after_newline and not self._match(b"\n"):
            return -2
        if self.seen == self.count:
            return 0
        data = segment.encode("utf-8", "surrogateescape")
        need = self.count - self.seen
        if len(data) < need:
            return -1 if self._match(data) else -2
        if not self._match(data[:need]):
            return -2
        return len(data[:need].decode("utf-8", "surrogateescape"))

    def _match(self, data: bytes) -> bool:
        """Take ``data`` as the next bytes of the text, if they agree with what S shows."""
        start = self.seen
        shown = self.shown[start : start + len(data)]
        if data[: len(shown)] != shown:
            return False
        self.seen = start + len(data)
        return self.seen <= self.count


def result_after_text(rest: str) -> str | None:
    """What strace printed when the call returned, right after the text: ``)   = 3`` →
    ``= 3``'s ``3``; `` <unfinished ...>`` → ""; None for anything else."""
    if rest.startswith(" <unfinished ...>"):
        return "" if rest == " <unfinished ...>" else None
    if _RESULT_TAIL.match(rest) is None:
        return None
    return rest[rest.index("= ") + 2 :]


class HeldCall:
    """A call line left open by text: ``body[:p]`` is the name, ``body[p+1:]`` the
    arguments strace printed when the call started, followed by text. Later lines are
    held until one ends the call (``complete``) or it is given up."""

    __slots__ = ("body", "held", "name", "p")

    def __init__(self, body: str, p: int) -> None:
        self.body = body
        self.p = p
        self.name = body[:p]
        self.held: list[tuple[int, str]] = []  # lines of text since, not yet explained

    def complete(self, raw: str) -> tuple[str, str, str] | None:
        """``raw`` read as the end of the call: (the text at the end of the first line,
        the whole argument text, the result text); None when it does not end this call."""
        close = close_bracket(raw, 0, len(raw), 41)
        if close < 0:
            return None
        after = raw[close + 1 :].lstrip(" ")
        if not after.startswith("= "):
            return None
        tail = raw[:close]
        best: tuple[str, str] | None = None
        wanted = _arity(self.name)
        for a in _entry_ends(self.body, self.p + 1):
            entry = self.body[self.p + 1 : a].rstrip(" ")
            args = f"{entry} {tail}" if entry.endswith(",") else entry + tail
            try:
                decoded = decode_args_strict(args)
            except ValueError:
                continue
            if wanted is None or len(decoded) == wanted:
                return self.body[a:], args, after[2:]
            if best is None:
                best = (self.body[a:], args)
        if best is None:
            return None
        return best[0], best[1], after[2:]


def _arity(name: str) -> int | None:
    from .._kernel.syscalls import facts  # imported when a log needs it: start-up time counts

    row = facts(name)
    return None if row is None else len(row.args)


def _entry_ends(body: str, start: int) -> list[int]:
    """Where strace may have stopped printing a call's start: after each top-level ``, ``
    (the arguments decoded when the call returns come after it)."""
    return [c + 2 for c in top_level_commas(body, start) if body.startswith(", ", c)]


def resync_points(raw: str) -> list[int]:
    """Where a strace-shaped token starts inside ``raw`` (after some text): ``[pid N]``,
    ``<... NAME resumed>``, ``strace: ``, ``+++``/``---`` lines, or a known syscall's
    name before ``(``."""
    points: list[int] = []
    for m in _RESYNC.finditer(raw, 1):
        k = m.start()
        if raw[k + 1 : k + 2] == "(" and m.group().endswith("("):
            k = _name_start(raw, k + 1)
            if k <= 0:
                continue
        if not points or points[-1] != k:
            points.append(k)
    return points


def _name_start(raw: str, p: int) -> int:
    """The start of the longest known syscall name ending at ``raw[p]`` == ``(``; -1 if none."""
    from .._kernel.syscalls import is_syscall

    i = p
    while i > 0 and is_word(ord(raw[i - 1])):
        i -= 1
    while i < p:
        if is_syscall(raw[i:p]):
            return i
        i += 1
    return -1


# ---- lines around a log ----

_PROMPT = re.compile(r"^(?:\S*[$#%>] |\$$)")
_USER_PROMPT = re.compile(r"^[\w.-]+@[\w.-]+:\S*[$#] ")  # user@host:~/src$ make
_ROOT_PROMPT = re.compile(r"^# +strace +(?:-|\S*/)")  # "# strace -f ls", not "# strace of the build"
_COUNT_HEADER = re.compile(r"^\s*% time\s+")
_COUNT_RULE = re.compile(r"^[- ]+$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def around_kind(raw: str) -> str | None:
    """A line around a pasted log that cannot hide a call: "blank", "comment" (``#``),
    "prompt" (``$ strace -f ...``); None for anything else."""
    if not raw.strip():
        return "blank"
    if raw.startswith("#") and not raw.startswith("#!"):
        return "prompt" if _ROOT_PROMPT.match(raw) else "comment"
    if (_PROMPT.match(raw) and ("strace" in raw or raw.startswith("$"))) or _USER_PROMPT.match(raw):
        return "prompt"
    return None


def count_header(raw: str) -> list[str] | None:
    """The columns of a ``-c`` table's header line (``% time  seconds  usecs/call  calls
    errors syscall``); None if ``raw`` is not one."""
    if _COUNT_HEADER.match(raw) is None:
        return None
    columns = raw.replace("% time", "%time").split()
    return columns if columns[-1] == "syscall" else None


def is_count_rule(raw: str) -> bool:
    return bool(raw) and "-" in raw and _COUNT_RULE.match(raw) is not None


def count_row(raw: str, columns: list[str]) -> dict[str, float | int | str | None] | None:
    """A row of the table under ``columns``: the values by column; None if it is not one.
    ``errors`` is often blank: the row then has one field fewer."""
    fields = raw.split()
    if not fields or len(fields) < len(columns) - 1:
        return None
    name = fields[-1]
    values = fields[:-1]
    numeric = columns[:-1]
    if len(values) == len(numeric) - 1 and "errors" in numeric:
        numeric = [c for c in numeric if c != "errors"]
    if len(values) != len(numeric) or not all(_NUMBER.match(v) for v in values):
        return None
    row: dict[str, float | int | str | None] = {"syscall": name, "errors": None}
    for column, value in zip(numeric, values, strict=True):
        row[column] = float(value) if "." in value else int(value)
    return row
