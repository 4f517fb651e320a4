"""The only code that changes the risk domain; every change is audited in its transaction.

Answers and attachments are never edited in place: each save is a new
version. A person may replace an answer Carewall measured only with a reason,
and that override is audited with the measured answer it replaced. Completing
an assessment freezes the evidence, the answers and the scores into a dated
snapshot, comparable with the next one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from carewall.audit import AuditEvent, DetailValue, record
from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.crypto import decrypt, encrypt
from carewall.core.db import new_id
from carewall.core.errors import CarewallError, NotFoundError, ValidationError
from carewall.core.runtime import Runtime
from carewall.risk import queries
from carewall.risk.access import require_editor, require_reader
from carewall.risk.catalogue import SIZES, catalogue
from carewall.risk.costs import effective_figures, simulate
from carewall.risk.errors import AssessmentClosedError, AttachmentTooLargeError, ReasonRequiredError
from carewall.risk.evidence import Providers, collect, from_snapshot
from carewall.risk.models import (
    RiskAnswer,
    RiskAssessment,
    RiskAttachment,
)
from carewall.risk.queries import COMPLETED, DRAFT, AttachmentInfo, StoredAnswer
from carewall.risk.rules import ANSWERS, NA, rulebook
from carewall.risk.tags import RiskTag as Tag
from carewall.risk.workspace import (
    AUTO,
    CARRIED,
    MANUAL,
    OVERRIDE,
    AssessmentView,
    build_view,
    effective,
    open_view,
)

ATTACHMENT_KEY = "risk-attachments"
MAX_NOTE, MAX_REASON, MAX_OWNER, MAX_TITLE = 4000, 1000, 120, 200
_CONTENT_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+$")


class ConcurrentChangeError(CarewallError):
    """Someone else saved the same thing a moment earlier."""

    code = "changed_meanwhile"
    status = 409


def audit(session: Session, caller: Caller, tag: Tag, subject: str, **details: DetailValue) -> None:
    """Record a risk-domain event by `caller` in the current transaction."""
    event = AuditEvent(
        action=tag,
        actor=caller.ref,
        subject=subject,
        source_ip=caller.origin.ip,
        user_agent=caller.origin.user_agent[:300],
        details=details,
    )
    record(session, event)


def _draft(session: Session, assessment_id: str) -> RiskAssessment:
    row = queries.found(session, RiskAssessment, assessment_id)
    if row.status != DRAFT:
        raise AssessmentClosedError(
            "This assessment is completed; start a new one to change answers."
        )
    return row


def start_assessment(runtime: Runtime, caller: Caller, *, title: str, org_size: str) -> str:
    """Open a draft; the previous assessment's answers by people are carried over to confirm."""
    require_editor(caller)
    title = " ".join(title.split())[:MAX_TITLE] or f"Risk assessment {utcnow():%Y-%m-%d}"
    if org_size not in SIZES:
        raise ValidationError("Choose the organisation's size: small, medium or large.")
    now = utcnow()
    with runtime.db.transaction() as session:
        if queries.current_draft(session) is not None:
            raise ValidationError(
                "An assessment is already in progress: finish or complete it first."
            )
        previous = queries.latest_completed(session)
        row = RiskAssessment(
            id=new_id(),
            title=title,
            org_size=org_size,
            status=DRAFT,
            started_at=now,
            started_by=caller.ref,
            previous_id=previous.id if previous else None,
        )
        session.add(row)
        session.flush()
        carried = _carry_answers(session, caller, row, previous.id if previous else None)
        audit(
            session,
            caller,
            Tag.ASSESSMENT_STARTED,
            f"risk-assessment:{row.id}",
            org_size=org_size,
            carried=carried,
            previous=row.previous_id,
        )
    return row.id


