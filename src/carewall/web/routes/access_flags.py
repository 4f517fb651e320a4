"""The security officer's screen for accesses patients flagged as not recognised.

A list (newest first, open or resolved), one flag with the flagged access and
the patient's comment (opening it is audited), and the decision, which the
patient then sees in the portal. URLs carry the flag's audit entry number only,
never a patient id or name; page titles are generic. Patients are shown by name and birth date
(the identity lookup, audited), not by record id alone.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall.core.errors import ValidationError
from carewall.identity import Role
from carewall.records.portal.flags import (
    MAX_NOTE,
    OPEN,
    OUTCOMES,
    RESOLVED,
    list_flags,
    open_flag,
    resolve_flag,
)
from carewall.web.auth import Caller, RuntimeDep, require
from carewall.web.flash import flash
from carewall.web.guards import AuditSeq
from carewall.web.lookup import identities, identity
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
Officer = Annotated[Caller, Depends(require(Role.ADMIN))]
FLAGS = "/admin/access-flags"
STATUSES = (OPEN, RESOLVED)


@router.get(FLAGS, response_class=HTMLResponse)
def flags_page(
    request: Request,
    runtime: RuntimeDep,
    caller: Officer,
    status: Annotated[str, Query(max_length=20)] = OPEN,
) -> Response:
    """Flags newest first: open ones by default, resolved ones, or all (empty status)."""
    status = status if status in STATUSES else ""
    everything = list_flags(runtime, caller)
    counts = {s: sum(1 for f in everything if f.status == s) for s in STATUSES}
    shown = [f for f in everything if not status or f.status == status]
    context = {
        "flags": shown,
        "names": identities(request, caller, [f.patient_id for f in shown]),
        "status": status,
        "counts": counts,
        "total": len(everything),
    }
    return render(request, "admin/access_flags.html", context)


@router.get(FLAGS + "/{seq}", response_class=HTMLResponse)
def flag_page(request: Request, runtime: RuntimeDep, caller: Officer, seq: AuditSeq) -> Response:
    """One flag: the flagged access, the patient's comment (audited) and the decision form."""
    detail = open_flag(runtime, caller, seq)
    patient = identity(request, caller, detail.flag.patient_id)
    context = {"detail": detail, "outcomes": OUTCOMES, "max_note": MAX_NOTE, "patient": patient}
    return render(request, "admin/access_flag.html", context)


@router.post(FLAGS + "/{seq}")
def decide(
    request: Request,
    runtime: RuntimeDep,
    caller: Officer,
    seq: AuditSeq,
    outcome: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=MAX_NOTE + 100)] = "",
) -> Response:
    """Record the decision; the patient sees it next to their flag in the portal."""
    try:
        resolve_flag(runtime, caller, seq, outcome, note)
    except ValidationError as exc:
        response = RedirectResponse(f"{FLAGS}/{seq}", status_code=303)
        flash(request, response, exc.message, "error")
        return response
    response = RedirectResponse(FLAGS, status_code=303)
    flash(request, response, f"Flag #{seq} resolved. The patient can see the outcome.")
    return response
