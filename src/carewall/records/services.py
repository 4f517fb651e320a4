"""The only code that changes records; each change is audited in its own transaction.

Writes validate with FHIR R4 models, check the permission matrix through
`guard`, write a new encrypted version and record the audit entry, all in
one transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carewall.audit import AuditEvent, DetailValue, record, record_about
from carewall.core import crypto
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.records import store
from carewall.records.access.audit_patients import patient_part
from carewall.records.access.guard import require_row, require_type, run_guarded
from carewall.records.access.matrix import BREAK_GLASS_ROLES, Action
from carewall.records.errors import VersionConflictError
from carewall.records.events import announce_change
from carewall.records.models import BreakGlassGrant, FhirResource, RestrictedCompartment
from carewall.records.store.compartments import canonicalise, compartment_of, fhir_base
from carewall.records.store.keys import RecordKeys
from carewall.records.store.validation import validate_resource
from carewall.records.tags import RecordsTag

DCM = "http://dicom.nema.org/resources/ontology/DCM"
BREAK_GLASS_REASONS = frozenset(
    {"emergency", "unable-to-consent", "continuity-of-care", "patient-request", "other"}
)
MAX_BREAK_GLASS_MINUTES = 240
SESSION_CHANNEL = "session:"
EMERGENCY_STOPPED_CODE = ("110138", "Emergency Override Stopped")


def create_resource(runtime: Runtime, actor: Caller, resource: dict[str, Any]) -> dict[str, Any]:
    """Store a new resource (a server-assigned id when it has none); returns its meta."""
    resource = {**resource, "id": resource.get("id") or str(uuid.uuid4())}
    return _write(runtime, actor, resource, if_match=None)


def update_resource(
    runtime: Runtime, actor: Caller, resource: dict[str, Any], *, if_match: int | None = None
) -> dict[str, Any]:
    """Write a new version; with `if_match`, only if that version is still current (412)."""
    return _write(runtime, actor, resource, if_match=if_match)


def delete_resource(
    runtime: Runtime, actor: Caller, resource_type: str, logical_id: str
) -> dict[str, Any]:
    """Soft delete: a tombstone version; history keeps every earlier version."""
    keys = RecordKeys.from_keystore(runtime.keys)
    return run_guarded(
        runtime, actor, lambda session: delete_in(session, keys, actor, resource_type, logical_id)
    )


def delete_in(
    session: Session, keys: RecordKeys, actor: Caller, resource_type: str, logical_id: str
) -> dict[str, Any]:
    """`delete_resource` inside the caller's transaction (a transaction Bundle).

    Same checks and audit entry as a single delete. A refusal raises
    `guard.Denied`: the caller runs its work through `run_guarded`, which audits
    the refusal after the rollback.
    """
    current = store.current_row(session, resource_type, logical_id)
    now = utcnow()
    live = check_delete(session, keys, actor, resource_type, logical_id, current, now)
    patient = store.patient_of_stored(keys, live)
    row = store.write_tombstone(session, live, now)
    _audit_change(
        session,
        keys,
        actor,
        RecordsTag.RESOURCE_DELETED,
        resource_type,
        logical_id,
        row.version_id,
        patient,
    )
    return {
        "resourceType": resource_type,
        "id": logical_id,
        "versionId": row.version_id,
        "lastUpdated": row.last_updated,
    }


def check_delete(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource_type: str,
    logical_id: str,
    current: FhirResource | None,
    now: datetime,
) -> FhirResource:
    """The checks of a delete, on the resource's current version: the live row to retire."""
    target = f"{resource_type}/{logical_id}"
    if current is None:
        require_type(actor, Action.WRITE, resource_type, target)
    else:
        # Permission before "already deleted": a 410 would confirm to an outsider
        # that someone else's record exists.
        ref = current.patient_ref
        require_row(
            session, keys, actor, Action.WRITE, resource_type, target, ref, now, row=current
        )
    return store.require_live(current, resource_type, logical_id)


def _write(
    runtime: Runtime,
    actor: Caller,
    resource: dict[str, Any],
    *,
    if_match: int | None,
) -> dict[str, Any]:
    # Before the transaction: no write lock held while validating.
    validate_resource(resource, max_attachment_bytes=runtime.settings.max_attachment_bytes)
    resource = canonicalise(resource, fhir_base(runtime.settings.public_url))
    keys = RecordKeys.from_keystore(runtime.keys)
    target = f"{resource['resourceType']}/{resource.get('id')}"
    try:
        return run_guarded(
            runtime,
            actor,
            lambda session: write_in(session, keys, actor, resource, if_match=if_match),
        )
    except IntegrityError as exc:  # a concurrent writer took the same version number
        raise VersionConflictError(f"{target} was changed concurrently; retry.") from exc


