"""Tables of the alerts domain: alerts and their history, the detectors' cursor, change tallies.

An alert links to the audit entries that triggered it by their `seq` (the
trail stays the truth; an alert only points into it). The detectors' cursor
row holds the last entry read and the detectors' running state, updated in
the same transaction as the alerts a run opens, so a run that fails leaves
neither half behind. `alert_change_tallies` holds one row per update or
delete on the request path, counted per session or token over a short window;
counting rows (not process memory) makes the limit hold across workers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carewall.core.db import Base, UTCDateTime, new_id


class Alert(Base):
    """One finding of a detector, and where its review stands."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    detector: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolution: Mapped[str | None] = mapped_column(String(24), nullable=True)
    user_ref: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    explanation: Mapped[str] = mapped_column(String(600))
    #: Deduplication key: a detector never opens two alerts with one key.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    seqs: Mapped[list[int]] = mapped_column(JSON, default=list)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    assignee: Mapped[str | None] = mapped_column(String(254), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: When the evidence was complete in the trail (the newest triggering entry).
    evidence_at: Mapped[datetime] = mapped_column(UTCDateTime())
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    suspension_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    __table_args__ = (
        Index("ix_alerts_status", "status", "severity"),
        Index("ix_alerts_created", "created_at"),
        Index("ix_alerts_user", "user_ref"),
    )


class AlertEvent(Base):
    """One step of an alert's review: acknowledged, assigned, a note, resolved."""

    __tablename__ = "alert_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class DetectorCursor(Base):
    """How far the detectors have read the trail, and what they remember."""

    __tablename__ = "alert_detector_cursor"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChangeTally(Base):
    """One update or delete through a session or token (the mass-change window)."""

    __tablename__ = "alert_change_tallies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_alert_change_tallies_channel", "channel", "at"),)
