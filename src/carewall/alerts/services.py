"""The only code that changes alerts: opening them, their review, and mailing officers.

Every change records its audit entry in the same transaction. The security
officers are the active administrators (as for backup alerts); high and
critical alerts are mailed to them after the detector run that opened them
(after the commit, so a mail server that is down never loses an alert; the
mass-change alert, opened on the request path, goes with the next run), the
rest go in the daily digest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carewall.alerts.detectors import CATALOGUE, Finding, Severity, State
from carewall.alerts.errors import AlertNotFoundError, AlertTransitionError
from carewall.alerts.models import Alert, AlertEvent
from carewall.alerts.tags import AlertsTag
from carewall.audit import DetailValue, Outcome, record_from
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.errors import ValidationError
from carewall.core.mail import MailError, OutgoingMail
from carewall.core.runtime import Runtime
from carewall.identity import Role, notices, suspensions
from carewall.identity import queries as identity_queries

log = logging.getLogger(__name__)

MAX_NOTE = 2000
URGENT = frozenset({Severity.HIGH, Severity.CRITICAL})


class Status(StrEnum):
    """Where an alert's review stands."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Resolution(StrEnum):
    """How a resolved alert ended."""

    TRUE_INCIDENT = "true_incident"
    FALSE_POSITIVE = "false_positive"
    EXPECTED = "expected"


def audit(
    session: Session,
    tag: AlertsTag,
    caller: Caller,
    alert_id: str,
    outcome: Outcome = Outcome.SUCCESS,
    **details: DetailValue,
) -> None:
    """An alerts audit entry, filed under the alert."""
    record_from(
        session,
        tag,
        caller.origin,
        actor=caller.ref,
        subject=f"alert:{alert_id}",
        outcome=outcome,
        **details,
    )


def open_alerts(
    runtime: Runtime,
    caller: Caller,
    findings: Sequence[Finding],
    *,
    cursor: tuple[int, int, State] | None = None,
) -> list[str] | None:
    """Open an alert per new finding (keys already open are skipped) and, with `cursor`,
    move the detectors' cursor in the same transaction. None when another run moved the
    cursor first (nothing is written then)."""
    from carewall.alerts.engine import move_cursor

    now = utcnow()
    opened: list[Alert] = []
    with runtime.db.transaction() as session:
        if cursor is not None and not move_cursor(session, *cursor):
            return None
        keys = [f.key for f in findings]
        known = (
            set(session.scalars(select(Alert.key).where(Alert.key.in_(keys)))) if keys else set()
        )
        for finding in findings:
            if finding.key in known:
                continue
            known.add(finding.key)
            opened.append(open_in(session, caller, finding, now))
    return [a.id for a in opened]


def open_in(
    session: Session,
    caller: Caller,
    finding: Finding,
    now: datetime,
    *,
    suspension: str | None = None,
) -> Alert:
    """Open one alert in the caller's transaction (the mass-change hook's, or a scan's)."""
    alert = Alert(
        detector=finding.detector,
        severity=str(finding.severity),
        status=Status.OPEN,
        user_ref=finding.user[:120],
        title=finding.title[:200],
        explanation=finding.explanation[:600],
        key=finding.key[:200],
        seqs=list(finding.seqs)[:200],
        facts=dict(finding.facts),
        created_at=now,
        updated_at=now,
        evidence_at=finding.evidence_at,
        suspension_id=suspension,
    )
    session.add(alert)
    session.flush()
    if alert.severity in URGENT:
        notices.notify_admins(session, f"Security alert: {alert.title}", now, level="error")
    audit(
        session,
        AlertsTag.ALERT_OPENED,
        caller,
        alert.id,
        Outcome.FAILURE,
        detector=alert.detector,
        severity=alert.severity,
        user=alert.user_ref,
        entries=[int(s) for s in alert.seqs][:50],
    )
    return alert


def acknowledge(runtime: Runtime, caller: Caller, alert_id: str, note: str = "") -> None:
    """Someone is looking into it: open -> acknowledged."""
    with runtime.db.transaction() as session:
        alert = _alert(session, alert_id)
        if alert.status != Status.OPEN:
            raise AlertTransitionError("Only an open alert can be acknowledged.")
        _step(session, caller, alert, Status.ACKNOWLEDGED, "acknowledged", note)
        audit(session, AlertsTag.ALERT_ACKNOWLEDGED, caller, alert.id)


