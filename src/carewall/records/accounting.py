"""Accounting of record access: who looked at a patient's record, read from the audit trail.

The patient portal ("Who has looked at my record") and the staff access report
(HIPAA accounting of disclosures, 45 CFR 164.528) both come from
`access_events`, so the two can never disagree. Entries are found through the
indexed `subject` column (`Patient/<id>`, which every records entry about one
patient carries) and read from their hashed bodies, the trail's truth.

What a patient is shown is a category (demographics, clinical, financial) and a
purpose, never values: the trail holds none.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from carewall.audit import AuditEntryView, RequestOrigin, entries_about, record_from
from carewall.core import crypto
from carewall.core.clock import utcnow
from carewall.core.errors import NotFoundError, ValidationError
from carewall.core.runtime import Runtime
from carewall.identity import Role, notices, queries
from carewall.records.actors import Actor, Purpose
from carewall.records.keys import RecordKeys
from carewall.records.matrix import CLINICAL, DEMOGRAPHICS, FINANCIAL
from carewall.records.tags import PortalTag, RecordsTag

MAX_EVENTS = 200
MAX_COMMENT = 280


# Entries that mean "someone reached this patient's record" (searches are counted
# when they returned this patient alone; see `access.search_for`).
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
    """One audited access to a patient's record, without any value from the record."""

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

    @property
    def categories(self) -> tuple[str, ...]:
        """What kind of information was reached (demographics, clinical, financial)."""
        found = {category_of(t) for t in self.resource_types}
        return tuple(sorted(found)) or ("record",)

    @property
    def purpose_words(self) -> str:
        """The purpose of use in plain words."""
        return PURPOSE_WORDS.get(self.purpose, "Not stated")

    @property
    def action_words(self) -> str:
        """The action in plain words ("viewed", "changed")."""
        return _ACTION_WORDS.get(RecordsTag(self.action), "accessed")


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


def category_of(resource_type: str) -> str:
    """The field group a resource type belongs to, as the permission matrix groups them."""
    if resource_type in DEMOGRAPHICS:
        return "demographics"
    if resource_type in FINANCIAL:
        return "financial"
    if resource_type in CLINICAL:
        return "clinical"
    return "directory"


def access_events(runtime: Runtime, patient_id: str, limit: int = MAX_EVENTS) -> list[AccessEvent]:
    """Every audited access to `patient_id`'s record, newest first (at most `limit`)."""
    with runtime.db.sessions() as session:
        entries = entries_about(session, f"Patient/{patient_id}", ACCESS_ACTIONS, limit)
        people = {u.id: u for u in queries.users_overview(session)}
        own = {u.id for u in people.values() if u.role is Role.PATIENT}
    windows = _emergency_windows(entries)
    events = []
    for entry in entries:
        user_id = entry.actor.removeprefix("user:") if entry.actor.startswith("user:") else ""
        person = people.get(user_id)
        if person is None:
            who, role, name = Who.SYSTEM, "", "Data import" if entry.actor else ""
        elif user_id in own:
            who, role, name = Who.SELF, Role.PATIENT.value, "You"
        else:
            who, role = Who.STAFF, person.role.value
            name = person.display_name or person.email
        events.append(
            AccessEvent(
                seq=entry.seq,
                ts=entry.ts,
                actor=entry.actor,
                who=who,
                role=role,
                name=name,
                action=entry.action,
                resource_types=_types_of(entry),
                purpose=str(entry.details.get("purpose") or ""),
                outcome=entry.outcome,
                emergency=_is_emergency(entry, windows),
            )
        )
    return events


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
        str(e.details.get("grant")): e.ts.isoformat()
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
            group.emergency = group.emergency or event.emergency
            for items, value in (
                (group.purposes, event.purpose_words),
                (group.actions, event.action_words),
            ):
                if value not in items:
                    items.append(value)
    return sorted(groups.values(), key=lambda g: g.last_ts, reverse=True)


def flag_access(
    runtime: Runtime, actor: Actor, seq: int, comment: str, origin: RequestOrigin
) -> None:
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
    events = {e.seq: e for e in access_events(runtime, actor.patient_id, limit=10_000)}
    event = events.get(seq)
    if event is None or event.who is not Who.STAFF:
        raise NotFoundError("That access is not in your record's list.")
    keys = RecordKeys.from_keystore(runtime.keys)
    sealed = ""
    if comment.strip():
        blob = crypto.encrypt(keys.seal_key, comment.strip().encode(), f"flag/{seq}".encode())
        sealed = base64.b64encode(blob).decode()
    with runtime.db.transaction() as session:
        entry = record_from(
            session,
            PortalTag.ACCESS_FLAGGED,
            origin,
            actor=actor.user_id,
            subject=f"Patient/{actor.patient_id}",
            patient=actor.patient_id,
            flagged_seq=seq,
            flagged_actor=event.actor,
            comment_sealed=sealed or None,
        )
        notices.notify_admins(
            session,
            f"A patient flagged record access (audit entry #{seq}) as not recognised. "
            f"Review it in the access report (flag: audit entry #{entry.seq}).",
            utcnow(),
        )


def open_flag_comment(runtime: Runtime, seq: int, sealed: str) -> str:
    """The patient's comment on a flag, for the security officer's follow-up."""
    keys = RecordKeys.from_keystore(runtime.keys)
    return crypto.decrypt(keys.seal_key, base64.b64decode(sealed), f"flag/{seq}".encode()).decode()


def access_report(
    runtime: Runtime, viewer: Actor, patient_id: str, origin: RequestOrigin
) -> list[AccessEvent]:
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
    with runtime.db.transaction() as session:
        record_from(
            session,
            PortalTag.ACCOUNTING_VIEWED,
            origin,
            actor=viewer.user_id,
            subject=f"Patient/{patient_id}",
            patient=patient_id,
            count=len(events),
        )
    return events
