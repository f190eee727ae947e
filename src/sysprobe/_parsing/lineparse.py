"""strace text → events, one line at a time, without losing a line.

The hot loop reads only the *envelope* of each line (pid, time, name, result, errno,
duration, unfinished/resumed) with C-level string methods; argument trees are decoded
later, on demand (``Syscall.args``, through ``argdecode``). What the fast path is not sure
of — a time after ``[pid N]``, ``killed by`` and older signal notations, strace's own
messages, ``<pid changed to N ...>``, lines torn by stderr interleaving — goes to the slow
path (``_slow_line``), which may be slower but must never raise.

Split calls are merged here: a ``<unfinished ...>`` start waits in ``pending`` until its
``<... NAME resumed>`` half arrives; the merged event is emitted at the resumed line,
because that is when the call took effect. ``pending`` holds one call per key, and a
call put aside never overwrites another (``_hold`` flushes the one it displaces: a task is
in one call at a time). The keys: a pid; ``-pid`` for a thread's ``execve`` that resumes
under leader ``pid`` (``+++ superseded by execve`` or ``<pid changed to pid ...>``); None for
an unprefixed stderr line.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterable, Iterator
from typing import Final, TypeAlias

from ..events import (
    Attached,
    CallCount,
    Detached,
    Event,
    Exit,
    Killed,
    Message,
    Signal,
    StackFrame,
    Stopped,
    Superseded,
    Syscall,
    Text,
    Unparsed,
)
from .attribution import Attribution
from .interleave import (
    MAX_HELD_LINES,
    HeldCall,
    WriteText,
    around_kind,
    count_header,
    count_row,
    is_count_rule,
    result_after_text,
    resync_points,
    write_head,
)
from .scan import (
    close_bracket,
    decimal,
    decoration_end,
    number,
    skip_spaces,
    starts_name,
    strings_closed,
    trim_spaces,
    unsigned,
    word_end,
)

_UNFINISHED: Final = " <unfinished ...>"
_DETACHED: Final = " <detached ...>"

# Prefixes the fast path does not take: a time after "[pid N]", and "-i"/"-n"/secontext
# brackets ("[00007f...]", "[  257]").
_PREFIX = re.compile(
    r"""
    (?: \[pid\s+(?P<pid1>\d+)(?:<[^>]*>)?\]\s*      # [pid  123] or [pid 123<comm>]
      | (?P<pid2>\d+)(?:<[^>]*>)?\s+                 # 123 or 123<comm> (-o FILE, -Y)
    )?
    \s*
    (?P<time>\d+:\d\d:\d\d(?:\.\d+)?|\d+\.\d+)?    # -t/-tt, or -ttt/-r
    \s*
    (?P<brackets>(?:\[(?!pid\s)[^\]]*\]\s+)*)        # -i, -n, --secontext
    """,
    re.X,
)
_FUSED = re.compile(
    r"(?:\[pid +\d+(?:<[^>]*>)?\] *|\d+(?:<[^>]*>)? +)?(?:[\d:.]+ +)?(?:\+\+\+ .* \+\+\+|--- .* ---)$"
)
_PID_CHANGED = re.compile(r" <pid changed to (\d+) \.\.\.>$")
_ATTACH_MSG = re.compile(r"(?:strace: )?Process (\d+) (attached|detached)\b")
_TORN = re.compile(r"strace: Process \d+ (?:attached|detached)$")
_SIGNO = re.compile(r"si_signo=(\w+)")
_PTRACE_ERROR = re.compile(r" ?<ptrace\([A-Z_]+\):[^<>]*>$")
_OLD_ATTACH = re.compile(r"(?:\(|, )(Process \d+ (?:attached|detached))$")  # strace 4.x
_RESULT_OR_SPLIT = re.compile(r"\)\s*= |\s<(?:unfinished|detached) \.\.\.>$")
_MAX_RESYNC: Final = 8

Pending: TypeAlias = "dict[int | None, Syscall]"


class _Marker(Event):
    """Internal signals between the line readers and the loop; never yielded."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(None, 0, "", None)


_HELD: Final = _Marker()  # an unfinished call was put aside until it resumes


class _Torn(_Marker):
    """This line goes on in the next one: a message of strace's starts at ``cut``."""

    __slots__ = ("cut",)

    def __init__(self, cut: int) -> None:
        super().__init__()
        self.cut = cut


# C901 waived (hot path, compiled): the loop every line goes through, its cases inlined
def parse_lines(  # noqa: C901, PLR0912
    lines: Iterable[str],
    *,
    pid: int | None = None,
    file: str | None = None,
    first_line: int = 1,
) -> Iterator[Event]:
    """Parse strace text lines into events.

    ``pid`` is the pid of unprefixed lines (the file suffix of an ``-ff`` log); without
    it, the pid of unprefixed lines is learnt from the log (``attribution``). ``file`` is
    recorded on each event for reports. Lines may keep their trailing newline.
    """
    slow = _SlowReader(pid, file)
    pending = slow.pending
    who = Attribution() if pid is None else None
    active = False  # are the fast path's events followed too? (only once a line is unprefixed)
    upid = pid  # the pid of an unprefixed line now
    n = first_line - 1
    for raw in lines:
        n += 1
        if raw and ord(raw[-1]) == 10:
            raw = raw[:-1]
        if slow.waiting():
            events = slow.carry_on(raw, n)
        else:
            fast = _fast_line(raw, n, upid, pending)
            if fast is _HELD:
                slow.last_pid = _newest_key(pending)
                continue
            if fast is not None:
                if file is not None:
                    fast.file = file
                slow.last_pid = fast.pid
                if who is None or not (active or fast.pid is None):
                    yield fast
                    continue
                active = True
                events = [fast]
            else:
                events = slow.read(raw, n)
        if who is None:
            yield from events
            continue
        if not who.started and (pending or slow.torn is not None or slow.open is not None):
            who.started = True  # a task's line is open: an attach message now is a child's
        for ev in events:
            yield from who.see(ev)
        upid = slow.default_pid = who.unprefixed
        if not active and (who.held is not None or upid is not None):
            active = True  # an unprefixed task is in the log: follow every line from now on
    for ev in slow.finish():
        if who is None:
            yield ev
        else:
            yield from who.see(ev)
    if who is not None:
        yield from who.finish()


