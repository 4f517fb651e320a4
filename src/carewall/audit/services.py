"""Appending to the chain: the one write path of the audit trail.

`record` runs inside the caller's transaction, so a state change and its audit
entry commit together or not at all. Appends are serialised so that several
threads or worker processes still build one chain: on PostgreSQL with a
transaction-scoped advisory lock, on SQLite by the write lock that every
writing transaction (`Database.transaction`, BEGIN IMMEDIATE) takes.

A read changes nothing but must still be audited. `audited_read` runs it in a
read transaction (no write lock on SQLite, however long the decryption takes)
and hands the entries it recorded to the process's `GroupAppender` before
control returns to the caller: no data leaves an audited read unless its
entries are committed, and if they cannot be, the read fails.

The appender is a group commit. Reads that finish while another read's entries
are being written queue up; when that write commits, one of them writes the
whole queue in one transaction (one lock, one head lookup, one multi-row insert,
one commit) and wakes the others. A busy server therefore takes the chain's lock
once per batch instead of once per read, and on SQLite its threads no longer
race for the write lock (whose busy handler sleeps in steps of up to 100 ms,
which was the 8-client p99). The chain's format, its order and its verifier are
unchanged: a batch is an ordinary `record_all`.

A read whose entries are ready while other reads of the process are still under
way waits for them, for `GATHER_SECONDS` at most, so that one transaction carries
them all (PostgreSQL's own `commit_delay` does the same for its WAL flushes). Only
reads that began within `FRESH_SECONDS` are waited for: one under way for longer
(an export page, a large search) would only cost every other read the whole wait.
A lone read never waits: nothing else is under way.

Every entry carries a MAC of its hash under the audit key (`proof.entry_mac`),
which the process attached to its database when it opened it: one HMAC per
append, no extra query and no extra lock. A session without the key cannot
append; that is a set-up bug, not a reason to write an entry nobody can verify.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Connection, Dialect, Table, insert, select, text
from sqlalchemy.orm import Session

from carewall.audit.events import GENESIS_HASH, AuditEvent, DetailValue, Outcome, canonical_body
from carewall.audit.models import AuditEntry, AuditEntrySubject
from carewall.audit.proof import entry_mac
from carewall.audit.tags import AuditTag
from carewall.core.clock import utcnow
from carewall.core.context import Caller, Origin
from carewall.core.db import Database, attached_to
from carewall.core.driver import (
    DRIVERS,
    NAMED_PARAMETER,
    driver_error,
    on_driver,
    on_psycopg_bound_here,
)
from carewall.core.keystore import AUDIT_MAC_ATTACHED

# Arbitrary constant naming "the audit chain" among PostgreSQL advisory locks.
_PG_CHAIN_LOCK = 0x43574155  # "CWAU"

# Built once: every audited request appends, so statement construction is hot.
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_TABLE = cast(Table, AuditEntry.__table__)
_HEAD = select(_TABLE.c.seq, _TABLE.c.entry_hash).order_by(_TABLE.c.seq.desc()).limit(1)
_APPEND = insert(_TABLE)
# The same as the driver's own SQL (`core.driver.on_driver`): on every audited request
# Core's execution pipeline (events, parameter and result set-up) cost more than the statements
# themselves, about 0.1 ms a batch on SQLite. PostgreSQL's lock and head go in one
# query of two statements (`_locked_head`).
_HEAD_SQL = "SELECT seq, entry_hash FROM audit_entries ORDER BY seq DESC LIMIT 1"
_PG_LOCKED_HEAD_SQL = f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK}); {_HEAD_SQL}"
_COLUMNS = tuple(column.name for column in _TABLE.columns)
# A batch of audited reads' entries on psycopg, in two round trips (`_append_on_psycopg`).
_PG_BEGIN_LOCKED_HEAD_SQL = f"BEGIN; {_PG_LOCKED_HEAD_SQL}"
_INDEX_TABLE = cast(Table, AuditEntrySubject.__table__)


class AuditKeyMissingError(RuntimeError):
    """The session's database has no audit key attached (open it with `open_runtime`)."""


