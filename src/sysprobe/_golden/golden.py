"""Golden trace files: a normalized, reviewable record of what a program did to its
descriptors and processes, stable across runs and machines.

What goes in (the descriptor and process calls of ``_fdspec``), what is left out:
- calls that change nothing: fcntl/ioctl queries, recvmsg/sendmsg without SCM_RIGHTS,
  close of a descriptor that was not open (EBADF);
- failed file opens, and execve failing with ENOENT: the loader's, interpreters' and
  PATH searches, which differ between machines;
- transient files: a regular file opened and closed by one process with no fork, clone or
  exec while it was open and nothing done to its descriptor — the loader's libraries, an
  interpreter's modules, locale data.

How it is normalized: each task (process or thread) gets a number by a depth-first walk
of the creation tree (children in the order their parent made them), and its events stay
in its own order, so scheduling does not change the file; pids become task numbers;
addresses become ``ADDR``; pipe and socket inodes and ports are renumbered in order of
appearance; given prefixes (the temporary directory, the working directory) are replaced;
the environment is never written, only ``<env>``.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._kernel.constants import constants, host_arch
from .._kernel.effects import EFFECTS, TRACKED, Closes, Creates, Execs, Fcntl, Forks, Ioctl, Receives, Sends
from .._model.fdmodel import Descriptor, FdModel
from .._model.query import arg, int_of, is_value, scm_rights
from .._model.query import field as struct_field
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
from ..events import Event, Exit, Killed, Superseded, Syscall

FORMAT = "sysprobe golden trace, format 1"
# strace -e trace= for goldens; "?name": skip calls this architecture does not have
GOLDEN_SYSCALLS = ",".join(f"?{name}" for name in sorted(TRACKED))
ADDRESS_FLOOR = 0x10000  # hex values from here up are addresses, different on every run
STRING_LIMIT = 1024  # strace -s for goldens: paths in argv whole, so that they normalize


@dataclass
class _Task:
    pid: int | None
    made_by: int | None = None
    how: str = ""  # the call that made it; "" for the command itself
    thread: bool = False
    events: list[Event] = field(default_factory=list)
    children: list[int] = field(default_factory=list)


class Normalizer:
    """Maps what differs between runs to what does not."""

    def __init__(self, replacements: Iterable[tuple[str, str]] = ()) -> None:
        pairs = [(old, new) for old, new in replacements if old]
        self.replacements = sorted(pairs, key=lambda p: len(p[0]), reverse=True)
        self.labels: dict[int, str] = {}
        self.inodes: dict[str, int] = {}
        self.ports: dict[int, int] = {}

    def text(self, value: str) -> str:
        for old, new in self.replacements:
            value = value.replace(old, new)
        return value

    def inode(self, token: str) -> str:
        number = self.inodes.setdefault(token, len(self.inodes) + 1)
        return str(number)

    def port(self, number: int) -> int:
        if number < 1024:
            return number  # well-known ports are part of the behaviour
        return self.ports.setdefault(number, len(self.ports) + 1)

    def decoration(self, info: str) -> str:
        """``pipe:[4893]`` → ``pipe:[1]``; ``TCP:[127.0.0.1:50259->127.0.0.1:39824]`` → ports."""
        info = self.text(info)
        start, end = info.find("["), info.rfind("]")
        if start < 0 or end < start:
            return info
        parts = [self._endpoint(part) for part in info[start + 1 : end].split("->")]
        return f"{info[: start + 1]}{'->'.join(parts)}{info[end:]}"

    def _endpoint(self, text: str) -> str:
        if text.isdigit():
            return self.inode(text)  # an inode number
        host, sep, port = text.rpartition(":")
        return f"{host}:PORT{self.port(int(port))}" if sep and port.isdigit() else text

    def node(self, node: Node, pids: dict[int, str]) -> Node:
        if isinstance(node, Hex):
            return Const("ADDR") if node >= ADDRESS_FLOOR else node
        if isinstance(node, bool | int | float | Const | Op | More | Comment | Resuming | Raw):
            return node
        if isinstance(node, Str):
            return Str(self.string(node).encode("utf-8", "surrogateescape"), node.truncated)
        if isinstance(node, Fd):
            return Fd(node.fd, self.decoration(node.info), node.deleted)
        if isinstance(node, tuple):
            return tuple(self.node(n, pids) for n in node)
        if isinstance(node, Field):
            if node.name in ("si_pid", "parent_tid"):  # pids inside clone3's result and siginfo
                return Field(node.name, self._pid(node.value, pids))
            return Field(node.name, self.node(node.value, pids))
        if isinstance(node, Commented):
            return Commented(self.node(node.value, pids), node.comment)
        if isinstance(node, Changed):
            return Changed(self.node(node.before, pids), self.node(node.after, pids))
        if isinstance(node, Flags):
            return Flags(tuple(self.node(n, pids) for n in node.items))
        if isinstance(node, Struct):
            return Struct(tuple(self.node(n, pids) for n in node.items))
        if isinstance(node, SigSet):
            return SigSet(node.items, node.complement)
        if isinstance(node, Expr):
            return Expr(tuple(self.node(n, pids) for n in node.items))
        if isinstance(node, Call):
            if node.name == "htons" and len(node.args) == 1 and isinstance(node.args[0], int):
                port = node.args[0]
                return Call("htons", (port if port < 1024 else Const(f"PORT{self.port(port)}"),))
            return Call(node.name, tuple(self.node(n, pids) for n in node.args))
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

    def _pid(self, node: Node, pids: dict[int, str]) -> Node:
        if isinstance(node, tuple):
            return tuple(self._pid(n, pids) for n in node)
        return Const(pids[node]) if isinstance(node, int) and node in pids else self.node(node, pids)


def standard_replacements(
    cwd: str | None = None, extra: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    """What differs between machines and is not behaviour: the working directory, home."""
    pairs = list(extra)
    pairs.append((cwd or os.getcwd(), "$CWD"))
    home = os.path.expanduser("~")
    if home not in ("/", "~"):
        pairs.append((home, "$HOME"))
    return pairs


class _Selection:
    """Decides which events a golden keeps (see the module's docstring)."""

    def __init__(self, events: list[Event], consts: dict[str, int], syscalls: set[str] | None) -> None:
        self.consts = consts
        self.syscalls = syscalls
        self.transient: set[int] = set()  # id() of the open and close of transient files
        self._find_transient(events)

    def keep(self, ev: Event) -> bool:
        if isinstance(ev, Exit | Killed | Superseded):
            return True
        if not isinstance(ev, Syscall) or id(ev) in self.transient:
            return False
        if self.syscalls is not None:
            return ev.name in self.syscalls
        return self._meaningful(ev)

    def _meaningful(self, ev: Syscall) -> bool:
        """Does the call change descriptors or processes (or is it a failure that matters)?"""
        effect = EFFECTS.get(ev.name)
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
        if isinstance(effect, Closes):
            return ev.errno != "EBADF"
        if isinstance(effect, Creates) and effect.kind == "file" and ev.errno is not None:
            return False  # a search path: the loader's, an interpreter's
        return not (isinstance(effect, Execs) and ev.errno == "ENOENT")  # PATH search

    def _find_transient(self, events: list[Event]) -> None:
        """A file opened and closed by one task with no fork, clone or exec while it was open,
        and never duplicated or passed on: its open, close and flag changes are not behaviour
        a golden should pin (the loader's libraries, an interpreter's modules)."""
        candidates: dict[tuple[int | None, int], list[Syscall]] = {}  # (pid, fd) → its calls so far
        for ev in events:
            if not isinstance(ev, Syscall) or ev.ret is None or ev.ret < 0:
                continue
            effect = EFFECTS.get(ev.name)
            if isinstance(effect, Creates) and effect.kind == "file" and effect.path_arg is not None:
                candidates[(ev.pid, ev.ret)] = [ev]
            elif isinstance(effect, Forks | Execs):
                candidates = {key: calls for key, calls in candidates.items() if key[0] != ev.pid}
            elif self._meaningful(ev):
                fd = int_of(arg(ev.args, 0))
                key = (ev.pid, -1 if fd is None else fd)
                if key not in candidates:
                    continue
                if isinstance(effect, Closes):
                    self.transient.update(id(call) for call in [*candidates.pop(key), ev])
                elif isinstance(effect, Fcntl | Ioctl) and self._flag_change(ev):
                    candidates[key].append(ev)  # a flag nobody will see: part of the file's private life
                else:
                    del candidates[key]  # duplicated, passed on, ...: it matters

    def _flag_change(self, ev: Syscall) -> bool:
        request = arg(ev.args, 1)
        return any(is_value(request, name, self.consts) for name in ("F_SETFD", "FIOCLEX", "FIONCLEX"))


def render(
    events: Sequence[Event],
    *,
    command: str,
    replacements: Iterable[tuple[str, str]] = (),
    syscalls: str | None = None,
    arch: str | None = None,
    header: Sequence[str] = (),
) -> str:
    """The golden text for a trace's events."""
    events = list(events)
    wanted = {s.lstrip("?!") for s in syscalls.removeprefix("trace=").split(",") if s} if syscalls else None
    selection = _Selection(events, constants(arch or host_arch()), wanted)
    tasks, order = _task_tree(events)

    # In stream order, with the model: what was inherited stdio at each call, and what
    # crossed each exec. Then everything is written in task order, so that numbering
    # (tasks, inodes, ports) does not depend on how the processes were scheduled.
    # The model applies a child's events only once its parent's clone returns (a vfork
    # child's execve always comes first): both are read as the model applies each event.
    model = FdModel(arch)
    kept: dict[int, frozenset[int]] = {}
    crossed: dict[tuple[str | None, int], list[Descriptor]] = {}

    def applied(ev: Event, table: dict[int, Descriptor]) -> None:
        if selection.keep(ev):
            kept[id(ev)] = frozenset(
                fd for fd in (0, 1, 2) if fd in table and table[fd].origin.syscall is None
            )

    model.on_apply.append(applied)
    model.on_exec.append(lambda record: crossed.__setitem__((record.file, record.line), record.crossed))
    for ev in events:
        model.feed(ev)
    model.finish()

    labels: dict[int | None, str] = {pid: f"task {i + 1}" for i, pid in enumerate(order)}
    normalizer = Normalizer(replacements)
    shown = syscalls if wanted is not None else "descriptors and processes (the default)"
    out = [
        f"# {FORMAT}",
        *(f"# {line}" for line in header),
        f"# command: {normalizer.text(command)}",
        f"# syscalls: {shown}",
        "",
    ]
    for i, pid in enumerate(order):
        task = tasks[pid]
        task.thread = model.tgid_of(pid) not in (pid, None)
        out.append(_heading(i + 1, task, labels))
        for ev in task.events:
            if id(ev) in kept:
                out.append("  " + _line(ev, normalizer, labels, kept[id(ev)]))
                if isinstance(ev, Syscall) and (ev.file, ev.line) in crossed:
                    out.append("  " + _crossed(crossed[(ev.file, ev.line)], normalizer))
        out.append("")
    return "\n".join(out)


def _heading(number: int, task: _Task, labels: dict[int | None, str]) -> str:
    if not task.how:
        return f"task {number}: the command" if number == 1 else f"task {number}: made outside the trace"
    kind = "thread" if task.thread else "process"
    return f"task {number}: {kind} made by {labels.get(task.made_by, '?')} ({task.how})"


def _task_tree(events: list[Event]) -> tuple[dict[int | None, _Task], list[int | None]]:
    tasks: dict[int | None, _Task] = {}
    first_seen: list[int | None] = []
    for ev in events:
        if ev.pid not in tasks:
            tasks[ev.pid] = _Task(ev.pid)
            first_seen.append(ev.pid)
        tasks[ev.pid].events.append(ev)
        if (
            isinstance(ev, Syscall)
            and ev.ret is not None
            and ev.ret > 0
            and isinstance(EFFECTS.get(ev.name), Forks)
        ):
            if ev.ret not in tasks:
                tasks[ev.ret] = _Task(ev.ret)
                first_seen.append(ev.ret)
            child = tasks[ev.ret]
            child.made_by, child.how = ev.pid, ev.name
            tasks[ev.pid].children.append(ev.ret)
    order: list[int | None] = []

    def walk(pid: int | None) -> None:
        order.append(pid)
        for child in tasks[pid].children:
            if child not in order:
                walk(child)

    for pid in first_seen:  # roots: the command, and tasks whose creation was not traced
        if pid not in order and tasks[pid].how == "":
            walk(pid)
    order += [pid for pid in first_seen if pid not in order]
    return tasks, order


def _line(ev: Event, normalizer: Normalizer, labels: dict[int | None, str], stdio: frozenset[int]) -> str:
    if isinstance(ev, Exit):
        return f"+++ exited with {ev.code} +++"
    if isinstance(ev, Killed):
        return f"+++ killed by {ev.signal}{' (core dumped)' if ev.core_dumped else ''} +++"
    if isinstance(ev, Superseded):
        # a thread whose creation strace did not show (its clone's result lost to the exec)
        by = labels.get(ev.by, "a thread of this process")
        return f"+++ superseded by execve in {by} +++"
    assert isinstance(ev, Syscall)
    pids = {pid: f"<{label}>" for pid, label in labels.items() if pid is not None}
    args = [_stdio(a, stdio) for a in ev.args]
    effect = EFFECTS.get(ev.name)
    if isinstance(effect, Execs) and len(args) > effect.path_arg + 2:
        args[effect.path_arg + 2] = Const("<env>")  # the environment is never written
    text = ", ".join(format_node(normalizer.node(a, pids)) for a in args)
    if ev.ret_text is None:
        return f"{ev.name}({text}) <unfinished>"
    if isinstance(effect, Forks) and ev.ret is not None and ev.ret in pids:
        result = pids[ev.ret]
    elif ev.ret_fd is not None:
        result = format_node(normalizer.node(ev.ret_fd, pids))
    elif ev.ret_text.startswith("0x") and ev.ret is not None and ev.ret >= ADDRESS_FLOOR:
        result = "ADDR"
    else:
        result = ev.ret_text
    if ev.errno is not None:
        result += f" {ev.errno}"
    if ev.injected:
        result += " (INJECTED)"
    return f"{ev.name}({text}) = {result}"


_STDIO_NAMES = ("stdin", "stdout", "stderr")


def _stdio(node: Node, inherited: frozenset[int]) -> Node:
    """The -y text of a still-inherited fd 0/1/2 is the caller's terminal or file: name it."""
    if isinstance(node, Fd) and isinstance(node.fd, int) and node.fd in inherited:
        return Fd(node.fd, _STDIO_NAMES[node.fd])
    if isinstance(node, tuple):
        return tuple(_stdio(n, inherited) for n in node)
    return node


def _crossed(descriptors: list[Descriptor], normalizer: Normalizer) -> str:
    if not descriptors:
        return "# crossed the exec: no descriptor above 2"
    names = ", ".join(
        f"fd {d.fd}" + (f" ({normalizer.decoration(d.name)})" if d.name else f" ({d.kind})")
        for d in descriptors
    )
    return f"# crossed the exec without close-on-exec: {names}"


# ---- files ----


def body(text: str) -> list[str]:
    """The lines that are compared: all but the ``#`` header (versions may differ)."""
    return [line for line in text.splitlines() if not line.startswith("# ")]


def diff(path: str | os.PathLike[str], expected: str, actual: str) -> str:
    """A unified diff of two golden texts (empty when their bodies are equal)."""
    if body(expected) == body(actual):
        return ""
    lines = difflib.unified_diff(
        expected.splitlines(),
        actual.splitlines(),
        fromfile=f"{path} (golden)",
        tofile=f"{path} (this run)",
        lineterm="",
    )
    return "\n".join(lines)


def write_atomically(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` so that an interruption leaves the old file whole."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class GoldenResult:
    path: Path
    status: str  # "equal", "different", "missing", "created", "updated", "unchanged"
    diff: str = ""

    @property
    def ok(self) -> bool:
        return self.status not in ("different", "missing")

    def message(self) -> str:
        if self.status == "missing":
            return f"golden trace {self.path} does not exist; run with --update to create it"
        if self.status == "different":
            return f"the trace differs from the golden {self.path} (--update accepts it):\n{self.diff}"
        return f"golden trace {self.path}: {self.status}"


def compare_or_update(path: str | os.PathLike[str], text: str, *, update: bool) -> GoldenResult:
    target = Path(path)
    old = target.read_text(encoding="utf-8", errors="surrogateescape") if target.exists() else None
    if update:
        if old == text:
            return GoldenResult(target, "unchanged")
        write_atomically(target, text)
        return GoldenResult(target, "created" if old is None else "updated")
    if old is None:
        return GoldenResult(target, "missing")
    changes = diff(target, old, text)
    return GoldenResult(target, "different" if changes else "equal", changes)