class _OpenCall:
    """A call line left open by a program's text, waiting for the line that ends it:
    ``line.raw[start:p]`` is the name; a write knows its text (``write``, from ``after``),
    any other call is matched by its arguments (``held``)."""

    __slots__ = ("after", "held", "line", "lines", "p", "start", "write")

    def __init__(self, line: _Line, start: int, p: int) -> None:
        self.line = line
        self.start = start
        self.p = p
        self.after = -1  # a write: where its text starts in the first line
        self.write: WriteText | None = None
        self.held: HeldCall | None = None
        self.lines: list[tuple[int, str]] = []  # the lines of text since the first

    @property
    def name(self) -> str:
        return self.line.raw[self.start : self.p]


class _Open(_Marker):
    """From the line readers: the call at ``raw[start:p]`` did not end on its line."""

    __slots__ = ("at", "p", "start")

    def __init__(self, at: _Line, start: int, p: int) -> None:
        super().__init__()
        self.at = at  # the line (not ``line``: an Event's line is its number)
        self.start = start
        self.p = p


class _SlowReader:
    """What the lines share (``pending`` calls, a torn line, a call left open by text, a
    ``-c`` table, whose line came last), and the reading of each line the fast path does
    not take."""

    __slots__ = ("default_pid", "file", "last_pid", "open", "pending", "table", "torn")

    def __init__(self, default_pid: int | None, file: str | None) -> None:
        self.default_pid = default_pid
        self.file = file
        self.pending: Pending = {}
        # a line cut by an interleaved strace message: its number, and its text before the message
        self.torn: tuple[int, str] | None = None
        self.open: _OpenCall | None = None  # a call line left open by text
        self.table: list[str] | None = None  # the columns of the -c table being read
        self.last_pid = default_pid  # whose line came last: -k stack frames belong to it

    def waiting(self) -> bool:
        """Does the next line go on from an earlier one (the fast path must not take it)?"""
        return self.torn is not None or self.open is not None or self.table is not None

    def carry_on(self, raw: str, n: int) -> list[Event]:
        """The events of line ``n`` while ``waiting()``."""
        if self.torn is not None:
            glued, done = self.glue(raw, n)
            return glued if done else glued + self.read(raw, n)
        if self.table is not None:
            return self._table_row(raw, n)
        assert self.open is not None
        return [self._stamp(ev) for ev in self._open_goes_on(self.open, raw, n)]

    def read(self, raw: str, n: int) -> list[Event]:
        """The events of line ``n``, which the fast path did not take."""
        if raw.startswith(" > "):  # -k: a stack frame of the line before
            return [self._stamp(StackFrame(self.last_pid, n, raw, raw[3:].strip()))]
        columns = count_header(raw) if raw.startswith(" ", 0) or raw.startswith("%") else None
        if columns is not None:
            self.table = columns
            return [self._stamp(Text(None, n, raw, "table", raw))]
        return self._apply(list(_slow_line(raw, n, self.default_pid, self.pending)), raw, n)

    def _apply(self, events: list[Event], raw: str, n: int) -> list[Event]:
        out: list[Event] = []
        for ev in events:
            if isinstance(ev, _Torn):
                self.torn = (n, raw[: ev.cut])
            elif isinstance(ev, _Open):
                out += self._open_call(ev)
            else:
                self.last_pid = ev.pid
                out.append(self._stamp(ev))
        return out

    # ---- calls left open by text ----

    def _open_call(self, ev: _Open) -> list[Event]:
        """Start waiting for the end of the call ``ev`` shows, or give it up now."""
        line = ev.at
        raw = line.raw
        call = _OpenCall(line, ev.start, ev.p)
        if call.name == "write":
            head = write_head(raw, ev.p)
            if head is not None:
                text = WriteText(head[1], head[2])
                if text.take(raw[head[0] :], False) == -1:
                    call.write, call.after = text, head[0]
                    self.open = call
                    return []
        if _is_name(call.name):
            call.held = HeldCall(raw[ev.start :], ev.p - ev.start)
            self.open = call
            return []
        return [self._stamp(line.unparsed("incomplete line (strace cut off?)"))]

    def _open_goes_on(self, call: _OpenCall, raw: str, n: int) -> list[Event]:
        write = call.write
        if write is not None:
            k = write.take(raw, True)
            if k == -1:
                call.lines.append((n, raw))
                return []
            if k >= 0:
                result = result_after_text(raw[k:])
                if result is not None:
                    self.open = None
                    args = call.line.raw[call.p + 1 : call.after]
                    return self._ended(call, n, raw, args, raw[:k], result, call.line.pid)
            self.open = None
            return [*self._given_up(call), *self.read(raw, n)]
        held = call.held
        assert held is not None
        ended = held.complete(raw)
        if ended is not None:
            self.open = None
            first_text, args, result = ended
            call.after = len(call.line.raw) - len(first_text)
            return self._ended(call, n, raw, args, "", result, None)
        events = list(_slow_line(raw, n, self.default_pid, self.pending))
        if len(call.lines) < MAX_HELD_LINES and all(isinstance(ev, (Unparsed, Text)) for ev in events):
            call.lines.append((n, raw))  # text, until a later line says otherwise
            return []
        self.open = None
        return [*self._given_up(call), *self._apply(events, raw, n)]

    def _ended(
        self, call: _OpenCall, n: int, raw: str, args: str, last_text: str, result: str, text_pid: int | None
    ) -> list[Event]:
        """The call ended on line ``n``: its text, then the call."""
        line = call.line
        out: list[Event] = []
        if call.after < len(line.raw):
            out.append(Text(text_pid, line.n, line.raw, "output", line.raw[call.after :]))
        out += [Text(text_pid, k, text, "output", text) for k, text in call.lines]
        if last_text:
            out.append(Text(text_pid, n, raw, "output", last_text))
        if result == "":  # the call goes on: " <unfinished ...>"
            ev = Syscall.unfinished(line.pid, line.n, line.raw, line.time, call.name, args)
            out += _hold(self.pending, line.pid, ev)
        else:
            ev = Syscall.completed(line.pid, line.n, line.raw, line.time, call.name, args)
            _read_result(ev, result)
            out.append(ev)
        ev.torn_line, ev.torn_raw = n, raw
        return [self._stamp(e) for e in out]

    def _given_up(self, call: _OpenCall) -> list[Event]:
        """No line ended the call: it stays a call cut off (its arguments as far as they
        go), the lines held after it are what they were."""
        line = call.line
        raw = line.raw
        if call.write is not None:
            ev = Syscall.unfinished(line.pid, line.n, raw, line.time, "write", raw[call.p + 1 : call.after])
            texts: list[Event] = [Text(line.pid, line.n, raw, "output", raw[call.after :])]
            texts += [Text(line.pid, k, text, "output", text) for k, text in call.lines]
        else:
            ev = Syscall.unfinished(
                line.pid, line.n, raw, line.time, call.name, raw[call.p + 1 :].rstrip(" ")
            )
            texts = [Unparsed(None, k, text, "not a strace line") for k, text in call.lines]
        ev.cut = True
        return [self._stamp(e) for e in [ev, *texts]]

    # ---- -c tables ----

    def _table_row(self, raw: str, n: int) -> list[Event]:
        columns = self.table
        assert columns is not None
        if is_count_rule(raw):
            return [self._stamp(Text(None, n, raw, "table", raw))]
        row = count_row(raw, columns)
        if row is None:
            self.table = None
            return self.read(raw, n)
        if row["syscall"] == "total":
            self.table = None
        return [self._stamp(_count_event(n, raw, row))]

    # ---- torn lines, the end ----

    def glue(self, raw: str, n: int) -> tuple[list[Event], bool]:
        """Line ``n`` read as the rest of the torn line before it: the events, and whether
        line ``n`` was used up (if not, it must be read on its own)."""
        assert self.torn is not None
        if _TORN.match(raw):  # a second task attached meanwhile: the torn line goes on after it
            return self.read(raw, n), True
        events, done = _glue(self.torn, n, raw, self.default_pid, self.pending)
        self.torn = None
        opened = [ev for ev in events if isinstance(ev, _Open)]
        events = [ev for ev in events if not isinstance(ev, _Open)]
        for ev in events:
            self._stamp(ev)
            if done:
                self.last_pid = ev.pid
        for ev in opened:
            events += self._open_call(ev)
        return events, done

    def finish(self) -> list[Event]:
        """What is left at the end of the log: a torn line, a call left open, calls that
        never resumed."""
        out: list[Event] = []
        if self.torn is not None:
            n, raw = self.torn
            reason = "line cut off by a strace message at the end of the log"
            out.append(Unparsed(self.default_pid, n, raw, reason))
        if self.open is not None:
            out += self._given_up(self.open)
            self.open = None
        out.extend(sorted(self.pending.values(), key=_line_of))
        return [self._stamp(ev) for ev in out]

    def _stamp(self, ev: Event) -> Event:
        if self.file is not None:
            ev.file = self.file
        return ev


