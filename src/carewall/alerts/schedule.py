"""Alerts on the job runner: the detectors every few seconds, the daily digest, upkeep.

`alerts.detectors.run` reads the new audit entries (every
`CAREWALL_ALERTS_DETECT_EVERY_SECONDS`, 30 by default); `alerts.digest.send`
runs hourly and mails the digest in the practice's digest hour.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from carewall.alerts.engine import scan
from carewall.alerts.masschange import prune_tallies
from carewall.alerts.services import send_digest
from carewall.core.config import Settings
from carewall.jobs import Job, JobContext


def _detect(context: JobContext) -> str | None:
    result = scan(context.runtime, context.caller)
    with context.runtime.db.transaction() as session:
        prune_tallies(session, context.runtime.settings, context.now)
    if result.opened:
        return f"{result.entries} audit entries read, {len(result.opened)} alert(s) opened"
    return None


def _digest(context: JobContext) -> str | None:
    settings = context.runtime.settings
    local = context.now.astimezone(ZoneInfo(settings.practice_timezone))
    if local.hour != settings.alerts_digest_hour:
        return None
    listed = send_digest(context.runtime, context.caller, context.now)
    return f"digest of {listed} alert(s) mailed" if listed else None


def _every(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.alerts_detect_every_seconds)


JOBS = (
    Job(
        "alerts.detectors.run",
        _detect,
        _every,
        "Read new audit entries with the detectors and open alerts.",
        lease=timedelta(minutes=5),
    ),
    Job(
        "alerts.digest.send",
        _digest,
        timedelta(hours=1),
        "Mail the security officers the day's low and medium alerts (in the digest hour).",
    ),
)
