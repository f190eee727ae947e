"""Typed events: what one strace log line (or a merged pair of lines) says.

Every event keeps its raw text and 1-based line numbers, so nothing the log said is lost.
The classes are deliberately plain (``__slots__``, no validation): the line parser builds
millions of them, and anything derivable (errno text, fd decorations, argument trees) is
computed on first access instead of at construction.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from ._parsing.argdecode import decode_args, decode_value, split_decoration
from .argtree import Fd, Node, clean_text, put_text, to_json

Split = Literal["merged", "unfinished", "resumed"]


class Event:
    """Base of all events. ``pid`` is None where the log does not say (see README)."""

    __slots__ = ("file", "line", "pid", "raw", "time")
    type: ClassVar[str] = "event"
    # the attributes of a subclass that its JSON form shows, under the same names
    _json_names: ClassVar[tuple[str, ...]] = ()

    pid: int | None
    line: int
    raw: str
    time: str | None
    file: str | None

    def __init__(self, pid: int | None, line: int, raw: str, time: str | None = None) -> None:
        self.pid = pid
        self.line = line
        self.raw = raw
        self.time = time
        self.file = None  # set by the parser for logs read from several files

    @property
    def lines(self) -> tuple[int, ...]:
        return (self.line,)

    @property
    def raw_lines(self) -> tuple[str, ...]:
        return (self.raw,)

    @property
    def seconds(self) -> float | None:
        """The timestamp as seconds (epoch for -ttt, since midnight for -t/-tt, relative for -r)."""
        return _time_to_seconds(self.time)

    def where(self) -> str:
        """``file:line`` or ``line N``, for reports."""
        lines = "+".join(str(n) for n in self.lines)
        return f"{self.file}:{lines}" if self.file else f"line {lines}"

    def to_json(self) -> dict[str, Any]:
        """The event as JSON Lines record (README "JSON Lines", schemas/events.schema.json):
        every string valid UTF-8, bytes that are not kept losslessly in a ``*_b64`` key."""
        out: dict[str, Any] = {
            "type": self.type,
            "pid": self.pid,
            "line": self.line,
            "lines": list(self.lines),
        }
        if self.file is not None:
            out["file"] = clean_text(self.file)
        if self.time is not None:
            out["time"] = self.time
        out.update(self._json_fields())
        put_text(out, "raw", "\n".join(self.raw_lines))
        return out

    def _json_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._json_names}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} pid={self.pid} {self.where()}: {self.raw_lines[-1]!r}>"


class Syscall(Event):
    """A system call. Split calls (``<unfinished ...>`` + ``<... resumed>``) are one event.

    Made by a named constructor for each way a log shows a call: ``completed`` (the call
    and its result on one line), ``unfinished`` (a first half; it becomes the whole call
    with ``take_resumed``, or stays a call that never returned), ``resumed`` (a second half
    whose first the log does not show). The result (``ret``, ``ret_text``, ``errno``,
    ``aux``, ``duration``) is None until the parser reads it in.
    """

    __slots__ = (
        "_args",
        "_ret_text",
        "args_text",
        "aux",
        "cut",
        "duration",
        "end_line",
        "end_raw",
        "errno",
        "name",
        "ret",
        "split",
        "torn_line",
        "torn_raw",
        "undecoded",
    )
    type: ClassVar[str] = "syscall"

    def __init__(
        self,
        pid: int | None,
        line: int,
        raw: str,
        time: str | None,
        name: str,
        args_text: str,
        split: Split | None = None,
    ) -> None:
        """Use the named constructors (``completed``, ``unfinished``, ``resumed``)."""
        super().__init__(pid, line, raw, time)
        self.name = name
        self.args_text = args_text
        self.split = split
        # the result, read into the event by the parser (all None while a call is unfinished)
        self._ret_text: str | None = None  # None for a plain decimal result (the parser saves a copy)
        self.ret: int | None = None
        self.errno: str | None = None
        self.aux: str | None = None
        self.duration: str | None = None
        self.end_line: int | None = None  # the <... resumed> half of a split call
        self.end_raw: str | None = None
        # where strace's stderr tore the line with a message, the line's continuation
        self.torn_line: int | None = None
        self.torn_raw: str | None = None
        self._args: tuple[Node, ...] | None = None
        # arguments the tracer printed as plain numbers where strace decodes them (the
        # ptrace backend's honest limit; always empty for strace's own output)
        self.undecoded: tuple[int, ...] = ()
        # the log ends (or strace's line stops for good) inside this call's own line: its
        # argument text is only what was printed, and it never returned in the log
        self.cut = False

    @staticmethod
    def completed(
        pid: int | None, line: int, raw: str, time: str | None, name: str, args_text: str
    ) -> Syscall:
        """A call printed whole, ``NAME(ARGS) = RESULT``; the parser reads the result into it."""
        return Syscall(pid, line, raw, time, name, args_text)

    @staticmethod
    def unfinished(
        pid: int | None, line: int, raw: str, time: str | None, name: str, args_text: str
    ) -> Syscall:
        """``NAME(ARGS <unfinished ...>``: the first half, waiting for ``take_resumed``.
        Left so, it is a call the task never returned from (it died, exec'd or was detached)."""
        return Syscall(pid, line, raw, time, name, args_text, "unfinished")

    @staticmethod
    def resumed(pid: int | None, line: int, raw: str, time: str | None, name: str, args_text: str) -> Syscall:
        """``<... NAME resumed>ARGS) = RESULT`` whose first half the log does not show."""
        return Syscall(pid, line, raw, time, name, args_text, "resumed")

    def take_resumed(self, line: int, raw: str, args_text: str) -> None:
        """Merge the ``<... resumed>`` half read at ``line`` into this unfinished call;
        ``args_text`` is the whole argument text, both halves joined."""
        self.args_text = args_text
        self.split = "merged"
        self.end_line = line
        self.end_raw = raw

    @property
    def lines(self) -> tuple[int, ...]:
        if self.torn_line is None:
            return (self.line,) if self.end_line is None else (self.line, self.end_line)
        return tuple(sorted(n for n in (self.line, self.end_line, self.torn_line) if n is not None))

    @property
    def raw_lines(self) -> tuple[str, ...]:
        """The physical lines, in line order."""
        if self.torn_line is None:
            return (self.raw,) if self.end_raw is None else (self.raw, self.end_raw)
        pairs = [(self.line, self.raw), (self.torn_line, self.torn_raw or "")]
        if self.end_line is not None:
            pairs.append((self.end_line, self.end_raw or ""))
        return tuple(raw for _, raw in sorted(pairs))

    @property
    def ret_text(self) -> str | None:
        """The result exactly as printed (``0x1``, ``3</etc/passwd>``, ``?``); None if absent."""
        if self._ret_text is None and self.ret is not None:
            return str(self.ret)
        return self._ret_text

    @ret_text.setter
    def ret_text(self, value: str | None) -> None:
        self._ret_text = value

    @property
    def args(self) -> tuple[Node, ...]:
        """The argument tree, decoded on first access (never raises: odd text becomes Raw)."""
        if self._args is None:
            self._args = decode_args(self.args_text)
        return self._args

    @property
    def failed(self) -> bool:
        return self.errno is not None

    @property
    def complete(self) -> bool:
        """True when both the call and its result are in the log."""
        return self.split is None or self.split == "merged"

    @property
    def errno_text(self) -> str | None:
        """The strerror text after the errno name, as printed (may be localized)."""
        if self.errno is None or self.aux is None:
            return None
        text = _strip_markers(self.aux[len(self.errno) :].strip())
        return text[1:-1] if text.startswith("(") and text.endswith(")") else (text or None)

    @property
    def injected(self) -> bool:
        """strace's fault injection (``-e inject=`` with ``error=`` or ``retval=``) gave this
        call's result: the call never ran. strace 6.1 writes ``(INJECTED)``, then
        ``(DELAYED)`` if also delayed, and ``(INJECTED: args, retval)`` if it also wrote
        the arguments (``(INJECTED: args)`` alone: the call ran, with poked arguments)."""
        aux = self.aux
        return aux is not None and ("(INJECTED)" in aux or "(INJECTED: args, retval)" in aux)

    @property
    def delayed(self) -> bool:
        return self.aux is not None and self.aux.endswith("(DELAYED)")

    @property
    def note(self) -> str | None:
        """The auxiliary text of a successful call: ``flags FD_CLOEXEC``, ``Timeout``..."""
        if self.errno is not None or self.aux is None:
            return None
        text = _strip_markers(self.aux)
        return text[1:-1] if text.startswith("(") and text.endswith(")") else (text or None)

    @property
    def ret_fd(self) -> Fd | None:
        """The result as a node when strace decorated it (``-y``): ``3</etc/passwd>``."""
        if self.ret_text is None or "<" not in self.ret_text:
            return None
        return split_decoration(self.ret_text)

    @property
    def duration_seconds(self) -> float | None:
        if self.duration is None or not self.duration[:1].isdigit():
            return None
        return float(self.duration)

    def _json_fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "args": [to_json(a) for a in self.args],
            "ret": self.ret,
            "errno": self.errno,
        }
        if self.ret_text is not None and self.ret_text != str(self.ret):
            out["ret_text"] = clean_text(self.ret_text)
        if self.errno is not None:
            errno_text = self.errno_text
            out["errno_text"] = None if errno_text is None else clean_text(errno_text)
        elif self.note is not None:
            out["note"] = clean_text(self.note)
        if self.injected:
            out["injected"] = True
        if self.split is not None:
            out["split"] = self.split
        if self.cut:
            out["cut"] = True
        if self.duration is not None:
            out["duration"] = self.duration_seconds
        if self.undecoded:
            out["undecoded"] = list(self.undecoded)
        return out


class Signal(Event):
    """``--- SIGCHLD {si_signo=...} ---`` (and the two older notations)."""

    __slots__ = ("description", "info_text", "signal")
    type: ClassVar[str] = "signal"

    def __init__(
        self,
        pid: int | None,
        line: int,
        raw: str,
        time: str | None,
        signal: str,
        info_text: str,
        description: str | None = None,
    ) -> None:
        super().__init__(pid, line, raw, time)
        self.signal = signal
        self.info_text = info_text
        self.description = description

    @property
    def info(self) -> Node | None:
        """The siginfo structure as a tree, when the log printed one."""
        return decode_value(self.info_text) if self.info_text.startswith("{") else None

    def _json_fields(self) -> dict[str, Any]:
        info = self.info
        out: dict[str, Any] = {"signal": self.signal, "info": None if info is None else to_json(info)}
        if self.description is not None:
            out["description"] = self.description
        return out


class Stopped(Event):
    """``--- stopped by SIGSTOP ---``: a group-stop, reported by strace -f."""

    __slots__ = ("signal",)
    type: ClassVar[str] = "stopped"
    _json_names: ClassVar[tuple[str, ...]] = ("signal",)

    def __init__(self, pid: int | None, line: int, raw: str, time: str | None, signal: str) -> None:
        super().__init__(pid, line, raw, time)
        self.signal = signal


class Exit(Event):
    """``+++ exited with N +++``."""

    __slots__ = ("code",)
    type: ClassVar[str] = "exit"
    _json_names: ClassVar[tuple[str, ...]] = ("code",)

    def __init__(self, pid: int | None, line: int, raw: str, time: str | None, code: int) -> None:
        super().__init__(pid, line, raw, time)
        self.code = code


class Killed(Event):
    """``+++ killed by SIGSEGV (core dumped) +++``."""

    __slots__ = ("core_dumped", "signal")
    type: ClassVar[str] = "killed"
    _json_names: ClassVar[tuple[str, ...]] = ("signal", "core_dumped")

    def __init__(
        self, pid: int | None, line: int, raw: str, time: str | None, signal: str, core_dumped: bool
    ) -> None:
        super().__init__(pid, line, raw, time)
        self.signal = signal
        self.core_dumped = core_dumped


class Superseded(Event):
    """``+++ superseded by execve in pid N +++``: thread N exec'd and took over this pid."""

    __slots__ = ("by",)
    type: ClassVar[str] = "superseded"
    _json_names: ClassVar[tuple[str, ...]] = ("by",)

    def __init__(self, pid: int | None, line: int, raw: str, time: str | None, by: int) -> None:
        super().__init__(pid, line, raw, time)
        self.by = by


class Attached(Event):
    """``strace: Process N attached``."""

    __slots__ = ()
    type: ClassVar[str] = "attached"


class Detached(Event):
    """``strace: Process N detached``."""

    __slots__ = ()
    type: ClassVar[str] = "detached"


class Message(Event):
    """Any other line strace wrote about itself (``strace: ...``, ``[ Process PID=...]``)."""

    __slots__ = ("text",)
    type: ClassVar[str] = "message"

    def _json_fields(self) -> dict[str, Any]:
        return {"text": clean_text(self.text)}

    def __init__(self, pid: int | None, line: int, raw: str, text: str, time: str | None = None) -> None:
        super().__init__(pid, line, raw, time)
        self.text = text


class StackFrame(Event):
    """`` > /lib/libc.so.6(open+0x1b) [0x10f0bb]``: one frame of a ``-k`` stack trace."""

    __slots__ = ("frame",)
    type: ClassVar[str] = "stack"

    def _json_fields(self) -> dict[str, Any]:
        return {"frame": clean_text(self.frame)}

    def __init__(self, pid: int | None, line: int, raw: str, frame: str) -> None:
        super().__init__(pid, line, raw, None)
        self.frame = frame


class Text(Event):
    """A line, or part of one, that is not strace's and is known not to hide a call: a
    program's own output interleaved with strace's (``kind`` "output"), a blank line, a
    ``#`` comment or a shell prompt around a pasted log ("blank", "comment", "prompt"), the
    frame of a ``-c`` table ("table")."""

    __slots__ = ("kind", "text")
    type: ClassVar[str] = "text"

    def _json_fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        put_text(out, "text", self.text)
        return out

    def __init__(self, pid: int | None, line: int, raw: str, kind: str, text: str) -> None:
        super().__init__(pid, line, raw, None)
        self.kind = kind
        self.text = text


class CallCount(Event):
    """One row of a ``-c``/``-C`` summary table: ``% time, seconds (``total_seconds``), usecs/call, calls,
    errors, syscall`` (the ``total`` row too, as syscall "total"). A column the table does
    not have is None."""

    __slots__ = ("calls", "errors", "percent", "syscall", "total_seconds", "usecs_per_call")
    type: ClassVar[str] = "count"
    _json_names: ClassVar[tuple[str, ...]] = (
        "syscall",
        "calls",
        "errors",
        "total_seconds",
        "usecs_per_call",
        "percent",
    )

    def __init__(
        self,
        line: int,
        raw: str,
        syscall: str,
        calls: int | None,
        errors: int | None,
        total_seconds: float | None,
        usecs_per_call: float | None,
        percent: float | None,
    ) -> None:
        super().__init__(None, line, raw, None)
        self.syscall = syscall
        self.calls = calls
        self.errors = errors
        self.total_seconds = total_seconds
        self.usecs_per_call = usecs_per_call
        self.percent = percent


class Unparsed(Event):
    """A line the parser could not read. It is kept, with why, never dropped."""

    __slots__ = ("reason",)
    type: ClassVar[str] = "unparsed"

    def _json_fields(self) -> dict[str, Any]:
        return {"reason": clean_text(self.reason)}

    def __init__(self, pid: int | None, line: int, raw: str, reason: str, time: str | None = None) -> None:
        super().__init__(pid, line, raw, time)
        self.reason = reason


def _strip_markers(text: str) -> str:
    for marker in ("(INJECTED)", "(DELAYED)"):
        if text.endswith(marker):
            text = text[: -len(marker)].rstrip()
    return text


def _time_to_seconds(text: str | None) -> float | None:
    if text is None:
        return None
    try:  # a log's times are text: a damaged one must cost its ordering, not the run
        if ":" in text:
            hours, minutes, seconds = text.split(":")
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        return float(text)
    except ValueError:
        return None
