"""Golden trace files: a normalized, reviewable record of what a program did to its
descriptors and processes, the same on every run, on both backends and on any machine.

The layout (format 2) is one the scheduler cannot change:
- one section per **process** (a thread group), numbered depth first from the command,
  children in the order they were made; threads belong to their process and are not
  written (a runtime's thread count and which thread made which call vary between runs);
- each process's life is cut at its **fixed points** — a successful exec, then its end;
- between two fixed points, the **story of each descriptor**: the call that made it (as
  strace wrote it), then what was done to it — duplicated, flags changed, passed over
  SCM_RIGHTS, used in a data-path call, closed — in its own order. Stories are written in
  a canonical order (by their text, with run-dependent numbers masked), never in the
  order threads happened to make them. A process made by a fork is one line in its
  maker's section and a section of its own.

What goes in: the calls that change descriptors or processes (``_kernel.effects``) and the
data-path calls that decide *how* bytes move (``DATA_PATH``), or the user's set. What is
left out: calls that failed and changed nothing (unless injected); queries (fcntl F_GETFL,
ioctls other than FIOCLEX/FIONCLEX, sendmsg/recvmsg without SCM_RIGHTS); thread
creation (unless asked); transient files — a file opened (not created) and closed within
one section of one process with nothing done to it and no other line naming it: the
loader's libraries, an interpreter's modules, locale data.

How it is normalized: pids become process numbers; addresses ``ADDR``; pipe and socket
inodes, ports and temporary names (files created with O_EXCL: mkstemp, ``tempfile``,
``os.CreateTemp``) are numbered in the order they are written; descriptors that are still
the command's own stdin/stdout/stderr (or copies of them) are named so, whatever they
point at; sizes and offsets of data-path calls become ``N`` and a run of the same such
call is written once; given prefixes ($CWD, $HOME, $PYTHON, $VENV, ...) and the user's
regular expressions are replaced; the environment is never written, only ``<env>``.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeGuard

from .._escape import printable
from .._files import Interrupted, NotARegularFile, read_text, regular_target, write_atomically
from .._kernel.effects import (
    Closes,
    ClosesRange,
    Creates,
    Duplicates,
    Execs,
    Fcntl,
    Forks,
    Ioctl,
    Receives,
    Sends,
)
from .._kernel.signatures import DIRFD, FD
from .._kernel.syscalls import EFFECTS, TRACKED, facts
from .._model.fdmodel import FdModel
from .._model.query import arg, has_flag, int_of, is_value, named_arg, scm_rights
from .._model.query import field as struct_field
from .._model.records import Descriptor, Process
from ..argtree import (
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
    More,
    Node,
    Op,
    Raw,
    Resuming,
    SigSet,
    Str,
    Struct,
    format_node,
)
from ..errors import FileError, RunIncomplete, TimedOut
from ..events import Event, Exit, Killed, Syscall

if TYPE_CHECKING:
    from .._tracing.supervisor import RunOutcome

FORMAT_VERSION = 2
FORMAT = f"sysprobe golden trace, format {FORMAT_VERSION}"
_FORMAT_LINE = re.compile(r"^# sysprobe golden trace, format (\d+)")

# ---- the default set: what a golden traces and keeps (one place, to re-derive from the
# kernel's syscall table): every call of the descriptor model, and the calls that decide
# *how* data moves — a sendfile that became a read/write loop is the regression a golden
# must show, so these are kept even though they change no table.
DATA_PATH: Final = frozenset({"sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range"})
GOLDEN_CALLS: Final = TRACKED | DATA_PATH
# strace -e trace= for goldens; "?name": skip calls this architecture does not have
GOLDEN_SYSCALLS = ",".join(f"?{name}" for name in sorted(GOLDEN_CALLS))
DEFAULT_SET_TITLE = "descriptors, processes and data paths (the default)"

ADDRESS_FLOOR = 0x10000  # hex values from here up are addresses, different on every run
STRING_LIMIT = 1024  # strace -s for goldens: paths in argv whole, so that they normalize
STDIO_NAMES = ("stdin", "stdout", "stderr")
# the random part of a temporary name: mkstemp's XXXXXX, tempfile's 8 characters,
# os.CreateTemp's digits — after the last '-' or '.', before a suffix ('_' is one of
# tempfile's random characters)
# a temporary's name: what the program chose, then the random part (Go's CreateTemp may
# draw a number of five digits or fewer: "goserver-80112")
_TEMP_NAME = re.compile(
    r"^(?P<prefix>.*[-.])?(?P<random>[A-Za-z0-9_]{6,}|(?<=[-.])[0-9]+)(?P<suffix>\.[A-Za-z0-9]{1,8})?$"
)

Substitution = tuple["re.Pattern[str] | str", str]


class Normalizer:
    """Maps what differs between runs to what does not. ``mask``: numbers that are given
    in the order of writing (inodes, ports, temporary names) are all written the same,
    for sorting before that order is known."""

    def __init__(
        self,
        replacements: Iterable[tuple[str, str]] = (),
        substitutions: Iterable[Substitution] = (),
        temporaries: Iterable[str] = (),
        *,
        same_file: Mapping[str, str] | None = None,
        mask: bool = False,
    ) -> None:
        pairs = [(old, new) for old, new in replacements if old]
        self.replacements = sorted(pairs, key=lambda p: len(p[0]), reverse=True)
        self.substitutions = [(re.compile(p) if isinstance(p, str) else p, new) for p, new in substitutions]
        # one pass, left to right: numbered as the text names them (mktemp's names are random,
        # no order of their own is stable), the longest where two start at one place, and a
        # name inside a longer one never replaced there
        longest_first = sorted(set(temporaries), key=lambda p: (-len(p), p))
        self._temporaries = re.compile("|".join(map(re.escape, longest_first))) if longest_first else None
        # a relative temporary name: the absolute one -y showed for it (one file, one number)
        self.same_file = dict(same_file or {})
        self.mask = mask
        self.inodes: dict[str, int] = {}
        self.ports: dict[int, int] = {}
        self.temps: dict[str, int] = {}
        self.pids: dict[int, str] = {}
        # per call: the descriptor an fd names (for stdin/stdout/stderr), set by the writer
        self.stdio: Callable[[int], str | None] = lambda fd: None
        self.data_path = False  # the call's sizes and offsets become N

    def text(self, value: str) -> str:
        if self._temporaries is not None:
            value = self._temporaries.sub(lambda m: self._temporary(m.group()), value)
        for old, new in self.replacements:
            value = value.replace(old, new)
        for pattern, new in self.substitutions:
            value = pattern.sub(new, value)
        return value

    def _temporary(self, path: str) -> str:
        head, slash, name = path.rpartition("/")
        label = (
            "$TEMP"
            if self.mask
            else f"$TEMP{self.temps.setdefault(self.same_file.get(path, path), len(self.temps) + 1)}"
        )
        found = _TEMP_NAME.match(name)
        prefix, suffix = (found["prefix"] or "", found["suffix"] or "") if found else ("", "")
        kept = f"{head}{slash}{prefix}"
        if self._temporaries is not None:  # another temporary inside this one: mktemp "$t.XXXXXX"
            kept = self._temporaries.sub(lambda m: self._temporary(m.group()), kept)
        return f"{kept}{label}{suffix}"

    def inode(self, token: str) -> str:
        if self.mask:
            return "?"
        return str(self.inodes.setdefault(token, len(self.inodes) + 1))

    def port(self, number: int) -> str:
        if number < 1024:
            return str(number)  # well-known ports are part of the behaviour
        if self.mask:
            return "PORT?"
        return f"PORT{self.ports.setdefault(number, len(self.ports) + 1)}"

    def decoration(self, info: str) -> str:
        """``pipe:[4893]`` → ``pipe:[1]``; ``TCP:[127.0.0.1:50259->127.0.0.1:39824]`` → ports;
        ``UNIX-STREAM:[8841,"/run/x"]`` → ``UNIX-STREAM:[1,"/run/x"]``."""
        is_path = info.startswith("/")  # a file's name: brackets in it are part of the name
        info = self.text(info)
        if is_path:
            return info
        start, end = info.find("["), info.rfind("]")
        if start < 0 or end < start:
            return info
        # -yy writes a unix socket's path after its inodes: UNIX-STREAM:[8841->8842,"/run/x"]
        ends, quote, path = info[start + 1 : end].partition(',"')
        parts = [self._endpoint(part) for part in ends.split("->")]
        return f"{info[: start + 1]}{'->'.join(parts)}{quote}{path}{info[end:]}"

    def _endpoint(self, text: str) -> str:
        if text.isdigit():
            return self.inode(text)
        host, sep, port = text.rpartition(":")
        return f"{host}:{self.port(int(port))}" if sep and port.isdigit() else text

    def node(self, node: Node) -> Node:
        if isinstance(node, bool):
            return node
        if isinstance(node, int):
            if self.data_path:
                return Const("N")
            return Const("ADDR") if isinstance(node, Hex) and node >= ADDRESS_FLOOR else node
        if isinstance(node, float | Const | Op | More | Comment | Resuming | Raw):
            return node
        if isinstance(node, Str):
            return Str(self.string(node).encode("utf-8", "surrogateescape"), node.truncated)
        if isinstance(node, Fd):
            named = self.stdio(node.fd) if isinstance(node.fd, int) else None
            return Fd(node.fd, named or self.decoration(node.info), node.deleted and named is None)
        if isinstance(node, Field):
            return self._field(node)
        if isinstance(node, Changed):
            if self.data_path:  # an offset moved by however much this call moved
                return self.node(node.after)
            return Changed(self.node(node.before), self.node(node.after))
        if isinstance(node, Call):
            if node.name == "htons" and len(node.args) == 1 and isinstance(node.args[0], int):
                port = node.args[0]
                return Call("htons", (port if port < 1024 else Const(self.port(port)),))
            return Call(node.name, tuple(self.node(n) for n in node.args))
        return self._container(node)

    def _field(self, node: Field) -> Node:
        if node.name in ("si_pid", "parent_tid"):  # pids inside clone3's result and siginfo
            return Field(node.name, self._pid(node.value))
        if node.name == "msg_namelen" and isinstance(node.value, Changed):
            # what the kernel wrote back; the size offered differs between tracers
            return Field(node.name, self.node(node.value.after))
        return Field(node.name, self.node(node.value))

    def _container(self, node: Node) -> Node:
        """An array, struct, flag set or expression: the same kind of node, of its items
        with replacements."""
        if isinstance(node, tuple):
            return tuple(self.node(n) for n in node)
        if isinstance(node, Commented):
            return Commented(self.node(node.value), node.comment)
        if isinstance(node, Flags):
            return Flags(tuple(self.node(n) for n in node.items))
        if isinstance(node, Struct):
            return Struct(tuple(self.node(n) for n in node.items))
        if isinstance(node, SigSet):
            return SigSet(node.items, node.complement)
        if isinstance(node, Expr):
            return Expr(tuple(self.node(n) for n in node.items))
        return node

    def string(self, node: Str) -> str:
        """A string with replacements; a truncated one that is the start of a replaced path
        becomes that path's name (how much strace kept depends on the path's length)."""
        text = node.text
        if node.truncated:
            for old, new in self.replacements:
                if old.startswith(text) or text.startswith(old):
                    return new + text[len(old) :] if text.startswith(old) else new
        return self.text(text)

    def _pid(self, node: Node) -> Node:
        if isinstance(node, tuple):
            return tuple(self._pid(n) for n in node)
        if isinstance(node, int) and node in self.pids:
            return Const(self.pids[node])
        return self.node(node)


def standard_replacements(
    cwd: str | None = None, extra: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    """What differs between machines and is not behaviour: the working directory, home,
    the interpreter running sysprobe and its virtual environment."""
    pairs = list(extra)
    for python in {sys.executable, os.path.realpath(sys.executable)}:
        if python:
            pairs.append((python, "$PYTHON"))
    if sys.prefix != sys.base_prefix:
        pairs.append((sys.prefix, "$VENV"))
    pairs.append((cwd or os.getcwd(), "$CWD"))
    home = os.path.expanduser("~")
    if home not in ("/", "~"):
        pairs.append((home, "$HOME"))
    return pairs


def parse_substitution(text: str) -> tuple[str, str]:
    """``REGEX=REPLACEMENT`` (split at the first ``=``), checked now."""
    pattern, sep, replacement = text.partition("=")
    if not sep or not pattern:
        raise ValueError(f"{text!r}: expected REGEX=REPLACEMENT")
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"{pattern!r} is not a regular expression: {error}") from None
    return pattern, replacement


# ---- reading the trace into sections and stories ----

StoryKey = tuple[object, ...]


@dataclass
class _Line:
    """One call to write: the event, the tables it saw and left."""

    event: Syscall
    before: dict[int, Descriptor]
    after: dict[int, Descriptor]


@dataclass
class _Story:
    """A descriptor's story within one section: the call that made it (None: it came from
    before the section — inherited, or across an exec), then what was done to it."""

    key: StoryKey
    head: _Line | None
    first: Descriptor | None = None  # for a story without a head: the descriptor as first seen
    lines: list[_Line] = field(default_factory=list)
    closed: bool = False
    only_flags: bool = True  # nothing but flag changes and the close since it was made


@dataclass
class _Section:
    """A process between two fixed points: its stories, opened by an exec (or not)."""

    exec_line: _Line | None = None
    stories: dict[StoryKey, _Story] = field(default_factory=dict)
    singles: list[_Line] = field(default_factory=list)  # calls of no descriptor: forks, close_range


def _root(d: Descriptor) -> Descriptor:
    while d.source is not None:
        d = d.source
    return d


def _stdio_root(d: Descriptor) -> int | None:
    """The stdio number a descriptor still is (a copy of), if the command had it at the start."""
    root = _root(d)
    if root.origin.syscall is None and root.origin.pid is None and root.fd in (0, 1, 2):
        return root.fd
    return None


def _key(d: Descriptor) -> StoryKey:
    root = _root(d)
    o = root.origin
    if o.syscall is None:
        return ("had", o.pid, o.line, o.file, root.fd)
    return ("made", o.syscall, o.pid, o.line, o.file)


def _made_by(d: Descriptor, ev: Syscall) -> bool:
    o = _root(d).origin
    return o.syscall == ev.name and o.pid == ev.pid and o.line == ev.line and o.file == ev.file


def _owned(line: _Line, fd: int, key: StoryKey) -> bool:
    d = line.before.get(fd)
    return d is not None and _key(d) == key


def _names_a_descriptor_first(name: str) -> bool:
    """Is the call's first argument a descriptor? (kill(0, ...), umask(3): a number)"""
    row = facts(name)
    return row is not None and bool(row.args) and row.args[0] in (FD, DIRFD)


