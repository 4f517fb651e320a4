"""A held SQLite write lock makes requests answer 503 with Retry-After, never 500.

The attack (or accident): another program holds `BEGIN IMMEDIATE` on carewall.db
(a `sqlite3` shell, a stuck backup). Carewall began its transactions on the
driver directly, so the driver's raw "database is locked" slipped past the
handler that turns SQLAlchemy's OperationalError into a 503, and every staff
request that writes (each audited read does) became a 500 after 30 s. Token
sign-in also waited for the lock to note the token's last use.

SQLite only: PostgreSQL has no database-wide write lock to hold.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import Role
from carewall.identity.models import ApiToken
from carewall.records.services import create_resource
from carewall.registry import create_app
from tests.support.factories import fhir_resource, token_for


@pytest.fixture
def impatient(settings: Settings) -> Iterator[Runtime]:
    if not settings.effective_database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no database-wide write lock to hold")
    runtime = open_runtime(settings.model_copy(update={"db_busy_timeout_seconds": 1}))
    yield runtime
    runtime.close()


def _hold_write_lock(runtime: Runtime) -> sqlite3.Connection:
    path = Path(runtime.settings.effective_database_url.removeprefix("sqlite:///"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_held_write_lock_is_503_with_retry_after_not_500(impatient: Runtime) -> None:
    runtime = impatient
    create_resource(runtime, Caller.cli("test"), fhir_resource("Patient", "p1"))
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    with TestClient(create_app(runtime), raise_server_exceptions=False) as api:
        other = _hold_write_lock(runtime)
        try:
            busy = api.get("/fhir/Patient/p1", headers=doctor)
        finally:
            other.rollback()
            other.close()
        assert busy.status_code == 503, busy.text
        assert busy.headers["Retry-After"]
        again = api.get("/fhir/Patient/p1", headers=doctor)
        assert again.status_code == 200, again.text


def test_noting_a_tokens_last_use_never_waits_for_the_lock(impatient: Runtime) -> None:
    """The token's read of its own row needs no lock; the last-used time is skipped
    while another writer holds it, and written on a later request."""
    runtime = impatient
    doctor = token_for(
        runtime, "doc@clinic.example", Role.CLINICIAN, scopes=("api:read", "fhir:read")
    )
    with TestClient(create_app(runtime), raise_server_exceptions=False) as api:
        other = _hold_write_lock(runtime)
        try:
            # "Who am I" reads and audits nothing: only the token's last use would write.
            answer = api.get("/api/v1/me", headers=doctor)
        finally:
            other.rollback()
            other.close()
        assert answer.status_code == 200, answer.text
        with runtime.db.sessions() as session:
            assert session.scalar(select(ApiToken.last_used_at)) is None, "skipped, not waited"
        assert api.get("/api/v1/me", headers=doctor).status_code == 200
        with runtime.db.sessions() as session:
            assert session.scalar(select(ApiToken.last_used_at)) is not None
