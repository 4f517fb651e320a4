"""The job runner: claims that hold across workers, durable schedules, audited runs, tasks."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carewall.audit import entries_with_action
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import throttle
from carewall.identity.models import AuthFailure
from carewall.jobs import (
    Job,
    JobContext,
    JobDeferred,
    JobRegistry,
    JobsTag,
    Task,
    enqueue,
    failing_jobs,
    job_statuses,
    run_now,
    run_pending,
)
from carewall.jobs.models import JobTask
from carewall.jobs.services import _claim_job, _claim_task
from carewall.registry import job_registry
from tests.support.clock import FrozenClock
from tests.support.signin import sign_in_admin


class Counter:
    """Counts calls from any thread; optionally slow, so two workers overlap."""

    def __init__(self, *, pause: float = 0.0, summary: str | None = "did one thing") -> None:
        self.calls = 0
        self.pause = pause
        self.summary = summary
        self._lock = threading.Lock()

    def __call__(self, _context: JobContext) -> str | None:
        with self._lock:
            self.calls += 1
        time.sleep(self.pause)
        return self.summary


def _registry(*jobs: Job, tasks: tuple[Task, ...] = ()) -> JobRegistry:
    return JobRegistry(jobs, tasks)


def test_two_workers_never_run_the_same_due_job_at_once(runtime: Runtime) -> None:
    counter = Counter(pause=0.5)
    registry = _registry(Job("test.slow", counter, timedelta(hours=1), "slow"))
    results: list[int] = []

    def worker(name: str) -> None:
        results.append(len(run_pending(runtime, registry, worker=name)))

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.calls == 1
    assert sorted(results) == [0, 1]


def test_the_schedule_survives_a_restart(runtime: Runtime, clock: FrozenClock) -> None:
    counter = Counter(summary=None)
    registry = _registry(Job("test.hourly", counter, timedelta(hours=1), "hourly"))
    run_pending(runtime, registry, worker="a")
    settings = runtime.settings
    runtime.close()
    restarted = open_runtime(settings)
    try:
        clock.advance(minutes=30)
        assert run_pending(restarted, registry, worker="b") == [], "not due yet after restart"
        clock.advance(minutes=31)  # the server was down when it fell due: it runs now
        assert [r.name for r in run_pending(restarted, registry, worker="b")] == ["test.hourly"]
        assert counter.calls == 2
    finally:
        restarted.close()


def test_a_crashed_workers_claim_runs_out(runtime: Runtime, clock: FrozenClock) -> None:
    counter = Counter()
    job = Job("test.lease", counter, timedelta(minutes=5), "lease", lease=timedelta(minutes=2))
    registry = _registry(job)
    run_pending(runtime, registry, worker="a")
    clock.advance(minutes=6)
    # A worker that claims and then dies (the claim step alone, as a crash leaves it).
    assert _claim_job(runtime, job, "dead", clock.now, due_only=True)
    assert run_pending(runtime, registry, worker="b") == [], "claimed by the dead worker"
    clock.advance(minutes=3)
    assert [r.name for r in run_pending(runtime, registry, worker="b")] == ["test.lease"]


def test_runs_that_change_something_and_failures_are_audited(runtime: Runtime) -> None:
    def broken(_context: JobContext) -> str | None:
        raise RuntimeError("disk full")

    registry = _registry(
        Job("test.busy", Counter(), timedelta(hours=1), "busy"),
        Job("test.quiet", Counter(summary=None), timedelta(hours=1), "quiet"),
        Job("test.broken", broken, timedelta(hours=1), "broken"),
    )
    results = {r.name: r for r in run_pending(runtime, registry, worker="w")}
    assert results["test.broken"].error == "RuntimeError", "no exception text, which may hold data"
    with runtime.db.sessions() as session:
        completed = entries_with_action(session, [JobsTag.RUN_COMPLETED])
        failed = entries_with_action(session, [JobsTag.RUN_FAILED])
        failing = failing_jobs(session, registry, runtime.settings, utcnow())
    assert [e.subject for e in completed] == ["job:test.busy"], "quiet runs are not audited"
    assert [e.subject for e in failed] == ["job:test.broken"]
    assert [s.name for s in failing] == ["test.broken"]


def test_a_deferred_job_runs_again_soon_without_counting_as_a_failure(
    runtime: Runtime, clock: FrozenClock
) -> None:
    busy = {"now": True}

    def waits_its_turn(_context: JobContext) -> str | None:
        if busy["now"]:
            raise JobDeferred("the repository is in use", timedelta(minutes=5))
        return "did it"

    registry = _registry(Job("test.turn", waits_its_turn, timedelta(days=1), "turn"))
    [first] = run_pending(runtime, registry, worker="w")
    assert (first.outcome, first.summary) == ("deferred", "the repository is in use")
    with runtime.db.sessions() as session:
        [status] = job_statuses(session, registry, runtime.settings, utcnow())
        assert not failing_jobs(session, registry, runtime.settings, utcnow())
        audited = entries_with_action(session, [JobsTag.RUN_COMPLETED, JobsTag.RUN_FAILED])
    assert (status.last_outcome, status.consecutive_failures) == ("deferred", 0)
    assert status.next_run_at == clock.now + timedelta(minutes=5), "not a day later"
    assert audited == [], "a deferral is not a failure"
    busy["now"] = False
    clock.advance(minutes=4)
    assert run_pending(runtime, registry, worker="w") == []
    clock.advance(minutes=2)
    [second] = run_pending(runtime, registry, worker="w")
    assert (second.outcome, second.summary) == ("success", "did it")


def test_a_manual_run_is_audited_under_who_asked(runtime: Runtime) -> None:
    registry = _registry(Job("test.manual", Counter(summary=None), timedelta(days=1), "manual"))
    result = run_now(runtime, registry, "test.manual", worker="w", requested_by=Caller.cli())
    assert result.ok
    with runtime.db.sessions() as session:
        entries = entries_with_action(session, [JobsTag.RUN_COMPLETED])
    assert [(e.actor, e.subject) for e in entries] == [("cli", "job:test.manual")]


def _enqueue_then_fail(runtime: Runtime, task: Task) -> None:
    with runtime.db.transaction() as session:
        enqueue(session, Caller.cli(), task, {"batch": 0})
        raise RuntimeError("the change failed, so the task is not queued")


class Flaky:
    """A task handler that fails `failures` times, then succeeds."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.seen: list[Mapping[str, Any]] = []

    def __call__(self, _context: JobContext, payload: Mapping[str, Any]) -> str | None:
        self.seen.append(payload)
        if len(self.seen) <= self.failures:
            raise RuntimeError("smtp refused")
        return "sent"


