"""Running jobs: claim in the database, run outside any transaction, record how it ended.

The claim is a conditional UPDATE (`... WHERE lease is free`): on SQLite the
write lock serialises it, on PostgreSQL the row lock makes the second worker's
UPDATE re-check its condition and match nothing. The job itself then runs
with no transaction held, so a long job never blocks the database.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from carewall.audit import Outcome, record_from
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.db import insert_ignoring_conflicts, new_id
from carewall.core.errors import CarewallError
from carewall.core.runtime import Runtime
from carewall.jobs.errors import JobDeferred
from carewall.jobs.models import JobRun, JobSchedule, JobTask
from carewall.jobs.specs import Job, JobContext, JobRegistry, Task
from carewall.jobs.tags import JobsTag

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
_SUCCESS, _FAILURE, DEFERRED = "success", "failure", "deferred"
_PER_TICK = 50  # tasks one `run_pending` takes at most, so a big queue cannot starve jobs


@dataclass(frozen=True)
class RunResult:
    """How one run ended (`summary` and `error` are short and PHI-free)."""

    name: str
    trigger: str
    outcome: str
    summary: str | None = None
    error: str | None = None
    retry_after: timedelta | None = None  # a deferred job's next run, from its start

    @property
    def ok(self) -> bool:
        """The run finished without raising."""
        return self.outcome == _SUCCESS

    @property
    def deferred(self) -> bool:
        """The job did not run, for a passing reason (`JobDeferred`)."""
        return self.outcome == DEFERRED


def new_worker_id() -> str:
    """A name for this worker in claims: host, process and a random suffix."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def enqueue(
    session: Session,
    caller: Caller,
    task: Task,
    payload: Mapping[str, Any],
    *,
    run_after: datetime | None = None,
    key: str | None = None,
) -> None:
    """Queue `task` in the caller's transaction: it is queued if and only if that commits.

    With `key`, a task already queued (or run) under the same key is not queued again.
    """
    values = {
        "id": new_id(),
        "kind": task.kind,
        "payload": json.dumps(dict(payload), sort_keys=True),
        "key": key,
        "status": QUEUED,
        "run_after": run_after or utcnow(),
        "attempts": 0,
        "max_attempts": task.max_attempts,
        "created_by": caller.ref[:120],
        "created_at": utcnow(),
    }
    insert_ignoring_conflicts(session, JobTask, [values])


def run_pending(
    runtime: Runtime, registry: JobRegistry, *, worker: str, only: str | None = None
) -> list[RunResult]:
    """Run every periodic job that is due and every queued task whose time has come."""
    now = utcnow()
    _ensure_schedules(runtime, registry, now)
    due = _due_jobs(runtime, now)
    results = [
        _run_job(runtime, job, worker, "schedule", due_only=True)
        for job in registry.jobs.values()
        if only in (None, job.name) and job.name in due
    ]
    done = [r for r in results if r is not None]
    if only is None:
        done.extend(_run_tasks(runtime, registry, worker))
    return done


def run_at_start(runtime: Runtime, registry: JobRegistry, *, worker: str) -> list[RunResult]:
    """Run the jobs that catch up on what happened while no server was running."""
    _ensure_schedules(runtime, registry, utcnow())
    results = [
        _run_job(runtime, job, worker, "start", due_only=False)
        for job in registry.jobs.values()
        if job.at_start
    ]
    return [r for r in results if r is not None]


def run_now(
    runtime: Runtime, registry: JobRegistry, name: str, *, worker: str, requested_by: Caller
) -> RunResult:
    """Run one job now, whatever its schedule (refused while another worker runs it).

    The run is audited under `requested_by`, the person or console that asked.
    """
    job = registry.job(name)
    _ensure_schedules(runtime, registry, utcnow())
    result = _run_job(runtime, job, worker, "manual", due_only=False, requested_by=requested_by)
    if result is None:
        raise CarewallError(f"{name} is running in another worker; try again when it ends.")
    return result


def _due_jobs(runtime: Runtime, now: datetime) -> set[str]:
    """The jobs due now and claimed by nobody: a read, so that a tick with nothing to do
    takes no write lock (each claim is a writing transaction, and on SQLite every
    worker process's tick would otherwise queue with the requests' writes for it).
    The claim itself checks again: this only spares the claims bound to fail."""
    with runtime.db.read_transaction() as session:
        return set(
            session.scalars(
                select(JobSchedule.name).where(_unclaimed(now), JobSchedule.next_run_at <= now)
            )
        )


