"""Backups on the job runner: the periodic jobs, the queued "now" tasks, and queueing them.

Periodic: `backup.snapshot.create` (every `CAREWALL_BACKUP_EVERY_HOURS`, daily
by default), `backup.snapshots.prune` (the retention policy, as often),
`backup.repository.verify` and `backup.drill.run` (every N days, weekly by
default), `backup.health.check` (hourly: a missed backup fails this job, so
the jobs page shows it too). The same work is queued as a task when the admin
presses "Back up now" or "Run a drill now": the page answers at once and the
runner does the work within a tick.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from carewall.backup.errors import BackupBusyError, BackupError, RepositoryDamagedError
from carewall.backup.events import audit
from carewall.backup.repository import is_configured
from carewall.backup.services import (
    check_health,
    create_backup,
    drill_backups,
    prune_snapshots,
    verify_backups,
)
from carewall.backup.tags import BackupTag
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.jobs import Job, JobContext, JobDeferred, Task, enqueue

_LONG = timedelta(hours=6)  # a first backup of a big practice over a slow line
# A periodic job that finds another repository job running tries again this much later.
BUSY_RETRY = timedelta(minutes=5)


def _one_at_a_time(work: Callable[[JobContext], str | None]) -> Callable[[JobContext], str | None]:
    """A periodic repository job that waits its turn: the daily backup and prune (and the
    weekly check and drill) fall due together, and each web worker's runner takes one.
    The one that finds the repository busy runs again in `BUSY_RETRY`, instead of
    failing (and alerting) until its next interval."""

    def run(context: JobContext) -> str | None:
        try:
            return work(context)
        except BackupBusyError as busy:
            raise JobDeferred(busy.message, BUSY_RETRY) from busy

    return run


def _mib(size: int) -> str:
    return f"{size / 1048576:.1f} MiB"


def _backup(context: JobContext, trigger: str) -> str | None:
    if not is_configured(context.runtime.settings):
        return None
    summary = create_backup(context.runtime, context.caller, trigger=trigger)
    return (
        f"snapshot {summary.snapshot_id[:8]}: {_mib(summary.bytes_processed)} backed up, "
        f"{_mib(summary.bytes_added)} new"
    )


def _verify(context: JobContext, trigger: str, *, full: bool) -> str | None:
    if not is_configured(context.runtime.settings):
        return None
    result = verify_backups(context.runtime, context.caller, full=full, trigger=trigger)
    if not result.ok:
        raise RepositoryDamagedError(f"damage found: {result.problems[0]}", list(result.problems))
    return "repository verified: no damage found" + (" (every byte read)" if full else "")


def _drill(context: JobContext, trigger: str) -> str | None:
    if not is_configured(context.runtime.settings):
        return None
    report = drill_backups(context.runtime, context.caller, trigger=trigger)
    if not report.ok:
        raise BackupError(f"restore drill failed: {report.problems[0]}")
    return (
        f"drill passed in {report.duration_seconds:.1f} s ({report.records_checked} records "
        "decrypted)"
    )


def _prune(context: JobContext) -> str | None:
    settings = context.runtime.settings
    if not is_configured(settings) or not settings.backup_prune:
        return None
    removed = prune_snapshots(context.runtime, context.caller, trigger="schedule")
    return f"removed {removed} snapshot(s) outside the retention policy" if removed else None


def _health(context: JobContext) -> str | None:
    if not is_configured(context.runtime.settings):
        return None
    return check_health(context.runtime, context.caller)


def _hours(settings: Settings) -> timedelta | None:
    return timedelta(hours=settings.backup_every_hours) if settings.backup_every_hours else None


def _verify_days(settings: Settings) -> timedelta | None:
    days = settings.backup_verify_every_days
    return timedelta(days=days) if days else None


def _drill_days(settings: Settings) -> timedelta | None:
    days = settings.backup_drill_every_days
    return timedelta(days=days) if days else None


JOBS = (
    Job(
        "backup.snapshot.create",
        _one_at_a_time(lambda context: _backup(context, "schedule")),
        every=_hours,
        description="Take an encrypted backup (database, keys, settings) into the repository.",
        lease=_LONG,
    ),
    Job(
        "backup.snapshots.prune",
        _one_at_a_time(_prune),
        every=_hours,
        description="Forget snapshots outside the keep-daily/weekly/monthly policy.",
        lease=_LONG,
    ),
    Job(
        "backup.repository.verify",
        _one_at_a_time(lambda context: _verify(context, "schedule", full=False)),
        every=_verify_days,
        description="Check the repository and the latest backup's manifest.",
        lease=_LONG,
    ),
    Job(
        "backup.drill.run",
        _one_at_a_time(lambda context: _drill(context, "schedule")),
        every=_drill_days,
        description="Restore the latest backup into a scratch copy, verify it, delete it.",
        lease=_LONG,
    ),
    Job(
        "backup.health.check",
        _health,
        every=timedelta(hours=1),
        description="Warn the admin and mail the security officers when a backup was missed.",
    ),
)


def _create_now(context: JobContext, _payload: Mapping[str, Any]) -> str | None:
    return _backup(context, "request")


def _drill_now(context: JobContext, _payload: Mapping[str, Any]) -> str | None:
    return _drill(context, "request")


def _verify_now(context: JobContext, payload: Mapping[str, Any]) -> str | None:
    return _verify(context, "request", full=bool(payload.get("full")))


CREATE_TASK = Task(
    "backup.snapshot.create",
    _create_now,
    "A backup someone asked for.",
    max_attempts=1,
    lease=_LONG,
)
DRILL_TASK = Task(
    "backup.drill.run",
    _drill_now,
    "A restore drill someone asked for.",
    max_attempts=1,
    lease=_LONG,
)
VERIFY_TASK = Task(
    "backup.repository.verify",
    _verify_now,
    "A repository check someone asked for.",
    max_attempts=1,
    lease=_LONG,
)
TASKS = (CREATE_TASK, DRILL_TASK, VERIFY_TASK)


def request_backup(runtime: Runtime, caller: Caller) -> None:
    """Queue a backup now ("Back up now"), audited under who asked."""
    _request(runtime, caller, CREATE_TASK, BackupTag.SNAPSHOT_REQUESTED, {})


def request_drill(runtime: Runtime, caller: Caller) -> None:
    """Queue a restore drill now ("Run a drill now")."""
    _request(runtime, caller, DRILL_TASK, BackupTag.DRILL_REQUESTED, {})


def request_verify(runtime: Runtime, caller: Caller, *, full: bool) -> None:
    """Queue a repository check now (`full`: read every byte)."""
    _request(runtime, caller, VERIFY_TASK, BackupTag.VERIFY_REQUESTED, {"full": full})


def _request(
    runtime: Runtime, caller: Caller, task: Task, tag: BackupTag, payload: dict[str, Any]
) -> None:
    if not is_configured(runtime.settings):
        raise BackupError(
            "Backups are not set up: set CAREWALL_BACKUP_REPO and run `carewall backup init`.",
            code="backup_not_configured",
            status=409,
        )
    with runtime.db.transaction() as session:
        audit(session, tag, caller, **payload)
        enqueue(session, caller, task, payload)
