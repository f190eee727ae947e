"""Where strace text comes from: files, per-pid ``-ff`` sets, pipes.

Text is read in large binary chunks and split at newlines before decoding, so a UTF-8
sequence is never cut and memory stays bounded by the chunk size, whatever the log size.
Bytes that are not UTF-8 survive through ``surrogateescape``. Windows line ends (a log that
went through an editor or a CI artefact store) are read as plain newlines, and a gzip'd
log (``.gz`` or not: the first bytes tell) is read as its text.

A log that cannot be read is an error (``BadLog``), never an empty trace: a file that
cannot be opened, an empty one, compressed data that ends early, and one with no line of
strace output in it (random bytes, a program's output alone).
"""

from __future__ import annotations

import heapq
import itertools
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Final

from ..errors import BadLog
from ..events import Event, Text, Unparsed

# a pipe's default capacity with 4 KiB pages: a FIFO read returns no more; for a file, 1 MiB chunks
# (each copied and decoded whole) cost 60 % more to read and split than these
CHUNK = 1 << 16
# per-pid files merged at once beyond this many are read by reopening them, a chunk at a
# time, so that a set of any size stays within the open-file limit
OPEN_AT_ONCE: Final = 64
SMALL_CHUNK: Final = 1 << 16
_GZIP_MAGIC: Final = b"\x1f\x8b"
_PER_PID_NAME = re.compile(r"^(?P<prefix>.+)\.(?P<pid>\d+)$")


def split_chunks(chunks: Iterable[bytes]) -> Iterator[str]:
    """Bytes in arbitrary pieces → text lines without their newline (``\\r\\n`` too).

    A last line without a newline (strace killed mid-write) is still yielded.
    """
    carry: list[bytes] = []  # the pieces of a line not ended yet (joined once: a long line spans many chunks)
    for data in chunks:
        if not data:
            continue
        cut = data.rfind(b"\n")
        if cut < 0:
            carry.append(data)
            continue
        if carry:
            carry.append(data[:cut])
            block = b"".join(carry)
        else:
            block = data[:cut]
        rest = data[cut + 1 :]
        carry = [rest] if rest else []
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n")
            if block.endswith(b"\r"):
                block = block[:-1]
        yield from block.decode("utf-8", "surrogateescape").split("\n")
    if carry:
        yield b"".join(carry).decode("utf-8", "surrogateescape")


