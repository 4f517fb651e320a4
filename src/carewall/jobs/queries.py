"""What the admin and `carewall jobs list` see: each job's last run, outcome and next run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carewall.core.config import Settings
from carewall.jobs.models import JobRun, JobSchedule, JobTask
from carewall.jobs.specs import JobRegistry


@dataclass(frozen=True)
class JobStatus:
    """One registered job as the admin sees it."""

    name: str
    description: str
    every_seconds: int | None
    next_run_at: datetime | None
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_outcome: str | None
    last_summary: str | None
    last_error: str | None
    consecutive_failures: int
    running: bool

    @property
    def every_text(self) -> str:
        """The schedule in its largest whole unit ("1 d", "30 s"): the page and CLI agree."""
        if self.every_seconds is None:
            return "at start"
        for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
            if self.every_seconds >= size and self.every_seconds % size == 0:
                return f"{self.every_seconds // size} {unit}"
        return f"{self.every_seconds} s"

    @property
    def failing(self) -> bool:
        """The last run failed: the admin should look."""
        return self.last_outcome == "failure"


@dataclass(frozen=True)
class TaskCounts:
    """Queued work by state."""

    queued: int
    running: int
    failed: int


def job_statuses(
    session: Session, registry: JobRegistry, settings: Settings, now: datetime
) -> list[JobStatus]:
    """Every registered job with its schedule state, in name order (never run: no dates)."""
    rows = {row.name: row for row in session.scalars(select(JobSchedule))}
    statuses = []
    for name, job in sorted(registry.jobs.items()):
        row = rows.get(name)
        interval = job.interval(settings)
        statuses.append(
            JobStatus(
                name=name,
                description=job.description,
                every_seconds=int(interval.total_seconds()) if interval else None,
                next_run_at=(row.next_run_at if row else now) if interval else None,
                last_started_at=row.last_started_at if row else None,
                last_finished_at=row.last_finished_at if row else None,
                last_outcome=row.last_outcome if row else None,
                last_summary=row.last_summary if row else None,
                last_error=row.last_error if row else None,
                consecutive_failures=row.consecutive_failures if row else 0,
                running=bool(row and row.claimed_until and row.claimed_until > now),
            )
        )
    return statuses


def failing_jobs(
    session: Session, registry: JobRegistry, settings: Settings, now: datetime
) -> list[JobStatus]:
    """Jobs whose last run failed (the admin home shows them)."""
    return [s for s in job_statuses(session, registry, settings, now) if s.failing]


def task_counts(session: Session) -> TaskCounts:
    """How much queued work is waiting, running or abandoned."""
    query = select(JobTask.status, func.count()).group_by(JobTask.status)
    counts: dict[str, int] = {status: int(n) for status, n in session.execute(query)}
    return TaskCounts(counts.get("queued", 0), counts.get("running", 0), counts.get("failed", 0))


def recent_runs(session: Session, limit: int = 50) -> list[JobRun]:
    """The latest finished runs, newest first."""
    query = select(JobRun).order_by(JobRun.started_at.desc()).limit(limit)
    return list(session.scalars(query))
