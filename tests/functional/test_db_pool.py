"""Pooled PostgreSQL connections: pinged when they have sat idle, not on every use."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from carewall.core.db import make_engine
from tests.support import postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def admin() -> str:
    if not postgres.POSTGRES_URL:
        pytest.skip("PostgreSQL tests need CAREWALL_TEST_POSTGRES_URL")
    return postgres.admin_url()


def _backend_pid(url: str, idle_ping_seconds: float) -> tuple[int, int]:
    """The backend of a pooled connection before and after it is killed while idle."""
    engine = make_engine(url, idle_ping_seconds=idle_ping_seconds, pool_size=1, max_overflow=0)
    killer = make_engine(url)
    try:
        with engine.connect() as connection:
            before = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before})
            connection.commit()
        with engine.connect() as connection:
            after = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        return before, after
    finally:
        engine.dispose()
        killer.dispose()


def test_a_connection_killed_while_idle_is_replaced_before_it_is_used(admin: str) -> None:
    before, after = _backend_pid(admin, idle_ping_seconds=0)
    assert after != before


def test_a_connection_killed_moments_after_use_fails_once_then_the_pool_recovers(
    admin: str,
) -> None:
    # Returned a moment ago, so not pinged: its one request fails (a 503 in the app),
    # and SQLAlchemy replaces the pool's connections for the next.
    engine = make_engine(admin, idle_ping_seconds=3600, pool_size=1, max_overflow=0)
    killer = make_engine(admin)
    try:
        with engine.connect() as connection:
            before = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before})
            connection.commit()
        with pytest.raises(OperationalError), engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        with engine.connect() as connection:
            after = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        assert after != before
    finally:
        engine.dispose()
        killer.dispose()
