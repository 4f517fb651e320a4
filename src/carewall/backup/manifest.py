"""The manifest every backup carries: what its parts are and what they must hash to.

A restore (or a drill) trusts nothing it has not checked against this: the
SHA-256 and size of every part, the row count of every table and the head of
the audit chain (sequence number and hash) as they were in the snapshot.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from carewall.backup.errors import BackupError

FORMAT = "carewall-backup-1"
MANIFEST = "manifest.json"
SQLITE_PART = "database/carewall.db"
POSTGRES_PART = "database/carewall.pgdump"
SEALED_KEY_PART = "keys/master-key.sealed"
SETTINGS_PART = "settings.json"
_READ = 1 << 20


@dataclass(frozen=True)
class Part:
    """One file of the backup and its fingerprint."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ChainHead:
    """The newest audit entry in the snapshot (seq 0 and an empty hash: no entries)."""

    seq: int
    hash: str


@dataclass(frozen=True)
class DatabaseFacts:
    """What a consistent view of the database said, read in the snapshot itself."""

    engine: str
    revision: str | None
    server_version: str | None
    head: ChainHead
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def part(self) -> str:
        """The part holding this engine's database."""
        return SQLITE_PART if self.engine == "sqlite" else POSTGRES_PART


@dataclass(frozen=True)
class Manifest:
    """The manifest of one backup."""

    carewall_version: str
    created_at: datetime
    database: DatabaseFacts
    parts: tuple[Part, ...]
    format: str = FORMAT

    def part(self, path: str) -> Part:
        """The part at `path` (BackupError if the manifest does not list it)."""
        for part in self.parts:
            if part.path == path:
                return part
        raise BackupError(f"The backup manifest does not list {path}.")

    @property
    def records(self) -> int:
        """Stored record versions (the `fhir_resources` table), for people reading a summary."""
        return self.database.row_counts.get("fhir_resources", 0)

    def to_json(self) -> bytes:
        """Stable JSON bytes."""
        body: dict[str, Any] = {
            "format": self.format,
            "carewall_version": self.carewall_version,
            "created_at": self.created_at.isoformat(),
            "database": {
                "engine": self.database.engine,
                "file": self.database.part,
                "revision": self.database.revision,
                "server_version": self.database.server_version,
                "row_counts": dict(sorted(self.database.row_counts.items())),
            },
            "audit_chain_head": {"seq": self.database.head.seq, "hash": self.database.head.hash},
            "parts": [{"path": p.path, "sha256": p.sha256, "size": p.size} for p in self.parts],
        }
        return (json.dumps(body, indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse a manifest (BackupError when it is not one Carewall can read)."""
        try:
            body = json.loads(data)
            if body["format"] != FORMAT:
                raise BackupError(f"This backup's format {body['format']!r} is not known here.")
            database = body["database"]
            head = body["audit_chain_head"]
            return cls(
                carewall_version=str(body["carewall_version"]),
                created_at=datetime.fromisoformat(body["created_at"]),
                database=DatabaseFacts(
                    engine=str(database["engine"]),
                    revision=database.get("revision"),
                    server_version=database.get("server_version"),
                    head=ChainHead(int(head["seq"]), str(head["hash"])),
                    row_counts={str(k): int(v) for k, v in database["row_counts"].items()},
                ),
                parts=tuple(
                    Part(str(p["path"]), str(p["sha256"]), int(p["size"])) for p in body["parts"]
                ),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError("The backup manifest is not readable.") from exc


def fingerprint(root: Path, paths: Iterable[str]) -> tuple[Part, ...]:
    """SHA-256 and size of each file under `root`."""
    return tuple(_fingerprint(root, path) for path in paths)


def _fingerprint(root: Path, path: str) -> Part:
    digest = hashlib.sha256()
    size = 0
    with (root / path).open("rb") as handle:
        while chunk := handle.read(_READ):
            digest.update(chunk)
            size += len(chunk)
    return Part(path, digest.hexdigest(), size)


def damaged_parts(root: Path, manifest: Manifest) -> list[str]:
    """Parts under `root` that are missing or differ from the manifest (empty: all good)."""
    problems = []
    for expected in manifest.parts:
        if not (root / expected.path).is_file():
            problems.append(f"{expected.path} is missing from the backup")
            continue
        found = _fingerprint(root, expected.path)
        if found.sha256 != expected.sha256 or found.size != expected.size:
            problems.append(f"{expected.path} does not match its SHA-256 in the manifest")
    return problems


def read_manifest(root: Path) -> Manifest:
    """The manifest of a restored backup."""
    path = root / MANIFEST
    if not path.is_file():
        raise BackupError("This snapshot has no Carewall manifest: it is not a Carewall backup.")
    return Manifest.from_json(path.read_bytes())
