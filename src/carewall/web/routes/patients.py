"""Staff patient pages: search, chart, demographics, vitals, notes, restriction, break-glass.

Routes stay thin: check the form, pass the request's `Caller` to one vault
function, render. Every read and write goes through `records.access` and
`records.services`, which decide and audit. Search values travel in POST
bodies and the page title is always "Patients", so no name or birth date
reaches a URL, a server log or a browser's history.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall.core.clock import utcnow
from carewall.core.inputs import MAX_INT32, ascii_int
from carewall.identity import Role, notices, signin
from carewall.records import BreakGlassRequiredError, Purpose, VersionConflictError
from carewall.records import queries as record_queries
from carewall.records.access import get_record_for
from carewall.records.access.break_glass import start_break_glass, stop_break_glass
from carewall.records.access.restriction import restrict_compartment
from carewall.records.finder import find_patients_for
from carewall.records.readers import DemographicsEdit, demographics_of, with_demographics
from carewall.records.services import create_resource, update_resource
from carewall.web import patient_forms as forms
from carewall.web.auth import Caller, Resume, RuntimeDep, active_session, require, runtime_of
from carewall.web.chart import SECTION_LIMIT, SECTIONS, load_chart
from carewall.web.flash import flash
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
CHART_ROLES = frozenset({Role.CLINICIAN, Role.FRONT_DESK, Role.BILLING})
Staff = Annotated[Caller, Depends(require(CHART_ROLES))]
Editor = Annotated[Caller, Depends(require(Role.CLINICIAN, Role.FRONT_DESK))]
Clinician = Annotated[Caller, Depends(require(Role.CLINICIAN))]
Restricting = Annotated[
    Caller,
    Depends(
        require(
            Role.CLINICIAN,
            step_up=Resume("Restrict the record", frozenset({"reason", "confirm"})),
        )
    ),
]
BreakingGlass = Annotated[
    Caller,
    Depends(
        require(
            Role.CLINICIAN,
            step_up=Resume("Open the record in an emergency", frozenset({"reason", "details"})),
        )
    ),
]
EMERGENCY_MINUTES = 60
SEARCH_PAGE = 25  # patients shown (and decrypted) on one page of results
_PURPOSES: dict[Role | None, Purpose] = {
    Role.CLINICIAN: Purpose.TREATMENT,
    Role.BILLING: Purpose.PAYMENT,
}


def _chart_path(patient_id: str) -> str:
    return f"/patients/{patient_id}"


def _back(request: Request, target: str, message: str, level: str = "success") -> Response:
    response = RedirectResponse(target, status_code=303)
    flash(request, response, message, level)
    return response


def _purpose(request: Request, caller: Caller, patient_id: str) -> Purpose:
    """Emergency treatment while a break-glass grant is open; otherwise by role."""
    if record_queries.emergency_access(runtime_of(request), caller, patient_id):
        return Purpose.EMERGENCY
    return _PURPOSES.get(caller.role, Purpose.OPERATIONS)


def _chart_context(request: Request, caller: Caller, patient_id: str) -> dict[str, Any]:
    """What every page of one chart shows: the emergency banner and the patient id."""
    grant = record_queries.emergency_access(runtime_of(request), caller, patient_id)
    return {"patient_id": patient_id, "emergency": grant}


@router.get("/patients", response_class=HTMLResponse)
def search_page(request: Request, caller: Staff) -> Response:
    """The search form (results come from the POST, so values never sit in a URL)."""
    return render(request, "patients/search.html", {"form": {}, "errors": [], "results": None})


@router.post("/patients/search", response_class=HTMLResponse)
def search(
    request: Request,
    runtime: RuntimeDep,
    caller: Staff,
    family: FormStr = "",
    given: FormStr = "",
    birthdate: FormStr = "",
    identifier: FormStr = "",
    phone: FormStr = "",
    sounds_like: FormStr = "",
    after: FormStr = "",
    trail: FormStr = "",
    shown: FormStr = "0",
) -> Response:
    """Any combination of family and given name (their beginning, or by sound), birth date,
    identifier (MRN) and phone, a page at a time; restricted matches show as restricted."""
    criteria = forms.SearchCriteria.of(family, given, birthdate, identifier, phone, sounds_like)
    params, errors = criteria.params()
    if errors:
        context = {"form": criteria, "errors": errors, "results": None}
        return render(request, "patients/search.html", context, status=422)
    page = find_patients_for(
        runtime,
        caller,
        params,
        _PURPOSES.get(caller.role, Purpose.OPERATIONS),
        count=SEARCH_PAGE,
        after=after.strip()[:64],
    )
    before = ascii_int(shown, MAX_INT32) or 0
    cursors = _trail(trail)
    context = {
        "form": criteria,
        "errors": [],
        "results": sorted(page.matches, key=lambda m: (m.identity.family, m.identity.given)),
        "page": page,
        "first": before + 1,
        "last": before + len(page.matches),
        "back": _previous_page(cursors, before),
        "trail_next": " ".join([*cursors, after.strip()[:64]]),
        "may_break_glass": caller.role is Role.CLINICIAN,
    }
    return render(request, "patients/search.html", context)


# Pages are keyset pages: going back replays the cursor of each page before this one,
# carried in the form (patient ids, as `after` already is), never kept on the server.
_MAX_TRAIL = 400


def _trail(value: str) -> list[str]:
    """The cursors of the pages before this one, oldest first (bounded; ids only)."""
    return [c[:64] for c in value.split()[-_MAX_TRAIL:]]


def _previous_page(cursors: list[str], before: int) -> dict[str, str] | None:
    """The previous page's form values, or None on the first page."""
    if before <= 0:
        return None
    return {
        "after": cursors[-1] if cursors else "",
        "trail": " ".join(cursors[:-1]),
        "shown": str(max(before - SEARCH_PAGE, 0)),
    }


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def chart(request: Request, runtime: RuntimeDep, caller: Staff, patient_id: str) -> Response:
    """The chart; a restricted record shows the break-glass screen to clinicians instead."""
    try:
        loaded = load_chart(runtime, caller, patient_id, _purpose(request, caller, patient_id))
    except BreakGlassRequiredError:
        return _break_glass_page(request, caller, patient_id, status=403)
    context = {
        **_chart_context(request, caller, patient_id),
        "chart": loaded,
        "sections": SECTIONS,
        "section_limit": SECTION_LIMIT,
        "vitals": forms.VITALS,
        "restrict_reasons": forms.RESTRICT_REASONS,
        "restricted": record_queries.is_restricted(runtime, patient_id),
        "today": utcnow().date().isoformat(),
        "note_max": forms.NOTE_MAX_CHARS,
    }
    return render(request, "patients/chart.html", context)


