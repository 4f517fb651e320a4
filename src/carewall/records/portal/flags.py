"""The security officer's follow-up of accesses a patient flagged as not recognised.

A flag is an audit entry (`records:access:flagged`, written by
`accounting.flag_access`) naming the flagged access by its entry number; the
patient's comment is sealed inside it. The officer lists flags, opens one (the
flagged access as the accounting shows it, plus the decrypted comment:
audited as `records:flag:viewed`) and decides it (`records:flag:resolved`).
The decision lives in `access_flag_resolutions`, one row per flag, so the
officer's list and the patient's portal can show it; a later decision replaces
the row and is audited again, so the trail keeps every one.

Only administrators (the security officer) work flags: the comment may hold
health details, which auditors do not see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carewall.audit import (
    AuditEntryView,
    entries_about,
    entries_with_action,
    entry_at,
)
from carewall.core import crypto
from carewall.core.clock import utcnow
from carewall.core.context import Caller, user_id_of
from carewall.core.errors import CarewallError, NotFoundError, ValidationError
from carewall.core.runtime import Runtime
from carewall.identity import Role, notices, queries
from carewall.records.access.audit_patients import (
    patient_part,
    patients_named,
    record_with_part,
    reveal_entry,
    subjects_of,
)
from carewall.records.models import AccessFlagResolution
from carewall.records.portal.accounting import (
    AccessEvent,
    access_events,
    event_of,
    open_flag_comment,
)
from carewall.records.store.keys import RecordKeys
from carewall.records.tags import PortalTag

MAX_NOTE = 1000
MAX_LISTED = 500
OPEN, RESOLVED = "open", "resolved"


@dataclass(frozen=True)
class Outcome:
    """A decision the officer can take, in the officer's and the patient's words."""

    code: str
    label: str
    for_patient: str


OUTCOMES: dict[str, Outcome] = {
    o.code: o
    for o in (
        Outcome(
            "legitimate",
            "Legitimate — explained to the patient",
            "The security officer checked this access: it was legitimate, part of your "
            "care or of the practice's work.",
        ),
        Outcome(
            "inappropriate",
            "Inappropriate — escalated",
            "The security officer checked this access: it was not appropriate, and it has "
            "been escalated to be dealt with.",
        ),
        Outcome(
            "duplicate",
            "Duplicate — handled with another flag",
            "The security officer looked into this access together with another one you reported.",
        ),
    )
}


class FlagConflictError(CarewallError):
    """Two officers decided the same flag at the same moment."""

    code = "conflict"
    status = 409


@dataclass(frozen=True)
class Resolution:
    """The officer's latest decision on a flag (`note` is decrypted for who may read it)."""

    outcome: Outcome
    note: str
    resolved_by: str
    resolved_by_name: str
    resolved_at: datetime


@dataclass(frozen=True)
class Flag:
    """One flag as the officer's list shows it (no comment: opening it is audited)."""

    seq: int
    flagged_at: datetime
    patient_id: str
    flagged_seq: int
    has_comment: bool
    resolution: Resolution | None

    @property
    def status(self) -> str:
        """`open` until the officer decides it, then `resolved`."""
        return OPEN if self.resolution is None else RESOLVED


@dataclass(frozen=True)
class FlagDetail:
    """What the officer needs to decide: the flag, the flagged access and its row."""

    flag: Flag
    patient_account: str
    comment: str
    access: AccessEvent | None
    row: list[AccessEvent] = field(default_factory=list)


@dataclass(frozen=True)
class PatientFlag:
    """A flag as the patient sees it next to the access they reported."""

    seq: int
    flagged_seq: int
    flagged_at: datetime
    resolution: Resolution | None


def _require_officer(viewer: Caller) -> None:
    if viewer.role is not Role.ADMIN and not viewer.system:
        raise NotFoundError("No access flags for your role.")


def list_flags(runtime: Runtime, viewer: Caller, status: str | None = None) -> list[Flag]:
    """The newest flags first, optionally only `open` or `resolved` ones."""
    _require_officer(viewer)
    keys = RecordKeys.from_keystore(runtime.keys)  # before the session (SQLite)
    with runtime.db.sessions() as session:
        entries = entries_with_action(session, [PortalTag.ACCESS_FLAGGED], limit=MAX_LISTED)
        flags = _flags(session, keys, entries, with_notes=False)
    return [f for f in flags if status in {None, ""} or f.status == status]


def open_flag(runtime: Runtime, viewer: Caller, seq: int) -> FlagDetail:
    """One flag with the patient's comment decrypted and the flagged access; audited."""
    _require_officer(viewer)
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.sessions() as session:
        entry = _flag_entry(session, seq)
        flag = _flags(session, keys, [entry], with_notes=True)[0]
        people = {u.id: u for u in queries.users_overview(session)}
    account = people.get(user_id_of(entry.actor) or "")
    sealed = entry.details.get("comment_sealed")
    comment = open_flag_comment(runtime, flag.flagged_seq, str(sealed)) if sealed else ""
    access, row = _flagged_row(runtime, flag)
    part = patient_part(keys, [flag.patient_id], otherwise="")
    with runtime.db.transaction() as session:
        record_with_part(
            session,
            PortalTag.FLAG_VIEWED,
            viewer,
            part=part,
            flag_seq=flag.seq,
            flagged_seq=flag.flagged_seq,
            comment_opened=bool(sealed),
        )
    return FlagDetail(
        flag,
        patient_account=account.email if account else "",
        comment=comment,
        access=access,
        row=row,
    )


