"""Shared fixtures: an isolated database per test, on SQLite and (when configured) PostgreSQL.

Set CAREWALL_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
to run every database test on PostgreSQL too; each test then gets its own
database, copied from a migrated template so that isolation stays cheap.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from carewall.core.clock import set_clock
from carewall.core.config import Settings
from carewall.core.db import Database
from carewall.core.runtime import Runtime, open_runtime

POSTGRES_URL = os.environ.get("CAREWALL_TEST_POSTGRES_URL", "")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _pg_admin_url(database: str = "postgres") -> str:
    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


def _pg_execute(statement: str) -> None:
    engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each test copies."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need CAREWALL_TEST_POSTGRES_URL")
    name = f"cw_tmpl_{uuid.uuid4().hex[:10]}"
    _pg_execute(f'CREATE DATABASE "{name}"')
    db = Database.connect(_pg_admin_url(name))
    db.migrate()
    db.dispose()
    yield name
    _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, isolated database URL for this test, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'carewall.db'}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"cw_test_{uuid.uuid4().hex[:12]}"
    _pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_admin_url(name)
    _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for a fresh data directory on the parametrised database."""
    return Settings(home=tmp_path / "home", database_url=database_url)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """An opened (migrated, keyed) runtime."""
    opened = open_runtime(settings)
    yield opened
    opened.close()


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    """Environment for running the real `carewall` command against this test's data."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWALL_")}
    env["CAREWALL_HOME"] = str(settings.home)
    env["CAREWALL_DATABASE_URL"] = settings.effective_database_url
    return env


class FrozenClock:
    """Carewall's clock, stopped at a moment that tests move forward by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def advance(self, **delta: float) -> None:
        """Move time forward, e.g. `advance(minutes=5)`."""
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """Freeze `carewall.core.clock.utcnow` for this test (the real clock comes back after)."""
    frozen = FrozenClock()
    set_clock(lambda: frozen.now)
    try:
        yield frozen
    finally:
        set_clock(None)