def _count_event(n: int, raw: str, row: dict[str, float | int | str | None]) -> CallCount:
    def number(key: str) -> float | None:
        value = row.get(key)
        return float(value) if isinstance(value, (int, float)) else None

    def count(key: str) -> int | None:
        value = row.get(key)
        return int(value) if isinstance(value, (int, float)) else None

    return CallCount(
        n,
        raw,
        str(row["syscall"]),
        count("calls"),
        count("errors"),
        number("seconds"),
        number("usecs/call"),
        number("%time"),
    )


def _line_of(ev: Event) -> int:
    return ev.line


def _newest_key(pending: Pending) -> int | None:
    """The pid of the call most recently put aside (dicts keep insertion order)."""
    for key in reversed(pending):
        return key if key is None or key >= 0 else -key
    return None


def _exec_key(pid: int | None) -> int | None:
    """The key in ``pending`` of a thread's execve that resumes under leader ``pid``."""
    return None if pid is None else -pid


def _hold(pending: Pending, key: int | None, ev: Syscall) -> list[Event]:
    """Put ``ev`` aside under ``key`` until its resumed half comes. Returns the call it
    displaces, which will never resume (a task is in one call at a time): no line is lost."""
    displaced = pending.pop(key, None)
    pending[key] = ev
    return [] if displaced is None else [displaced]


def _flush(pending: Pending, key: int | None) -> list[Event]:
    """The call waiting under ``key``, taken out: it will never resume."""
    left = pending.pop(key, None)
    return [] if left is None else [left]


# ---- the fast path ----
#
# Plain loops over ord(raw[i]) on purpose, here and in .scan: mypyc compiles them to C
# array reads (setup.py), and they avoid the copies that slicing, strip() and partition()
# would make of every line. Each reader returns None for anything it is not sure of; the
# slow path then reads the line. Prefix readers return the index where the rest of the line
# starts (-1: not sure), the pid and the time.

_NOT_SURE: Final = (-1, None, None)


