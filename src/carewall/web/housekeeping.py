"""Periodic housekeeping while the web server runs, without a separate scheduler.

Two jobs: ending break-glass grants whose time is up and auditing their end
(`records.breakglass.close_expired_grants`), and ending sessions past their
idle or absolute limit (automatic logoff, `identity.signin.end_expired_sessions`).
They run once when the application starts (what expired while the server was
down), then every `CAREWALL_BREAK_GLASS_SWEEP_SECONDS` in a worker thread. Each worker process
of a multi-process deployment runs its own loop: the job claims grants with a
conditional update, so a grant is audited once however many run it. A failing
run is logged and retried at the next tick; it never stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import anyio

from carewall.core.runtime import Runtime
from carewall.identity import signin
from carewall.records.breakglass import close_expired_grants

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def housekeeping(runtime: Runtime) -> AsyncIterator[None]:
    """Run the jobs at start and then periodically, for as long as the context is open."""
    await anyio.to_thread.run_sync(sweep_break_glass, runtime)
    await anyio.to_thread.run_sync(sweep_sessions, runtime)
    seconds = runtime.settings.break_glass_sweep_seconds
    task = asyncio.create_task(_every(seconds, runtime)) if seconds else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _every(seconds: int, runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(seconds)
        await anyio.to_thread.run_sync(sweep_break_glass, runtime)
        await anyio.to_thread.run_sync(sweep_sessions, runtime)


def sweep_break_glass(runtime: Runtime) -> int:
    """One run of the break-glass job; failures are logged, never raised."""
    try:
        closed = close_expired_grants(runtime)
    except Exception:
        log.exception("closing expired break-glass grants failed; retrying at the next tick")
        return 0
    if closed:
        log.info("closed %d expired break-glass grant(s)", closed)
    return closed


def sweep_sessions(runtime: Runtime) -> int:
    """End (and audit) sessions past their idle or absolute limit that nobody came back
    to: automatic logoff happens on the server, whether or not a browser is open."""
    try:
        ended = signin.end_expired_sessions(runtime)
    except Exception:
        log.exception("ending expired sessions failed; retrying at the next tick")
        return 0
    if ended:
        log.info("ended %d expired session(s)", ended)
    return ended
