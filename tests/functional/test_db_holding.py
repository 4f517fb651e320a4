"""`Database.holding`: a thread's lookups and read transactions share one pooled
connection, and nothing of one leaks into the next, on both databases."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from carewall.audit import AuditEvent, audited_read, record
from carewall.audit.models import AuditEntry
from carewall.core.db import Database, connection_of
from carewall.core.runtime import Runtime


@pytest.fixture
def db(runtime: Runtime) -> Database:
    """The database of an opened runtime (closed with it)."""
    return runtime.db


def entries(db: Database) -> int:
    with db.read_transaction() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _looked_up(db: Database) -> Any:
    with db.lookup() as connection:
        connection.execute(text("SELECT 1")).scalar_one()  # Core: begins a transaction
        return connection.connection.driver_connection


def _read_on(db: Database) -> Any:
    with db.read_transaction() as session:
        session.scalar(select(func.count()).select_from(AuditEntry))
        return session.connection().connection.driver_connection


def test_lookups_and_read_transactions_share_the_held_connection(db: Database) -> None:
    with db.holding():
        first = _looked_up(db)
        assert _read_on(db) is first
        assert _looked_up(db) is first
        with db.holding():  # a hold inside a hold shares the outer one
            assert _read_on(db) is first
    with db.lookup() as connection:
        assert connection.engine.pool.checkedout() == 1, "the held one went back to the pool"


def test_a_read_session_in_the_hold_hands_out_the_held_connection_without_beginning(
    db: Database,
) -> None:
    """`connection_of` spares the session its own transaction; an ORM statement in the
    same read still joins the one on the held connection, with the same snapshot."""
    with db.holding():
        held = _looked_up(db)
        with db.read_transaction() as session:
            connection = connection_of(session)
            assert connection.connection.driver_connection is held
            assert not session.in_transaction()
            assert connection.in_transaction()
            assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
            assert session.connection() is connection
    with db.read_transaction() as session:
        assert connection_of(session) is session.connection()


def test_each_thread_holds_a_connection_of_its_own(db: Database) -> None:
    held: dict[str, Any] = {}
    both_holding = threading.Barrier(2)

    def hold(name: str) -> None:
        with db.holding():
            held[name] = _looked_up(db)
            both_holding.wait(timeout=10)

    threads = [threading.Thread(target=hold, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert held["a"] is not held["b"]


def test_a_lookup_leaves_no_transaction_open_on_the_held_connection(db: Database) -> None:
    """Core begins a transaction with a lookup's statement; left open on the held
    connection, SQLite's snapshot would stay old and the next read would fail to begin."""
    with db.holding():
        _looked_up(db)
        with db.lookup() as connection:
            assert not connection.in_transaction()
        assert entries(db) == 0


def test_a_read_in_the_hold_sees_what_was_committed_after_the_last_one(db: Database) -> None:
    with db.holding():
        assert entries(db) == 0
        with db.transaction() as writer:  # another connection, committed meanwhile
            record(writer, AuditEvent(action="test:hold:written"))
        assert entries(db) == 1


def test_a_failed_read_leaves_the_held_connection_usable(db: Database) -> None:
    with db.holding():
        with pytest.raises(LookupError), db.read_transaction():
            raise LookupError
        with pytest.raises(DBAPIError), db.read_transaction() as session:
            session.execute(text("SELECT * FROM no_such_table"))
        assert entries(db) == 0
        _looked_up(db)


def test_an_audited_read_in_the_hold_commits_its_entry_before_returning(db: Database) -> None:
    def read(committed: int) -> str:
        with audited_read(db) as session:
            record(session, AuditEvent(action="test:hold:audited"))
            assert entries(db) == committed, "held back while the read runs"
            return "the data"

    with db.holding():
        assert read(0) == "the data"
        assert entries(db) == 1, "committed by the time the data is returned"
        assert read(1) == "the data"
    assert entries(db) == 2


def _probe_rows(db: Database) -> int:
    with db.lookup() as connection:
        return int(connection.execute(text("SELECT count(*) FROM hold_probe")).scalar_one())


def test_writing_in_the_hold_is_one_transaction_that_takes_the_write_lock(db: Database) -> None:
    """On SQLite `writing` uses the held connection with BEGIN IMMEDIATE, and the held
    connection reads without the lock afterwards; on PostgreSQL, where the held
    connection is in autocommit, it is a writer's own (else the failed write below
    would have kept its first row)."""
    with db.writer.begin() as connection:
        connection.execute(text("CREATE TABLE hold_probe (n INTEGER)"))
    probe = text("INSERT INTO hold_probe VALUES (0)")
    sqlite = db.engine.dialect.name == "sqlite"

    def write_then_fail() -> None:
        with db.writing() as connection:
            connection.execute(text("INSERT INTO hold_probe VALUES (1)"))
            if sqlite:
                assert not db.write_if_free(probe, {}), "the write lock is held"
            raise LookupError

    with db.holding():
        with pytest.raises(LookupError):
            write_then_fail()
        assert _probe_rows(db) == 0, "rolled back as one transaction"
        with db.writing() as connection:
            connection.execute(text("INSERT INTO hold_probe VALUES (2)"))
        with db.read_transaction():
            assert db.write_if_free(probe, {}), "a read in the hold takes no write lock"
        assert _probe_rows(db) == 2


def test_more_threads_than_the_pool_holds_each_hold_and_write(db: Database) -> None:
    """Each holds its connection and then takes a second, all at once: with SQLite's
    default pool (five, and ten more) the sixteenth would have waited for a connection
    that none of the others gives back before it has written."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL holds lookups' connections; a write takes the writer's pool")
    touch = text("CREATE TABLE IF NOT EXISTS hold_touch (n INTEGER)")
    threads_count = 20
    all_holding = threading.Barrier(threads_count)
    wrote: list[bool] = []

    def hold_then_write() -> None:
        with db.holding():
            _looked_up(db)
            all_holding.wait(timeout=20)
            with db.transaction() as session:  # a writer's session: another connection
                session.execute(touch)
            wrote.append(True)

    threads = [threading.Thread(target=hold_then_write) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(wrote) == threads_count


def test_a_held_connection_lost_fails_its_request_once(db: Database) -> None:
    """A backend killed while its connection is held (a server restart) fails the
    statement that finds it gone; the hold still ends, and the next one is served."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to lose")
    with db.holding():
        with db.lookup() as connection:
            pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        with db.writer.begin() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError):
            _read_on(db)
    with db.holding():
        assert _read_on(db) is not None
        assert entries(db) == 0


def test_a_worker_serving_eight_reads_at_once_reopens_no_connection(db: Database) -> None:
    """Eight threads holding a connection each, twice: the second time they get the
    connections the first returned. With the pool's default five kept open, three were
    opened and closed again for every such burst (a SQLite connection runs its PRAGMAs,
    a PostgreSQL one starts a server process)."""

    def burst() -> set[int]:
        together = threading.Barrier(8)
        seen: list[int] = []

        def hold() -> None:
            with db.holding():
                seen.append(id(_looked_up(db)))
                together.wait(timeout=10)

        threads = [threading.Thread(target=hold) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return set(seen)

    first = burst()
    assert len(first) == 8
    assert burst() == first
