"""The detectors' questions answered from identity, records and the audit trail.

One `LiveFacts` lives for one detector run and caches its answers: a run reads
a few thousand entries about a few dozen people, and each person's facts are
derived once (records decrypts what it needs and hands back keyed digests and
booleans, never values).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from carewall.alerts.detectors import Failure, StaffFacts
from carewall.audit import entry_at
from carewall.core.runtime import Runtime
from carewall.identity import queries as identity_queries
from carewall.identity import throttle
from carewall.records import (
    PatientFacts,
    RecordKeys,
    audit_ref,
    family_key,
    patient_facts,
    self_record,
)


class PatientIds(Protocol):
    """Turns the patient keys of entries back into patient ids (`engine.EntryReader`)."""

    def patient_id(self, key: str) -> str:
        """The patient id behind an entry's patient key."""


class LiveFacts:
    """`Facts` backed by the running system's database (cached for one run)."""

    def __init__(self, runtime: Runtime, reader: PatientIds) -> None:
        self.runtime = runtime
        self.reader = reader
        self.keys = RecordKeys.from_keystore(runtime.keys)
        self._staff: dict[str, StaffFacts | None] | None = None
        self._patients: dict[str, PatientFacts] = {}
        self._households: dict[str, StaffFacts] = {}

    def staff(self, actor: str) -> StaffFacts | None:
        if self._staff is None:
            with self.runtime.db.sessions() as session:
                users = identity_queries.users_overview(session)
            self._staff = {
                f"user:{u.id}": StaffFacts(
                    f"user:{u.id}", str(u.role), u.email.lower(), family_key="", address_key=""
                )
                for u in users
            }
            self._names = {f"user:{u.id}": u.display_name for u in users}
        found = self._staff.get(actor)
        if found is None or found.role == "patient":
            return found
        return self._household(found)

    def _household(self, staff: StaffFacts) -> StaffFacts:
        """The staff member's family name and address keys, from their own patient record
        when they have one, else the family name from their display name."""
        known = self._households.get(staff.ref)
        if known is not None:
            return known
        own = self_record(self.runtime, staff.email)
        if own is not None:
            known = StaffFacts(
                staff.ref,
                staff.role,
                staff.email,
                own.family_key,
                own.address_key,
                audit_ref(self.keys, own.patient_id),
            )
        else:
            name = self._names.get(staff.ref, "").strip()
            family = name.split()[-1] if name else ""
            known = StaffFacts(staff.ref, staff.role, staff.email, family_key(self.runtime, family))
        self._households[staff.ref] = known
        return known

    def patient(self, patient_id: str) -> PatientFacts:
        """Facts about the patient behind an entry's key (its keyed reference)."""
        found = self._patients.get(patient_id)
        if found is None:
            real = self.reader.patient_id(patient_id)
            found = patient_facts(self.runtime, [real])[real]
            self._patients[patient_id] = found
        return found

    def failures(self, since: datetime, until: datetime) -> Sequence[Failure]:
        with self.runtime.db.sessions() as session:
            rows = throttle.failures_between(session, since, until)
        return [Failure(account, ip, at) for account, ip, at in rows]

    def actor_of(self, seq: int) -> str:
        with self.runtime.db.sessions() as session:
            entry = entry_at(session, seq)
        return entry.actor if entry is not None else ""
