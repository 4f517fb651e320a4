"""Carewall's clock under a test's control.

The `clock` fixture (tests/conftest.py) stops the clock at a `FrozenClock`
that a test moves forward by hand; `clock_moved` shifts the running clock
for a block. Both put the real clock back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from carewall.core.clock import set_clock


class FrozenClock:
    """Carewall's clock, stopped at a moment that tests move forward by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def advance(self, **delta: float) -> None:
        """Move time forward, e.g. `advance(minutes=5)`."""
        self.now += timedelta(**delta)


@contextmanager
def frozen_clock() -> Iterator[FrozenClock]:
    """Stop Carewall's clock for the block (the `clock` fixture)."""
    frozen = FrozenClock()
    set_clock(lambda: frozen.now)
    try:
        yield frozen
    finally:
        set_clock(None)


@contextmanager
def clock_moved(**delta: float) -> Iterator[None]:
    """Run with Carewall's clock moved forward by `delta` (always put back after)."""
    shift = timedelta(**delta)
    set_clock(lambda: datetime.now(UTC) + shift)
    try:
        yield
    finally:
        set_clock(None)
