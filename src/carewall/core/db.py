"""Database engine, sessions and migrations for SQLite (default) and PostgreSQL.

Writers say that they write. `Database.transaction()` is the one way to change
data: on SQLite (WAL mode) it starts with `BEGIN IMMEDIATE`, so a
read-then-write transaction (such as appending to the audit chain) holds the
write lock from its first statement and concurrent writers queue on
`busy_timeout` instead of failing with "database is locked" half way through.
Everything else reads: `Database.read_transaction()`, `Database.sessions()` and
`engine.connect()` begin `DEFERRED`, which in WAL mode takes no lock at all, so
reads never wait for writers and never make writers wait. A deferred
transaction must not write after it has read: SQLite cannot upgrade its
snapshot once another writer has committed, and answers "database is locked"
at once. Read, finish the read, then write in `transaction()`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from importlib.resources import files
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Executable,
    TypeDecorator,
    create_engine,
    event,
    inspect,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# The execution option that marks a connection as a writer's (`Database.transaction`).
_WRITES = "carewall_writes"
# The execution option of a writer that must not wait for SQLite's write lock at all.
_NO_WAIT = "carewall_no_wait"
# How a SQLite writer waits for the write lock: the first pause, and the longest.
_FIRST_PAUSE = 0.0005
_LONGEST_PAUSE = 0.005
_BEGIN_WRITE = "BEGIN IMMEDIATE"
_BEGIN_READ = "BEGIN DEFERRED"
# session.info key of the values attached to the session's Database (`Database.attached`).
_ATTACHED = "carewall.db.attached"
# session.info key of the held connection whose transaction a read session joins.
_JOINED = "carewall.db.joined"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite stores no zone, so we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use carewall.core.clock.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every Carewall table."""


def new_id() -> str:
    """Primary keys are UUIDs made in Python, so both databases behave the same."""
    return str(uuid.uuid4())


