"""The read side of alerts: lists with filters, one alert with its history and the user's
activity around it, counts by severity, and the risk report's evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carewall.alerts.detectors import SEVERITY_ORDER
from carewall.alerts.models import Alert, AlertEvent, DetectorCursor
from carewall.audit import AuditEntryView, entries_between

TIMELINE_SPAN = timedelta(hours=1)
MAX_LISTED = 500


@dataclass(frozen=True)
class AlertFilter:
    """What the alert list is narrowed to (empty: everything)."""

    status: str = ""
    severity: str = ""
    detector: str = ""
    user: str = ""


@dataclass(frozen=True)
class AlertDetail:
    """One alert, the steps of its review, and the user's activity around it."""

    alert: Alert
    history: list[AlertEvent]
    timeline: list[AuditEntryView]


def list_alerts(session: Session, wanted: AlertFilter, limit: int = MAX_LISTED) -> list[Alert]:
    """Alerts matching the filter, newest first."""
    query = select(Alert)
    if wanted.status:
        query = query.where(Alert.status == wanted.status)
    if wanted.severity:
        query = query.where(Alert.severity == wanted.severity)
    if wanted.detector:
        query = query.where(Alert.detector == wanted.detector)
    if wanted.user:
        query = query.where(Alert.user_ref == wanted.user)
    rows = session.scalars(query.order_by(Alert.created_at.desc(), Alert.id).limit(limit))
    alerts = list(rows)
    for alert in alerts:
        session.expunge(alert)
    return alerts


def get_alert(session: Session, alert_id: str) -> Alert | None:
    """One alert by id."""
    alert = session.get(Alert, alert_id)
    if alert is not None:
        session.expunge(alert)
    return alert


def alert_detail(session: Session, alert_id: str) -> AlertDetail | None:
    """An alert, its history, and the audit entries of its user an hour either side."""
    alert = get_alert(session, alert_id)
    if alert is None:
        return None
    history = list(
        session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.at)
        )
    )
    timeline: list[AuditEntryView] = []
    if alert.user_ref:
        timeline = entries_between(
            session,
            alert.evidence_at - TIMELINE_SPAN,
            alert.evidence_at + TIMELINE_SPAN,
            actor=alert.user_ref,
            limit=300,
        )
    return AlertDetail(alert, history, timeline)


def open_by_severity(session: Session) -> dict[str, int]:
    """Open (not yet resolved) alerts by severity, every severity present."""
    rows = session.execute(
        select(Alert.severity, func.count())
        .where(Alert.status != "resolved")
        .group_by(Alert.severity)
    )
    counts = {str(s): 0 for s in SEVERITY_ORDER}
    counts.update({str(severity): int(n) for severity, n in rows})
    return counts


def detectors_last_run(session: Session) -> datetime | None:
    """When the detectors last read the trail."""
    return session.scalar(select(DetectorCursor.updated_at).limit(1))


def evidence(session: Session, now: datetime) -> dict[str, Any]:
    """The risk module's `alerts` section: open alerts by severity, reviews, detector health."""
    last_run = detectors_last_run(session)
    since = now - timedelta(days=90)
    resolved = list(
        session.scalars(select(Alert).where(Alert.status == "resolved", Alert.updated_at >= since))
    )
    review_hours = [(a.updated_at - a.created_at).total_seconds() / 3600 for a in resolved]
    counts = open_by_severity(session)
    return {
        "as_of": last_run.isoformat() if last_run else None,
        "detectors_running": last_run is not None and now - last_run <= timedelta(hours=1),
        "detectors_last_run": last_run.isoformat() if last_run else None,
        "open_by_severity": counts,
        "open_total": sum(counts.values()),
        "resolved_90_days": len(resolved),
        "true_incidents_90_days": sum(1 for a in resolved if a.resolution == "true_incident"),
        "median_review_hours": round(sorted(review_hours)[len(review_hours) // 2], 1)
        if review_hours
        else None,
    }


def users_with_alerts(session: Session) -> Sequence[str]:
    """Every user reference that has an alert (for the filter)."""
    return list(session.scalars(select(Alert.user_ref).distinct().order_by(Alert.user_ref)))
