"""Group commit of audited reads: concurrent reads build one valid chain, each read's
entry is committed before the read returns, and a batch that fails fails every read
in it without writing or releasing anything."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import NullPool

from carewall.audit import AuditEvent, audited_read, entries_about, record, record_about, verify
from carewall.audit.services import GroupAppender, appender_for
from carewall.core.db import Database
from carewall.core.runtime import Runtime

_DATA = "the record read"


def _committed(db: Database, subject: str) -> int:
    """How many committed entries carry `subject`, seen from a connection of its own."""
    query = text("SELECT count(*) FROM audit_entries WHERE subject = :subject")
    with db.engine.connect() as connection:
        return int(connection.execute(query, {"subject": subject}).scalar_one())


def _read(db: Database, subject: str, details: dict[str, Any] | None = None) -> str:
    """An audited read that returns data only once its entry is committed."""
    with audited_read(db) as session:
        record(
            session,
            AuditEvent(action="test:record:read", subject=subject, details=details or {}),
        )
        return _DATA


def _wait_for(condition: Callable[[], bool]) -> None:
    """Wait until `condition` holds (a deadline only so that a bug cannot hang the run)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "the appender never reached the expected state"
        time.sleep(0.01)


def test_concurrent_reads_build_one_chain_each_entry_committed_before_its_read_returns(
    runtime: Runtime,
) -> None:
    db = runtime.db
    missing: list[str] = []

    def reader(n: int) -> None:
        for i in range(15):
            subject = f"reader-{n}-{i}"
            assert _read(db, subject) == _DATA
            if _committed(db, subject) != 1:
                missing.append(subject)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert missing == []
    result = verify(db)
    assert (result.ok, result.count) == (True, 120)
    appender = appender_for(db)
    assert appender.reads == 120


class _Blocked:
    """Reads started while another transaction holds the chain's lock: the first becomes
    the writer of its own batch and waits for the lock, the rest queue behind it."""

    def __init__(self, db: Database, appender: GroupAppender) -> None:
        self.db, self.appender = db, appender
        self.results: dict[str, str | BaseException] = {}
        self.threads: list[threading.Thread] = []

    def start(self, subject: str, details: dict[str, Any] | None = None) -> None:
        def run() -> None:
            try:
                self.results[subject] = _read(self.db, subject, details)
            except Exception as exc:  # the test inspects what each read raised
                self.results[subject] = exc

        thread = threading.Thread(target=run)
        self.threads.append(thread)
        thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join()


def _queue_behind_a_writer(
    runtime: Runtime, queued: list[tuple[str, dict[str, Any] | None]]
) -> tuple[_Blocked, GroupAppender]:
    """Hold the chain's lock in a write transaction while one read becomes the writer and
    `queued` reads wait behind it; release the lock once they all wait."""
    db = runtime.db
    appender = appender_for(db)
    blocked = _Blocked(db, appender)
    with db.transaction() as session:
        record(session, AuditEvent(action="test:thing:done", subject="blocker"))
        blocked.start("first")
        _wait_for(lambda: appender.writing)
        for subject, details in queued:
            blocked.start(subject, details)
        _wait_for(lambda: appender.queued == len(queued))
    blocked.join()
    return blocked, appender


def test_reads_that_finish_during_a_write_are_committed_as_one_batch(runtime: Runtime) -> None:
    subjects = [f"queued-{n}" for n in range(5)]
    blocked, appender = _queue_behind_a_writer(runtime, [(s, None) for s in subjects])
    assert blocked.results == dict.fromkeys(["first", *subjects], _DATA)
    assert (appender.batches, appender.reads) == (2, 6)
    assert all(_committed(runtime.db, subject) == 1 for subject in subjects)
    result = verify(runtime.db)
    assert (result.ok, result.count) == (True, 7)


def test_a_failed_batch_fails_every_read_in_it_and_writes_nothing(runtime: Runtime) -> None:
    # A detail the canonical JSON cannot hold makes the whole batch's transaction fail.
    poison = cast(dict[str, Any], {"unencodable": object()})
    queued = [("good-1", None), ("poisoned", poison), ("good-2", None)]
    blocked, appender = _queue_behind_a_writer(runtime, queued)
    assert blocked.results["first"] == _DATA
    for subject, _ in queued:
        assert isinstance(blocked.results[subject], TypeError), subject
        assert _committed(runtime.db, subject) == 0
    assert (appender.batches, appender.reads) == (1, 1)
    result = verify(runtime.db)
    assert (result.ok, result.count) == (True, 2)
    # The appender is free again: the next read is appended and returns.
    assert _read(runtime.db, "after") == _DATA
    assert verify(runtime.db).count == 3


