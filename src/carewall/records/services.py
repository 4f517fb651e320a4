"""The only code that changes resources; each change is audited in its own transaction.

Writes validate with FHIR R4 models, check the permission matrix through
`guard`, write a new encrypted version and record the audit entry, all in
one transaction. Restricting a record and break-glass are access decisions:
`access.restriction` and `access.break_glass`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carewall.audit import AuditEvent, DetailValue, record_about
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.errors import ValidationError
from carewall.core.runtime import Runtime
from carewall.records import store
from carewall.records.access.audit_patients import patient_part
from carewall.records.access.guard import require_row, require_type, run_guarded
from carewall.records.access.matrix import Action
from carewall.records.errors import ResourceGoneError, VersionConflictError
from carewall.records.events import announce_change
from carewall.records.models import FhirResource
from carewall.records.store.compartments import canonicalise, compartment_of, fhir_base
from carewall.records.store.keys import RecordKeys
from carewall.records.store.validation import validate_resource
from carewall.records.tags import RecordsTag


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
    try:
        live = check_delete(session, keys, actor, resource_type, logical_id, current, now)
    except ResourceGoneError:
        # Allowed, and deleted already. FHIR: a delete of a deleted resource has no
        # effect and succeeds. No new version and no audit entry: nothing was touched
        # (the first delete was audited).
        assert current is not None  # gone means a tombstone is current
        return _meta(
            resource_type, logical_id, current.version_id, current.last_updated, changed=False
        )
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
    return _meta(resource_type, logical_id, row.version_id, row.last_updated, changed=True)


def _meta(
    resource_type: str, logical_id: str, version: int, last_updated: datetime, *, changed: bool
) -> dict[str, Any]:
    """What a delete answers with: the tombstone's version, and whether this delete made it."""
    return {
        "resourceType": resource_type,
        "id": logical_id,
        "versionId": version,
        "lastUpdated": last_updated,
        "changed": changed,
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
