"""Getting a backup back: unpack and check a snapshot, then load it into a new home.

Used by `carewall backup restore` and by the restore drill. Nothing here opens
the configured data directory: a restore needs only the repository, the
password and an empty target, and works on a machine that never ran
Carewall. The restore is recorded in the restored audit trail itself (after
its chain was verified against the manifest), so the rebuilt server's history
says when and from which snapshot it came back.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from carewall import __version__
from carewall.audit import verify
from carewall.backup.database import read_facts, restore_postgres, restore_sqlite
from carewall.backup.errors import BackupError, RepositoryDamagedError, RestoreTargetError
from carewall.backup.events import audit
from carewall.backup.interfaces import BackupStore
from carewall.backup.manifest import (
    SEALED_KEY_PART,
    SETTINGS_PART,
    Manifest,
    damaged_parts,
    read_manifest,
)
from carewall.backup.sealing import store_password, unseal_master_key
from carewall.backup.tags import BackupTag
from carewall.core.context import Caller
from carewall.core.crypto import KeyRing, write_key_file
from carewall.core.db import Database
from carewall.core.keystore import Keystore, attach_audit_key
from carewall.core.models import KeyCheck

RESTORED_SETTINGS = "settings-from-backup.json"


@dataclass(frozen=True)
class Unpacked:
    """A snapshot's files on disk, checked against its manifest, and its master key."""

    root: Path
    manifest: Manifest
    ring: KeyRing


@dataclass(frozen=True)
class RestoredCheck:
    """How a restored database compares with its manifest."""

    chain_entries: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Nothing is missing, extra or broken."""
        return not self.problems


@dataclass(frozen=True)
class RestoreReport:
    """What `restore_into` did."""

    snapshot: str
    manifest: Manifest
    target: Path
    database_url: str
    chain_entries: int


def unpack(store: BackupStore, snapshot: str, work: Path, password: str) -> Unpacked:
    """Restore `snapshot`'s files into `work`, check every part, unseal the master key."""
    work.mkdir(parents=True, exist_ok=True, mode=0o700)
    store.restore(snapshot, work)
    manifest = read_manifest(work)
    problems = damaged_parts(work, manifest)
    if problems:
        raise RepositoryDamagedError("The backup's files do not match its manifest.", problems)
    ring = unseal_master_key((work / SEALED_KEY_PART).read_bytes(), password)
    return Unpacked(work, manifest, ring)


