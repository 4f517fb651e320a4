"""How records audit entries name patients: a keyed reference in clear, the ids sealed.

An audit entry is shown to auditors and kept for years, and its body is hashed
into the chain, so what it says in clear is said for good. Until revision 0009
records entries named the patient (`"patient": id`, `"patient_ids"`, subject
`Patient/{id}`) and the resource (`"id"`) in clear: with the database alone,
anyone could tie a portal account (the actor of the patient's own reads) to
their record, and the record to every staff access, break-glass and
restriction. Entries now carry, in place of those:

- `patient_refs`: one keyed reference per patient, HMAC-SHA256 under the
  vault's index key over the patient's compartment reference with its own
  label, so it matches no column of the vault without the key;
- `patients_sealed`: each patient id, AES-256-GCM under the vault's key with
  `audit-patient/{ref}` as associated data (bound to its reference);
- `sealed`: the resource id and whatever else joins to a patient's rows
  exactly (a break-glass grant's id and times, a restriction's reason),
  associated data `audit-entry/{refs}`;
- subject `patient-ref:{ref}` for an entry about one patient; an entry about
  several keeps its type as subject and is indexed under each reference
  (`audit.record_about`), as searches were.

The accounting finds an entry under both forms (`subjects_of`), so entries
written before stay in the portal and the access report, and `reveal` turns a
new-form body back into the old shape for readers that hold the key (the
accounting, access flags, the FHIR export). Old entries are never rewritten:
their bodies are hashed into the chain.

Call `patient_part` wherever a records entry names a patient; it is the only
place that decides the form.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from carewall.audit import (
    AuditEntryView,
    AuditEvent,
    DetailValue,
    entries_about,
    record_about,
)
from carewall.audit.models import AuditEntry
from carewall.core import crypto
from carewall.core.context import Caller
from carewall.records.store.keys import RecordKeys

SUBJECT_PREFIX = "patient-ref:"
LEGACY_PREFIX = "Patient/"
_LABEL = "audit-subject\x1f"
_SEALED_KEYS = ("patient_refs", "patients_sealed", "sealed")


@dataclass(frozen=True)
class PatientPart:
    """The patient part of one records audit entry: its subject, details and index."""

    subject: str
    details: dict[str, DetailValue]
    #: Further subjects to index the entry under (`audit.record_about`), for several patients.
    further: list[str]


def audit_ref(keys: RecordKeys, patient_id: str) -> str:
    """The keyed reference of a patient in the audit trail."""
    return crypto.blind_index(keys.index_key, _LABEL + keys.patient_ref(patient_id))


def patient_subject(keys: RecordKeys, patient_id: str) -> str:
    """The subject of a new-form entry about one patient."""
    return SUBJECT_PREFIX + audit_ref(keys, patient_id)


def subjects_of(keys: RecordKeys, patient_id: str) -> list[str]:
    """Every subject an entry about this patient may carry: the new form and the old."""
    return [patient_subject(keys, patient_id), LEGACY_PREFIX + patient_id]


def names_one_patient(subject: str) -> bool:
    """Whether an entry's subject is one patient (either form), not a type or a bundle."""
    return subject.startswith((SUBJECT_PREFIX, LEGACY_PREFIX))


def patient_part(
    keys: RecordKeys,
    patient_ids: Collection[str],
    *,
    otherwise: str,
    resource_id: str | None = None,
    sealed: Mapping[str, DetailValue] | None = None,
) -> PatientPart:
    """What an entry about `patient_ids` says in clear, and what it seals.

    `otherwise` is the subject when the entry is not about exactly one patient;
    `resource_id` and `sealed` go in the sealed part when there is a patient
    (they would join the entry to the patient's rows) and in clear otherwise.
    """
    ids = sorted({p for p in patient_ids if p})
    if not ids:
        clear: dict[str, DetailValue] = dict(sealed or {})
        if resource_id is not None:
            clear["id"] = resource_id
        return PatientPart(otherwise, clear, [])
    refs = [audit_ref(keys, p) for p in ids]
    details: dict[str, DetailValue] = {
        "patient_refs": refs,
        "patients_sealed": [
            _seal(keys, p.encode(), _patient_aad(r)) for p, r in zip(ids, refs, strict=True)
        ],
    }
    extra = dict(sealed or {})
    if resource_id is not None:
        extra["id"] = resource_id
    if extra:
        plain = json.dumps(extra, sort_keys=True, separators=(",", ":")).encode()
        details["sealed"] = _seal(keys, plain, _entry_aad(refs))
    if len(ids) == 1:
        return PatientPart(SUBJECT_PREFIX + refs[0], details, [])
    return PatientPart(otherwise, details, [SUBJECT_PREFIX + r for r in refs])


