"""Read side of simulations: per-recipient results, a campaign's figures, trends, evidence.

Scanner events never count. "Opened" is the first sign a person saw the
message: the pixel, or else a click, submission or report (images are
often blocked, and nobody clicks a link in a message they did not open), so
the funnel sent >= opened >= clicked >= submitted always holds.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.errors import NotFoundError
from carewall.phishing.simulation.models import Campaign, CampaignEvent, CampaignRecipient
from carewall.training import queries as training_queries

FUNNEL = ("sent", "opened", "clicked", "submitted", "reported")


@dataclass(slots=True)
class RecipientResult:
    """One person's row in a campaign's results."""

    recipient_id: str
    member_id: str
    email: str
    department: str
    status: str
    error: str | None
    sent: datetime | None = None
    opened: datetime | None = None
    clicked: datetime | None = None
    submitted: datetime | None = None
    reported: datetime | None = None
    scanner_events: int = 0
    training_assigned: list[str] = field(default_factory=list)
    resent_after_interrupt: bool = False

    def to_json(self) -> dict[str, Any]:
        """The stable shape of `carewall campaign results ID --json`."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "email": self.email,
            "sent": iso(self.sent),
            "opened": iso(self.opened),
            "clicked": iso(self.clicked),
            "submitted": iso(self.submitted),
            "reported": iso(self.reported),
            "scanner_events": self.scanner_events,
            "training_assigned": list(self.training_assigned),
            "department": self.department,
            "status": self.status,
        }


def campaign(session: Session, campaign_id: str) -> Campaign:
    """One campaign (NotFoundError when unknown)."""
    found = session.get(Campaign, campaign_id)
    if found is None:
        raise NotFoundError(f"There is no campaign {campaign_id!r}.")
    return found


def campaigns(session: Session) -> list[Campaign]:
    """Every campaign, newest first."""
    return list(session.scalars(select(Campaign).order_by(Campaign.created_at.desc())))


_FIRST = {"open": "opened", "click": "clicked", "submit": "submitted", "report": "reported"}


def recipient_results(session: Session, campaign_id: str) -> list[RecipientResult]:
    """Every recipient of a campaign with the time of their first human event of each kind."""
    campaign(session, campaign_id)
    rows = {
        r.id: RecipientResult(
            recipient_id=r.id,
            member_id=r.member_id,
            email=r.email,
            department=r.department,
            status=r.status,
            error=r.error,
            sent=r.sent_at,
            resent_after_interrupt=r.resent_after_interrupt,
        )
        for r in session.scalars(
            select(CampaignRecipient)
            .where(CampaignRecipient.campaign_id == campaign_id)
            .order_by(CampaignRecipient.email)
        )
    }
    events = session.execute(
        select(
            CampaignEvent.recipient_id, CampaignEvent.kind, CampaignEvent.at, CampaignEvent.scanner
        )
        .where(CampaignEvent.campaign_id == campaign_id)
        .order_by(CampaignEvent.at)
    )
    for recipient_id, kind, at, scanner in events:
        row = rows[recipient_id]
        if scanner:
            row.scanner_events += 1
            continue
        name = _FIRST[kind]
        if getattr(row, name) is None:
            setattr(row, name, at)
        if row.opened is None or at < row.opened:
            row.opened = at
    training = training_queries.remedial_modules(session, list(rows))
    for recipient_id, row in rows.items():
        row.training_assigned = training.get(recipient_id, [])
    return list(rows.values())


@dataclass(frozen=True, slots=True)
class DepartmentFigures:
    """Rates of one department in one campaign."""

    department: str
    sent: int
    clicked: int
    submitted: int
    reported: int


@dataclass(frozen=True, slots=True)
class CampaignFigures:
    """Everything the results page shows about one campaign."""

    funnel: dict[str, int]
    scanner_events: int
    departments: list[DepartmentFigures]
    timeline: list[tuple[datetime, dict[str, int]]]
    median_time_to_report: timedelta | None
    phish_prone: float | None
    report_rate: float | None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(session: Session, campaign_id: str) -> CampaignFigures:
    """Funnel, per-department rates, an hourly timeline and the median time-to-report."""
    results = recipient_results(session, campaign_id)
    sent = [r for r in results if r.sent]
    funnel = {name: sum(getattr(r, name) is not None for r in sent) for name in FUNNEL}
    prone = sum(r.clicked is not None or r.submitted is not None for r in sent)
    delays = [(r.reported - r.sent).total_seconds() for r in sent if r.reported and r.sent]
    return CampaignFigures(
        funnel=funnel,
        scanner_events=sum(r.scanner_events for r in results),
        departments=_departments(sent),
        timeline=_timeline(sent),
        median_time_to_report=timedelta(seconds=statistics.median(delays)) if delays else None,
        phish_prone=_rate(prone, len(sent)),
        report_rate=_rate(funnel["reported"], len(sent)),
    )


