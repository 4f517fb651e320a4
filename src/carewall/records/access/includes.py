"""`_include` and `_revinclude`: resources a search page refers to, or that refer to it.

Each included resource passes the checks a read of it would (matrix, the
caller's compartment, restriction and break-glass, through `guard.readable`)
before it is decrypted, and is audited like a read (`records:resource:read`,
purpose and patient) in the search's own transaction. Those the caller may
not see are left out silently, as FHIR allows; the page says how many were
withheld in an OperationOutcome (`Included.withheld`), naming none; a reverse
include of a type the caller's role may not read at all is not looked for, so
not counted either. At most
`MAX_INCLUDED` resources are added to one page, so a page's work stays
bounded whatever the data (`Included.truncated` says when the limit cut in).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.records import store
from carewall.records.access.guard import may, readable
from carewall.records.access.matrix import Action
from carewall.records.models import FhirResource, FhirSearchIndex
from carewall.records.store.includes import INCLUDES, Include, index_param, references
from carewall.records.store.keys import RecordKeys
from carewall.records.store.search import live_rows

MAX_INCLUDED = 100
# Audits one included resource as a read (`reads._audit_read`, passed in to keep one way).
AuditRead = Callable[[Session, FhirResource, dict[str, Any]], None]


@dataclass(frozen=True)
class Included:
    """Resources added to a page (search mode `include`) and what was left out."""

    resources: list[dict[str, Any]]
    withheld: int
    truncated: bool


@dataclass(frozen=True)
class IncludeRequest:
    """The `_include` and `_revinclude` values of a search, checked against `INCLUDES`."""

    forward: tuple[Include, ...] = ()
    reverse: tuple[Include, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.forward or self.reverse)


def include_request(params: Mapping[str, Sequence[str]]) -> IncludeRequest:
    """The includes a search's parameters ask for (unknown names are refused by the web
    layer before they get here, and skipped if they do)."""

    def named(key: str) -> tuple[Include, ...]:
        values = [v for value in params.get(key, []) for v in value.split(",")]
        return tuple(INCLUDES[v] for v in dict.fromkeys(values) if v in INCLUDES)

    return IncludeRequest(named("_include"), named("_revinclude"))


def include_for(
    session: Session,
    keys: RecordKeys,
    actor: Caller,
    matches: Sequence[dict[str, Any]],
    asked: IncludeRequest,
    audit: AuditRead,
) -> Included:
    """The resources `asked` adds to a page of `matches`, checked, decrypted and audited."""
    seen = {(m["resourceType"], m["id"]) for m in matches}
    candidates = _forward_rows(session, matches, asked.forward, seen)
    # A reverse include of a type the role may not read at all is not looked for: the
    # withheld count would tell, say, the front desk how many Conditions a patient has.
    # (A forward include's count says no more than the references the matches show.)
    reverse = [i for i in asked.reverse if may(actor, Action.READ, i.source)]
    by_compartment = _reverse_rows(session, keys, matches, reverse, seen)
    candidates += by_compartment
    truncated = len(candidates) > MAX_INCLUDED
    candidates = candidates[:MAX_INCLUDED]
    shown, withheld = _visible(session, keys, actor, candidates)
    to_check = {row.id for row in by_compartment if _in_compartment_include(row, asked)}
    resources = []
    for row in shown:
        resource = store.open_row(keys, row)
        if row.id in to_check and not _points_back(resource, matches, asked.reverse):
            continue  # filed under the patient through another element: not a match
        audit(session, row, resource)
        resources.append(resource)
    return Included(resources, withheld, truncated)


def _forward_rows(
    session: Session,
    matches: Sequence[dict[str, Any]],
    forward: Sequence[Include],
    seen: set[tuple[str, str]],
) -> list[FhirResource]:
    """Current, live versions of what the matches refer to (first come, first kept)."""
    wanted: dict[str, list[str]] = {}
    for match in matches:
        for include in forward:
            if include.source != match.get("resourceType"):
                continue
            for target in references(match, include):
                if target not in seen:
                    seen.add(target)
                    wanted.setdefault(target[0], []).append(target[1])
    rows: list[FhirResource] = []
    for resource_type, ids in wanted.items():
        found = store.current_rows(session, resource_type, ids[: MAX_INCLUDED + 1])
        rows += [found[i] for i in ids if i in found and not found[i].deleted]
    return rows


def _reverse_rows(
    session: Session,
    keys: RecordKeys,
    matches: Sequence[dict[str, Any]],
    reverse: Sequence[Include],
    seen: set[tuple[str, str]],
) -> list[FhirResource]:
    """Current, live versions that refer to a match, found without decrypting anything."""
    rows: list[FhirResource] = []
    for include in reverse:
        targets = [
            f"{m['resourceType']}/{m['id']}"
            for m in matches
            if include.target is None or m.get("resourceType") == include.target
        ]
        if not targets:
            continue
        query = live_rows(include.source)
        if include.compartment:
            refs = [keys.patient_ref(t.removeprefix("Patient/")) for t in targets]
            query = query.where(FhirResource.patient_ref.in_(refs))
        else:
            param = index_param(include)
            hmacs = [keys.blind(include.source, param, t) for t in targets]
            pointing = select(FhirSearchIndex.resource_id).where(
                FhirSearchIndex.param == param, FhirSearchIndex.value_hmac.in_(hmacs)
            )
            query = query.where(FhirResource.id.in_(pointing))
        query = query.order_by(FhirResource.logical_id).limit(MAX_INCLUDED + 1)
        for row in session.scalars(query):
            if (row.resource_type, row.logical_id) not in seen:
                seen.add((row.resource_type, row.logical_id))
                rows.append(row)
    return rows


def _visible(
    session: Session, keys: RecordKeys, actor: Caller, rows: list[FhirResource]
) -> tuple[list[FhirResource], int]:
    """The rows a read by `actor` would be allowed (in order), and how many are not."""
    now = utcnow()
    allowed: dict[str, set[str | None]] = {}
    for resource_type in {row.resource_type for row in rows}:
        refs = {row.patient_ref for row in rows if row.resource_type == resource_type}
        allowed[resource_type] = readable(session, keys, actor, resource_type, refs, now)
    shown = [row for row in rows if row.patient_ref in allowed[row.resource_type]]
    return shown, len(rows) - len(shown)


def _in_compartment_include(row: FhirResource, asked: IncludeRequest) -> bool:
    """Whether a reverse-included row was found by its compartment (and so needs its
    reference checked: a resource is filed under a patient through several elements)."""
    return any(i.compartment and i.source == row.resource_type for i in asked.reverse)


def _points_back(
    resource: dict[str, Any], matches: Sequence[dict[str, Any]], reverse: Sequence[Include]
) -> bool:
    """Whether the resource's reverse-include element names one of the matches."""
    targets = {(m["resourceType"], m["id"]) for m in matches}
    return any(
        target in targets
        for include in reverse
        if include.source == resource.get("resourceType")
        for target in references(resource, include)
    )
