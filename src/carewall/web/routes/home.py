"""The home page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from carewall.identity import Stage
from carewall.training import queries as training_queries
from carewall.web.auth import current_session, runtime_of
from carewall.web.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request) -> HTMLResponse:
    """What Carewall does for this practice, and where to start (with a staff member's training)."""
    return render(request, "home.html", {"training_rows": _open_training(request)})


def _open_training(request: Request) -> list[training_queries.AssignmentRow]:
    """The signed-in staff member's unfinished training, if they are in the staff directory."""
    active = current_session(request)
    if active is None or active.stage is not Stage.FULL or not active.role.is_staff:
        return []
    with runtime_of(request).db.sessions() as session:
        member = training_queries.member_by_email(session, active.user.email)
        if member is None:
            return []
        rows = training_queries.assignments(session, member_id=member.id)
    return [row for row in rows if row.status == "assigned"]
