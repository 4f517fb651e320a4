"""Read side of reported mail: the officer's queue, a reporter's own reports, evidence for risk.

Lists sort and filter on the clear columns (time, status, reporter) in the
database and decrypt only the rows of the page they return, so a queue of
thousands of reports costs one page of decryption.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from carewall.core.runtime import Runtime
from carewall.phishing.models import MailReport
from carewall.phishing.sealing import REPORT_KEY, open_note, open_summary

STATUSES = ("new", "confirmed_phish", "safe", "simulation")
PAGE_SIZE = 50
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


def summary_of(key: bytes, report: MailReport, *, top: int | None = _TOP_SIGNALS) -> ReportSummary:
    """One report decrypted for a list (`top` signals) or the detail page (all: None)."""
    sealed = open_summary(key, report)
    return ReportSummary(
        id=report.id,
        reporter_id=report.reporter_id,
        received_at=report.received_at,
        source=report.source,
        subject=sealed.subject,
        sender=sealed.sender,
        verdict=report.verdict,
        score=report.score,
        top_signals=sealed.signals[:top] if top is not None else sealed.signals,
        status=report.status,
        decided_at=report.decided_at,
        note=open_note(key, report),
    )


@dataclass(frozen=True, slots=True)
class ReportPage:
    """One page of a list, newest first; `page` counts from 1."""

    reports: list[ReportSummary]
    page: int
    has_next: bool


def _page(runtime: Runtime, query: Select[MailReport], page: int, size: int) -> ReportPage:
    """Sort and slice in the database, then decrypt only the rows of this page."""
    key = runtime.keys.data_key(REPORT_KEY)  # before the session: it may create the key
    page = max(1, page)
    query = query.order_by(MailReport.received_at.desc(), MailReport.id.desc())
    with runtime.db.sessions() as session:
        rows = list(session.scalars(query.offset((page - 1) * size).limit(size + 1)))
    return ReportPage([summary_of(key, r) for r in rows[:size]], page, len(rows) > size)


def queue(
    runtime: Runtime, status: str | None = None, *, page: int = 1, size: int = PAGE_SIZE
) -> ReportPage:
    """The officer's queue, newest first, optionally one status only."""
    query = select(MailReport)
    if status:
        query = query.where(MailReport.status == status)
    return _page(runtime, query, page, size)


def reports_of(
    runtime: Runtime, reporter_id: str, *, page: int = 1, size: int = PAGE_SIZE
) -> ReportPage:
    """What one person reported and what became of it, newest first."""
    return _page(
        runtime, select(MailReport).where(MailReport.reporter_id == reporter_id), page, size
    )


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
