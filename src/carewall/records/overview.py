"""What the home page shows of the vault: a staff member's recent patients, emergency access.

Both read the audit trail (the one place that knows who opened what) and reveal
the patient ids its entries seal; neither decrypts a record by itself. Recent
patients are named through `access.search_for`, so the staff member sees only
what their role may see, and the listing is audited like any search.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from carewall.audit import entries_by_actor, entries_with_action
from carewall.core.clock import utcnow
from carewall.core.context import Caller, Purpose
from carewall.core.errors import PermissionDeniedError
from carewall.core.runtime import Runtime
from carewall.identity import Role, queries
from carewall.records.access import search_for
from carewall.records.access.audit_patients import patients_named, reveal
from carewall.records.models import BreakGlassGrant
from carewall.records.store.keys import RecordKeys
from carewall.records.tags import RecordsTag

RECENT_DAYS = 30
_READS = (RecordsTag.RESOURCE_READ, RecordsTag.EMERGENCY_STARTED)
_PURPOSE = {
    Role.CLINICIAN: Purpose.TREATMENT,
    Role.BILLING: Purpose.PAYMENT,
    Role.FRONT_DESK: Purpose.OPERATIONS,
}


def recent_patients_for(runtime: Runtime, actor: Caller, limit: int = 8) -> list[dict[str, Any]]:
    """The Patient resources this staff member opened lately, most recent first.

    Restricted records the actor cannot open now are left out (the search skips
    them); opening the list is audited as one search naming the patients shown.
    """
    purpose = _PURPOSE.get(actor.role) if actor.role else None
    if purpose is None:
        return []
    keys = RecordKeys.from_keystore(runtime.keys)
    now = utcnow()
    with runtime.db.sessions() as session:
        entries = entries_by_actor(
            session,
            actor.ref,
            _READS,
            since=now - timedelta(days=RECENT_DAYS),
            until=now,
            limit=200,
        )
    order: list[str] = []
    for entry in entries:
        for patient_id in patients_named(keys, entry.details):
            if patient_id not in order:
                order.append(patient_id)
    order = order[:limit]
    if not order:
        return []
    found = search_for(runtime, actor, "Patient", {"_id": [",".join(order)]}, purpose)  # any of
    by_id = {str(p["id"]): p for p in found}
    return [by_id[pid] for pid in order if pid in by_id]


@dataclass(frozen=True)
class EmergencyAccess:
    """One break-glass grant as the security officer's home lists it (no reason text).

    `patient_id` comes from the grant's audited start (the grant row keeps only a
    blind index); None when that entry cannot be read.
    """

    grant_id: str
    user_id: str
    user_name: str
    reason_code: str
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    patient_id: str | None

    @property
    def active(self) -> bool:
        """Still open now."""
        return self.ended_at is None and self.expires_at > utcnow()


def emergency_access(
    runtime: Runtime, viewer: Caller, *, user_id: str | None = None, days: int = 14
) -> list[EmergencyAccess]:
    """Break-glass grants started in the last `days` (one user's, or everyone's for the
    security officer), newest first."""
    if user_id is None and viewer.role is not Role.ADMIN:
        raise PermissionDeniedError("Only the security officer reviews emergency access.")
    if user_id is not None and viewer.ref != user_id and viewer.role is not Role.ADMIN:
        raise PermissionDeniedError("You can only list your own emergency access.")
    keys = RecordKeys.from_keystore(runtime.keys)
    now = utcnow()
    since = now - timedelta(days=days)
    query = select(BreakGlassGrant).where(BreakGlassGrant.started_at >= since)
    if user_id is not None:
        query = query.where(BreakGlassGrant.user_id == user_id)
    with runtime.db.sessions() as session:
        grants = list(session.scalars(query.order_by(BreakGlassGrant.started_at.desc())))
        starts = entries_with_action(session, [RecordsTag.EMERGENCY_STARTED], limit=500)
        names = queries.display_names(session)
    patients: dict[str, str] = {}
    for entry in starts:
        details = reveal(keys, entry.details)
        grant, patient = details.get("grant"), details.get("patient")
        if isinstance(grant, str) and patient:
            patients[grant] = str(patient)
    return [
        EmergencyAccess(
            grant_id=g.id,
            user_id=g.user_id,
            user_name=names.get(g.user_id, g.user_id),
            reason_code=g.reason_code,
            started_at=g.started_at,
            expires_at=g.expires_at,
            ended_at=g.ended_at,
            patient_id=patients.get(g.id),
        )
        for g in grants
    ]
