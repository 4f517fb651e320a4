"""Tables of awareness training: the staff directory, groups, assignments, quiz attempts.

Most of the people a practice trains will never have a Carewall login, so the
directory is its own table keyed by e-mail address; an account with the same
address is linked when there is one. Nothing here holds patient data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from carewall.core.db import Base, UTCDateTime, new_id

EMAIL_CHARS = 254
NAME_CHARS = 120


class StaffMember(Base):
    """One person the practice trains and may target with simulations."""

    __tablename__ = "staff_members"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(EMAIL_CHARS), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_CHARS), default="")
    department: Mapped[str] = mapped_column(String(NAME_CHARS), default="")
    role: Mapped[str] = mapped_column(String(NAME_CHARS), default="")
    manager_email: Mapped[str] = mapped_column(String(EMAIL_CHARS), default="")
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: The Carewall account with the same address, when there is one.
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    #: How the entry came: csv, manual, account or campaign (an address given to `--to`).
    source: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffGroup(Base):
    """A named set of people: everyone in a department, everyone with a role, or hand-picked."""

    __tablename__ = "staff_groups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(NAME_CHARS), unique=True)
    #: department | role | manual
    kind: Mapped[str] = mapped_column(String(12))
    #: The department or role a rule group matches (empty for manual groups).
    rule: Mapped[str] = mapped_column(String(NAME_CHARS), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffGroupMember(Base):
    """Membership of a hand-picked group."""

    __tablename__ = "staff_group_members"

    group_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("staff_groups.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("staff_members.id", ondelete="CASCADE"), primary_key=True
    )


class TrainingAssignment(Base):
    """A module someone must complete by a date, and how far they got.

    `dedupe` makes assigning idempotent: a remedial assignment for one campaign
    recipient, or the annual round of one year, is created once however often
    the trigger fires.
    """

    __tablename__ = "training_assignments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("staff_members.id", ondelete="CASCADE")
    )
    module_id: Mapped[str] = mapped_column(String(64))
    #: joining | annual | remedial | manual
    reason: Mapped[str] = mapped_column(String(12))
    dedupe: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: assigned | passed
    status: Mapped[str] = mapped_column(String(12), default="assigned")
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    assigned_by: Mapped[str] = mapped_column(String(120))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    best_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The certificate's serial, printed on it and checkable here.
    certificate: Mapped[str | None] = mapped_column(String(32), nullable=True)

    __table_args__ = (
        Index("ix_training_assignments_member", "member_id", "status"),
        Index("ix_training_assignments_due", "status", "due_at"),
    )


class QuizAttempt(Base):
    """One go at a module's quiz: the questions drawn, the answers given, the result."""

    __tablename__ = "training_quiz_attempts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    assignment_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("training_assignments.id", ondelete="CASCADE"), index=True
    )
    questions: Mapped[list[str]] = mapped_column(JSON)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class LearnerLink(Base):
    """A personal, expiring link for a learner without a login (only its hash is kept)."""

    __tablename__ = "training_learner_links"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TrainingReminder(Base):
    """A reminder already sent, so the job never sends the same one twice."""

    __tablename__ = "training_reminders"

    assignment_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("training_assignments.id", ondelete="CASCADE"), primary_key=True
    )
    #: before | overdue
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
