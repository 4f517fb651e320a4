"""The audit table: the hashed body is the truth, the other columns index it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from carewall.audit.events import MAX_ACTOR, MAX_SUBJECT
from carewall.core.db import Base, UTCDateTime


class AuditEntry(Base):
    """One link of the chain. `seq` is dense: a gap means a deleted entry."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(MAX_ACTOR))
    action: Mapped[str] = mapped_column(String(120))
    outcome: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(MAX_SUBJECT))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    __table_args__ = (
        Index("ix_audit_entries_ts", "ts"),
        Index("ix_audit_entries_actor", "actor"),
        Index("ix_audit_entries_action", "action"),
        Index("ix_audit_entries_subject", "subject"),
    )


class AuditEntrySubject(Base):
    """A further subject an entry is about, beyond its `subject` column.

    A search that returned several patients is one entry (one link of the chain)
    but is about each of them; one row per patient lets `entries_about` find it
    under every one. Rows are derived from the entry's hashed body (its details
    list the ids), so they are an index, never the truth, and are written in the
    entry's own transaction.
    """

    __tablename__ = "audit_entry_subjects"

    subject: Mapped[str] = mapped_column(String(MAX_SUBJECT), primary_key=True)
    seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("audit_entries.seq"), primary_key=True, autoincrement=False
    )