def _opens_a_path(effect: object, ev: Syscall) -> TypeGuard[Creates]:
    """open, openat, openat2: calls with open flags (creat has none)."""
    return isinstance(effect, Creates) and effect.path_arg is not None and ev.name != "creat"


def _open_flags(ev: Syscall) -> Node | None:
    flags = arg(ev.args, 2 if ev.name.startswith("openat") else 1)
    return struct_field(flags, "flags") if ev.name == "openat2" else flags


def _decorated(node: Node, table: dict[int, Descriptor]) -> Node:
    """dup2's target as strace's -y writes it when it is open (a tracer may leave it bare)."""
    if isinstance(node, int) and not isinstance(node, bool):
        d = table.get(node)
        if d is not None and (d.name or _stdio_root(d) is not None):
            return Fd(node, d.name or "")
    return node


def _fds(node: Node) -> list[int]:
    """Descriptor numbers written with -y decorations anywhere in an argument tree."""
    if isinstance(node, Fd):
        return [node.fd] if isinstance(node.fd, int) else []
    if isinstance(node, tuple):
        return [fd for n in node for fd in _fds(n)]
    if isinstance(node, Field | Commented):
        return _fds(node.value)
    if isinstance(node, Changed):
        return _fds(node.before) + _fds(node.after)
    if isinstance(node, Struct | Flags | Expr):
        return [fd for n in node.items for fd in _fds(n)]
    return []