def write_in(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource: dict[str, Any],
    *,
    if_match: int | None = None,
) -> dict[str, Any]:
    """Create or update one resource inside the caller's transaction (a transaction Bundle).

    The work of `create_resource` and `update_resource`, with the same checks
    and audit entry. `resource` must already have passed `validate_resource`
    (callers validate before they open the transaction). A refusal raises
    `guard.Denied`: run the caller's work through `run_guarded`.
    """
    if not isinstance(resource.get("id"), str):
        raise ValidationError("An update needs the resource's id.")
    resource_type, logical_id = resource["resourceType"], resource["id"]
    now = utcnow()
    existing = store.current_row(session, resource_type, logical_id)
    new_patient = compartment_of(resource)
    moved_from = check_write(session, keys, actor, resource, existing, now)
    result = store.write_version(session, keys, resource, now, existing=existing, if_match=if_match)
    current = result.row or existing
    version = current.version_id if current else 0
    if result.row is not None:
        tag = RecordsTag.RESOURCE_CREATED if result.created else RecordsTag.RESOURCE_UPDATED
        _audit_change(
            session, keys, actor, tag, resource_type, logical_id, version, new_patient, moved_from
        )
    return {
        "resourceType": resource_type,
        "id": logical_id,
        "versionId": version,
        "changed": result.changed,
        "created": result.created,
        "lastUpdated": current.last_updated if current else now,
    }


def check_write(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    resource: dict[str, Any],
    existing: FhirResource | None,
    now: datetime,
) -> str | None:
    """The checks of a create or update: the compartment the resource is in now (if it
    exists) and the one it moves to, by the matrix, the caller's own compartment and
    restrictions. Returns the patient the resource leaves when it moves (else None)."""
    if not isinstance(resource.get("id"), str):
        raise ValidationError("An update needs the resource's id.")
    resource_type, logical_id = resource["resourceType"], resource["id"]
    target = f"{resource_type}/{logical_id}"
    new_patient = compartment_of(resource)
    new_ref = keys.patient_ref(new_patient) if new_patient else None
    if existing is not None:
        ref = existing.patient_ref
        require_row(
            session, keys, actor, Action.WRITE, resource_type, target, ref, now, row=existing
        )
    if existing is None or new_ref != existing.patient_ref:
        require_row(
            session,
            keys,
            actor,
            Action.WRITE,
            resource_type,
            target,
            new_ref,
            now,
            patient=new_patient,
        )
    return _moved_from(keys, existing, new_ref)


def _moved_from(keys: RecordKeys, existing: FhirResource | None, new_ref: str | None) -> str | None:
    """The patient a live resource leaves when this write names another one (else None)."""
    if existing is None or existing.deleted or existing.patient_ref in {None, new_ref}:
        return None
    return store.patient_of_stored(keys, existing)


def restrict_compartment(
    runtime: Runtime, actor: Caller, patient_id: str, reason_code: str
) -> None:
    """Mark a patient's compartment restricted (VIP, employee, behavioural health, request)."""
    if not (actor.system or actor.role in {Role.ADMIN, Role.CLINICIAN}):
        raise PermissionDeniedError("Only clinicians and the security officer restrict records.")
    keys = RecordKeys.from_keystore(runtime.keys)
    ref, code = keys.patient_ref(patient_id), reason_code[:32]
    part = patient_part(
        keys, [patient_id], otherwise=f"Patient/{patient_id}", sealed={"reason_code": code}
    )
    with runtime.db.transaction() as session:
        session.merge(
            RestrictedCompartment(
                patient_ref=ref,
                reason_sealed=seal_reason(keys, ref, code),
                legacy_reason_code="",
                marked_by=actor.ref,
                marked_at=utcnow(),
            )
        )
        record(
            session,
            AuditEvent.by(
                actor,
                RecordsTag.COMPARTMENT_RESTRICTED,
                part.subject,
                part.details,
            ),
        )


