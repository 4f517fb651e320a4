"""An assessment put together for pages and the report: answers, evidence and scores in one view.

For a draft, auto-answers come from evidence measured now and people's
answers from their newest versions; for a completed assessment, both come
from the snapshot frozen at completion, so it reads the same years later.
Without any assessment, the view shows what the evidence alone answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from carewall.core.clock import utcnow
from carewall.core.runtime import Runtime
from carewall.risk import queries
from carewall.risk.catalogue import Catalogue, Question, catalogue
from carewall.risk.evidence import EvidenceSet, Providers, collect, from_snapshot
from carewall.risk.queries import AssessmentSummary, RiskView, StoredAnswer
from carewall.risk.rules import UNKNOWN, AutoAnswer, Measured, parse_time
from carewall.risk.scoring import (
    Coverage,
    LinkedRisk,
    PlanItem,
    Readiness,
    coverage,
    plan,
    readiness,
)

AUTO, MANUAL, OVERRIDE, CARRIED, NONE = "auto", "manual", "override", "carried", "none"


@dataclass(frozen=True)
class Effective:
    """A question's answer as it counts: a person's, the evidence's, or none yet."""

    question: Question
    answer: str
    source: str
    stored: StoredAnswer | None
    auto: AutoAnswer | None

    @property
    def answered(self) -> bool:
        """Whether anyone (or anything) has answered it."""
        return self.answer != UNKNOWN

    @property
    def measurable(self) -> bool:
        """Carewall's evidence answers it, so a person's answer is an override."""
        return self.auto is not None and self.auto.answered

    @property
    def stale(self) -> bool:
        """Answered from evidence older than the configured age."""
        return self.source == AUTO and self.auto is not None and self.auto.stale

    def as_json(self) -> dict[str, Any]:
        """The form frozen into a completed assessment's snapshot."""
        stored = None
        if self.stored is not None:
            stored = {**vars(self.stored), "created_at": self.stored.created_at.isoformat()}
        return {
            "answer": self.answer,
            "source": self.source,
            "stored": stored,
            "auto": None if self.auto is None else self.auto.as_json(),
        }


def effective(
    question: Question, stored: StoredAnswer | None, auto: AutoAnswer | None
) -> Effective:
    """A person's answer wins, except one merely carried over from last time, which gives
    way to a measurement; `auto` hands the question back to the evidence."""
    measured = auto is not None and auto.answered
    if stored is not None and stored.value != AUTO and not (stored.source == CARRIED and measured):
        return Effective(question, stored.value, stored.source, stored, auto)
    if auto is not None and measured:
        return Effective(question, auto.answer, AUTO, stored, auto)
    return Effective(question, UNKNOWN, NONE, stored, auto)


@dataclass(frozen=True)
class SectionProgress:
    """How far one section of the assessment is answered."""

    id: str
    title: str
    answered: int
    total: int
    control: str | None


@dataclass(frozen=True)
class AssessmentView:
    """Everything a page or the report shows about one assessment (or the evidence alone)."""

    summary: AssessmentSummary | None
    org_size: str
    evidence: EvidenceSet
    answers: Mapping[str, Effective]
    coverage: list[Coverage]
    readiness: Readiness
    plan: list[PlanItem]
    progress: list[SectionProgress]
    risks: list[RiskView]

    @property
    def answered(self) -> int:
        """Questions answered, by a person or from evidence."""
        return sum(1 for e in self.answers.values() if e.answered)

    @property
    def total(self) -> int:
        """Questions this organisation is asked."""
        return len(self.answers)

    def answer_map(self) -> dict[str, str]:
        """Question id -> answer, for scoring and comparison."""
        return {qid: e.answer for qid, e in self.answers.items()}

    def summary_json(self) -> dict[str, Any]:
        """The scores kept with a completed assessment (trend and comparison read these)."""
        return {
            "readiness": round(self.readiness.score, 4),
            "grade": self.readiness.grade,
            "coverage": {c.framework: round(c.score, 4) for c in self.coverage},
            "hipaa_required": next(
                (round(c.required_score, 4) for c in self.coverage if c.required_score is not None),
                None,
            ),
            "answered": self.answered,
            "total": self.total,
            "gaps": [g.control.id for g in self.readiness.gaps],
        }


def open_view(
    runtime: Runtime,
    providers: Providers,
    assessment_id: str | None = None,
    *,
    org_size: str = "small",
) -> AssessmentView:
    """The view of one assessment, or (no id) of what the evidence alone answers."""
    with runtime.db.sessions() as session:
        summary = None if assessment_id is None else queries.assessment(session, assessment_id)
        stored = {} if summary is None else queries.latest_answers(session, summary.id)
        frozen = (
            None
            if summary is None or not summary.completed
            else queries.snapshot(session, summary.id)
        )
        register = queries.risks(session)
    size = summary.org_size if summary else org_size
    if frozen is not None:
        evidence, answers = _from_snapshot(frozen, runtime.settings.risk_evidence_stale_days)
    else:
        evidence = collect(runtime, providers)
        auto = evidence.auto_answers()
        book = catalogue()
        answers = {
            q.id: effective(q, stored.get(q.id), auto.get(q.id)) for q in book.applicable(size)
        }
    return build_view(summary, size, evidence, answers, register)


