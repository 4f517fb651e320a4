"""Read side of backups: health at a glance, runs, snapshots, alerts, risk evidence.

Everything here reads Carewall's own tables; nothing waits on the repository,
so the admin page and the evidence work even when the repository is offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carewall.backup.alerts import TITLES
from carewall.backup.models import BackupAlert, BackupRun, BackupSnapshot
from carewall.backup.repository import (
    is_configured,
    location_of,
    restic_available,
)
from carewall.backup.sealing import SEALED_COPY
from carewall.core.config import Settings


@dataclass(frozen=True)
class RunView:
    """One backup, verification, drill or prune as people see it."""

    kind: str
    trigger: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    snapshot_id: str | None
    bytes_processed: int | None
    bytes_added: int | None
    full: bool
    records_checked: int | None
    chain_entries: int | None
    message: str | None

    @property
    def ok(self) -> bool:
        """The run succeeded."""
        return self.outcome == "success"

    @property
    def duration_seconds(self) -> float | None:
        """How long it took (None while it runs)."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class SnapshotView:
    """A snapshot in the repository as last seen."""

    snapshot_id: str
    short_id: str
    taken_at: datetime
    size_bytes: int | None
    added_bytes: int | None
    files: int | None
    carewall_version: str | None


@dataclass(frozen=True)
class AlertView:
    """An open backup alert."""

    kind: str
    title: str
    message: str
    raised_at: datetime
    emailed: int
    email_error: str | None


@dataclass(frozen=True)
class Schedule:
    """The backup schedule and retention policy in force."""

    backup_every_hours: int
    max_age_hours: int
    verify_every_days: int
    drill_every_days: int
    keep_daily: int
    keep_weekly: int
    keep_monthly: int
    prune: bool

    @classmethod
    def of(cls, settings: Settings) -> Schedule:
        """The schedule these settings call for."""
        return cls(
            settings.backup_every_hours,
            settings.backup_max_age_hours,
            settings.backup_verify_every_days,
            settings.backup_drill_every_days,
            settings.backup_keep_daily,
            settings.backup_keep_weekly,
            settings.backup_keep_monthly,
            settings.backup_prune,
        )


@dataclass(frozen=True)
class BackupStatus:
    """Everything the admin page, the home panel and the evidence say about backups."""

    now: datetime
    configured: bool
    location: str
    restic_available: bool
    restic_program: str
    password_kept: bool
    schedule: Schedule
    last_backup: RunView | None
    last_attempt: RunView | None
    last_verify: RunView | None
    last_drill: RunView | None
    last_good_drill: RunView | None
    alerts: list[AlertView]
    snapshots: list[SnapshotView]
    runs: list[RunView]

    @property
    def backup_age(self) -> timedelta | None:
        """How old the newest good backup is."""
        return None if self.last_backup is None else self.now - self.last_backup.started_at

    @property
    def backup_overdue(self) -> bool:
        """The newest good backup is older than allowed (or there is none)."""
        age = self.backup_age
        return age is None or age > timedelta(hours=self.schedule.max_age_hours)

    @property
    def warnings(self) -> list[str]:
        """What needs the admin's attention, most important first (empty: all is well)."""
        if not self.configured:
            return ["Backups are not set up: nothing protects the records if this server is lost."]
        found = [] if self.restic_available else ["The backup engine restic is not installed."]
        found += [f"{alert.title}: {alert.message}" for alert in self.alerts]
        if self.last_backup is None and not any(a.kind.startswith("backup") for a in self.alerts):
            found.append("No backup has been made yet.")
        elif self.backup_overdue and not any(a.kind == "backup_missed" for a in self.alerts):
            found.append(f"The last good backup is older than {self.schedule.max_age_hours} hours.")
        if self.last_good_drill is None and self.last_backup is not None:
            found.append("No restore drill has proved a backup can be restored yet.")
        return found

    @property
    def healthy(self) -> bool:
        """Backups are set up, recent, verified where checked, and nothing is open."""
        return not self.warnings


def _view(row: BackupRun) -> RunView:
    return RunView(
        kind=row.kind,
        trigger=row.trigger,
        actor=row.actor,
        started_at=row.started_at,
        finished_at=row.finished_at,
        outcome=row.outcome,
        snapshot_id=row.snapshot_id,
        bytes_processed=row.bytes_processed,
        bytes_added=row.bytes_added,
        full=row.full,
        records_checked=row.records_checked,
        chain_entries=row.chain_entries,
        message=row.message,
    )