def lift_restriction(runtime: Runtime, actor: Caller, patient_id: str) -> None:
    """The security officer lifts a restriction: staff open the record as any other again.

    Open break-glass grants are left to run out (they open nothing more than the
    record now opens anyway, and their end is audited as usual). 404 when the
    record is not restricted, so a double submit is not a second entry.
    """
    if not (actor.system or actor.role is Role.ADMIN):
        raise PermissionDeniedError("Only the security officer lifts restrictions.")
    keys = RecordKeys.from_keystore(runtime.keys)
    ref = keys.patient_ref(patient_id)
    with runtime.db.transaction() as session:
        row = session.get(RestrictedCompartment, ref, with_for_update=True)
        if row is None:
            raise NotFoundError("This record is not restricted.")
        session.delete(row)
        part = patient_part(keys, [patient_id], otherwise=f"Patient/{patient_id}")
        record(
            session, AuditEvent.by(actor, RecordsTag.RESTRICTION_LIFTED, part.subject, part.details)
        )


def seal_reason(keys: RecordKeys, patient_ref: str, reason_code: str) -> bytes:
    """A restriction's reason (VIP, employee, behavioural health, ...), bound to its compartment.

    In clear, the reason would say of a compartment (which joins to its Patient
    row) that it holds behavioural-health care: the reason is sealed, only the
    fact of a restriction, which every staff read checks, stays readable.
    """
    return crypto.encrypt(keys.seal_key, reason_code.encode(), _reason_aad(patient_ref))


def restriction_reason(runtime: Runtime, patient_id: str) -> str | None:
    """Why a compartment is restricted (None when it is not), for pages that say so."""
    keys = RecordKeys.from_keystore(runtime.keys)
    ref = keys.patient_ref(patient_id)
    with runtime.db.sessions() as session:
        row = session.get(RestrictedCompartment, ref)
    if row is None:
        return None
    if row.reason_sealed is None:
        return row.legacy_reason_code
    return crypto.decrypt(keys.seal_key, row.reason_sealed, _reason_aad(ref)).decode()


def seal_restriction_reasons(runtime: Runtime, batch: int = 200) -> int:
    """Seal reasons stored in clear before revision 0009; returns how many.

    Run at start-up after migrating (a migration has no key); each batch seals
    and clears its rows with its audit entry in one transaction, so an
    interrupted run resumes at the next start.
    """
    keys = RecordKeys.from_keystore(runtime.keys)
    pending = (
        select(RestrictedCompartment)
        .where(RestrictedCompartment.reason_sealed.is_(None))
        .limit(batch)
        .with_for_update(skip_locked=True)  # PostgreSQL: several workers share the work
    )
    done = 0
    while True:
        with runtime.db.transaction() as session:
            rows = list(session.scalars(pending))
            for row in rows:
                row.reason_sealed = seal_reason(keys, row.patient_ref, row.legacy_reason_code)
                row.legacy_reason_code = ""
            if rows:
                event = AuditEvent(
                    action=RecordsTag.REASONS_SEALED, actor="system", details={"count": len(rows)}
                )
                record(session, event)
        done += len(rows)
        if len(rows) < batch:
            return done


def _reason_aad(patient_ref: str) -> bytes:
    return f"restricted/{patient_ref}".encode()


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


def _audit_change(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    tag: RecordsTag,
    resource_type: str,
    logical_id: str,
    version: int,
    patient_id: str | None,
    previous_patient: str | None = None,
) -> None:
    """A change, filed under its patient; a move to another patient under both.
    Updates and deletes are announced to the hooks (`events.RecordChanged`)."""
    event, further = change_event(
        keys, actor, tag, resource_type, logical_id, version, patient_id, previous_patient
    )
    record_about(session, event, further)
    announce_change(session, actor, tag, resource_type, logical_id, utcnow())


def change_event(
    keys: RecordKeys,
    actor: Caller,
    tag: RecordsTag,
    resource_type: str,
    logical_id: str,
    version: int,
    patient_id: str | None,
    previous_patient: str | None = None,
) -> tuple[AuditEvent, list[str]]:
    """The audit event of one created, updated or deleted version (ids, never values),
    and the further subjects to index it under (both patients of a move)."""
    part = patient_part(
        keys,
        [p for p in (patient_id, previous_patient) if p],
        otherwise=f"{resource_type}/{logical_id}",
        resource_id=logical_id,
        sealed={"previous_patient": previous_patient} if previous_patient else None,
    )
    details: dict[str, DetailValue] = {
        "resource_type": resource_type,
        "version": version,
        **part.details,
    }
    event = AuditEvent.by(actor, tag, part.subject, details)
    return event, part.further
