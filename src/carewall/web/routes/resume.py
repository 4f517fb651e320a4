"""Finishing a form that waited for a step-up (`identity.stepup`, `web.auth.Resume`).

After the confirmation the browser lands here: the kept fields come back once,
in a form with a fresh CSRF token that the page's script submits at once to the
original address (a person without scripts presses Continue). The action then
runs through its own route, with its own checks, audit and answer page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from carewall.identity import stepup
from carewall.web.auth import ALL, Caller, RuntimeDep, active_session, require
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
SteppedUp = Annotated[Caller, Depends(require(ALL, step_up=True))]

_GONE = {
    "expired": (
        410,
        "This request waited too long for your confirmation, so nothing was changed. "
        "Please do it again.",
    ),
    "missing": (
        404,
        "This request was already completed or is not one of yours; nothing more was changed.",
    ),
}


@router.get("/account/resume/{pending_id}", response_class=HTMLResponse)
def resume(request: Request, runtime: RuntimeDep, caller: SteppedUp, pending_id: str) -> Response:
    """The kept form, once, ready to be submitted again."""
    del caller  # the dependency proves a fresh second factor; the session is what matters
    found = stepup.take(runtime, active_session(request), pending_id)
    if isinstance(found, stepup.PendingForm):
        return render(request, "signin/resume.html", {"pending": found, "message": ""})
    status, message = _GONE[found]
    return render(request, "signin/resume.html", {"pending": None, "message": message}, status)
