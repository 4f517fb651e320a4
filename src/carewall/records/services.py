"""The only code that changes records; each change is audited in its own transaction.

Writes validate with FHIR R4 models, check the permission matrix through
`guard`, write a new encrypted version and record the audit entry, all in
one transaction.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carewall.audit import DetailValue, record
from carewall.core import crypto
from carewall.core.clock import utcnow
from carewall.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from carewall.core.runtime import Runtime
from carewall.records import store
from carewall.records.actors import Actor
from carewall.records.errors import VersionConflictError
from carewall.records.guard import require_row, require_type, run_guarded
from carewall.records.keys import RecordKeys
from carewall.records.matrix import BREAK_GLASS_ROLES, Action
from carewall.records.models import BreakGlassGrant, RestrictedCompartment
from carewall.records.tags import RecordsTag
from carewall.records.terms import patient_id_of
from carewall.records.validation import validate_resource

DCM = "http://dicom.nema.org/resources/ontology/DCM"
BREAK_GLASS_REASONS = frozenset(
    {"emergency", "unable-to-consent", "continuity-of-care", "patient-request", "other"}
)
MAX_BREAK_GLASS_MINUTES = 240
EMERGENCY_STOPPED_CODE = ("110138", "Emergency Override Stopped")


def create_resource(runtime: Runtime, actor: Actor, resource: dict[str, Any]) -> dict[str, Any]:
    """Store a new resource (a server-assigned id when it has none); returns its meta."""
    resource = {**resource, "id": resource.get("id") or str(uuid.uuid4())}
    return _write(runtime, actor, resource, if_match=None)


def update_resource(
    runtime: Runtime, actor: Actor, resource: dict[str, Any], *, if_match: int | None = None
) -> dict[str, Any]:
    """Write a new version; with `if_match`, only if that version is still current (412)."""
    return _write(runtime, actor, resource, if_match=if_match)


def delete_resource(
    runtime: Runtime, actor: Actor, resource_type: str, logical_id: str
) -> dict[str, Any]:
    """Soft delete: a tombstone version; history keeps every earlier version."""
    keys = RecordKeys.from_keystore(runtime.keys)
    return run_guarded(
        runtime, actor, lambda session: delete_in(session, keys, actor, resource_type, logical_id)
    )


def delete_in(
    session: Session, keys: RecordKeys, actor: Actor, resource_type: str, logical_id: str
) -> dict[str, Any]:
    """`delete_resource` inside the caller's transaction (a transaction Bundle).

    Same checks and audit entry as a single delete. A refusal raises
    `guard.Denied`: the caller runs its work through `run_guarded`, which audits
    the refusal after the rollback.
    """
    target = f"{resource_type}/{logical_id}"
    current = store.current_row(session, resource_type, logical_id)
    now = utcnow()
    if current is None:
        require_type(actor, Action.WRITE, resource_type, target)
    else:
        # Permission before "already deleted": a 410 would confirm to an outsider
        # that someone else's record exists.
        require_row(
            session, keys, actor, Action.WRITE, resource_type, target, current.patient_ref, now
        )
    live = store.require_live(current, resource_type, logical_id)
    row = store.write_tombstone(session, live, now)
    _audit_change(
        session, actor, RecordsTag.RESOURCE_DELETED, resource_type, logical_id, row.version_id, None
    )
    return {
        "resourceType": resource_type,
        "id": logical_id,
        "versionId": row.version_id,
        "lastUpdated": row.last_updated,
    }


def _write(
    runtime: Runtime,
    actor: Actor,
    resource: dict[str, Any],
    *,
    if_match: int | None,
) -> dict[str, Any]:
    # Before the transaction: no write lock held while validating.
    validate_resource(resource, max_attachment_bytes=runtime.settings.max_attachment_bytes)
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
    actor: Actor,
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
    target = f"{resource_type}/{logical_id}"
    now = utcnow()
    existing = store.current_row(session, resource_type, logical_id)
    new_patient = patient_id_of(resource)
    for ref in {
        existing.patient_ref if existing else None,
        keys.patient_ref(new_patient) if new_patient else None,
    }:
        require_row(session, keys, actor, Action.WRITE, resource_type, target, ref, now)
    result = store.write_version(session, keys, resource, now, existing=existing, if_match=if_match)
    current = result.row or existing
    version = current.version_id if current else 0
    if result.row is not None:
        tag = RecordsTag.RESOURCE_CREATED if result.created else RecordsTag.RESOURCE_UPDATED
        _audit_change(session, actor, tag, resource_type, logical_id, version, new_patient)
    return {
        "resourceType": resource_type,
        "id": logical_id,
        "versionId": version,
        "changed": result.changed,
        "created": result.created,
        "lastUpdated": current.last_updated if current else now,
    }


def restrict_compartment(runtime: Runtime, actor: Actor, patient_id: str, reason_code: str) -> None:
    """Mark a patient's compartment restricted (VIP, employee, behavioural health, request)."""
    if not (actor.system or actor.role.value in {"admin", "clinician"}):
        raise PermissionDeniedError("Only clinicians and the security officer restrict records.")
    ref = RecordKeys.from_keystore(runtime.keys).patient_ref(patient_id)
    with runtime.db.transaction() as session:
        session.merge(
            RestrictedCompartment(
                patient_ref=ref,
                reason_code=reason_code[:32],
                marked_by=actor.user_id,
                marked_at=utcnow(),
            )
        )
        record(
            session,
            actor.audit_event(
                RecordsTag.COMPARTMENT_RESTRICTED,
                f"Patient/{patient_id}",
                {"patient": patient_id, "reason_code": reason_code[:32]},
            ),
        )


