"""The hash chain: appends, verification, tampering and concurrent writers."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import bindparam, text

from carewall.audit import AuditEvent, Outcome, record, record_all, verify
from carewall.audit.models import AuditEntry
from carewall.audit.queries import entry_count, recent_entries
from carewall.core.db import Database, UTCDateTime
from carewall.core.runtime import Runtime


def _append(runtime: Runtime, count: int, actor: str = "user:test") -> None:
    for i in range(count):
        with runtime.db.transaction() as session:
            record(
                session,
                AuditEvent(
                    action="test:thing:done", actor=actor, subject=f"thing-{i}", details={"i": i}
                ),
            )


def _sql(runtime: Runtime, statement: str) -> None:
    with runtime.db.engine.begin() as connection:
        connection.execute(text(statement))


def test_an_entry_inserted_on_the_driver_is_stored_as_core_would_store_it(
    runtime: Runtime,
) -> None:
    """The append binds its values itself (`core.driver.on_driver`): the stored timestamp
    must be the text Core binds on SQLite (its readers order and parse it) and read back
    unchanged."""
    with runtime.db.transaction() as session:
        entry = record(session, AuditEvent(action="test:thing:done", subject="s"))
    with runtime.db.sessions() as session:
        stored = session.get(AuditEntry, entry.seq)
        assert stored is not None
        assert (stored.ts, stored.body, stored.entry_hash, stored.mac) == (
            entry.ts,
            entry.body,
            entry.entry_hash,
            entry.mac,
        )
    with runtime.db.engine.connect() as connection:
        raw = connection.execute(
            text("SELECT ts FROM audit_entries WHERE seq = :seq"), {"seq": entry.seq}
        ).scalar_one()
        as_core_binds = connection.execute(
            text("SELECT :ts").bindparams(bindparam("ts", entry.ts, type_=UTCDateTime()))
        ).scalar_one()
    assert raw == as_core_binds


def test_entries_inserted_together_on_the_driver_read_back_as_written(runtime: Runtime) -> None:
    """Several entries go in one executemany on the driver (`record_all`)."""
    events = [AuditEvent(action="test:thing:done", subject=f"s{n}") for n in range(3)]
    with runtime.db.transaction() as session:
        first = record_all(session, events)
    assert first is not None
    with runtime.db.sessions() as session:
        stored = [session.get(AuditEntry, first + n) for n in range(3)]
    assert [entry.subject for entry in stored if entry] == ["s0", "s1", "s2"]
    assert all(entry and entry.mac and entry.ts.tzinfo for entry in stored)
    assert verify(runtime.db).ok


def test_appended_entries_verify_and_read_back(runtime: Runtime) -> None:
    _append(runtime, 5)
    result = verify(runtime.db)
    assert result.ok
    assert result.count == 5
    with runtime.db.sessions() as session:
        newest = recent_entries(session, limit=1)[0]
    assert newest.seq == 5
    assert newest.details == {"i": 4}
    assert newest.outcome == Outcome.SUCCESS


def test_rolled_back_transaction_leaves_no_entry(runtime: Runtime) -> None:
    def change_that_fails() -> None:
        with runtime.db.transaction() as session:
            record(session, AuditEvent(action="test:thing:done"))
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    with runtime.db.sessions() as session:
        assert entry_count(session) == 0


def test_edited_body_is_found_at_its_position(runtime: Runtime) -> None:
    _append(runtime, 10)
    # Rewrite the outcome inside entry 4's hashed body, leaving its stored hash.
    with runtime.db.engine.begin() as connection:
        body = connection.execute(text("SELECT body FROM audit_entries WHERE seq = 4")).scalar_one()
        forged = bytes(body).replace(b'"success"', b'"failure"')
        connection.execute(text("UPDATE audit_entries SET body = :b WHERE seq = 4"), {"b": forged})
    result = verify(runtime.db)
    assert not result.ok
    assert result.position == 4
    assert "altered" in result.reason


def test_edited_indexed_column_is_found(runtime: Runtime) -> None:
    _append(runtime, 10)
    _sql(runtime, "UPDATE audit_entries SET actor = 'user:someone-else' WHERE seq = 7")
    result = verify(runtime.db)
    assert (result.ok, result.position) == (False, 7)
    assert "actor" in result.reason
    assert verify(runtime.db, deep=False).ok  # the fast pass checks the chain only


def test_deleted_entry_is_found_at_its_position(runtime: Runtime) -> None:
    _append(runtime, 10)
    _sql(runtime, "DELETE FROM audit_entries WHERE seq = 6")
    result = verify(runtime.db)
    assert (result.ok, result.position, result.count) == (False, 6, 5)
    assert "missing" in result.reason


def test_reordered_entries_are_found_at_the_first_swapped_position(runtime: Runtime) -> None:
    _append(runtime, 10)
    _sql(runtime, "UPDATE audit_entries SET seq = 1000 WHERE seq = 3")
    _sql(runtime, "UPDATE audit_entries SET seq = 3 WHERE seq = 8")
    _sql(runtime, "UPDATE audit_entries SET seq = 8 WHERE seq = 1000")
    result = verify(runtime.db)
    assert (result.ok, result.position) == (False, 3)
    assert "reordered" in result.reason


def test_recomputed_hash_still_breaks_the_next_link(runtime: Runtime) -> None:
    """An attacker who rehashes an edited entry is caught by its successor."""
    _append(runtime, 6)
    with runtime.db.engine.begin() as connection:
        body = connection.execute(text("SELECT body FROM audit_entries WHERE seq = 2")).scalar_one()
        forged = bytes(body).replace(b'"user:test"', b'"user:evil"')
        connection.execute(
            text(
                "UPDATE audit_entries SET body = :b, entry_hash = :h, actor = 'user:evil' "
                "WHERE seq = 2"
            ),
            {"b": forged, "h": hashlib.sha256(forged).digest()},
        )
    result = verify(runtime.db)
    # With the audit key, the MAC names the forged entry itself.
    assert (result.ok, result.position, result.keyed) == (False, 2, True)
    assert "MAC" in result.reason
    # Without it (hashes only), its successor's link still breaks.
    unkeyed = Database.connect(runtime.settings.effective_database_url)
    try:
        result = verify(unkeyed)
    finally:
        unkeyed.dispose()
    assert (result.ok, result.position, result.keyed) == (False, 3, False)


def test_concurrent_threads_build_one_valid_chain(runtime: Runtime) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: _append(runtime, 25, actor=f"user:{n}"), range(4)))
    result = verify(runtime.db)
    assert result.ok
    assert result.count == 100


_WRITER = """
import sys
from carewall.audit import AuditEvent, record
from carewall.core.config import Settings
from carewall.core.runtime import open_runtime
db = open_runtime(Settings(home=sys.argv[4], database_url=sys.argv[1])).db
for i in range(int(sys.argv[2])):
    with db.transaction() as session:
        record(session, AuditEvent(action="test:thing:done", actor="proc:" + sys.argv[3]))
