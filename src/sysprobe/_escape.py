"""Names in text for people, written so that they cannot forge lines or drive a terminal.

A path, a program name or an argv comes from the traced program: a file named
``x\\nPASS  --forged`` or ``\\x1b[2J`` must show as what it is, not start a line of its own or
clear the screen. ``printable`` is the one function every human-readable output uses
(reports, summaries, golden traces' comments and messages, error messages, the plugin's
failures); JSON outputs carry the exact names instead.

The notation is strace's, the one the trace lines themselves are in: ``\\n``, ``\\r``,
``\\t``, ``\\v``, ``\\f``, and every other byte of a non-printable character in three-digit
octal (``\\033``; a byte that is not UTF-8 as itself: ``\\351``). A backslash is left as
it is, so ``printable`` may be applied to text that is already in this notation (a trace
line) any number of times: ``printable(printable(s)) == printable(s)``. The price: a name
that itself holds the two characters ``\\n`` looks the same as one holding a newline — the
JSON outputs tell them apart.
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\f": "\\f"}


def printable(text: str) -> str:
    """``text`` with each non-printable character (controls, line and paragraph separators,
    format characters such as bidirectional overrides, undecodable bytes) escaped."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escaped(char) for char in text)


def _escaped(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    try:
        data = char.encode("utf-8", "surrogateescape")  # an undecodable byte: itself
    except UnicodeEncodeError:
        data = char.encode("utf-8", "surrogatepass")  # a lone surrogate of another origin
    return "".join(f"\\{byte:03o}" for byte in data)
