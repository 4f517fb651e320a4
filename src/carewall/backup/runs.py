"""Bookkeeping of backup runs: started, then finished with an outcome and figures.

A run row is committed when the run starts, before any slow work, so a
backup killed half-way is still visible; the next run of the same kind marks
it `interrupted`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, update
from sqlalchemy.orm import Session

from carewall.backup.models import BackupRun
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.runtime import Runtime

RUNNING, SUCCESS, FAILURE, INTERRUPTED = "running", "success", "failure", "interrupted"
_STALE = timedelta(hours=12)


def start_run(
    runtime: Runtime, kind: str, trigger: str, caller: Caller, *, full: bool = False, sole: bool
) -> str:
    """Record that a run of `kind` started; returns its id.

    `sole` means the caller holds the lock for this kind, so any other run
    still marked running was killed; otherwise only runs older than a
    generous lease are taken for dead.
    """
    now = utcnow()
    dead = and_(BackupRun.kind == kind, BackupRun.outcome == RUNNING)
    if not sole:
        dead = and_(dead, BackupRun.started_at < now - _STALE)
    run = BackupRun(
        kind=kind,
        trigger=trigger,
        actor=caller.ref[:120],
        started_at=now,
        outcome=RUNNING,
        full=full,
    )
    with runtime.db.transaction() as session:
        session.execute(
            update(BackupRun)
            .where(dead)
            .values(outcome=INTERRUPTED, message="stopped before it finished (process ended)")
        )
        session.add(run)
    return run.id


def finish_run(session: Session, run_id: str, outcome: str, **figures: Any) -> None:
    """Close a run in the caller's transaction (with its audit entry)."""
    message = figures.pop("message", None)
    session.execute(
        update(BackupRun)
        .where(BackupRun.id == run_id)
        .values(
            outcome=outcome,
            finished_at=utcnow(),
            message=None if message is None else str(message)[:300],
            **figures,
        )
    )