def record_with_part(
    session: Session,
    action: str,
    caller: Caller,
    *,
    part: PatientPart,
    **details: DetailValue,
) -> AuditEntry:
    """An entry by `caller` about patients: their part added and indexed."""
    event = AuditEvent.by(caller, action, part.subject, {**details, **part.details})
    return record_about(session, event, part.further)


def reveal(keys: RecordKeys, details: Mapping[str, Any]) -> dict[str, Any]:
    """Details in the shape entries had before 0009 (`patient`, `patient_ids`, `id`, ...).

    Old-form details come back as they are.
    """
    out = {k: v for k, v in details.items() if k not in _SEALED_KEYS}
    refs, sealed_ids = details.get("patient_refs"), details.get("patients_sealed")
    if not isinstance(refs, list) or not isinstance(sealed_ids, list):
        return out
    ids = [
        _open(keys, str(blob), _patient_aad(str(ref))).decode()
        for ref, blob in zip(refs, sealed_ids, strict=True)
    ]
    out["patient_ids"] = ids
    if len(ids) == 1:
        out["patient"] = ids[0]
    blob = details.get("sealed")
    if isinstance(blob, str) and blob:
        out.update(json.loads(_open(keys, blob, _entry_aad([str(r) for r in refs]))))
    return out


def reveal_body(keys: RecordKeys, body: Mapping[str, Any]) -> dict[str, Any]:
    """A parsed entry body with its details revealed, for exports that name the patient."""
    details = body.get("details")
    if not isinstance(details, Mapping):
        return dict(body)
    return {**body, "details": reveal(keys, details)}


def reveal_entry(keys: RecordKeys, entry: AuditEntryView) -> AuditEntryView:
    """An entry with its details revealed (see `reveal`)."""
    return replace(entry, details=reveal(keys, entry.details))


def patients_named(keys: RecordKeys, details: Mapping[str, Any]) -> list[str]:
    """The patient ids an entry names, in either form."""
    shown = reveal(keys, details)
    listed = shown.get("patient_ids")
    if isinstance(listed, list) and listed:
        return [str(p) for p in listed]
    single = shown.get("patient")
    return [str(single)] if single else []


def entries_about_patient(
    session: Session,
    keys: RecordKeys,
    patient_id: str,
    actions: Collection[str],
    limit: int = 20,
) -> list[AuditEntryView]:
    """The newest entries about one patient (old and new form), details revealed."""
    entries = entries_about(session, subjects_of(keys, patient_id), actions, limit)
    return [reveal_entry(keys, e) for e in entries]


def open_patient(keys: RecordKeys, ref: str, blob: str) -> str:
    """The patient id sealed beside keyed reference `ref` in an entry (`patients_sealed`)."""
    return _open(keys, blob, _patient_aad(ref)).decode()


def _patient_aad(ref: str) -> bytes:
    return f"audit-patient/{ref}".encode()


def _entry_aad(refs: Sequence[str]) -> bytes:
    return ("audit-entry/" + ",".join(refs)).encode()


def _seal(keys: RecordKeys, plain: bytes, aad: bytes) -> str:
    return base64.b64encode(crypto.encrypt(keys.seal_key, plain, aad)).decode()


def _open(keys: RecordKeys, blob: str, aad: bytes) -> bytes:
    return crypto.decrypt(keys.seal_key, base64.b64decode(blob), aad)
