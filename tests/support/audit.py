"""Finding the audit entries about a patient or a subject, as the accounting does."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from carewall.audit import AuditEntryView, entries_about
from carewall.core.runtime import Runtime
from carewall.records.audit_patients import entries_about_patient
from carewall.records.keys import RecordKeys


def patient_entries(
    session: Session, runtime: Runtime, patient_id: str, actions: Collection[str], limit: int = 20
) -> list[AuditEntryView]:
    """The newest entries about `patient_id` with one of `actions`, details revealed.

    Keys must exist already (a record was written): creating one inside `session`'s
    transaction would wait on it under SQLite.
    """
    keys = RecordKeys.from_keystore(runtime.keys)
    return entries_about_patient(session, keys, patient_id, actions, limit)


def audit_about(
    runtime: Runtime, subject: str, actions: Collection[str], limit: int = 200
) -> list[AuditEntryView]:
    """The audit entries filed under `subject` (directly or as one of several subjects).

    A patient (`Patient/{id}`) is looked up the way the accounting does: under
    its keyed reference and the old clear form, with the sealed details revealed.
    """
    with runtime.db.sessions() as session:
        if subject.startswith("Patient/"):
            return patient_entries(
                session, runtime, subject.removeprefix("Patient/"), actions, limit
            )
        return entries_about(session, subject, actions, limit)
