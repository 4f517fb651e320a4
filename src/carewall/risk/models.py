"""Tables of the risk domain: assessments, versioned answers, attachments, the register, costs.

Nothing here is ever updated in place where history matters: an answer change
is a new `RiskAnswer` version, an attachment with the same name a new
`RiskAttachment` version. A completed assessment keeps a JSON snapshot of the
evidence, answers and scores it was completed with, so it can be compared
with the next one even after the frameworks or the figures change.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from carewall.core.db import Base, UTCDateTime, new_id


class RiskAssessment(Base):
    """One assessment: a draft being answered, or a completed, dated snapshot."""

    __tablename__ = "risk_assessments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    org_size: Mapped[str] = mapped_column(String(16))  # small|medium|large
    status: Mapped[str] = mapped_column(String(16))  # draft|completed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(120))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    previous_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (Index("ix_risk_assessments_status", "status", "completed_at"),)


class RiskAnswer(Base):
    """One version of a person's answer to one question of one assessment.

    `source` is `manual` (answered by a person), `override` (a person replaced
    a measured answer, with a reason), `carried` (copied from the previous
    assessment, to confirm) or `auto` (a person handed the question back to the
    evidence). `reason` is the override or not-applicable reason.
    """

    __tablename__ = "risk_answers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("risk_assessments.id"))
    question_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    value: Mapped[str] = mapped_column(String(16))  # yes|partial|no|na|auto
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(1000), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(120), default="")
    measured: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(120))

    __table_args__ = (
        UniqueConstraint("assessment_id", "question_id", "version", name="uq_risk_answer_version"),
    )


class RiskAttachment(Base):
    """One version of an evidence file, encrypted with the `risk-attachments` data key."""

    __tablename__ = "risk_attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("risk_assessments.id"))
    question_id: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(120))

    __table_args__ = (
        UniqueConstraint(
            "assessment_id", "question_id", "filename", "version", name="uq_risk_attachment_version"
        ),
        Index("ix_risk_attachments_question", "assessment_id", "question_id"),
    )


class RiskEntry(Base):
    """A risk in the register: a threat to an asset through a vulnerability, scored 5x5."""

    __tablename__ = "risk_register"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    threat: Mapped[str] = mapped_column(String(16), default="")  # HICP threat id or ""
    asset: Mapped[str] = mapped_column(String(300), default="")
    vulnerability: Mapped[str] = mapped_column(String(500), default="")
    inherent_likelihood: Mapped[int] = mapped_column(Integer)
    inherent_impact: Mapped[int] = mapped_column(Integer)
    residual_likelihood: Mapped[int] = mapped_column(Integer)
    residual_impact: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(120), default="")
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # open|mitigating|accepted|closed
    controls: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(120))


class RiskCostFigure(Base):
    """A breach-cost figure the practice changed from the cited default."""

    __tablename__ = "risk_cost_figures"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    low: Mapped[float] = mapped_column(Float)
    mode: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(120))