class _Reader:
    """Sorts a trace's kept calls into processes, sections and stories."""

    def __init__(
        self, events: Sequence[Event], model: FdModel, wanted: set[str] | None, threads: bool
    ) -> None:
        self.model = model
        self.consts = model.consts
        self.wanted = wanted
        self.threads = threads
        self.temporaries: list[str] = []
        self.same_file: dict[str, str] = {}  # a relative temporary name: its absolute form
        self.ambiguous: set[str] = set()  # relative names made in more than one folder
        self.mentioned: set[StoryKey] = set()  # descriptors a line of another story names
        self.crossed = {(r.file, r.line): r.crossed for r in model.execs}
        self.processes = self._process_order()
        self.sections: dict[int | None, list[_Section]] = {p.pid: [_Section()] for p in self.processes}
        self.ends: dict[int | None, Exit | Killed] = {}
        self.tgid: dict[int | None, int | None] = {pid: task.tgid for pid, task in model.tree.tasks.items()}
        for ev in events:
            self._read(ev)

    def _process_order(self) -> list[Process]:
        """Depth first from the command, each process's children in the order they were made."""
        procs = list(self.model.processes.values())
        children: dict[int | None, list[Process]] = {}
        for p in procs:
            children.setdefault(p.parent if p.parent in self.model.processes else None, []).append(p)
        order: list[Process] = []
        seen: set[int] = set()

        def walk(roots: list[Process]) -> None:
            stack = list(reversed(roots))
            while stack:
                p = stack.pop()
                if id(p) not in seen:
                    seen.add(id(p))
                    order.append(p)
                    stack.extend(reversed(children.get(p.pid, [])) if p.pid is not None else [])

        walk(children.get(None, []))
        # a pid reused by a descendant of the process that had it can make a parent cycle that
        # no root reaches: those processes come after the rest, in creation order, never left out
        walk([p for p in procs if id(p) not in seen])
        return order

    def _read(self, ev: Event) -> None:
        tgid = self.tgid.get(ev.pid, ev.pid)
        sections = self.sections.get(tgid)
        if sections is None:
            return
        if isinstance(ev, Exit | Killed):
            if ev.pid == tgid:
                self.ends[tgid] = ev
            return
        if not isinstance(ev, Syscall) or not self._kept(ev):
            return
        clock = self.model.applied_at(ev)
        if clock is None:
            return
        line = _Line(ev, self.model.table_at(ev.pid, clock - 1), self.model.table_at(ev.pid, clock))
        effect = EFFECTS.get(ev.name)
        if isinstance(effect, Execs):
            sections.append(_Section(exec_line=line))
            return
        section = sections[-1]
        if isinstance(effect, Forks):
            section.singles.append(line)
            return
        self._note_temporary(ev, effect)
        made = {
            _key(d): d for fd, d in line.after.items() if line.before.get(fd) is not d and _made_by(d, ev)
        }
        if made:
            key, d = next(iter(made.items()))
            self._begin_story(section, _Story(key, line, d), ev, effect)
        else:
            self._continue_story(section, line, effect)

    def _begin_story(self, section: _Section, story: _Story, ev: Syscall, effect: object) -> None:
        """``ev`` made a descriptor: its story starts."""
        section.stories[story.key] = story
        if not (isinstance(effect, Creates) and effect.kind == "file" and effect.path_arg is not None):
            story.only_flags = False
        if self.wanted is None and not self._opens_existing(ev, effect):
            story.only_flags = False

    def _continue_story(self, section: _Section, line: _Line, effect: object) -> None:
        """A line that made no descriptor: part of the story of the one it acts on, or a
        line of its own."""
        ev = line.event
        story = self._story_of(section, line, effect)
        self._mention(line, story.key if story is not None else None)
        if story is None:
            section.singles.append(line)
            return
        if isinstance(effect, Closes):
            story.closed = True
        elif not (isinstance(effect, Fcntl | Ioctl) and self._flag_change(ev)):
            story.only_flags = False
        story.lines.append(line)

    def _mention(self, line: _Line, own: StoryKey | None) -> None:
        for fd in [fd for a in line.event.args for fd in _fds(a)]:
            d = line.before.get(fd) or line.after.get(fd)
            if d is not None and _key(d) != own:
                self.mentioned.add(_key(d))

    def _story_of(self, section: _Section, line: _Line, effect: object) -> _Story | None:
        ev = line.event
        if isinstance(effect, Sends):  # the story of the descriptor passed, not of the socket
            message = arg(ev.args, effect.message_arg)
            headers = (
                [struct_field(m, "msg_hdr") for m in message]
                if effect.vector and isinstance(message, tuple)
                else [message]
            )
            fds = [fd for h in headers for fd, _ in scm_rights(h, self.consts)]
        elif isinstance(effect, ClosesRange):
            return None
        else:
            fds = [fd for a in ev.args for fd in _fds(a)]
            first = int_of(arg(ev.args, 0))
            if not fds and first is not None and (first in line.before or first in line.after):
                if _names_a_descriptor_first(ev.name):
                    fds = [first]  # without -y decorations
        for fd in fds:
            # not in the table before: a descriptor from before the command, first used here
            d = line.before.get(fd) or line.after.get(fd)
            if d is not None:
                key = _key(d)
                story = section.stories.get(key)
                if story is None:
                    story = section.stories[key] = _Story(key, None, d, only_flags=False)
                return story
        return None

    def _kept(self, ev: Syscall) -> bool:
        if ev.ret_text is None or ev.ret is None:
            return False  # never returned (or ``= ?``): the model did not apply it either
        if ev.errno is not None and not ev.injected:
            return False  # failed, changed nothing
        effect = EFFECTS.get(ev.name)
        if isinstance(effect, Forks):
            return self.threads or not has_flag(self._clone_flags(ev, effect), "CLONE_THREAD", self.consts)
        if self.wanted is not None:
            return True  # the user's set: strace traced only those
        if ev.name in DATA_PATH:
            return True
        if effect is None:
            return False
        if isinstance(effect, Fcntl):
            return any(
                is_value(arg(ev.args, 1), c, self.consts) for c in ("F_SETFD", "F_DUPFD", "F_DUPFD_CLOEXEC")
            )
        if isinstance(effect, Ioctl):
            return any(is_value(arg(ev.args, 1), c, self.consts) for c in ("FIOCLEX", "FIONCLEX"))
        if isinstance(effect, Receives | Sends):
            message = arg(ev.args, effect.message_arg)
            if effect.vector and isinstance(message, tuple):
                return any(scm_rights(struct_field(m, "msg_hdr"), self.consts) for m in message)
            return bool(scm_rights(message, self.consts))
        return True

    def _clone_flags(self, ev: Syscall, effect: Forks) -> Node | None:
        if effect.flags == "arg":
            return named_arg(ev.args, "flags")
        if effect.flags == "struct":
            return struct_field(arg(ev.args, 0), "flags")
        return None

    def _flag_change(self, ev: Syscall) -> bool:
        request = arg(ev.args, 1)
        return any(is_value(request, name, self.consts) for name in ("F_SETFD", "FIOCLEX", "FIONCLEX"))

    def _opens_existing(self, ev: Syscall, effect: object) -> bool:
        """An open that creates nothing (no O_CREAT): reading what is there."""
        return _opens_a_path(effect, ev) and not has_flag(_open_flags(ev), "O_CREAT", self.consts)

    def _note_temporary(self, ev: Syscall, effect: object) -> None:
        """A file made with O_EXCL has a name chosen to be new: a temporary name."""
        if not _opens_a_path(effect, ev) or effect.path_arg is None:
            return
        flags = _open_flags(ev)
        if has_flag(flags, "O_CREAT", self.consts) and has_flag(flags, "O_EXCL", self.consts):
            path = arg(ev.args, effect.path_arg)
            text = path.text if isinstance(path, Str) and not path.truncated else None
            if text is not None and text.rpartition("/")[2]:
                self.temporaries.append(text)
            if ev.ret_fd is not None and ev.ret_fd.info.startswith("/"):
                self.temporaries.append(ev.ret_fd.info)  # -y's absolute form of a relative path
                if text is not None and not text.startswith("/"):
                    # one relative name made in two folders: two files, numbered apart
                    known = self.same_file.setdefault(text, ev.ret_fd.info)
                    if known != ev.ret_fd.info:
                        self.ambiguous.add(text)

    def one_file(self) -> dict[str, str]:
        """Relative temporary names that name one file: their absolute forms."""
        return {name: path for name, path in self.same_file.items() if name not in self.ambiguous}

    def transient(self) -> set[int]:
        """id() of stories to leave out: files opened and closed, nothing else, named nowhere else."""
        mentions: dict[StoryKey, int] = {}
        for sections in self.sections.values():
            for section in sections:
                for story in section.stories.values():
                    mentions[story.key] = mentions.get(story.key, 0) + 1
        return {
            id(story)
            for sections in self.sections.values()
            for section in sections
            for story in section.stories.values()
            if story.head is not None
            and story.closed
            and story.only_flags
            and mentions[story.key] == 1
            and story.key not in self.mentioned
        }