def test_tasks_are_queued_with_their_transaction_and_only_once_per_key(runtime: Runtime) -> None:
    handler = Flaky(failures=0)
    task = Task("test.send", handler, "send")
    registry = _registry(tasks=(task,))
    with pytest.raises(RuntimeError, match="the change failed"):
        _enqueue_then_fail(runtime, task)
    for _ in range(2):
        with runtime.db.transaction() as session:
            enqueue(session, Caller.cli(), task, {"batch": 1}, key="campaign-1-batch-1")
    run_pending(runtime, registry, worker="w")
    assert handler.seen == [{"batch": 1}]


def test_failing_tasks_retry_with_back_off_then_are_abandoned(
    runtime: Runtime, clock: FrozenClock
) -> None:
    handler = Flaky(failures=10)
    task = Task("test.retry", handler, "retry", max_attempts=3, backoff=timedelta(seconds=30))
    registry = _registry(tasks=(task,))
    with runtime.db.transaction() as session:
        enqueue(session, Caller.cli(), task, {"n": 1})
    run_pending(runtime, registry, worker="w")
    run_pending(runtime, registry, worker="w")
    assert len(handler.seen) == 1, "waits for its back-off"
    clock.advance(seconds=31)
    run_pending(runtime, registry, worker="w")
    clock.advance(seconds=61)
    run_pending(runtime, registry, worker="w")
    clock.advance(hours=1)
    run_pending(runtime, registry, worker="w")
    assert len(handler.seen) == 3, "three attempts, then it gives up"
    with runtime.db.sessions() as session:
        row = session.scalars(select(JobTask)).one()
        abandoned = entries_with_action(session, [JobsTag.TASK_ABANDONED])
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "RuntimeError")
    assert len(abandoned) == 1


def test_a_task_whose_worker_died_is_run_again(runtime: Runtime, clock: FrozenClock) -> None:
    handler = Flaky(failures=0)
    task = Task("test.lease", handler, "lease", lease=timedelta(minutes=1))
    registry = _registry(tasks=(task,))
    with runtime.db.transaction() as session:
        enqueue(session, Caller.cli(), task, {"n": 1})
    assert _claim_task(runtime, registry, "dead") is not None
    assert run_pending(runtime, registry, worker="w") == []
    clock.advance(minutes=2)
    assert [r.summary for r in run_pending(runtime, registry, worker="w")] == ["sent"]


def test_the_sign_in_failure_table_is_pruned(runtime: Runtime, clock: FrozenClock) -> None:
    with runtime.db.transaction() as session:
        throttle.record_failure(
            session, kind=throttle.Kind.PASSWORD, account="a", ip="1", now=clock.now
        )
    clock.advance(days=1)
    with runtime.db.transaction() as session:
        throttle.record_failure(
            session, kind=throttle.Kind.PASSWORD, account="b", ip="1", now=clock.now
        )
    result = run_now(
        runtime, job_registry(), "identity.throttle.prune", worker="w", requested_by=Caller.cli()
    )
    assert result.summary == "removed 1 expired sign-in failure(s)"
    with runtime.db.sessions() as session:
        assert [f.account for f in session.scalars(select(AuthFailure))] == ["b"]


def test_the_admin_sees_failing_jobs_and_can_run_one(runtime: Runtime, client: TestClient) -> None:
    sign_in_admin(client, runtime)
    page = client.get("/admin/jobs")
    assert page.status_code == 200
    for name in ("identity.throttle.prune", "records.break_glass.sweep"):
        assert name in page.text
    with runtime.db.sessions() as session:
        names = [s.name for s in job_statuses(session, job_registry(), runtime.settings, utcnow())]
    assert "jobs.history.prune" in names
