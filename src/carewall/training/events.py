"""One helper so every training audit entry carries actor, subject and origin alike."""

from __future__ import annotations

from sqlalchemy.orm import Session

from carewall.audit import DetailValue, Outcome, record_from
from carewall.core.context import Caller
from carewall.training.tags import TrainingTag


def audit(
    session: Session,
    tag: TrainingTag,
    caller: Caller,
    *,
    subject: str = "",
    outcome: Outcome = Outcome.SUCCESS,
    **details: DetailValue,
) -> None:
    """Append a training event in the caller's transaction (ids and counts, no answers)."""
    record_from(
        session, tag, caller.origin, actor=caller.ref, subject=subject, outcome=outcome, **details
    )


def member_ref(member_id: str) -> str:
    """How directory entries appear as audit subjects."""
    return f"staff:{member_id}"


def assignment_ref(assignment_id: str) -> str:
    """How assignments appear as audit subjects."""
    return f"assignment:{assignment_id}"
