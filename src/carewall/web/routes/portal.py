"""The patient portal: my record, downloads, and "Who has looked at my record".

Routes are thin: the patient's `Caller` (their own compartment only)
goes to `records.portal` (`summary`, `export`, `accounting`), which decide
and audit. No URL carries a record id, so there is nothing to guess.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall.core.errors import ValidationError
from carewall.identity import Role
from carewall.records.access import export_compartment
from carewall.records.portal.accounting import (
    MAX_COMMENT,
    MAX_EVENTS,
    AccessGroup,
    Who,
    access_events,
    flag_access,
    group_for_portal,
)
from carewall.records.portal.export import export_patient_bundle
from carewall.records.portal.flags import PatientFlag, flags_for_patient
from carewall.records.portal.summary import my_record, summarise
from carewall.web.auth import Caller, RuntimeDep, require
from carewall.web.flash import flash
from carewall.web.guards import AuditSeq
from carewall.web.templating import render, templates

router = APIRouter(include_in_schema=False)
PatientCaller = Annotated[Caller, Depends(require(Role.PATIENT))]


@router.get("/portal", response_class=HTMLResponse)
def portal_home(request: Request, runtime: RuntimeDep, caller: PatientCaller) -> Response:
    """The patient's own record in plain language (friendly page when none is linked)."""
    summary = my_record(runtime, caller)
    return render(request, "portal/home.html", {"summary": summary})


@router.get("/portal/download.json")
def download_json(request: Request, runtime: RuntimeDep, caller: PatientCaller) -> Response:
    """The whole compartment as a FHIR Bundle (audited as an export)."""
    if caller.patient_id is None:
        return _no_record(request)
    bundle = export_patient_bundle(runtime, caller, caller.patient_id)
    return Response(
        json.dumps(bundle, indent=2),
        media_type="application/fhir+json",
        headers={"Content-Disposition": 'attachment; filename="my-health-record.json"'},
    )


@router.get("/portal/download.html")
def download_html(request: Request, runtime: RuntimeDep, caller: PatientCaller) -> Response:
    """A printable, self-contained summary (audited as an export)."""
    if caller.patient_id is None:
        return _no_record(request)
    summary = summarise(export_compartment(runtime, caller, caller.patient_id))
    practice = runtime.settings.practice_name
    html = templates.get_template("portal/printable.html").render(
        summary=summary, practice_name=practice
    )
    return HTMLResponse(
        html, headers={"Content-Disposition": 'attachment; filename="my-health-record.html"'}
    )


@router.get("/portal/access", response_class=HTMLResponse)
def access_page(request: Request, runtime: RuntimeDep, caller: PatientCaller) -> Response:
    """Who has looked at my record: staff accesses by day and category, newest first."""
    events = access_events(runtime, caller.patient_id) if caller.patient_id else []
    groups = group_for_portal(events)
    staff = [g for g in groups if g.who is Who.STAFF]
    flags = flags_for_patient(runtime, caller.patient_id) if caller.patient_id else []
    context = {
        "linked": caller.patient_id is not None,
        "staff": staff,
        "flags": flags,
        "flagged": {e.seq: e for e in events if any(f.flagged_seq == e.seq for f in flags)},
        "row_flags": _row_flags(staff, flags),
        "own": [g for g in groups if g.who is Who.SELF][:20],
        "imports": [g for g in groups if g.who is Who.SYSTEM][:20],
        "show_names": runtime.settings.portal_show_staff_names,
        "limit": MAX_EVENTS,
        "max_comment": MAX_COMMENT,
    }
    return render(request, "portal/access.html", context)


@router.post("/portal/access/{seq}/flag")
def flag(
    request: Request,
    runtime: RuntimeDep,
    caller: PatientCaller,
    seq: AuditSeq,
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Flag an access the patient does not recognise; the security officer is alerted."""
    try:
        flag_access(runtime, caller, seq, comment)
    except ValidationError as exc:  # too long, or already reported and not yet decided
        response = RedirectResponse("/portal/access", status_code=303)
        flash(request, response, exc.message, "error")
        return response
    response = RedirectResponse("/portal/access", status_code=303)
    flash(
        request,
        response,
        "Thank you. The practice's security officer has been alerted and will look into it.",
    )
    return response


def _row_flags(groups: list[AccessGroup], flags: list[PatientFlag]) -> dict[int, PatientFlag]:
    """The patient's newest flag on each row (by the row's first entry), if any."""
    found: dict[int, PatientFlag] = {}
    for group in groups:
        seqs = set(group.seqs)
        flag = next((f for f in flags if f.flagged_seq in seqs), None)  # newest first
        if flag is not None:
            found[group.first_seq] = flag
    return found


def _no_record(request: Request) -> Response:
    response = RedirectResponse("/portal", status_code=303)
    flash(request, response, "Your account is not linked to a record yet.", "error")
    return response