def start_break_glass(
    runtime: Runtime,
    actor: Actor,
    patient_id: str,
    reason_code: str,
    reason_text: str,
    minutes: int = 60,
) -> str:
    """Open a restricted compartment for `minutes` (Emergency Override Started, DCM 110127).

    The caller (web layer) must have done step-up MFA first. Returns the grant id.
    """
    if actor.role not in BREAK_GLASS_ROLES or actor.system:
        raise PermissionDeniedError("Only clinicians can use emergency access.")
    if reason_code not in BREAK_GLASS_REASONS or not 1 <= minutes <= MAX_BREAK_GLASS_MINUTES:
        raise ValidationError("Choose a listed reason and a duration of at most 4 hours.")
    keys = RecordKeys.from_keystore(runtime.keys)
    now, grant_id = utcnow(), str(uuid.uuid4())
    sealed = crypto.encrypt(
        keys.seal_key, reason_text[:1000].encode(), f"break-glass/{grant_id}".encode()
    )
    grant = BreakGlassGrant(
        id=grant_id,
        user_id=actor.user_id,
        patient_ref=keys.patient_ref(patient_id),
        reason_code=reason_code,
        reason_sealed=sealed,
        started_at=now,
        expires_at=now + timedelta(minutes=minutes),
        ended_at=None,
    )
    with runtime.db.transaction() as session:
        session.add(grant)
        _audit_emergency(
            session,
            actor,
            RecordsTag.EMERGENCY_STARTED,
            grant,
            patient_id,
            ("110127", "Emergency Override Started"),
        )
    return grant_id


def stop_break_glass(runtime: Runtime, actor: Actor, grant_id: str, patient_id: str) -> None:
    """End a live grant early (Emergency Override Stopped, DCM 110138, reason `stopped`).

    One conditional UPDATE (this user's grant, for this patient, not ended, not
    expired) decides, so a grant that expired meanwhile, or that another request
    or the expiry sweep (`breakglass.close_expired_grants`) closed first, is
    audited once only. The row is locked before the audit chain, as in the sweep.
    """
    ref = RecordKeys.from_keystore(runtime.keys).patient_ref(patient_id)
    now = utcnow()
    stop = (
        update(BreakGlassGrant)
        .where(
            BreakGlassGrant.id == grant_id,
            BreakGlassGrant.user_id == actor.user_id,
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
    actor: Actor,
    tag: RecordsTag,
    grant: BreakGlassGrant,
    patient_id: str,
    code: tuple[str, str],
    **extra: DetailValue,
) -> None:
    record(
        session,
        actor.audit_event(
            tag,
            f"Patient/{patient_id}",
            {
                "code_system": DCM,
                "code": code[0],
                "display": code[1],
                "grant": grant.id,
                "patient": patient_id,
                "reason_code": grant.reason_code,
                "expires_at": grant.expires_at.isoformat(),
                **extra,
            },
        ),
    )


def _audit_change(
    session: Session,
    actor: Actor,
    tag: RecordsTag,
    resource_type: str,
    logical_id: str,
    version: int,
    patient_id: str | None,
) -> None:
    details: dict[str, str | int | None] = {
        "resource_type": resource_type,
        "id": logical_id,
        "version": version,
        "patient": patient_id,
    }
    subject = f"Patient/{patient_id}" if patient_id else f"{resource_type}/{logical_id}"
    record(session, actor.audit_event(tag, subject, details))