# ---- writing ----


class _Writer:
    def __init__(self, reader: _Reader, normalizer: Normalizer) -> None:
        self.reader = reader
        self.n = normalizer
        self.labels: dict[int | None, str] = {
            p.pid: f"process {i + 1}" for i, p in enumerate(reader.processes)
        }
        pids: dict[int, str] = {}
        for pid, tgid in reader.tgid.items():
            if pid is not None and tgid in self.labels:
                pids[pid] = self.labels[tgid] if pid == tgid else f"thread of {self.labels[tgid]}"
        normalizer.pids = pids

    def call(self, line: _Line, indent: str) -> str:
        ev, n = line.event, self.n

        def stdio_in(table: dict[int, Descriptor]) -> Callable[[int], str | None]:
            def name(fd: int) -> str | None:
                d = table.get(fd)
                number = _stdio_root(d) if d is not None else None
                return STDIO_NAMES[number] if number is not None else None

            return name

        n.stdio = stdio_in({**line.after, **line.before})
        n.data_path = ev.name in DATA_PATH
        args = list(ev.args)
        effect = EFFECTS.get(ev.name)
        if isinstance(effect, Execs) and len(args) > effect.path_arg + 2:
            args[effect.path_arg + 2] = Const("<env>")  # the environment is never written
        if isinstance(effect, Duplicates) and effect.new_arg is not None and effect.new_arg < len(args):
            args[effect.new_arg] = _decorated(args[effect.new_arg], line.before)
        text = ", ".join(format_node(n.node(a)) for a in args)
        n.stdio = stdio_in(line.after)
        if isinstance(effect, Forks) and ev.ret is not None and ev.ret in n.pids:
            result = f"<{n.pids[ev.ret]}>"
        elif ev.ret_fd is not None:
            result = format_node(n.node(ev.ret_fd))
        elif n.data_path and ev.errno is None:
            result = "N"
        elif (
            ev.ret_text is not None
            and ev.ret_text.startswith("0x")
            and ev.ret is not None
            and ev.ret >= ADDRESS_FLOOR
        ):
            result = "ADDR"
        else:
            result = ev.ret_text or "?"
        n.stdio, n.data_path = (lambda fd: None), False
        if ev.errno is not None:
            result += f" {ev.errno}"
        if ev.injected:
            result += " (INJECTED)"
        return f"{indent}{ev.name}({text}) = {result}"

    def story(self, story: _Story) -> list[str]:
        if story.head is not None:
            out = [self.call(story.head, "  ")]
        else:
            d = story.first
            assert d is not None
            number = _stdio_root(d)
            what = (
                STDIO_NAMES[number]
                if number is not None
                else (printable(self.n.decoration(d.name)) if d.name else d.kind)
            )
            fds = sorted(
                {
                    fd
                    for line in story.lines
                    for a in line.event.args
                    for fd in _fds(a)
                    if _owned(line, fd, story.key)
                }
                | {d.fd}
            )
            out = [f"  fd{'s' if len(fds) > 1 else ''} {', '.join(map(str, fds))} ({what}), from before:"]
        seen: set[str] = set()
        for line in story.lines:
            text = self.call(line, "    ")
            if line.event.name in DATA_PATH or EFFECTS.get(line.event.name) is None:
                if text in seen:
                    continue  # a run of the same call: written once
                seen.add(text)
            out.append(text)
        return out

    def crossed(self, line: _Line) -> str:
        made = self.reader.crossed.get((line.event.file, line.event.line), [])
        if not made:
            return "  # crossed the exec: no descriptor above 2"
        names = ", ".join(
            f"fd {d.fd}" + (f" ({printable(self.n.decoration(d.name))})" if d.name else f" ({d.kind})")
            for d in made
        )
        return f"  # crossed the exec without close-on-exec: {names}"

    def heading(self, number: int, proc: Process) -> str:
        if proc.created_by is None:
            if proc.parent is not None and proc.parent in self.labels:
                maker = self.labels[proc.parent]
                return f"process {number}: made by {maker} (its clone's result is not in the trace)"
            return (
                f"process {number}: the command"
                if number == 1
                else f"process {number}: made outside the trace"
            )
        maker = self.labels.get(proc.parent, "?")
        return f"process {number}: made by {maker} ({proc.created_by.syscall})"

    def end(self, ev: Exit | Killed) -> str:
        if isinstance(ev, Exit):
            return f"  +++ exited with {ev.code} +++"
        return f"  +++ killed by {ev.signal}{' (core dumped)' if ev.core_dumped else ''} +++"


