"""The one chokepoint through which callers see decrypted records.

Every function checks the permission matrix (`matrix`), the caller's
compartment and break-glass restrictions (`guard`) before anything is
decrypted, and records the access in the audit trail in the same transaction
(purpose of use, patient id, resource type; never values). Nothing outside
this module calls `store.open_row`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from carewall.audit import AuditEvent, DetailValue, record, record_about
from carewall.core.clock import utcnow
from carewall.core.errors import DecryptionError
from carewall.core.runtime import Runtime
from carewall.records import store
from carewall.records.actors import Actor, Purpose
from carewall.records.guard import blocked, require_row, require_type, run_guarded
from carewall.records.keys import RecordKeys
from carewall.records.matrix import Action, allowed
from carewall.records.search import find_rows
from carewall.records.tags import RecordsTag
from carewall.records.terms import patient_id_of


@dataclass(frozen=True)
class HistoryEntry:
    """One version in a resource's history (`resource` is None for a deletion)."""

    version: int
    last_updated: datetime
    deleted: bool
    resource: dict[str, Any] | None


def get_record_for(
    runtime: Runtime, actor: Actor, resource_type: str, logical_id: str, purpose: Purpose
) -> dict[str, Any]:
    """The current version of one resource, if `actor` may see it (404/410/403 otherwise)."""
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> dict[str, Any]:
        return read_in(session, keys, actor, resource_type, logical_id, purpose)

    return run_guarded(runtime, actor, work)


def read_in(
    session: Session,
    keys: RecordKeys,
    actor: Actor,
    resource_type: str,
    logical_id: str,
    purpose: Purpose,
) -> dict[str, Any]:
    """`get_record_for` inside the caller's transaction (a transaction or batch Bundle).

    Same checks and audit entry; a refusal raises `guard.Denied`, so the caller
    runs its work through `run_guarded`, which audits it after the rollback.
    """
    row = _checked(session, keys, actor, resource_type, logical_id)
    row = store.require_live(row, resource_type, logical_id)
    resource = store.open_row(keys, row)
    _audit_read(session, actor, RecordsTag.RESOURCE_READ, row, resource, purpose)
    return resource


def vread_for(
    runtime: Runtime,
    actor: Actor,
    resource_type: str,
    logical_id: str,
    version: int,
    purpose: Purpose,
) -> dict[str, Any]:
    """One specific version (404 if there is none, 410 if it is the deletion)."""
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> dict[str, Any]:
        _checked(session, keys, actor, resource_type, logical_id)
        row = store.version_row(session, resource_type, logical_id, version)
        resource = store.open_row(keys, row)
        _audit_read(session, actor, RecordsTag.RESOURCE_READ, row, resource, purpose)
        return resource

    return run_guarded(runtime, actor, work)


def history_for(
    runtime: Runtime, actor: Actor, resource_type: str, logical_id: str, purpose: Purpose
) -> list[HistoryEntry]:
    """Every version of one resource, newest first."""
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> list[HistoryEntry]:
        current = _checked(session, keys, actor, resource_type, logical_id)
        entries = [
            HistoryEntry(
                row.version_id,
                row.last_updated,
                row.deleted,
                None if row.deleted else store.open_row(keys, row),
            )
            for row in store.history_rows(session, resource_type, logical_id)
        ]
        _audit_read(session, actor, RecordsTag.HISTORY_READ, current, None, purpose)
        return entries

    return run_guarded(runtime, actor, work)


def search_for(
    runtime: Runtime,
    actor: Actor,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    purpose: Purpose,
) -> list[dict[str, Any]]:
    """Resources of one type matching `params` that `actor` may see.

    Patients search inside their own compartment only; restricted compartments
    a staff member has not opened by break-glass are left out of the results.
    """
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> list[dict[str, Any]]:
        return search_in(session, keys, actor, resource_type, params, purpose)

    return run_guarded(runtime, actor, work)


def search_in(
    session: Session,
    keys: RecordKeys,
    actor: Actor,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    purpose: Purpose,
) -> list[dict[str, Any]]:
    """`search_for` inside the caller's transaction (a transaction or batch Bundle).

    Same compartment scope, restriction filter and audit entry; a refusal raises
    `guard.Denied`, so the caller runs its work through `run_guarded`.
    """
    require_type(actor, Action.READ, resource_type, resource_type)
    rows = find_rows(session, keys, resource_type, params, compartment=_scope(keys, actor))
    hidden = blocked(session, actor, {r.patient_ref for r in rows if r.patient_ref}, utcnow())
    rows = [row for row in rows if row.patient_ref not in hidden]
    resources = [store.open_row(keys, row) for row in rows]
    _audit_search(session, actor, resource_type, params, purpose, resources)
    return resources


