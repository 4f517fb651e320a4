"""Verification of the hash chain.

The fast pass reads only (seq, body, hash) through the driver's cursor and
checks three things per entry: no gap in `seq`, the stored previous-hash equals
the hash of the entry before, and the body hashes to the stored hash. The
`deep` pass also parses each body and checks that the indexed columns (actor,
action, outcome, subject, time) still say what the hashed body says, so an edit
to a column alone is caught too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from carewall.audit.events import GENESIS_HASH, HASH_BYTES, parse_body
from carewall.core.db import Database

_BATCH = 5_000
_COLUMNS_FAST = "seq, body, entry_hash"
_COLUMNS_DEEP = "seq, body, entry_hash, actor, action, outcome, subject, ts"


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a walk over the chain; `position` is the seq of the first bad entry."""

    ok: bool
    count: int
    position: int | None = None
    reason: str = ""


def verify(
    db: Database, *, deep: bool = True, progress: Callable[[int], None] | None = None
) -> VerifyResult:
    """Walk the whole chain and report the first broken entry, if any."""
    prev = GENESIS_HASH
    expected = 1
    sha256 = hashlib.sha256
    for batch in _batches(db, _COLUMNS_DEEP if deep else _COLUMNS_FAST):
        for row in batch:
            seq, body, stored = row[0], bytes(row[1]), bytes(row[2])
            problem = _link_problem(seq, expected, body, prev)
            if problem is None and sha256(body).digest() != stored:
                problem = "its content does not match its hash: the entry was altered"
            if problem is None and deep:
                problem = _column_problem(row, body)
            if problem is not None:
                return VerifyResult(False, expected - 1, expected, problem)
            prev = stored
            expected += 1
        if progress is not None:
            progress(expected - 1)
    return VerifyResult(True, expected - 1)


def _link_problem(seq: int, expected: int, body: bytes, prev: bytes) -> str | None:
    if seq > expected:
        return f"entry {expected} is missing: the next stored entry is {seq} (deleted)"
    if seq < expected:  # pragma: no cover - primary key makes duplicates impossible
        return f"entry {seq} appears twice"
    if body[:HASH_BYTES] != prev:
        return (
            "its link to the previous entry is broken: entries were reordered, "
            "or the previous entry was replaced"
        )
    return None


def _column_problem(row: Any, body: bytes) -> str | None:
    try:
        parsed = parse_body(body)
    except ValueError:
        return "its content is not a valid audit record"
    seq, _, _, actor, action, outcome, subject, ts = row
    if parsed.get("seq") != seq:
        return f"it carries sequence number {parsed.get('seq')}: entries were reordered"
    stored = {"actor": actor, "action": action, "outcome": outcome, "subject": subject}
    for name, value in stored.items():
        if parsed.get(name) != value:
            return f"its indexed column '{name}' was changed after it was written"
    if not _same_time(parsed.get("ts"), ts):
        return "its indexed column 'ts' was changed after it was written"
    return None


def _same_time(iso: object, stored: Any) -> bool:
    if not isinstance(iso, str):
        return False
    if isinstance(stored, str):
        text = stored
    else:
        text = stored.astimezone(UTC).isoformat(timespec="microseconds")
    # SQLite returns "YYYY-MM-DD HH:MM:SS.ffffff" for a UTC value, PostgreSQL a datetime.
    return text.replace(" ", "T")[:26] == iso[:26]


def _batches(db: Database, columns: str) -> Iterator[Sequence[Any]]:
    """Rows in seq order through the raw driver cursor (ORM objects cost 10x more)."""
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"SELECT {columns} FROM audit_entries ORDER BY seq")  # noqa: S608
        while batch := cursor.fetchmany(_BATCH):
            yield batch
        cursor.close()
    finally:
        raw.close()
