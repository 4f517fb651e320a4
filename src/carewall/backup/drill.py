"""The restore drill: prove the latest backup comes back, then throw the copy away.

The drill restores the latest snapshot beside the live data (a temporary
directory in the data directory, and for PostgreSQL a temporary database on
the same server, which needs the CREATEDB privilege), checks every part's
SHA-256, verifies the audit chain and compares its head and every table's row
count with the manifest, opens the copy with the master key from the backup
(refused if it is not the key the data was written with), and lets the
domains check their own data through the `DrillCheck` hook (the records
domain decrypts a sample of records). Then the copy is deleted.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url

from carewall.backup.database import restore_postgres, restore_sqlite
from carewall.backup.errors import BackupError
from carewall.backup.events import DrillCheck, DrillCheckResult
from carewall.backup.interfaces import BackupStore
from carewall.backup.restore import Unpacked, check_key, check_restored, plain_database, unpack
from carewall.core.runtime import Runtime, open_runtime

_PREFIX = "backup-drill-"


@dataclass(frozen=True)
class DrillReport:
    """What a drill found; `problems` is empty when the backup came back whole."""

    snapshot: str
    duration_seconds: float
    chain_entries: int
    records_checked: int
    checks: tuple[DrillCheckResult, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """The snapshot restored, verified and decrypted."""
        return not self.problems


def run_drill(runtime: Runtime, store: BackupStore, password: str) -> DrillReport:
    """Restore the latest snapshot into a throw-away copy and check it."""
    started = time.monotonic()
    snapshots = store.snapshots()
    if not snapshots:
        raise BackupError("There is no backup to drill yet: run `carewall backup create` first.")
    latest = snapshots[-1].id
    for leftover in runtime.settings.home.glob(f"{_PREFIX}*"):  # a drill that was killed
        shutil.rmtree(leftover, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=runtime.settings.home))
    try:
        unpacked = unpack(store, latest, work / "files", password)
        with _scratch_database(runtime, unpacked, work / "home") as url:
            checked = check_restored(url, unpacked.manifest)
            problems = list(checked.problems)
            checks = _domain_checks(runtime, unpacked, work / "home", url) if checked.ok else []
    finally:
        shutil.rmtree(work, ignore_errors=True)
    problems += [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    return DrillReport(
        snapshot=latest,
        duration_seconds=time.monotonic() - started,
        chain_entries=checked.chain_entries,
        records_checked=sum(c.checked for c in checks),
        checks=tuple(checks),
        problems=tuple(problems),
    )


@contextmanager
def _scratch_database(runtime: Runtime, unpacked: Unpacked, home: Path) -> Iterator[str]:
    """The restored database: a file in `home`, or a temporary PostgreSQL database."""
    home.mkdir(mode=0o700)
    part = unpacked.root / unpacked.manifest.database.part
    if unpacked.manifest.database.engine == "sqlite":
        restore_sqlite(part, home)
        yield f"sqlite:///{home / 'carewall.db'}"
        return
    engine = runtime.db.engine
    if engine.dialect.name != "postgresql":
        raise BackupError("This backup holds a PostgreSQL database; drill it on PostgreSQL.")
    name = f"cw_drill_{uuid.uuid4().hex[:12]}"
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(str(engine.url.render_as_string(hide_password=False)))
        scratch = url.set(database=name).render_as_string(hide_password=False)
        restore_postgres(part, scratch)
        yield scratch
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _domain_checks(
    runtime: Runtime, unpacked: Unpacked, home: Path, url: str
) -> list[DrillCheckResult]:
    """Open the copy with the backup's master key and let each domain check its data."""
    plain = plain_database(url)
    try:
        check_key(plain, unpacked.ring)
    finally:
        plain.dispose()
    settings = runtime.settings.model_copy(
        update={
            "home": home,
            "database_url": url,
            "master_key": SecretStr(unpacked.ring.serialize()),
            "smtp_host": "",
        }
    )
    restored = open_runtime(settings)
    try:
        event = DrillCheck(restored=restored, sample=runtime.settings.backup_drill_sample)
        with restored.db.sessions() as session:
            runtime.hooks.fire(session, event)
        return list(event.results)
    finally:
        restored.close()
