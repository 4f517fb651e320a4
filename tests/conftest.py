"""Shared fixtures: an isolated database per test, on SQLite and (when configured) PostgreSQL.

Set CAREWALL_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
to run every database test on PostgreSQL too. On both databases each test gets its
own database, copied from one migrated once per session (a PostgreSQL template, an
SQLite file), so that isolation stays cheap: running the migrations per test cost
more than most tests themselves.

Helpers, factories and runners live in `tests.support`; nothing imports this file.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from carewall.core.config import Settings
from carewall.core.db import Database
from carewall.core.runtime import FILE_MODE, Runtime, open_runtime
from carewall.registry import create_app
from tests.support import postgres
from tests.support.cli import cli_environment
from tests.support.clock import FrozenClock, frozen_clock
from tests.support.web import NewClient


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each test copies."""
    if not postgres.POSTGRES_URL:
        pytest.skip("PostgreSQL tests need CAREWALL_TEST_POSTGRES_URL")
    name = postgres.create_database("cw_tmpl")
    db = Database.connect(postgres.admin_url(name))
    db.migrate()
    db.dispose()
    yield name
    postgres.drop_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a migrated SQLite database that each test writes to its own file.

    `VACUUM INTO` gives one self-contained file (no WAL beside it); `Database.connect`
    puts each connection back in WAL mode.
    """
    folder = tmp_path_factory.mktemp("sqlite-template")
    db = Database.connect(f"sqlite:///{folder / 'migrated.db'}")
    db.migrate()
    db.dispose()
    with sqlite3.connect(folder / "migrated.db") as connection:
        connection.execute("VACUUM INTO ?", (str(folder / "template.db"),))
    connection.close()
    return (folder / "template.db").read_bytes()


def _write_private(path: Path, content: bytes) -> None:
    """Create `path` owner-only, as `carewall.core.runtime` creates a new database file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as file:
        file.write(content)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An isolated database URL for this test, on each backend, migrated to the head."""
    if request.param == "sqlite":
        path = tmp_path / "carewall.db"
        _write_private(path, request.getfixturevalue("sqlite_template"))
        yield f"sqlite:///{path}"
        return
    name = postgres.create_database("cw_test", template=request.getfixturevalue("pg_template"))
    yield postgres.admin_url(name)
    postgres.drop_database(name)


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
def app(runtime: Runtime) -> FastAPI:
    """The web application on this test's runtime, every domain registered."""
    return create_app(runtime)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A browser on the test's app (cookies kept), with the app's start-up and shut-down run."""
    with TestClient(app) as browser:
        yield browser


@pytest.fixture
def new_client(app: FastAPI) -> Iterator[NewClient]:
    """Opens more browsers on the same app (a second person, an attacker's browser)."""
    with ExitStack() as stack:

        def open_client(**options: Any) -> TestClient:
            return stack.enter_context(TestClient(app, **options))

        yield open_client


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    """Environment for the `carewall` command against this test's data (tests.support.cli)."""
    return cli_environment(settings)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """Freeze `carewall.core.clock.utcnow` for this test (the real clock comes back after)."""
    with frozen_clock() as frozen:
        yield frozen
