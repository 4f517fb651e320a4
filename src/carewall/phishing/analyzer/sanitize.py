"""Remove headers written by the receiving side, for fair evaluation.

Evaluation corpora carry the verdicts of the mailbox that collected them
(Microsoft's spam stamps, SPF results, the Received chain). A detector
that reads those learns the collector, not phishing, so the bench and the
regression test strip them before analysis.
"""

from __future__ import annotations

import re

_RECEIVING = re.compile(
    rb"^(?:authentication-results|arc-[a-z-]{1,40}|received-spf|received|x-ms-[^:\s]{0,80}|"
    rb"x-microsoft-[^:\s]{0,80}|x-forefront-[^:\s]{0,80})\s{0,5}:",
    re.IGNORECASE,
)


def strip_receiving_headers(raw: bytes) -> bytes:
    """Drop receiving-side header fields (with their folded lines); keep the body as is."""
    end, sep = _header_end(raw)
    head, body = raw[:end], raw[end:]
    kept: list[bytes] = []
    dropping = False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = bool(_RECEIVING.match(line))
        if not dropping:
            kept.append(line)
    return b"".join(kept) + body if sep else b"".join(kept)


def _header_end(raw: bytes) -> tuple[int, bool]:
    """Offset where the header block ends (the blank line), and whether one exists."""
    candidates = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i != -1]
    if not candidates:
        return len(raw), False
    return min(candidates), True
