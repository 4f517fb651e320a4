"""Restricted compartments: a patient's record that staff open only through break-glass.

The security officer or a clinician restricts a record (VIP, employee,
behavioural health, the patient's request); `guard` then refuses staff outside
a live break-glass grant. The reason is kept sealed, bound to its compartment.
"""

from __future__ import annotations

from sqlalchemy import select

from carewall.audit import AuditEvent, record
from carewall.core import crypto
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.records.access.audit_patients import patient_part
from carewall.records.models import RestrictedCompartment
from carewall.records.store.keys import RecordKeys
from carewall.records.tags import RecordsTag


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


def check_linkable(runtime: Runtime, patient_id: str) -> None:
    """Refuse to link a portal account to a restricted record.

    A portal account reads its whole record without break-glass, so an account
    linked to a restricted record would be a silent way around the restriction
    (an administrator inviting a "patient" they control). The restriction must
    be lifted first, which is step-up protected and audited under the patient.
    """
    if restriction_reason(runtime, patient_id) is not None:
        raise ValidationError(
            "This record is restricted: a portal account cannot be linked to it. "
            "Lift the restriction first (Restricted records), which is audited."
        )


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
