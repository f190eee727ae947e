"""Where strace text comes from: files, per-pid ``-ff`` sets, pipes.

Text is read in large binary chunks and split at newlines before decoding, so a UTF-8
sequence is never cut and memory stays bounded by the chunk size, whatever the log size.
Bytes that are not UTF-8 survive through ``surrogateescape``.
"""

from __future__ import annotations

import heapq
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..events import Event
from .lineparse import parse_lines

CHUNK = 1 << 20
_PER_PID_NAME = re.compile(r"^(?P<prefix>.+)\.(?P<pid>\d+)$")


def split_chunks(chunks: Iterable[bytes]) -> Iterator[str]:
    """Bytes in arbitrary pieces → text lines without their newline.

    A last line without a newline (strace killed mid-write) is still yielded.
    """
    carry = b""
    for data in chunks:
        if not data:
            continue
        cut = data.rfind(b"\n")
        if cut < 0:
            carry += data
            continue
        block = carry + data[:cut] if carry else data[:cut]
        carry = data[cut + 1 :]
        yield from block.decode("utf-8", "surrogateescape").split("\n")
    if carry:
        yield carry.decode("utf-8", "surrogateescape")


def read_chunks(stream: BinaryIO) -> Iterator[bytes]:
    while True:
        data = stream.read(CHUNK)
        if not data:
            return
        yield data


def lines_of(path: str | os.PathLike[str]) -> Iterator[str]:
    with open(path, "rb") as stream:
        yield from split_chunks(read_chunks(stream))


def pid_from_name(path: str | os.PathLike[str]) -> int | None:
    """``trace.1234`` → 1234: how ``strace -ff -o trace`` names its per-pid files."""
    m = _PER_PID_NAME.match(Path(path).name)
    return int(m.group("pid")) if m else None


def parse_file(path: str | os.PathLike[str], *, label: str | None = None) -> Iterator[Event]:
    """Events of one log file. Unprefixed lines of ``NAME.PID`` take PID (``-ff``)."""
    name = label if label is not None else str(path)
    return parse_lines(lines_of(path), pid=pid_from_name(path), file=name)


def parse_paths(paths: list[str]) -> Iterator[Event]:
    """Events of several logs. Per-pid files of one ``-ff`` run (``trace.123``,
    ``trace.124``) are merged in time order when their lines carry absolute timestamps
    (``-t``, ``-tt``, ``-ttt``); otherwise, and for unrelated logs, file after file.

    With one path, events carry no file name; with several, each carries its own.
    """
    if len(paths) == 1:
        path = paths[0]
        if path == "-":
            yield from parse_lines(split_chunks(read_chunks(os.fdopen(0, "rb", closefd=False))))
        else:
            yield from parse_lines(lines_of(path), pid=pid_from_name(path))
        return
    groups: dict[str, list[str]] = {}
    for path in paths:
        m = _PER_PID_NAME.match(Path(path).name)
        key = str(Path(path).parent / m.group("prefix")) if m else f"\0{path}"
        groups.setdefault(key, []).append(path)
    for members in groups.values():
        members.sort(key=lambda p: pid_from_name(p) or 0)
        if len(members) > 1 and all(_has_absolute_time(p) for p in members):
            yield from _merge_by_time(members)
        else:
            for path in members:
                yield from parse_file(path, label=Path(path).name)


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
    streams = [_time_keyed(parse_file(p, label=Path(p).name), i) for i, p in enumerate(paths)]
    for _, _, _, event in heapq.merge(*streams):
        yield event


def _time_keyed(events: Iterator[Event], index: int) -> Iterator[tuple[float, int, int, Event]]:
    last = float("-inf")
    for seq, event in enumerate(events):
        seconds = event.seconds
        if seconds is not None:
            last = seconds
        yield last, index, seq, event
