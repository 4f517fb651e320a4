"""Assigning training: on joining, every year, after a simulated-phishing click, by hand.

Every assignment path funnels into `assign_in`, which is idempotent through
the assignment's `dedupe` key: the same remedial assignment is made once
however often a click is recorded, and one annual round once per year.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.db import insert_ignoring_conflicts, new_id
from carewall.core.errors import NotFoundError, ValidationError
from carewall.core.runtime import Runtime
from carewall.jobs import Task, enqueue
from carewall.training.content import module, modules
from carewall.training.events import assignment_ref, audit
from carewall.training.models import StaffMember, TrainingAssignment
from carewall.training.notify import notify_assignment
from carewall.training.tags import TrainingTag

REASONS = ("joining", "annual", "remedial", "manual")
OPEN = "assigned"

#: Tells a person about a new assignment by mail (queued with it, sent by the job runner).
NOTIFY_TASK = Task(
    "training.assignment.notify",
    notify_assignment,
    description="Mail a person where to do newly assigned training.",
    backoff=timedelta(minutes=2),
)


def assign_in(
    session: Session,
    caller: Caller,
    member_id: str,
    module_id: str,
    reason: str,
    due_at: datetime,
    dedupe: str | None = None,
) -> str | None:
    """Assign a module in the caller's transaction; the new id, or None when `dedupe` existed."""
    module(module_id)  # NotFoundError for an unknown module
    if reason not in REASONS:
        raise ValidationError(f"Unknown reason {reason!r}; one of {', '.join(REASONS)}.")
    assignment_id = new_id()
    row = {
        "id": assignment_id,
        "member_id": member_id,
        "module_id": module_id,
        "reason": reason,
        "dedupe": dedupe,
        "status": OPEN,
        "assigned_at": utcnow(),
        "assigned_by": caller.ref[:120],
        "due_at": due_at,
        "attempts": 0,
    }
    insert_ignoring_conflicts(session, TrainingAssignment, [row])
    if session.get(TrainingAssignment, assignment_id) is None:
        return None
    enqueue(
        session,
        caller,
        NOTIFY_TASK,
        {"assignment_id": assignment_id},
        key=f"notify:{assignment_id}",
    )
    audit(
        session,
        TrainingTag.ASSIGNMENT_CREATED,
        caller,
        subject=assignment_ref(assignment_id),
        member=member_id,
        module=module_id,
        reason=reason,
    )
    return assignment_id


def _has_open(session: Session, member_id: str, module_id: str) -> bool:
    found = session.scalar(
        select(TrainingAssignment.id).where(
            TrainingAssignment.member_id == member_id,
            TrainingAssignment.module_id == module_id,
            TrainingAssignment.status == OPEN,
        )
    )
    return found is not None


def assign_joining_in(
    session: Session, settings: Settings, caller: Caller, member: StaffMember
) -> list[str]:
    """The joining modules for a new directory entry (`CAREWALL_TRAINING_JOINING_MODULES`)."""
    due = utcnow() + timedelta(days=settings.training_due_days)
    made = []
    for module_id in settings.training_joining_modules:
        made_id = assign_in(
            session,
            caller,
            member.id,
            module_id,
            "joining",
            due,
            f"joining:{member.id}:{module_id}",
        )
        if made_id:
            made.append(made_id)
    return made


def assign_remedial_in(
    session: Session,
    settings: Settings,
    caller: Caller,
    member_id: str,
    module_id: str,
    source: str,
) -> str | None:
    """Training after a simulated-phishing click or submission, once per `source` (a recipient).

    It is made even when the module is open for another reason (joining,
    annual): it has its own, shorter due date, and one pass completes every
    open assignment of the module. A module already open as remedial training
    (a click in an earlier campaign) is not assigned twice.
    """
    open_remedial = session.scalar(
        select(TrainingAssignment.id).where(
            TrainingAssignment.member_id == member_id,
            TrainingAssignment.module_id == module_id,
            TrainingAssignment.reason == "remedial",
            TrainingAssignment.status == OPEN,
        )
    )
    if open_remedial is not None:
        return None
    due = utcnow() + timedelta(days=settings.training_remedial_due_days)
    return assign_in(
        session, caller, member_id, module_id, "remedial", due, f"remedial:{source}:{module_id}"
    )


def assign(
    runtime: Runtime,
    caller: Caller,
    member_ids: Iterable[str],
    module_id: str,
    *,
    due_days: int | None = None,
) -> int:
    """Assign a module by hand to people who do not already have it open; how many got it."""
    days = due_days or runtime.settings.training_due_days
    if not 1 <= days <= 365:
        raise ValidationError("The due date must be between 1 and 365 days away.")
    due = utcnow() + timedelta(days=days)
    made = 0
    with runtime.db.transaction() as session:
        for member_id in member_ids:
            if session.get(StaffMember, member_id) is None:
                raise NotFoundError("There is no such person in the staff directory.")
            if not _has_open(session, member_id, module_id):
                made += assign_in(session, caller, member_id, module_id, "manual", due) is not None
    return made


def assign_annual(runtime: Runtime, caller: Caller) -> int:
    """Each year's round: every active person without a pass of the module in the last year.

    People who have the module open already (joining, remedial) are skipped,
    and so are people who joined the directory less than the due period ago:
    their joining training comes first.
    """
    settings = runtime.settings
    now = utcnow()
    year_ago = now - timedelta(days=365)
    due = now + timedelta(days=settings.training_due_days)
    made = 0
    with runtime.db.transaction() as session:
        settled = now - timedelta(days=settings.training_due_days)
        members = list(
            session.scalars(
                select(StaffMember).where(
                    StaffMember.active.is_(True), StaffMember.created_at <= settled
                )
            )
        )
        for module_id in settings.training_annual_modules:
            if module_id not in modules():
                continue
            recent = set(
                session.scalars(
                    select(TrainingAssignment.member_id).where(
                        TrainingAssignment.module_id == module_id,
                        (TrainingAssignment.status == OPEN)
                        | (TrainingAssignment.completed_at >= year_ago),
                    )
                )
            )
            for member in members:
                if member.id in recent:
                    continue
                dedupe = f"annual:{now.year}:{member.id}:{module_id}"
                made += (
                    assign_in(session, caller, member.id, module_id, "annual", due, dedupe)
                    is not None
                )
    return made