def _carry_answers(
    session: Session, caller: Caller, row: RiskAssessment, previous: str | None
) -> int:
    """Copy people's answers (not overrides: the evidence may have changed) to be confirmed."""
    if previous is None:
        return 0
    applicable = {q.id for q in catalogue().applicable(row.org_size)}
    carried = 0
    for answer in queries.latest_answers(session, previous).values():
        if answer.question_id not in applicable or answer.source not in (MANUAL, CARRIED):
            continue
        session.add(
            RiskAnswer(
                assessment_id=row.id,
                question_id=answer.question_id,
                version=1,
                value=answer.value,
                source=CARRIED,
                reason=answer.reason,
                note=answer.note,
                owner=answer.owner,
                created_at=row.started_at,
                created_by=caller.ref,
            )
        )
        carried += 1
    return carried


@dataclass(frozen=True)
class AnswerInput:
    """What a person submits for one question."""

    value: str
    reason: str = ""
    note: str = ""
    owner: str = ""


def save_answer(
    runtime: Runtime,
    caller: Caller,
    providers: Providers,
    assessment_id: str,
    question_id: str,
    given: AnswerInput,
) -> StoredAnswer:
    """Store a new version of an answer; overriding a measured answer needs a reason."""
    require_editor(caller)
    question = catalogue().questions.get(question_id)
    if question is None:
        raise NotFoundError("There is no such question.")
    value, reason = given.value.strip().lower(), " ".join(given.reason.split())[:MAX_REASON]
    if value not in (*ANSWERS, AUTO):
        raise ValidationError("Choose yes, partly, no or not applicable.")
    if value == AUTO and question_id not in rulebook().rules:
        raise ValidationError("Carewall does not measure this question; answer it yourself.")
    auto = collect(runtime, providers).auto_answers().get(question_id)
    measurable = auto is not None and auto.answered
    if value == NA and not reason:
        raise ReasonRequiredError("Say why this question does not apply to the practice.")
    if measurable and value != AUTO and not reason:
        raise ReasonRequiredError(
            "Carewall measured this answer; overriding it needs a reason (it is audited)."
        )
    source = AUTO if value == AUTO else (OVERRIDE if measurable else MANUAL)
    now = utcnow()
    try:
        with runtime.db.transaction() as session:
            row = _draft(session, assessment_id)
            if not question.applies_to(row.org_size):
                raise ValidationError("This question is not asked of an organisation of this size.")
            version = _next_version(
                session,
                RiskAnswer.version,
                RiskAnswer.assessment_id == assessment_id,
                RiskAnswer.question_id == question_id,
            )
            answer = RiskAnswer(
                assessment_id=assessment_id,
                question_id=question_id,
                version=version,
                value=value,
                source=source,
                reason=reason,
                note=given.note.strip()[:MAX_NOTE],
                owner=" ".join(given.owner.split())[:MAX_OWNER],
                measured=auto.as_json() if source == OVERRIDE and auto is not None else None,
                created_at=now,
                created_by=caller.ref,
            )
            session.add(answer)
            session.flush()
            tag = Tag.ANSWER_OVERRIDDEN if source == OVERRIDE else Tag.ANSWER_SAVED
            details: dict[str, DetailValue] = {
                "question": question_id,
                "value": value,
                "source": source,
                "version": version,
            }
            if source == OVERRIDE and auto is not None:
                details["measured_answer"] = auto.answer
                details["answer_id"] = answer.id
            audit(session, caller, tag, f"risk-assessment:{assessment_id}", **details)
    except IntegrityError as exc:
        raise ConcurrentChangeError(
            "Someone saved this answer at the same moment; reload."
        ) from exc
    with runtime.db.sessions() as session:
        return queries.answer_history(session, assessment_id, question_id)[0]


def _next_version(
    session: Session, version: InstrumentedAttribute[int], *where: ColumnElement[bool]
) -> int:
    """One more than the highest `version` among the rows `where` selects, 1 for the first.

    Two saves at the same moment both compute the same number; the unique index over the
    version refuses the second (IntegrityError), which the callers turn into a
    ConcurrentChangeError instead of a lost update.
    """
    return 1 + int(session.scalar(select(func.max(version)).where(*where)) or 0)


def _clean_filename(name: str) -> str:
    base = re.split(r"[/\\]", name)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip().strip(".")
    return cleaned[:200] or "attachment"


