"""Read side of reported mail: the officer's queue, a reporter's own reports, evidence for risk."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carewall.phishing.models import MailReport

STATUSES = ("new", "confirmed_phish", "safe", "simulation")
_TOP_SIGNALS = 3


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """A report as lists show it: no message content beyond subject and sender."""

    id: str
    reporter_id: str
    received_at: datetime
    source: str
    subject: str
    sender: str
    verdict: str
    score: float
    top_signals: list[dict[str, Any]]
    status: str
    decided_at: datetime | None
    note: str


def _summary(report: MailReport) -> ReportSummary:
    return ReportSummary(
        id=report.id,
        reporter_id=report.reporter_id,
        received_at=report.received_at,
        source=report.source,
        subject=report.subject,
        sender=report.sender,
        verdict=report.verdict,
        score=report.score,
        top_signals=list(report.signals[:_TOP_SIGNALS]),
        status=report.status,
        decided_at=report.decided_at,
        note=report.note,
    )


def queue(session: Session, status: str | None = None, limit: int = 200) -> list[ReportSummary]:
    """The officer's queue, newest first, optionally one status only."""
    query = select(MailReport).order_by(MailReport.received_at.desc()).limit(limit)
    if status:
        query = query.where(MailReport.status == status)
    return [_summary(r) for r in session.scalars(query)]


def reports_of(session: Session, reporter_id: str, limit: int = 200) -> list[ReportSummary]:
    """What one person reported and what became of it, newest first."""
    query = (
        select(MailReport)
        .where(MailReport.reporter_id == reporter_id)
        .order_by(MailReport.received_at.desc())
        .limit(limit)
    )
    return [_summary(r) for r in session.scalars(query)]


def status_counts(session: Session) -> dict[str, int]:
    """How many reports are in each status (all statuses present, zero or not)."""
    rows = session.execute(select(MailReport.status, func.count()).group_by(MailReport.status))
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


@dataclass(frozen=True, slots=True)
class ReportingEvidence:
    """What the risk assessment reads: do staff report, and how fast."""

    reports: int
    confirmed_phish: int
    simulations: int
    #: Median of (reported at - the message's Date) over reports with a usable Date.
    median_time_to_report: timedelta | None


def reporting_evidence(session: Session) -> ReportingEvidence:
    """Counts and the median time-to-report (None until a dated report exists).

    A Date in the future (clock skew, forgery) is ignored rather than counted
    as an instant report.
    """
    counts = status_counts(session)
    pairs = session.execute(
        select(MailReport.received_at, MailReport.message_date).where(
            MailReport.message_date.is_not(None)
        )
    )
    delays = [
        (received - sent).total_seconds()
        for received, sent in pairs
        if sent is not None and received >= sent
    ]
    median = timedelta(seconds=statistics.median(delays)) if delays else None
    return ReportingEvidence(
        reports=sum(counts.values()),
        confirmed_phish=counts["confirmed_phish"],
        simulations=counts["simulation"],
        median_time_to_report=median,
    )
