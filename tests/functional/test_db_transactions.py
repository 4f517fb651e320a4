"""Readers and writers: reads take no write lock, and an audited read commits its entry
before it hands anything back (issue 9, item 4), on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from carewall.audit import AuditEvent, audited_read, record
from carewall.audit.models import AuditEntry
from carewall.core.config import Settings
from carewall.core.db import Database
from carewall.core.runtime import open_runtime


@pytest.fixture
def db(settings: Settings) -> Database:
    """The database of an opened runtime (migrated, with the audit key every append needs)."""
    return open_runtime(settings).db


def entries(db: Database) -> int:
    with db.read_transaction() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_a_read_goes_through_while_a_writer_holds_the_write_lock(db: Database) -> None:
    """Before, every transaction began IMMEDIATE: this read would have waited for the
    writer (30 s on SQLite) and failed with "database is locked"."""
    try:
        with db.transaction() as writer:
            record(writer, AuditEvent(action="test:write:held"))
            writer.flush()
            assert entries(db) == 0, "the read sees the last committed state, at once"
        assert entries(db) == 1
    finally:
        db.dispose()


def test_an_audited_read_commits_its_entry_before_returning(db: Database) -> None:
    def read() -> str:
        with audited_read(db) as session:
            record(session, AuditEvent(action="test:read:audited"))
            assert entries(db) == 0, "held back while the read runs"
            return "the data"

    try:
        assert read() == "the data"
        assert entries(db) == 1, "committed by the time the data is returned"
    finally:
        db.dispose()


def test_a_failed_audited_read_appends_nothing(db: Database) -> None:
    def read() -> None:
        with audited_read(db) as session:
            record(session, AuditEvent(action="test:read:failed"))
            raise LookupError

    try:
        with pytest.raises(LookupError):
            read()
        assert entries(db) == 0
    finally:
        db.dispose()


def test_lookups_keep_a_pool_of_their_own_in_autocommit_on_postgresql(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's lookups share the one engine: there is no autocommit to keep")
    with db.lookup() as connection:
        looked_up = connection.connection.driver_connection
        assert looked_up is not None
        assert looked_up.autocommit
    with db.read_transaction() as session:
        assert session.connection().connection.driver_connection is looked_up  # same pool
    with db.writer.connect() as connection:
        written = connection.connection.driver_connection
        assert written is not None
        assert written is not looked_up
        assert not written.autocommit
    assert looked_up.autocommit  # as it was handed back: never switched, never reset
    db.dispose()
    assert looked_up.closed
