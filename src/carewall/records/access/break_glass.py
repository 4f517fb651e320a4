"""Break-glass grants that end by themselves: closed, and audited as stopped, exactly once.

A grant stops opening its compartment the moment `expires_at` passes (`guard`
compares with the clock), so access never depends on this module. What it adds
is the trail: an "Emergency Override Stopped" entry (DCM 110138) with reason
`expired` and the real end time, like the one a clinician's own "Stop" writes,
so the accounting shows when emergency access ended and why.

The job `records.break_glass.sweep` runs `close_expired_grants` when a server
starts (grants that expired while it was down) and then periodically
(`CAREWALL_BREAK_GLASS_SWEEP_SECONDS`).
Several processes may run it at once: one conditional `UPDATE ... WHERE
ended_at IS NULL ... RETURNING` claims the grants, and only the transaction
whose update changed a row audits it. On SQLite transactions are serialised
(`BEGIN IMMEDIATE`); on PostgreSQL a second updater waits on the row locks and
then finds `ended_at` set, so it claims nothing. Rows are locked before the
audit chain's lock, in the same order as `services.stop_break_glass`, so the two
never deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from carewall.audit import entries_by_actor, record
from carewall.core.clock import utcnow
from carewall.core.runtime import Runtime
from carewall.records.access.audit_patients import reveal
from carewall.records.models import BreakGlassGrant
from carewall.records.services import EMERGENCY_STOPPED_CODE, GrantFacts, emergency_event
from carewall.records.store.keys import RecordKeys
from carewall.records.tags import RecordsTag

EXPIRED = "expired"
# The start entry is written a moment after the grant's `started_at`.
_START_SLACK = timedelta(minutes=1)


@dataclass(frozen=True)
class _Closed:
    """A grant this sweep claimed."""

    id: str
    user_id: str
    reason_code: str
    started_at: datetime
    expires_at: datetime


def close_expired_grants(runtime: Runtime) -> int:
    """End every grant whose time is up and that nobody stopped; returns how many."""
    now = utcnow()
    claim = (
        update(BreakGlassGrant)
        .where(BreakGlassGrant.expires_at <= now, BreakGlassGrant.ended_at.is_(None))
        .values(ended_at=BreakGlassGrant.expires_at)
        .returning(
            BreakGlassGrant.id,
            BreakGlassGrant.user_id,
            BreakGlassGrant.reason_code,
            BreakGlassGrant.started_at,
            BreakGlassGrant.expires_at,
        )
        .execution_options(synchronize_session=False)
    )
    keys = RecordKeys.from_keystore(runtime.keys)  # outside the transaction (SQLite)
    with runtime.db.transaction() as session:
        closed = [_Closed(*row) for row in session.execute(claim)]
        for grant in sorted(closed, key=lambda g: (g.expires_at, g.id)):
            _audit_expiry(session, keys, grant)
    return len(closed)


def _audit_expiry(session: Session, keys: RecordKeys, grant: _Closed) -> None:
    ended = grant.expires_at.isoformat()
    event = emergency_event(
        keys,
        grant.user_id,  # whose emergency access ended; `closed_by` says who noticed
        RecordsTag.EMERGENCY_STOPPED,
        EMERGENCY_STOPPED_CODE,
        patient_id=_patient_of(session, keys, grant),
        grant=GrantFacts(grant.id, grant.reason_code, grant.expires_at),
        reason=EXPIRED,
        ended_at=ended,
        closed_by="system",
    )
    record(session, event)


def _patient_of(session: Session, keys: RecordKeys, grant: _Closed) -> str | None:
    """The patient a grant opened, from its "started" entry (the grant row keeps only
    the compartment's blind index)."""
    starts = entries_by_actor(
        session,
        grant.user_id,
        [RecordsTag.EMERGENCY_STARTED],
        since=grant.started_at - _START_SLACK,
        until=grant.started_at + _START_SLACK,
    )
    for entry in starts:
        details = reveal(keys, entry.details)
        if details.get("grant") == grant.id:
            patient = details.get("patient")
            return str(patient) if patient else None
    return None
