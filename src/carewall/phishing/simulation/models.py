"""Tables of phishing simulations: edited templates, campaigns, recipients, tracked events.

A campaign keeps a snapshot of the template it sent, so editing a template
later never changes what a finished campaign's teachable moment shows. Each
recipient row is also the send queue's unit of work: it is claimed (with a
lease) before its message goes out and marked sent after the SMTP server
accepted it (see `sending.py` for the crash window this leaves and why).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from carewall.core.db import Base, UTCDateTime, new_id


class SimulationTemplate(Base):
    """A template an administrator cloned from the library and edited."""

    __tablename__ = "sim_templates"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    base_id: Mapped[str] = mapped_column(String(64))
    #: Title, difficulty, subject, sender, bodies, landing, red flags (the library's shape).
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Campaign(Base):
    """One simulated phishing campaign."""

    __tablename__ = "sim_campaigns"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    template_id: Mapped[str] = mapped_column(String(64))
    template: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The template's landing (credentials, page, none), kept apart for the tracking path.
    landing: Mapped[str] = mapped_column(String(12))
    #: sending | finished
    status: Mapped[str] = mapped_column(String(12))
    send_now: Mapped[bool] = mapped_column(Boolean, default=False)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    rate_per_minute: Mapped[int] = mapped_column(Integer)
    assign_training: Mapped[bool] = mapped_column(Boolean, default=True)
    remedial_module: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CampaignRecipient(Base):
    """One person in a campaign: their tracking id, when their message goes, how it went.

    `rid` is the unguessable id in their links and pixel. `status` is pending,
    sending (claimed: `claimed_until` bounds the claim), sent, refused (the
    server refused the address for good) or failed (gave up after retries).
    """

    __tablename__ = "sim_recipients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    campaign_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("sim_campaigns.id", ondelete="CASCADE")
    )
    member_id: Mapped[str] = mapped_column(String(36))
    email: Mapped[str] = mapped_column(String(254))
    department: Mapped[str] = mapped_column(String(120), default="")
    rid: Mapped[str] = mapped_column(String(32), unique=True)
    message_id: Mapped[str] = mapped_column(String(200))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    batch: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: A claim ran out before the message was marked sent; see sending.py.
    resent_after_interrupt: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)

    __table_args__ = (
        Index("ix_sim_recipients_campaign_batch", "campaign_id", "batch"),
        Index("ix_sim_recipients_member", "member_id"),
    )


class CampaignEvent(Base):
    """Something a recipient (or a machine acting for them) did: open, click, submit, report.

    `scanner` marks an event the heuristics attribute to a mail scanner; such
    events are kept (the admin can re-classify them) but left out of figures.
    A submit keeps at most the names of the form's fields, never a value.
    """

    __tablename__ = "sim_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    campaign_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("sim_campaigns.id", ondelete="CASCADE")
    )
    recipient_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("sim_recipients.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(12))
    scanner: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(40), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    reclassified_by: Mapped[str | None] = mapped_column(String(120), nullable=True)

    __table_args__ = (
        Index("ix_sim_events_campaign_kind", "campaign_id", "kind"),
        Index("ix_sim_events_recipient", "recipient_id"),
    )