# session.info key of the appends an `audited_read` holds back until its read is over.
_PENDING = "carewall.audit.pending"
# Database.attached key of the process's group appender for that database.
_APPENDER = "carewall.audit.appender"
_APPENDER_MADE = threading.Lock()
#: The longest a read whose entries are ready waits for the reads still under way in its
#: process to join its batch. A batch costs the same few statements however many reads it
#: carries (about 0.9 ms of CPU on PostgreSQL, measured); a read under way takes a
#: fraction of a millisecond to reach its append, so a short wait gathers it.
GATHER_SECONDS = 0.002
#: Reads under way for longer than this are not waited for (they are not about to end).
FRESH_SECONDS = 0.01
#: What one held-back append will write, in order: each event with the further subjects it
#: is indexed under (`audit.about`; none for a plain `record`).
Append = Sequence[tuple[AuditEvent, Sequence[str]]]
_INDEX = insert(AuditEntrySubject)


@contextmanager
def audited_read(db: Database) -> Iterator[Session]:
    """A read transaction whose audit entries are appended when it ends, before its
    caller gets anything back.

    Use it as `with audited_read(db) as session: return work(session)`: the return
    value is handed over only after the entries `work` recorded are committed
    (by this thread or by the batch it joined, `GroupAppender`). If the read
    fails, nothing is appended (the caller audits a refusal itself); if the
    append fails, the read fails with the append's error.
    """
    pending: list[Append] = []
    appender = appender_for(db)
    ticket = appender.read_started()
    handed_over = False
    try:
        with deferred_read(db, pending) as session:
            yield session
        handed_over = True
        appender.append(ticket, pending)
    finally:
        if not handed_over:
            appender.read_ended(ticket)


@contextmanager
def deferred_read(db: Database, pending: list[Append]) -> Iterator[Session]:
    """A read transaction whose audit entries are held in `pending` for the caller to
    append, with `append_deferred`, in a writing transaction of its own (which must
    commit before anything read is released)."""
    with db.read_transaction() as session:
        session.info[_PENDING] = pending
        yield session


def append_deferred(session: Session, pending: Sequence[Append]) -> None:
    """Append the entries a `deferred_read` held back, in order, in `session`'s transaction
    (one head lookup and one insert for all of them)."""
    record_all_indexed(session, [item for held in pending for item in held])


def record_all_indexed(session: Session, items: Append) -> None:
    """`record_all`, each entry also indexed under its further subjects (`audit.about`)."""
    if not items or defer(session, items):
        return
    _append_indexed(session.connection(), _mac_key(attached_to(session)), items)


def _append_indexed(connection: Connection, key: bytes, items: Append) -> None:
    """Append `items` in order on `connection`, each indexed under its further subjects."""
    first = _append(connection, key, [event for event, _ in items])
    rows = _index_rows(first, items)
    if rows:
        connection.execute(_INDEX, rows)


def _index_rows(first: int, items: Append) -> list[dict[str, Any]]:
    """The index rows of `items` appended from position `first` on."""
    return [
        {"subject": subject, "seq": first + offset}
        for offset, (_, further) in enumerate(items)
        for subject in further
    ]


def defer(session: Session, append: Append) -> bool:
    """Hold `append` back when `session` is a deferred read's; False when it is not."""
    held: list[Append] | None = session.info.get(_PENDING)
    if held is None:
        return False
    held.append(append)
    return True


class _Waiter:
    """One read's held-back entries, waiting for the batch that writes them to commit."""

    __slots__ = ("done", "error", "pending")

    def __init__(self, pending: Sequence[Append]) -> None:
        self.pending = pending
        self.done = False
        self.error: BaseException | None = None


