"""`/admin/campaigns`: launch simulations, follow their results, manage templates.

Thin handlers: each validates the form, calls one domain function and
renders. Launching, editing and test sends need the admin role; figures
leave scanner events out (the events table shows them, to re-classify).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall.core.clock import utcnow
from carewall.core.errors import CarewallError, ValidationError
from carewall.identity import Role
from carewall.phishing.simulation import results
from carewall.phishing.simulation.campaigns import LaunchRequest, default_window, launch
from carewall.phishing.simulation.render import Person, annotate
from carewall.phishing.simulation.sending import test_send
from carewall.phishing.simulation.templates import (
    TemplateEdit,
    all_templates,
    clone_template,
    template_in,
    update_template,
)
from carewall.phishing.simulation.tracking import reclassify
from carewall.training import queries as training_queries
from carewall.web.auth import Caller, RuntimeDep, require, runtime_of
from carewall.web.campaign_charts import funnel_bars, trend_chart
from carewall.web.flash import flash
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
Admin = Annotated[Caller, Depends(require(Role.ADMIN))]
FormStr = Annotated[str, Form()]
BASE = "/admin/campaigns"


def _back(request: Request, target: str, message: str, level: str = "success") -> Response:
    response = RedirectResponse(target, status_code=303)
    flash(request, response, message, level)
    return response


def _list_context(request: Request) -> dict[str, Any]:
    runtime = runtime_of(request)
    with runtime.db.sessions() as session:
        items = [(c, results.figures(session, c.id)) for c in results.campaigns(session)]
        points = results.trend(session)
        templates = all_templates(session)
        groups = training_queries.groups(session)
        departments = training_queries.departments(session)
        repeat = results.repeat_clickers(session)
    start, end = default_window(runtime.settings, utcnow())
    zone = ZoneInfo(runtime.settings.practice_timezone)
    return {
        "items": items,
        "trend": trend_chart(points),
        "points": points,
        "templates": templates,
        "groups": groups,
        "departments": departments,
        "repeat": repeat,
        "window_start": start.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "window_end": end.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "timezone": runtime.settings.practice_timezone,
        "rate": runtime.settings.campaign_rate_per_minute,
        "errors": [],
        "form": {},
    }


@router.get(BASE, response_class=HTMLResponse)
def campaigns_page(request: Request, _caller: Admin) -> Response:
    """Every campaign with its headline figures, the trend across campaigns, and the launch form."""
    return render(request, "campaigns/list.html", _list_context(request))


def _local(value: str, zone: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(zone))
    except ValueError:
        raise ValidationError(f"{value!r} is not a date and time.") from None


@router.post(BASE, response_class=HTMLResponse)
def launch_campaign(
    request: Request,
    runtime: RuntimeDep,
    caller: Admin,
    template_id: FormStr,
    audience: FormStr = "group",
    group: FormStr = "",
    emails: FormStr = "",
    name: FormStr = "",
    send_now: FormStr = "",
    window_start: FormStr = "",
    window_end: FormStr = "",
    rate: FormStr = "",
    assign_training: FormStr = "",
) -> Response:
    """Launch a campaign from the form; its page shows progress."""
    zone = runtime.settings.practice_timezone
    try:
        addresses = tuple(e for e in emails.replace("\n", ",").split(",") if e.strip())
        request_data = LaunchRequest(
            template_id=template_id,
            emails=addresses if audience == "emails" else (),
            group=group if audience == "group" else "",
            name=name,
            now=bool(send_now),
            window_start=_local(window_start, zone),
            window_end=_local(window_end, zone),
            rate_per_minute=int(rate) if rate.strip().isdigit() else None,
            assign_training=bool(assign_training),
        )
        campaign_id = launch(runtime, caller, request_data)
    except CarewallError as exc:
        context = _list_context(request)
        context["errors"] = [exc.message]
        context["form"] = {
            "template_id": template_id,
            "group": group,
            "emails": emails,
            "name": name,
        }
        return render(request, "campaigns/list.html", context, status=exc.status)
    return _back(
        request,
        f"{BASE}/{campaign_id}",
        "Campaign launched. Messages go out through the job runner.",
    )


@router.get(f"{BASE}/templates", response_class=HTMLResponse)
def templates_page(request: Request, runtime: RuntimeDep, _caller: Admin) -> Response:
    """The scenario library and edited copies."""
    with runtime.db.sessions() as session:
        templates = all_templates(session)
    return render(request, "campaigns/templates.html", {"templates": templates})


@router.get(f"{BASE}/templates/{{template_id}}", response_class=HTMLResponse)
def template_page(
    request: Request, runtime: RuntimeDep, caller: Admin, template_id: str
) -> Response:
    """Preview (sanitised, nothing remote), the annotated teachable copy, and the edit form."""
    with runtime.db.sessions() as session:
        scenario = template_in(session, template_id)
    person = Person(caller.email or "you@clinic.example", "Alex Example", "Front desk")
    context = {
        "scenario": scenario,
        "annotated": annotate(scenario, person, runtime.settings),
        "preview_html": _preview_html(scenario.html, runtime.settings.practice_name),
        "me": caller.email,
    }
    return render(request, "campaigns/template.html", context)


def _preview_html(html: str, practice: str) -> str:
    """The stored (sanitised) HTML with placeholders filled and links made inert."""
    from carewall.phishing.simulation.library import sanitize_html
    from carewall.phishing.simulation.render import fill

    sample = {
        "first_name": "Alex",
        "last_name": "Example",
        "name": "Alex Example",
        "practice": practice,
        "email": "alex@clinic.example",
        "department": "Front desk",
        "link": "#",
        "report_link": "#",
        "sim_domain": "lookalike.example",
    }
    return sanitize_html(fill(html, sample, as_html=True))


@router.post(f"{BASE}/templates/{{template_id}}/clone")
def clone(request: Request, runtime: RuntimeDep, caller: Admin, template_id: str) -> Response:
    """Copy a template to edit it."""
    new_id = clone_template(runtime, caller, template_id)
    return _back(request, f"{BASE}/templates/{new_id}", "Copied. Edit the copy below.")


@router.post(f"{BASE}/templates/{{template_id}}", response_class=HTMLResponse)
def save_template(
    request: Request,
    runtime: RuntimeDep,
    caller: Admin,
    template_id: str,
    title: FormStr,
    subject: FormStr,
    sender_name: FormStr,
    sender_address: FormStr,
    html: FormStr,
    text: FormStr,
    landing: FormStr,
    difficulty: FormStr = "medium",
    landing_heading: FormStr = "",
    landing_fields: FormStr = "",
) -> Response:
    """Save an edited copy (the HTML is sanitised on the way in)."""
    edit = TemplateEdit(
        title,
        subject,
        sender_name,
        sender_address,
        html,
        text,
        landing,
        landing_heading,
        tuple(landing_fields.split(",")),
        difficulty,
    )
    target = f"{BASE}/templates/{template_id}"
    try:
        update_template(runtime, caller, template_id, edit)
    except CarewallError as exc:
        return _back(request, target, exc.message, "error")
    return _back(request, target, "Template saved.")


@router.post(f"{BASE}/templates/{{template_id}}/test")
def send_test(request: Request, runtime: RuntimeDep, caller: Admin, template_id: str) -> Response:
    """Send the template to the administrator's own address."""
    target = f"{BASE}/templates/{template_id}"
    try:
        test_send(runtime, caller, template_id, caller.email)
    except CarewallError as exc:
        return _back(request, target, exc.message, "error")
    return _back(request, target, f"A test copy is on its way to {caller.email}.")