def _fast_line(raw: str, n: int, default_pid: int | None, pending: Pending) -> Event | None:
    """Read the prefix (pid, time), then the common line kinds."""
    end = len(raw)
    c = ord(raw[0]) if end else 0
    lpid: int | None
    time: str | None
    if 48 <= c <= 57:  # a digit: a pid, or a time when no pid is printed
        value, i = decimal(raw, 0, end)
        j = skip_spaces(raw, i, end)
        if i < j < end and starts_name(ord(raw[j])):
            lpid, time, i = value, None, j  # "123 name(...": most lines of an -o log
        else:
            i, lpid, time = _fast_number_prefix(raw, end, default_pid)
    elif c == 91:  # "[pid  N]" (stderr output)
        i, lpid, time = _fast_bracket_prefix(raw, end)
    else:
        i, lpid, time = 0, default_pid, None
    if i < 0 or i >= end:
        return None
    c = ord(raw[i])
    if starts_name(c):
        return _fast_call(raw, i, end, n, lpid, time, pending)
    if c == 60:  # "<"
        return _fast_resumed(raw, i, end, n, lpid, pending)
    if c == 43:  # "+"
        return _fast_exit(raw, i, end, n, lpid, time, pending)
    if c == 45:  # "-"
        return _fast_signal(raw, i, end, n, lpid, time)
    return None


def _fast_number_prefix(raw: str, end: int, default_pid: int | None) -> tuple[int, int | None, str | None]:
    """``123 ``, ``123<comm> ``, ``123 TIME `` or ``TIME `` (no pid: -ff files, one process)."""
    value, i = decimal(raw, 0, end)
    if i == end:
        return _NOT_SURE
    c = ord(raw[i])
    if c == 60:  # "<": -Y prints "123<comm> "
        close = raw.find("> ", i, end)
        if close < 0:
            return _NOT_SURE
        i = close + 1
        c = 32
    if c == 32:
        i = skip_spaces(raw, i, end)
        if i < end and 48 <= ord(raw[i]) <= 57:  # a time after the pid
            return _fast_time(raw, i, end, value)
        return i, value, None
    if c in (46, 58):  # "." or ":": the digits began a time
        return _fast_time(raw, 0, end, default_pid)
    return _NOT_SURE


def _fast_time(raw: str, i: int, end: int, pid: int | None) -> tuple[int, int | None, str | None]:
    sp = raw.find(" ", i, end)
    if sp < 0:
        return _NOT_SURE
    return skip_spaces(raw, sp, end), pid, raw[i:sp]


def _fast_bracket_prefix(raw: str, end: int) -> tuple[int, int | None, str | None]:
    """``[pid  N] `` or ``[pid N<comm>] ``."""
    if not raw.startswith("[pid ", 0):
        return _NOT_SURE
    close = raw.find("]", 5, end)
    if close < 0:
        return _NOT_SURE
    digits = skip_spaces(raw, 5, close)
    value, j = decimal(raw, digits, close)
    if j == digits or (j < close and ord(raw[j]) != 60):
        return _NOT_SURE
    i = skip_spaces(raw, close + 1, end)
    if i < end and 48 <= ord(raw[i]) <= 57:
        return _NOT_SURE  # a time after "[pid N]": rare, the slow path reads it
    return i, value, None


def _fast_call(
    raw: str, i: int, end: int, n: int, lpid: int | None, time: str | None, pending: Pending
) -> Event | None:
    """``NAME(ARGS) = RESULT``, or the first half ``NAME(ARGS <unfinished ...>``."""
    p = raw.find("(", i, end)
    if p <= i or word_end(raw, i + 1, p) != p:
        return None
    if ord(raw[end - 1]) == 62:  # ">": maybe a split call
        if raw.endswith(_UNFINISHED):
            return _fast_unfinished(raw, i, p, end, n, lpid, time, pending)
        if raw.endswith(_DETACHED):
            return None
    close, q = _args_close(raw, p + 1, end)
    if close < 0:
        return None
    name = raw[i:p]
    count = -1
    if p - i == 5 and name == "write":
        count = _plain_write_count(raw, close)
        if count < 0:
            return None
    ev = Syscall.completed(lpid, n, raw, time, name, raw[p + 1 : close])
    _set_result(ev, raw, q + 3, end)
    if count >= 0:
        ret = ev.ret
        if ret is None or ret != count:
            return None  # maybe a count with the program's digits after it: the slow path knows
    return ev


def _fast_unfinished(
    raw: str, i: int, p: int, end: int, n: int, lpid: int | None, time: str | None, pending: Pending
) -> Event | None:
    if lpid in pending:
        return None  # the slow path first flushes the older unfinished call
    k = trim_spaces(raw, p + 1, end - len(_UNFINISHED))
    if not strings_closed(raw, p + 1, k):
        return None
    if p - i == 5 and raw[i:p] == "write" and _plain_write_count(raw, k) < 0:
        return None
    pending[lpid] = Syscall.unfinished(lpid, n, raw, time, raw[i:p], raw[p + 1 : k])
    return _HELD


def _plain_write_count(raw: str, stop: int) -> int:
    """A write's count when the line shows ``"...", COUNT`` right before ``stop`` (its
    ``)``), as a plain write does; -1 when anything else is there (the program's own output
    printed into the line: ``write(2, "ab", 2ab) = 2``): the slow path then reads it."""
    k = stop
    value = 0
    scale = 1
    while k > 0:
        c = ord(raw[k - 1])
        if not 48 <= c <= 57:
            break
        value += (c - 48) * scale
        scale *= 10
        k -= 1
    if k == stop or k < 6 or ord(raw[k - 1]) != 32 or ord(raw[k - 2]) != 44:
        return -1
    c = ord(raw[k - 3])
    if c == 34:  # '"'
        return value
    if c == 46 and ord(raw[k - 4]) == 46 and ord(raw[k - 5]) == 46 and ord(raw[k - 6]) == 34:  # '"...'
        return value
    return -1