def render(
    events: Sequence[Event],
    model: FdModel,
    *,
    command: str,
    replacements: Iterable[tuple[str, str]] = (),
    substitutions: Iterable[Substitution] = (),
    syscalls: str | None = None,
    threads: bool = False,
    header: Sequence[str] = (),
) -> str:
    """The golden text for a trace's events, read with ``model``: the model those events
    were fed to, with its history (the tables each call saw and left, what crossed each
    exec, the process tree). ``syscalls``: the user's ``-e trace=`` set, if they named one;
    ``threads``: also write the calls that made threads."""
    wanted = {s.lstrip("?!") for s in syscalls.removeprefix("trace=").split(",") if s} if syscalls else None
    reader = _Reader(events, model, wanted, threads)
    pairs = list(replacements)
    subs = list(substitutions)
    transient = reader.transient() if wanted is None else set()
    normalizer = Normalizer(pairs, subs, reader.temporaries, same_file=reader.one_file())
    writer = _Writer(reader, normalizer)
    shown = syscalls if wanted is not None else DEFAULT_SET_TITLE
    out = [
        f"# {FORMAT}",
        *(f"# {line}" for line in header),
        f"# command: {printable(normalizer.text(command))}",
        f"# syscalls: {shown}",
        "",
    ]
    masked = _Writer(
        reader, Normalizer(pairs, subs, reader.temporaries, same_file=reader.one_file(), mask=True)
    )
    for number, proc in enumerate(reader.processes, 1):
        out.append(writer.heading(number, proc))
        for section in reader.sections[proc.pid]:
            if section.exec_line is not None:
                out.append(writer.call(section.exec_line, "  "))
                out.append(writer.crossed(section.exec_line))
            entries: list[tuple[tuple[int, int, str], _Story | _Line]] = []
            for story in section.stories.values():
                if id(story) in transient:
                    continue
                key = "\n".join(masked.story(story))
                first = story.first.fd if story.head is None and story.first is not None else 0
                entries.append(((0 if story.head is None else 1, first, key), story))
            for line in section.singles:
                entries.append(((1, 0, masked.call(line, "  ")), line))
            entries.sort(key=lambda entry: entry[0])
            for _, entry in entries:
                if isinstance(entry, _Story):
                    out.extend(writer.story(entry))
                else:
                    out.append(writer.call(entry, "  "))
        end = reader.ends.get(proc.pid)
        if end is not None:
            out.append(writer.end(end))
        out.append("")
    return "\n".join(out)