def insert_ignoring_conflicts(
    session: Session, model: type[Base], rows: list[dict[str, Any]]
) -> None:
    """INSERT rows, skipping those whose unique key exists (a race with another worker is a no-op).

    Checking first and inserting after loses that race on PostgreSQL, where the
    loser's unique violation also aborts its whole transaction.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(model).values(rows).on_conflict_do_nothing())


# Connections a pool keeps open between requests. Past these, a connection is opened for
# one checkout and closed on its return: a SQLite connection's opening runs its PRAGMAs
# and a PostgreSQL one starts a server process. With SQLAlchemy's default of five, one
# worker serving 8 concurrent FHIR reads (each holding a connection: `Database.holding`)
# spent about a tenth of its samples opening and closing connections (py-spy).
SQLITE_POOLED = 16
POSTGRES_POOLED = 10
# At most this many connections per pool on PostgreSQL, as SQLAlchemy's default (5 + 10
# overflow): only more of them stay open, not more at once against `max_connections`.
POSTGRES_CONNECTIONS = 15


def make_engine(
    url: str,
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    *,
    idle_ping_seconds: float | None = None,
    **kwargs: Any,
) -> Engine:
    """An engine configured for Carewall's concurrency model on either database.

    `busy_timeout_ms` is how long a SQLite writer waits for the write lock before the
    request is answered "busy" (503 with Retry-After, never a 500). On PostgreSQL a
    pooled connection idle for `idle_ping_seconds` (default `IDLE_PING_SECONDS`) is
    pinged before it is handed out.
    """
    if url.startswith("sqlite"):
        if make_url(url).database not in {None, "", ":memory:"}:
            # No bound on the pool's overflow: a thread that holds its connection
            # (`Database.holding`) may take a second one (a refusal's audit entry, a
            # token's last use), and in a bounded pool as many such threads as it holds
            # would wait for each other until its timeout. A SQLite connection is a
            # file handle: keep `SQLITE_POOLED` open rather than SQLAlchemy's five.
            kwargs.setdefault("pool_size", SQLITE_POOLED)
            kwargs.setdefault("max_overflow", -1)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            **kwargs,
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    kwargs.setdefault("pool_size", POSTGRES_POOLED)
    kwargs.setdefault("max_overflow", POSTGRES_CONNECTIONS - POSTGRES_POOLED)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine, IDLE_PING_SECONDS if idle_ping_seconds is None else idle_ping_seconds)
    if engine.dialect.driver == "psycopg":
        _plan_each_time_when_asked(engine)
    return engine


# The execution option `planned_each_time` sets (psycopg only; elsewhere it changes nothing).
_PLANNED_EACH_TIME = "carewall_planned_each_time"


_Statement = TypeVar("_Statement", bound=Executable)


def planned_each_time(statement: _Statement) -> _Statement:
    """`statement`, to be planned for its own values every time it runs.

    psycopg prepares a statement on the server once it has run it five times, and
    PostgreSQL may then settle on a generic plan, made without the values. For a
    search whose IN lists of blind-index terms change size from one query to the next,
    that plan compared every term of every list on every index row of the type
    (3.5x slower on a six-week date range over 3,000 Observations, measured): such a
    statement is sent unprepared, so that each run gets a plan for its own lists.
    """
    return statement.execution_options(**{_PLANNED_EACH_TIME: True})


def _plan_each_time_when_asked(engine: Engine) -> None:
    @event.listens_for(engine, "do_execute")
    def _unprepared(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        if not context.execution_options.get(_PLANNED_EACH_TIME):
            return None
        cursor.execute(statement, parameters, prepare=False)
        return True


# A pooled PostgreSQL connection idle longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 5.0
_IDLE_SINCE = "carewall_idle_since"


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection before use only when it has sat idle a while.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: a network round trip per
    checkout, and an audited read checks out several (token, read, audit append),
    which cost more than the read itself on a busy server. A connection returned a
    moment ago is alive; one idle for a while may have been cut (server restart,
    idle timeout), so it is pinged and, if dead, replaced before any request sees
    it. A connection cut within the last few seconds fails its request once (503)
    and SQLAlchemy then replaces the whole pool.
    """

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            # The dialect's ping, which leaves no transaction open behind it.
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # any driver error means the connection is unusable
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError("a pooled connection was found dead") from exc


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from the driver so BEGIN IMMEDIATE is ours.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # NORMAL in WAL mode: a killed process loses no acknowledged commit (the
        # crash test proves it) and the file never corrupts; a power cut may roll
        # back the last few commits. FULL would fsync on every audited read; a
        # practice that needs power-loss durability of each entry runs PostgreSQL.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to the driver: every transaction starts here, and the statement
        # pipeline (events, cursor wrapping, result set-up) costs more than SQLite does.
        options = conn.get_execution_options()
        writes = options.get(_WRITES, False)
        driver = conn.connection.driver_connection
        try:
            if writes:
                wait_ms = 0 if options.get(_NO_WAIT, False) else busy_timeout_ms
                _begin_write(driver, wait_ms, busy_timeout_ms)
            else:
                driver.execute(_BEGIN_READ)
        except sqlite3.OperationalError as exc:
            # Outside SQLAlchemy's statement pipeline the driver's error arrives raw:
            # wrapped, "database is locked" reaches the 503 handler like any other
            # busy database, instead of a 500.
            statement = _BEGIN_WRITE if writes else _BEGIN_READ
            raise OperationalError(statement, None, exc) from exc


def _begin_write(driver: sqlite3.Connection, wait_ms: int, busy_timeout_ms: int) -> None:
    """BEGIN IMMEDIATE, waiting up to `wait_ms` for the write lock in short pauses
    (the connection's `busy_timeout_ms` is set again for the statements after it).

    SQLite's own busy handler sleeps in growing steps of up to 100 ms, so a writer
    that finds the lock held (another worker process's audit batch) often sleeps
    long after it was released: that was the tail of reads under load. Here the
    pauses stay between half a millisecond and five, and the lock is tried without
    SQLite's handler; past `wait_ms` the driver's "database is locked" is raised.
    """
    driver.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + wait_ms / 1000
        pause = _FIRST_PAUSE
        while True:
            try:
                driver.execute(_BEGIN_WRITE)
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)
    finally:
        driver.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")