class _UnderWay:
    """A read held under way (its entry recorded, not yet handed over) until released,
    in a thread of its own; `fail` makes it end by raising instead. A context manager,
    so that a failed assertion still releases it."""

    def __init__(self, db: Database, subject: str, *, fail: bool = False) -> None:
        self.recorded, self.release = threading.Event(), threading.Event()
        self.error: BaseException | None = None

        def run() -> None:
            try:
                with audited_read(db) as session:
                    record(session, AuditEvent(action="test:record:read", subject=subject))
                    self.recorded.set()
                    self.release.wait(60)
                    if fail:
                        raise LookupError("the read failed")
            except LookupError as exc:
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)

    def __enter__(self) -> _UnderWay:
        self.thread.start()
        assert self.recorded.wait(60)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.finish()

    def finish(self) -> None:
        self.release.set()
        self.thread.join(timeout=60)


def _read_in_thread(db: Database, subject: str) -> threading.Thread:
    thread = threading.Thread(target=_read, args=(db, subject), daemon=True)
    thread.start()
    return thread


def _gathering(db: Database, *, gather_seconds: float, fresh_seconds: float) -> GroupAppender:
    appender = appender_for(db)
    appender.gather_seconds, appender.fresh_seconds = gather_seconds, fresh_seconds
    return appender


def test_a_read_whose_entry_is_ready_waits_for_the_reads_under_way_to_join_its_batch(
    runtime: Runtime,
) -> None:
    db = runtime.db
    appender = _gathering(db, gather_seconds=60, fresh_seconds=60)
    with _UnderWay(db, "slow") as under_way:
        ready = _read_in_thread(db, "quick")
        _wait_for(lambda: appender.queued == 1)
        assert not appender.writing
        assert _committed(db, "quick") == 0
        under_way.finish()
        ready.join(timeout=60)
    assert (appender.batches, appender.reads) == (1, 2)
    assert _committed(db, "quick") == _committed(db, "slow") == 1
    assert verify(db).ok


def test_the_wait_for_reads_under_way_is_bounded(runtime: Runtime) -> None:
    db = runtime.db
    appender = _gathering(db, gather_seconds=0.2, fresh_seconds=60)
    with _UnderWay(db, "stuck"):
        began = time.monotonic()
        ready = _read_in_thread(db, "quick")
        ready.join(timeout=30)
        assert not ready.is_alive()
        assert time.monotonic() - began >= 0.2  # it waited out the bound, then went alone
        assert (_committed(db, "quick"), _committed(db, "stuck")) == (1, 0)
    assert (appender.batches, appender.reads) == (2, 2)
    assert verify(db).ok


def test_a_read_under_way_for_a_while_is_not_waited_for(runtime: Runtime) -> None:
    db = runtime.db
    appender = _gathering(db, gather_seconds=60, fresh_seconds=0.01)
    with _UnderWay(db, "long"):
        time.sleep(0.05)  # older than `fresh_seconds`: an export page, a large search
        ready = _read_in_thread(db, "quick")
        ready.join(timeout=30)
        assert not ready.is_alive()
        assert (_committed(db, "quick"), _committed(db, "long")) == (1, 0)
    assert (appender.batches, appender.reads) == (2, 2)


def test_a_read_under_way_that_fails_stops_the_wait_at_once_and_writes_nothing(
    runtime: Runtime,
) -> None:
    db = runtime.db
    appender = _gathering(db, gather_seconds=60, fresh_seconds=60)
    with _UnderWay(db, "failing", fail=True) as under_way:
        ready = _read_in_thread(db, "quick")
        _wait_for(lambda: appender.queued == 1)
        under_way.finish()
        ready.join(timeout=30)
        assert not ready.is_alive()
    assert isinstance(under_way.error, LookupError)
    assert (_committed(db, "quick"), _committed(db, "failing")) == (1, 0)
    assert (appender.batches, appender.reads, appender.under_way) == (1, 1, 0)


_READER = """
import sys, threading
from sqlalchemy import text
from carewall.audit import AuditEvent, audited_read, record
from carewall.core.config import Settings
from carewall.core.runtime import open_runtime
db = open_runtime(Settings(home=sys.argv[3], database_url=sys.argv[1])).db
missing = []
def reader(n):
    for i in range(20):
        subject = f"proc-{sys.argv[2]}-{n}-{i}"
        with audited_read(db) as session:
            record(session, AuditEvent(action="test:record:read", subject=subject))
        with db.engine.connect() as connection:
            found = connection.execute(
                text("SELECT count(*) FROM audit_entries WHERE subject = :s"), {"s": subject}
            ).scalar_one()
        if found != 1:
            missing.append(subject)
threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
sys.exit(1 if missing else 0)
"""


