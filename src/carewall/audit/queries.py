"""Read side of the audit trail (entries are shown from their hashed bodies)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carewall.audit.events import parse_body
from carewall.audit.models import AuditEntry


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
    session: Session, subject: str, actions: Collection[str], limit: int = 20
) -> list[AuditEntryView]:
    """The newest entries with this subject and one of these actions."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.subject == subject, AuditEntry.action.in_(list(actions)))
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    return [_view(row) for row in session.scalars(query)]


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
