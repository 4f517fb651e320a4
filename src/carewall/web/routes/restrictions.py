"""The security officer's view of restricted records and live break-glass grants.

Named by identity only (name, birth date, MRN: `records.finder.restrictions_for`,
audited as a lookup), never clinical data. Lifting a restriction needs a recent
second factor and a ticked confirmation, and is audited
(`records:compartment:unrestricted`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall.core.errors import NotFoundError
from carewall.identity import Role, queries
from carewall.records.finder import restrictions_for
from carewall.records.services import lift_restriction
from carewall.web.auth import Caller, Resume, require, runtime_of
from carewall.web.flash import flash
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
Officer = Annotated[Caller, Depends(require(Role.ADMIN))]
Lifting = Annotated[
    Caller,
    Depends(require(Role.ADMIN, step_up=Resume("Lift the restriction", frozenset({"confirm"})))),
]
RESTRICTED = "/admin/restricted"


def _back(request: Request, message: str, level: str = "success") -> Response:
    response = RedirectResponse(RESTRICTED, status_code=303)
    flash(request, response, message, level)
    return response


@router.get(RESTRICTED, response_class=HTMLResponse)
def restricted_page(request: Request, caller: Officer) -> Response:
    """Every restricted record (reason, who marked it, when) and every live grant."""
    runtime = runtime_of(request)
    overview = restrictions_for(runtime, caller)
    with runtime.db.sessions() as session:
        names = queries.display_names(session)
    return render(request, "admin/restricted.html", {"overview": overview, "names": names})


@router.post(RESTRICTED + "/{patient_id}/lift")
def lift(
    request: Request, caller: Lifting, patient_id: str, confirm: Annotated[str, Form()] = ""
) -> Response:
    """Lift the restriction once confirmed; staff then open the record without break-glass."""
    if confirm != "yes":
        return _back(request, "Tick the box to confirm lifting the restriction.", "error")
    try:
        lift_restriction(runtime_of(request), caller, patient_id)
    except NotFoundError:
        return _back(request, "That record is not restricted (any more).", "info")
    return _back(request, "Restriction lifted. Staff now open the record without emergency access.")


@router.get(RESTRICTED + "/{patient_id}/lift")
def after_step_up(caller: Officer, patient_id: str) -> Response:
    """Where the browser lands after confirming it is you: back to the list."""
    return RedirectResponse(RESTRICTED, status_code=303)