def _departments(sent: list[RecipientResult]) -> list[DepartmentFigures]:
    by: dict[str, list[RecipientResult]] = defaultdict(list)
    for row in sent:
        by[row.department or "No department"].append(row)
    return [
        DepartmentFigures(
            department=name,
            sent=len(rows),
            clicked=sum(r.clicked is not None for r in rows),
            submitted=sum(r.submitted is not None for r in rows),
            reported=sum(r.reported is not None for r in rows),
        )
        for name, rows in sorted(by.items())
    ]


def _timeline(sent: list[RecipientResult]) -> list[tuple[datetime, dict[str, int]]]:
    """Human events per hour since the first message (first occurrence per person)."""
    buckets: dict[datetime, Counter[str]] = defaultdict(Counter)
    for row in sent:
        for name in FUNNEL[1:]:
            at = getattr(row, name)
            if at is not None:
                buckets[at.replace(minute=0, second=0, microsecond=0)][name] += 1
    return [(hour, dict(buckets[hour])) for hour in sorted(buckets)]


def repeat_clickers(session: Session, minimum: int = 2) -> list[tuple[str, int]]:
    """People who clicked (as people, not scanners) in at least `minimum` campaigns."""
    query = (
        select(CampaignRecipient.email, func.count(func.distinct(CampaignEvent.campaign_id)))
        .join(CampaignEvent, CampaignEvent.recipient_id == CampaignRecipient.id)
        .where(CampaignEvent.kind.in_(("click", "submit")), CampaignEvent.scanner.is_(False))
        .group_by(CampaignRecipient.email)
    )
    found = [(email, int(n)) for email, n in session.execute(query) if n >= minimum]
    return sorted(found, key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One campaign's headline figures, for the chart across campaigns."""

    campaign_id: str
    name: str
    created_at: datetime
    sent: int
    phish_prone: float | None
    report_rate: float | None


def trend(session: Session, limit: int = 24) -> list[TrendPoint]:
    """Phish-prone percentage and report rate of recent campaigns, oldest first."""
    points = []
    for item in reversed(campaigns(session)[:limit]):
        figure = figures(session, item.id)
        if figure.funnel["sent"]:
            points.append(
                TrendPoint(
                    item.id,
                    item.name,
                    item.created_at,
                    figure.funnel["sent"],
                    figure.phish_prone,
                    figure.report_rate,
                )
            )
    return points


def tracking_ids(session: Session, campaign_id: str) -> dict[str, tuple[str, datetime | None]]:
    """Recipient id -> (tracking id, sent at), for the demo story and tests that act as people."""
    query = select(CampaignRecipient.id, CampaignRecipient.rid, CampaignRecipient.sent_at).where(
        CampaignRecipient.campaign_id == campaign_id
    )
    return {rid_row[0]: (rid_row[1], rid_row[2]) for rid_row in session.execute(query)}


def events_of(
    session: Session, campaign_id: str, limit: int = 500
) -> list[tuple[CampaignEvent, str]]:
    """A campaign's events with the recipient's address, newest first (for re-classifying)."""
    query = (
        select(CampaignEvent, CampaignRecipient.email)
        .join(CampaignRecipient, CampaignRecipient.id == CampaignEvent.recipient_id)
        .where(CampaignEvent.campaign_id == campaign_id)
        .order_by(CampaignEvent.at.desc())
        .limit(limit)
    )
    return [(event, email) for event, email in session.execute(query)]


def phishing_evidence(session: Session, now: datetime | None = None) -> dict[str, Any]:
    """What the risk assessment reads: phish-prone percentage, report rate, trend, campaigns.

    `as_of` is None until a campaign has sent anything (nothing was measured).
    """
    now = now or utcnow()
    points = trend(session)
    latest = points[-1] if points else None
    all_campaigns = campaigns(session)
    return {
        "as_of": now.isoformat() if latest else None,
        "campaigns_run": len(all_campaigns),
        "last_campaign_date": all_campaigns[0].created_at.date().isoformat()
        if all_campaigns
        else None,
        "phish_prone_percentage": round(latest.phish_prone * 100, 1)
        if latest and latest.phish_prone is not None
        else None,
        "report_rate": latest.report_rate if latest else None,
        "report_rate_percentage": round(latest.report_rate * 100, 1)
        if latest and latest.report_rate is not None
        else None,
        "trend": [
            {
                "campaign": p.campaign_id,
                "date": p.created_at.date().isoformat(),
                "sent": p.sent,
                "phish_prone_percentage": round(p.phish_prone * 100, 1)
                if p.phish_prone is not None
                else None,
                "report_rate": p.report_rate,
            }
            for p in points
        ],
        "repeat_clickers": len(repeat_clickers(session)),
    }