# ---- files ----


def body(text: str) -> list[str]:
    """The lines that are compared: all but the ``#`` header (versions may differ)."""
    return [line for line in text.splitlines() if not line.startswith("# ")]


def format_of(text: str) -> int | None:
    """The format a golden was written in (None: not a golden sysprobe wrote)."""
    found = _FORMAT_LINE.match(text)
    return int(found.group(1)) if found else None


def diff(path: str | os.PathLike[str], expected: str, actual: str) -> str:
    """A unified diff of two golden texts (empty when their bodies are equal)."""
    if body(expected) == body(actual):
        return ""
    name = printable(str(path))
    lines = difflib.unified_diff(
        expected.splitlines(),
        actual.splitlines(),
        fromfile=f"{name} (golden)",
        tofile=f"{name} (this run)",
        lineterm="",
    )
    return "\n".join(printable(line) for line in lines)  # a golden edited by hand may hold anything


def check_path(path: str | os.PathLike[str], *, update: bool) -> None:
    """Refuse, before a run, a golden path that cannot be read or written: a directory, a
    FIFO, a device, a link to nothing; with ``update``, a folder that cannot be written."""
    try:
        regular_target(path)
    except OSError as error:
        raise _file_error(path, error, "use") from None
    if update:
        folder = Path(path).absolute().parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent  # the directories to be made are made in the first that exists
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise FileError(
                f"cannot write golden trace {printable(str(path))}: {folder} is not a writable directory"
            )


