"""Consistent database snapshots while staff keep working, and loading them back.

- SQLite: the online backup API copies every page in one step under one read
  transaction; in WAL mode writers carry on, and the copy holds each write
  wholly or not at all. Never a copy of the live file (its WAL may hold
  committed pages the main file does not).
- PostgreSQL: a REPEATABLE READ transaction exports its snapshot, reads the
  row counts and the audit chain head, and `pg_dump --snapshot` dumps exactly
  that view (custom format, uncompressed so restic can deduplicate it).
  Restoring is `pg_restore` into an empty database in one transaction.

Connection details reach `pg_dump`/`pg_restore` through `PG*` environment
variables, never the command line.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from carewall.backup.errors import BackupError, RestoreTargetError
from carewall.backup.manifest import ChainHead, DatabaseFacts

_HEAD = text("SELECT seq, entry_hash FROM audit_entries ORDER BY seq DESC LIMIT 1")
_REVISION = text("SELECT version_num FROM alembic_version")


def read_facts(
    connection: Connection, engine_name: str, server_version: str | None
) -> DatabaseFacts:
    """Row counts, chain head and schema revision, as `connection`'s transaction sees them."""
    tables = sorted(inspect(connection).get_table_names())
    counts = {
        table: int(connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())  # noqa: S608 - names from the schema
        for table in tables
    }
    head = connection.execute(_HEAD).first() if "audit_entries" in tables else None
    revision = connection.execute(_REVISION).scalar() if "alembic_version" in tables else None
    return DatabaseFacts(
        engine=engine_name,
        revision=None if revision is None else str(revision),
        server_version=server_version,
        head=ChainHead(int(head[0]), bytes(head[1]).hex()) if head else ChainHead(0, ""),
        row_counts=counts,
    )


# -- SQLite ---------------------------------------------------------------------------


def sqlite_path(engine: Engine) -> Path:
    """The database file behind an SQLite engine."""
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("An in-memory database cannot be backed up.")
    return Path(database)


def snapshot_sqlite(source: Path, target: Path) -> DatabaseFacts:
    """Copy the live database into `target` with the online backup API; facts from the copy."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (
        closing(sqlite3.connect(source, timeout=30)) as live,
        closing(sqlite3.connect(target)) as copy,
    ):
        live.backup(copy)  # all pages in one step: one read transaction, one moment
        copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    target.chmod(0o600)
    return sqlite_facts(target)


def sqlite_facts(path: Path) -> DatabaseFacts:
    """Facts of an SQLite file that nothing else writes (a staged or restored copy)."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            version = str(connection.execute(text("SELECT sqlite_version()")).scalar())
            return read_facts(connection, "sqlite", version)
    finally:
        engine.dispose()


def restore_sqlite(part: Path, target_home: Path) -> Path:
    """Put the database file of a backup where Carewall expects it in `target_home`."""
    destination = target_home / "carewall.db"
    shutil.move(str(part), destination)
    destination.chmod(0o600)
    return destination


# -- PostgreSQL -----------------------------------------------------------------------


def pg_environment(url: str | URL) -> dict[str, str]:
    """The child environment for libpq tools: our `PG*` variables, nothing of Carewall's."""
    parsed = make_url(url)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CAREWALL_", "PG", "RESTIC_"))
    }
    values = {
        "PGHOST": parsed.host or parsed.query.get("host"),
        "PGPORT": parsed.port,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
        "PGSSLMODE": parsed.query.get("sslmode"),
    }
    env.update({key: str(value) for key, value in values.items() if value})
    return env


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed; it comes with the PostgreSQL client "
            "(`sudo apt-get install postgresql-client`)."
        )
    return found


def _major(version: str) -> int:
    match = re.search(r"(\d+)(?:\.\d+)?", version)
    return int(match.group(1)) if match else 0


def check_client(connection: Connection, tool: str) -> str:
    """The server version; refuses a client older than the server (pg_dump would refuse too)."""
    server = str(connection.execute(text("SHOW server_version")).scalar())
    client = subprocess.run(  # noqa: S603 - a fixed program and argument
        [_program(tool), "--version"], capture_output=True, text=True, check=False
    ).stdout
    reported = re.search(r"\)\s*(\d+)", client)
    if reported is None or int(reported.group(1)) < _major(server):
        raise BackupError(
            f"{tool} ({client.strip()}) is older than the database server ({server}); install "
            f"the matching client, e.g. `sudo apt-get install postgresql-client-{_major(server)}`."
        )
    return server


def snapshot_postgres(engine: Engine, target: Path) -> DatabaseFacts:
    """`pg_dump` of one exported snapshot, with the facts read in that same snapshot."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with engine.connect() as connection:
        server = check_client(connection, "pg_dump")
        connection.commit()
        repeatable = connection.execution_options(isolation_level="REPEATABLE READ")
        with repeatable.begin():
            snapshot = str(repeatable.execute(text("SELECT pg_export_snapshot()")).scalar())
            facts = read_facts(repeatable, "postgresql", server)
            _run_tool(
                "pg_dump",
                ["--format=custom", "--compress=0", f"--snapshot={snapshot}", f"--file={target}"],
                engine.url,
            )
    target.chmod(0o600)
    return facts


def postgres_is_empty(url: str) -> bool:
    """Whether the database at `url` has no tables (a safe restore target)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return not inspect(connection).get_table_names()
    finally:
        engine.dispose()


def restore_postgres(part: Path, url: str) -> None:
    """`pg_restore` into the empty database at `url`, all or nothing."""
    if not postgres_is_empty(url):
        raise RestoreTargetError(
            "The target database is not empty; restore into a new, empty database."
        )
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            check_client(connection, "pg_restore")
    finally:
        engine.dispose()
    database = make_url(url).database or ""
    _run_tool(
        "pg_restore",
        [
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={database}",
            str(part),
        ],
        url,
    )


def _run_tool(tool: str, args: list[str], url: str | URL) -> None:
    completed = subprocess.run(  # noqa: S603 - our own fixed arguments, no shell
        [_program(tool), *args],
        env=pg_environment(url),
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if completed.returncode != 0:
        lines = [line for line in completed.stderr.splitlines() if line.strip()]
        detail = (lines or ["no message"])[-1][:200]
        if "no space left on device" in completed.stderr.lower():
            detail = "the disk is full"
        raise BackupError(f"{tool} failed: {detail}")