def read_chunks(stream: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    while True:
        data = stream.read(size)
        if not data:
            return
        yield data


def uncompressed(chunks: Iterable[bytes], name: str) -> Iterator[bytes]:
    """The chunks as they are, or gunzipped when they start as gzip data does."""
    it = iter(chunks)
    first = next(it, b"")
    if not first.startswith(_GZIP_MAGIC):
        if first:
            yield first
        yield from it
        return
    inflate = zlib.decompressobj(wbits=31)
    try:
        for data in itertools.chain([first], it):
            while data:
                yield inflate.decompress(data)
                data = inflate.unused_data if inflate.eof else b""
                if data:  # another gzip member follows (concatenated .gz files)
                    inflate = zlib.decompressobj(wbits=31)
        yield inflate.flush()
    except zlib.error as error:
        raise BadLog(f"{name}: bad gzip data ({error})") from None
    if not inflate.eof:
        raise BadLog(f"{name}: the gzip data ends early (a partial download or copy?)")


def _file_chunks(path: str | os.PathLike[str], size: int = CHUNK) -> Iterator[bytes]:
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed below, after the last chunk
    except OSError as error:
        raise BadLog(f"{os.fspath(path)}: cannot read the log ({error.strerror or error})") from None
    with stream:
        try:
            yield from read_chunks(stream, size)
        except OSError as error:
            raise BadLog(f"{os.fspath(path)}: cannot read the log ({error.strerror or error})") from None


def _reopened_chunks(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """The file's chunks, holding no descriptor between two: for merging many files."""
    offset = 0
    while True:
        try:
            with open(path, "rb") as stream:
                stream.seek(offset)
                data = stream.read(SMALL_CHUNK)
        except OSError as error:
            raise BadLog(f"{os.fspath(path)}: cannot read the log ({error.strerror or error})") from None
        if not data:
            return
        offset += len(data)
        yield data


def lines_of(path: str | os.PathLike[str], *, hold_open: bool = True) -> Iterator[str]:
    """The text lines of a log file (gzip'd or not). ``hold_open=False``: keep no file
    open between two chunks (except a gzip'd one, whose decompression holds state)."""
    name = os.fspath(path)
    chunks = _file_chunks(path) if hold_open or _is_gzip(path) else _reopened_chunks(path)
    return split_chunks(uncompressed(chunks, name))


def _is_gzip(path: str | os.PathLike[str]) -> bool:
    try:
        with open(path, "rb") as stream:
            return stream.read(2) == _GZIP_MAGIC
    except OSError:
        return False


def stdin_lines() -> Iterator[str]:
    return split_chunks(uncompressed(read_chunks(os.fdopen(0, "rb", closefd=False)), "standard input"))


def pid_from_name(path: str | os.PathLike[str]) -> int | None:
    """``trace.1234`` → 1234: how ``strace -ff -o trace`` names its per-pid files."""
    m = _PER_PID_NAME.match(file_name(path))
    return int(m.group("pid")) if m else None


def file_name(path: str | os.PathLike[str]) -> str:
    """The last part of ``path`` (``Path(path).name`` without importing pathlib)."""
    return os.path.basename(os.path.normpath(os.fspath(path)))


def parse_file(
    path: str | os.PathLike[str], *, label: str | None = None, hold_open: bool = True
) -> Iterator[Event]:
    """Events of one log file. Unprefixed lines of ``NAME.PID`` take PID (``-ff``)."""
    from .lineparse import parse_lines  # see parse_paths

    name = label if label is not None else str(path)
    events = parse_lines(lines_of(path, hold_open=hold_open), pid=pid_from_name(path), file=name)
    return readable(events, os.fspath(path))


def readable(events: Iterator[Event], name: str) -> Iterator[Event]:
    """``events`` as they come; at their end, ``BadLog`` when none was strace's."""
    last = 0
    for event in events:
        yield event
        if not isinstance(event, (Unparsed, Text)):
            yield from events  # strace's: nothing more to watch, at no cost per event
            return
        last = event.line
    if last == 0:
        raise BadLog(f"{name}: the log is empty")
    lines = "its only line does not read" if last == 1 else f"none of its {last} lines reads"
    raise BadLog(f"{name}: not a strace log ({lines} as strace output)")


def parse_paths(paths: list[str]) -> Iterator[Event]:
    """Events of several logs. Per-pid files of one ``-ff`` run (``trace.123``,
    ``trace.124``) are merged in time order when their lines carry absolute timestamps
    (``-t``, ``-tt``, ``-ttt``); otherwise, and for unrelated logs, file after file.

    With one path, events carry no file name; with several, each carries its own.
    """
    # the parser is imported here, not with the module: a traced run reads its FIFO through
    # split_chunks, and imports the parser once the tracer has started (supervisor)
    from .lineparse import parse_lines

    if len(paths) == 1:  # returned, not yielded from: one generator fewer for every event
        path = paths[0]
        if path == "-":
            return readable(parse_lines(stdin_lines()), "standard input")
        return readable(parse_lines(lines_of(path), pid=pid_from_name(path)), path)
    return _parse_several(paths)


def _parse_several(paths: list[str]) -> Iterator[Event]:
    groups: dict[str, list[str]] = {}
    for path in paths:
        m = _PER_PID_NAME.match(file_name(path))
        key = os.path.join(os.path.dirname(os.path.normpath(path)), m.group("prefix")) if m else f"\0{path}"
        groups.setdefault(key, []).append(path)
    for members in groups.values():
        members.sort(key=lambda p: pid_from_name(p) or 0)
        if len(members) > 1 and all(_has_absolute_time(p) for p in members):
            yield from _merge_by_time(members)
        else:
            for path in members:
                yield from parse_file(path, label=file_name(path))


def _has_absolute_time(path: str) -> bool:
    """Does the first line carry a wall-clock timestamp (not -r's relative one)?"""
    for line in lines_of(path):
        head = line.split(" ", 1)[0]
        if ":" in head:
            return True
        try:
            return float(head) > 1e6  # seconds since the epoch, not since the last call
        except ValueError:
            return False
    return False


def _merge_by_time(paths: list[str]) -> Iterator[Event]:
    hold_open = len(paths) <= OPEN_AT_ONCE
    streams = [
        _time_keyed(parse_file(p, label=file_name(p), hold_open=hold_open), i) for i, p in enumerate(paths)
    ]
    for _, _, _, event in heapq.merge(*streams):
        yield event


def _time_keyed(events: Iterator[Event], index: int) -> Iterator[tuple[float, int, int, Event]]:
    last = float("-inf")
    for seq, event in enumerate(events):
        seconds = event.seconds
        if seconds is not None:
            last = seconds
        yield last, index, seq, event
