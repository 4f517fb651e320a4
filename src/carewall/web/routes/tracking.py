"""The public side of simulations: tracked links, the open pixel, landing pages, the lesson.

No sign-in: the unguessable tracking id in the path is all there is, and an
unknown id gets the same bland answer as a known one would without tracking.
Nothing typed into a landing page is read: the imitation form's inputs have
no `name`, so browsers never send their values, and the handler keeps only
the names of the form's own fields, whatever else a client posts. Paths are
stable (`/s/c/<rid>`, `/s/o/<rid>.gif`, `/s/r/<rid>`) so administrators can
allow-list them in their mail filter.
"""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carewall.core.context import Caller
from carewall.phishing.simulation.library import from_content
from carewall.phishing.simulation.render import Person, annotate
from carewall.phishing.simulation.tracking import Hit, landing_of, record_hit
from carewall.training import new_learner_link, queries
from carewall.web.auth import RuntimeDep, origin_of, runtime_of
from carewall.web.templating import render

router = APIRouter(include_in_schema=False)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PUBLIC_ROUTES = {
    ("GET", "/s/o/{rid}.gif"),
    ("HEAD", "/s/o/{rid}.gif"),
    ("GET", "/s/c/{rid}"),
    ("HEAD", "/s/c/{rid}"),
    ("GET", "/s/r/{rid}"),
    ("HEAD", "/s/r/{rid}"),
    ("GET", "/s/l/{rid}"),
    ("POST", "/s/l/{rid}"),
    ("GET", "/s/t/{rid}"),
}


def _hit(request: Request, rid: str, kind: str, source: str, fields: tuple[str, ...] = ()) -> Hit:
    origin = origin_of(request)
    return Hit(rid, kind, source, request.method, origin.ip, origin.user_agent, fields)


def _gone(request: Request) -> Response:
    return render(request, "simulation/gone.html", status=404)


@router.api_route("/s/o/{rid}.gif", methods=["GET", "HEAD"])
def open_pixel(request: Request, runtime: RuntimeDep, rid: str) -> Response:
    """The open pixel: records an open, always answers with a transparent GIF."""
    record_hit(runtime, _hit(request, rid, "open", "pixel"))
    return Response(PIXEL, media_type="image/gif")


@router.api_route("/s/c/{rid}", methods=["GET", "HEAD"])
def click(request: Request, runtime: RuntimeDep, rid: str) -> Response:
    """A click on the message's link: on to the landing page, or straight to the lesson."""
    tracked = record_hit(runtime, _hit(request, rid, "click", "link"))
    if tracked is None:
        return _gone(request)
    if request.method == "HEAD":
        return Response(status_code=200)
    target = f"/s/l/{rid}" if tracked.landing == "credentials" else f"/s/t/{rid}"
    return RedirectResponse(target, status_code=303)


@router.api_route("/s/r/{rid}", methods=["GET", "HEAD"])
def report(request: Request, runtime: RuntimeDep, rid: str) -> Response:
    """The report link in the message's footer: thanks the reporter."""
    tracked = record_hit(runtime, _hit(request, rid, "report", "link"))
    if tracked is None:
        return _gone(request)
    return render(request, "simulation/reported.html")


@router.get("/s/l/{rid}", response_class=HTMLResponse)
def landing(request: Request, runtime: RuntimeDep, rid: str) -> Response:
    """The imitation sign-in page a click leads to (it records nothing by itself)."""
    found = landing_of(runtime, rid)
    if found is None:
        return _gone(request)
    _recipient, campaign = found
    scenario = from_content(campaign.template, builtin=False)
    if scenario.landing != "credentials":
        return RedirectResponse(f"/s/t/{rid}", status_code=303)
    return render(request, "simulation/landing.html", {"scenario": scenario, "rid": rid})


@router.post("/s/l/{rid}")
async def submit(request: Request, runtime: RuntimeDep, rid: str) -> Response:
    """A landing-form submission: only that it happened and the form's field names are kept."""
    found = landing_of(runtime, rid)
    if found is None:
        return _gone(request)
    scenario = from_content(found[1].template, builtin=False)
    form = await request.form()
    declared = set(scenario.landing_page.fields)
    named = str(form.get("fields", "")).split(",")
    names = tuple(sorted({n for n in [*named, *form.keys()] if n in declared}))
    del form  # nothing else from the body is looked at
    record_hit(runtime, _hit(request, rid, "submit", "form", names))
    return RedirectResponse(f"/s/t/{rid}", status_code=303)


@router.get("/s/t/{rid}", response_class=HTMLResponse)
def teachable_moment(request: Request, runtime: RuntimeDep, rid: str) -> Response:
    """The teachable moment: the message again with each red flag highlighted and explained."""
    found = landing_of(runtime, rid)
    if found is None:
        return _gone(request)
    recipient, campaign = found
    scenario = from_content(campaign.template, builtin=False)
    with runtime.db.sessions() as session:
        member = queries.member(session, recipient.member_id)
        assigned = [
            r
            for r in queries.assignments(session, member_id=recipient.member_id)
            if r.reason == "remedial" and r.status == "assigned"
        ]
    name = member.name if member else ""
    annotated = annotate(
        scenario, Person(recipient.email, name, recipient.department), runtime.settings
    )
    training_url = None
    if assigned and member is not None:
        training_url = "/training" if member.has_login else _link(request, member.id)
    context = {
        "scenario": scenario,
        "annotated": annotated,
        "assigned": assigned,
        "training_url": training_url,
    }
    return render(request, "simulation/teachable.html", context)


def _link(request: Request, member_id: str) -> str:
    url = new_learner_link(runtime_of(request), Caller.job("phishing.teachable"), member_id)
    return url.removeprefix(runtime_of(request).settings.public_url)
