"""The staff access report for one patient (HIPAA accounting of disclosures).

The security officer and auditors see who reached a patient's record, when, what
type of information and why, straight from the audit trail, never values. They
find the patient by name, birth date or MRN through the lookup (identity only,
audited); the record id is posted in a form, so it stays out of URLs, logs and
history.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from carewall.identity import Role
from carewall.records.portal.accounting import AccessEvent, access_report
from carewall.web.auth import Caller, require, runtime_of
from carewall.web.lookup import identity, lookup
from carewall.web.patient_forms import SearchCriteria
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
Auditor = Annotated[Caller, Depends(require(Role.ADMIN, Role.AUDITOR))]
PatientId = Annotated[str, Form(max_length=64)]
FormStr = Annotated[str, Form(max_length=200)]
REPORT = "/admin/access-report"


def _report(request: Request, caller: Caller, patient_id: str) -> list[AccessEvent]:
    return access_report(runtime_of(request), caller, patient_id)


@router.get(REPORT, response_class=HTMLResponse)
def report_form(request: Request, caller: Auditor) -> Response:
    """Ask which patient the accounting is for."""
    return render(request, "admin/access_report.html", _context())


def _context(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "events": None,
        "patient_id": "",
        "patient": None,
        "form": SearchCriteria(),
        "errors": [],
        "found": None,
    }
    return {**base, **values}


@router.post(f"{REPORT}/find", response_class=HTMLResponse)
def find_patient(
    request: Request,
    caller: Auditor,
    family: FormStr = "",
    given: FormStr = "",
    birthdate: FormStr = "",
    identifier: FormStr = "",
) -> Response:
    """Look the patient up by name, birth date or MRN (identity only, audited)."""
    criteria = SearchCriteria.of(family, given, birthdate, identifier)
    found, errors = lookup(request, caller, criteria)
    context = _context(form=criteria, errors=errors, found=found)
    return render(request, "admin/access_report.html", context, status=422 if errors else 200)


@router.post(REPORT, response_class=HTMLResponse)
def report_page(request: Request, caller: Auditor, patient_id: PatientId) -> Response:
    """Every audited access to that patient's record, newest first, under the patient's name."""
    events = _report(request, caller, patient_id)
    patient = identity(request, caller, patient_id)
    context = _context(events=events, patient_id=patient_id.strip(), patient=patient)
    return render(request, "admin/access_report.html", context)


@router.post(f"{REPORT}/download.csv")
def report_csv(request: Request, caller: Auditor, patient_id: PatientId) -> Response:
    """The same report as CSV, for the accounting a patient may request."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "seq",
            "time_utc",
            "actor",
            "name",
            "role",
            "action",
            "resource_types",
            "categories",
            "purpose",
            "outcome",
            "break_glass",
            "detail",
        ]
    )
    for e in _report(request, caller, patient_id):
        writer.writerow(
            [
                e.seq,
                e.ts.isoformat(timespec="seconds"),
                e.actor,
                e.name,
                e.role,
                e.action,
                " ".join(e.resource_types),
                " ".join(e.categories),
                e.purpose,
                e.outcome,
                "yes" if e.emergency else "no",
                e.note,
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="access-report.csv"'},
    )
