"""The audit viewer: filter the trail, page through it, open an entry, export the view.

For the security officer and auditors. Filters travel in POST bodies (a patient
filter is a record id, which stays out of URLs, logs and history, as in the
access report); the patient is chosen through the identity lookup
(`web.lookup`), never typed as an id. Pages go by `seq` (keyset: newest first,
`before` the last seq shown). Queries live in `audit.queries`; this module
parses the form, calls them and renders. Exports (CSV, FHIR AuditEvent NDJSON)
cover the whole filtered view and are audited before they are sent.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from carewall.audit import (
    AuditFilter,
    AuditTag,
    actions_in_use,
    actors_in_use,
    chain_link,
    filtered_bodies,
    filtered_count,
    filtered_page,
    last_verification,
    latest_checkpoint,
    record_export,
)
from carewall.audit.events import parse_body
from carewall.audit.fhir import audit_event
from carewall.core.errors import NotFoundError
from carewall.core.runtime import Runtime
from carewall.identity import Role, queries
from carewall.records.access.audit_patients import (
    patient_subject,
    patients_named,
    reveal,
    reveal_body,
)
from carewall.records.store.keys import RecordKeys
from carewall.web.auth import Caller, require, runtime_of
from carewall.web.guards import AuditSeq
from carewall.web.lookup import identities, identity, lookup
from carewall.web.patient_forms import SearchCriteria
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
Auditor = Annotated[Caller, Depends(require(Role.ADMIN, Role.AUDITOR))]
Field = Annotated[str, Form(max_length=200)]
ActorLink = Annotated[str, Query(max_length=200)]
AUDIT = "/admin/audit"
PAGE = 50
OUTCOMES = ("success", "failure", "denied")


@dataclass(frozen=True)
class ViewerForm:
    """The viewer's filters as typed (what the form shows again) and their problems."""

    actor: str = ""
    action: str = ""
    outcome: str = ""
    since: str = ""
    until: str = ""
    patient_id: str = ""

    def hidden(self) -> dict[str, str]:
        """The filters as hidden fields, to carry them through paging, lookup and export."""
        return {k: v for k, v in self.__dict__.items() if v}

    def used(self) -> list[str]:
        """The names of the filters in use (for the export's audit entry)."""
        return sorted(self.hidden())


def _form(
    actor: Field = "",
    action: Field = "",
    outcome: Field = "",
    since: Field = "",
    until: Field = "",
    patient_id: Field = "",
) -> ViewerForm:
    """The filters of a posted viewer form (every form of the page carries them)."""
    return ViewerForm(
        actor.strip(),
        action.strip(),
        outcome.strip(),
        since.strip(),
        until.strip(),
        patient_id.strip().removeprefix("Patient/")[:64],
    )


Filters = Annotated[ViewerForm, Depends(_form)]


def _filter(runtime: Runtime, form: ViewerForm) -> tuple[AuditFilter, list[str]]:
    """The query's filter, or the messages that say which field to fix."""
    errors: list[str] = []
    if form.outcome and form.outcome not in OUTCOMES:
        errors.append("Outcome: choose one from the list.")
    since, until = _day(form.since, "From", errors), _day(form.until, "To", errors)
    if since and until and until < since:
        errors.append("The date range ends before it starts.")
    subjects: tuple[str, ...] = ()
    if form.patient_id:
        keys = RecordKeys.from_keystore(runtime.keys)
        subjects = (patient_subject(keys, form.patient_id), f"Patient/{form.patient_id}")
    flt = AuditFilter(
        actor=form.actor,
        action=form.action,
        outcome=form.outcome if form.outcome in OUTCOMES else "",
        subjects=subjects,
        since=datetime.combine(since, time.min, UTC) if since else None,
        until=datetime.combine(until, time.min, UTC) + timedelta(days=1) if until else None,
    )
    return flt, errors


