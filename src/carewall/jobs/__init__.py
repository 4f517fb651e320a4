"""Layer 1½: one job runner for every domain's periodic and queued work.

A domain declares `Job`s (periodic) and `Task`s (queued kinds) in its
registration; `carewall serve` runs them in-process, `carewall jobs run` once
(for cron), `carewall jobs worker` in a loop (a separate worker at scale).
Claims and leases in the database make any mix of these safe.
"""

from carewall.jobs.errors import JobDeferred, UnknownJobError
from carewall.jobs.loop import job_loop
from carewall.jobs.queries import (
    JobStatus,
    TaskCounts,
    failing_jobs,
    job_statuses,
    recent_runs,
    task_counts,
)
from carewall.jobs.services import (
    RunResult,
    enqueue,
    new_worker_id,
    prune_history,
    run_at_start,
    run_now,
    run_pending,
)
from carewall.jobs.specs import Job, JobContext, JobRegistry, Task
from carewall.jobs.tags import JobsTag

__all__ = [
    "Job",
    "JobContext",
    "JobDeferred",
    "JobRegistry",
    "JobStatus",
    "JobsTag",
    "RunResult",
    "Task",
    "TaskCounts",
    "UnknownJobError",
    "enqueue",
    "failing_jobs",
    "job_loop",
    "job_statuses",
    "new_worker_id",
    "prune_history",
    "recent_runs",
    "run_at_start",
    "run_now",
    "run_pending",
    "task_counts",
]