def plain_database(url: str) -> Database:
    """A database handle without Carewall's connection set-up (no WAL switch, no BEGIN
    IMMEDIATE): for reading a restored copy exactly as it was stored."""
    engine = create_engine(url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    return Database(engine, sessions, engine, sessions)


def check_restored(url: str, manifest: Manifest) -> RestoredCheck:
    """Row counts and chain head against the manifest, and the whole chain verified."""
    db = plain_database(url)
    try:
        with db.engine.connect() as connection:
            facts = read_facts(connection, manifest.database.engine, None)
        problems = [
            f"table {table} has {facts.row_counts.get(table, 0)} rows, the manifest says {count}"
            for table, count in sorted(manifest.database.row_counts.items())
            if facts.row_counts.get(table) != count
        ]
        if facts.head != manifest.database.head:
            problems.append(
                f"the audit chain ends at entry {facts.head.seq}, the manifest says "
                f"{manifest.database.head.seq}"
            )
        result = verify(db)
        if not result.ok:
            problems.append(
                f"the audit chain is broken at entry {result.position}: {result.reason}"
            )
        return RestoredCheck(result.count, tuple(problems))
    finally:
        db.dispose()


def check_target(target: Path) -> None:
    """Refuse anything but a missing or empty directory."""
    if target.exists() and not target.is_dir():
        raise RestoreTargetError(f"{target} exists and is not a directory.")
    if target.is_dir() and any(target.iterdir()):
        raise RestoreTargetError(
            f"{target} is not empty. Restore into a new (or empty) directory: Carewall never "
            "overwrites a data directory."
        )


def restore_into(
    store: BackupStore,
    snapshot: str,
    target: Path,
    password: str,
    caller: Caller,
    *,
    database_url: str | None = None,
) -> RestoreReport:
    """Restore `snapshot` into the new data directory `target` (and, for a PostgreSQL
    backup, the empty database at `database_url`)."""
    target = target.expanduser().absolute()
    check_target(target)
    snapshot = resolve_snapshot(store, snapshot)
    try:
        return _restore(store, snapshot, target, password, caller, database_url)
    except OSError as exc:
        raise BackupError(f"The restore could not write its files: {exc.strerror or exc}.") from exc
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
        raise BackupError(f"The target database did not answer as expected: {reason}") from exc


def _restore(
    store: BackupStore,
    snapshot: str,
    target: Path,
    password: str,
    caller: Caller,
    database_url: str | None,
) -> RestoreReport:
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".carewall-restore-", dir=target.parent))
    try:
        unpacked = unpack(store, snapshot, work / "files", password)
        home = work / "home"
        home.mkdir(mode=0o700)
        url = _load_database(unpacked, home, database_url)
        checked = check_restored(url, unpacked.manifest)
        if not checked.ok:
            raise RepositoryDamagedError(
                "The restored database does not match the backup's manifest.",
                list(checked.problems),
            )
        _finish_home(unpacked, home, url, password, snapshot, caller)
        _move_into_place(home, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    final_url = url if unpacked.manifest.database.engine != "sqlite" else _sqlite_url(target)
    return RestoreReport(snapshot, unpacked.manifest, target, final_url, checked.chain_entries)


def resolve_snapshot(store: BackupStore, wanted: str) -> str:
    """The full id of `wanted` (`latest`, a snapshot id or its first characters)."""
    snapshots = store.snapshots()
    if not snapshots:
        raise BackupError("The repository holds no Carewall backup yet.")
    if wanted == "latest":
        return snapshots[-1].id
    matches = [s.id for s in snapshots if s.id.startswith(wanted.lower())] if wanted else []
    if len(matches) != 1 or not all(c in "0123456789abcdef" for c in wanted.lower()):
        raise BackupError(
            f"No single Carewall snapshot has the id {wanted[:64]!r}; "
            "`carewall backup list` shows them.",
            code="snapshot_not_found",
            status=404,
        )
    return matches[0]


def _load_database(unpacked: Unpacked, home: Path, database_url: str | None) -> str:
    engine = unpacked.manifest.database.engine
    part = unpacked.root / unpacked.manifest.database.part
    if engine == "sqlite":
        if database_url and not database_url.startswith("sqlite"):
            raise RestoreTargetError(
                "This backup holds an SQLite database; it is restored into the data directory "
                "(leave out --database-url and unset CAREWALL_DATABASE_URL)."
            )
        restore_sqlite(part, home)
        return _sqlite_url(home)
    if not database_url or not database_url.startswith("postgresql"):
        raise RestoreTargetError(
            "This backup holds a PostgreSQL database: create an empty database and pass its "
            "URL with --database-url (or CAREWALL_DATABASE_URL)."
        )
    restore_postgres(part, database_url)
    return database_url


def _sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'carewall.db'}"


def _finish_home(
    unpacked: Unpacked, home: Path, url: str, password: str, snapshot: str, caller: Caller
) -> None:
    """Key file, the settings of the backed-up server, the sealed password, the audit entry."""
    write_key_file(home / "master.key", unpacked.ring)
    settings = unpacked.root / SETTINGS_PART
    if settings.is_file():
        shutil.copyfile(settings, home / RESTORED_SETTINGS)
        (home / RESTORED_SETTINGS).chmod(0o600)
    db = Database.connect(url)
    try:
        check_key(db, unpacked.ring)
        # The restore's own entry is written as this version writes entries: migrated
        # (an older backup), and MACed with the restored audit key.
        db.migrate()
        keys = Keystore(db, unpacked.ring)
        attach_audit_key(db, keys)
        store_password(keys, home, password)
        manifest = unpacked.manifest
        with db.transaction() as session:
            audit(
                session,
                BackupTag.RESTORE_COMPLETED,
                caller,
                subject=f"snapshot:{snapshot}"[:200],
                snapshot=snapshot,
                taken_at=manifest.created_at.isoformat(),
                backup_version=manifest.carewall_version,
                restored_by_version=__version__,
                chain_seq=manifest.database.head.seq,
                engine=manifest.database.engine,
            )
    finally:
        db.dispose()


def check_key(db: Database, ring: KeyRing) -> None:
    """The master key from the backup must be the one its database was encrypted with."""
    with db.sessions() as session:
        checks = {row.kek_version: row.check_value for row in session.scalars(select(KeyCheck))}
    for version, value in checks.items():
        if version not in ring.keys or ring.check_value(version) != value:
            raise BackupError(
                "The master key sealed in this backup does not match its database "
                f"(key version {version}); the backup is inconsistent."
            )


def _move_into_place(home: Path, target: Path) -> None:
    """Rename the finished home onto the target (same file system: nothing half-there)."""
    if target.is_dir():
        target.rmdir()  # checked empty before anything started
    try:
        home.rename(target)
    except OSError as exc:
        message = f"Could not move the restored data into {target}: {exc.strerror}."
        raise BackupError(message) from exc
