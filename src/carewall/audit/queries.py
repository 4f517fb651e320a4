"""Read side of the audit trail (entries are shown from their hashed bodies)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carewall.audit.events import parse_body
from carewall.audit.models import AuditCheckpoint, AuditEntry, AuditEntrySubject
from carewall.audit.tags import AuditTag


@dataclass(frozen=True)
class AuditEntryView:
    """An entry as shown to auditors."""

    seq: int
    ts: datetime
    actor: str
    action: str
    outcome: str
    subject: str
    source_ip: str
    user_agent: str
    details: dict[str, object]


def recent_entries(session: Session, limit: int = 50) -> list[AuditEntryView]:
    """The newest entries first."""
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit))
    return [_view(row) for row in rows]


def entries_about(
    session: Session, subject: str | Collection[str], actions: Collection[str], limit: int = 20
) -> list[AuditEntryView]:
    """The newest entries about this subject (or any of several) with one of these actions.

    An entry is about a subject when that is its `subject` column, or when it was
    indexed under it (`audit.about.record_about`: a search that returned several
    patients). Several subjects name one thing in different forms (records'
    keyed patient references and the older `Patient/{id}`). Two indexed
    queries, merged newest first.
    """
    wanted = list(actions)
    subjects = [subject] if isinstance(subject, str) else list(subject)
    direct = (
        select(AuditEntry)
        .where(AuditEntry.subject.in_(subjects), AuditEntry.action.in_(wanted))
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    indexed = (
        select(AuditEntry)
        .join(AuditEntrySubject, AuditEntrySubject.seq == AuditEntry.seq)
        .where(AuditEntrySubject.subject.in_(subjects), AuditEntry.action.in_(wanted))
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    rows = {row.seq: row for query in (direct, indexed) for row in session.scalars(query)}
    return [_view(rows[seq]) for seq in sorted(rows, reverse=True)[:limit]]


def entries_with_action(
    session: Session, actions: Collection[str], *, since_seq: int = 0, limit: int = 200
) -> list[AuditEntryView]:
    """The newest entries with one of these actions (and a seq of at least `since_seq`)."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.action.in_(list(actions)), AuditEntry.seq >= since_seq)
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    return [_view(row) for row in session.scalars(query)]


def entries_by_actor(
    session: Session,
    actor: str,
    actions: Collection[str],
    *,
    since: datetime,
    until: datetime,
    limit: int = 50,
) -> list[AuditEntryView]:
    """An actor's entries with one of these actions between two times, newest first."""
    query = (
        select(AuditEntry)
        .where(
            AuditEntry.actor == actor,
            AuditEntry.action.in_(list(actions)),
            AuditEntry.ts >= since,
            AuditEntry.ts <= until,
        )
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    return [_view(row) for row in session.scalars(query)]


def entry_at(session: Session, seq: int) -> AuditEntryView | None:
    """The entry with this sequence number, if there is one."""
    row = session.get(AuditEntry, seq)
    return None if row is None else _view(row)


def _view(row: AuditEntry) -> AuditEntryView:
    """An entry as read from its hashed body (the indexed columns only find it)."""
    body = parse_body(row.body)
    return AuditEntryView(
        seq=row.seq,
        ts=row.ts,
        actor=str(body.get("actor", "")),
        action=str(body.get("action", "")),
        outcome=str(body.get("outcome", "")),
        subject=str(body.get("subject", "")),
        source_ip=str(body.get("ip", "")),
        user_agent=str(body.get("ua", "")),
        details=dict(body.get("details") or {}),
    )


def entry_count(session: Session) -> int:
    """How many entries the chain holds."""
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def last_verification(session: Session) -> AuditEntryView | None:
    """The newest record of a chain verification (`audit:chain:verified` or `...:broken`)."""
    found = entries_with_action(session, (AuditTag.CHAIN_VERIFIED, AuditTag.CHAIN_BROKEN), limit=1)
    return found[0] if found else None


@dataclass(frozen=True)
class CheckpointView:
    """A signed checkpoint as pages and the risk report show it (as stored; `carewall
    audit verify` checks its signature)."""

    seq: int
    head_hash: str
    entries: int
    created: datetime
    key_fingerprint: str


def latest_checkpoint(session: Session) -> CheckpointView | None:
    """The newest signed checkpoint, if one was made."""
    row = session.scalars(
        select(AuditCheckpoint)
        .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.created.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return CheckpointView(
        seq=row.seq,
        head_hash=row.head_hash.hex(),
        entries=row.entries,
        created=row.created,
        key_fingerprint=row.key_fingerprint,
    )
