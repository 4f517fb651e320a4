"""`/admin/alerts`: the detectors' alerts, their review, and `GET /api/v1/alerts`.

The list filters by status, severity, detector and user; an alert's page shows
what triggered it, its review history, the user's activity an hour either side,
and the forms to acknowledge, assign, note, resolve (or reopen) it, and to lift
the suspension a mass-change alert put on a session or token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall.alerts import (
    CATALOGUE,
    SEVERITY_ORDER,
    AlertPublic,
    Resolution,
    Status,
    queries,
    services,
)
from carewall.core.errors import CarewallError, NotFoundError
from carewall.identity import Role, suspensions
from carewall.identity import queries as identity_queries
from carewall.web.auth import Caller, require, require_api, runtime_of
from carewall.web.flash import flash
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["alerts"])
Admin = Annotated[Caller, Depends(require(Role.ADMIN))]
PAGE = "/admin/alerts"
_MAX_FILTER = 120
AlertId = Annotated[str, Path(max_length=36)]


def _filter(status: str, severity: str, detector: str, user: str) -> queries.AlertFilter:
    return queries.AlertFilter(
        status=status if status in {s.value for s in Status} else "",
        severity=severity if severity in {str(s) for s in SEVERITY_ORDER} else "",
        detector=detector if detector in CATALOGUE else "",
        user=user[:_MAX_FILTER],
    )


def home_panel(request: Request) -> Mapping[str, Any]:
    """The admin home's alerts panel: open alerts by severity."""
    runtime = runtime_of(request)
    with runtime.db.sessions() as session:
        counts = queries.open_by_severity(session)
    return {"counts": counts, "order": [str(s) for s in SEVERITY_ORDER]}


@router.get(PAGE, response_class=HTMLResponse)
def alerts_page(
    request: Request,
    _caller: Admin,
    status: Annotated[str, Query(max_length=20)] = "",
    severity: Annotated[str, Query(max_length=20)] = "",
    detector: Annotated[str, Query(max_length=40)] = "",
    user: Annotated[str, Query(max_length=_MAX_FILTER)] = "",
) -> Response:
    """Alerts, newest first, with filters."""
    runtime = runtime_of(request)
    wanted = _filter(status, severity, detector, user)
    with runtime.db.sessions() as session:
        alerts = queries.list_alerts(session, wanted)
        counts = queries.open_by_severity(session)
        users = queries.users_with_alerts(session)
        names = identity_queries.display_names(session)
    context = {
        "alerts": alerts,
        "wanted": wanted,
        "counts": counts,
        "users": users,
        "who": _who(names),
        "catalogue": CATALOGUE,
        "statuses": [s.value for s in Status],
        "severities": [str(s) for s in SEVERITY_ORDER],
    }
    return render(request, "alerts/list.html", context)