def _unclaimed(now: datetime) -> ColumnElement[bool]:
    """A schedule no worker holds a live claim on (never claimed, or its lease ran out)."""
    return or_(JobSchedule.claimed_until.is_(None), JobSchedule.claimed_until < now)


def _ensure_schedules(runtime: Runtime, registry: JobRegistry, now: datetime) -> None:
    """Give every registered job a schedule row (due at once) the first time it is seen
    (read first: after the first tick there is nothing to write)."""
    with runtime.db.read_transaction() as session:
        if not registry.jobs.keys() - set(session.scalars(select(JobSchedule.name))):
            return
    with runtime.db.transaction() as session:
        known = set(session.scalars(select(JobSchedule.name)))
        new = [
            {"name": name, "next_run_at": now, "consecutive_failures": 0}
            for name in sorted(registry.jobs.keys() - known)
        ]
        insert_ignoring_conflicts(session, JobSchedule, new)


def _run_job(
    runtime: Runtime,
    job: Job,
    worker: str,
    trigger: str,
    *,
    due_only: bool,
    requested_by: Caller | None = None,
) -> RunResult | None:
    started = utcnow()
    if not _claim_job(runtime, job, worker, started, due_only=due_only):
        return None
    context = JobContext(runtime, Caller.job(job.name), started, worker)
    result = _execute(job.name, trigger, lambda: job.run(context))
    interval = job.interval(runtime.settings)
    next_run = started + interval if interval else started + timedelta(days=36500)
    if result.retry_after is not None:
        next_run = started + result.retry_after
    _finish_job(runtime, job, worker, started, next_run, result, requested_by or context.caller)
    return result


def _claim_job(runtime: Runtime, job: Job, worker: str, now: datetime, *, due_only: bool) -> bool:
    condition = and_(JobSchedule.name == job.name, _unclaimed(now))
    if due_only:
        if job.interval(runtime.settings) is None:
            return False
        condition = and_(condition, JobSchedule.next_run_at <= now)
    claim = (
        update(JobSchedule)
        .where(condition)
        .values(claimed_by=worker, claimed_until=now + job.lease, last_started_at=now)
    )
    with runtime.db.transaction() as session:
        return bool(session.execute(claim).rowcount)  # type: ignore[attr-defined]


def _execute(name: str, trigger: str, work: Callable[[], str | None]) -> RunResult:
    try:
        summary = work()
    except JobDeferred as wait:
        log.info("job %s deferred: %s", name, wait.reason)
        return RunResult(name, trigger, DEFERRED, summary=wait.reason[:300], retry_after=wait.after)
    except CarewallError as exc:
        log.warning("job %s failed: %s", name, exc.message)
        return RunResult(name, trigger, _FAILURE, error=exc.message[:300])
    except Exception as exc:  # a job's bug must never stop the runner
        log.exception("job %s failed", name)
        return RunResult(name, trigger, _FAILURE, error=type(exc).__name__)
    return RunResult(name, trigger, _SUCCESS, summary=(summary or None) and summary[:300])


def _finish_job(
    runtime: Runtime,
    job: Job,
    worker: str,
    started: datetime,
    next_run: datetime,
    result: RunResult,
    audited_as: Caller,
) -> None:
    finished = utcnow()
    values: dict[str, Any] = {
        "claimed_by": None,
        "claimed_until": None,
        "next_run_at": next_run,
        "last_finished_at": finished,
        "last_outcome": result.outcome,
        "last_summary": result.summary,
        "last_error": result.error,
    }
    if not result.deferred:  # a deferral neither fails nor succeeds: the count stays
        failures = JobSchedule.consecutive_failures + 1
        values["consecutive_failures"] = 0 if result.ok else failures
    release = (
        update(JobSchedule)
        .where(JobSchedule.name == job.name, JobSchedule.claimed_by == worker)
        .values(**values)
    )
    with runtime.db.transaction() as session:
        session.execute(release)
        _history(session, result, worker, started, finished)
        _audit(session, result, audited_as)


def _run_tasks(runtime: Runtime, registry: JobRegistry, worker: str) -> list[RunResult]:
    results: list[RunResult] = []
    for _ in range(_PER_TICK):
        claimed = _claim_task(runtime, registry, worker)
        if claimed is None:
            break
        row, task = claimed
        results.append(_run_task(runtime, task, row, worker))
    return results


