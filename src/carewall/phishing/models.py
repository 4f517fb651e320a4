"""Reported mail: what staff sent to the security officer, and what the officer decided.

The raw message, its subject, sender and the analyzer's evidence, and the
officer's note are sealed (`carewall.phishing.sealing` says how and why);
what the queue sorts and filters on stays readable: reporter, times, source,
verdict, score and status.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from carewall.core.db import Base, UTCDateTime, new_id

SUBJECT_CHARS = 200
SENDER_CHARS = 254
NOTE_CHARS = 1000
#: Reporter of mail that reached the report mailbox from an address that is no account.
MAILBOX_REPORTER = "mailbox"


class MailReport(Base):
    """One message a person reported as suspicious."""

    __tablename__ = "mail_reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    #: A user id, or ``mailbox`` when the forwarding address matched no account.
    reporter_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The message's own Date header, for time-to-report (None when absent or unreadable).
    message_date: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    source: Mapped[str] = mapped_column(String(10))  # upload|imap
    #: Subject, sender and signals, sealed (None only on a row from before revision 0009).
    summary_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    raw_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    raw_size: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(12))  # phishing|suspicious|clean
    score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), default="new")
    decided_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # Clear columns of rows written before revision 0009, emptied once the start-up step
    # (`services.seal_legacy_reports`) has sealed them; new rows leave them empty.
    legacy_subject: Mapped[str] = mapped_column("subject", String(SUBJECT_CHARS), default="")
    legacy_sender: Mapped[str] = mapped_column("sender", String(SENDER_CHARS), default="")
    legacy_signals: Mapped[list[dict[str, Any]]] = mapped_column("signals", JSON, default=list)
    legacy_note: Mapped[str] = mapped_column("note", String(NOTE_CHARS), default="")

    __table_args__ = (
        Index("ix_mail_reports_reporter_id", "reporter_id"),
        Index("ix_mail_reports_status_received_at", "status", "received_at"),
        Index("ix_mail_reports_received_at", "received_at"),
    )