def build_view(
    summary: AssessmentSummary | None,
    size: str,
    evidence: EvidenceSet,
    answers: Mapping[str, Effective],
    register: list[RiskView],
) -> AssessmentView:
    """Scores, plan and progress from answers."""
    book = catalogue()
    plain = {qid: e.answer for qid, e in answers.items()}
    linked = [LinkedRisk(r.title, r.residual, r.controls, r.is_open) for r in register]
    return AssessmentView(
        summary=summary,
        org_size=size,
        evidence=evidence,
        answers=answers,
        coverage=coverage(book, plain, size),
        readiness=readiness(book, plain, size),
        plan=plan(book, plain, size, linked),
        progress=_progress(book, answers, size),
        risks=register,
    )


def _progress(
    book: Catalogue, answers: Mapping[str, Effective], size: str
) -> list[SectionProgress]:
    rows = []
    for section in book.sections:
        questions = book.questions_in(section, size)
        if not questions:
            continue
        done = sum(1 for q in questions if answers[q.id].answered)
        rows.append(
            SectionProgress(section.id, section.title, done, len(questions), section.control)
        )
    return rows


def _from_snapshot(
    frozen: Mapping[str, Any], stale_days: int
) -> tuple[EvidenceSet, dict[str, Effective]]:
    collected = parse_time(str(frozen.get("collected_at", ""))) or utcnow()
    evidence = from_snapshot(frozen.get("evidence") or {}, collected, stale_days)
    book = catalogue()
    answers: dict[str, Effective] = {}
    for qid, raw in (frozen.get("answers") or {}).items():
        if qid not in book.questions:
            continue  # a question retired from the bank since; its answer stays in the snapshot
        answers[qid] = Effective(
            question=book.questions[qid],
            answer=str(raw["answer"]),
            source=str(raw["source"]),
            stored=_stored_from(raw.get("stored")),
            auto=_auto_from(qid, raw.get("auto")),
        )
    return evidence, answers


def _stored_from(raw: Mapping[str, Any] | None) -> StoredAnswer | None:
    if raw is None:
        return None
    created = parse_time(str(raw["created_at"])) or utcnow()
    return StoredAnswer(**{**raw, "created_at": created})


def _auto_from(question: str, raw: Mapping[str, Any] | None) -> AutoAnswer | None:
    if raw is None:
        return None
    return AutoAnswer(
        question=question,
        answer=str(raw["answer"]),
        scope=str(raw.get("scope", "")),
        measured=tuple(Measured(**m) for m in raw.get("measured", ())),
        as_of=raw.get("as_of"),
        stale=bool(raw.get("stale", False)),
    )


@dataclass(frozen=True)
class Change:
    """One answer that differs between two assessments."""

    question: Question
    before: str
    after: str


@dataclass(frozen=True)
class Comparison:
    """An assessment against the one completed before it."""

    previous: AssessmentSummary
    previous_summary: Mapping[str, Any]
    changes: list[Change]
    readiness_delta: float
    coverage_delta: Mapping[str, float]


def compare(current: AssessmentView, previous: AssessmentView) -> Comparison:
    """What changed: scores up or down, and each answer that moved."""
    assert previous.summary is not None
    before, after = previous.answer_map(), current.answer_map()
    book = catalogue()
    changes = [
        Change(book.questions[qid], before.get(qid, UNKNOWN), answer)
        for qid, answer in after.items()
        if before.get(qid, UNKNOWN) != answer
    ]
    old = {c.framework: c.score for c in previous.coverage}
    return Comparison(
        previous=previous.summary,
        previous_summary=previous.summary_json(),
        changes=changes,
        readiness_delta=current.readiness.score - previous.readiness.score,
        coverage_delta={c.framework: c.score - old.get(c.framework, 0.0) for c in current.coverage},
    )


@dataclass(frozen=True)
class TrendPoint:
    """One completed assessment's scores on the trend chart."""

    label: str
    when: date
    readiness: float
    coverage: Mapping[str, float]
    grade: str


def trend(runtime: Runtime) -> list[TrendPoint]:
    """Scores of every completed assessment, oldest first."""
    with runtime.db.sessions() as session:
        rows = queries.completed_summaries(session)
    points = []
    for summary, scores in rows:
        when: datetime = summary.completed_at or summary.started_at
        points.append(
            TrendPoint(
                label=f"{when:%Y-%m-%d}",
                when=when.date(),
                readiness=float(scores.get("readiness", 0.0)),
                coverage={k: float(v) for k, v in (scores.get("coverage") or {}).items()},
                grade=str(scores.get("grade", "")),
            )
        )
    return points
