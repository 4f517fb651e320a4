"""Verification of the hash chain.

Each stored body starts with the previous entry's hash, so the chain can be
checked from the bodies alone: hash entry n and compare with the first 32
bytes of entry n+1. The fast pass therefore reads one column and costs little
more than the hashing itself. When a link fails, a precise pass over the few
rows around it says which entry is at fault and why (altered, missing,
reordered). The `deep` pass also checks that the indexed columns (actor,
action, outcome, subject, time) still say what the hashed body says, so an
edit to a column alone is caught too.

With the audit key attached to the database (every process that opened it with
`open_runtime`), the fast pass also checks each entry's MAC: an edit whose
every later hash was recomputed keeps the links intact but not the MACs, so it
is named at the edited entry. Entries up to `AuditChainState.unkeyed_through`
predate the keying and carry none. Without the key (a restored copy checked
before its key is at hand) the pass checks the hashes alone and says so.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from carewall.audit.events import GENESIS_HASH, HASH_BYTES
from carewall.audit.proof import MacChecker
from carewall.core.db import Database
from carewall.core.keystore import AUDIT_MAC_ATTACHED

_BATCH = 5_000
_PLAIN = re.compile(r'[^"\\\x00-\x1f]*')  # what json.dumps(ensure_ascii=False) keeps as is


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a walk over the chain; `position` is the seq of the first bad entry."""

    ok: bool
    count: int
    position: int | None = None
    reason: str = ""
    #: Whether entry MACs were checked (False when the audit key was not at hand).
    keyed: bool = False


def verify(
    db: Database, *, deep: bool = True, progress: Callable[[int], None] | None = None
) -> VerifyResult:
    """Walk the whole chain and report the first broken entry, if any."""
    key: bytes | None = db.attached.get(AUDIT_MAC_ATTACHED)
    if key is None:
        result = _chain_pass(db, progress)
    else:
        result = _keyed_pass(db, key, unkeyed_through(db), progress)
    if deep:
        column_result = _column_pass(db, stop_before=result.position)
        if column_result is not None:
            return replace(column_result, keyed=result.keyed)
    return result


def unkeyed_through(db: Database) -> int:
    """The last entry written before the chain was keyed (0 when the marker is gone:
    then every entry must carry a MAC, the strictest reading)."""
    query = text("SELECT unkeyed_through FROM audit_chain_state WHERE id = 1")
    with db.engine.connect() as connection:
        found = connection.execute(query).scalar()
    return int(found or 0)


def _chain_pass(db: Database, progress: Callable[[int], None] | None) -> VerifyResult:
    prev = GENESIS_HASH
    before_prev = GENESIS_HASH
    count = 0
    sha256 = hashlib.sha256
    for batch in _batches(db, "body"):
        for (body,) in batch:
            if not body.startswith(prev):
                # The fault is in this entry or in the one just hashed: start one back.
                return _diagnose(db, max(count - 1, 0), before_prev)
            before_prev = prev
            prev = sha256(body).digest()
            count += 1
        if progress is not None:
            progress(count)
    return _check_head(db, count, prev, before_prev)


def _keyed_pass(
    db: Database, key: bytes, unkeyed: int, progress: Callable[[int], None] | None
) -> VerifyResult:
    """The fast pass with each entry's MAC checked as well (one HMAC per entry)."""
    prev = GENESIS_HASH
    before_prev = GENESIS_HASH
    count = 0
    sha256, mac_of = hashlib.sha256, MacChecker(key)
    # While the links hold, an entry's position is its seq (the deep pass checks the column).
    for batch in _batches(db, "body, mac"):
        for body, mac in batch:
            if not body.startswith(prev):
                return replace(_diagnose(db, max(count - 1, 0), before_prev), keyed=True)
            before_prev = prev
            prev = sha256(body).digest()
            count += 1
            if mac is None:
                if count > unkeyed:
                    return VerifyResult(False, count - 1, count, _NO_MAC, keyed=True)
            elif mac_of(prev) != mac:
                return _mac_failure(db, count, count - 1, prev)
        if progress is not None:
            progress(count)
    return replace(_check_head(db, count, prev, before_prev), keyed=True)


def _mac_failure(db: Database, seq: int, good: int, computed: bytes) -> VerifyResult:
    """Say whether the entry was edited in place (its stored hash no longer fits) or
    rewritten with its hashes recomputed (only the MAC tells)."""
    rows = _rows_from(db, seq, 1)
    if rows and bytes(rows[0][2]) != computed:
        reason = "its content does not match its hash: the entry was altered"
        return VerifyResult(False, good, seq, reason, keyed=True)
    return VerifyResult(False, good, seq, _BAD_MAC, keyed=True)


_NO_MAC = (
    "it has no MAC although it was written after the chain was keyed: it was inserted "
    "or rewritten by someone without the audit key"
)
_BAD_MAC = (
    "its MAC does not match: the entry was changed (and the hashes after it recomputed) "
    "by someone without the audit key"
)


