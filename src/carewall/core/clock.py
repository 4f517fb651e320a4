"""The one clock: timezone-aware UTC everywhere, replaceable in tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731 - swapped in tests
# A moment fixed for the current thread or task only (the demo's history, seeded while
# the server answers requests on other threads with the real time).
_local: ContextVar[datetime | None] = ContextVar("carewall_clock_local", default=None)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    local = _local.get()
    return local if local is not None else _now()


def set_clock(now: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests freeze or advance time); `None` restores the real one."""
    global _now
    _now = now if now is not None else (lambda: datetime.now(UTC))


@contextmanager
def local_clock(moment: datetime) -> Iterator[None]:
    """Let `utcnow()` answer `moment` in this thread (or task) only, for the block."""
    token = _local.set(moment)
    try:
        yield
    finally:
        _local.reset(token)