@router.get(PAGE + "/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, _caller: Admin, alert_id: AlertId) -> Response:
    """One alert: what triggered it, its history, the user's activity around it."""
    runtime = runtime_of(request)
    with runtime.db.sessions() as session:
        detail = queries.alert_detail(session, alert_id)
        if detail is None:
            raise NotFoundError("No such alert.")
        names = identity_queries.display_names(session)
        suspension = (
            suspensions.suspension_for(session, str(detail.alert.facts.get("channel", "")))
            if detail.alert.suspension_id
            else None
        )
        admins = [
            u.email
            for u in identity_queries.users_overview(session)
            if u.role is Role.ADMIN and u.status == "active"
        ]
    context = {
        "detail": detail,
        "alert": detail.alert,
        "kind": CATALOGUE.get(detail.alert.detector),
        "who": _who(names),
        "suspension": suspension,
        "admins": admins,
        "resolutions": [r.value for r in Resolution],
    }
    return render(request, "alerts/detail.html", context)


def _who(names: Mapping[str, str]) -> Callable[[str], str]:
    def describe(ref: str) -> str:
        if not ref:
            return "unknown"
        name = names.get(ref.removeprefix("user:"))
        return f"{name} ({ref})" if name else ref

    return describe


def _act(
    request: Request,
    caller: Caller,
    alert_id: str,
    change: Callable[..., object],
    done: str,
    *values: str,
) -> Response:
    """Apply one review step (`change(runtime, caller, alert_id, *values)`) and go back to
    the alert with what happened: a refusal is flashed, an unknown alert is a 404."""
    response = RedirectResponse(f"{PAGE}/{alert_id}", status_code=303)
    try:
        change(runtime_of(request), caller, alert_id, *values)
    except CarewallError as exc:
        if exc.status == 404:
            raise
        flash(request, response, exc.message, "error")
    else:
        flash(request, response, done, "success")
    return response


Note = Annotated[str, Form(max_length=services.MAX_NOTE)]


@router.post(PAGE + "/{alert_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(request: Request, caller: Admin, alert_id: AlertId, note: Note = "") -> Response:
    """open -> acknowledged."""
    return _act(request, caller, alert_id, services.acknowledge, "Alert acknowledged.", note)


@router.post(PAGE + "/{alert_id}/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    caller: Admin,
    alert_id: AlertId,
    assignee: Annotated[str, Form(max_length=254)] = "",
) -> Response:
    """Assign to an administrator."""
    return _act(request, caller, alert_id, services.assign, "Assignee saved.", assignee)


@router.post(PAGE + "/{alert_id}/note", response_class=HTMLResponse)
def note(request: Request, caller: Admin, alert_id: AlertId, note: Note = "") -> Response:
    """Add a note."""
    return _act(request, caller, alert_id, services.add_note, "Note added.", note)


@router.post(PAGE + "/{alert_id}/resolve", response_class=HTMLResponse)
def resolve(
    request: Request,
    caller: Admin,
    alert_id: AlertId,
    resolution: Annotated[str, Form(max_length=24)] = "",
    note: Note = "",
) -> Response:
    """Resolve as true incident, false positive or expected."""
    return _act(request, caller, alert_id, services.resolve, "Alert resolved.", resolution, note)


@router.post(PAGE + "/{alert_id}/reopen", response_class=HTMLResponse)
def reopen(request: Request, caller: Admin, alert_id: AlertId, note: Note = "") -> Response:
    """Reopen a resolved alert."""
    return _act(request, caller, alert_id, services.reopen, "Alert reopened.", note)


@router.post(PAGE + "/{alert_id}/lift", response_class=HTMLResponse)
def lift(
    request: Request,
    caller: Admin,
    alert_id: AlertId,
    suspension: Annotated[str, Form(max_length=36)] = "",
) -> Response:
    """Lift the suspension a mass-change alert put on a session or token."""
    return _act(
        request,
        caller,
        alert_id,
        services.lift_suspension,
        "Suspension lifted: the session or token works again.",
        suspension,
    )


_STATUS = "^(open|acknowledged|resolved)?$"
_SEVERITY = "^(critical|high|medium|low)?$"
_DETECTOR = "^[a-z_]{0,40}$"
_USER = "^(user:[A-Za-z0-9-]{1,64})?$"


@api.get(
    "/alerts",
    response_model=list[AlertPublic],
    responses={400: {"description": "A query value that is not text (e.g. a control character)"}},
)
def alerts_api(
    request: Request,
    _caller: Annotated[Caller, Depends(require_api(Role.ADMIN, scope="api:read"))],
    status: Annotated[str, Query(pattern=_STATUS)] = "",
    severity: Annotated[str, Query(pattern=_SEVERITY)] = "",
    detector: Annotated[str, Query(pattern=_DETECTOR)] = "",
    user: Annotated[str, Query(pattern=_USER)] = "",
) -> list[AlertPublic]:
    """Alerts, newest first: `id`, `detector`, `severity`, `status`, `user` (the staff
    member's or token owner's reference), `created`; filter by any of them."""
    runtime = runtime_of(request)
    with runtime.db.sessions() as session:
        alerts = queries.list_alerts(session, _filter(status, severity, detector, user))
    return [AlertPublic.of(a) for a in alerts]
