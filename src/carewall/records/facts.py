"""Facts about patients for the access detectors, derived from the records, never their values.

The alerts domain asks questions of the vault that need its contents: does a
clinician have a care relationship with this patient (an encounter, an
appointment or a care team naming them), is the patient deceased, a VIP, an
employee or restricted, do they share a family name or address with the member
of staff who opened the record? This module decrypts what it needs and hands
back only derived facts: booleans, the staff emails of the patient's carers,
and keyed digests (the vault's blind index) of the family name and address, so
two of them can be compared without either value leaving the vault.

Reading here is not an access to a record by a person, so it writes no audit
entry (the detectors' own findings are audited as alerts).

A member of staff is linked to a Practitioner by the Practitioner's e-mail
address (`telecom`) or an identifier in the `urn:carewall:user` system with
their email; and to their own patient record, when they are also a patient,
by the same e-mail on the Patient.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carewall.core.runtime import Runtime
from carewall.records import store
from carewall.records.models import FhirResource, RestrictedCompartment
from carewall.records.store.keys import RecordKeys
from carewall.records.store.search import find_rows
from carewall.records.store.terms import normalise

CARE_TYPES = frozenset({"Encounter", "Appointment", "CareTeam", "EpisodeOfCare"})
USER_SYSTEM = "urn:carewall:user"
# meta.security / meta.tag codes that mark a record for closer watch.
VIP_CODES = frozenset({"VIP", "vip", "CEL", "celebrity"})
EMPLOYEE_CODES = frozenset({"EMP", "EMPL", "employee", "staff"})


@dataclass(frozen=True)
class PatientFacts:
    """What the detectors may know about one patient: no name, address or date."""

    patient_id: str
    exists: bool = False
    deceased: bool = False
    vip: bool = False
    employee: bool = False
    restricted: bool = False
    family_key: str = ""
    address_key: str = ""
    carers: frozenset[str] = frozenset()


def patient_facts(runtime: Runtime, patient_ids: Iterable[str]) -> dict[str, PatientFacts]:
    """Facts about each of these patients (one read transaction)."""
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.read_transaction() as session:
        return {pid: _facts(session, keys, pid) for pid in dict.fromkeys(patient_ids)}


def self_record(runtime: Runtime, email: str) -> PatientFacts | None:
    """The patient record of a member of staff who is also a patient (by e-mail)."""
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.read_transaction() as session:
        rows = find_rows(session, keys, "Patient", {"email": [email]}, limit=1)
        return _facts(session, keys, rows[0].logical_id) if rows else None


def family_key(runtime: Runtime, family: str) -> str:
    """The keyed digest of a family name, comparable with `PatientFacts.family_key`."""
    keys = RecordKeys.from_keystore(runtime.keys)
    return keys.blind("Patient", "family", normalise(family)) if family.strip() else ""


def _facts(session: Session, keys: RecordKeys, patient_id: str) -> PatientFacts:
    row = store.current_row(session, "Patient", patient_id)
    if row is None or row.deleted or row.ciphertext is None:
        return PatientFacts(patient_id)
    patient = store.open_row(keys, row)
    ref = keys.patient_ref(patient_id)
    restricted = session.get(RestrictedCompartment, ref) is not None
    codes = {str(c.get("code", "")) for c in _labels(patient)}
    return PatientFacts(
        patient_id=patient_id,
        exists=True,
        deceased=bool(patient.get("deceasedBoolean")) or bool(patient.get("deceasedDateTime")),
        vip=bool(codes & VIP_CODES),
        employee=bool(codes & EMPLOYEE_CODES),
        restricted=restricted,
        family_key=_family(keys, patient),
        address_key=_address(keys, patient),
        carers=_carers(session, keys, ref),
    )


def _labels(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    meta = resource.get("meta")
    if not isinstance(meta, dict):
        return
    for name in ("security", "tag"):
        for item in meta.get(name) or ():
            if isinstance(item, dict):
                yield item


def _family(keys: RecordKeys, patient: dict[str, Any]) -> str:
    for name in patient.get("name") or ():
        if isinstance(name, dict) and isinstance(name.get("family"), str) and name["family"]:
            return keys.blind("Patient", "family", normalise(name["family"]))
    return ""


def _address(keys: RecordKeys, patient: dict[str, Any]) -> str:
    for address in patient.get("address") or ():
        if not isinstance(address, dict):
            continue
        lines = [str(x) for x in address.get("line") or () if isinstance(x, str)]
        parts = [*lines, str(address.get("postalCode") or "")]
        text = normalise(" ".join(p for p in parts if p))
        if lines:
            return keys.blind("Patient", "address", text)
    return ""


def _carers(session: Session, keys: RecordKeys, ref: str) -> frozenset[str]:
    """E-mails of the practitioners named by the patient's encounters, appointments and
    care teams."""
    practitioners: set[str] = set()
    rows = session.scalars(
        select(FhirResource).where(
            FhirResource.patient_ref == ref,
            FhirResource.is_current.is_(True),
            FhirResource.deleted.is_(False),
            FhirResource.resource_type.in_(sorted(CARE_TYPES)),
        )
    )
    for row in rows:
        practitioners.update(_practitioner_ids(store.open_row(keys, row)))
    emails: set[str] = set()
    for pid in sorted(practitioners):
        found = store.current_row(session, "Practitioner", pid)
        if found is not None and found.ciphertext is not None and not found.deleted:
            emails.update(_emails(store.open_row(keys, found)))
    return frozenset(emails)


def _practitioner_ids(value: Any) -> Iterator[str]:
    """Every `Practitioner/<id>` reference anywhere in a resource."""
    if isinstance(value, dict):
        reference = value.get("reference")
        if isinstance(reference, str) and "Practitioner/" in reference:
            yield reference.rpartition("Practitioner/")[2].split("/")[0]
        for item in value.values():
            yield from _practitioner_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _practitioner_ids(item)


def _emails(practitioner: dict[str, Any]) -> Iterator[str]:
    for contact in practitioner.get("telecom") or ():
        if isinstance(contact, dict) and contact.get("system") == "email":
            yield str(contact.get("value", "")).strip().lower()
    for ident in practitioner.get("identifier") or ():
        if isinstance(ident, dict) and ident.get("system") == USER_SYSTEM:
            yield str(ident.get("value", "")).strip().lower()