def _fast_resumed(raw: str, i: int, end: int, n: int, lpid: int | None, pending: Pending) -> Event | None:
    """``<... NAME resumed>TAIL) = RESULT``, merged into the call waiting in ``pending``."""
    if not raw.startswith("<... ", i):
        return None
    j = raw.find(" resumed>", i + 5, end)
    start = pending.get(lpid)
    if j < 0 or start is None or start.name != raw[i + 5 : j] or raw.endswith(_UNFINISHED):
        return None
    t = j + 9
    close, q = _args_close(raw, t, end)
    if close < 0:
        return None
    del pending[lpid]
    start.take_resumed(n, raw, _join_args(start.args_text, raw[t:close]))
    _set_result(start, raw, q + 3, end)
    return start


def _args_close(raw: str, a: int, end: int) -> tuple[int, int]:
    """``ARGS) = RESULT`` from ``a``: where the ``)`` ending the arguments is, and the
    `` = ``; (-1, -1) when not so (no result, or a line cut inside a string)."""
    q = raw.rfind(" = ", a, end)
    if q < 0:
        return -1, -1
    if ord(raw[end - 1]) == 62:  # ">": a -y decoration (or a -T duration) ends the result
        gt = raw.find(">", q, end)
        if raw.find("<", q, gt) < 0 or raw.find('"', q, end) >= 0:
            # maybe the " = " of a name in the result's decoration (a file named 'x") = 5':
            # "= 3</tmp/x\") = 5>"): the slow path reads the arguments from the front.
            # Without one, the last " = " is the result's own
            return -1, -1
    close = trim_spaces(raw, a, q) - 1
    if ord(raw[close]) != 41 or not strings_closed(raw, a, close):  # 41: ")"
        return -1, -1
    return close, q


def _fast_exit(
    raw: str, i: int, end: int, n: int, lpid: int | None, time: str | None, pending: Pending
) -> Event | None:
    """``+++ exited with N +++`` of a task with no call waiting (the slow path flushes one)."""
    if lpid in pending or _exec_key(lpid) in pending:
        return None
    if not (raw.startswith("+++ exited with ", i) and raw.endswith(" +++")):
        return None
    code, stop = decimal(raw, i + 16, end - 4)
    if stop != end - 4 or stop == i + 16:
        return None
    return Exit(lpid, n, raw, time, code)


def _fast_signal(raw: str, i: int, end: int, n: int, lpid: int | None, time: str | None) -> Event | None:
    """``--- SIGCHLD {si_signo=...} ---``."""
    if not (raw.startswith("--- SIG", i) and raw.endswith(" ---")):
        return None
    sp = raw.find(" ", i + 4, end)
    if sp < 0 or ord(raw[sp + 1]) == 40:  # "(": the strace 4.x form, slow path
        return None
    return Signal(lpid, n, raw, time, raw[i + 4 : sp], raw[sp + 1 : end - 4])


def _set_result(ev: Syscall, raw: str, j0: int, end: int) -> None:
    """Read ``RET[ AUX][ <DURATION>]`` from ``raw[j0:end]`` into ``ev``: a bare number here,
    anything else in ``_read_result``."""
    value, j = decimal(raw, j0, end)
    if j == end and j > j0:
        if ord(raw[j0]) != 48 or j == j0 + 1:
            ev.ret = value  # ret_text stays None: the same as str(ret), no copy made
            return
    elif j != j0 + 1 or ord(raw[j0]) != 48 or ord(raw[j]) != 120:  # not "0x"
        _read_result(ev, raw[j0:end])
        return
    value, j, base = unsigned(raw, j0, end)  # 0x1f, or 022 (octal: umask) or 08
    if j == end and j > (j0 + 2 if base == 16 else j0 + 1):
        ev.ret_text = raw[j0:end]  # printed otherwise than str(ret): keep the text
        ev.ret = value
    else:
        _read_result(ev, raw[j0:end])


def _join_args(start: str, tail: str) -> str:
    """Join the two halves of a split call's argument text."""
    start = start.rstrip(" ")
    tail = tail.lstrip(" ")
    if not start or not tail:
        return start + tail
    if (
        start.endswith(",")
        or tail.startswith("=>")
        or (tail[0].isalnum() and not start.endswith(("(", "[", "{")))
    ):
        return start + " " + tail
    return start + tail


# ---- results (both paths) ----


def _read_result(ev: Syscall, rest: str) -> None:
    """``3</etc/passwd> <0.000012>`` → ``ev``'s ret_text, ret, errno, aux and duration."""
    rest, ev.duration = _split_duration(rest)
    if "<" in rest:
        cut = decoration_end(rest)
        ret_text, aux = rest[:cut], rest[cut:].lstrip(" ")
    else:
        ret_text, _, aux = rest.partition(" ")
    ret = number(ret_text.partition("<")[0])
    ev.ret_text = ret_text
    ev.ret = ret
    ev.aux = aux or None
    ev.errno = _errno_of(aux) if ret is None or ret < 0 else None


def _split_duration(rest: str) -> tuple[str, str | None]:
    """``0 <0.000012>`` → (``0``, ``0.000012``); -T's ``<unavailable>`` too."""
    if rest[-1:] == ">":
        k = rest.rfind(" <")
        if k >= 0:
            cand = rest[k + 2 : -1]
            if cand == "unavailable" or (cand[:1].isdigit() and cand.replace(".", "", 1).isdigit()):
                return rest[:k].rstrip(" "), cand
    return rest, None


def _errno_of(aux: str) -> str | None:
    """``ENOENT`` from ``ENOENT (No such file or directory)``; ``EINVAL`` from ``(errno
    22)``, strace's form for a number it has no name for (a name from this machine's table,
    else ``errno 22``)."""
    if aux.startswith("(errno "):
        digits = aux[7:].partition(")")[0]
        if digits.isdigit():
            return errno.errorcode.get(int(digits), f"errno {digits}")
    word = aux.partition(" ")[0]
    if word[:1] == "E" and word.replace("_", "").isalnum() and word.isupper():
        return word
    return None