@router.get("/patients/{patient_id}/demographics", response_class=HTMLResponse)
def demographics_page(
    request: Request, runtime: RuntimeDep, caller: Editor, patient_id: str
) -> Response:
    """The edit form for name, phone, email and address."""
    patient = get_record_for(
        runtime, caller, "Patient", patient_id, _purpose(request, caller, patient_id)
    )
    return _demographics_form(request, caller, demographics_of(patient).__dict__, [])


def _demographics_form(
    request: Request, caller: Caller, form: dict[str, Any], errors: list[str], status: int = 200
) -> Response:
    context = {**_chart_context(request, caller, str(form["id"])), "form": form, "errors": errors}
    return render(request, "patients/demographics.html", context, status=status)


@router.post("/patients/{patient_id}/demographics", response_class=HTMLResponse)
def save_demographics(
    request: Request,
    runtime: RuntimeDep,
    caller: Editor,
    patient_id: str,
    version: FormStr,
    family: FormStr = "",
    given: FormStr = "",
    phone: FormStr = "",
    email: FormStr = "",
    line: FormStr = "",
    city: FormStr = "",
    postal_code: FormStr = "",
) -> Response:
    """Save the edit if nobody changed the record since the form was loaded (If-Match)."""
    form = {"family": family, "given": given, "phone": phone, "email": email}
    form = {
        k: v.strip()
        for k, v in {**form, "line": line, "city": city, "postal_code": postal_code}.items()
    }
    shown = {**form, "id": patient_id, "version": version}
    patient = get_record_for(
        runtime, caller, "Patient", patient_id, _purpose(request, caller, patient_id)
    )
    errors = forms.demographic_errors(form)
    resource = None if errors else with_demographics(patient, DemographicsEdit(**form))
    if_match = ascii_int(version, MAX_INT32)
    if resource is None or if_match is None:
        return _demographics_form(request, caller, shown, errors or ["Reload the page."], 422)
    try:
        update_resource(runtime, caller, resource, if_match=if_match)
    except VersionConflictError:
        current = demographics_of(patient).__dict__
        message = (
            "Someone else changed this record while you were editing. The form now shows "
            "their version; make your change again and save."
        )
        return _demographics_form(request, caller, current, [message], 412)
    return _back(request, _chart_path(patient_id), "Demographics saved.")


@router.post("/patients/{patient_id}/observations")
def add_observation(
    request: Request,
    runtime: RuntimeDep,
    caller: Clinician,
    patient_id: str,
    kind: FormStr = "",
    value: FormStr = "",
    date: FormStr = "",
) -> Response:
    """Record a vital sign in the unit fixed for its type."""
    resource, errors = forms.vital_observation(patient_id, kind, value, date)
    if resource is None:
        return _back(request, _chart_path(patient_id) + "#add-vital", " ".join(errors), "error")
    create_resource(runtime, caller, resource)
    return _back(request, _chart_path(patient_id), "Vital sign recorded.")


