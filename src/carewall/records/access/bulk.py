"""Bulk Data export through the chokepoint: who may export, what, and each page.

An export reads what the requester could read through the FHIR API, no more: the
permission matrix by type, a patient's own compartment for patients, and
restricted compartments left out unless the requester holds a grant (the same
`guard` decisions as a search). A Group export reads the Group as the requester
(matrix, compartment) and exports its Patient members' compartments, with the
rules of a Patient-level export; `_typeFilter` narrows a type through the search
a client would run (`store.search.matching_ids`). Pages are read and decrypted
here, unaudited one by one: the export is audited once when requested and once
when its files are written (`records.bulk.services`), with the number of
patients, resources and types, so the bulk-export detector sees one entry per
export.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError, PermissionDeniedError
from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.records import store
from carewall.records.access.guard import (
    Denied,
    hidden_compartments,
    require_row,
    require_type,
    run_guarded_read,
)
from carewall.records.access.matrix import Action, allowed
from carewall.records.models import FhirResource
from carewall.records.store.export import export_rows
from carewall.records.store.keys import RecordKeys
from carewall.records.store.validation import SUPPORTED_TYPES

#: Roles that may start an export at all (admins only after a fresh second factor).
EXPORTERS = frozenset({Role.ADMIN, Role.INTEGRATION})


class Level(StrEnum):
    """The kick-off endpoints: `/$export`, `/Patient/$export`, `/Patient/{id}/$export`,
    `/Group/{id}/$export`."""

    SYSTEM = "system"
    PATIENTS = "patients"
    PATIENT = "patient"
    GROUP = "group"


@dataclass(frozen=True)
class TypeFilter:
    """One `_typeFilter`: a search of one type (parameters checked by the web layer)."""

    resource_type: str
    params: Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class Scope:
    """What one export covers: its level, the patient of a one-patient export or the
    Group of a Group export, `_since`, and the `_typeFilter` searches (a type with
    filters exports the resources any of them matches; a type without, all)."""

    level: Level
    patient_id: str | None = None
    since: datetime | None = None
    group_id: str | None = None
    filters: tuple[TypeFilter, ...] = field(default=())

    def filters_of(self, resource_type: str) -> list[Mapping[str, Sequence[str]]]:
        """The parameters of each `_typeFilter` of one type."""
        return [f.params for f in self.filters if f.resource_type == resource_type]


@dataclass(frozen=True)
class Authorised:
    """A kick-off allowed: the types to export, and a Group export's number of members."""

    types: list[str]
    members: int | None = None


@dataclass(frozen=True)
class ExportPage:
    """One page of one type: the resources, the patients they belong to, where to go on."""

    resources: list[dict[str, Any]]
    patients: dict[str, str]  # compartment reference -> Patient id, new on this page
    next_after: str | None


def authorise_export(
    runtime: Runtime, actor: Caller, scope: Scope, asked: Sequence[str], *, stepped_up: bool
) -> Authorised:
    """Decide a kick-off and return the types it will export (refusals audited).

    Admins need a fresh second factor (`stepped_up`: a browser session that
    proved one within the step-up window; a token cannot); the integration role
    needs nothing more than its `fhir:read` token; a patient may export only
    their own compartment (`Patient/{id}/$export` with their id: another id is
    404, as any read of it); a Group export needs the Group readable as a read of
    it would (404 if there is none). Named types must all be readable by the
    role (403 otherwise); with none named, the types the role may read are
    exported.
    """
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> Authorised:
        _require_exporter(actor, scope, stepped_up=stepped_up)
        if scope.level is Level.PATIENT and scope.patient_id is not None:
            target = f"Patient/{scope.patient_id}"
            ref = keys.patient_ref(scope.patient_id)
            require_row(session, keys, actor, Action.READ, "Patient", target, ref, utcnow())
            _require_live(session, "Patient", scope.patient_id)
        members = None
        if scope.level is Level.GROUP and scope.group_id is not None:
            members = len(group_members(session, keys, actor, scope.group_id))
        for resource_type in asked:
            require_type(actor, Action.READ, resource_type, f"{resource_type}/$export")
        if asked:
            return Authorised(list(asked), members)
        readable = sorted(t for t in SUPPORTED_TYPES if actor.system or _readable(actor, t))
        return Authorised(readable, members)

    return run_guarded_read(runtime, actor, work)


def _readable(actor: Caller, resource_type: str) -> bool:
    return allowed(actor.role, Action.READ, resource_type)


def _require_live(session: Session, resource_type: str, logical_id: str) -> FhirResource:
    """The current row of `resource_type/logical_id`; 404 when there is none or it was
    deleted (an export of it would be empty, and a client must not take that for data)."""
    row = store.current_rows(session, resource_type, [logical_id]).get(logical_id)
    if row is None or row.deleted:
        raise NotFoundError(f"{resource_type}/{logical_id[:64]} does not exist.")
    return row


