"""Read side of the risk domain: assessments, answer versions, attachments, the register, costs.

Every function takes a Session and returns plain frozen views, never ORM rows,
and never decrypts (an attachment's bytes come only through
`services.attachment_for`, which audits the download).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carewall.core.errors import NotFoundError
from carewall.risk.models import (
    RiskAnswer,
    RiskAssessment,
    RiskAttachment,
    RiskCostFigure,
    RiskEntry,
)

DRAFT, COMPLETED = "draft", "completed"
OPEN_STATUSES = ("open", "mitigating")

_Row = TypeVar("_Row", RiskAssessment, RiskAttachment, RiskEntry)
_NAMES: dict[type[Any], str] = {
    RiskAssessment: "assessment",
    RiskAttachment: "attachment",
    RiskEntry: "risk",
}


def found(session: Session, model: type[_Row], row_id: str) -> _Row:
    """The row with this id, or NotFoundError ("There is no such risk.") worded for its kind."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFoundError(f"There is no such {_NAMES[model]}.")
    return row


@dataclass(frozen=True)
class AssessmentSummary:
    """An assessment as lists and headers show it."""

    id: str
    title: str
    org_size: str
    status: str
    started_at: datetime
    started_by: str
    completed_at: datetime | None
    completed_by: str | None
    previous_id: str | None

    @property
    def completed(self) -> bool:
        """A completed assessment is a frozen, dated snapshot."""
        return self.status == COMPLETED


@dataclass(frozen=True)
class StoredAnswer:
    """One version of a person's answer."""

    question_id: str
    version: int
    value: str
    source: str
    reason: str
    note: str
    owner: str
    measured: Mapping[str, Any] | None
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class AttachmentInfo:
    """An evidence file's metadata (its bytes stay encrypted)."""

    id: str
    question_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    version: int
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class RiskView:
    """A risk-register entry."""

    id: str
    title: str
    threat: str
    asset: str
    vulnerability: str
    inherent_likelihood: int
    inherent_impact: int
    residual_likelihood: int
    residual_impact: int
    owner: str
    due_date: date | None
    status: str
    controls: tuple[str, ...]
    notes: str
    version: int
    updated_at: datetime

    @property
    def inherent(self) -> int:
        """Likelihood x impact before controls."""
        return self.inherent_likelihood * self.inherent_impact

    @property
    def residual(self) -> int:
        """Likelihood x impact with the controls in place."""
        return self.residual_likelihood * self.residual_impact

    @property
    def is_open(self) -> bool:
        """Open or being mitigated (not accepted, not closed)."""
        return self.status in OPEN_STATUSES

    def overdue(self, today: date) -> bool:
        """Open and past its due date."""
        return self.is_open and self.due_date is not None and self.due_date < today


def _summary(row: RiskAssessment) -> AssessmentSummary:
    return AssessmentSummary(
        id=row.id,
        title=row.title,
        org_size=row.org_size,
        status=row.status,
        started_at=row.started_at,
        started_by=row.started_by,
        completed_at=row.completed_at,
        completed_by=row.completed_by,
        previous_id=row.previous_id,
    )


def assessments(session: Session) -> list[AssessmentSummary]:
    """Every assessment, the draft first, then completed ones newest first."""
    rows = session.scalars(
        select(RiskAssessment).order_by(
            RiskAssessment.status == COMPLETED,
            RiskAssessment.completed_at.desc(),
            RiskAssessment.started_at.desc(),
        )
    )
    return [_summary(row) for row in rows]


def assessment(session: Session, assessment_id: str) -> AssessmentSummary:
    """One assessment, or NotFoundError."""
    row = found(session, RiskAssessment, assessment_id)
    return _summary(row)


def current_draft(session: Session) -> AssessmentSummary | None:
    """The assessment being answered, if any (there is at most one)."""
    row = session.scalars(
        select(RiskAssessment).where(RiskAssessment.status == DRAFT).limit(1)
    ).first()
    return None if row is None else _summary(row)


def latest_completed(session: Session) -> AssessmentSummary | None:
    """The most recently completed assessment."""
    row = session.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.status == COMPLETED)
        .order_by(RiskAssessment.completed_at.desc())
        .limit(1)
    ).first()
    return None if row is None else _summary(row)


def snapshot(session: Session, assessment_id: str) -> dict[str, Any] | None:
    """What a completed assessment froze: evidence, answers and summary scores."""
    row = found(session, RiskAssessment, assessment_id)
    return None if row.snapshot is None else dict(row.snapshot)


def completed_summaries(session: Session) -> list[tuple[AssessmentSummary, dict[str, Any]]]:
    """Completed assessments oldest first with their summary scores, for trends."""
    rows = session.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.status == COMPLETED)
        .order_by(RiskAssessment.completed_at)
    )
    return [(_summary(row), dict((row.snapshot or {}).get("summary") or {})) for row in rows]