# ---- the slow path ----


class _Line:
    """A line on the slow path: its number, text, pid and time, and where its body starts
    (after the pid, time and ``-i``/``-n`` brackets)."""

    __slots__ = ("n", "pid", "raw", "start", "time")

    def __init__(self, raw: str, n: int, default_pid: int | None) -> None:
        m = _PREFIX.match(raw)
        assert m is not None  # every group is optional
        pid_text = m.group("pid1") or m.group("pid2")
        self.raw = raw
        self.n = n
        self.pid = int(pid_text) if pid_text else default_pid
        self.time: str | None = m.group("time")
        self.start = m.end()

    def unparsed(self, reason: str) -> Unparsed:
        return Unparsed(self.pid, self.n, self.raw, reason, self.time)


def _slow_line(raw: str, n: int, default_pid: int | None, pending: Pending) -> Iterator[Event]:
    """Read a line the fast path did not take. Yields zero or more events; never raises."""
    try:
        yield from _slow_line_inner(raw, n, default_pid, pending)
    except Exception as exc:  # a parser bug must cost one line, not the trace
        yield Unparsed(default_pid, n, raw, f"internal parser error: {type(exc).__name__}: {exc}")


def _slow_line_inner(
    raw: str, n: int, default_pid: int | None, pending: Pending, resync: bool = True
) -> Iterator[Event]:
    """Tell the line's kind by its body, and read it (``resync``: look for a strace line
    after text in front of it)."""
    if not raw.strip():
        yield Text(None, n, raw, "blank", raw)
        return
    if raw.startswith(" > "):
        yield StackFrame(default_pid, n, raw, raw[3:].strip())
        return
    line = _Line(raw, n, default_pid)
    body = raw[line.start :]
    if body.startswith(("strace: ", "Process ", "[ Process PID=")):
        yield _message(body, line.pid, n, raw, line.time)
    elif body.startswith("<... "):
        yield from _resumed(line, body, pending)
    elif body.startswith("--- ") and body.endswith(" ---"):
        yield _signal_line(line, body[4:-4])
    elif body.startswith("+++ ") and body.endswith(" +++"):
        yield from _exit_line(line, body[4:-4], pending)
    else:
        yield from _call_line(line, body, default_pid, pending, resync)


def _call_line(
    line: _Line, body: str, default_pid: int | None, pending: Pending, resync: bool
) -> Iterator[Event]:
    """``NAME(...`` in any form, or what is left: a torn line, a fused one, a call left
    open by text, text in front of a strace line, a line around a log, an unreadable one."""
    p = body.find("(")
    name = body[:p]
    named = p > 0 and _is_name(name)
    if named:
        events = _call(line, body, p, pending)
        if events is not None:
            yield from events
            return
    raw = line.raw
    stopped = _PTRACE_ERROR.search(body) if named else None
    if stopped is not None:
        yield from _vanished(line, body, p, stopped.start(), pending)
        return
    torn = _torn_at(raw, line.start + max(p, 0)) if named else -1
    if torn > 0:
        # stderr output: strace wrote a message of its own ("strace: Process N attached",
        # strace 4's "Process N attached", "strace: umoven: ...") into the middle of a
        # line; the line goes on in the next one. Emit the message now, glue the rest.
        yield _message(raw[torn:], None, line.n, raw[torn:], None)
        yield _Torn(torn)
        return
    fused = _FUSED.search(raw) if named else None
    if fused is not None and fused.start() > 0:
        yield from _fused(line, name, line.start + p + 1, fused.start(), default_pid, pending)
        return
    if named and _known_call(name):
        yield _Open(line, line.start, line.start + p)
        return
    kind = around_kind(raw)
    if kind is not None:
        yield Text(None, line.n, raw, kind, raw)
        return
    if resync:
        for k in resync_points(raw)[:_MAX_RESYNC]:
            found = list(_slow_line_inner(raw[k:], line.n, default_pid, pending, False))
            if found and not any(isinstance(ev, Unparsed) for ev in found):
                yield Text(None, line.n, raw, "output", raw[:k])
                yield from found
                return
    yield line.unparsed("incomplete line (strace cut off?)" if named else "not a strace line")


def _known_call(name: str) -> bool:
    """A name strace prints for a syscall: one of the table's, ``syscall_0x...`` or ``???``."""
    from .._kernel.syscalls import is_syscall  # the table costs start-up time: only odd lines need it

    return is_syscall(name) or name.startswith("syscall_") or (name != "" and name.strip("?") == "")


def _torn_at(raw: str, p: int) -> int:
    """Where a message of strace's starts inside a call line (after its ``(`` at ``p``);
    -1 when none does."""
    k = raw.find("strace: ", p)
    if k > p:
        return k
    m = _OLD_ATTACH.search(raw, p)
    return m.start(1) if m is not None else -1


def _vanished(line: _Line, body: str, p: int, cut: int, pending: Pending) -> list[Event]:
    """``... <ptrace(SYSCALL):No such process>``: strace lost the task inside the call."""
    rest = body[:cut].rstrip(" ")
    events = _call(line, rest, p, pending)
    if events is None:
        ev = Syscall.unfinished(line.pid, line.n, line.raw, line.time, body[:p], rest[p + 1 :])
        ev.cut = True
        events = [*_flush(pending, line.pid), ev]
    text = body[cut:].strip()[1:-1]
    return [*events, Message(line.pid, line.n, line.raw, text, line.time)]


