"""Per-test PostgreSQL databases, when CAREWALL_TEST_POSTGRES_URL names a server.

The fixtures in tests/conftest.py migrate one template database per test
session and copy it for each test; tests that need another empty database
(a restore target) make one here and drop it after.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("CAREWALL_TEST_POSTGRES_URL", "")


def admin_url(database: str = "postgres") -> str:
    """The configured server's URL, on `database`."""
    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


def execute(statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
    engine = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def create_database(prefix: str, template: str | None = None) -> str:
    """A new database (copied from `template` when given); returns its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    execute(f'CREATE DATABASE "{name}"{copy}')
    return name


def drop_database(name: str) -> None:
    """Drop `name`, closing whatever connections are left on it."""
    execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def empty_database(prefix: str = "cw_empty") -> Iterator[str]:
    """The URL of a new, empty database for the block, dropped after."""
    name = create_database(prefix)
    try:
        yield admin_url(name)
    finally:
        drop_database(name)
