"""Reading messages from files, directories and mbox files.

Mailbox files are split on strict ``From `` envelope lines (address and a
weekday), so a body line that merely starts with "From " does not split a
message. A single ``.eml`` that starts with an envelope line is an mbox of
one, which is handled the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from carewall.phishing.analyzer.formats import to_rfc822
from carewall.phishing.analyzer.limits import MAX_RAW_BYTES

_ENVELOPE = re.compile(rb"^From [^\s]{1,320} {1,4}(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ", re.MULTILINE)
_MAX_LINE = 1024 * 1024
_MESSAGE_SUFFIXES = frozenset({".eml", ".mbox", ".mbx", ".txt", ".msg", ""})
_SKIP_NAMES = frozenset({"readme", "license", "licence"})


def iter_messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """Yield ``(label, raw)`` for a message file, an mbox file or a directory tree.

    Directories are walked recursively in name order; ``.eml``, ``.mbox``
    and extension-less files are read, anything else is skipped.
    Outlook ``.msg`` files and bare ``winmail.dat`` (TNEF) files are
    converted to RFC 5322 messages.
    """
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and _is_message_name(child):
                yield from _iter_file(child)
        return
    yield from _iter_file(path)


def _is_message_name(path: Path) -> bool:
    if path.name.startswith(".") or path.stem.lower() in _SKIP_NAMES:
        return False
    return path.suffix.lower() in _MESSAGE_SUFFIXES or path.name.lower() == "winmail.dat"


def _iter_file(path: Path) -> Iterator[tuple[str, bytes]]:
    with path.open("rb") as handle:
        if handle.read(5) != b"From ":
            handle.seek(0)
            yield str(path), to_rfc822(handle.read(MAX_RAW_BYTES + 1))
            return
        handle.seek(0)
        messages = _split_mbox(handle)
        first = next(messages, b"")
        second = next(messages, None)
        if second is None:
            yield str(path), first
            return
        yield f"{path}#1", first
        yield f"{path}#2", second
        for index, raw in enumerate(messages, start=3):
            yield f"{path}#{index}", raw


def _split_mbox(handle: BinaryIO) -> Iterator[bytes]:
    """Stream an mbox, keeping at most MAX_RAW_BYTES (+1, to flag) per message."""
    current: list[bytes] = []
    size = 0
    while True:
        line = handle.readline(_MAX_LINE)
        if not line:
            break
        if current and _ENVELOPE.match(line):
            yield b"".join(current)
            current, size = [], 0
        if size <= MAX_RAW_BYTES:
            if line.startswith(b">From "):
                line = line[1:]
            current.append(line)
            size += len(line)
    if current:
        yield b"".join(current)
