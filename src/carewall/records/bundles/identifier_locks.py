"""One conditional create at a time per identifier, so that two cannot both create.

A conditional create searches for its identifier and creates only if nothing
matched; its writing transaction searches again before writing
(`transactions._still_valid`, `batches._in_savepoint`). On SQLite that is
enough: one writer at a time, and each sees what the last committed. On
PostgreSQL two transactions can both search, both find nothing (neither sees
the other's uncommitted row) and both create: measured, ten pairs of identical
conditional creates at once made twenty Patients. So a writing transaction
that will conditionally create first takes a transaction-scoped advisory lock
per identifier value it searches, and the second waits for the first to commit,
then finds what it created.

The key is the identifier's value without its system (a search with no system
matches every system), hashed into the two-integer advisory key space, apart
from the audit chain's one-integer lock. Locks are taken in sorted order, in
one statement, after the rows a transaction locks and before the audit chain's
lock: the order every writer keeps, so no two wait for each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Integer

from carewall.records.bundles.entries import EntryRequest
from carewall.records.store.terms import query_value

_NAMESPACE = 0x43574349  # "CWCI": conditional creates' identifiers
_LOCK_ALL = text(
    "SELECT count(pg_advisory_xact_lock(:namespace, key)) FROM unnest(:keys) AS key"
).bindparams(bindparam("keys", type_=ARRAY(Integer)))


def lock_identifiers(session: Session, entries: Iterable[EntryRequest]) -> None:
    """Take the lock of every identifier these entries' `ifNoneExist` searches for
    (PostgreSQL; SQLite's single writer needs none), until the transaction ends."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted(
        {
            _key(entry.resource_type, value)
            for entry in entries
            for _, value in entry.if_none_exist or ()
        }
    )
    if keys:
        session.execute(_LOCK_ALL, {"namespace": _NAMESPACE, "keys": keys})


def _key(resource_type: str, value: str) -> int:
    """A signed 32-bit key for (type, identifier value): a collision only serialises two
    unrelated creates, it never lets two identical ones through."""
    searched = query_value("identifier", value).rsplit("|", 1)[-1]
    digest = hashlib.blake2b(f"{resource_type}\0{searched}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)