def _day(text: str, label: str, errors: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(f"{label}: use the format YYYY-MM-DD.")
        return None


def _page(
    request: Request,
    caller: Caller,
    form: ViewerForm,
    *,
    before: int | None = None,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    runtime = runtime_of(request)
    flt, errors = _filter(runtime, form)
    with runtime.db.sessions() as session:
        page = None if errors else filtered_page(session, flt, before=before, limit=PAGE)
        verification = last_verification(session)
        checkpoint = latest_checkpoint(session)
        actions = actions_in_use(session)
        actors = actors_in_use(session)
        names = queries.display_names(session)
    patient = identity(request, caller, form.patient_id) if form.patient_id else None
    context = {
        "form": form,
        "errors": errors,
        "page": page,
        "before": before,
        "verification": verification,
        "verified_ok": verification is not None and verification.action == AuditTag.CHAIN_VERIFIED,
        "checkpoint": checkpoint,
        "actions": actions,
        "domains": sorted({a.split(":", 1)[0] + ":" for a in actions}),
        "actors": actors,
        "names": names,
        "outcomes": OUTCOMES,
        "patient": patient,
        "lookup_values": SearchCriteria(),
        "lookup_errors": [],
        "found": None,
        **(extra or {}),
    }
    return render(request, "admin/audit.html", context, status=422 if errors else status)


@router.get(AUDIT, response_class=HTMLResponse)
def audit_page(request: Request, caller: Auditor, actor: ActorLink = "") -> Response:
    """The newest entries, the filters and the last verification; `?actor=user:<id>`
    (the users page links an integration account's entries this way: an account id
    is not PHI) narrows to one actor."""
    return _page(request, caller, _form(actor))


@router.post(AUDIT, response_class=HTMLResponse)
def filtered(
    request: Request,
    caller: Auditor,
    form: Filters,
    before: Field = "",
) -> Response:
    """The entries matching the filters, a page at a time (`before`: continue below)."""
    start = int(before) if before.isdigit() and len(before) < 19 else None
    return _page(request, caller, form, before=start)


@router.post(f"{AUDIT}/find-patient", response_class=HTMLResponse)
def find_patient(
    request: Request,
    caller: Auditor,
    filters: Filters,
    family: Field = "",
    given: Field = "",
    birthdate: Field = "",
    identifier: Field = "",
) -> Response:
    """Look the patient up (identity only, audited) to filter the trail by them."""
    criteria = SearchCriteria.of(family, given, birthdate, identifier)
    found, errors = lookup(request, caller, criteria)
    form = replace(filters, patient_id="")  # the lookup chooses the patient anew
    extra = {"lookup_values": criteria, "lookup_errors": errors, "found": found}
    return _page(request, caller, form, extra=extra, status=422 if errors else 200)


@router.get(AUDIT + "/{seq}", response_class=HTMLResponse)
def entry_page(request: Request, caller: Auditor, seq: AuditSeq) -> Response:
    """One entry: its chain position, its hash and its predecessor's, its details, and the
    patients it is about by name (identity lookup)."""
    runtime = runtime_of(request)
    with runtime.db.sessions() as session:
        link = chain_link(session, seq)
        names = queries.display_names(session)
    if link is None:
        raise NotFoundError(f"There is no audit entry #{seq}.")
    keys = RecordKeys.from_keystore(runtime.keys)
    patient_ids = patients_named(keys, link.entry.details)
    patients = identities(request, caller, patient_ids) if patient_ids else {}
    context = {
        "link": link,
        "details": reveal(keys, link.entry.details),
        "patients": [patients.get(p) for p in patient_ids],
        "patient_ids": patient_ids,
        "names": names,
    }
    return render(request, "admin/audit_entry.html", context)


_CSV_COLUMNS = (
    "seq",
    "time_utc",
    "actor",
    "actor_name",
    "action",
    "outcome",
    "subject",
    "source_ip",
    "user_agent",
    "details",
    "entry_hash",
)


def _export(
    request: Request, caller: Caller, form: ViewerForm, fmt: str
) -> tuple[Runtime, AuditFilter] | Response:
    runtime = runtime_of(request)
    flt, errors = _filter(runtime, form)
    if errors:
        return _page(request, caller, form)
    with runtime.db.sessions() as session:
        count = filtered_count(session, flt)
    subject = flt.subjects[0] if flt.subjects else ""
    record_export(
        runtime.db,
        caller,
        fmt=fmt,
        count=count,
        filters=form.used(),
        subject=subject,
    )
    return runtime, flt


def _rows(runtime: Runtime, flt: AuditFilter) -> Iterator[tuple[int, dict[str, Any], bytes]]:
    """The matching entries, oldest first, bodies parsed and patient ids revealed."""
    keys = RecordKeys.from_keystore(runtime.keys)
    with runtime.db.sessions() as session:
        for seq, body, entry_hash in filtered_bodies(session, flt):
            yield seq, reveal_body(keys, parse_body(body)), entry_hash


@router.post(f"{AUDIT}/export.csv")
def export_csv(request: Request, caller: Auditor, form: Filters) -> Response:
    """The filtered view as CSV, every matching entry (not just the page shown)."""
    ready = _export(request, caller, form, "csv")
    if isinstance(ready, Response):
        return ready
    runtime, flt = ready
    with runtime.db.sessions() as session:
        names = queries.display_names(session)

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(_CSV_COLUMNS)
        for seq, body, entry_hash in _rows(runtime, flt):
            actor_ref = str(body.get("actor", ""))
            writer.writerow(
                [
                    seq,
                    str(body.get("ts", "")),
                    actor_ref,
                    names.get(actor_ref, ""),
                    body.get("action", ""),
                    body.get("outcome", ""),
                    body.get("subject", ""),
                    body.get("ip", ""),
                    body.get("ua", ""),
                    json.dumps(body.get("details") or {}, sort_keys=True, ensure_ascii=False),
                    entry_hash.hex(),
                ]
            )
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        yield out.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'},
    )


@router.post(f"{AUDIT}/export.ndjson")
def export_fhir(request: Request, caller: Auditor, form: Filters) -> Response:
    """The filtered view as FHIR R4 AuditEvent resources, one per line (NDJSON), each
    carrying its entry's seq and hash (`audit.fhir`)."""
    ready = _export(request, caller, form, "fhir-ndjson")
    if isinstance(ready, Response):
        return ready
    runtime, flt = ready

    def lines() -> Iterator[str]:
        for _seq, body, entry_hash in _rows(runtime, flt):
            yield json.dumps(audit_event(body, entry_hash), ensure_ascii=False) + "\n"

    return StreamingResponse(
        lines(),
        media_type="application/fhir+ndjson",
        headers={"Content-Disposition": 'attachment; filename="audit-trail.ndjson"'},
    )