@router.post("/patients/{patient_id}/notes")
def add_note(
    request: Request,
    runtime: RuntimeDep,
    caller: Clinician,
    patient_id: str,
    title: FormStr = "",
    text: FormStr = "",
) -> Response:
    """Add a plain-text clinical note (a DocumentReference, encrypted like every record)."""
    resource, errors = forms.note_document(patient_id, caller.email, title, text)
    if resource is None:
        return _back(request, _chart_path(patient_id) + "#add-note", " ".join(errors), "error")
    create_resource(runtime, caller, resource)
    return _back(request, _chart_path(patient_id), "Note saved.")


@router.post("/patients/{patient_id}/restrict")
def restrict(
    request: Request,
    runtime: RuntimeDep,
    caller: Restricting,
    patient_id: str,
    reason: FormStr = "",
    confirm: FormStr = "",
) -> Response:
    """Mark the record restricted once confirmed; from then on staff open it only through
    break-glass."""
    if reason not in forms.RESTRICT_REASONS:
        return _back(request, _chart_path(patient_id), "Choose a reason from the list.", "error")
    if confirm != "yes":
        message = "Tick the box to confirm: the record will open only through emergency access."
        return _back(request, _chart_path(patient_id) + "#restrict", message, "error")
    get_record_for(runtime, caller, "Patient", patient_id, _purpose(request, caller, patient_id))
    restrict_compartment(runtime, caller, patient_id, reason)
    return _back(request, _chart_path(patient_id), "The record is now restricted.")


@router.get("/patients/{patient_id}/restrict")
def after_restrict_step_up(caller: Clinician, patient_id: str) -> Response:
    """Where the browser lands after confirming it is you: back to the chart to press again."""
    return RedirectResponse(_chart_path(patient_id), status_code=303)


@router.get("/patients/{patient_id}/break-glass", response_class=HTMLResponse)
def break_glass_page(request: Request, caller: Clinician, patient_id: str) -> Response:
    """The emergency-access screen (also where the browser returns after the step-up)."""
    return _break_glass_page(request, caller, patient_id)


def _break_glass_page(
    request: Request, caller: Caller, patient_id: str, status: int = 200
) -> Response:
    runtime = runtime_of(request)
    fresh = signin.step_up_fresh(runtime, active_session(request))
    context = {
        "patient_id": patient_id,
        "may_break_glass": caller.role is Role.CLINICIAN,
        "step_up_fresh": fresh,
        "reasons": forms.BREAK_GLASS_REASONS,
        "minutes": EMERGENCY_MINUTES,
        "errors": [],
    }
    return render(request, "patients/break_glass.html", context, status=status)


@router.post("/patients/{patient_id}/break-glass")
def break_glass(
    request: Request,
    runtime: RuntimeDep,
    caller: BreakingGlass,
    patient_id: str,
    reason: FormStr = "",
    details: FormStr = "",
) -> Response:
    """Open a restricted record for 60 minutes after a fresh second factor; alert the officers."""
    choice = forms.BREAK_GLASS_REASONS.get(reason)
    if choice is None or (reason in {"other", "unable-to-consent"} and not details.strip()):
        message = "Choose a reason and, for this one, explain it in a sentence."
        if choice is None:
            message = "Choose a reason from the list."
        return _back(request, f"{_chart_path(patient_id)}/break-glass", message, "error")
    if not record_queries.is_restricted(runtime, patient_id):  # nothing to break: open it
        return RedirectResponse(_chart_path(patient_id), status_code=303)
    label, code = choice
    text = f"{label}: {details.strip()}" if code != reason else details.strip()
    start_break_glass(runtime, caller, patient_id, code, text, minutes=EMERGENCY_MINUTES)
    _alert_officers(request, caller)
    return RedirectResponse(_chart_path(patient_id), status_code=303)


def _alert_officers(request: Request, caller: Caller) -> None:
    """An immediate notice for every security officer; no patient detail in the text."""
    message = (
        f"Emergency access to a restricted record by {caller.email}; review it in the audit trail."
    )
    notices.alert_admins(runtime_of(request), message)


@router.post("/patients/{patient_id}/break-glass/stop")
def stop_emergency(
    request: Request, runtime: RuntimeDep, caller: Clinician, patient_id: str
) -> Response:
    """End emergency access now (it also ends by itself when the time is up)."""
    grant = record_queries.emergency_access(runtime, caller, patient_id)
    if grant is None:
        return _back(request, "/patients", "Emergency access had already ended.", "info")
    stop_break_glass(runtime, caller, grant.grant_id, patient_id)
    return _back(request, "/patients", "Emergency access stopped.")
