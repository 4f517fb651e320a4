"""Alerts: a failed or missed backup, a damaged repository, a failed drill.

An alert stays open (on `/admin/backups`, the admin home and, through the
failing job, `/admin/jobs`) until a later success of the same kind resolves
it. Opening one fires `BackupAlertRaised`, whose handlers (registered by the
composition root) name the security officers and leave them a notice; they
are mailed once per alert through `core.mail`, after the alert committed, so
a mail server that is down never loses the alert itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carewall.audit import Outcome
from carewall.backup.events import BackupAlertRaised, audit
from carewall.backup.models import BackupAlert
from carewall.backup.tags import BackupTag
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.mail import MailError, OutgoingMail
from carewall.core.runtime import Runtime

log = logging.getLogger(__name__)

BACKUP_FAILED = "backup_failed"
BACKUP_MISSED = "backup_missed"
VERIFY_FAILED = "verify_failed"
DRILL_FAILED = "drill_failed"
PRUNE_FAILED = "prune_failed"

TITLES = {
    BACKUP_FAILED: "The last backup failed",
    BACKUP_MISSED: "A backup was missed",
    VERIFY_FAILED: "The backup repository has problems",
    DRILL_FAILED: "The restore drill failed",
    PRUNE_FAILED: "Old backups could not be removed",
}


def raise_alert(runtime: Runtime, caller: Caller, kind: str, message: str) -> None:
    """Open an alert of `kind` (or refresh the open one) and mail the security officers once."""
    now = utcnow()
    with runtime.db.transaction() as session:
        existing = session.scalars(
            select(BackupAlert).where(BackupAlert.kind == kind, BackupAlert.resolved_at.is_(None))
        ).first()
        if existing is not None:
            existing.last_seen_at, existing.message = now, message[:300]
            return
        alert = BackupAlert(kind=kind, message=message[:300], raised_at=now, last_seen_at=now)
        session.add(alert)
        event = BackupAlertRaised(kind=kind, message=message[:300])
        runtime.hooks.fire(session, event)
        audit(
            session,
            BackupTag.ALERT_RAISED,
            caller,
            subject=f"alert:{kind}",
            outcome=Outcome.FAILURE,
            kind=kind,
            recipients=len(event.recipients),
        )
    _mail(runtime, alert.id, kind, message, event.recipients)


def resolve_alerts(session: Session, caller: Caller, kinds: Iterable[str]) -> None:
    """Close the open alerts of `kinds` in the caller's transaction (a success fixed them)."""
    wanted = list(kinds)
    open_kinds = list(
        session.scalars(
            select(BackupAlert.kind).where(
                BackupAlert.kind.in_(wanted), BackupAlert.resolved_at.is_(None)
            )
        )
    )
    if not open_kinds:
        return
    session.execute(
        update(BackupAlert)
        .where(BackupAlert.kind.in_(open_kinds), BackupAlert.resolved_at.is_(None))
        .values(resolved_at=utcnow())
    )
    for kind in sorted(set(open_kinds)):
        audit(session, BackupTag.ALERT_RESOLVED, caller, subject=f"alert:{kind}", kind=kind)


def _mail(runtime: Runtime, alert_id: str, kind: str, message: str, to: list[str]) -> None:
    settings = runtime.settings
    subject = f"Carewall backup alert: {TITLES.get(kind, kind)} ({settings.practice_name})"
    body = (
        f"{message}\n\n"
        f"See {settings.public_url}/admin/backups for the backup status, the last drill and "
        "what to do next. This alert stays open until a later run succeeds.\n"
    )
    sent, error = 0, None
    for recipient in dict.fromkeys(to):
        try:
            runtime.mail.send(OutgoingMail(recipient, subject, body))
            sent += 1
        except MailError as exc:
            error = exc.message[:300]
            log.warning("backup alert mail not sent: %s", exc.message)
    if not runtime.mail.enabled:
        sent = 0
        error = "outgoing mail is not configured (CAREWALL_SMTP_HOST)" if to else None
    with runtime.db.transaction() as session:
        session.execute(
            update(BackupAlert)
            .where(BackupAlert.id == alert_id)
            .values(emailed=sent, email_error=error)
        )
