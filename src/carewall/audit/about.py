"""Entries about several subjects: one link of the chain, indexed under each subject.

A search that returns 50 patients is one event. Recording it 50 times would
grow the chain (and its verification) for nothing; instead the entry is
appended once, with the subjects listed in its hashed details by the caller,
and one small `audit_entry_subjects` row per further subject lets
`entries_about` find it under each, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import insert
from sqlalchemy.orm import Session

from carewall.audit.events import MAX_SUBJECT, AuditEvent
from carewall.audit.models import AuditEntry, AuditEntrySubject
from carewall.audit.services import defer, record, record_all_indexed

_INDEX = insert(AuditEntrySubject)


def record_about(session: Session, event: AuditEvent, subjects: Iterable[str]) -> AuditEntry:
    """Append `event` and index it under every one of `subjects` (besides its own subject).

    The caller lists the subjects in `event.details` too, so the hashed body
    stays the truth and the index can be rebuilt from it.
    """
    further = sorted({s for s in subjects if s and s != event.subject})
    if any(len(s) > MAX_SUBJECT for s in further):
        raise ValueError("audit subject is too long")
    if defer(session, ((event, further),)):
        # Appended with its index rows when the audited read ends (see `record`).
        return AuditEntry(actor=event.actor, action=event.action, subject=event.subject)
    entry = record(session, event)
    if further:
        session.execute(_INDEX, [{"subject": s, "seq": entry.seq} for s in further])
    return entry


def record_all_about(session: Session, items: Sequence[tuple[AuditEvent, Iterable[str]]]) -> None:
    """`record_all` for events that each may be about further subjects (`record_about`)."""
    listed = [
        (event, sorted({s for s in subjects if s and s != event.subject}))
        for event, subjects in items
    ]
    if any(len(s) > MAX_SUBJECT for _, further in listed for s in further):
        raise ValueError("audit subject is too long")
    if defer(session, listed):
        return
    record_all_indexed(session, listed)
