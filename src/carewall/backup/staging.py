"""What goes into a backup, laid out in a staging directory for restic to take.

    manifest.json              parts, SHA-256, row counts, audit chain head, version
    database/carewall.db       SQLite, via the online backup API
    database/carewall.pgdump   or PostgreSQL, via pg_dump of one exported snapshot
    keys/master-key.sealed     the key ring, sealed under the backup password
    settings.json              the settings, without secrets

The wrapped data keys travel inside the database (`data_keys`). The staging
directory sits at a fixed place in the data directory, so restic sees the same
paths every time; it is emptied before and after each backup.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from carewall import __version__
from carewall.backup.database import snapshot_postgres, snapshot_sqlite, sqlite_path
from carewall.backup.manifest import (
    MANIFEST,
    SEALED_KEY_PART,
    SETTINGS_PART,
    Manifest,
    fingerprint,
)
from carewall.backup.sealing import seal_master_key
from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.runtime import Runtime


def stage(runtime: Runtime, password: str, staging: Path) -> Manifest:
    """Write every part of a backup into `staging` and return its manifest."""
    clear(staging)
    staging.mkdir(parents=True, mode=0o700)
    engine = runtime.db.engine
    if engine.dialect.name == "sqlite":
        facts = snapshot_sqlite(sqlite_path(engine), staging / "database" / "carewall.db")
    else:
        facts = snapshot_postgres(engine, staging / "database" / "carewall.pgdump")
    _write(staging / SEALED_KEY_PART, seal_master_key(runtime.keys.ring, password))
    settings = json.dumps(settings_without_secrets(runtime.settings), indent=2, default=str)
    _write(staging / SETTINGS_PART, (settings + "\n").encode())
    manifest = Manifest(
        carewall_version=__version__,
        created_at=utcnow(),
        database=facts,
        parts=fingerprint(staging, [facts.part, SEALED_KEY_PART, SETTINGS_PART]),
    )
    _write(staging / MANIFEST, manifest.to_json())
    return manifest


def clear(staging: Path) -> None:
    """Remove a staging directory (left over by a killed backup, or done with)."""
    shutil.rmtree(staging, ignore_errors=True)


def settings_without_secrets(settings: Settings) -> dict[str, Any]:
    """The effective settings minus every secret (passwords in URLs are masked)."""
    shown = settings.masked()
    secret = {name for name in type(settings).model_fields if _is_secret(settings, name)}
    return {name: value for name, value in shown.items() if name not in secret}


def _is_secret(settings: Settings, name: str) -> bool:
    annotation = str(type(settings).model_fields[name].annotation)
    return isinstance(getattr(settings, name), SecretStr) or "SecretStr" in annotation


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
