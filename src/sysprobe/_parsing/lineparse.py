"""strace text → events, one line at a time, without losing a line.

The hot loop reads only the *envelope* of each line (pid, time, name, result, errno,
duration, unfinished/resumed) with C-level string methods; argument trees are decoded
later, on demand (see ``_argdecode``). Everything unusual — ``[pid N]`` prefixes, signal
and exit lines, strace's own messages, lines torn by stderr interleaving — leaves the fast
path for ``_slow_line``, which may be slower but must never raise.

Split calls are merged here: a ``<unfinished ...>`` start waits in ``pending`` (one per
pid: a task is in at most one syscall) until its ``<... NAME resumed>`` half arrives; the
merged event is emitted at the resumed line, because that is when the call took effect.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

from ..events import (
    Attached,
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
    Unparsed,
)
from .argdecode import decoration_end

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
    (?P<brackets>(?:\[[^\]]*\]\s+)*)                # -i, -n, --secontext
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


class _Marker(Event):
    """Internal signals between the line readers and the loop; never yielded."""

    __slots__ = ()


_HELD: Final = _Marker()  # an unfinished call was put aside until it resumes
_TORN_MARK: Final = _Marker()  # this line goes on in the next one


def parse_lines(
    lines: Iterable[str],
    *,
    pid: int | None = None,
    file: str | None = None,
    first_line: int = 1,
) -> Iterator[Event]:
    """Parse strace text lines into events.

    ``pid`` is the pid of unprefixed lines (the file suffix of an ``-ff`` log); ``file``
    is recorded on each event for reports. Lines may keep their trailing newline.
    """
    pending: dict[int | None, Syscall] = {}
    torn: tuple[int, str] | None = None  # a line cut by an interleaved strace message
    last_pid = pid  # whose line came last: -k stack frames belong to it
    n = first_line - 1
    for raw in lines:
        n += 1
        if raw and ord(raw[-1]) == 10:
            raw = raw[:-1]
        if torn is not None:
            glued, done = _glue(torn, n, raw, pid, pending)
            torn = None
            for ev in glued:
                if file is not None:
                    ev.file = file
                yield ev
            if done:
                continue
        fast = _fast_line(raw, n, pid, pending)
        if fast is not None:
            if fast is not _HELD:
                if file is not None:
                    fast.file = file
                last_pid = fast.pid
                yield fast
            else:
                last_pid = _newest_key(pending)
            continue
        if raw.startswith(" > "):  # -k: a stack frame of the line before
            frame = StackFrame(last_pid, n, raw, raw[3:].strip())
            if file is not None:
                frame.file = file
            yield frame
            continue
        for ev in _slow_line(raw, n, pid, pending):
            if ev is _TORN_MARK:
                torn = (n, raw)
                continue
            if file is not None:
                ev.file = file
            last_pid = ev.pid
            yield ev

    if torn is not None:
        yield Unparsed(pid, torn[0], torn[1], "line cut off by a strace message at the end of the log")
    for left in sorted(pending.values(), key=_line_of):
        if file is not None:
            left.file = file
        yield left


def _line_of(ev: Event) -> int:
    return ev.line


def _newest_key(pending: dict[int | None, Syscall]) -> int | None:
    """The pid of the call most recently put aside (dicts keep insertion order)."""
    for key in reversed(pending):
        return key if key is None or key >= 0 else -key
    return None


# ---- the fast path ----
#
# Plain loops over ord(raw[i]) on purpose: mypyc compiles them to C array reads (setup.py),
# and they avoid the copies that slicing, strip() and partition() would make of every line.
# Each reader returns None for anything it is not sure of; the slow path then reads the line.


def _fast_line(raw: str, n: int, default_pid: int | None, pending: dict[int | None, Syscall]) -> Event | None:
    """Read the prefix (pid, time), then the common line kinds."""
    end = len(raw)
    if end == 0:
        return None
    i = 0
    lpid = default_pid
    time: str | None = None
    c = ord(raw[0])
    if 48 <= c <= 57:  # a digit: a pid, or a time when no pid is printed
        value = 0
        while i < end:
            c = ord(raw[i])
            if 48 <= c <= 57:
                value = value * 10 + (c - 48)
                i += 1
            else:
                break
        if i == end:
            return None
        if c == 60:  # "<": -Y prints "123<comm> "
            close = raw.find("> ", i, end)
            if close < 0:
                return None
            i = close + 1
            c = 32
        if c == 32:
            lpid = value
            while i < end and ord(raw[i]) == 32:
                i += 1
            if i < end and 48 <= ord(raw[i]) <= 57:  # a time after the pid
                sp = raw.find(" ", i, end)
                if sp < 0:
                    return None
                time = raw[i:sp]
                i = sp
                while i < end and ord(raw[i]) == 32:
                    i += 1
        elif c in (46, 58):  # "." or ":": a time with no pid (-ff files, one process)
            sp = raw.find(" ", i, end)
            if sp < 0:
                return None
            time = raw[0:sp]
            i = sp
            while i < end and ord(raw[i]) == 32:
                i += 1
        else:
            return None
    elif c == 91:  # "[pid  N]" (stderr output)
        if not raw.startswith("[pid ", 0):
            return None
        close = raw.find("]", 5, end)
        if close < 0:
            return None
        j = 5
        while j < close and ord(raw[j]) == 32:
            j += 1
        digits = j
        value = 0
        while j < close:
            c = ord(raw[j])
            if 48 <= c <= 57:
                value = value * 10 + (c - 48)
                j += 1
            else:
                break
        if j == digits or (j < close and c != 60):
            return None
        lpid = value
        i = close + 1
        while i < end and ord(raw[i]) == 32:
            i += 1
        if i < end and 48 <= ord(raw[i]) <= 57:
            return None  # a time after "[pid N]": rare, the slow path reads it
    if i >= end:
        return None

    c = ord(raw[i])
    if 97 <= c <= 122 or 65 <= c <= 90 or c == 95:
        return _fast_call(raw, i, end, n, lpid, time, pending)
    if c == 60:
        return _fast_resumed(raw, i, end, n, lpid, pending)
    if c == 43 and lpid not in pending and raw.startswith("+++ exited with ", i) and raw.endswith(" +++"):
        code = raw[i + 16 : end - 4]
        if code.isdigit():
            return Exit(lpid, n, raw, time, int(code))
        return None
    if c == 45 and raw.startswith("--- SIG", i) and raw.endswith(" ---"):
        sp = raw.find(" ", i + 4, end)
        if sp < 0 or ord(raw[sp + 1]) == 40:  # "(": the strace 4.x form, slow path
            return None
        return Signal(lpid, n, raw, time, raw[i + 4 : sp], raw[sp + 1 : end - 4])
    return None


def _fast_call(
    raw: str,
    i: int,
    end: int,
    n: int,
    lpid: int | None,
    time: str | None,
    pending: dict[int | None, Syscall],
) -> Event | None:
    """``NAME(ARGS) = RESULT``, or the first half ``NAME(ARGS <unfinished ...>``."""
    p = raw.find("(", i, end)
    if p <= i:
        return None
    j = i + 1
    while j < p:
        c = ord(raw[j])
        if 97 <= c <= 122 or 48 <= c <= 57 or c == 95 or 65 <= c <= 90:
            j += 1
        else:
            return None
    if ord(raw[end - 1]) == 62:  # ">": maybe a split call
        if raw.endswith(_UNFINISHED):
            if lpid in pending:
                return None  # the slow path first flushes the older unfinished call
            k = end - len(_UNFINISHED)
            while k > p + 1 and ord(raw[k - 1]) == 32:
                k -= 1
            if not _strings_closed(raw, p + 1, k):
                return None
            ev = Syscall(lpid, n, raw, time, raw[i:p], raw[p + 1 : k], None, None, None, None, None)
            ev.split = "unfinished"
            pending[lpid] = ev
            return _HELD
        if raw.endswith(_DETACHED):
            return None
    q = raw.rfind(" = ", p, end)
    if q < 0:
        return None
    k = q
    while k > p and ord(raw[k - 1]) == 32:
        k -= 1
    if ord(raw[k - 1]) != 41 or not _strings_closed(raw, p + 1, k - 1):  # 41: ")"
        return None
    ev = Syscall(lpid, n, raw, time, raw[i:p], raw[p + 1 : k - 1], None, None, None, None, None)
    _set_result(ev, raw, q + 3, end)
    return ev


def _fast_resumed(
    raw: str, i: int, end: int, n: int, lpid: int | None, pending: dict[int | None, Syscall]
) -> Event | None:
    """``<... NAME resumed>TAIL) = RESULT``, merged into the call waiting in ``pending``."""
    if not raw.startswith("<... ", i):
        return None
    j = raw.find(" resumed>", i + 5, end)
    start = pending.get(lpid)
    if j < 0 or start is None or start.name != raw[i + 5 : j] or raw.endswith(_UNFINISHED):
        return None
    t = j + 9
    q = raw.rfind(" = ", t, end)
    if q < 0:
        return None
    k = q
    while k > t and ord(raw[k - 1]) == 32:
        k -= 1
    if ord(raw[k - 1]) != 41 or not _strings_closed(raw, t, k - 1):
        return None
    del pending[lpid]
    start.args_text = _join_args(start.args_text, raw[t : k - 1])
    start.split = "merged"
    start.end_line = n
    start.end_raw = raw
    _set_result(start, raw, q + 3, end)
    return start


def _strings_closed(raw: str, a: int, b: int) -> bool:
    """Does ``raw[a:b]`` end outside any string? A line torn inside a string
    (``write(1, "x) = 3``) would otherwise look complete."""
    j = raw.find('"', a, b)
    while j >= 0:
        if ord(raw[j - 1]) == 92 and _escaped(raw, j):  # \" in a -y path, not a string
            j = raw.find('"', j + 1, b)
            continue
        j = raw.find('"', j + 1, b)
        while j > 0 and ord(raw[j - 1]) == 92 and _escaped(raw, j):
            j = raw.find('"', j + 1, b)
        if j < 0:
            return False
        j = raw.find('"', j + 1, b)
    return True


def _set_result(ev: Syscall, raw: str, j0: int, end: int) -> None:
    """Read ``RET[ AUX][ <DURATION>]`` from ``raw[j0:end]`` into ``ev``."""
    j = j0
    value = 0
    while j < end:
        c = ord(raw[j])
        if 48 <= c <= 57:
            value = value * 10 + (c - 48)
            j += 1
        else:
            break
    if j == end and j > j0:
        if ord(raw[j0]) == 48 and j > j0 + 1:
            text = raw[j0:end]
            ev.ret_text = text
            ev.ret = _octal_or_decimal(text)
        else:
            ev.ret = value  # ret_text stays None: the same as str(ret), no copy made
        return
    if j == j0 + 1 and ord(raw[j0]) == 48 and j < end and ord(raw[j]) == 120:  # "0x": an address
        j += 1
        value = 0
        while j < end:
            c = ord(raw[j])
            if 48 <= c <= 57:
                value = value * 16 + (c - 48)
            elif 97 <= c <= 102:
                value = value * 16 + (c - 87)
            else:
                break
            j += 1
        if j == end and j > j0 + 2:
            ev.ret_text = raw[j0:end]
            ev.ret = value
            return
    ev.ret_text, ev.ret, ev.errno, ev.aux, ev.duration = _parse_result(raw[j0:end])


def _escaped(text: str, j: int) -> bool:
    """Is the quote at ``j`` escaped (preceded by an odd number of backslashes)?"""
    count = 0
    while j > 0 and ord(text[j - 1]) == 92:
        count += 1
        j -= 1
    return count % 2 == 1


def _octal_or_decimal(text: str) -> int:
    """strace prints some results in octal (``umask``: ``022``)."""
    try:
        return int(text, 8)
    except ValueError:
        return int(text)


# ---- the slow path ----


def _syscall_with_result(
    pid: int | None, line: int, raw: str, time: str | None, name: str, args: str, rest: str
) -> Syscall:
    ret_text, ret, errno, aux, duration = _parse_result(rest)
    return Syscall(pid, line, raw, time, name, args, ret_text, ret, errno, aux, duration)


def _parse_result(rest: str) -> tuple[str, int | None, str | None, str | None, str | None]:
    """``3</etc/passwd> <0.000012>`` → (ret_text, ret, errno, aux, duration)."""
    duration = None
    if rest[-1:] == ">":
        k = rest.rfind(" <")
        if k >= 0:
            cand = rest[k + 2 : -1]
            if cand == "unavailable" or (cand[:1].isdigit() and cand.replace(".", "", 1).isdigit()):
                duration = cand
                rest = rest[:k].rstrip(" ")
    if "<" in rest:
        cut = decoration_end(rest)
        ret_text, aux_text = rest[:cut], rest[cut:].lstrip(" ")
        aux = aux_text or None
    else:
        ret_text, _, aux_text = rest.partition(" ")
        aux = aux_text or None
    ret = _int_value(ret_text)
    errno = None
    if aux is not None and (ret is None or ret < 0):
        word = aux.partition(" ")[0]
        if word[:1] == "E" and word.replace("_", "").isalnum() and word.isupper():
            errno = word
    return ret_text, ret, errno, aux, duration


def _int_value(text: str) -> int | None:
    head = text.partition("<")[0]
    if head.isdigit():
        return _octal_or_decimal(head) if head[0] == "0" and len(head) > 1 else int(head)
    if head[:1] == "-" and head[1:].isdigit():
        return int(head)
    if head[:2] in ("0x", "0X"):
        try:
            return int(head, 16)
        except ValueError:
            return None
    return None


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


def _slow_line(
    raw: str, n: int, default_pid: int | None, pending: dict[int | None, Syscall]
) -> Iterator[Event]:
    """Read a line the fast path did not take. Yields zero or more events; never raises."""
    try:
        yield from _slow_line_inner(raw, n, default_pid, pending)
    except Exception as exc:  # a parser bug must cost one line, not the trace
        yield Unparsed(default_pid, n, raw, f"internal parser error: {type(exc).__name__}: {exc}")


def _slow_line_inner(
    raw: str, n: int, default_pid: int | None, pending: dict[int | None, Syscall]
) -> Iterator[Event]:
    if not raw.strip():
        yield Unparsed(default_pid, n, raw, "blank line")
        return
    if raw.startswith(" > "):
        yield StackFrame(default_pid, n, raw, raw[3:].strip())
        return
    m = _PREFIX.match(raw)
    assert m is not None  # every group is optional
    pid_text = m.group("pid1") or m.group("pid2")
    pid = int(pid_text) if pid_text else default_pid
    time = m.group("time")
    body = raw[m.end() :]

    if body.startswith("strace: ") or body.startswith("Process ") or body.startswith("[ Process PID="):
        yield _message(body, pid, n, raw, time)
        return
    if body.startswith("<... "):
        yield from _resumed(body, pid, n, raw, time, pending)
        return
    if body.startswith("--- ") and body.endswith(" ---"):
        yield _signal_line(body[4:-4], pid, n, raw, time)
        return
    if body.startswith("+++ ") and body.endswith(" +++"):
        yield from _exit_line(body[4:-4], pid, n, raw, time, pending)
        return

    p = body.find("(")
    name = body[:p]
    if p > 0 and _is_name(name):
        changed = _PID_CHANGED.search(body)
        if changed is not None:
            # strace 6: a thread's execve that will complete as the leader, pid N. It is
            # kept under -N (pids are positive) so the leader's own pending call stays.
            new_pid = int(changed.group(1))
            ev = Syscall(
                new_pid,
                n,
                raw,
                time,
                name,
                body[p + 1 : changed.start()].rstrip(" "),
                None,
                None,
                None,
                None,
                None,
            )
            ev.split = "unfinished"
            previous = pending.pop(pid, None)
            if previous is not None:
                yield previous
            pending[-new_pid] = ev
            return
        for suffix in (_UNFINISHED, _DETACHED):
            if body.endswith(suffix):
                ev = Syscall(
                    pid,
                    n,
                    raw,
                    time,
                    name,
                    body[p + 1 : -len(suffix)].rstrip(" "),
                    None,
                    None,
                    None,
                    None,
                    None,
                )
                ev.split = "unfinished"
                previous = pending.pop(pid, None)
                if previous is not None:
                    yield previous
                if suffix == _DETACHED:
                    yield ev  # strace let go of the task: this call will never resume
                else:
                    pending[pid] = ev
                return
        parsed = _complete_call(body, p)
        if parsed is not None:
            args, rest = parsed
            yield _syscall_with_result(pid, n, raw, time, name, args, rest)
            return
    if _TORN.search(raw) and not _ATTACH_MSG.match(body):
        # stderr output: strace wrote "strace: Process N attached" into the middle of a
        # line; the line goes on in the next one. Emit the message now, glue the rest.
        cut = raw.rfind("strace: Process ")
        yield _message(raw[cut:], None, n, raw[cut:], None)
        yield _TORN_MARK
        return
    fused = _FUSED.search(raw) if p > 0 and _is_name(name) else None
    if fused is not None and fused.start() > 0:
        # strace began a call, then wrote an exit/signal line for the same task without
        # ending the first: "pause(9 +++ superseded by execve in pid 10 +++". The call
        # never completes; the rest is a line of its own.
        args = raw[m.end() + p + 1 : fused.start()]
        ev = Syscall(pid, n, raw[: fused.start()], time, name, args, None, None, None, None, None)
        ev.split = "unfinished"
        yield ev
        for part in _slow_line_inner(raw[fused.start() :], n, default_pid, pending):
            part.raw = raw  # both events come from this one physical line
            yield part
        return
    reason = "incomplete line (strace cut off?)" if p > 0 and _is_name(name) else "not a strace line"
    yield Unparsed(pid, n, raw, reason, time)


def _is_name(name: str) -> bool:
    """A syscall name; strace prints "???" for one it cannot tell."""
    return name.isidentifier() or (name != "" and name.strip("?") == "")


def _complete_call(body: str, p: int) -> tuple[str, str] | None:
    """Split ``NAME(ARGS) = REST`` carefully: find the ``)`` that closes the argument list."""
    end = _scan_to_close(body, p + 1)
    if end is None:
        return None
    tail = body[end + 1 :].lstrip(" ")
    if not tail.startswith("= "):
        return None
    return body[p + 1 : end], tail[2:]


def _scan_to_close(text: str, i: int, closer: str = ")") -> int | None:
    """Index of the ``closer`` that ends the bracket opened just before ``i``."""
    depth = 0
    end = len(text)
    while i < end:
        ch = text[i]
        if ch == "\\":
            i += 1  # an escape in a -y decoration: skip the escaped character
        elif ch == '"':
            i += 1
            while i < end and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                return i if ch == closer else None
            depth -= 1
        i += 1
    return None


def _resumed(
    body: str, pid: int | None, n: int, raw: str, time: str | None, pending: dict[int | None, Syscall]
) -> Iterator[Event]:
    j = body.find(" resumed>")
    if j < 0:
        yield Unparsed(pid, n, raw, "resumed line without 'resumed>'", time)
        return
    name = body[5:j]
    tail = body[j + 9 :]
    start = pending.pop(pid, None)
    if start is not None and start.name != name:
        yield start  # that call never resumed; this resumes one we never saw start
        start = None
    took_over = False
    if start is None and pid is not None and pending.get(-pid) is not None and pending[-pid].name == name:
        start = pending.pop(-pid)  # the execve of a thread, now resuming as the leader
        took_over = True
    if start is None and pid is not None and pending.get(None) is not None and pending[None].name == name:
        # strace's stderr output omits "[pid N]" while only one task is traced: a call
        # that started unprefixed may resume as "[pid N]" once there are more
        start = pending.pop(None)
        start.pid = pid

    tail_args, rest = _split_tail(tail)
    if start is None:
        ev = Syscall(pid, n, raw, time, name, tail_args, None, None, None, None, None)
        ev.split = "resumed"
    else:
        ev = start
        ev.args_text = _join_args(start.args_text, tail_args)
        ev.split = "merged"
        ev.end_line = n
        ev.end_raw = raw
    if rest is not None:
        ev.ret_text, ev.ret, ev.errno, ev.aux, ev.duration = _parse_result(rest)
        if took_over and ev.ret != 0:
            # Only a successful exec changes a pid. strace 6.1 with --seccomp-bpf misses
            # that exec's syscall-exit stop and prints `= -1 (errno 18446744073709551359)`.
            ev.aux = f"(the pid change shows success; strace printed {rest.split(' <', 1)[0]!r})"
            ev.ret_text, ev.ret, ev.errno = "0", 0, None
    yield ev


def _split_tail(tail: str) -> tuple[str, str | None]:
    """The part of a resumed line after ``resumed>``: ``NULL, 8) = 0`` → (``NULL, 8``, ``0``)."""
    if tail.endswith(_UNFINISHED):
        return tail[: -len(_UNFINISHED)], None
    end = _scan_to_close("(" + tail, 1)
    if end is not None:
        after = tail[end:].lstrip(" ")
        if after.startswith("= "):
            return tail[: end - 1], after[2:]
    head, sep, rest = tail.rpartition(" = ")
    if sep:
        head = head.rstrip(" ")
        return (head[:-1] if head.endswith(")") else head), rest
    return tail, None


def _signal_line(inner: str, pid: int | None, n: int, raw: str, time: str | None) -> Event:
    if inner.startswith("stopped by "):
        return Stopped(pid, n, raw, time, inner[11:].strip())
    if inner.startswith("{"):
        # strace 4.x: "--- {si_signo=SIGCHLD, ...} (Child exited) ---"
        m = _SIGNO.search(inner)
        close = _scan_to_close(inner, 1, "}")
        info = inner[: close + 1] if close is not None else inner
        rest = inner[len(info) :].strip()
        desc = rest[1:-1] if rest.startswith("(") and rest.endswith(")") else (rest or None)
        return Signal(pid, n, raw, time, m.group(1) if m else "?", info, desc)
    name, _, info = inner.partition(" ")
    description = None
    if info.startswith("("):
        # strace 4.x: "--- SIGCHLD (Child exited) @ 0 (0) ---"
        close = _scan_to_close(info, 1)
        if close is not None:
            description = info[1:close]
    return Signal(pid, n, raw, time, name, info, description)


def _exit_line(
    inner: str, pid: int | None, n: int, raw: str, time: str | None, pending: dict[int | None, Syscall]
) -> Iterator[Event]:
    if inner.startswith("superseded by execve in pid "):
        by = int(inner.rsplit(" ", 1)[1])
        # The exec'ing thread's "execve(... <unfinished ...>" resumes under this pid.
        mine = pending.pop(pid, None)
        if mine is not None:
            yield mine
        theirs = pending.pop(by, None)
        if theirs is not None:
            theirs.pid = pid  # the new program runs under the leader's pid
            pending[pid if pid is None else -pid] = theirs  # where `<pid changed to N ...>` puts it
        yield Superseded(pid, n, raw, time, by)
        return
    for key in (pid, None if pid is None else -pid):
        started = pending.pop(key, None)
        if started is not None:
            yield started  # the task ended inside this call
    if inner.startswith("exited with "):
        yield Exit(pid, n, raw, time, int(inner[12:]))
    elif inner.startswith("killed by "):
        what = inner[10:]
        core = what.endswith(" (core dumped)")
        yield Killed(pid, n, raw, time, what.split(" ", 1)[0], core)
    else:
        yield Unparsed(pid, n, raw, "unknown +++ line", time)


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
    torn: tuple[int, str], n: int, raw: str, pid: int | None, pending: dict[int | None, Syscall]
) -> tuple[list[Event], bool]:
    """Rebuild a line that an interleaved strace message cut in two.

    Returns the events and whether line ``n`` was used up. When the two parts do not make
    a line, the first part is unparsed and line ``n`` must be read on its own.
    """
    first_n, first_raw = torn
    first_part = first_raw[: first_raw.rfind("strace: Process ")]
    events = list(_slow_line(first_part + raw, first_n, pid, pending))
    if any(ev is _TORN_MARK or isinstance(ev, Unparsed) for ev in events):
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
