"""What a domain registers: periodic jobs and kinds of queued tasks.

A job function gets a `JobContext` and opens its own transactions through
`context.runtime.db`; it returns a one-line summary of what it did (no PHI),
or None when there was nothing to do. Quiet runs are kept out of the audit
trail; runs that changed something, manual runs and failures are audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.jobs.errors import UnknownJobError


@dataclass(frozen=True)
class JobContext:
    """What a running job knows: the process, who it runs as, the time it started."""

    runtime: Runtime
    caller: Caller
    now: datetime
    worker: str


JobFunction = Callable[[JobContext], str | None]
TaskFunction = Callable[[JobContext, Mapping[str, Any]], str | None]
Interval = timedelta | Callable[[Settings], timedelta | None]


@dataclass(frozen=True)
class Job:
    """A named periodic job, e.g. `identity.throttle.prune` every hour.

    `every` is a fixed interval or a function of the settings; None from it
    means the job is not periodic and runs only when a server starts (when
    `at_start`) or by hand. `lease` bounds how long a crashed worker keeps the
    job claimed.
    """

    name: str
    run: JobFunction
    every: Interval
    description: str
    at_start: bool = False
    lease: timedelta = timedelta(minutes=10)

    def interval(self, settings: Settings) -> timedelta | None:
        """The effective interval under these settings."""
        if isinstance(self.every, timedelta):
            return self.every
        return self.every(settings)


@dataclass(frozen=True)
class Task:
    """A kind of queued work; each queued task runs at least once, retried with back-off.

    Handlers must be idempotent: a worker that dies mid-task leaves it to be
    run again when its lease ends.
    """

    kind: str
    run: TaskFunction
    description: str
    max_attempts: int = 5
    backoff: timedelta = timedelta(seconds=30)
    lease: timedelta = timedelta(minutes=10)

    def retry_delay(self, attempts: int) -> timedelta:
        """Exponential back-off after `attempts` failures, capped at one hour."""
        factor: int = 2 ** max(attempts - 1, 0)
        return min(self.backoff * factor, timedelta(hours=1))


class JobRegistry:
    """Every job and task kind the registered domains declared, by name."""

    def __init__(self, jobs: Iterable[Job] = (), tasks: Iterable[Task] = ()) -> None:
        self.jobs: dict[str, Job] = {}
        self.tasks: dict[str, Task] = {}
        for job in jobs:
            if job.name in self.jobs:
                raise ValueError(f"job {job.name!r} is registered twice")
            self.jobs[job.name] = job
        for task in tasks:
            if task.kind in self.tasks:
                raise ValueError(f"task kind {task.kind!r} is registered twice")
            self.tasks[task.kind] = task

    def job(self, name: str) -> Job:
        """The job called `name` (UnknownJobError names the ones that exist)."""
        try:
            return self.jobs[name]
        except KeyError:
            known = ", ".join(sorted(self.jobs)) or "none"
            raise UnknownJobError(f"No job is called {name!r}. Jobs: {known}.") from None