@router.get(f"{BASE}/{{campaign_id}}", response_class=HTMLResponse)
def campaign_page(
    request: Request, runtime: RuntimeDep, _caller: Admin, campaign_id: str
) -> Response:
    """One campaign: funnel chart, timeline, departments, recipients and events."""
    with runtime.db.sessions() as session:
        campaign = results.campaign(session, campaign_id)
        figures = results.figures(session, campaign_id)
        people = results.recipient_results(session, campaign_id)
        events = results.events_of(session, campaign_id)
        repeat = dict(results.repeat_clickers(session))
    bars, height = funnel_bars(figures.funnel)
    context = {
        "campaign": campaign,
        "figures": figures,
        "bars": bars,
        "chart_height": height,
        "people": people,
        "events": events,
        "repeat": repeat,
    }
    return render(request, "campaigns/detail.html", context)


@router.get(f"{BASE}/{{campaign_id}}/results.csv")
def results_csv(
    request: Request, runtime: RuntimeDep, _caller: Admin, campaign_id: str
) -> Response:
    """The per-recipient results as CSV."""
    with runtime.db.sessions() as session:
        rows = results.recipient_results(session, campaign_id)
    out = io.StringIO()
    writer = csv.writer(out)
    columns = [
        "email",
        "department",
        "status",
        "sent",
        "opened",
        "clicked",
        "submitted",
        "reported",
        "scanner_events",
        "training_assigned",
    ]
    writer.writerow(columns)
    for row in rows:
        data = row.to_json()
        writer.writerow([_cell(data[c]) for c in columns])
    headers = {"content-disposition": f'attachment; filename="campaign-{campaign_id[:8]}.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = " ".join(value) if isinstance(value, list) else "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


@router.post(f"{BASE}/events/{{event_id}}/reclassify")
def reclassify_event(
    request: Request, runtime: RuntimeDep, caller: Admin, event_id: str, scanner: FormStr
) -> Response:
    """Mark an event as a person's or a scanner's; the figures follow."""
    campaign_id = reclassify(runtime, caller, event_id, scanner=scanner == "true")
    label = "a mail scanner" if scanner == "true" else "a person"
    return _back(request, f"{BASE}/{campaign_id}#events", f"Event re-classified as {label}.")
