"""What learners do: take a module's quiz, pass it, get a certificate; links and reminders.

Quiz answers are choice numbers, never free text. A pass closes the
assignment and gives it a certificate serial; running out of attempts marks
it failed, and the administrator can assign the module again.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError, ValidationError
from carewall.core.mail import MailError, OutgoingMail
from carewall.core.runtime import Runtime
from carewall.training.access import Learner, assignment_for, token_hash
from carewall.training.content import Module, Question, module
from carewall.training.errors import QuizClosedError
from carewall.training.events import assignment_ref, audit, member_ref
from carewall.training.models import (
    LearnerLink,
    QuizAttempt,
    StaffMember,
    TrainingAssignment,
    TrainingReminder,
)
from carewall.training.tags import TrainingTag

PASSED, FAILED, OPEN = "passed", "failed", "assigned"


@dataclass(frozen=True, slots=True)
class QuizPaper:
    """An attempt as the learner sees it: the drawn questions, without the answers."""

    attempt_id: str
    assignment_id: str
    module: Module
    questions: tuple[Question, ...]
    attempt_number: int


@dataclass(frozen=True, slots=True)
class QuizResult:
    """How an attempt went, with the explanation of each question for the learner."""

    score: int
    passed: bool
    pass_mark: int
    attempts_left: int
    certificate: str | None
    review: tuple[tuple[Question, int | None], ...]


def start_quiz(runtime: Runtime, learner: Learner, assignment_id: str) -> QuizPaper:
    """Draw a fresh set of questions for the learner's assignment."""
    with runtime.db.transaction() as session:
        assignment = assignment_for(session, learner, assignment_id)
        lesson = module(assignment.module_id)
        if assignment.status != OPEN:
            raise QuizClosedError("This module is already finished.")
        if assignment.attempts >= lesson.attempts:
            raise QuizClosedError("No attempts are left; ask the security officer to reassign it.")
        drawn = secrets.SystemRandom().sample(list(lesson.questions), lesson.quiz_size)
        attempt = QuizAttempt(
            assignment_id=assignment.id, questions=[q.id for q in drawn], started_at=utcnow()
        )
        session.add(attempt)
        assignment.started_at = assignment.started_at or utcnow()
        session.flush()
        return QuizPaper(attempt.id, assignment.id, lesson, tuple(drawn), assignment.attempts + 1)


_NO_ATTEMPT = "That quiz is finished or does not exist."


def _own_attempt(
    session: Session, learner: Learner, attempt_id: str
) -> tuple[QuizAttempt, TrainingAssignment]:
    """The learner's own attempt and its assignment.

    Whose it is comes before what state it is in: someone else's attempt, finished or
    not, is not found with the very words of an unknown id, so a stranger holding an
    attempt id learns nothing about it.
    """
    attempt = session.get(QuizAttempt, attempt_id)
    if attempt is None:
        raise NotFoundError(_NO_ATTEMPT)
    try:
        assignment = assignment_for(session, learner, attempt.assignment_id)
    except NotFoundError:
        raise NotFoundError(_NO_ATTEMPT) from None
    return attempt, assignment


def open_paper(runtime: Runtime, learner: Learner, attempt_id: str) -> QuizPaper:
    """An unfinished attempt again (a reload of the quiz page)."""
    with runtime.db.sessions() as session:
        attempt, assignment = _own_attempt(session, learner, attempt_id)
        if attempt.finished_at is not None:
            raise NotFoundError(_NO_ATTEMPT)
        lesson = module(assignment.module_id)
        drawn = tuple(lesson.question(q) for q in attempt.questions)
        return QuizPaper(attempt.id, assignment.id, lesson, drawn, assignment.attempts + 1)


def _score(lesson: Module, question_ids: list[str], answers: Mapping[str, int | None]) -> int:
    right = sum(answers.get(q) == lesson.question(q).answer for q in question_ids)
    return round(100 * right / len(question_ids))


