"""The staff access report for one patient (HIPAA accounting of disclosures).

The security officer and auditors see who reached a patient's record, when, what
type of information and why, straight from the audit trail, never values. The
patient id is posted in a form, so it stays out of URLs, logs and history.
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
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
Auditor = Annotated[Caller, Depends(require(Role.ADMIN, Role.AUDITOR))]
PatientId = Annotated[str, Form(max_length=64)]
REPORT = "/admin/access-report"


def _report(request: Request, caller: Caller, patient_id: str) -> list[AccessEvent]:
    return access_report(runtime_of(request), caller, patient_id)


@router.get(REPORT, response_class=HTMLResponse)
def report_form(request: Request, caller: Auditor) -> Response:
    """Ask which patient the accounting is for."""
    return render(request, "admin/access_report.html", {"events": None, "patient_id": ""})


@router.post(REPORT, response_class=HTMLResponse)
def report_page(request: Request, caller: Auditor, patient_id: PatientId) -> Response:
    """Every audited access to that patient's record, newest first."""
    events = _report(request, caller, patient_id)
    context = {"events": events, "patient_id": patient_id.strip()}
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
