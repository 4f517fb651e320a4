"""Break-glass: emergency access to a restricted record, started, stopped and expired.

`start_break_glass` opens a restricted compartment for a few minutes in the
browser session that asked; `stop_break_glass` ends it early. Grants also end
by themselves: closed, and audited as stopped, exactly once.

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
audit chain's lock, in the same order as `stop_break_glass`, so the two
never deadlock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from carewall.audit import AuditEvent, DetailValue, entries_by_actor, record
from carewall.core import crypto
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from carewall.core.runtime import Runtime
from carewall.records.access.audit_patients import patient_part, reveal
from carewall.records.access.matrix import BREAK_GLASS_ROLES
from carewall.records.models import BreakGlassGrant
from carewall.records.store.keys import RecordKeys
from carewall.records.tags import RecordsTag

DCM = "http://dicom.nema.org/resources/ontology/DCM"
BREAK_GLASS_REASONS = frozenset(
    {"emergency", "unable-to-consent", "continuity-of-care", "patient-request", "other"}
)
MAX_BREAK_GLASS_MINUTES = 240
SESSION_CHANNEL = "session:"
EMERGENCY_STOPPED_CODE = ("110138", "Emergency Override Stopped")

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


def start_break_glass(
    runtime: Runtime,
    actor: Caller,
    patient_id: str,
    reason_code: str,
    reason_text: str,
    minutes: int = 60,
) -> str:
    """Open a restricted compartment for `minutes` (Emergency Override Started, DCM 110127).

    The caller (web layer) must have done step-up MFA first. The grant opens the
    record in the browser session that asked (`actor.channel`) only: a token,
    another browser or the CLI cannot start one. Returns the grant id.
    """
    if actor.role not in BREAK_GLASS_ROLES or actor.system:
        raise PermissionDeniedError("Only clinicians can use emergency access.")
    if not (actor.channel or "").startswith(SESSION_CHANNEL):
        raise PermissionDeniedError("Emergency access is started from a signed-in browser.")
    if reason_code not in BREAK_GLASS_REASONS or not 1 <= minutes <= MAX_BREAK_GLASS_MINUTES:
        raise ValidationError("Choose a listed reason and a duration of at most 4 hours.")
    keys = RecordKeys.from_keystore(runtime.keys)
    now, grant_id = utcnow(), str(uuid.uuid4())
    sealed = crypto.encrypt(
        keys.seal_key, reason_text[:1000].encode(), f"break-glass/{grant_id}".encode()
    )
    grant = BreakGlassGrant(
        id=grant_id,
        user_id=actor.ref,
        patient_ref=keys.patient_ref(patient_id),
        reason_code=reason_code,
        reason_sealed=sealed,
        started_at=now,
        expires_at=now + timedelta(minutes=minutes),
        ended_at=None,
        channel=actor.channel,
    )
    with runtime.db.transaction() as session:
        session.add(grant)
        _audit_emergency(
            session,
            keys,
            actor,
            RecordsTag.EMERGENCY_STARTED,
            grant,
            patient_id,
            ("110127", "Emergency Override Started"),
        )
    return grant_id


def stop_break_glass(runtime: Runtime, actor: Caller, grant_id: str, patient_id: str) -> None:
    """End a live grant early (Emergency Override Stopped, DCM 110138, reason `stopped`).

    One conditional UPDATE (this user's grant, for this patient, not ended, not
    expired) decides, so a grant that expired meanwhile, or that another request
    or the expiry sweep (`access.break_glass.close_expired_grants`) closed first, is
    audited once only. The row is locked before the audit chain, as in the sweep.
    """
    keys = RecordKeys.from_keystore(runtime.keys)
    ref = keys.patient_ref(patient_id)
    now = utcnow()
    stop = (
        update(BreakGlassGrant)
        .where(
            BreakGlassGrant.id == grant_id,
            BreakGlassGrant.user_id == actor.ref,
            BreakGlassGrant.patient_ref == ref,
            BreakGlassGrant.ended_at.is_(None),
            BreakGlassGrant.expires_at > now,
        )
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    with runtime.db.transaction() as session:
        if session.execute(stop).rowcount != 1:  # type: ignore[attr-defined]
            raise NotFoundError("No active emergency access to stop.")
        grant = session.get(BreakGlassGrant, grant_id)
        assert grant is not None
        _audit_emergency(
            session,
            keys,
            actor,
            RecordsTag.EMERGENCY_STOPPED,
            grant,
            patient_id,
            EMERGENCY_STOPPED_CODE,
            reason="stopped",
            ended_at=now.isoformat(),
        )


def _audit_emergency(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    tag: RecordsTag,
    grant: BreakGlassGrant,
    patient_id: str,
    code: tuple[str, str],
    *,
    reason: str | None = None,
    ended_at: str | None = None,
) -> None:
    event = emergency_event(
        keys,
        actor.ref,
        tag,
        code,
        patient_id=patient_id,
        grant=GrantFacts(grant.id, grant.reason_code, grant.expires_at),
        reason=reason,
        ended_at=ended_at,
    )
    record(session, event.from_origin(actor.origin))


@dataclass(frozen=True)
class GrantFacts:
    """What a break-glass entry says about its grant."""

    id: str
    reason_code: str
    expires_at: datetime


def emergency_event(
    keys: RecordKeys,
    user_id: str,
    tag: RecordsTag,
    code: tuple[str, str],
    *,
    patient_id: str | None,
    grant: GrantFacts,
    reason: str | None = None,
    ended_at: str | None = None,
    **clear: DetailValue,
) -> AuditEvent:
    """A break-glass start or stop entry (DCM 110127/110138).

    The grant's id and times would join the entry to its `break_glass_grants`
    row, and so to the patient's compartment: they are sealed with the patient.
    """
    sealed: dict[str, DetailValue] = {
        "grant": grant.id,
        "reason_code": grant.reason_code,
        "expires_at": grant.expires_at.isoformat(),
    }
    if ended_at is not None:
        sealed["ended_at"] = ended_at
    part = patient_part(
        keys, [patient_id] if patient_id else [], otherwise=f"break-glass/{grant.id}", sealed=sealed
    )
    details: dict[str, DetailValue] = {"code_system": DCM, "code": code[0], "display": code[1]}
    if reason:
        details["reason"] = reason
    details.update(clear)
    details.update(part.details)
    return AuditEvent(action=tag, actor=user_id, subject=part.subject, details=details)
