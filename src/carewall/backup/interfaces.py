"""The backup store: the one outside service the backup domain talks to.

`BackupStore` is what Carewall needs from a backup engine: encrypted,
deduplicated snapshots of a directory that can be listed, read back, checked
and thinned out. The real implementation is restic (`restic.ResticStore`);
every test runs it too (restic is a Debian package, so tests need no stand-in).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

Progress = Callable[[float], None]  # fraction done, 0.0 to 1.0


@dataclass(frozen=True)
class Snapshot:
    """One snapshot in the repository."""

    id: str
    short_id: str
    time: datetime
    hostname: str
    tags: tuple[str, ...]

    @property
    def carewall_version(self) -> str | None:
        """The Carewall version that took it (from its `carewall-X.Y.Z` tag)."""
        for tag in self.tags:
            if tag.startswith("carewall-"):
                return tag.removeprefix("carewall-")
        return None


@dataclass(frozen=True)
class BackupSummary:
    """What one backup run stored (`snapshot_id` may be the short id restic reports)."""

    snapshot_id: str
    bytes_processed: int
    bytes_added: int
    files: int


@dataclass(frozen=True)
class StoredFile:
    """A file inside a snapshot, by its path relative to the snapshot's root."""

    path: str
    size: int


@dataclass(frozen=True)
class CheckReport:
    """The outcome of a repository check; `problems` names each damaged part."""

    ok: bool
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetentionPolicy:
    """How many daily, weekly and monthly snapshots to keep."""

    daily: int
    weekly: int
    monthly: int

    @property
    def keeps_everything(self) -> bool:
        """No rule given: nothing may be removed."""
        return not (self.daily or self.weekly or self.monthly)


class BackupStore(Protocol):
    """An encrypted snapshot repository (restic)."""

    @property
    def location(self) -> str:
        """Where the repository is, with any credentials hidden (for messages)."""

    def exists(self) -> bool:
        """Whether a repository is there (raises WrongPasswordError if it will not open)."""

    def init(self) -> None:
        """Create the repository."""

    def backup(self, source: Path, tags: Sequence[str], progress: Progress | None) -> BackupSummary:
        """Store the contents of `source` as a new snapshot."""

    def snapshots(self) -> list[Snapshot]:
        """Every snapshot Carewall made, oldest first."""

    def restore(self, snapshot: str, target: Path) -> None:
        """Write the files of `snapshot` (an id or `latest`) into `target`."""

    def files(self, snapshot: str) -> list[StoredFile]:
        """The files of `snapshot`."""

    def read(self, snapshot: str, path: str, sink: Callable[[bytes], None]) -> None:
        """Stream one file of `snapshot` into `sink`, chunk by chunk."""

    def size(self, snapshot: str) -> tuple[int, int]:
        """Bytes and files `snapshot` restores to."""

    def check(self, *, read_data: bool) -> CheckReport:
        """Check the repository's structure, and with `read_data` every byte of it."""

    def forget(self, policy: RetentionPolicy) -> None:
        """Remove snapshots the policy does not keep, and the data only they used."""

    def unlock_stale(self) -> None:
        """Remove locks left by processes that died (a killed backup)."""