def last_success(session: Session, kind: str) -> RunView | None:
    """The newest successful run of `kind`."""
    row = session.scalars(
        select(BackupRun)
        .where(BackupRun.kind == kind, BackupRun.outcome == "success")
        .order_by(BackupRun.started_at.desc())
        .limit(1)
    ).first()
    return None if row is None else _view(row)


def last_finished(session: Session, kind: str) -> RunView | None:
    """The newest run of `kind` that ended, however it ended."""
    row = session.scalars(
        select(BackupRun)
        .where(BackupRun.kind == kind, BackupRun.outcome.in_(["success", "failure"]))
        .order_by(BackupRun.started_at.desc())
        .limit(1)
    ).first()
    return None if row is None else _view(row)


def first_attempt(session: Session) -> datetime | None:
    """When the first backup was attempted (None: never)."""
    return session.scalars(
        select(BackupRun.started_at)
        .where(BackupRun.kind == "backup")
        .order_by(BackupRun.started_at)
        .limit(1)
    ).first()


def recent_runs(session: Session, limit: int = 20) -> list[RunView]:
    """The latest runs of every kind, newest first."""
    rows = session.scalars(select(BackupRun).order_by(BackupRun.started_at.desc()).limit(limit))
    return [_view(row) for row in rows]


def snapshots(session: Session) -> list[SnapshotView]:
    """Snapshots in the repository as last seen, newest first."""
    rows = session.scalars(select(BackupSnapshot).order_by(BackupSnapshot.taken_at.desc()))
    return [
        SnapshotView(
            r.snapshot_id,
            r.short_id,
            r.taken_at,
            r.size_bytes,
            r.added_bytes,
            r.files,
            r.carewall_version,
        )
        for r in rows
    ]


def open_alerts(session: Session) -> list[AlertView]:
    """Alerts not yet resolved, newest first."""
    rows = session.scalars(
        select(BackupAlert)
        .where(BackupAlert.resolved_at.is_(None))
        .order_by(BackupAlert.raised_at.desc())
    )
    return [
        AlertView(
            r.kind, TITLES.get(r.kind, r.kind), r.message, r.raised_at, r.emailed, r.email_error
        )
        for r in rows
    ]


def status(session: Session, settings: Settings, now: datetime) -> BackupStatus:
    """The whole picture for the admin."""
    password_kept = bool(settings.backup_password) or (settings.home / SEALED_COPY).exists()
    return BackupStatus(
        now=now,
        configured=is_configured(settings),
        location=location_of(settings),
        restic_available=restic_available(settings),
        restic_program=settings.backup_restic,
        password_kept=password_kept,
        schedule=Schedule.of(settings),
        last_backup=last_success(session, "backup"),
        last_attempt=last_finished(session, "backup"),
        last_verify=last_finished(session, "verify"),
        last_drill=last_finished(session, "drill"),
        last_good_drill=last_success(session, "drill"),
        alerts=open_alerts(session),
        snapshots=snapshots(session),
        runs=recent_runs(session),
    )


def evidence(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    """The risk module's `backup` section: last good backup and drill, repository check."""
    backup = last_success(session, "backup")
    drill = last_success(session, "drill")
    check = last_finished(session, "verify")
    measured = [run.finished_at for run in (backup, drill, check) if run and run.finished_at]
    return {
        "as_of": max(measured).isoformat() if measured else None,
        "configured": is_configured(settings),
        "last_backup": None
        if backup is None
        else {
            "time": backup.started_at.isoformat(),
            "age_hours": round((now - backup.started_at).total_seconds() / 3600, 2),
            "snapshot": backup.snapshot_id,
        },
        "last_drill": None
        if drill is None
        else {
            "time": drill.started_at.isoformat(),
            "duration_seconds": round(drill.duration_seconds or 0.0, 2),
            "age_hours": round((now - drill.started_at).total_seconds() / 3600, 2),
            "records_checked": drill.records_checked,
        },
        "repository_check": None
        if check is None
        else {"time": check.started_at.isoformat(), "ok": check.ok, "full": check.full},
        "open_alerts": [alert.kind for alert in open_alerts(session)],
        "snapshots": len(snapshots(session)),
        "schedule": {
            "backup_every_hours": settings.backup_every_hours,
            "drill_every_days": settings.backup_drill_every_days,
            "keep_daily": settings.backup_keep_daily,
            "keep_weekly": settings.backup_keep_weekly,
            "keep_monthly": settings.backup_keep_monthly,
        },
    }
