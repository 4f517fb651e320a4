"""The patient lookup as the admin pages use it: criteria from a form, one page of identities.

The access report, access flags, the audit viewer and linking a portal account
all pick a patient this way (`records.finder.lookup_patients_for`: identity
only, audited), instead of asking for an internal record id.
"""

from __future__ import annotations

from fastapi import Request

from carewall.records.finder import Identity, PatientPage, identity_for, lookup_patients_for
from carewall.web.auth import Caller, runtime_of
from carewall.web.patient_forms import SearchCriteria

LOOKUP_PAGE = 25


def lookup(
    request: Request, caller: Caller, criteria: SearchCriteria
) -> tuple[PatientPage | None, list[str]]:
    """One page of matching identities, or the messages that say what to fix."""
    params, errors = criteria.params()
    if errors:
        return None, errors
    actor = caller
    return lookup_patients_for(runtime_of(request), actor, params, count=LOOKUP_PAGE), []


def identity(request: Request, caller: Caller, patient_id: str) -> Identity | None:
    """The identity of one record id (None: no such patient), audited as a lookup."""
    patient_id = patient_id.strip().removeprefix("Patient/")
    if not patient_id or len(patient_id) > 64:
        return None
    return identity_for(runtime_of(request), caller, patient_id)


def identities(request: Request, caller: Caller, patient_ids: list[str]) -> dict[str, Identity]:
    """Identities of several record ids at once (one audited lookup per hundred)."""
    wanted = sorted({p for p in patient_ids if p and len(p) <= 64})
    found: dict[str, Identity] = {}
    actor, runtime = caller, runtime_of(request)
    for start in range(0, len(wanted), 100):
        chunk = wanted[start : start + 100]
        page = lookup_patients_for(runtime, actor, {"_id": chunk}, count=len(chunk))
        found.update({m.identity.id: m.identity for m in page.matches})
    return found