def submit_quiz(
    runtime: Runtime, learner: Learner, attempt_id: str, answers: Mapping[str, int | None]
) -> QuizResult:
    """Mark an attempt; a pass completes the assignment and issues its certificate serial."""
    with runtime.db.transaction() as session:
        attempt, assignment = _own_attempt(session, learner, attempt_id)
        if attempt.finished_at is not None:
            raise QuizClosedError("That quiz was already submitted; start a new attempt.")
        if assignment.status != OPEN:
            raise QuizClosedError("This module is already finished.")
        lesson = module(assignment.module_id)
        given = {q: answers.get(q) for q in attempt.questions}
        if any(
            v is not None and not 0 <= v < len(lesson.question(q).choices) for q, v in given.items()
        ):
            raise ValidationError("One of the answers is not one of the choices.")
        score = _score(lesson, attempt.questions, given)
        passed = score >= lesson.pass_mark
        now = utcnow()
        attempt.answers, attempt.score, attempt.passed, attempt.finished_at = (
            given,
            score,
            passed,
            now,
        )
        assignment.attempts += 1
        assignment.best_score = max(score, assignment.best_score or 0)
        if passed:
            _complete(session, assignment, now, score)
        elif assignment.attempts >= lesson.attempts:
            assignment.status = FAILED
        _audit_attempt(session, learner.caller, assignment, score, passed)
        left = 0 if passed else max(lesson.attempts - assignment.attempts, 0)
        review = tuple((lesson.question(q), given[q]) for q in attempt.questions)
        return QuizResult(score, passed, lesson.pass_mark, left, assignment.certificate, review)


def _complete(session: Session, assignment: TrainingAssignment, now: datetime, score: int) -> None:
    """Pass the assignment and every other open assignment of the same module for that person."""
    others = session.scalars(
        select(TrainingAssignment).where(
            TrainingAssignment.member_id == assignment.member_id,
            TrainingAssignment.module_id == assignment.module_id,
            TrainingAssignment.status == OPEN,
            TrainingAssignment.id != assignment.id,
        )
    )
    for item in (assignment, *others):
        item.status, item.completed_at = PASSED, now
        item.best_score = max(score, item.best_score or 0)
        item.certificate = secrets.token_hex(6).upper()


def _audit_attempt(
    session: Session, caller: Caller, assignment: TrainingAssignment, score: int, passed: bool
) -> None:
    subject = assignment_ref(assignment.id)
    audit(session, TrainingTag.QUIZ_SUBMITTED, caller, subject=subject, score=score, passed=passed)
    if passed:
        audit(
            session,
            TrainingTag.ASSIGNMENT_COMPLETED,
            caller,
            subject=subject,
            module=assignment.module_id,
            member=assignment.member_id,
        )


def new_learner_link(runtime: Runtime, caller: Caller, member_id: str) -> str:
    """A fresh personal link (`CAREWALL_TRAINING_LINK_DAYS`) for someone without a login."""
    token = secrets.token_urlsafe(24)
    now = utcnow()
    with runtime.db.transaction() as session:
        if session.get(StaffMember, member_id) is None:
            raise NotFoundError("There is no such person in the staff directory.")
        expires = now + timedelta(days=runtime.settings.training_link_days)
        session.add(
            LearnerLink(
                member_id=member_id,
                token_hash=token_hash(token),
                created_at=now,
                expires_at=expires,
            )
        )
        audit(session, TrainingTag.LINK_SENT, caller, subject=member_ref(member_id))
    return f"{runtime.settings.public_url}/training/l/{token}"


def training_url_for(runtime: Runtime, caller: Caller, member: StaffMember) -> str:
    """Where a person does their training: the sign-in page for account holders, else a link."""
    if member.user_id:
        return f"{runtime.settings.public_url}/training"
    return new_learner_link(runtime, caller, member.id)