def _check_head(db: Database, count: int, head: bytes, before_head: bytes) -> VerifyResult:
    """The newest entry has no successor to vouch for it: compare its stored hash."""
    if count == 0:
        return VerifyResult(True, 0)
    last = _rows_from(db, count, 1)
    if not last or last[0][0] != count or bytes(last[0][2]) != head:
        return _diagnose(db, count - 1, before_head)
    return VerifyResult(True, count)


def _diagnose(db: Database, good: int, prev: bytes) -> VerifyResult:
    """Find the first bad entry after `good` verified ones, `prev` being the last good hash."""
    expected = good + 1
    for seq, body, stored in _rows_from(db, good + 1, 3):
        body, stored = bytes(body), bytes(stored)
        if seq != expected:
            reason = f"entry {expected} is missing: the next stored entry is {seq} (deleted)"
            return VerifyResult(False, good, expected, reason)
        if not body.startswith(prev):
            reason = (
                "its link to the previous entry is broken: entries were reordered, "
                "or the previous entry was replaced"
            )
            return VerifyResult(False, good, expected, reason)
        if hashlib.sha256(body).digest() != stored:
            reason = "its content does not match its hash: the entry was altered"
            return VerifyResult(False, good, expected, reason)
        prev, good, expected = stored, expected, expected + 1
    reason = "the chain is inconsistent here (entries renumbered or replaced)"
    return VerifyResult(False, good, expected, reason)


def _column_pass(db: Database, stop_before: int | None) -> VerifyResult | None:
    """First entry whose indexed columns disagree with its hashed body, if any."""
    columns = "seq, body, actor, action, outcome, subject, ts"
    for batch in _batches(db, columns):
        for seq, body, actor, action, outcome, subject, ts in batch:
            if stop_before is not None and seq >= stop_before:
                return None
            problem = _column_problem(bytes(body), seq, actor, action, outcome, subject, ts)
            if problem is not None:
                return VerifyResult(False, seq - 1, seq, problem)
    return None


def _column_problem(
    body: bytes, seq: int, actor: str, action: str, outcome: str, subject: str, ts: Any
) -> str | None:
    """Compare columns with the canonical JSON without parsing it.

    The body is canonical (sorted keys, no spaces), so the columns determine its
    exact opening (`action`, `actor`) and the exact run after `ip` (`outcome`,
    `seq`, `subject`, `ts`). Strings inside JSON values cannot contain an
    unescaped quote, so the last `,"ip":` is the top-level key.
    """
    head = f'{{"action":{_js(action)},"actor":{_js(actor)},"details":'.encode()
    if not body.startswith(head, HASH_BYTES):
        return _named_column_problem(body, seq, actor, action, outcome, subject)
    tail = (
        f',"outcome":{_js(outcome)},"seq":{seq},"subject":{_js(subject)},"ts":"{_iso(ts)}","ua":'
    ).encode()
    ip_at = body.rfind(b',"ip":')
    if ip_at < 0 or body.find(tail, ip_at) < 0:
        return _named_column_problem(body, seq, actor, action, outcome, subject)
    return None


def _named_column_problem(
    body: bytes, seq: int, actor: str, action: str, outcome: str, subject: str
) -> str:
    """Slow path: parse the body to say which column was changed."""
    try:
        parsed = json.loads(body[HASH_BYTES:])
    except ValueError:
        return "its content is not a valid audit record"
    if parsed.get("seq") != seq:
        return f"it carries sequence number {parsed.get('seq')}: entries were reordered"
    stored = {"actor": actor, "action": action, "outcome": outcome, "subject": subject}
    for name, value in stored.items():
        if parsed.get(name) != value:
            return f"its indexed column '{name}' was changed after it was written"
    return "its indexed column 'ts' was changed after it was written"


def _js(value: str) -> str:
    """JSON string literal, fast for the common plain-ASCII case."""
    if _PLAIN.fullmatch(value):
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


def _iso(ts: Any) -> str:
    """The stored time in the body's format, from SQLite's text or PostgreSQL's datetime."""
    if isinstance(ts, datetime):
        return ts.astimezone(UTC).isoformat(timespec="microseconds")
    return f"{str(ts).replace(' ', 'T', 1)[:26]}+00:00"


def _rows_from(db: Database, first_seq: int, limit: int) -> list[Any]:
    """A few (seq, body, entry_hash) rows from `first_seq` on, for the slow paths."""
    query = text(
        "SELECT seq, body, entry_hash FROM audit_entries WHERE seq >= :first "
        "ORDER BY seq LIMIT :limit"
    )
    with db.engine.connect() as connection:
        return list(connection.execute(query, {"first": first_seq, "limit": limit}))


def _batches(db: Database, columns: str) -> Iterator[Sequence[Any]]:
    """Rows in seq order through the raw driver cursor (ORM objects cost 10x more)."""
    raw = db.engine.raw_connection()
    try:
        # psycopg: binary results spare decoding every bytea from hex text.
        binary = {"binary": True} if db.engine.dialect.name == "postgresql" else {}
        cursor = raw.cursor(**binary)
        cursor.execute(f"SELECT {columns} FROM audit_entries ORDER BY seq")  # noqa: S608
        while batch := cursor.fetchmany(_BATCH):
            yield batch
        cursor.close()
    finally:
        raw.close()
