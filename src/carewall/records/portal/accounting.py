"""Accounting of record access: who looked at a patient's record, read from the audit trail.

The patient portal ("Who has looked at my record") and the staff access report
(HIPAA accounting of disclosures, 45 CFR 164.528) both come from
`access_events`, so the two can never disagree. Entries are found through the
indexed `subject` column (the patient's keyed reference, or `Patient/<id>` in
entries from before revision 0009: see `audit_patients`) or the audit trail's
subject index (a search that returned several patients), and read from their
hashed bodies, the trail's truth.

What a patient is shown is a category (demographics, clinical, financial) and a
purpose, never values: the trail holds none.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select

from carewall.audit import AuditEntryView, entries_about
from carewall.core import crypto
from carewall.core.clock import utcnow
from carewall.core.context import Caller, Purpose, user_id_of
from carewall.core.errors import NotFoundError, ValidationError
from carewall.core.runtime import Runtime
from carewall.identity import Role, notices, queries
from carewall.records.access.audit_patients import (
    entries_about_patient,
    names_one_patient,
    patient_part,
    record_with_part,
    subjects_of,
)
from carewall.records.access.categories import Category
from carewall.records.access.categories import category_of as category_of_type
from carewall.records.models import AccessFlagResolution
from carewall.records.store.keys import RecordKeys
from carewall.records.tags import PortalTag, RecordsTag

MAX_EVENTS = 200
MAX_COMMENT = 280
EXPIRED_REASON = "expired"
# An expiry recorded later than this after the fact says so in the access report.
_LATE = timedelta(minutes=2)
# The sealed comment lives in an audit detail (at most 500 characters of base64):
# 375 bytes, less the nonce and tag. Non-ASCII text takes more than a byte a character.
_MAX_COMMENT_BYTES = 500 // 4 * 3 - crypto.NONCE_BYTES - 16


# Entries that mean "someone reached this patient's record". A search that returned
# several patients is one entry indexed under each of them (`access.search_for`): it is
# shown as "appeared in a search result", never with the values searched for.
ACCESS_ACTIONS = frozenset(
    {
        RecordsTag.RESOURCE_READ,
        RecordsTag.HISTORY_READ,
        RecordsTag.SEARCH_PERFORMED,
        RecordsTag.EXPORT_COMPLETED,
        RecordsTag.RESOURCE_CREATED,
        RecordsTag.RESOURCE_UPDATED,
        RecordsTag.RESOURCE_DELETED,
        RecordsTag.ACCESS_DENIED,
        RecordsTag.EMERGENCY_STARTED,
        RecordsTag.EMERGENCY_STOPPED,
    }
)
SEARCH_CATEGORY = "search"
CATEGORY_WORDS = {
    "demographics": "Demographics information",
    "clinical": "Clinical information",
    "financial": "Financial information",
    "workflow": "Appointments and tasks",
    "directory": "Directory information",
    "conformance": "Forms and definitions",
    "infrastructure": "System information",
    "record": "Your record",
    SEARCH_CATEGORY: "Appeared in a search result",
}
_ACTION_WORDS = {
    RecordsTag.RESOURCE_READ: "viewed",
    RecordsTag.HISTORY_READ: "viewed the history of",
    RecordsTag.SEARCH_PERFORMED: "looked up",
    RecordsTag.EXPORT_COMPLETED: "exported",
    RecordsTag.RESOURCE_CREATED: "added to",
    RecordsTag.RESOURCE_UPDATED: "changed",
    RecordsTag.RESOURCE_DELETED: "removed from",
    RecordsTag.ACCESS_DENIED: "was refused access to",
    RecordsTag.EMERGENCY_STARTED: "started emergency access to",
    RecordsTag.EMERGENCY_STOPPED: "ended emergency access to",
}
# HL7 v3 PurposeOfUse codes in words a patient understands.
PURPOSE_WORDS = {
    Purpose.TREATMENT.value: "Your care",
    Purpose.PAYMENT.value: "Billing and payment",
    Purpose.OPERATIONS.value: "Running the practice",
    Purpose.PATIENT_REQUEST.value: "Your own request",
    Purpose.EMERGENCY.value: "Emergency care",
    Purpose.SYSTEM.value: "System administration",
}


class Who(StrEnum):
    """Whose access an entry records, as the portal groups them."""

    STAFF = "staff"
    SELF = "self"
    SYSTEM = "system"


@dataclass(frozen=True)
class AccessEvent:
    """One audited access to a patient's record, without any value from the record.

    `ts` is when it happened: for break-glass access that ended by its time limit,
    the expiry, which the entry (`recorded`) may have been written some time after.
    `search_patients` is the number of patients a search returned when this
    patient was one of several (0 otherwise).
    """

    seq: int
    ts: datetime
    actor: str
    who: Who
    role: str
    name: str
    action: str
    resource_types: tuple[str, ...]
    purpose: str
    outcome: str
    emergency: bool
    recorded: datetime | None = None
    search_patients: int = 0
    end_reason: str = ""

    @property
    def categories(self) -> tuple[str, ...]:
        """What kind of information was reached (demographics, clinical, financial), or
        "search" when the patient appeared among several in a search result."""
        if self.search_patients:
            return (SEARCH_CATEGORY,)
        found = {category_of(t) for t in self.resource_types}
        return tuple(sorted(found)) or ("record",)

    @property
    def purpose_words(self) -> str:
        """The purpose of use in plain words."""
        return PURPOSE_WORDS.get(self.purpose, "Not stated")

    @property
    def action_words(self) -> str:
        """The action in plain words ("viewed", "changed")."""
        if self.search_patients:
            return f"a search that returned {self.search_patients} patients"
        if self.end_reason == EXPIRED_REASON:
            return "emergency access ended (time limit reached)"
        return _ACTION_WORDS.get(RecordsTag(self.action), "accessed")

    @property
    def note(self) -> str:
        """What the access report adds to the action code, in words (never values)."""
        if self.search_patients:
            return f"Appeared in a search result with {self.search_patients} patients"
        if self.end_reason == EXPIRED_REASON:
            note = f"Ended by its time limit at {self.ts.strftime('%Y-%m-%d %H:%M:%S')} UTC"
            if self.recorded is not None and self.recorded - self.ts > _LATE:
                note += f" (recorded {self.recorded.strftime('%Y-%m-%d %H:%M:%S')} UTC)"
            return note
        if self.end_reason:
            return "Stopped by the user"
        return ""


@dataclass
class AccessGroup:
    """One row of the portal list: a person, a day and a category."""

    day: date
    last_ts: datetime
    who: Who
    role: str
    name: str
    category: str
    purposes: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    emergency: bool = False
    count: int = 0
    first_seq: int = 0
    seqs: list[int] = field(default_factory=list)

    @property
    def category_words(self) -> str:
        """The category as the portal says it ("Clinical information")."""
        return CATEGORY_WORDS.get(self.category, "Your record")


def category_of(resource_type: str) -> str:
    """The category a resource type belongs to, as the permission matrix groups them."""
    return str(category_of_type(resource_type) or Category.DIRECTORY)


def access_events(runtime: Runtime, patient_id: str, limit: int = MAX_EVENTS) -> list[AccessEvent]:
    """Every audited access to `patient_id`'s record, newest first (at most `limit`).

    Entries name the patient by a keyed reference since revision 0009 and by id
    before; both are found, and their details read as before (`reveal`).
    """
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.sessions() as session:
        entries = entries_about_patient(session, keys, patient_id, ACCESS_ACTIONS, limit)
        people = {u.id: u for u in queries.users_overview(session)}
    windows = _emergency_windows(entries)
    return [event_of(entry, patient_id, people, windows) for entry in entries]


def event_of(
    entry: AuditEntryView,
    patient_id: str,
    people: Mapping[str, queries.UserOverview],
    windows: dict[str, list[tuple[str, str]]],
) -> AccessEvent:
    """One entry about `patient_id` as an access event (who, what, why; no values)."""
    user_id = user_id_of(entry.actor) or ""
    person = people.get(user_id)
    if person is None:
        who, role, name = Who.SYSTEM, "", "Data import" if entry.actor else ""
    elif person.role is Role.PATIENT:
        who, role, name = Who.SELF, Role.PATIENT.value, "You"
    elif not person.role.is_person:
        # An integration feed is a system, not a member of staff a patient could flag.
        who, role = Who.SYSTEM, person.role.value
        name = f"Data feed ({person.email})"  # its address names it; its name is a label
    else:
        who, role = Who.STAFF, person.role.value
        name = person.display_name or person.email
    ended = _ended_at(entry)
    in_search = entry.action == RecordsTag.SEARCH_PERFORMED and not names_one_patient(entry.subject)
    return AccessEvent(
        seq=entry.seq,
        ts=ended or entry.ts,
        actor=entry.actor,
        who=who,
        role=role,
        name=name,
        action=entry.action,
        resource_types=_types_of(entry),
        purpose=str(entry.details.get("purpose") or ""),
        outcome=entry.outcome,
        emergency=_is_emergency(entry, windows),
        recorded=entry.ts,
        search_patients=_count(entry.details.get("patients")) if in_search else 0,
        end_reason=_end_reason(entry),
    )


def _count(value: object) -> int:
    return value if isinstance(value, int) and value > 1 else 2


def _end_reason(entry: AuditEntryView) -> str:
    if entry.action != RecordsTag.EMERGENCY_STOPPED:
        return ""
    return str(entry.details.get("reason") or "stopped")


def _ended_at(entry: AuditEntryView) -> datetime | None:
    """When a break-glass grant that ran out actually ended (its expiry)."""
    if entry.action != RecordsTag.EMERGENCY_STOPPED or not entry.details.get("ended_at"):
        return None
    try:
        return datetime.fromisoformat(str(entry.details["ended_at"]))
    except ValueError:
        return None


def _types_of(entry: AuditEntryView) -> tuple[str, ...]:
    types = entry.details.get("resource_types")
    if isinstance(types, list):
        return tuple(str(t) for t in types)
    single = entry.details.get("resource_type")
    if single:
        return (str(single),)
    if entry.action in {RecordsTag.EMERGENCY_STARTED, RecordsTag.EMERGENCY_STOPPED}:
        return ("Patient",)
    return ()


def _emergency_windows(entries: Iterable[AuditEntryView]) -> dict[str, list[tuple[str, str]]]:
    """Per actor, the (started, ended) ISO times of their break-glass grants."""
    windows: dict[str, list[tuple[str, str]]] = {}
    stopped = {
        str(e.details.get("grant")): (_ended_at(e) or e.ts).isoformat()
        for e in entries
        if e.action == RecordsTag.EMERGENCY_STOPPED
    }
    for e in entries:
        if e.action == RecordsTag.EMERGENCY_STARTED:
            grant = str(e.details.get("grant"))
            end = stopped.get(grant) or str(e.details.get("expires_at") or "")
            windows.setdefault(e.actor, []).append((e.ts.isoformat(), end))
    return windows


def _is_emergency(entry: AuditEntryView, windows: dict[str, list[tuple[str, str]]]) -> bool:
    """Break-glass itself, a read for emergency treatment, or a read inside a live grant."""
    if entry.action in {RecordsTag.EMERGENCY_STARTED, RecordsTag.EMERGENCY_STOPPED}:
        return True
    if entry.details.get("purpose") == Purpose.EMERGENCY.value:
        return True
    ts = entry.ts.isoformat()
    return any(start <= ts <= end for start, end in windows.get(entry.actor, []))


def group_for_portal(events: Iterable[AccessEvent]) -> list[AccessGroup]:
    """One row per person per day per category, newest first; the patient's own reads and
    imports are left to `Who.SELF` / `Who.SYSTEM` rows the page shows apart."""
    groups: dict[tuple[date, str, str], AccessGroup] = {}
    for event in events:
        for category in event.categories:
            key = (event.ts.date(), event.actor, category)
            group = groups.get(key)
            if group is None:
                group = AccessGroup(
                    event.ts.date(),
                    event.ts,
                    event.who,
                    event.role,
                    event.name,
                    category,
                    first_seq=event.seq,
                )
                groups[key] = group
            group.count += 1
            group.last_ts = max(group.last_ts, event.ts)
            group.seqs.append(event.seq)
            group.emergency = group.emergency or event.emergency
            for items, value in (
                (group.purposes, event.purpose_words),
                (group.actions, event.action_words),
            ):
                if value not in items:
                    items.append(value)
    return sorted(groups.values(), key=lambda g: g.last_ts, reverse=True)


def flag_access(runtime: Runtime, actor: Caller, seq: int, comment: str) -> None:
    """A patient does not recognise an access: alert the security officers and audit it.

    The entry must be a staff access to this patient's own record; anything else is
    answered as "not found" so a patient learns nothing about other entries. The
    comment may hold health details, so it is kept only sealed (AES-GCM under the
    vault's key) in the audit entry, and the officers' notice names entry numbers only.
    """
    if actor.patient_id is None:
        raise NotFoundError("No linked record.")
    if len(comment) > MAX_COMMENT:
        raise ValidationError(f"Keep the comment under {MAX_COMMENT} characters.")
    if len(comment.strip().encode()) > _MAX_COMMENT_BYTES:  # accents and scripts take more
        raise ValidationError("That comment is too long to store; please shorten it.")
    events = {e.seq: e for e in access_events(runtime, actor.patient_id, limit=10_000)}
    event = events.get(seq)
    if event is None or event.who is not Who.STAFF:
        raise NotFoundError("That access is not in your record's list.")
    if _open_flag_on(runtime, actor.patient_id, seq):
        raise ValidationError(
            "You have already reported this access; the security officer is looking into it."
        )
    keys = RecordKeys.from_keystore(runtime.keys)
    sealed = ""
    if comment.strip():
        blob = crypto.encrypt(keys.seal_key, comment.strip().encode(), f"flag/{seq}".encode())
        sealed = base64.b64encode(blob).decode()
    part = patient_part(keys, [actor.patient_id], otherwise="")
    with runtime.db.transaction() as session:
        entry = record_with_part(
            session,
            PortalTag.ACCESS_FLAGGED,
            actor,
            part=part,
            flagged_seq=seq,
            flagged_actor=event.actor,
            comment_sealed=sealed or None,
        )
        notices.notify_admins(
            session,
            f"A patient flagged record access (audit entry #{seq}) as not recognised. "
            f"Review and resolve it under Access flags (flag #{entry.seq}).",
            utcnow(),
        )


def _open_flag_on(runtime: Runtime, patient_id: str, flagged_seq: int) -> bool:
    """Whether the patient has an undecided flag on this access already."""
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.sessions() as session:
        flags = [
            e.seq
            for e in entries_about(
                session, subjects_of(keys, patient_id), [PortalTag.ACCESS_FLAGGED], 10_000
            )
            if e.details.get("flagged_seq") == flagged_seq
        ]
        decided = set(
            session.scalars(
                select(AccessFlagResolution.flag_seq).where(
                    AccessFlagResolution.flag_seq.in_(flags)
                )
            )
        )
    return any(seq not in decided for seq in flags)


def open_flag_comment(runtime: Runtime, seq: int, sealed: str) -> str:
    """The patient's comment on a flag, for the security officer's follow-up."""
    keys = RecordKeys.from_keystore(runtime.keys)
    return crypto.decrypt(keys.seal_key, base64.b64decode(sealed), f"flag/{seq}".encode()).decode()


def access_report(runtime: Runtime, viewer: Caller, patient_id: str) -> list[AccessEvent]:
    """The staff accounting of disclosures for one patient, audited as looked at.

    Only the security officer and auditors ask for it; they see who, when, what type
    and why, never values (the trail holds none).
    """
    if viewer.role not in {Role.ADMIN, Role.AUDITOR} and not viewer.system:
        raise NotFoundError("No access report for your role.")
    patient_id = patient_id.strip()
    if not patient_id or len(patient_id) > 64:
        raise ValidationError("Enter the patient's record id.")
    events = access_events(runtime, patient_id, limit=10_000)
    part = patient_part(RecordKeys.from_keystore(runtime.keys), [patient_id], otherwise="")
    with runtime.db.transaction() as session:
        record_with_part(
            session,
            PortalTag.ACCOUNTING_VIEWED,
            viewer,
            part=part,
            count=len(events),
        )
    return events
