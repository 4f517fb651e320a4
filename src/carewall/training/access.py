"""The one chokepoint for learners: whose assignments a caller or a learner link may touch.

A learner is a staff-directory entry, reached either by a signed-in account
with the same address or by a personal link. Every read or write of an
assignment on a learner's behalf goes through `assignment_for`, which answers
"not found" for anyone else's, so one person can never see or complete
another's training.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError
from carewall.training.errors import LearnerLinkError
from carewall.training.models import LearnerLink, StaffMember, TrainingAssignment


@dataclass(frozen=True, slots=True)
class Learner:
    """A directory entry acting on its own training, and the caller acting for it."""

    member_id: str
    name: str
    email: str
    caller: Caller
    #: The personal-link token when the learner came by link (to build the next links).
    token: str | None = None

    @property
    def base_path(self) -> str:
        """Where this learner's training pages live."""
        return f"/training/l/{self.token}" if self.token else "/training"


def token_hash(token: str) -> str:
    """Links are stored as SHA-256 of their token: a database copy holds no usable link."""
    return hashlib.sha256(token.encode()).hexdigest()


def learner_for_user(session: Session, caller: Caller) -> Learner | None:
    """The directory entry of a signed-in account (same address), if it has one."""
    if not caller.email:
        return None
    member = session.scalar(
        select(StaffMember).where(StaffMember.email == caller.email.strip().lower())
    )
    if member is None:
        return None
    return Learner(member.id, member.name, member.email, caller)


def learner_for_link(session: Session, token: str, caller: Caller) -> Learner:
    """The learner a personal link belongs to; LearnerLinkError when unknown or expired."""
    if not 20 <= len(token) <= 64:
        raise LearnerLinkError
    link = session.scalar(select(LearnerLink).where(LearnerLink.token_hash == token_hash(token)))
    if link is None or link.expires_at <= utcnow():
        raise LearnerLinkError
    member = session.get(StaffMember, link.member_id)
    if member is None or not member.active:
        raise LearnerLinkError
    as_member = dataclasses.replace(caller, ref=f"staff:{member.id}")
    return Learner(member.id, member.name, member.email, as_member, token=token)


def assignment_for(session: Session, learner: Learner, assignment_id: str) -> TrainingAssignment:
    """The learner's own assignment; NotFoundError for anyone else's or an unknown id."""
    assignment = session.get(TrainingAssignment, assignment_id)
    if assignment is None or assignment.member_id != learner.member_id:
        raise NotFoundError("There is no such assignment in your training.")
    return assignment