def resolve_flag(runtime: Runtime, viewer: Caller, seq: int, outcome: str, note: str) -> None:
    """Decide a flag (again, to revise it); audited, and the patient is told to look."""
    _require_officer(viewer)
    chosen = OUTCOMES.get(outcome)
    if chosen is None:
        raise ValidationError("Choose an outcome from the list.")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise ValidationError(f"Keep the note under {MAX_NOTE} characters.")
    keys = RecordKeys.from_keystore(runtime.keys)
    sealed = crypto.encrypt(keys.seal_key, note.encode(), _note_aad(seq)) if note else None
    try:
        with runtime.db.transaction() as session:
            _decide(session, keys, viewer, _flag_entry(session, seq), chosen, sealed)
    except IntegrityError as exc:
        raise FlagConflictError(
            "Someone else decided this flag at the same moment. Reload to see their decision."
        ) from exc


def _decide(
    session: Session,
    keys: RecordKeys,
    viewer: Caller,
    flag: AuditEntryView,
    outcome: Outcome,
    sealed: bytes | None,
) -> None:
    now = utcnow()
    part = patient_part(keys, patients_named(keys, flag.details), otherwise="")
    existing = session.get(AccessFlagResolution, flag.seq)
    entry = record_with_part(
        session,
        PortalTag.FLAG_RESOLVED,
        viewer,
        part=part,
        flag_seq=flag.seq,
        flagged_seq=_int(flag.details.get("flagged_seq")),
        decision=outcome.code,
        note=sealed is not None,
        revised=existing is not None,
    )
    row = existing or AccessFlagResolution(flag_seq=flag.seq)
    row.outcome, row.note_sealed = outcome.code, sealed
    row.resolved_by, row.resolved_at, row.audit_seq = viewer.ref, now, entry.seq
    if existing is None:
        session.add(row)
    session.flush()
    if (patient_user := user_id_of(flag.actor)) is not None:
        notices.notify(
            session,
            patient_user,
            "The security officer has looked into the access to your record that you "
            "reported. See the outcome under 'Who has looked at my record'.",
            now,
        )


def flags_for_patient(runtime: Runtime, patient_id: str) -> list[PatientFlag]:
    """The patient's own flags with the officer's decision, newest first (not audited:
    it is the patient's own report)."""
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.sessions() as session:
        entries = entries_about(
            session, subjects_of(keys, patient_id), [PortalTag.ACCESS_FLAGGED], MAX_LISTED
        )
        flags = _flags(session, keys, entries, with_notes=True)
    return [PatientFlag(f.seq, f.flagged_seq, f.flagged_at, f.resolution) for f in flags]


def _flag_entry(session: Session, seq: int) -> AuditEntryView:
    entry = entry_at(session, seq)
    if entry is None or entry.action != PortalTag.ACCESS_FLAGGED:
        raise NotFoundError(f"There is no flag #{seq}.")
    return entry


def _flags(
    session: Session, keys: RecordKeys, entries: Iterable[AuditEntryView], *, with_notes: bool
) -> list[Flag]:
    entries = list(entries)
    rows = {
        r.flag_seq: r
        for r in session.scalars(
            select(AccessFlagResolution).where(
                AccessFlagResolution.flag_seq.in_([e.seq for e in entries])
            )
        )
    }
    names = {u.id: u.display_name or u.email for u in queries.users_overview(session)}
    flags = []
    for entry in entries:
        row = rows.get(entry.seq)
        resolution = None
        if row is not None and row.outcome in OUTCOMES:
            note = ""
            if with_notes and row.note_sealed:
                note = crypto.decrypt(keys.seal_key, row.note_sealed, _note_aad(entry.seq)).decode()
            resolution = Resolution(
                OUTCOMES[row.outcome],
                note,
                row.resolved_by,
                names.get(user_id_of(row.resolved_by) or "", row.resolved_by),
                row.resolved_at,
            )
        flags.append(
            Flag(
                seq=entry.seq,
                flagged_at=entry.ts,
                patient_id=next(iter(patients_named(keys, entry.details)), ""),
                flagged_seq=_int(entry.details.get("flagged_seq")),
                has_comment=bool(entry.details.get("comment_sealed")),
                resolution=resolution,
            )
        )
    return flags


def _flagged_row(runtime: Runtime, flag: Flag) -> tuple[AccessEvent | None, list[AccessEvent]]:
    """The flagged access and the portal row it stood for (same person, day and category).

    The patient pressed "I don't recognise this" on a row of the portal, which
    groups one person's accesses by day and category, so the officer sees the
    whole row, not only its first entry.
    """
    events = access_events(runtime, flag.patient_id, limit=10_000)
    access = next((e for e in events if e.seq == flag.flagged_seq), None)
    if access is None:
        access = _lone_event(runtime, flag)
        return access, [access] if access else []
    row = [
        e
        for e in events
        if e.actor == access.actor
        and e.ts.date() == access.ts.date()
        and set(e.categories) & set(access.categories)
    ]
    return access, row


def _lone_event(runtime: Runtime, flag: Flag) -> AccessEvent | None:
    """The flagged entry when it is beyond the accounting's reach (not about this patient)."""
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.sessions() as session:
        entry = entry_at(session, flag.flagged_seq)
        people = {u.id: u for u in queries.users_overview(session)}
    if entry is None:
        return None
    return event_of(reveal_entry(keys, entry), flag.patient_id, people, {})


def _note_aad(flag_seq: int) -> bytes:
    return f"flag-note/{flag_seq}".encode()


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