@pytest.mark.slow
def test_reads_in_several_processes_build_one_chain(runtime: Runtime) -> None:
    url = runtime.settings.effective_database_url
    home = str(runtime.settings.home)
    readers = [
        subprocess.Popen([sys.executable, "-c", _READER, url, str(n), home]) for n in range(3)
    ]
    assert [reader.wait(timeout=300) for reader in readers] == [0, 0, 0]
    result = verify(runtime.db)
    assert (result.ok, result.count) == (True, 240)


def test_a_batch_stores_its_entries_and_their_index_rows_exactly_as_written(
    runtime: Runtime,
) -> None:
    """On PostgreSQL a batch's values are quoted into its query by psycopg (client-side
    binding, `_append_on_psycopg`): quotes, backslashes, NUL-like text and non-ASCII must
    land exactly as hashed, and the index rows with them."""
    subject = 'it\'s a \\ "test" \u2014 \u00fc; COMMIT'
    details: dict[str, Any] = {"note": "O'Brien \\x00 %s %(x)s", "n": 3}
    with audited_read(runtime.db) as session:
        event = AuditEvent(action="test:record:read", subject=subject, details=details)
        record_about(session, event, ["Patient/a", "Patient/b"])
    assert _committed(runtime.db, subject) == 1
    result = verify(runtime.db)
    assert (result.ok, result.count) == (True, 1)
    with runtime.db.sessions() as session:
        found = entries_about(session, "Patient/b", ["test:record:read"])
    assert [(entry.subject, entry.details) for entry in found] == [(subject, details)]


def test_an_insert_refused_by_the_server_rolls_the_batch_back_and_frees_the_chain(
    runtime: Runtime,
) -> None:
    # The INSERT and its COMMIT travel in one query: when the INSERT fails, the COMMIT
    # never runs, and the batch's transaction (holding the chain's lock) must be rolled
    # back rather than left open on a pooled connection.
    db = _postgres(runtime)
    refuse = "ALTER TABLE audit_entries ADD CONSTRAINT test_refused CHECK (subject <> 'refused')"
    with db.engine.begin() as connection:
        connection.execute(text(refuse))
    try:
        with pytest.raises(IntegrityError):
            _read(db, "refused")
    finally:
        with db.engine.begin() as connection:
            connection.execute(text("ALTER TABLE audit_entries DROP CONSTRAINT test_refused"))
    _only_the_next_read_is_written(db, failed="refused", entries=1)


def test_a_connection_lost_before_the_append_fails_that_read_as_a_database_error(
    runtime: Runtime,
) -> None:
    # The chain's lock and head are read on the driver itself (one two-statement query), past
    # SQLAlchemy: its error must still come out as SQLAlchemy's OperationalError (a 503
    # in the app, not a 500) with the dead connection dropped from the pool.
    db = _postgres(runtime)
    db.dispose()
    assert _read(db, "opens one pooled connection") == _DATA
    kill = text(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    killer = create_engine(db.engine.url, poolclass=NullPool)
    try:
        with killer.begin() as connection:
            connection.execute(kill)
    finally:
        killer.dispose()
    with pytest.raises(OperationalError) as lost:
        _read(db, "lost")
    assert lost.value.connection_invalidated
    _only_the_next_read_is_written(db, failed="lost")


def test_a_cancelled_wait_for_the_chain_lock_fails_that_read_as_a_database_error(
    runtime: Runtime,
) -> None:
    # Not a lost connection: the transaction rolls back cleanly, so only the wrapping of
    # the driver's own error stands between this and a 500.
    db = _postgres(runtime)
    cancel = text(
        "SELECT count(pg_cancel_backend(pid)) FROM pg_locks"
        " WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    appender = appender_for(db)
    blocked = _Blocked(db, appender)
    with db.transaction() as session, db.engine.connect() as other:
        record(session, AuditEvent(action="test:thing:done", subject="blocker"))
        blocked.start("cancelled")
        _wait_for(lambda: int(other.execute(cancel).scalar_one()) == 1)
    blocked.join()
    assert isinstance(blocked.results["cancelled"], OperationalError)
    _only_the_next_read_is_written(db, failed="cancelled")


def _postgres(runtime: Runtime) -> Database:
    """The runtime's database; the test is skipped on any but PostgreSQL."""
    if runtime.db.engine.dialect.name != "postgresql":
        pytest.skip("the lock and head read on the driver is PostgreSQL's")
    return runtime.db


def _only_the_next_read_is_written(db: Database, failed: str, entries: int = 2) -> None:
    """After a read failed at its append: the next read succeeds, nothing of the failed
    one was written, and the chain (the set-up's entry, if any, and the next read's)
    verifies with `entries` entries."""
    assert _read(db, "after") == _DATA
    assert (_committed(db, failed), _committed(db, "after")) == (0, 1)
    result = verify(db)
    assert (result.ok, result.count) == (True, entries)
