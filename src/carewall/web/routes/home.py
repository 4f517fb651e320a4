"""The home page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from carewall.web.auth import current_session
from carewall.web.parts import HomePanel
from carewall.web.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request) -> HTMLResponse:
    """What needs doing, per role: the panels every domain registered for this role."""
    return render(request, "home.html", {"panels": _panels(request)})


def _panels(request: Request) -> list[tuple[str, dict[str, object]]]:
    """The panels this visitor's role sees, each with its template and context."""
    current_session(request)
    role = getattr(request.state, "role", None)
    if role is None:
        return []
    panels: list[HomePanel] = sorted(request.app.state.home_panels, key=lambda p: p.order)
    return [(p.template, dict(p.context(request))) for p in panels if role in p.roles]