def _audit_search(
    session: Session,
    actor: Actor,
    resource_type: str,
    params: Mapping[str, Sequence[str]],
    purpose: Purpose,
    resources: list[dict[str, Any]],
) -> None:
    """One entry per search, listing every patient whose data it returned (never values).

    A search inside one patient's record is filed under that patient (the indexed
    subject column). A search that returned several patients is one entry (one
    link of the chain) indexed under each of them, so every one of them finds it
    in the portal's access list and the access report.
    """
    patients = sorted({pid for r in resources if (pid := patient_id_of(r))})
    details: dict[str, DetailValue] = {
        "resource_type": resource_type,
        "params": sorted(params),
        "count": len(resources),
        "patients": len(patients),
        "purpose": str(purpose),
        "patient_ids": patients,
    }
    subject = f"Patient/{patients[0]}" if len(patients) == 1 else resource_type
    if len(patients) == 1:
        details["patient"] = patients[0]
    event = AuditEvent(
        action=RecordsTag.SEARCH_PERFORMED,
        actor=actor.user_id,
        subject=subject,
        details=details,
    )
    record_about(session, event, [f"Patient/{p}" for p in patients] if len(patients) > 1 else [])


def export_compartment(runtime: Runtime, actor: Actor, patient_id: str) -> list[dict[str, Any]]:
    """Every live resource in one patient's compartment that `actor` may read, audited."""
    keys = RecordKeys.from_keystore(runtime.keys)
    ref = keys.patient_ref(patient_id)

    def work(session: Session) -> list[dict[str, Any]]:
        require_row(
            session, keys, actor, Action.READ, "Patient", f"Patient/{patient_id}", ref, utcnow()
        )
        rows = store.compartment_rows(session, ref)
        rows = [
            r for r in rows if actor.system or allowed(actor.role, Action.READ, r.resource_type)
        ]
        resources = [store.open_row(keys, row) for row in rows]
        types = sorted({row.resource_type for row in rows})
        event = AuditEvent(
            action=RecordsTag.EXPORT_COMPLETED,
            actor=actor.user_id,
            subject=f"Patient/{patient_id}",
            details={"count": len(resources), "resource_types": types, "patient": patient_id},
        )
        record(session, event)
        return resources

    return run_guarded(runtime, actor, work)


def _scope(keys: RecordKeys, actor: Actor) -> str | None:
    """The compartment a patient's search is confined to (None: staff, by the matrix)."""
    if actor.system or actor.role.is_staff:
        return None
    return keys.patient_ref(actor.patient_id or "\x00no-patient")


def _checked(
    session: Session,
    keys: RecordKeys,
    actor: Actor,
    resource_type: str,
    logical_id: str,
) -> store.StoredVersion:
    """Load the current version and decide, before anything is decrypted."""
    target = f"{resource_type}/{logical_id}"
    row = store.current_version(session, resource_type, logical_id)
    if row is None:
        require_type(actor, Action.READ, resource_type, target)
        store.require_live(row, resource_type, logical_id)
    assert row is not None
    require_row(session, keys, actor, Action.READ, resource_type, target, row.patient_ref, utcnow())
    return row


def _audit_read(
    session: Session,
    actor: Actor,
    tag: RecordsTag,
    row: store.Version,
    resource: dict[str, Any] | None,
    purpose: Purpose,
) -> None:
    patient = patient_id_of(resource) if resource is not None else None
    details: dict[str, DetailValue] = {
        "resource_type": row.resource_type,
        "id": row.logical_id,
        "version": row.version_id,
        "purpose": str(purpose),
    }
    if patient:
        details["patient"] = patient
    subject = f"Patient/{patient}" if patient else f"{row.resource_type}/{row.logical_id}"
    record(session, AuditEvent(action=tag, actor=actor.user_id, subject=subject, details=details))


def sample_decrypts(session: Session, keys: RecordKeys, sample: int) -> tuple[int, list[str]]:
    """Decrypt up to `sample` random current records and keep nothing of them.

    The restore drill's proof that a restored copy's keys and ciphertexts
    agree. Returns how many were tried and the references of those that did
    not decrypt. No plaintext leaves this function, so nothing is audited.
    """
    rows = store.sample_rows(session, sample)
    failed = []
    for row in rows:
        try:
            store.open_row(keys, row)
        except DecryptionError:
            failed.append(f"{row.resource_type}/{row.logical_id}")
    return len(rows), failed