class GroupAppender:
    """Group commit of audited reads' entries for one database in this process.

    A thread that appends while no batch is being written writes its own entries
    at once (a lone read pays nothing extra). While a batch is being written, the
    reads that finish queue up; when it commits, the first of them to run again
    writes the whole queue in one transaction and wakes the rest. Every caller
    returns only after the transaction holding its entries has committed; if that
    transaction fails, every read in it raises the error and nothing is written
    for any of them (one transaction: all or none).

    A read whose entries are ready when no batch is being written waits, for
    `gather_seconds` at most, while other reads that began within `fresh_seconds`
    are under way (`read_started` and not yet handed over), so that their entries
    join its batch.

    No thread of its own, so nothing to start, stop or lose at fork: each worker
    process makes its own on first use, and processes still serialise on the
    database's lock, once per batch.
    """

    def __init__(
        self,
        db: Database,
        gather_seconds: float = GATHER_SECONDS,
        fresh_seconds: float = FRESH_SECONDS,
    ) -> None:
        self._db = db
        self.gather_seconds = gather_seconds
        self.fresh_seconds = fresh_seconds
        lock = threading.Lock()
        # Two conditions on one lock, so that a read's end wakes only the reads gathering
        # (`_gather`), not every read waiting for the batch being written to commit.
        self._turn = threading.Condition(lock)
        self._gathering = threading.Condition(lock)
        self._queue: list[_Waiter] = []
        self._writing = False
        # Each read under way: its ticket and when it began.
        self._under_way: dict[int, float] = {}
        self._tickets = itertools.count()
        #: Batches committed and entries-holding reads they carried (for tests and benches).
        self.batches = 0
        self.reads = 0

    @property
    def queued(self) -> int:
        """Reads waiting for the batch being written to finish before theirs is."""
        with self._turn:
            return len(self._queue)

    @property
    def writing(self) -> bool:
        """Whether a batch is being written now."""
        with self._turn:
            return self._writing

    @property
    def under_way(self) -> int:
        """Reads started and not yet handed over (or ended)."""
        with self._turn:
            return len(self._under_way)

    def read_started(self) -> int:
        """Note a read under way (a batch about to be written may wait for it); its ticket,
        for `append` or `read_ended`."""
        with self._turn:
            ticket = next(self._tickets)
            self._under_way[ticket] = time.monotonic()
            return ticket

    def read_ended(self, ticket: int) -> None:
        """A read under way ended without entries to hand over (it failed)."""
        with self._turn:
            self._end_read(ticket)

    def _end_read(self, ticket: int) -> None:
        del self._under_way[ticket]
        self._gathering.notify_all()

    def append(self, ticket: int, pending: Sequence[Append]) -> None:
        """Hand over the entries of the read `ticket` (from `read_started`), ending it;
        return once they are committed (at once when there are none)."""
        waiter = _Waiter(pending)
        with self._turn:
            self._end_read(ticket)
            if not pending:
                return
            self._queue.append(waiter)
            self._gather(waiter)
            while self._writing and not waiter.done:
                self._turn.wait()
            if waiter.done:
                batch: list[_Waiter] = []
            else:
                batch, self._queue, self._writing = self._queue, [], True
        if batch:
            self._write(batch)
        elif waiter.error is not None:
            raise _copy_of(waiter.error)

    def _gather(self, waiter: _Waiter) -> None:
        """Wait (on the turn's condition) while reads that began within `fresh_seconds` are
        under way and no batch is being written, up to `gather_seconds`: they join the
        queue."""
        now = time.monotonic()
        awaited = {t for t, began in self._under_way.items() if now - began <= self.fresh_seconds}
        deadline = now + self.gather_seconds
        while awaited & self._under_way.keys() and not self._writing and not waiter.done:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._gathering.wait(left)

    def _write(self, batch: list[_Waiter]) -> None:
        """Write `batch` in one transaction, then release every reader in it."""
        error: BaseException | None = None
        items = [item for waiter in batch for held in waiter.pending for item in held]
        try:
            # The batch is the whole transaction: on psycopg in two round trips of its
            # own, elsewhere Core on a writer's connection (an ORM session around it
            # would cost more than the append itself).
            key = _mac_key(self._db.attached)
            if self._db.engine.dialect.driver == "psycopg":
                _append_on_psycopg(self._db, key, items)
            else:
                with self._db.writing() as connection:
                    _append_indexed(connection, key, items)
        except BaseException as exc:
            error = exc
            raise
        finally:
            with self._turn:
                for waiter in batch:
                    waiter.done, waiter.error = True, error
                self._writing = False
                if error is None:
                    self.batches += 1
                    self.reads += len(batch)
                self._turn.notify_all()
                self._gathering.notify_all()  # a gathering read may have been in this batch


