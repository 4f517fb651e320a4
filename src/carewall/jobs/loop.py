"""Jobs inside `carewall serve`: a loop that ticks while the web application runs.

This is the embedded default. At scale, set `CAREWALL_JOBS_IN_PROCESS=false`
on the web workers and run `carewall jobs worker` (or `carewall jobs run`
from cron) somewhere; claims in the database keep any mix of them safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import anyio

from carewall.core.runtime import Runtime
from carewall.jobs.services import new_worker_id, run_at_start, run_pending
from carewall.jobs.specs import JobRegistry

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 30


@contextlib.asynccontextmanager
async def job_loop(runtime: Runtime, registry: JobRegistry) -> AsyncIterator[None]:
    """Run start-up jobs, then due jobs and queued tasks every tick, until the context ends."""
    if not runtime.settings.jobs_in_process:
        yield
        return
    worker = new_worker_id()
    await anyio.to_thread.run_sync(_safely, run_at_start, runtime, registry, worker)
    stop = asyncio.Event()
    task = asyncio.create_task(_tick_forever(runtime, registry, worker, stop))
    try:
        yield
    finally:
        stop.set()
        await _finish(task)


async def _tick_forever(
    runtime: Runtime, registry: JobRegistry, worker: str, stop: asyncio.Event
) -> None:
    """Tick until `stop` is set; a tick in progress always runs to its end."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=runtime.settings.jobs_tick_seconds)
            return
        await anyio.to_thread.run_sync(_safely, run_pending, runtime, registry, worker)


async def _finish(task: asyncio.Task[None]) -> None:
    """Let the tick in progress end before the caller closes the database.

    Cancelling would leave its thread running on a database about to be closed.
    A long job (a backup) is given `SHUTDOWN_GRACE_SECONDS`, then left to finish
    or to die with the process: its claim runs out and another worker retries.
    """
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=SHUTDOWN_GRACE_SECONDS)
    except TimeoutError:
        log.warning("a job is still running at shutdown; it is left to finish or stop")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _safely(
    run: Callable[..., object], runtime: Runtime, registry: JobRegistry, worker: str
) -> None:
    """One tick; a failure of the runner itself is logged and retried at the next tick."""
    try:
        run(runtime, registry, worker=worker)
    except Exception:
        log.exception("the job runner failed; retrying at the next tick")
