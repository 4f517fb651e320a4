"""Tables of the backup domain: what each run did, the snapshots seen, open alerts.

The repository itself is the truth about snapshots; `backup_snapshots` is
what Carewall last saw there (with the sizes it measured), so the admin page
and the risk evidence never wait on, or fail with, a remote repository.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from carewall.core.db import Base, UTCDateTime, new_id


class BackupRun(Base):
    """One backup, verification, drill or prune, from start to outcome.

    A run is written as `running` when it starts, so one killed half-way stays
    visible (and is marked `interrupted` by the next run of its kind).
    """

    __tablename__ = "backup_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    trigger: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    snapshot_id: Mapped[str | None] = mapped_column(String(64))
    bytes_processed: Mapped[int | None] = mapped_column(BigInteger)
    bytes_added: Mapped[int | None] = mapped_column(BigInteger)
    files: Mapped[int | None] = mapped_column(Integer)
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    records_checked: Mapped[int | None] = mapped_column(Integer)
    chain_entries: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str | None] = mapped_column(String(300))


class BackupSnapshot(Base):
    """A snapshot in the repository as last seen, with its size when known."""

    __tablename__ = "backup_snapshots"

    snapshot_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    short_id: Mapped[str] = mapped_column(String(16))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    hostname: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    added_bytes: Mapped[int | None] = mapped_column(BigInteger)
    files: Mapped[int | None] = mapped_column(Integer)
    carewall_version: Mapped[str | None] = mapped_column(String(32))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BackupAlert(Base):
    """A problem the admin must see until it is fixed: failed or missed backup, damage.

    One open alert per kind: a problem that persists is not mailed again every
    hour; it is resolved by the next success of the same kind.
    """

    __tablename__ = "backup_alerts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    message: Mapped[str] = mapped_column(String(300))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    emailed: Mapped[int] = mapped_column(Integer, default=0)
    email_error: Mapped[str | None] = mapped_column(String(300))
