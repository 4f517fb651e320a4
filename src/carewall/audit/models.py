"""The audit table: the hashed body is the truth, the other columns index it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
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
    #: HMAC-SHA256 of `entry_hash` under the audit key (not in the database): only a
    #: holder of the key can write a link that verifies. NULL only for the entries
    #: written before revision 0015 (`AuditChainState.unkeyed_through`).
    mac: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)

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


class AuditChainState(Base):
    """One row: the last entry written before the chain was keyed (revision 0015).

    Entries up to `unkeyed_through` have no MAC; every later one must. Revision
    0015 sets it to the head of the chain as it was (0 on a new database); the
    first signed checkpoint carries it, and every checkpoint after, so moving it
    to exempt later entries is caught against them (docs/threat-model.md).
    """

    __tablename__ = "audit_chain_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    unkeyed_through: Mapped[int] = mapped_column(BigInteger)
    keyed_since: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditCheckpoint(Base):
    """A signed statement of the chain's head: its seq, hash, time and count.

    `statement` is the exact signed bytes (canonical JSON); the columns repeat
    what it says so that pages can list checkpoints without parsing, and
    verification reads the statement, never the columns. Each checkpoint is
    also written outside the database (`CAREWALL_AUDIT_CHECKPOINT_DIR`).
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    head_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    entries: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    key_fingerprint: Mapped[str] = mapped_column(String(80))
    statement: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