def read(path: str | os.PathLike[str], *, update: bool = False) -> str | None:
    """A golden's text (None: there is none yet); ``FileError`` where it cannot be read
    (or, before an ``update``, replaced)."""
    try:
        return read_text(path)
    except OSError as error:
        raise _file_error(path, error, "write" if update else "read") from None


def write(path: str | os.PathLike[str], text: str) -> None:
    """Write a golden whole or not at all (``_files.write_atomically``): ``FileError`` where
    it cannot be, ``RunIncomplete`` where a signal interrupted the write (nothing written)."""
    try:
        write_atomically(path, text)
    except Interrupted:
        raise RunIncomplete(
            f"interrupted while writing golden trace {printable(str(path))}: it was not written"
        ) from None
    except OSError as error:
        raise _file_error(path, error, "write") from None


def _file_error(path: str | os.PathLike[str], error: OSError, verb: str) -> FileError:
    name = printable(str(path))
    if isinstance(error, NotARegularFile):
        return FileError(f"cannot {verb} golden trace {name}: it {error.strerror}")
    why = error.strerror or str(error)
    where = f" ({printable(error.filename)})" if error.filename and str(error.filename) != str(path) else ""
    return FileError(f"cannot {verb} golden trace {name}: {why}{where}")


@dataclass
class GoldenResult:
    path: Path
    status: str  # "equal", "different", "missing", "old-format", "created", "updated", "unchanged"
    diff: str = ""
    update_flag: str = "--update"  # the option that accepts this run's trace, where it was compared
    old_format: int | None = None
    artifacts: list[tuple[str, Path]] = field(default_factory=list)  # (what, where), kept on failure

    @property
    def ok(self) -> bool:
        return self.status not in ("different", "missing", "old-format")

    def summary(self) -> str:
        """One line: what happened (the first line of a failure, as ``pytest -ra`` shows it)."""
        flag, path = self.update_flag, printable(str(self.path))
        if self.status == "missing":
            return f"golden trace {path} does not exist: run with {flag} to create it"
        if self.status == "old-format":
            return (
                f"golden trace {path} was written by format {self.old_format}: "
                f"re-run with {flag} to write format {FORMAT_VERSION}"
            )
        if self.status == "different":
            changed = sum(
                1
                for line in self.diff.splitlines()[2:]
                if line[:1] in "+-" and line[1:3] != "# "  # the header is not compared
            )
            lines = "1 line" if changed == 1 else f"{changed} lines"
            return f"golden trace {path} differs from this run: {lines} changed ({flag} accepts it)"
        return f"golden trace {path}: {self.status}"

    def message(self) -> str:
        lines = [self.summary()]
        lines += [f"  {what}: {printable(str(where))}" for what, where in self.artifacts]
        if self.status == "different":
            lines.append(self.diff)
        return "\n".join(lines)