@dataclass
class Database:
    """An engine and its session factories; one per process (or per test).

    `sessions` opens sessions that read (deferred transactions); writers use
    `transaction()`, whose connection is marked as a writer's.

    `attached` holds per-database values that code holding only a session needs:
    the audit chain's MAC key, which every append uses (`attached_to(session)`).
    Every session of this database sees the one dict, also values attached later.
    """

    engine: Engine
    sessions: sessionmaker[Session]
    writer: Engine
    _write_sessions: sessionmaker[Session]
    attached: dict[str, Any] = field(default_factory=dict)
    _busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS

    @classmethod
    def connect(cls, url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Database:
        """Open (not migrate) the database at `url`."""
        engine = make_engine(url, busy_timeout_ms)
        writer = engine.execution_options(**{_WRITES: True})
        attached: dict[str, Any] = {}
        info = {_ATTACHED: attached}
        return cls(
            engine,
            sessionmaker(engine, expire_on_commit=False, info=info),
            writer,
            sessionmaker(writer, expire_on_commit=False, info=info),
            attached,
            busy_timeout_ms,
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that writes: its work commits together or not at all.

        On SQLite it holds the write lock from its first statement to its end, so
        keep it short: hash, encrypt, validate and decrypt before or after it.
        """
        with self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def read_transaction(self) -> Iterator[Session]:
        """A session that only reads, taking no write lock: on SQLite from one consistent
        snapshot; on PostgreSQL each statement sees what was committed when it began.

        On PostgreSQL it runs in autocommit. Its isolation (READ COMMITTED) gives each
        statement a snapshot of its own anyway, so a transaction around them would add
        only the BEGIN and COMMIT round trips, on every audited read.

        Writing in it is a bug: on SQLite the upgrade fails under concurrency, and on
        PostgreSQL each statement would commit on its own.

        Inside `holding` it runs on the thread's held connection, unless that one is
        in a transaction already (a read inside a read takes a connection of its own).
        """
        held = self._held_connection()
        if held is None or held.in_transaction():
            with self._read_sessions() as session, session.begin():
                yield session
            return
        # On the held connection: a Core transaction, and a session that only joins it
        # (it neither commits nor rolls back what it did not begin).
        with held.begin():
            info = {_ATTACHED: self.attached, _JOINED: held}
            session = Session(held, expire_on_commit=False, info=info)
            try:
                yield session
            finally:
                session.close()

    @cached_property
    def _read_sessions(self) -> sessionmaker[Session]:
        info = {_ATTACHED: self.attached}
        return sessionmaker(self._lookups, expire_on_commit=False, info=info)

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Let this thread's lookups and read transactions (and, on SQLite, its audit
        appends: `writing`) share one pooled connection until the block ends; a block
        inside another shares the outer one's.

        A FHIR read checks its token, reads in a read transaction and appends its
        audit entry. Each step took a connection from the pool and gave it back, and
        the read transaction's ORM session began and ended its own: about 8% of a
        secure read's instructions on either database (callgrind). Held here, the
        connection is taken once, the read transaction is Core's, and the session
        only joins it.
        """
        if self._held_connection() is not None:
            yield
            return
        with self._lookups.connect() as connection:
            self._held.connection = connection
            try:
                yield
            finally:
                self._held.connection = None

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A Core connection in a writing transaction, as `writer.begin()` gives: on
        SQLite, the held one when this thread holds a connection outside a transaction.
        (On PostgreSQL the held connection is a lookup's, in autocommit: never a writer's.)
        """
        held = self._held_connection()
        if held is None or held.in_transaction() or self._lookups is not self.engine:
            with self.writer.begin() as connection:
                yield connection
            return
        held.execution_options(**{_WRITES: True})  # in place: its BEGIN is IMMEDIATE
        try:
            with held.begin():
                yield held
        finally:
            held.execution_options(**{_WRITES: False})

    def _held_connection(self) -> Connection | None:
        held: Connection | None = getattr(self._held, "connection", None)
        return held

    @cached_property
    def _held(self) -> threading.local:
        """Each thread's held connection (`holding`)."""
        return threading.local()

    @contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A connection for one lookup statement that needs no snapshot beyond itself.

        Every request checks its token and whether its channel is suspended: one
        SELECT each. On PostgreSQL these run in autocommit, which spares the BEGIN
        and ROLLBACK round trips a transaction adds to each; SQLite's deferred
        transaction costs no round trip and is kept. (The audit append on psycopg
        also takes its connections here, and opens and ends its transaction in its
        own queries: `audit.services._append_on_psycopg`.) Inside `holding`, the
        thread's held connection.
        """
        held = self._held_connection()
        if held is None:
            with self._lookups.connect() as connection:
                yield connection
            return
        # A statement through Core begins a transaction (autobegin), which would stay
        # open on the held connection: end it as returning the connection would.
        began = not held.in_transaction()
        try:
            yield held
        finally:
            if began and held.in_transaction():
                held.rollback()

    @cached_property
    def _lookups(self) -> Engine:
        """On PostgreSQL, a pool of its own whose connections stay in autocommit.

        An autocommit view of the main pool (`execution_options`) switched each
        connection to autocommit when it was checked out and back when it was
        returned: a fifth of a token check's instructions (callgrind), twice on
        every FHIR read. The price is a second pool, opened only as lookups need
        connections.
        """
        if self.engine.dialect.name == "postgresql":
            url = self.engine.url.render_as_string(hide_password=False)
            return make_engine(url, self._busy_timeout_ms, isolation_level="AUTOCOMMIT")
        return self.engine

    def write_if_free(self, statement: Executable, params: Mapping[str, Any]) -> bool:
        """Run one bookkeeping statement in a transaction of its own if the write lock is
        free now; False, having changed nothing, when another writer holds it.

        For writes that may be skipped (a token's last-used time): a request that only
        reads must not queue behind a writer, or fail, for them. On SQLite the lock is
        tried without waiting; PostgreSQL has no database-wide write lock.
        """
        sqlite = self.engine.dialect.name == "sqlite"
        try:
            with self._writes_unless_busy.begin() as connection:
                connection.execute(statement, dict(params))
        except OperationalError:
            if not sqlite:
                raise
            return False
        return True

    def let_writers_in(self) -> None:
        """Between two writing transactions of one long piece of work (a batch Bundle's
        runs): on SQLite, pause as long as a waiting writer's longest pause
        (`_begin_write`), so that every writer waiting for the lock tries it before
        the work takes it again; without it the next BEGIN came microseconds after
        the commit and the others almost never got in. PostgreSQL's lock waits are
        served in turn."""
        if self.engine.dialect.name == "sqlite":
            time.sleep(_LONGEST_PAUSE * 1.2)

    @cached_property
    def _writes_unless_busy(self) -> Engine:
        """The writer that tries SQLite's write lock once instead of waiting for it."""
        return self.writer.execution_options(**{_NO_WAIT: True})

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""
        with self.writer.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def has_table(self, name: str) -> bool:
        """Whether a table exists (used before migrations have run)."""
        return inspect(self.engine).has_table(name)

    def dispose(self) -> None:
        """Close pooled connections (the lookups' pool too, where it was opened)."""
        self.engine.dispose()
        lookups = self.__dict__.get("_lookups")
        if lookups is not None and lookups is not self.engine:
            lookups.dispose()


def connection_of(session: Session) -> Connection:
    """`session.connection()`, except for a read session on a held connection
    (`Database.read_transaction` inside `holding`): that connection itself, in the
    transaction the session would join, without the session beginning a transaction
    of its own to join it. For statements on the driver (`core.driver`), which never
    need the session: its beginning and ending cost a FHIR read about 3% of its
    instructions (callgrind)."""
    joined: Connection | None = session.info.get(_JOINED)
    return joined if joined is not None else session.connection()


def attached_to(session: Session) -> dict[str, Any]:
    """The values attached to the `Database` that opened `session` (empty for other sessions)."""
    found: dict[str, Any] = session.info.get(_ATTACHED, {})
    return found


def alembic_config() -> Config:
    """Alembic configuration pointing at the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(files("carewall") / "migrations"))
    return config
