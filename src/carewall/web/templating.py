"""Rendering pages: every template gets the CSRF token, flashes, nav and version."""

from __future__ import annotations

import logging
from importlib.resources import files
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from carewall import __version__
from carewall.web import csrf, flash
from carewall.web.auth import current_session
from carewall.web.nav import nav_for

templates = Jinja2Templates(directory=str(files("carewall.web") / "templates"))
log = logging.getLogger(__name__)


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render `template` with the shared page context."""
    current_session(request)  # fills role, email and idle time for the layout
    role = getattr(request.state, "role", None)
    full = {
        "request": request,
        "csrf_token": csrf.csrf_token(request),
        "flashes": flash.pop_flashes(request),
        "nav": nav_for(request.app.state.nav, role),
        "version": __version__,
        "practice_name": request.app.state.settings.practice_name,
        "signed_in_email": getattr(request.state, "user_email", None),
        "signed_in_role": role,
        "seconds_left": getattr(request.state, "seconds_left", None),
        **(context or {}),
    }
    try:
        response: HTMLResponse = templates.TemplateResponse(
            request, template, full, status_code=status
        )
    except UnicodeEncodeError:
        # Outside text no UTF-8 page can carry (a lone surrogate from a mail header, say)
        # costs a replacement character, never the page. Sources clean their text; this
        # is the last line.
        log.warning("unencodable text on %s rid=%s", template, _request_id(request))
        html = templates.get_template(template).render(full)
        response = HTMLResponse(html.encode("utf-8", "replace"), status_code=status)
    csrf.set_cookie_if_new(request, response)
    if full["flashes"]:
        response.delete_cookie(flash.COOKIE, path="/")
    return response
