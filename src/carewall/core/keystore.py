"""Master key loading and the database's data keys.

Startup refuses, with a message an operator can act on, when the key file is
missing but the database already holds encrypted data, or when the loaded key
is not the one the data was written with: both would otherwise surface much
later as unreadable records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from threading import Lock

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.crypto import (
    KeyRing,
    WrappedKey,
    create_key_file,
    generate_key,
    load_key_file,
    write_key_file,
)
from carewall.core.db import Database
from carewall.core.errors import MasterKeyError
from carewall.core.models import DataKey, KeyCheck

#: The data key that MACs every audit entry (`carewall.audit`, docs/threat-model.md).
AUDIT_MAC_PURPOSE = "audit-chain"
#: Where the database carries it (`Database.attached`): every process that appends
#: must MAC its entries, and the chain's write path holds only a session.
AUDIT_MAC_ATTACHED = "audit.mac_key"


def load_keyring(settings: Settings, db: Database) -> KeyRing:
    """The KEK from the environment or the key file, checked against the database."""
    stored = _stored_checks(db)
    if settings.master_key is not None:
        ring = KeyRing.parse(settings.master_key.get_secret_value())
    elif settings.master_key_path.exists():
        ring = load_key_file(settings.master_key_path)
    elif stored:
        raise MasterKeyError(
            f"{settings.master_key_path} is missing, but the database holds data encrypted "
            "with a master key. Restore master.key from your key backup (or set "
            "CAREWALL_MASTER_KEY); Carewall will not start without it."
        )
    else:
        ring = create_key_file(settings.master_key_path)
    _check_ring(ring, stored)
    _record_checks(db, ring, stored)
    return ring


def _stored_checks(db: Database) -> dict[int, str]:
    with db.sessions() as session:
        return {row.kek_version: row.check_value for row in session.scalars(select(KeyCheck))}


def _check_ring(ring: KeyRing, stored: dict[int, str]) -> None:
    for version, check in stored.items():
        if version not in ring.keys:
            raise MasterKeyError(
                f"The database needs master key version {version}, which the loaded key "
                "ring does not have. Is this the right master.key?"
            )
        if ring.check_value(version) != check:
            raise MasterKeyError(
                f"The loaded master key (version {version}) is not the one this database "
                "was encrypted with. Is this the right master.key?"
            )


def _record_checks(db: Database, ring: KeyRing, stored: dict[int, str]) -> None:
    missing = [v for v in ring.keys if v not in stored]
    if not missing:
        return
    with db.transaction() as session:
        for version in missing:
            session.merge(
                KeyCheck(
                    kek_version=version,
                    check_value=ring.check_value(version),
                    created_at=utcnow(),
                )
            )


@dataclass(frozen=True)
class KeyFacts:
    """What the risk report says about encryption keys (no key material)."""

    active_version: int
    active_since: datetime | None
    data_keys: int
    data_keys_on_older_versions: int


class Keystore:
    """Hands out data keys by purpose, creating and wrapping them on first use."""

    def __init__(self, db: Database, ring: KeyRing) -> None:
        self._db = db
        self._ring = ring
        self._cache: dict[str, bytes] = {}
        self._lock = Lock()

    @property
    def ring(self) -> KeyRing:
        """The loaded key ring (for rotation and checks)."""
        return self._ring

    def facts(self) -> KeyFacts:
        """The active master-key version, since when it exists, and how many data keys it wraps.

        `active_since` is when this version was first recorded in the database
        (its check value), which is when it was created or rotated in.
        """
        active = self._ring.active_version
        with self._db.sessions() as session:
            since = session.scalar(
                select(KeyCheck.created_at).where(KeyCheck.kek_version == active)
            )
            total = session.scalar(select(func.count()).select_from(DataKey)) or 0
            older = (
                session.scalar(
                    select(func.count()).select_from(DataKey).where(DataKey.kek_version != active)
                )
                or 0
            )
        return KeyFacts(active, since, int(total), int(older))

    def data_key(self, purpose: str) -> bytes:
        """The data key for `purpose` (e.g. "records", "totp", "blind-index")."""
        with self._lock:
            key = self._cache.get(purpose)
            if key is None:
                key = self._load_or_create(purpose)
                self._cache[purpose] = key
            return key

    def _load_or_create(self, purpose: str) -> bytes:
        row = self._find(purpose)
        if row is None:
            try:
                with self._db.transaction() as session:
                    wrapped = self._ring.wrap(generate_key())
                    session.add(
                        DataKey(
                            purpose=purpose,
                            kek_version=wrapped.kek_version,
                            wrapped=wrapped.wrapped,
                            created_at=utcnow(),
                        )
                    )
            except IntegrityError:
                pass  # another process created it first; use theirs
            row = self._find(purpose)
        assert row is not None
        return self._ring.unwrap(WrappedKey(row.kek_version, row.wrapped))

    def _find(self, purpose: str) -> DataKey | None:
        with self._db.sessions() as session:
            return session.scalars(select(DataKey).where(DataKey.purpose == purpose)).first()

    def rotate(self, settings: Settings, progress: Callable[[int, int], None] | None = None) -> int:
        """Add a KEK version and re-wrap every data key with it; returns the new version.

        The new ring is written to the key file before any data key moves, so an
        interrupted rotation leaves every data key readable; running it again
        finishes the job (keys already on the newest version are skipped).
        """
        if settings.master_key is not None:
            raise MasterKeyError(
                "The master key comes from CAREWALL_MASTER_KEY; rotate it where it is stored "
                "and add the new version there (format `1:old,2:new`)."
            )
        new_ring = self._ring.with_new_version()
        write_key_file(settings.master_key_path, new_ring)
        _record_checks(self._db, new_ring, _stored_checks(self._db))
        self._ring = new_ring
        self.finish_rotation(progress)
        return new_ring.active_version

    def finish_rotation(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Re-wrap data keys still on an older KEK version; returns how many moved."""
        active = self._ring.active_version
        with self._db.sessions() as session:
            ids = list(session.scalars(select(DataKey.id).where(DataKey.kek_version != active)))
        for done, key_id in enumerate(ids, start=1):
            with self._db.transaction() as session:
                row = session.get(DataKey, key_id)
                if row is not None and row.kek_version != active:
                    moved = self._ring.rewrap(WrappedKey(row.kek_version, row.wrapped))
                    row.kek_version, row.wrapped = moved.kek_version, moved.wrapped
            if progress is not None:
                progress(done, len(ids))
        return len(ids)


def attach_audit_key(db: Database, keys: Keystore) -> None:
    """Give every session of `db` the audit chain's MAC key (created on first use).

    Called when a process opens its database, outside any transaction: creating
    the key inside a write transaction would wait on itself under SQLite.
    """
    db.attached[AUDIT_MAC_ATTACHED] = keys.data_key(AUDIT_MAC_PURPOSE)
