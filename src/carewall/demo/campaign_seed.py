"""Demo seeder for simulations: two finished campaigns, the latest nine days ago.

The campaign goes through the real launch, send task and tracking code, with
the clock set to when the demo story happened and the null mail sender (demo
mode never mails anyone). Mail scanners fetched links seconds after delivery
(counted apart), people opened over the morning, some clicked, a few typed
into the fake sign-in page, several reported it, and remedial training
followed the clicks; some of it is done already.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.demo.framework import Seeder
from carewall.demo.training_seed import clock_at, demo_runtime
from carewall.jobs import JobContext
from carewall.phishing.simulation.campaigns import LaunchRequest, launch
from carewall.phishing.simulation.results import recipient_results, tracking_ids
from carewall.phishing.simulation.sending import send_batch
from carewall.phishing.simulation.tracking import Hit, record_hit
from carewall.training import learner_for_link, new_learner_link, queries, start_quiz, submit_quiz

_SEED = Caller.cli("demo-seed")
_BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
_PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
_SCANNER = "Mozilla/5.0 (compatible; SafeLinks/1.0; +Microsoft Defender for Office 365)"

#: What each person did, by position in the (shuffled) recipient list: minutes after sending.
_STORY: tuple[dict[str, int], ...] = (
    {"open": 12, "click": 14, "submit": 15},
    {"open": 40, "report": 43},
    {"open": 7, "click": 9},
    {"open": 95},
    {"open": 18, "report": 20},
    {},
    {"open": 63, "click": 66, "submit": 68},
    {"open": 130, "report": 134},
    {"open": 25},
    {"open": 31, "click": 33},
    {"open": 5, "report": 6},
    {},
    {"open": 210},
    {"open": 48, "report": 55},
    {"open": 150, "click": 151},
    {"open": 75},
    {},
    {"open": 22, "report": 29},
)


def _hits(runtime: Runtime, rid: str, sent: datetime, story: dict[str, int], index: int) -> None:
    agent = _PHONE if index % 3 == 0 else _BROWSER
    if index % 4 == 0:  # the mail filter checks links the moment the message arrives
        with clock_at(sent + timedelta(seconds=2)):
            record_hit(runtime, Hit(rid, "click", "link", "GET", "40.94.1.10", _SCANNER))
    for kind, minutes in sorted(story.items(), key=lambda item: item[1]):
        source = {"open": "pixel", "click": "link", "submit": "form", "report": "link"}[kind]
        method = "POST" if kind == "submit" else "GET"
        fields = ("username", "password") if kind == "submit" else ()
        with clock_at(sent + timedelta(minutes=minutes, seconds=index * 7 % 50)):
            record_hit(
                runtime, Hit(rid, kind, source, method, f"10.20.0.{20 + index}", agent, fields)
            )


def _remedial_progress(runtime: Runtime, started: datetime) -> None:
    """Half of the people trained after the click have finished their module."""
    with runtime.db.sessions() as session:
        remedial = [
            r
            for r in queries.assignments(session)
            if r.reason == "remedial" and r.status == "assigned" and r.assigned_at >= started
        ]
    for index, row in enumerate(sorted(remedial, key=lambda r: r.email)):
        if index % 2:
            continue
        with clock_at(started + timedelta(days=1 + index, hours=3)):
            token = new_learner_link(runtime, _SEED, row.member_id).rsplit("/", 1)[1]
            with runtime.db.sessions() as session:
                learner = learner_for_link(session, token, _SEED)
            paper = start_quiz(runtime, learner, row.id)
            submit_quiz(
                runtime, learner, paper.attempt_id, {q.id: q.answer for q in paper.questions}
            )


def _campaign(runtime: Runtime) -> None:
    runtime = demo_runtime(runtime)
    _one(runtime, 38, "voicemail", "First drill: voicemail notice", _FIRST_STORY)
    _one(runtime, 9, "ehr-password-expiry", "Second drill: EHR password expiry", _STORY)


#: The first drill went worse (more clicks, fewer reports): the trend then shows progress.
_FIRST_STORY: tuple[dict[str, int], ...] = (
    {"open": 10, "click": 11},
    {"open": 30, "click": 32},
    {"open": 5},
    {"open": 44, "click": 45},
    {"open": 61, "report": 70},
    {},
    {"open": 15, "click": 16},
)


def _one(
    runtime: Runtime, days_ago: int, template: str, name: str, story: tuple[dict[str, int], ...]
) -> None:
    started = (utcnow() - timedelta(days=days_ago)).replace(
        hour=14, minute=30, second=0, microsecond=0
    )
    with clock_at(started):
        request = LaunchRequest(template_id=template, group="everyone", name=name, now=True)
        campaign_id = launch(runtime, _SEED, request)
    with clock_at(started + timedelta(seconds=30)):
        context = JobContext(runtime, Caller.job("phishing.campaign.send"), utcnow(), "demo-seed")
        batch = 0
        while send_batch(context, {"campaign_id": campaign_id, "batch": batch}):
            batch += 1
    with runtime.db.sessions() as session:
        people = recipient_results(session, campaign_id)
        ids = tracking_ids(session, campaign_id)
    for index, person in enumerate(people):
        rid, sent = ids[person.recipient_id]
        _hits(runtime, rid, sent or started, story[index % len(story)], index)
    _remedial_progress(runtime, started)


CAMPAIGN_SEEDER = Seeder("phishing-demo-campaign", _campaign, later=True)