def compare_or_update(
    path: str | os.PathLike[str],
    text: str,
    *,
    update: bool,
    update_flag: str = "--update",
    outcome: RunOutcome | None = None,
) -> GoldenResult:
    """Compare ``text`` with the golden at ``path``, or write it there (``update``). The
    trace of a run that was cut short (``outcome.incomplete``) is not a golden: it is
    neither written nor compared (``RunIncomplete``, ``TimedOut``)."""
    target = Path(path)
    if outcome is not None and outcome.incomplete is not None:
        done = "written" if update else "compared"
        raise (TimedOut if outcome.timed_out else RunIncomplete)(
            f"{outcome.incomplete}; golden trace {printable(str(target))} not {done}: "
            "the trace of an incomplete run is not a golden"
        )
    old = read(target, update=update)
    if update:
        if old == text:
            return GoldenResult(target, "unchanged", update_flag=update_flag)
        write(target, text)
        return GoldenResult(target, "created" if old is None else "updated", update_flag=update_flag)
    if old is None:
        return GoldenResult(target, "missing", update_flag=update_flag)
    version = format_of(old)
    if version is not None and version != FORMAT_VERSION:
        return GoldenResult(target, "old-format", update_flag=update_flag, old_format=version)
    changes = diff(target, old, text)
    return GoldenResult(target, "different" if changes else "equal", changes, update_flag=update_flag)