def mail_training(
    runtime: Runtime, caller: Caller, member_id: str, subject: str, lead: str
) -> bool:
    """Mail a person where to train; False when outgoing mail is off (nothing is sent)."""
    if not runtime.mail.enabled:
        return False
    with runtime.db.sessions() as session:
        member = session.get(StaffMember, member_id)
        if member is None:
            raise NotFoundError("There is no such person in the staff directory.")
        session.expunge(member)
    url = training_url_for(runtime, caller, member)
    name = member.name.split(" ")[0] if member.name else "there"
    body = (
        f"Hello {name},\n\n{lead}\n\nOpen your training here:\n{url}\n\n"
        f"{runtime.settings.practice_name} security team\n"
    )
    runtime.mail.send(OutgoingMail(member.email, subject, body))
    return True


def send_reminders(runtime: Runtime, caller: Caller) -> int:
    """Remind people shortly before the due date and once after it; each reminder once.

    The reminder is recorded before its mail goes, so a crash between the two
    loses one reminder rather than sending it twice.
    """
    if not runtime.mail.enabled:
        return 0
    now = utcnow()
    soon = now + timedelta(days=runtime.settings.training_reminder_days)
    with runtime.db.sessions() as session:
        rows = session.execute(
            select(TrainingAssignment.id, TrainingAssignment.member_id, TrainingAssignment.due_at)
            .where(TrainingAssignment.status == OPEN, TrainingAssignment.due_at <= soon)
            .order_by(TrainingAssignment.due_at)
        ).all()
        done = set(session.execute(select(TrainingReminder.assignment_id, TrainingReminder.kind)))
    sent = 0
    for assignment_id, member_id, due_at in rows:
        kind = "overdue" if due_at <= now else "before"
        if (assignment_id, kind) in done:
            continue
        with runtime.db.transaction() as session:
            session.add(TrainingReminder(assignment_id=assignment_id, kind=kind, sent_at=now))
            audit(
                session,
                TrainingTag.REMINDER_SENT,
                caller,
                subject=assignment_ref(assignment_id),
                kind=kind,
            )
        lead = (
            "Your security training is overdue. It takes a few minutes; please finish it today."
            if kind == "overdue"
            else f"Your security training is due on {due_at:%d %B %Y}."
        )
        try:
            mail_training(runtime, caller, member_id, "Reminder: your security training", lead)
        except MailError:
            continue
        sent += 1
    return sent


def certificate(
    runtime: Runtime, learner: Learner | None, assignment_id: str, caller: Caller
) -> bytes:
    """The PDF certificate of a passed assignment: the learner's own, or any for an admin.

    `learner` None means an administrator asks (the route checked the role).
    """
    from carewall.training.certificates import CertificateFacts, certificate_pdf

    with runtime.db.transaction() as session:
        if learner is not None:
            assignment = assignment_for(session, learner, assignment_id)
        else:
            found = session.get(TrainingAssignment, assignment_id)
            if found is None:
                raise NotFoundError("There is no such assignment.")
            assignment = found
        if (
            assignment.status != PASSED
            or assignment.completed_at is None
            or not assignment.certificate
        ):
            raise NotFoundError("This module is not passed yet, so it has no certificate.")
        member = session.get(StaffMember, assignment.member_id)
        assert member is not None  # the foreign key guarantees it
        lesson = module(assignment.module_id)
        facts = CertificateFacts(
            practice=runtime.settings.practice_name,
            person=member.name,
            email=member.email,
            module_title=lesson.title,
            minutes=lesson.minutes,
            completed_at=assignment.completed_at,
            score=assignment.best_score or 0,
            serial=assignment.certificate,
        )
        audit(
            session, TrainingTag.CERTIFICATE_ISSUED, caller, subject=assignment_ref(assignment.id)
        )
    return certificate_pdf(facts)


def record_link_refusal(runtime: Runtime, caller: Caller) -> None:
    """Audit a use of an unknown or expired learner link (someone may be guessing)."""
    from carewall.audit import Outcome

    with runtime.db.transaction() as session:
        audit(session, TrainingTag.LINK_REFUSED, caller, outcome=Outcome.DENIED)