def add_attachment(
    runtime: Runtime,
    caller: Caller,
    assessment_id: str,
    question_id: str,
    *,
    filename: str,
    content_type: str,
    data: bytes,
) -> AttachmentInfo:
    """Keep an evidence file encrypted and hashed; the same name again is a new version."""
    require_editor(caller)
    if question_id not in catalogue().questions:
        raise NotFoundError("There is no such question.")
    limit = runtime.settings.risk_attachment_max_bytes
    if len(data) > limit:
        raise AttachmentTooLargeError(f"Attachments are limited to {limit // 1024} KiB.")
    if not data:
        raise ValidationError("The file is empty.")
    name = _clean_filename(filename)
    kind = content_type.strip().lower()[:100]
    kind = kind if _CONTENT_TYPE.match(kind) else "application/octet-stream"
    digest = hashlib.sha256(data).hexdigest()
    key = runtime.keys.data_key(ATTACHMENT_KEY)
    attachment_id, now = new_id(), utcnow()
    sealed = encrypt(key, data, _attachment_ad(attachment_id))
    try:
        with runtime.db.transaction() as session:
            _draft(session, assessment_id)
            version = _next_version(
                session,
                RiskAttachment.version,
                RiskAttachment.assessment_id == assessment_id,
                RiskAttachment.question_id == question_id,
                RiskAttachment.filename == name,
            )
            row = RiskAttachment(
                id=attachment_id,
                assessment_id=assessment_id,
                question_id=question_id,
                filename=name,
                content_type=kind,
                size=len(data),
                sha256=digest,
                version=version,
                ciphertext=sealed,
                created_at=now,
                created_by=caller.ref,
            )
            session.add(row)
            audit(
                session,
                caller,
                Tag.ATTACHMENT_ADDED,
                f"risk-assessment:{assessment_id}",
                question=question_id,
                attachment=attachment_id,
                size=len(data),
                sha256=digest,
                version=version,
            )
    except IntegrityError as exc:
        raise ConcurrentChangeError(
            "The same file was uploaded at the same moment; reload."
        ) from exc
    with runtime.db.sessions() as session:
        return queries.attachment_info(session, attachment_id)


def _attachment_ad(attachment_id: str) -> bytes:
    """Associated data binding a ciphertext to its row: it cannot be moved to another."""
    return f"carewall:risk-attachment:{attachment_id}".encode()


def attachment_for(
    runtime: Runtime, caller: Caller, attachment_id: str
) -> tuple[AttachmentInfo, bytes]:
    """An attachment's bytes, decrypted and checked against their hash; the download is audited."""
    require_reader(caller)
    with runtime.db.transaction() as session:
        row = queries.found(session, RiskAttachment, attachment_id)
        data = decrypt(
            runtime.keys.data_key(ATTACHMENT_KEY), row.ciphertext, _attachment_ad(row.id)
        )
        if hashlib.sha256(data).hexdigest() != row.sha256:
            raise CarewallError("The attachment does not match its recorded hash.", status=500)
        audit(
            session,
            caller,
            Tag.ATTACHMENT_DOWNLOADED,
            f"risk-assessment:{row.assessment_id}",
            attachment=row.id,
            version=row.version,
        )
        info = queries.attachment_info(session, row.id)
    return info, data