def _call(line: _Line, body: str, p: int, pending: Pending) -> list[Event] | None:
    """A call line: whole, unfinished, detached or an exec changing the pid; None when
    its argument list does not close."""
    name = body[:p]
    changed = _PID_CHANGED.search(body)
    if changed is not None:
        # strace 6: a thread's execve that will complete as the leader, pid N. It is
        # kept under -N (pids are positive) so the leader's own pending call stays.
        new_pid = int(changed.group(1))
        args = body[p + 1 : changed.start()].rstrip(" ")
        ev = Syscall.unfinished(new_pid, line.n, line.raw, line.time, name, args)
        return [*_flush(pending, line.pid), *_hold(pending, _exec_key(new_pid), ev)]
    if name == "write":
        written = _write_with_text(line, body, p, pending)
        if written is not None:
            return written
    if body.endswith(_UNFINISHED):
        args = body[p + 1 : -len(_UNFINISHED)].rstrip(" ")
        ev = Syscall.unfinished(line.pid, line.n, line.raw, line.time, name, args)
        return _hold(pending, line.pid, ev)
    if body.endswith(_DETACHED):  # strace let go of the task: this call will never resume
        args = body[p + 1 : -len(_DETACHED)].rstrip(" ")
        ev = Syscall.unfinished(line.pid, line.n, line.raw, line.time, name, args)
        return [*_flush(pending, line.pid), ev]
    close = close_bracket(body, p + 1, len(body), 41)
    if close < 0:
        return None
    tail = body[close + 1 :].lstrip(" ")
    if not tail.startswith("= "):
        return None
    ev = Syscall.completed(line.pid, line.n, line.raw, line.time, name, body[p + 1 : close])
    _read_result(ev, tail[2:])
    return [ev]


def _write_with_text(line: _Line, body: str, p: int, pending: Pending) -> list[Event] | None:
    """``write(1, "hi\\n", 3hi`` and the rest: the program's text right after the
    arguments strace printed (its buffer, byte for byte). The call and its text when the
    line holds both; an ``_Open`` when the text goes on in the next lines; None when there
    is no text (or not this write's), for the other readers."""
    head = write_head(body, p)
    if head is None:
        return None
    a = head[0]
    rest = body[a:]
    if rest.startswith(")") or rest.startswith(" <"):
        if _RESULT_OR_SPLIT.match(rest) is not None:
            return None  # no text: a plain write
    text = WriteText(head[1], head[2])
    k = text.take(rest, False)
    if k == -1:
        return [_Open(line, line.start, line.start + p)]
    if k < 0:
        return None
    result = result_after_text(rest[k:])
    if result is None:
        return None
    pid = line.pid
    out: list[Event] = [Text(pid, line.n, line.raw, "output", rest[:k])] if k else []
    if result == "":
        ev = Syscall.unfinished(pid, line.n, line.raw, line.time, "write", body[p + 1 : a])
        return [*out, *_hold(pending, pid, ev)]
    ev = Syscall.completed(pid, line.n, line.raw, line.time, "write", body[p + 1 : a])
    _read_result(ev, result)
    return [*out, ev]


def _fused(
    line: _Line, name: str, args_at: int, cut: int, default_pid: int | None, pending: Pending
) -> Iterator[Event]:
    """strace began a call, then wrote an exit/signal line for the same task without
    ending the first: "pause(9 +++ superseded by execve in pid 10 +++". The call never
    completes; the rest (from ``cut``) is a line of its own."""
    raw = line.raw
    yield Syscall.unfinished(line.pid, line.n, raw[:cut], line.time, name, raw[args_at:cut])
    for part in _slow_line_inner(raw[cut:], line.n, default_pid, pending):
        part.raw = raw  # both events come from this one physical line
        yield part


def _is_name(name: str) -> bool:
    """A syscall name; strace prints "???" for one it cannot tell."""
    return name.isidentifier() or (name != "" and name.strip("?") == "")


def _resumed(line: _Line, body: str, pending: Pending) -> list[Event]:
    """``<... NAME resumed>TAIL``: merged into its start when one waits, else kept alone."""
    j = body.find(" resumed>")
    if j < 0:
        return [line.unparsed("resumed line without 'resumed>'")]
    name = body[5:j]
    events, start, took_over = _start_of(pending, line.pid, name)
    tail_args, rest = _split_tail(body[j + 9 :])
    if start is None:
        ev = Syscall.resumed(line.pid, line.n, line.raw, line.time, name, tail_args)
    else:
        start.take_resumed(line.n, line.raw, _join_args(start.args_text, tail_args))
        ev = start
    if rest is not None:
        _read_result(ev, rest)
        if took_over and ev.ret != 0:
            # Only a successful exec changes a pid. strace 6.1 with --seccomp-bpf misses
            # that exec's syscall-exit stop and prints `= -1 (errno 18446744073709551359)`.
            ev.aux = f"(the pid change shows success; strace printed {rest.split(' <', 1)[0]!r})"
            ev.ret_text, ev.ret, ev.errno = "0", 0, None
    events.append(ev)
    return events


def _start_of(pending: Pending, pid: int | None, name: str) -> tuple[list[Event], Syscall | None, bool]:
    """The unfinished call a ``<... NAME resumed>`` of ``pid`` completes: (calls that will
    never resume now, the start or None, whether it is a thread's exec taken over by ``pid``)."""
    flushed: list[Event] = []
    start = pending.pop(pid, None)
    if start is not None and start.name != name:
        flushed.append(start)  # that call never resumed; this resumes one we never saw start
        start = None
    if start is None and pid is None:
        # an unprefixed line whose task is not known yet: the one call of that name waiting
        # (strace's stderr: "[pid N] wait4(... <unfinished ...>", N's other tasks exit, and
        # "<... wait4 resumed>" comes unprefixed)
        waiting = [key for key, call in pending.items() if call.name == name and key is not None]
        if len(waiting) == 1:
            return flushed, pending.pop(waiting[0]), False
    if start is None and pid is not None:
        theirs = pending.get(_exec_key(pid))
        if theirs is not None and theirs.name == name:
            del pending[_exec_key(pid)]  # the execve of a thread, now resuming as the leader
            return flushed, theirs, True
        unprefixed = pending.get(None)
        if unprefixed is not None and unprefixed.name == name:
            # strace's stderr output omits "[pid N]" while only one task is traced: a call
            # that started unprefixed may resume as "[pid N]" once there are more
            del pending[None]
            unprefixed.pid = pid
            return flushed, unprefixed, False
    return flushed, start, False