def completed_count(session: Session) -> int:
    """How many assessments have been completed."""
    query = select(func.count()).select_from(RiskAssessment)
    return int(session.scalar(query.where(RiskAssessment.status == COMPLETED)) or 0)


def _stored(row: RiskAnswer) -> StoredAnswer:
    return StoredAnswer(
        question_id=row.question_id,
        version=row.version,
        value=row.value,
        source=row.source,
        reason=row.reason,
        note=row.note,
        owner=row.owner,
        measured=row.measured,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def latest_answers(session: Session, assessment_id: str) -> dict[str, StoredAnswer]:
    """The newest version of every answered question of an assessment."""
    newest = (
        select(RiskAnswer.question_id, func.max(RiskAnswer.version).label("version"))
        .where(RiskAnswer.assessment_id == assessment_id)
        .group_by(RiskAnswer.question_id)
        .subquery()
    )
    rows = session.scalars(
        select(RiskAnswer)
        .join(
            newest,
            (RiskAnswer.question_id == newest.c.question_id)
            & (RiskAnswer.version == newest.c.version),
        )
        .where(RiskAnswer.assessment_id == assessment_id)
    )
    return {row.question_id: _stored(row) for row in rows}


def answer_history(session: Session, assessment_id: str, question_id: str) -> list[StoredAnswer]:
    """Every version of one answer, newest first."""
    rows = session.scalars(
        select(RiskAnswer)
        .where(RiskAnswer.assessment_id == assessment_id, RiskAnswer.question_id == question_id)
        .order_by(RiskAnswer.version.desc())
    )
    return [_stored(row) for row in rows]


def answer_versions(session: Session, assessment_id: str) -> dict[str, list[StoredAnswer]]:
    """Every version of every answer of an assessment, by question, newest first."""
    rows = session.scalars(
        select(RiskAnswer)
        .where(RiskAnswer.assessment_id == assessment_id)
        .order_by(RiskAnswer.question_id, RiskAnswer.version.desc())
    )
    found: dict[str, list[StoredAnswer]] = {}
    for row in rows:
        found.setdefault(row.question_id, []).append(_stored(row))
    return found


def _attachment(row: RiskAttachment) -> AttachmentInfo:
    return AttachmentInfo(
        id=row.id,
        question_id=row.question_id,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        version=row.version,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def attachments(session: Session, assessment_id: str) -> list[AttachmentInfo]:
    """Every version of every attachment of an assessment, by question, name, newest first."""
    rows = session.scalars(
        select(RiskAttachment)
        .where(RiskAttachment.assessment_id == assessment_id)
        .order_by(
            RiskAttachment.question_id, RiskAttachment.filename, RiskAttachment.version.desc()
        )
    )
    return [_attachment(row) for row in rows]


def attachment_info(session: Session, attachment_id: str) -> AttachmentInfo:
    """One attachment's metadata, or NotFoundError."""
    row = found(session, RiskAttachment, attachment_id)
    return _attachment(row)


def _risk(row: RiskEntry) -> RiskView:
    return RiskView(
        id=row.id,
        title=row.title,
        threat=row.threat,
        asset=row.asset,
        vulnerability=row.vulnerability,
        inherent_likelihood=row.inherent_likelihood,
        inherent_impact=row.inherent_impact,
        residual_likelihood=row.residual_likelihood,
        residual_impact=row.residual_impact,
        owner=row.owner,
        due_date=row.due_date,
        status=row.status,
        controls=tuple(row.controls or ()),
        notes=row.notes,
        version=row.version,
        updated_at=row.updated_at,
    )


def risks(session: Session) -> list[RiskView]:
    """The register, highest residual score first."""
    rows = list(session.scalars(select(RiskEntry)))
    views = [_risk(row) for row in rows]
    return sorted(views, key=lambda r: (not r.is_open, -r.residual, -r.inherent, r.title))


def risk(session: Session, risk_id: str) -> RiskView:
    """One register entry, or NotFoundError."""
    row = found(session, RiskEntry, risk_id)
    return _risk(row)


def cost_overrides(session: Session) -> dict[str, tuple[float, float, float, str]]:
    """The breach-cost figures the practice set: key -> (low, most likely, high, note)."""
    return {
        row.key: (row.low, row.mode, row.high, row.note)
        for row in session.scalars(select(RiskCostFigure))
    }


def assessment_evidence(session: Session, now: datetime) -> dict[str, Any]:
    """The `assessment` evidence section: when a risk analysis was last completed, the register."""
    last = latest_completed(session)
    today = now.date()
    register = risks(session)
    open_risks = [r for r in register if r.is_open]
    return {
        "as_of": now.isoformat(),
        "last_completed_at": last.completed_at.isoformat() if last and last.completed_at else None,
        "assessments_completed": completed_count(session),
        "risks_total": len(register),
        "risks_open": len(open_risks),
        "risks_unassigned": sum(1 for r in open_risks if not r.owner or r.due_date is None),
        "risks_overdue": sum(1 for r in open_risks if r.overdue(today)),
    }