def complete_assessment(
    runtime: Runtime, caller: Caller, providers: Providers, assessment_id: str
) -> AssessmentView:
    """Freeze the evidence, answers and scores into a dated snapshot; the draft closes."""
    require_editor(caller)
    view = open_view(runtime, providers, assessment_id)
    if view.summary is None or view.summary.completed:
        raise AssessmentClosedError("This assessment is already completed.")
    with runtime.db.sessions() as session:
        practice = queries.cost_overrides(session)
    estimate = simulate(effective_figures(practice, view.evidence.sections))
    now, summary = utcnow(), view.summary_json()
    snapshot = {
        "collected_at": view.evidence.collected_at.isoformat(),
        "evidence": view.evidence.as_json(),
        "answers": {qid: e.as_json() for qid, e in view.answers.items()},
        "summary": summary,
        "costs": {
            "p10": round(estimate.p10),
            "p50": round(estimate.p50),
            "p90": round(estimate.p90),
            "mean": round(estimate.mean),
            "runs": estimate.runs,
            "figures": {f.key: [f.low, f.mode, f.high, f.origin] for f in estimate.figures},
        },
        "editions": {fid: f.edition for fid, f in catalogue().frameworks.items()}
        | {"insurer": catalogue().insurer_edition},
    }
    with runtime.db.transaction() as session:
        row = _draft(session, assessment_id)
        row.status, row.completed_at, row.completed_by = COMPLETED, now, caller.ref
        row.snapshot = snapshot
        audit(
            session,
            caller,
            Tag.ASSESSMENT_COMPLETED,
            f"risk-assessment:{assessment_id}",
            grade=str(summary["grade"]),
            readiness=float(summary["readiness"]),
            answered=int(summary["answered"]),
            questions=int(summary["total"]),
        )
    return open_view(runtime, providers, assessment_id)


def record_past_assessment(
    runtime: Runtime,
    caller: Caller,
    *,
    title: str,
    org_size: str,
    completed_on: date,
    answers: Mapping[str, AnswerInput],
) -> str:
    """Record an assessment done earlier (on paper, in another tool) as a completed baseline.

    It has no measured evidence (Carewall was not measuring then); every answer
    is a person's statement, dated now and attributed to `caller`. The audit
    entry is written now and names the date the assessment was done, so the
    trail stays in time order.
    """
    require_editor(caller)
    if org_size not in SIZES:
        raise ValidationError("Choose the organisation's size: small, medium or large.")
    now = utcnow()
    if completed_on > now.date():
        raise ValidationError("A past assessment cannot be dated in the future.")
    book = catalogue()
    when = datetime.combine(completed_on, time(12, 0), tzinfo=UTC)
    stored = {}
    for qid, given in answers.items():
        question = book.questions.get(qid)
        if question is None or not question.applies_to(org_size):
            raise ValidationError(f"Question {qid} is not asked of a {org_size} organisation.")
        value = given.value.strip().lower()
        if value not in ANSWERS or (value == NA and not given.reason.strip()):
            raise ValidationError(f"Question {qid}: answer yes, partial, no, or na with a reason.")
        stored[qid] = StoredAnswer(
            qid,
            1,
            value,
            MANUAL,
            given.reason.strip()[:MAX_REASON],
            given.note.strip()[:MAX_NOTE],
            given.owner.strip()[:MAX_OWNER],
            None,
            now,
            caller.ref,
        )
    evidence = from_snapshot({}, when, runtime.settings.risk_evidence_stale_days)
    effective_answers = {
        q.id: effective(q, stored.get(q.id), None) for q in book.applicable(org_size)
    }
    view = build_view(None, org_size, evidence, effective_answers, [])
    with runtime.db.transaction() as session:
        row = RiskAssessment(
            id=new_id(),
            title=" ".join(title.split())[:MAX_TITLE] or f"Risk assessment {completed_on}",
            org_size=org_size,
            status=COMPLETED,
            started_at=when,
            started_by=caller.ref,
            completed_at=when,
            completed_by=caller.ref,
            previous_id=None,
            snapshot={
                "collected_at": when.isoformat(),
                "evidence": evidence.as_json(),
                "answers": {qid: e.as_json() for qid, e in effective_answers.items()},
                "summary": view.summary_json(),
                "recorded_at": now.isoformat(),
            },
        )
        session.add(row)
        session.flush()  # the answers reference it
        for answer in stored.values():
            session.add(
                RiskAnswer(
                    assessment_id=row.id,
                    question_id=answer.question_id,
                    version=1,
                    value=answer.value,
                    source=MANUAL,
                    reason=answer.reason,
                    note=answer.note,
                    owner=answer.owner,
                    created_at=now,
                    created_by=caller.ref,
                )
            )
        audit(
            session,
            caller,
            Tag.ASSESSMENT_RECORDED,
            f"risk-assessment:{row.id}",
            completed_on=completed_on.isoformat(),
            answers=len(stored),
            grade=str(view.readiness.grade),
        )
    return row.id