"""


def test_concurrent_processes_build_one_valid_chain(runtime: Runtime) -> None:
    url = runtime.settings.effective_database_url
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, url, "40", str(n), str(runtime.settings.home)]
        )
        for n in range(3)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    result = verify(runtime.db)
    assert result.ok
    assert result.count == 120


def test_altered_newest_entry_is_found(runtime: Runtime) -> None:
    """The newest entry has no successor; its stored hash must vouch for it."""
    _append(runtime, 4)
    with runtime.db.engine.begin() as connection:
        body = connection.execute(text("SELECT body FROM audit_entries WHERE seq = 4")).scalar_one()
        forged = bytes(body).replace(b'"thing-3"', b'"thing-9"')
        connection.execute(text("UPDATE audit_entries SET body = :b WHERE seq = 4"), {"b": forged})
    result = verify(runtime.db, deep=False)
    assert (result.ok, result.position) == (False, 4)


def test_edited_time_column_is_found(runtime: Runtime) -> None:
    _append(runtime, 3)
    _sql(
        runtime,
        "UPDATE audit_entries SET ts = ts - INTERVAL '1 day' WHERE seq = 2"
        if runtime.db.engine.dialect.name == "postgresql"
        else "UPDATE audit_entries SET ts = '2020-01-01 00:00:00.000000' WHERE seq = 2",
    )
    result = verify(runtime.db)
    assert (result.ok, result.position) == (False, 2)
    assert "'ts'" in result.reason


def test_non_ascii_and_quoted_values_verify(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        record(
            session,
            AuditEvent(
                action="test:thing:done",
                actor='user:"quoted"',
                subject="Zoë Ødegård\\tab\u2028",
                details={"note": "naïve"},
            ),
        )
    assert verify(runtime.db).ok