def _append_on_psycopg(db: Database, key: bytes, items: Append) -> None:
    """Append a batch to the chain in two round trips instead of four.

    Through a transaction of Core's, a batch took BEGIN, the lock and head, the
    INSERT and COMMIT: four round trips, each about 76 us of client CPU, most of
    a secure read's own database work on PostgreSQL. Here, on a connection in
    autocommit whose transaction the queries open and end themselves:
    `BEGIN; lock; head` in one query (as `_locked_head`, never prepared), then the
    linked and MACed rows, their index rows and `COMMIT` in a second, their values
    quoted into it by psycopg (`core.driver.on_psycopg_bound_here`). The chain is
    as before: the head is read under the lock, with a snapshot of its own, and
    the lock is held until the COMMIT. The batch is acknowledged only once that
    query returned, so only after the COMMIT succeeded. On any failure the
    transaction is rolled back (a lost connection leaves the pool: `driver_error`).
    """
    with db.lookup() as connection:
        driver: Any = connection.connection.driver_connection
        sql = _PG_BEGIN_LOCKED_HEAD_SQL
        try:
            first, prev_hash = _after(_last_row(driver, sql))
            rows = _linked(key, first, prev_hash, [event for event, _ in items])
            sql, params = _insert_and_commit(connection.dialect, rows, _index_rows(first, items))
            on_psycopg_bound_here(connection, sql, params)
        except connection.dialect.loaded_dbapi.Error as exc:
            _roll_back(driver)
            raise driver_error(connection, exc, sql) from exc
        except BaseException:
            _roll_back(driver)
            raise


def _insert_and_commit(
    dialect: Dialect, rows: list[dict[str, Any]], index: list[dict[str, Any]]
) -> tuple[str, list[Any]]:
    """The INSERT of `rows` (and of their `index` rows) and COMMIT, as one text with
    positional placeholders, and its values bound as Core would bind them."""
    plan = _driver_insert(dialect)
    bound = _bound(rows, plan[1] if plan is not None else {})
    entry = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    columns = ", ".join(_COLUMNS)
    values = ", ".join([entry] * len(rows))
    # Our own table and column names; every value is a placeholder.
    statements = [f"INSERT INTO {_TABLE.name} ({columns}) VALUES {values}"]  # noqa: S608
    params: list[Any] = [row[name] for row in bound for name in _COLUMNS]
    if index:
        pairs = ", ".join(["(%s, %s)"] * len(index))
        statements.append(f"INSERT INTO {_INDEX_TABLE.name} (subject, seq) VALUES {pairs}")  # noqa: S608
        params.extend(value for row in index for value in (row["subject"], row["seq"]))
    statements.append("COMMIT")
    return "; ".join(statements), params


def _roll_back(driver: Any) -> None:
    """End the failed batch's transaction; a connection that is gone is let be (the
    pool drops it: `driver_error`), and its transaction went with it."""
    with contextlib.suppress(Exception):
        driver.rollback()


def _copy_of(error: BaseException) -> BaseException:
    """The batch's error for one more reader to raise (a copy, so that several threads
    do not add their frames to one traceback); the original if it cannot be copied."""
    try:
        return copy.copy(error).with_traceback(None)
    except Exception:  # any exception type may fail to copy: raise the original then
        return error


def appender_for(db: Database) -> GroupAppender:
    """The process's group appender for `db` (made on first use)."""
    found: GroupAppender | None = db.attached.get(_APPENDER)
    if found is None:
        with _APPENDER_MADE:
            found = db.attached.get(_APPENDER)
            if found is None:
                found = db.attached[_APPENDER] = GroupAppender(db)
    return found


