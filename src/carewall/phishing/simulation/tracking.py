"""Recording what recipients do, and telling people from mail scanners.

Mail filters (Microsoft Safe Links, Proofpoint, Mimecast...) fetch every
link and image in a message to check it, which tools such as GoPhish count
as clicks. Here an open, click or report-link hit is recorded as a probable
scanner, kept but left out of every figure, when:

1. it is a HEAD request (people's browsers send GET);
2. its user agent contains one of `CAREWALL_CAMPAIGN_SCANNER_USER_AGENTS`
   (case-insensitive; SafeLinks, Proofpoint, Mimecast, Barracuda,
   BingPreview, scanner, bot by default);
3. it comes from an address in `CAREWALL_CAMPAIGN_SCANNER_NETWORKS`;
4. it arrives within `CAREWALL_CAMPAIGN_SCANNER_SECONDS` (5 s) of the
   message being sent: no person opens, reads and clicks that fast.

A landing-form submission (a POST a scanner does not make) and a report
through the triage queue are always people. The administrator can
re-classify any event either way.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Caller, Origin
from carewall.core.db import new_id
from carewall.core.errors import NotFoundError
from carewall.core.runtime import Runtime
from carewall.phishing.simulation.events import audit
from carewall.phishing.simulation.models import Campaign, CampaignEvent, CampaignRecipient
from carewall.phishing.simulation.tags import SimulationTag
from carewall.training import assign_remedial_in

KINDS = ("open", "click", "submit", "report")
TRAINABLE = ("click", "submit")
RID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True, slots=True)
class Hit:
    """One request to a tracked address (never what anyone typed: field names at most)."""

    rid: str
    kind: str
    source: str
    method: str = "GET"
    ip: str = ""
    user_agent: str = ""
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Tracked:
    """What the page after a hit needs: whose message it was and where the click leads."""

    recipient_id: str
    campaign_id: str
    landing: str
    scanner: bool


def valid_rid(rid: str) -> bool:
    """Tracking ids are 22 URL-safe characters; anything else is not worth a query."""
    return 16 <= len(rid) <= 40 and set(rid) <= RID_CHARS


def scanner_reason(settings: Settings, hit: Hit, sent_at: datetime | None, now: datetime) -> str:
    """Why this hit looks like a mail scanner ("" when it looks like a person)."""
    if hit.kind == "submit" or hit.source == "triage":
        return ""
    if hit.method.upper() == "HEAD":
        return "head_request"
    agent = hit.user_agent.lower()
    if any(s.lower() in agent for s in settings.campaign_scanner_user_agents if s):
        return "scanner_user_agent"
    if hit.ip and _in_networks(hit.ip, settings.campaign_scanner_networks):
        return "scanner_network"
    seconds = settings.campaign_scanner_seconds
    if sent_at is not None and seconds and (now - sent_at).total_seconds() < seconds:
        return "too_soon_after_sending"
    return ""


def _in_networks(ip: str, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


def record_hit(runtime: Runtime, hit: Hit) -> Tracked | None:
    """Record one hit; None when the id is unknown (the caller answers as if nothing happened)."""
    if not valid_rid(hit.rid) or hit.kind not in KINDS:
        return None
    with runtime.db.transaction() as session:
        return record_hit_in(session, runtime.settings, hit)


_RECIPIENTS = cast(Table, CampaignRecipient.__table__)
_CAMPAIGNS = cast(Table, Campaign.__table__)
_EVENTS = cast(Table, CampaignEvent.__table__)
# Built once: the tracking paths are the hottest public ones, so only plain columns are read.
_LOOKUP = (
    select(
        _RECIPIENTS.c.id,
        _RECIPIENTS.c.member_id,
        _RECIPIENTS.c.sent_at,
        _CAMPAIGNS.c.id,
        _CAMPAIGNS.c.landing,
        _CAMPAIGNS.c.assign_training,
        _CAMPAIGNS.c.remedial_module,
    )
    .join(_CAMPAIGNS, _CAMPAIGNS.c.id == _RECIPIENTS.c.campaign_id)
    .where(_RECIPIENTS.c.rid == bindparam("rid"))
)


def record_hit_in(session: Session, settings: Settings, hit: Hit) -> Tracked | None:
    """`record_hit` inside the caller's transaction (the triage queue files reports this way)."""
    connection = session.connection()
    row = connection.execute(_LOOKUP, {"rid": hit.rid}).first()
    if row is None:
        return None
    recipient_id, member_id, sent_at, campaign_id, landing, assign_training, remedial = row
    now = utcnow()
    reason = scanner_reason(settings, hit, sent_at, now)
    connection.execute(
        insert(_EVENTS),
        {
            "id": new_id(),
            "campaign_id": campaign_id,
            "recipient_id": recipient_id,
            "kind": hit.kind,
            "at": now,
            "source": hit.source,
            "scanner": bool(reason),
            "reason": reason,
            "ip": hit.ip[:45],
            "user_agent": hit.user_agent[:300],
            "fields": list(hit.fields)[:20],
            "reclassified_by": None,
        },
    )
    origin = Origin(ip=hit.ip, user_agent=hit.user_agent[:300])
    audit(
        session,
        SimulationTag.EVENT_RECORDED,
        origin,
        actor="anonymous" if hit.source != "triage" else "triage",
        subject=f"sim_recipient:{recipient_id}",
        kind=hit.kind,
        scanner=bool(reason),
        reason=reason or None,
    )
    if not reason and hit.kind in TRAINABLE and assign_training:
        caller = Caller.job("phishing.remedial")
        assign_remedial_in(session, settings, caller, member_id, remedial, recipient_id)
    return Tracked(recipient_id, campaign_id, landing, bool(reason))


def _remedial(
    session: Session, settings: Settings, campaign: Campaign, recipient: CampaignRecipient
) -> None:
    """Training after a (human) click or submission, when the campaign asks for it."""
    if campaign.assign_training:
        caller = Caller.job("phishing.remedial")
        assign_remedial_in(
            session, settings, caller, recipient.member_id, campaign.remedial_module, recipient.id
        )


def reclassify(runtime: Runtime, caller: Caller, event_id: str, *, scanner: bool) -> str:
    """The administrator's word on one event: a person after all, or a scanner after all.

    Returns the event's campaign id.
    """
    with runtime.db.transaction() as session:
        event = session.get(CampaignEvent, event_id)
        if event is None:
            raise NotFoundError("There is no such event.")
        if event.scanner == scanner:
            return event.campaign_id
        event.scanner = scanner
        event.reason = "admin" if scanner else ""
        event.reclassified_by = caller.ref[:120]
        audit(
            session,
            SimulationTag.EVENT_RECLASSIFIED,
            caller.origin,
            actor=caller.ref,
            subject=f"sim_event:{event_id}",
            scanner=scanner,
        )
        if not scanner and event.kind in TRAINABLE:
            recipient = session.get(CampaignRecipient, event.recipient_id)
            campaign = session.get(Campaign, event.campaign_id)
            if recipient is not None and campaign is not None:
                _remedial(session, runtime.settings, campaign, recipient)
        return event.campaign_id


def landing_of(runtime: Runtime, rid: str) -> tuple[CampaignRecipient, Campaign] | None:
    """The recipient and campaign behind a tracking id (for the landing and teaching pages)."""
    if not valid_rid(rid):
        return None
    with runtime.db.sessions() as session:
        row = session.execute(
            select(CampaignRecipient, Campaign)
            .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
            .where(CampaignRecipient.rid == rid)
        ).first()
        if row is None:
            return None
        recipient, campaign = row
        session.expunge_all()
        return recipient, campaign
