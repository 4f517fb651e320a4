"""Audit chain benchmark: append rate and verification speed against raw SHA-256,
and the keyed pass (every entry's MAC checked too) against the hash-only pass.

Run by hand: `uv run python bench/audit_chain.py [--entries 100000]`.
PostgreSQL is included when CAREWALL_TEST_POSTGRES_URL is set (a scratch
database is created and dropped). All figures come from one run on one
machine; compare the ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from carewall.audit import AuditEvent, record, verify
from carewall.core.db import Database
from carewall.core.keystore import AUDIT_MAC_ATTACHED

console = Console(width=150)


def sample_event(i: int) -> AuditEvent:
    """An entry shaped like a real record access."""
    return AuditEvent(
        action="records:patient:read",
        actor=f"user:{uuid.UUID(int=i % 50)}",
        subject=f"Patient/{uuid.UUID(int=i)}",
        source_ip="10.0.0.12",
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0",
        details={"purpose": "treatment", "resource_types": ["Patient", "Observation"], "count": 1},
    )


def appends_per_second(db: Database, count: int) -> float:
    """One transaction per entry, as a service would write them."""
    started = time.perf_counter()
    for i in range(count):
        with db.transaction() as session:
            record(session, sample_event(i))
    return count / (time.perf_counter() - started)


def fill(db: Database, count: int) -> None:
    """Bulk-fill the chain (1,000 entries per transaction) for the verification run."""
    batches = range(0, count, 1000)
    for start in track(batches, description=f"Writing {count:,} entries", console=console):
        with db.transaction() as session:
            for i in range(start, min(start + 1000, count)):
                record(session, sample_event(i))


def raw_sha256_rate(db: Database) -> tuple[float, int]:
    """Baseline: hashlib.sha256 over the same serialized entries, already in memory."""
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT body FROM audit_entries ORDER BY seq"))
        bodies = [bytes(row[0]) for row in rows]
    sha256 = hashlib.sha256
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for body in bodies:
            sha256(body).digest()
        best = min(best, time.perf_counter() - started)
    return len(bodies) / best, sum(map(len, bodies)) // len(bodies)


def verify_rate(db: Database, *, deep: bool, keyed: bool = True) -> float:
    """Entries per second; `keyed=False` checks the hashes alone (no MAC key at hand)."""
    handle = db if keyed else Database.connect(db.engine.url.render_as_string(hide_password=False))
    best = float("inf")
    count = 0
    for _ in range(3):
        started = time.perf_counter()
        result = verify(handle, deep=deep)
        best = min(best, time.perf_counter() - started)
        assert result.ok, result
        assert result.keyed == keyed
        count = result.count
    if handle is not db:
        handle.dispose()
    return count / best


def keyed(db: Database) -> Database:
    """The database with an audit MAC key attached, as `open_runtime` does (a random one:
    the bench needs no key store)."""
    db.attached[AUDIT_MAC_ATTACHED] = os.urandom(32)
    return db


@contextmanager
def sqlite_db() -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as tmp:
        db = keyed(Database.connect(f"sqlite:///{Path(tmp) / 'bench.db'}"))
        db.migrate()
        yield db
        db.dispose()


@contextmanager
def postgres_db(url: str) -> Iterator[Database]:
    name = f"cw_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    db = keyed(
        Database.connect(make_url(url).set(database=name).render_as_string(hide_password=False))
    )
    db.migrate()
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000, help="chain length to verify")
    parser.add_argument("--appends", type=int, default=2_000, help="single-entry transactions")
    args = parser.parse_args()

    backends = [("SQLite", sqlite_db)]
    pg_url = os.environ.get("CAREWALL_TEST_POSTGRES_URL")
    if pg_url:
        backends.append(("PostgreSQL", lambda: postgres_db(pg_url)))
    else:
        console.print("[yellow]CAREWALL_TEST_POSTGRES_URL not set: SQLite only.[/]")

    table = Table(title=f"Audit chain, {args.entries:,} entries")
    for column in (
        "backend",
        "appends/s",
        "raw sha256/s",
        "verify/s (fast)",
        "ratio (fast)",
        "verify/s (deep)",
        "ratio (deep)",
        "unkeyed fast/s",
        "keyed/unkeyed",
        "avg entry",
    ):
        table.add_column(column, justify="right")
    for name, opener in backends:
        with opener() as db:
            appends = appends_per_second(db, args.appends)
            fill(db, args.entries - args.appends)
            raw, size = raw_sha256_rate(db)
            fast = verify_rate(db, deep=False)
            deep = verify_rate(db, deep=True)
            unkeyed = verify_rate(db, deep=False, keyed=False)
        table.add_row(
            name,
            f"{appends:,.0f}",
            f"{raw:,.0f}",
            f"{fast:,.0f}",
            f"{fast / raw:.2f}",
            f"{deep:,.0f}",
            f"{deep / raw:.2f}",
            f"{unkeyed:,.0f}",
            f"{fast / unkeyed:.2f}",
            f"{size} B",
        )
    console.print(table)
    console.print(
        "ratio = verification rate / raw hashlib.sha256 rate over the same bodies "
        "(target >= 0.5 for the fast pass). keyed/unkeyed = the fast pass with every "
        "entry's MAC checked / the same pass over the hashes alone."
    )


if __name__ == "__main__":
    main()