def _split_tail(tail: str) -> tuple[str, str | None]:
    """The part of a resumed line after ``resumed>``: ``NULL, 8) = 0`` → (``NULL, 8``, ``0``)."""
    if tail.endswith(_UNFINISHED):
        return tail[: -len(_UNFINISHED)], None
    close = close_bracket(tail, 0, len(tail), 41)
    if close >= 0:
        after = tail[close + 1 :].lstrip(" ")
        if after.startswith("= "):
            return tail[:close], after[2:]
    head, sep, rest = tail.rpartition(" = ")
    if sep:
        head = head.rstrip(" ")
        return (head[:-1] if head.endswith(")") else head), rest
    return tail, None


def _signal_line(line: _Line, inner: str) -> Event:
    """``--- ... ---``: a group-stop, or a signal in one of three notations."""
    if inner.startswith("stopped by "):
        return Stopped(line.pid, line.n, line.raw, line.time, inner[11:].strip())
    if inner.startswith("{"):
        # strace 4.x: "--- {si_signo=SIGCHLD, ...} (Child exited) ---"
        m = _SIGNO.search(inner)
        close = close_bracket(inner, 1, len(inner), 125)
        info = inner[: close + 1] if close >= 0 else inner
        rest = inner[len(info) :].strip()
        desc = rest[1:-1] if rest.startswith("(") and rest.endswith(")") else (rest or None)
        return Signal(line.pid, line.n, line.raw, line.time, m.group(1) if m else "?", info, desc)
    name, _, info = inner.partition(" ")
    description = None
    if info.startswith("("):
        # strace 4.x: "--- SIGCHLD (Child exited) @ 0 (0) ---"
        close = close_bracket(info, 1, len(info), 41)
        if close >= 0:
            description = info[1:close]
    return Signal(line.pid, line.n, line.raw, line.time, name, info, description)


def _exit_line(line: _Line, inner: str, pending: Pending) -> list[Event]:
    """``+++ ... +++``: the task exited, was killed, or was superseded by an exec'ing thread."""
    pid = line.pid
    if inner.startswith("superseded by execve in pid "):
        by = number(inner[28:])
        if by is not None:
            return _superseded(line, by, pending)
    events = [*_flush(pending, pid), *_flush(pending, _exec_key(pid))]  # it ended inside them
    code = number(inner[12:]) if inner.startswith("exited with ") else None
    if code is not None:
        events.append(Exit(pid, line.n, line.raw, line.time, code))
    elif inner.startswith("killed by "):
        what = inner[10:]
        core = what.endswith(" (core dumped)")
        events.append(Killed(pid, line.n, line.raw, line.time, what.split(" ", 1)[0], core))
    else:
        events.append(line.unparsed("unknown +++ line"))
    return events


def _superseded(line: _Line, by: int, pending: Pending) -> list[Event]:
    """Thread ``by`` exec'd and takes over this pid: its ``execve(... <unfinished ...>``
    will resume under this pid; a call this pid was in never will."""
    events = _flush(pending, line.pid)
    theirs = pending.pop(by, None)
    if theirs is not None:
        theirs.pid = line.pid  # the new program runs under the leader's pid
        events += _hold(pending, _exec_key(line.pid), theirs)  # where `<pid changed>` puts it
    events.append(Superseded(line.pid, line.n, line.raw, line.time, by))
    return events


def _message(body: str, pid: int | None, n: int, raw: str, time: str | None) -> Event:
    m = _ATTACH_MSG.match(body)
    if m:
        target = int(m.group(1))
        if m.group(2) == "attached":
            return Attached(target, n, raw, time)
        return Detached(target, n, raw, time)
    text = body[8:] if body.startswith("strace: ") else body
    if text.startswith("[ Process PID="):
        digits = text[14:].split(" ", 1)[0]
        if digits.isdigit():
            pid = int(digits)
    return Message(pid, n, raw, text, time)


def _glue(
    torn: tuple[int, str], n: int, raw: str, pid: int | None, pending: Pending
) -> tuple[list[Event], bool]:
    """Rebuild a line that an interleaved strace message cut in two.

    Returns the events and whether line ``n`` was used up. When the two parts do not make
    a line, the first part is unparsed and line ``n`` must be read on its own.
    """
    first_n, first_part = torn
    events = list(_slow_line(first_part + raw, first_n, pid, pending))
    if any(isinstance(ev, _Open) for ev in events):
        # still open with line n: the call goes on later; line n is a line of its own
        return list(_slow_line(first_part, first_n, pid, pending)), False
    if any(isinstance(ev, (_Torn, Unparsed)) for ev in events):
        # Not a line after all: keep only calls flushed from `pending` (earlier lines)
        kept: list[Event] = [ev for ev in events if isinstance(ev, Syscall) and ev.line < first_n]
        kept.append(Unparsed(pid, first_n, first_part, "line cut off by a strace message"))
        return kept, False
    for ev in [*events, *pending.values()]:  # the glued line may be a call put aside
        if isinstance(ev, Syscall) and first_n in (ev.line, ev.end_line):
            ev.torn_line, ev.torn_raw = n, raw
            if ev.line == first_n:
                ev.raw = first_part
            else:
                ev.end_raw = first_part
    return events, True
