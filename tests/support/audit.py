"""Finding the audit entries about a patient or a subject, as the accounting does,
and writing entries the way an older version did."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from carewall.audit import AuditEntryView, AuditEvent, entries_about
from carewall.audit.events import GENESIS_HASH, canonical_body
from carewall.core.clock import utcnow
from carewall.core.db import Database
from carewall.core.runtime import Runtime
from carewall.records.access.audit_patients import entries_about_patient
from carewall.records.store.keys import RecordKeys


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


def append_unkeyed(db: Database, events: Sequence[AuditEvent]) -> None:
    """Append entries as Carewall wrote them before revision 0015: SHA-256 links, no MAC.

    For tests that build a database at an older revision (which has no `mac` column)
    and migrate it, as an upgraded installation would be.
    """
    insert = text(
        "INSERT INTO audit_entries (seq, ts, actor, action, outcome, subject, body, entry_hash) "
        "VALUES (:seq, :ts, :actor, :action, :outcome, :subject, :body, :entry_hash)"
    )
    with db.transaction() as session:
        head = session.execute(
            text("SELECT seq, entry_hash FROM audit_entries ORDER BY seq DESC LIMIT 1")
        ).first()
        seq, prev = (head[0], bytes(head[1])) if head else (0, GENESIS_HASH)
        for event in events:
            seq += 1
            ts = utcnow()
            body = canonical_body(seq, ts, event, prev)
            prev = hashlib.sha256(body).digest()
            session.execute(
                insert,
                {
                    "seq": seq,
                    "ts": ts,
                    "actor": event.actor,
                    "action": event.action,
                    "outcome": str(event.outcome),
                    "subject": event.subject,
                    "body": body,
                    "entry_hash": prev,
                },
            )
