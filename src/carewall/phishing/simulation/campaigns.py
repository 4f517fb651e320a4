"""Launching a campaign: who gets it, when each message goes, and the send tasks queued.

Recipients come from `--to` addresses (unknown ones join the staff
directory) or a group; every address is checked against the practice's own
domains by the directory. Each recipient gets an unguessable id (`rid`) and a
send time: with "send now" at once, otherwise spread at random over the send
window (business hours in the practice's time zone by default) so that no
more than the rate limit go in any one minute. Recipients are grouped into
batches (one per minute of the window, or 100 at a time when sending now);
each batch is one queued task, enqueued in the launch transaction.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.db import new_id
from carewall.core.errors import ValidationError
from carewall.core.runtime import Runtime
from carewall.jobs import enqueue
from carewall.phishing.simulation.events import audit as phishing_audit
from carewall.phishing.simulation.library import Scenario
from carewall.phishing.simulation.models import Campaign, CampaignRecipient
from carewall.phishing.simulation.sending import SEND_TASK
from carewall.phishing.simulation.tags import SimulationTag
from carewall.phishing.simulation.templates import template_in
from carewall.training import StaffInput, StaffMember, members_named, module, upsert_in

NOW_BATCH = 100
MAX_RECIPIENTS = 20_000


@dataclass(frozen=True, slots=True)
class LaunchRequest:
    """What the administrator asked for."""

    template_id: str
    emails: tuple[str, ...] = ()
    group: str = ""
    name: str = ""
    now: bool = False
    window_start: datetime | None = None
    window_end: datetime | None = None
    rate_per_minute: int | None = None
    assign_training: bool = True
    report_footer: bool = True


@dataclass(slots=True)
class _Plan:
    start: datetime
    end: datetime
    times: list[datetime] = field(default_factory=list)


def default_window(settings: Settings, now: datetime) -> tuple[datetime, datetime]:
    """The rest of today's business hours, or the next business day's when little is left."""
    zone = ZoneInfo(settings.practice_timezone)
    local = now.astimezone(zone)
    day = local.date()
    for _ in range(8):
        opens = datetime.combine(day, time(settings.campaign_window_start_hour), zone)
        closes = datetime.combine(day, time(0), zone) + timedelta(
            hours=settings.campaign_window_end_hour
        )
        start = max(opens, local)
        if day.weekday() < 5 and closes - start >= timedelta(minutes=30):
            return start.astimezone(now.tzinfo), closes.astimezone(now.tzinfo)
        day += timedelta(days=1)
    raise ValidationError("No business hours found in the next week; check the window settings.")


def spread(count: int, start: datetime, end: datetime, rate: int) -> list[datetime]:
    """`count` random send times in [start, end), at most `rate` in any one minute, sorted."""
    minutes = int((end - start).total_seconds() // 60)
    if minutes < 1 or count > minutes * rate:
        raise ValidationError(
            f"{count} messages do not fit in this window at {rate} a minute "
            f"({max(minutes, 0) * rate} at most): widen the window or raise the rate."
        )
    chooser = secrets.SystemRandom()
    slots = sorted(chooser.sample(range(minutes * rate), count))
    times = [
        start + timedelta(minutes=slot // rate, seconds=chooser.uniform(0, 59)) for slot in slots
    ]
    return sorted(times)


def _plan(settings: Settings, request: LaunchRequest, count: int, now: datetime) -> _Plan:
    if request.now:
        return _Plan(now, now, [now] * count)
    start, end = request.window_start, request.window_end
    if start is None or end is None:
        start, end = default_window(settings, now)
    if end <= start or end <= now:
        raise ValidationError("The send window must end after it starts, and in the future.")
    start = max(start, now)
    rate = request.rate_per_minute or settings.campaign_rate_per_minute
    if not 1 <= rate <= 10_000:
        raise ValidationError("The rate limit must be between 1 and 10000 messages a minute.")
    return _Plan(start, end, spread(count, start, end, rate))


def _recipients(
    session: Session, settings: Settings, caller: Caller, request: LaunchRequest
) -> list[StaffMember]:
    if bool(request.emails) == bool(request.group):
        raise ValidationError("Give either addresses (--to) or a group (--group), not both.")
    if request.group:
        people = members_named(session, request.group)
    else:
        people = []
        for address in dict.fromkeys(e.strip().lower() for e in request.emails if e.strip()):
            member, _ = upsert_in(session, settings, caller, StaffInput(email=address), "campaign")
            people.append(member)
    if not people:
        raise ValidationError("Nobody to send to: the group is empty.")
    if len(people) > MAX_RECIPIENTS:
        raise ValidationError(f"A campaign reaches at most {MAX_RECIPIENTS} people.")
    return people


def _batches(times: list[datetime], start: datetime, send_now: bool) -> list[int]:
    if send_now:
        return [index // NOW_BATCH for index in range(len(times))]
    return [int((t - start).total_seconds() // 60) for t in times]


def launch(runtime: Runtime, caller: Caller, request: LaunchRequest) -> str:
    """Create the campaign and queue its send tasks in one transaction; returns its id."""
    settings = runtime.settings
    if not runtime.mail.enabled and not settings.demo:
        raise ValidationError(
            "Outgoing mail is off: set CAREWALL_SMTP_HOST (and CAREWALL_SMTP_PORT) first."
        )
    now = utcnow()
    with runtime.db.transaction() as session:
        scenario = template_in(session, request.template_id)
        module(scenario.remedial)
        people = _recipients(session, settings, caller, request)
        plan = _plan(settings, request, len(people), now)
        rate = 0 if request.now else request.rate_per_minute or settings.campaign_rate_per_minute
        campaign = _campaign(session, caller, request, scenario, plan, people, now)
        campaign.rate_per_minute = rate
        batches = _add_recipients(session, settings, campaign, people, plan, request.now)
        for batch, run_after in sorted(batches.items()):
            payload = {"campaign_id": campaign.id, "batch": batch}
            enqueue(
                session,
                caller,
                SEND_TASK,
                payload,
                run_after=run_after,
                key=f"sim:{campaign.id}:{batch}",
            )
        phishing_audit(
            session,
            SimulationTag.CAMPAIGN_LAUNCHED,
            caller.origin,
            actor=caller.ref,
            subject=f"campaign:{campaign.id}",
            template=scenario.id,
            recipients=len(people),
            send_now=request.now,
        )
        return campaign.id


def _campaign(
    session: Session,
    caller: Caller,
    request: LaunchRequest,
    scenario: Scenario,
    plan: _Plan,
    people: list[StaffMember],
    now: datetime,
) -> Campaign:
    name = " ".join(request.name.split())[:200] or f"{scenario.title} ({now:%Y-%m-%d})"
    snapshot = scenario.to_content() | {"report_footer": request.report_footer}
    campaign = Campaign(
        id=new_id(),
        name=name,
        template_id=scenario.id,
        template=snapshot,
        landing=scenario.landing,
        status="sending",
        send_now=request.now,
        window_start=plan.start,
        window_end=plan.end,
        rate_per_minute=request.rate_per_minute or 0,
        assign_training=request.assign_training,
        remedial_module=scenario.remedial,
        target=(request.group or ", ".join(p.email for p in people[:5]))[:300],
        created_by=caller.ref[:120],
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    return campaign


def _add_recipients(
    session: Session,
    settings: Settings,
    campaign: Campaign,
    people: list[StaffMember],
    plan: _Plan,
    send_now: bool,
) -> dict[int, datetime]:
    """Recipient rows in send order; returns each batch's earliest send time."""
    order = list(people)
    secrets.SystemRandom().shuffle(order)  # nobody is always first (or last) to get it
    batches = _batches(plan.times, plan.start, send_now)
    first: dict[int, datetime] = defaultdict(lambda: plan.end)
    rows = []
    for member, when, batch in zip(order, plan.times, batches, strict=True):
        rid = secrets.token_urlsafe(16)
        rows.append(
            CampaignRecipient(
                id=new_id(),
                campaign_id=campaign.id,
                member_id=member.id,
                email=member.email,
                department=member.department,
                rid=rid,
                message_id=f"<{rid}@{settings.campaign_sender_domain}>",
                scheduled_at=when,
                batch=batch,
                status="pending",
                attempts=0,
            )
        )
        first[batch] = min(first[batch], when)
    session.add_all(rows)
    return dict(first)
