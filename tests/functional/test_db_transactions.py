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