def _claim_task(
    runtime: Runtime, registry: JobRegistry, worker: str
) -> tuple[JobTask, Task] | None:
    """Take the oldest due task (or one whose worker's lease ran out) for this worker."""
    now = utcnow()
    due = or_(
        and_(JobTask.status == QUEUED, JobTask.run_after <= now),
        and_(JobTask.status == RUNNING, JobTask.claimed_until < now),
    )
    kinds = list(registry.tasks)
    pick = select(JobTask).where(due, JobTask.kind.in_(kinds)).order_by(JobTask.run_after)
    with runtime.db.read_transaction() as session:
        # Most ticks find no task: look without the write lock before claiming.
        if session.scalars(pick.limit(1)).first() is None:
            return None
    with runtime.db.transaction() as session:
        for row in session.scalars(pick.limit(5)):
            task = registry.tasks[row.kind]
            claim = (
                update(JobTask)
                .where(JobTask.id == row.id, JobTask.status == row.status)
                .where(or_(JobTask.claimed_until.is_(None), JobTask.claimed_until < now))
                .values(
                    status=RUNNING,
                    claimed_by=worker,
                    claimed_until=now + task.lease,
                    attempts=JobTask.attempts + 1,
                )
            )
            if session.execute(claim).rowcount:  # type: ignore[attr-defined]
                session.refresh(row)
                return row, task
    return None


def _run_task(runtime: Runtime, task: Task, row: JobTask, worker: str) -> RunResult:
    started = utcnow()
    payload: dict[str, Any] = json.loads(row.payload)
    context = JobContext(runtime, Caller.job(task.kind), started, worker)
    result = _execute(task.kind, "queue", lambda: task.run(context, payload))
    finished = utcnow()
    values: dict[str, Any] = {"claimed_by": None, "claimed_until": None}
    if result.ok:
        values |= {"status": DONE, "finished_at": finished, "last_error": None}
    elif row.attempts >= row.max_attempts:
        values |= {"status": FAILED, "finished_at": finished, "last_error": result.error}
    else:
        retry_at = finished + task.retry_delay(row.attempts)
        values |= {"status": QUEUED, "run_after": retry_at, "last_error": result.error}
    with runtime.db.transaction() as session:
        session.execute(
            update(JobTask).where(JobTask.id == row.id, JobTask.claimed_by == worker).values(values)
        )
        _history(session, result, worker, started, finished, task_id=row.id)
        if values["status"] == FAILED:
            _abandoned(session, task, row, result)
        elif result.ok:
            _audit(session, result, Caller.job(task.kind))
    return result


def _history(
    session: Session,
    result: RunResult,
    worker: str,
    started: datetime,
    finished: datetime,
    *,
    task_id: str | None = None,
) -> None:
    session.add(
        JobRun(
            name=result.name,
            trigger=result.trigger,
            task_id=task_id,
            worker=worker[:100],
            started_at=started,
            finished_at=finished,
            outcome=result.outcome,
            summary=result.summary,
            error=result.error,
        )
    )


def _audit(session: Session, result: RunResult, caller: Caller) -> None:
    """Failures, manual runs and runs that did something; a quiet tick is not audited."""
    if result.ok and result.summary is None and result.trigger != "manual":
        return
    if result.deferred and result.trigger != "manual":
        return  # it runs again shortly; the jobs page shows it waiting
    record_from(
        session,
        JobsTag.RUN_COMPLETED if result.ok else JobsTag.RUN_FAILED,
        caller.origin,
        actor=caller.ref,
        subject=f"job:{result.name}",
        outcome=Outcome.SUCCESS if result.ok else Outcome.FAILURE,
        trigger=result.trigger,
        summary=result.summary or result.error,
    )


def _abandoned(session: Session, task: Task, row: JobTask, result: RunResult) -> None:
    caller = Caller.job(task.kind)
    record_from(
        session,
        JobsTag.TASK_ABANDONED,
        caller.origin,
        actor=caller.ref,
        subject=f"task:{row.id}",
        outcome=Outcome.FAILURE,
        attempts=row.attempts,
        error=result.error,
    )


def prune_history(runtime: Runtime, keep: timedelta = timedelta(days=30)) -> int:
    """Forget finished runs and finished tasks older than `keep`; returns how many rows went."""
    cutoff = utcnow() - keep
    finished = JobTask.status.in_((DONE, FAILED))
    with runtime.db.transaction() as session:
        runs = session.execute(delete(JobRun).where(JobRun.started_at < cutoff))
        tasks = session.execute(delete(JobTask).where(finished, JobTask.finished_at < cutoff))
        return int(runs.rowcount or 0) + int(tasks.rowcount or 0)  # type: ignore[attr-defined]