def group_members(session: Session, keys: RecordKeys, actor: Caller, group_id: str) -> list[str]:
    """The Patient ids a Group names as active members (`member.entity`, not `inactive`),
    read as `actor` would read the Group: matrix, compartment, restriction; 404 when
    there is no such live Group. Members that are not Patients are not followed."""
    target = f"Group/{group_id}"
    require_type(actor, Action.READ, "Group", target)
    row = _require_live(session, "Group", group_id)
    require_row(session, keys, actor, Action.READ, "Group", target, row.patient_ref, utcnow())
    group = store.open_row(keys, row)
    found: list[str] = []
    for member in group.get("member") or []:
        entity = member.get("entity") if isinstance(member, dict) else None
        text = entity.get("reference") if isinstance(entity, dict) else None
        if member.get("inactive") is True or not isinstance(text, str):
            continue
        kind, _, patient_id = text.partition("/")
        if kind == "Patient" and patient_id and "/" not in patient_id and patient_id not in found:
            found.append(patient_id)
    return found


def _require_exporter(actor: Caller, scope: Scope, *, stepped_up: bool) -> None:
    target = {
        Level.PATIENT: f"Patient/{scope.patient_id}",
        Level.GROUP: f"Group/{scope.group_id}",
    }.get(scope.level, "$export")
    if actor.system or actor.role is Role.INTEGRATION:
        return
    if actor.role is Role.ADMIN:
        if stepped_up:
            return
        error = PermissionDeniedError(
            "An administrator's export needs a browser session with a second factor "
            "confirmed in the last few minutes (step-up); API tokens of administrators "
            "cannot export."
        )
        raise Denied(error, "$export", target, "step-up")
    if actor.role is Role.PATIENT and scope.level is Level.PATIENT:
        return  # confined to their own compartment by `require_row`
    error = PermissionDeniedError("Your role may not run a Bulk Data export.")
    raise Denied(error, "$export", target, "role")


def export_page_for(
    runtime: Runtime,
    actor: Caller,
    scope: Scope,
    resource_type: str,
    *,
    after: str,
    limit: int,
    known: Collection[str] = (),
) -> ExportPage:
    """The next `limit` resources of one type the requester may read, decrypted.

    Decided again on every page (a restriction or a revoked grant takes effect
    mid-export); a refusal is audited and raised like any read's. `known` are the
    compartments whose patient an earlier page already named: they are not
    looked up again (finding a row's patient costs an HMAC per candidate
    reference, most of an export's time when done for every row).
    """
    keys = RecordKeys.from_keystore(runtime.keys)

    def work(session: Session) -> ExportPage:
        require_type(actor, Action.READ, resource_type, f"{resource_type}/$export")
        compartment = _compartment(session, keys, actor, scope)
        members = None
        if scope.level is Level.GROUP and scope.group_id is not None:
            named = group_members(session, keys, actor, scope.group_id)
            members = frozenset(keys.patient_ref(p) for p in named)
        rows = export_rows(
            session,
            keys,
            resource_type,
            compartment=compartment,
            patients_only=scope.level is Level.PATIENTS,
            hidden=hidden_compartments(session, actor, utcnow()),
            since=scope.since,
            after=after,
            limit=limit + 1,
            members=members,
            filters=scope.filters_of(resource_type),
        )
        shown = rows[:limit]
        resources = [store.open_row(keys, row) for row in shown]
        patients = _patients(keys, shown, resources, known)
        following = shown[-1].logical_id if len(rows) > limit else None
        return ExportPage(resources, patients, following)

    return run_guarded_read(runtime, actor, work)


def _patients(
    keys: RecordKeys,
    rows: Sequence[store.Version],
    resources: Sequence[dict[str, Any]],
    known: Collection[str],
) -> dict[str, str]:
    """The patient of each compartment first met on this page, by compartment reference."""
    found: dict[str, str] = {}
    for row, resource in zip(rows, resources, strict=True):
        ref = row.patient_ref
        if ref is None or ref in known or ref in found:
            continue
        patient = store.patient_of(keys, row, resource)
        if patient:
            found[ref] = patient
    return found


def _compartment(session: Session, keys: RecordKeys, actor: Caller, scope: Scope) -> str | None:
    """The one compartment a page is confined to: the exported patient's, or a patient
    caller's own (None: staff and integration, by the matrix and restrictions)."""
    if scope.level is Level.PATIENT and scope.patient_id is not None:
        ref = keys.patient_ref(scope.patient_id)
        target = f"Patient/{scope.patient_id}"
        require_row(session, keys, actor, Action.READ, "Patient", target, ref, utcnow())
        return ref
    if actor.system or actor.reads_by_matrix:
        return None
    return keys.patient_ref(actor.patient_id or "\x00no-patient")
