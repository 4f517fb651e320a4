"""The ransomware-like mass-change detector, on the request path.

The records domain fires `RecordChanged` for every update and delete, in the
transaction making it; this handler (subscribed by the alerts registration)
counts the changes of that session or token over the window in the database
(`alert_change_tallies`, so the limit holds across worker processes) and,
past the limit, suspends the session or token in the same transaction and
opens a critical alert. Every later request through it is refused with 403
(`web.auth`) until an administrator lifts the suspension. Accounts of the
`integration` role (system feeds) are alerted on, never suspended: stopping a
lab feed is the administrator's call.

The change that crosses the limit commits with the suspension (refusing it
would roll the suspension back with it); inside one transaction Bundle, the
Bundle completes and everything after it is refused.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from carewall.alerts.detectors import Finding, Severity
from carewall.alerts.models import Alert, ChangeTally
from carewall.alerts.services import open_in
from carewall.alerts.tags import AlertsTag
from carewall.audit import Outcome, entries_by_actor, record_from
from carewall.core.config import Settings
from carewall.core.context import Caller, Origin
from carewall.core.roles import Role
from carewall.identity import suspensions
from carewall.records import RecordChanged, RecordsTag

DETECTOR = "mass_change"
_ACTOR = "system:mass-change"


def on_record_changed(settings: Settings, session: Session, event: RecordChanged) -> None:
    """Count this change; past the limit, stop the session or token and alert."""
    if not event.channel:
        return
    session.add(ChangeTally(channel=event.channel, at=event.at))
    window = timedelta(seconds=settings.alerts_mass_change_seconds)
    count = (
        session.scalar(
            select(func.count())
            .select_from(ChangeTally)
            .where(ChangeTally.channel == event.channel, ChangeTally.at > event.at - window)
        )
        or 0
    )
    if count <= settings.alerts_mass_change_limit:
        return
    integration = event.role == Role.INTEGRATION
    key = f"{DETECTOR}:{event.channel}:{event.at:%Y-%m-%d}" if integration else ""
    if integration and session.scalar(select(Alert.id).where(Alert.key == key)) is not None:
        return
    if not integration and suspensions.is_suspended_in(session, event.channel):
        return
    _stop(session, settings, event, count, key)


def _stop(session: Session, settings: Settings, event: RecordChanged, count: int, key: str) -> None:
    origin = Origin(ip=event.ip, user_agent=event.user_agent)
    caller = Caller(ref=_ACTOR, role=Role.ADMIN, origin=origin, system=True)
    user_id = event.actor.removeprefix("user:")
    suspension = None
    if not key:
        suspension = suspensions.suspend_in(
            session,
            event.channel or "",
            user_id,
            f"{count} updates or deletes within {settings.alerts_mass_change_seconds} s",
            actor=_ACTOR,
            origin=origin,
            now=event.at,
        )
        key = f"{DETECTOR}:{suspension}"
    window = timedelta(seconds=settings.alerts_mass_change_seconds)
    recent = entries_by_actor(
        session,
        event.actor,
        (RecordsTag.RESOURCE_UPDATED, RecordsTag.RESOURCE_DELETED),
        since=event.at - window - timedelta(seconds=1),
        until=event.at + timedelta(seconds=1),
        limit=100,
    )
    kind = "token" if event.channel and event.channel.startswith("token:") else "session"
    action = "alerted (integration account, not suspended)" if suspension is None else "suspended"
    finding = Finding(
        detector=DETECTOR,
        severity=Severity.CRITICAL,
        user=event.actor,
        title=f"Mass change: {count} updates or deletes in {window.seconds} s; {kind} {action}",
        explanation=(
            f"One {kind} updated or deleted {count} records within "
            f"{settings.alerts_mass_change_seconds} seconds (limit "
            f"{settings.alerts_mass_change_limit}), as ransomware or a runaway script would. "
            f"The {kind} was {action}."
        ),
        key=key,
        seqs=tuple(sorted(e.seq for e in recent if e.seq)),
        evidence_at=event.at,
        facts={"changes": count, "channel": event.channel or "", "role": event.role},
    )
    alert = open_in(session, caller, finding, event.at, suspension=suspension)
    record_from(
        session,
        AlertsTag.MASS_CHANGE_STOPPED,
        origin,
        actor=_ACTOR,
        subject=f"alert:{alert.id}",
        outcome=Outcome.DENIED,
        channel=event.channel or "",
        changes=count,
        suspended=suspension is not None,
    )


def prune_tallies(session: Session, settings: Settings, now: object) -> int:
    """Drop tallies older than any window can reach."""
    from datetime import datetime

    assert isinstance(now, datetime)
    horizon = now - timedelta(seconds=settings.alerts_mass_change_seconds * 2 + 60)
    result = session.execute(delete(ChangeTally).where(ChangeTally.at < horizon))
    return int(getattr(result, "rowcount", 0) or 0)