def assign(runtime: Runtime, caller: Caller, alert_id: str, assignee: str) -> None:
    """Hand the alert to an administrator (by e-mail); empty clears the assignee."""
    email = assignee.strip().lower()
    with runtime.db.transaction() as session:
        alert = _alert(session, alert_id)
        if email and email not in _admin_emails(session):
            raise ValidationError("Assign alerts to an active administrator's e-mail address.")
        alert.assignee = email or None
        _step(session, caller, alert, Status(alert.status), "assigned", email)
        audit(session, AlertsTag.ALERT_ASSIGNED, caller, alert.id, assigned=bool(email))


def add_note(runtime: Runtime, caller: Caller, alert_id: str, note: str) -> None:
    """Add a note to the alert's history."""
    if not note.strip():
        raise ValidationError("Write a note first.")
    with runtime.db.transaction() as session:
        alert = _alert(session, alert_id)
        _step(session, caller, alert, Status(alert.status), "note", note)
        audit(session, AlertsTag.ALERT_NOTED, caller, alert.id)


def resolve(
    runtime: Runtime, caller: Caller, alert_id: str, resolution: str, note: str = ""
) -> None:
    """Close the alert as a true incident, a false positive or expected activity."""
    try:
        how = Resolution(resolution)
    except ValueError:
        raise ValidationError(
            "Resolve as one of: " + ", ".join(r.value for r in Resolution) + "."
        ) from None
    with runtime.db.transaction() as session:
        alert = _alert(session, alert_id)
        if alert.status == Status.RESOLVED:
            raise AlertTransitionError("This alert is already resolved.")
        alert.resolution = how
        _step(session, caller, alert, Status.RESOLVED, "resolved", note, extra=how.value)
        audit(session, AlertsTag.ALERT_RESOLVED, caller, alert.id, resolution=how.value)


def reopen(runtime: Runtime, caller: Caller, alert_id: str, note: str = "") -> None:
    """Open a resolved alert again (new evidence)."""
    with runtime.db.transaction() as session:
        alert = _alert(session, alert_id)
        if alert.status != Status.RESOLVED:
            raise AlertTransitionError("Only a resolved alert can be reopened.")
        alert.resolution = None
        _step(session, caller, alert, Status.OPEN, "reopened", note)
        audit(session, AlertsTag.ALERT_REOPENED, caller, alert.id)


def lift_suspension(runtime: Runtime, caller: Caller, alert_id: str, suspension_id: str) -> None:
    """Lift the suspension a mass-change alert put in place (audited by identity), and
    note it on the alert."""
    with runtime.db.sessions() as session:
        alert = _alert(session, alert_id)
        if not alert.suspension_id or alert.suspension_id != suspension_id:
            raise ValidationError("This alert put no such suspension in place.")
    suspensions.lift(runtime.db, caller, suspension_id)
    with runtime.db.transaction() as session:
        alert = _alert(session, alert_id)
        _step(session, caller, alert, Status(alert.status), "lifted", "suspension lifted")
        audit(session, AlertsTag.ALERT_NOTED, caller, alert.id, suspension_lifted=suspension_id)


def _step(
    session: Session,
    caller: Caller,
    alert: Alert,
    status: Status,
    kind: str,
    note: str,
    *,
    extra: str = "",
) -> None:
    if len(note) > MAX_NOTE:
        raise ValidationError(f"Keep notes under {MAX_NOTE} characters.")
    now = utcnow()
    alert.status, alert.updated_at = status, now
    text = f"{extra}: {note.strip()}" if extra and note.strip() else (extra or note.strip())
    session.add(AlertEvent(alert_id=alert.id, kind=kind, actor=caller.ref, note=text, at=now))


def _alert(session: Session, alert_id: str) -> Alert:
    alert = session.get(Alert, alert_id) if alert_id else None
    if alert is None:
        raise AlertNotFoundError()
    return alert


def _admin_emails(session: Session) -> list[str]:
    return [
        u.email.lower()
        for u in identity_queries.users_overview(session)
        if u.role is Role.ADMIN and u.status == "active"
    ]


