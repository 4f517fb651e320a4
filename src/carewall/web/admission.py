"""Admission control for password sign-ins: a few at a time, a bounded queue, the rest shed.

Verifying a password costs a fraction of a second of CPU (Argon2id, and the
same dummy verification for unknown emails), and anyone can ask for it. Run in
the shared thread pool, a flood of sign-in attempts would take every worker
thread and both cores, and staff requests would wait behind it. So sign-in
work runs in a pool of its own, sized to the cores (`CAREWALL_SIGNIN_CONCURRENCY`):
a waiting attempt holds no worker thread, only a little memory in the event
loop. At most `CAREWALL_SIGNIN_QUEUE` attempts wait; beyond that the answer is
503 with `Retry-After` after a second's pause (so that a client retrying in a
loop cannot turn the refusals themselves into the flood), and an attempt that
waited longer than `CAREWALL_SIGNIN_QUEUE_SECONDS` is refused without being
verified. Only unauthenticated sign-in attempts
pass through here, so they are the only requests ever shed. The pool's threads
also run at a lower CPU priority, so sign-ins use idle cores but give way to
staff requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from carewall.core.config import Settings
from carewall.core.errors import CarewallError

T = TypeVar("T")
RETRY_AFTER_SECONDS = 2
SHED_DELAY_SECONDS = 1.0
SIGNIN_NICENESS = 10  # CFS weight 110 against 1024 for the threads serving staff


class SignInBusyError(CarewallError):
    """Too many sign-in attempts at once: try again in a moment (503, Retry-After)."""

    code = "busy"
    status = 503

    def __init__(self) -> None:
        super().__init__(
            "Too many people are signing in right now. Please try again in a few seconds."
        )
        self.retry_after = RETRY_AFTER_SECONDS


class SignInGate:
    """Runs sign-in work `slots` at a time, with at most `queue` attempts waiting."""

    def __init__(self, slots: int, queue: int, max_wait: float) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=slots, thread_name_prefix="carewall-signin", initializer=_yield_cpu
        )
        self._limit = slots + queue
        self._max_wait = max_wait
        self._admitted = 0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInGate:
        """The gate `settings` describe."""
        return cls(
            settings.effective_signin_concurrency,
            settings.signin_queue,
            settings.signin_queue_seconds,
        )

    async def run(self, work: Callable[[], T]) -> T:
        """`work()` in a sign-in slot; `SignInBusyError` when the queue is full or too slow."""
        with self._lock:
            full = self._admitted >= self._limit
            if not full:
                self._admitted += 1
        if full:
            # A cheap wait (no thread, no work) before the refusal: a client that retries in
            # a loop cannot make shedding itself the flood.
            await asyncio.sleep(SHED_DELAY_SECONDS)
            raise SignInBusyError
        queued_at = time.monotonic()

        def in_slot() -> T:
            if time.monotonic() - queued_at > self._max_wait:
                raise SignInBusyError  # the client has waited long enough: shed, do no work
            return work()

        try:
            future: Future[T] = self._pool.submit(in_slot)
        except BaseException:
            self._release(None)
            raise
        # Released when the work is really over, even if this request is cancelled.
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _release(self, _future: Future[Any] | None) -> None:
        with self._lock:
            self._admitted -= 1


def _yield_cpu() -> None:
    """Lower the sign-in threads' CPU priority (Linux: nice is per thread, and the
    threads Argon2 starts for its lanes inherit it), so that when staff requests and a
    flood of sign-ins want the same cores, the staff requests get them first; when the
    machine is otherwise idle, sign-ins still use all of it."""
    if sys.platform == "linux":  # elsewhere PRIO_PROCESS would name a process, not a thread
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), SIGNIN_NICENESS)