def record(session: Session, event: AuditEvent) -> AuditEntry:
    """Append `event` to the chain in `session`'s transaction and return the entry.

    In an `audited_read` the entry is appended when the read ends: the entry
    returned then carries the event's columns but no `seq`, `ts` or hash yet.
    """
    if defer(session, ((event, ()),)):
        return AuditEntry(
            actor=event.actor,
            action=event.action,
            outcome=str(event.outcome),
            subject=event.subject,
        )
    key = _mac_key(attached_to(session))
    connection = session.connection()
    seq, prev_hash = _head(connection)
    row = _row(key, seq, prev_hash, event)
    _insert(connection, [row])
    # The entry is returned transient; callers read its columns, nothing lazy.
    return AuditEntry(**row)


def record_all(session: Session, events: Sequence[AuditEvent]) -> int | None:
    """Append `events` in order: one head lookup and one multi-row insert for all.

    For a large transaction Bundle, whose hundreds of entries each record a change
    while the Bundle holds the write lock. Returns the first entry's position
    (None when there was nothing to append or the append waits for a read's end).
    """
    if not events or defer(session, tuple((event, ()) for event in events)):
        return None
    return _append(session.connection(), _mac_key(attached_to(session)), events)


def _append(connection: Connection, key: bytes, events: Sequence[AuditEvent]) -> int:
    """Link and MAC `events` after the chain's head and insert them; the first's seq."""
    first, prev_hash = _head(connection)
    _insert(connection, _linked(key, first, prev_hash, events))
    return first


def _linked(
    key: bytes, first: int, prev_hash: bytes, events: Sequence[AuditEvent]
) -> list[dict[str, Any]]:
    """The rows of `events` at positions from `first` on, each linked to the one before
    (the first to `prev_hash`) and MACed."""
    rows = []
    for offset, event in enumerate(events):
        row = _row(key, first + offset, prev_hash, event)
        rows.append(row)
        prev_hash = row["entry_hash"]
    return rows


