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

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, Engine, TypeDecorator, create_engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# The execution option that marks a connection as a writer's (`Database.transaction`).
_WRITES = "carewall_writes"
_BEGIN_WRITE = "BEGIN IMMEDIATE"
_BEGIN_READ = "BEGIN DEFERRED"
# session.info key of the values attached to the session's Database (`Database.attached`).
_ATTACHED = "carewall.db.attached"


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


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine configured for Carewall's concurrency model on either database."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
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
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to the driver: every transaction starts here, and the statement
        # pipeline (events, cursor wrapping, result set-up) costs more than SQLite does.
        writes = conn.get_execution_options().get(_WRITES, False)
        conn.connection.driver_connection.execute(_BEGIN_WRITE if writes else _BEGIN_READ)


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

    @classmethod
    def connect(cls, url: str) -> Database:
        """Open (not migrate) the database at `url`."""
        engine = make_engine(url)
        writer = engine.execution_options(**{_WRITES: True})
        attached: dict[str, Any] = {}
        info = {_ATTACHED: attached}
        return cls(
            engine,
            sessionmaker(engine, expire_on_commit=False, info=info),
            writer,
            sessionmaker(writer, expire_on_commit=False, info=info),
            attached,
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
        """A session that only reads, from one consistent snapshot, taking no write lock.

        Writing in it is a bug: on SQLite the upgrade fails under concurrency.
        """
        with self.sessions() as session, session.begin():
            yield session

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
        """Close pooled connections."""
        self.engine.dispose()


def attached_to(session: Session) -> dict[str, Any]:
    """The values attached to the `Database` that opened `session` (empty for other sessions)."""
    found: dict[str, Any] = session.info.get(_ATTACHED, {})
    return found


def alembic_config() -> Config:
    """Alembic configuration pointing at the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(files("carewall") / "migrations"))
    return config
