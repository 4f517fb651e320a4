"""Finding a patient's audit entries as the accounting does (both subject forms, revealed)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from carewall.audit import AuditEntryView
from carewall.core.runtime import Runtime
from carewall.records.access.audit_patients import entries_about_patient
from carewall.records.store.keys import RecordKeys


def about(
    session: Session, runtime: Runtime, patient_id: str, actions: Collection[str], limit: int = 20
) -> list[AuditEntryView]:
    """The newest entries about `patient_id` with one of `actions`, details revealed.

    Keys must exist already (a record was written): creating one inside `session`'s
    transaction would wait on it under SQLite.
    """
    keys = RecordKeys.from_keystore(runtime.keys)
    return entries_about_patient(session, keys, patient_id, actions, limit)