def _insert(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert entry rows, on the driver where its parameter style is known
    (`core.driver.on_driver`), each value bound as Core would bind it (a timestamp's
    text on SQLite)."""
    # One row as a plain execute: a list, even of one, is an executemany, which psycopg
    # runs in a pipeline of its own (more round trips for the lone read's entry).
    plan = _driver_insert(connection.dialect)
    if plan is None:
        connection.execute(_APPEND, rows[0] if len(rows) == 1 else rows)
        return
    sql, processors = plan
    bound = _bound(rows, processors)
    on_driver(connection, sql, bound[0] if len(bound) == 1 else bound, many=len(bound) > 1)


def _bound(
    rows: list[dict[str, Any]], processors: Mapping[str, Callable[[Any], Any]]
) -> list[dict[str, Any]]:
    """`rows` with each value bound as Core would bind it (`processors`: the columns'
    bind processors, from `_driver_insert`)."""
    return [
        {
            name: processors[name](value) if name in processors else value
            for name, value in row.items()
        }
        for row in rows
    ]


_DRIVER_INSERTS: dict[str, tuple[str, dict[str, Callable[[Any], Any]]]] = {}


def _driver_insert(dialect: Dialect) -> tuple[str, dict[str, Callable[[Any], Any]]] | None:
    """The insert as the driver's SQL and the columns' bind processors on `dialect` (the
    conversions Core applies, e.g. UTC timestamps to SQLite's text); None for a driver
    whose parameter style is not known here."""
    style = NAMED_PARAMETER.get(dialect.driver)
    if style is None:
        return None
    plan = _DRIVER_INSERTS.get(dialect.driver)
    if plan is None:
        columns = ", ".join(_COLUMNS)
        values = ", ".join(style.format(name) for name in _COLUMNS)
        sql = f"INSERT INTO audit_entries ({columns}) VALUES ({values})"  # noqa: S608 - ours
        processors: dict[str, Callable[[Any], Any]] = {}
        for name in _COLUMNS:
            processor = _TABLE.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        plan = _DRIVER_INSERTS[dialect.driver] = (sql, processors)
    return plan


def _head(connection: Connection) -> tuple[int, bytes]:
    """The next seq and the last hash, with the chain's lock taken on PostgreSQL."""
    # On the connection, not the ORM session, and on the driver where it can: the layers
    # above cost more than the statement.
    if connection.dialect.name == "postgresql":
        head = _locked_head(connection)
    elif connection.dialect.driver in DRIVERS:
        head = on_driver(connection, _HEAD_SQL, ()).fetchone()
    else:
        head = connection.execute(_HEAD).first()
    return _after(head)


def _after(head: Any) -> tuple[int, bytes]:
    """The next seq and the hash to link to, after the chain's `head` row (None: empty)."""
    return (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)


def _locked_head(connection: Connection) -> Any:
    """Take the chain's lock, then read the head, in one round trip where the driver can.

    The two must stay two statements: under READ COMMITTED a statement's snapshot
    is taken when it starts, so a head read in the lock's own statement could miss
    an entry committed while it waited. psycopg sends both in one query of the
    simple protocol (no parameters, never prepared); the server still runs them
    one after the other, each with a snapshot of its own. Half the client CPU of
    sending them in a psycopg pipeline, which polled for each result (190 against
    380 us a batch with its BEGIN and COMMIT, measured on raw psycopg).
    """
    if connection.dialect.driver != "psycopg":  # another driver: two round trips
        connection.execute(_LOCK, {"key": _PG_CHAIN_LOCK})
        return connection.execute(_HEAD).first()
    driver: Any = connection.connection.driver_connection
    try:
        return _last_row(driver, _PG_LOCKED_HEAD_SQL)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise driver_error(connection, exc, _PG_LOCKED_HEAD_SQL) from exc


def _last_row(driver: Any, sql: str) -> Any:
    """psycopg: run `sql` (several statements, no parameters) in one query of the simple
    protocol, never prepared (psycopg would prepare it after five runs, and a query of
    several statements cannot be); the first row of its last statement's result."""
    cursor = driver.cursor()
    cursor.execute(sql, prepare=False)
    while cursor.nextset():  # past BEGIN and the lock's own result
        pass
    return cursor.fetchone()


def _mac_key(attached: Mapping[str, Any]) -> bytes:
    """The audit MAC key the process attached to its database (`Database.attached`)."""
    key: bytes | None = attached.get(AUDIT_MAC_ATTACHED)
    if key is None:
        raise AuditKeyMissingError(
            "This database was opened without the audit key; open it with open_runtime."
        )
    return key


def _row(key: bytes, seq: int, prev_hash: bytes, event: AuditEvent) -> dict[str, Any]:
    """The entry at `seq` after `prev_hash`: its columns, hashed and MACed (plain values,
    no ORM object: every audited request builds at least one)."""
    ts = utcnow()
    body = canonical_body(seq, ts, event, prev_hash)
    entry_hash = hashlib.sha256(body).digest()
    return {
        "seq": seq,
        "ts": ts,
        "actor": event.actor,
        "action": event.action,
        "outcome": str(event.outcome),
        "subject": event.subject,
        "body": body,
        "entry_hash": entry_hash,
        "mac": entry_mac(key, entry_hash),
    }


def record_from(
    session: Session,
    action: str,
    origin: Origin,
    *,
    actor: str,
    subject: str = "",
    outcome: Outcome = Outcome.SUCCESS,
    **details: DetailValue,
) -> AuditEntry:
    """`record` for a request: actor, subject and origin in one call, so every domain's
    entries carry them the same way."""
    event = AuditEvent(
        action=action,
        outcome=outcome,
        actor=actor,
        subject=subject,
        source_ip=origin.ip,
        user_agent=origin.user_agent[:300],
        details=details,
    )
    return record(session, event)


def record_export(
    db: Database,
    caller: Caller,
    *,
    fmt: str,
    count: int,
    filters: list[str],
    subject: str = "",
) -> None:
    """Audit an export of the trail (`audit:trail:exported`) in its own transaction, before
    it is sent: who, in which format, how many entries, under which filters (names; a
    patient filter's keyed reference as the subject, never an id)."""
    with db.transaction() as session:
        record_from(
            session,
            AuditTag.TRAIL_EXPORTED,
            caller.origin,
            actor=caller.ref,
            subject=subject,
            format=fmt,
            count=count,
            filters=filters,
        )
