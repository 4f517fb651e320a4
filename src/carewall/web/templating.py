"""Rendering pages: every template gets the CSRF token, flashes, nav and version."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from carewall import __version__
from carewall.web import csrf, flash
from carewall.web.auth import current_session
from carewall.web.nav import nav_for

templates = Jinja2Templates(directory=str(files("carewall.web") / "templates"))
log = logging.getLogger(__name__)

DATETIME = "%d %b %Y, %H:%M"


def practice_zone(request: Request) -> ZoneInfo:
    """The practice's time zone (`CAREWALL_PRACTICE_TIMEZONE`, UTC by default)."""
    return ZoneInfo(request.app.state.settings.practice_timezone)


def local_time(
    moment: datetime | date | str | None, zone: ZoneInfo, fmt: str = DATETIME, *, label: bool = True
) -> str:
    """`moment` in the practice's zone with the zone's abbreviation (e.g. "CST"), or "".

    `label=False` leaves the abbreviation out, for a table whose header names the zone.

    Stored times are UTC (a naive one is taken as UTC); a date has no zone and is
    shown as it is; text (an ISO time from a FHIR resource or an audit detail) is
    parsed first and shown unchanged when it is not a time.
    """
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return str(moment)
    if not isinstance(moment, datetime):
        return moment.strftime(fmt)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    shown = moment.astimezone(zone)
    text = shown.strftime(fmt)
    return f"{text} {zone_label(zone, shown)}" if label else text


def zone_label(zone: ZoneInfo, at: datetime | None = None) -> str:
    """The zone's abbreviation at `at` (now by default): "UTC", "CST", "CEST"."""
    return (at or datetime.now(UTC)).astimezone(zone).tzname() or zone.key


@pass_context
def _localtime_filter(context: Context, moment: Any, fmt: str = DATETIME, zone: bool = True) -> str:
    """Jinja: `{{ when|localtime }}`, `{{ when|localtime("%H:%M") }}`; `zone=False` in a
    table whose header says `({{ zone_label }})`."""
    return local_time(moment, practice_zone(context["request"]), fmt, label=zone)


templates.env.filters["localtime"] = _localtime_filter


@dataclass(frozen=True)
class PageOf:
    """One page of a long list shown in a table, and the links to its neighbours."""

    rows: list[Any]
    number: int
    pages: int
    total: int
    prev_url: str | None
    next_url: str | None


@pass_context
def _page_of(context: Context, items: Any, name: str = "page", size: int = 25) -> PageOf:
    """Jinja: `{% set pg = page_of(rows, "runs") %}` then `pg.rows` and `pager(pg)`.

    The page number travels in the query string under `name` (several tables on one
    page page independently); a number out of range shows the nearest page.
    """
    request: Request = context["request"]
    rows = list(items or [])
    pages = max((len(rows) + size - 1) // size, 1)
    try:
        number = int(request.query_params.get(name, "1"))
    except ValueError:
        number = 1
    number = min(max(number, 1), pages)

    def url(n: int) -> str:  # a relative link: never a host taken from the request
        target = request.url.include_query_params(**{name: n})
        return f"{target.path}?{target.query}"

    return PageOf(
        rows=rows[(number - 1) * size : number * size],
        number=number,
        pages=pages,
        total=len(rows),
        prev_url=url(number - 1) if number > 1 else None,
        next_url=url(number + 1) if number < pages else None,
    )


templates.env.globals["page_of"] = _page_of


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
        "zone_label": zone_label(practice_zone(request)),
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
