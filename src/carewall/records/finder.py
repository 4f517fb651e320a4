"""Finding patients: the staff search that shows restricted records, and the identity lookup.

Part of the records chokepoint (with `access`): these functions decide, decrypt
and audit, and return less than a record.

- `find_patients_for` is the staff search (clinicians, front desk, billing). A
  restricted record the caller has not opened by break-glass is not left out,
  as a FHIR search leaves it out: it comes back as a `PatientMatch` with
  `restricted` set and identity only (name and birth date), so the clinician
  sees it exists and can ask for emergency access. The rest come back whole.
- `lookup_patients_for` is the security officer's and the auditor's lookup
  (the access report, flags, linking a portal account, the audit viewer's
  patient filter): name, birth date and identifiers only, never clinical data,
  restricted or not, audited as `records:patient:looked-up`.

Both page in the database (keyset on the logical id, one row more than the
page tells whether another follows) and count the matches, so a search never
decrypts more than one page. Every patient shown is named in the audit entry,
so it appears in that patient's accounting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carewall.audit import AuditEvent, DetailValue, record_about
from carewall.core import crypto
from carewall.core.clock import utcnow
from carewall.core.context import Caller, Purpose
from carewall.core.errors import PermissionDeniedError
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records import store
from carewall.records.access.audit_patients import patient_part
from carewall.records.access.guard import blocked, require_type, run_guarded_read
from carewall.records.access.matrix import Action
from carewall.records.models import BreakGlassGrant, FhirResource, RestrictedCompartment
from carewall.records.store.keys import RecordKeys
from carewall.records.store.search import count_rows, find_rows
from carewall.records.store.terms import FOLDED_IDENTIFIER
from carewall.records.tags import RecordsTag

LOOKUP_ROLES = frozenset({Role.ADMIN, Role.AUDITOR})
MAX_PAGE = 100


@dataclass(frozen=True)
class Identity:
    """Who a Patient record is about, and nothing else: what a restricted match and the
    lookup may show."""

    id: str
    family: str
    given: str
    birth_date: str
    identifiers: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        """ "Family, Given" as lists show it (the id when the record has no name)."""
        parts = [p for p in (self.family, self.given) if p]
        return ", ".join(parts) or self.id


@dataclass(frozen=True)
class PatientMatch:
    """One search result: the whole Patient, or identity only when it is restricted."""

    identity: Identity
    restricted: bool
    resource: dict[str, Any] | None


@dataclass(frozen=True)
class PatientPage:
    """One page of matches; `total` counts them all, `next_after` starts the next page."""

    matches: list[PatientMatch]
    total: int
    next_after: str | None


def identity_of(patient: Mapping[str, Any], *, identifiers: bool) -> Identity:
    """Name (the official one, else the first), birth date and, if asked, identifiers."""
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = " ".join(str(g) for g in name.get("given") or [] if isinstance(g, str))
    idents: tuple[str, ...] = ()
    if identifiers:
        idents = tuple(
            str(i["value"])
            for i in patient.get("identifier") or []
            if isinstance(i, dict) and isinstance(i.get("value"), str)
        )
    return Identity(
        id=str(patient.get("id", "")),
        family=str(name.get("family") or ""),
        given=given,
        birth_date=str(patient.get("birthDate") or ""),
        identifiers=idents,
    )


def find_patients_for(
    runtime: Runtime,
    actor: Caller,
    params: Mapping[str, Sequence[str]],
    purpose: Purpose,
    *,
    count: int,
    after: str = "",
) -> PatientPage:
    """Patients matching `params` for a staff member, restricted ones as identity only."""
    if actor.role is None or not actor.role.is_staff or actor.role in LOOKUP_ROLES:
        raise PermissionDeniedError("Patient search is for clinical and front-office staff.")
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> PatientPage:
        require_type(actor, Action.READ, "Patient", "Patient")
        rows, total, following = _page(session, keys, params, count, after)
        hidden = blocked(session, actor, {r.patient_ref for r in rows if r.patient_ref}, utcnow())
        matches = [_match(keys, row, row.patient_ref in hidden) for row in rows]
        restricted = sum(m.restricted for m in matches)
        ids = [m.identity.id for m in matches]
        _audit(session, keys, actor, RecordsTag.SEARCH_PERFORMED, params, purpose, ids, restricted)
        return PatientPage(matches, total, following)

    return run_guarded_read(runtime, actor, work)


def lookup_patients_for(
    runtime: Runtime,
    actor: Caller,
    params: Mapping[str, Sequence[str]],
    *,
    count: int,
    after: str = "",
) -> PatientPage:
    """Identity only (name, birth date, identifiers) of matching patients, for the security
    officer and the auditor; restricted records included, nothing clinical ever."""
    if not (actor.system or actor.role in LOOKUP_ROLES):
        raise PermissionDeniedError("The patient lookup is for the security officer and auditors.")
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> PatientPage:
        rows, total, following = _page(session, keys, params, count, after)
        matches = [
            PatientMatch(identity_of(store.open_row(keys, row), identifiers=True), False, None)
            for row in rows
        ]
        ids = [m.identity.id for m in matches]
        purpose = Purpose.OPERATIONS
        _audit(session, keys, actor, RecordsTag.PATIENT_LOOKED_UP, params, purpose, ids, 0)
        return PatientPage(matches, total, following)

    return run_guarded_read(runtime, actor, work)


def identity_for(runtime: Runtime, actor: Caller, patient_id: str) -> Identity | None:
    """One patient's identity by logical id (the lookup of a known id: flags, a linked
    account), audited like a lookup; None when there is no such live Patient."""
    page = lookup_patients_for(runtime, actor, {"_id": [patient_id]}, count=1)
    return page.matches[0].identity if page.matches else None


def _page(
    session: Session,
    keys: RecordKeys,
    params: Mapping[str, Sequence[str]],
    count: int,
    after: str,
) -> tuple[list[FhirResource], int, str | None]:
    """One page of current Patient rows (restricted included) and the number of matches.

    An identifier is looked up with its case, accents and spacing folded: staff type
    record numbers as they read them (FHIR's `identifier` matches the value as written).
    """
    params = {FOLDED_IDENTIFIER if k == "identifier" else k: v for k, v in params.items()}
    size = max(1, min(count, MAX_PAGE))
    rows = find_rows(session, keys, "Patient", params, limit=size + 1, after=after)
    shown = rows[:size]
    total = count_rows(session, keys, "Patient", params)
    following = shown[-1].logical_id if len(rows) > size else None
    return shown, total, following


def _match(keys: RecordKeys, row: FhirResource, restricted: bool) -> PatientMatch:
    resource = store.open_row(keys, row)
    if restricted:  # name and birth date only: nothing else leaves this function
        return PatientMatch(identity_of(resource, identifiers=False), True, None)
    return PatientMatch(identity_of(resource, identifiers=True), False, resource)


def _audit(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    tag: RecordsTag,
    params: Mapping[str, Sequence[str]],
    purpose: Purpose,
    patient_ids: list[str],
    restricted: int,
) -> None:
    """One entry naming every patient shown (so each finds it in their accounting)."""
    part = patient_part(keys, patient_ids, otherwise="Patient")
    details: dict[str, DetailValue] = {
        "resource_type": "Patient",
        "params": sorted(params),
        "count": len(patient_ids),
        "patients": len(set(patient_ids)),
        "restricted": restricted,
        "purpose": str(purpose),
        **part.details,
    }
    record_about(session, AuditEvent.by(actor, tag, part.subject, details), part.further)


@dataclass(frozen=True)
class RestrictedRecord:
    """A restricted record as the security officer's list shows it."""

    identity: Identity
    reason: str
    marked_by: str
    marked_at: datetime


@dataclass(frozen=True)
class ActiveGrant:
    """A live break-glass grant: who holds it, for whom, why (the code) and until when."""

    grant_id: str
    user_id: str
    identity: Identity
    reason_code: str
    started_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class RestrictionsOverview:
    """Every restricted record and every live grant, named (identity only)."""

    records: list[RestrictedRecord]
    grants: list[ActiveGrant]


def restrictions_for(runtime: Runtime, actor: Caller) -> RestrictionsOverview:
    """The security officer's list of restricted records and live grants, audited as a
    lookup of the patients it names. A compartment with no live Patient shows its id as
    unknown (a restriction made before the record was imported)."""
    if not (actor.system or actor.role is Role.ADMIN):
        raise PermissionDeniedError("The list of restricted records is for the security officer.")
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> RestrictionsOverview:
        now = utcnow()
        marks = list(session.scalars(select(RestrictedCompartment)))
        grants = list(
            session.scalars(
                select(BreakGlassGrant)
                .where(BreakGlassGrant.ended_at.is_(None), BreakGlassGrant.expires_at > now)
                .order_by(BreakGlassGrant.expires_at)
            )
        )
        names = _identities(
            session, keys, {m.patient_ref for m in marks} | {g.patient_ref for g in grants}
        )
        records = [
            RestrictedRecord(
                names.get(m.patient_ref, _UNKNOWN),
                _reason(keys, m),
                m.marked_by,
                m.marked_at,
            )
            for m in marks
        ]
        records.sort(key=lambda r: (r.identity.family, r.identity.given))
        live = [
            ActiveGrant(
                g.id,
                g.user_id,
                names.get(g.patient_ref, _UNKNOWN),
                g.reason_code,
                g.started_at,
                g.expires_at,
            )
            for g in grants
        ]
        ids = sorted({i.id for i in names.values()})
        _audit(
            session,
            keys,
            actor,
            RecordsTag.PATIENT_LOOKED_UP,
            {"restricted": []},
            Purpose.OPERATIONS,
            ids,
            len(records),
        )
        return RestrictionsOverview(records, live)

    return run_guarded_read(runtime, actor, work)


_UNKNOWN = Identity(id="", family="", given="", birth_date="")


def _identities(session: Session, keys: RecordKeys, refs: set[str]) -> dict[str, Identity]:
    """The identity of the current Patient of each compartment reference."""
    if not refs:
        return {}
    rows = session.scalars(
        select(FhirResource).where(
            FhirResource.resource_type == "Patient",
            FhirResource.is_current.is_(True),
            FhirResource.deleted.is_(False),
            FhirResource.patient_ref.in_(sorted(refs)),
        )
    )
    return {
        row.patient_ref: identity_of(store.open_row(keys, row), identifiers=True)
        for row in rows
        if row.patient_ref
    }


def _reason(keys: RecordKeys, mark: RestrictedCompartment) -> str:
    if mark.reason_sealed is None:
        return mark.legacy_reason_code
    aad = f"restricted/{mark.patient_ref}".encode()
    return crypto.decrypt(keys.seal_key, mark.reason_sealed, aad).decode()


__all__ = [
    "LOOKUP_ROLES",
    "ActiveGrant",
    "Identity",
    "PatientMatch",
    "PatientPage",
    "RestrictedRecord",
    "RestrictionsOverview",
    "find_patients_for",
    "identity_for",
    "identity_of",
    "lookup_patients_for",
    "restrictions_for",
]
