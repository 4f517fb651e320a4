"""Appending to the chain: the one write path of the audit trail.

`record` runs inside the caller's transaction, so a state change and its audit
entry commit together or not at all. Appends are serialised so that several
threads or worker processes still build one chain: on PostgreSQL with a
transaction-scoped advisory lock, on SQLite by the write lock that every
Carewall transaction takes at BEGIN IMMEDIATE.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from carewall.audit.events import GENESIS_HASH, AuditEvent, DetailValue, Outcome, canonical_body
from carewall.audit.models import AuditEntry
from carewall.core.clock import utcnow

# Arbitrary constant naming "the audit chain" among PostgreSQL advisory locks.
_PG_CHAIN_LOCK = 0x43574155  # "CWAU"


def record(session: Session, event: AuditEvent) -> AuditEntry:
    """Append `event` to the chain in `session`'s transaction and return the entry."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_CHAIN_LOCK})
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    ts = utcnow()
    body = canonical_body(seq, ts, event, prev_hash)
    entry = AuditEntry(
        seq=seq,
        ts=ts,
        actor=event.actor,
        action=event.action,
        outcome=str(event.outcome),
        subject=event.subject,
        body=body,
        entry_hash=hashlib.sha256(body).digest(),
    )
    session.add(entry)
    session.flush()
    return entry


class RequestOrigin(Protocol):
    """Where a request came from (identity's `Origin` fits)."""

    @property
    def ip(self) -> str:
        """Source IP address ("" for the CLI)."""

    @property
    def user_agent(self) -> str:
        """Browser or tool."""


def record_from(
    session: Session,
    action: str,
    origin: RequestOrigin,
    *,
    actor: str,
    subject: str = "",
    outcome: Outcome = Outcome.SUCCESS,
    **details: DetailValue,
) -> AuditEntry:
    """`record` for a request: actor, subject and origin in one call, so every domain's
    entries carry them the same way."""
    event = AuditEvent(
        action=action,
        outcome=outcome,
        actor=actor,
        subject=subject,
        source_ip=origin.ip,
        user_agent=origin.user_agent[:300],
        details=details,
    )
    return record(session, event)