def mail_urgent(runtime: Runtime) -> int:
    """Mail every high or critical alert not mailed yet to the security officers; returns
    how many alerts went out.

    Called after each detector run, so an alert opened on the request path (a mass
    change) goes out within one run too. Each alert is claimed with a conditional
    update before it is sent, so two workers never mail one alert twice; when no
    message could be sent it is released again for the next run.
    """
    if not runtime.mail.enabled:
        return 0
    with runtime.db.sessions() as session:
        officers = _admin_emails(session)
        waiting = list(
            session.scalars(
                select(Alert.id).where(
                    Alert.mailed_at.is_(None), Alert.severity.in_([str(s) for s in URGENT])
                )
            )
        )
    mailed = 0
    for alert_id in waiting:
        alert = _claim(runtime, alert_id)
        if alert is None:
            continue
        subject = f"Carewall security alert ({alert.severity}): {alert.title}"
        if _send(runtime, officers, subject, _describe(runtime, alert)) or not officers:
            mailed += 1
            continue
        with runtime.db.transaction() as session:
            session.execute(update(Alert).where(Alert.id == alert_id).values(mailed_at=None))
    return mailed


def _claim(runtime: Runtime, alert_id: str) -> Alert | None:
    with runtime.db.transaction() as session:
        claimed = session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.mailed_at.is_(None))
            .values(mailed_at=utcnow())
        )
        if not getattr(claimed, "rowcount", 0):
            return None
        alert = session.get(Alert, alert_id)
        if alert is not None:
            session.expunge(alert)
        return alert


def send_digest(runtime: Runtime, caller: Caller, now: datetime) -> int:
    """Mail the officers one message listing the low and medium alerts opened since the
    last digest (and not mailed yet); returns how many alerts it listed."""
    with runtime.db.sessions() as session:
        pending = list(
            session.scalars(
                select(Alert)
                .where(Alert.mailed_at.is_(None), Alert.created_at <= now)
                .order_by(Alert.created_at)
                .limit(500)
            )
        )
        officers = _admin_emails(session)
    if not pending or not runtime.mail.enabled:
        return 0
    lines = [
        f"- [{a.severity}] {a.title} ({_kind_title(a.detector)}) "
        f"{runtime.settings.public_link('/admin/alerts/' + a.id)}"
        for a in pending
    ]
    body = "Alerts opened since the last digest:\n\n" + "\n".join(lines) + "\n"
    subject = f"Carewall: {len(pending)} alert(s) to review ({runtime.settings.practice_name})"
    _send(runtime, officers, subject, body)
    with runtime.db.transaction() as session:
        session.execute(
            update(Alert).where(Alert.id.in_([a.id for a in pending])).values(mailed_at=now)
        )
        record_from(
            session,
            AlertsTag.DIGEST_SENT,
            caller.origin,
            actor=caller.ref,
            subject="alerts",
            alerts=len(pending),
            recipients=len(officers),
        )
    return len(pending)


def digest_due(runtime: Runtime, now: datetime, last: datetime | None) -> bool:
    """Whether the daily digest should go now (past the digest hour, not sent today)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(runtime.settings.practice_timezone)
    local = now.astimezone(zone)
    if local.hour < runtime.settings.alerts_digest_hour:
        return False
    return last is None or now - last >= timedelta(hours=20)


def _kind_title(detector: str) -> str:
    kind = CATALOGUE.get(detector)
    return kind.title if kind else detector


def _describe(runtime: Runtime, alert: Alert) -> str:
    kind = CATALOGUE.get(alert.detector)
    return (
        f"{alert.title}\n\n{alert.explanation}\n\n"
        f"Detector: {kind.title if kind else alert.detector}\n"
        f"Who: {alert.user_ref or 'unknown'}\nWhen: {alert.evidence_at:%Y-%m-%d %H:%M} UTC\n\n"
        f"Review it at {runtime.settings.public_link('/admin/alerts/' + alert.id)}\n"
    )


def _send(runtime: Runtime, to: Sequence[str], subject: str, body: str) -> int:
    sent = 0
    for recipient in dict.fromkeys(to):
        try:
            runtime.mail.send(OutgoingMail(recipient, subject, body))
            sent += 1
        except MailError as exc:
            log.warning("alert mail not sent: %s", exc.message)
    return sent
