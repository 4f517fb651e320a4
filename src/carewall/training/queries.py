"""Read side of training: the directory, assignments, completion figures, evidence for risk."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.training.content import modules
from carewall.training.groups import group_members
from carewall.training.models import StaffGroup, StaffMember, TrainingAssignment

OPEN, PASSED, FAILED = "assigned", "passed", "failed"


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A directory entry as lists show it."""

    id: str
    email: str
    name: str
    department: str
    role: str
    manager_email: str
    start_date: str
    has_login: bool
    source: str
    active: bool


@dataclass(frozen=True, slots=True)
class AssignmentRow:
    """An assignment with the person and module it is about."""

    id: str
    member_id: str
    email: str
    name: str
    department: str
    module_id: str
    module_title: str
    reason: str
    status: str
    assigned_at: datetime
    due_at: datetime
    completed_at: datetime | None
    attempts: int
    best_score: int | None
    certificate: str | None
    overdue: bool


@dataclass(frozen=True, slots=True)
class Completion:
    """Completion of one slice (a module, a department, a group)."""

    label: str
    assigned: int
    passed: int
    overdue: int

    @property
    def share(self) -> float:
        """Passed over assigned (1.0 when nothing is assigned)."""
        return self.passed / self.assigned if self.assigned else 1.0


def _member_row(member: StaffMember) -> MemberRow:
    return MemberRow(
        id=member.id,
        email=member.email,
        name=member.name,
        department=member.department,
        role=member.role,
        manager_email=member.manager_email,
        start_date=member.start_date.isoformat() if member.start_date else "",
        has_login=member.user_id is not None,
        source=member.source,
        active=member.active,
    )


def directory(session: Session) -> list[MemberRow]:
    """Everyone in the staff directory, by e-mail."""
    return [
        _member_row(m) for m in session.scalars(select(StaffMember).order_by(StaffMember.email))
    ]


def member(session: Session, member_id: str) -> MemberRow | None:
    """One directory entry."""
    found = session.get(StaffMember, member_id)
    return _member_row(found) if found else None


def member_by_email(session: Session, email: str) -> MemberRow | None:
    """The entry with this address."""
    found = session.scalar(select(StaffMember).where(StaffMember.email == email.strip().lower()))
    return _member_row(found) if found else None


def assignments(
    session: Session, *, member_id: str | None = None, now: datetime | None = None
) -> list[AssignmentRow]:
    """Assignments (of one person, or everyone), open ones first, then by due date."""
    now = now or utcnow()
    query = select(TrainingAssignment, StaffMember).join(
        StaffMember, StaffMember.id == TrainingAssignment.member_id
    )
    if member_id:
        query = query.where(TrainingAssignment.member_id == member_id)
    titles = {m.id: m.title for m in modules().values()}
    rows = [
        AssignmentRow(
            id=a.id,
            member_id=m.id,
            email=m.email,
            name=m.name,
            department=m.department,
            module_id=a.module_id,
            module_title=titles.get(a.module_id, a.module_id),
            reason=a.reason,
            status=a.status,
            assigned_at=a.assigned_at,
            due_at=a.due_at,
            completed_at=a.completed_at,
            attempts=a.attempts,
            best_score=a.best_score,
            certificate=a.certificate,
            overdue=a.status != PASSED and a.due_at < now,
        )
        for a, m in session.execute(query)
    ]
    rows.sort(key=lambda r: (r.status == PASSED, r.due_at, r.email))
    return rows


def assigned_modules(session: Session, member_id: str, reason: str | None = None) -> list[str]:
    """Module ids assigned to a person (optionally for one reason), oldest first."""
    query = select(TrainingAssignment.module_id).where(TrainingAssignment.member_id == member_id)
    if reason:
        query = query.where(TrainingAssignment.reason == reason)
    return list(session.scalars(query.order_by(TrainingAssignment.assigned_at)))


def _completion(label: str, rows: list[AssignmentRow]) -> Completion:
    return Completion(
        label=label,
        assigned=len(rows),
        passed=sum(r.status == PASSED for r in rows),
        overdue=sum(r.overdue for r in rows),
    )


def completion_by_module(rows: list[AssignmentRow]) -> list[Completion]:
    """Completion per module, in the library's order."""
    by: dict[str, list[AssignmentRow]] = defaultdict(list)
    for row in rows:
        by[row.module_id].append(row)
    return [_completion(m.title, by[m.id]) for m in modules().values() if by.get(m.id)]


def completion_by_department(rows: list[AssignmentRow]) -> list[Completion]:
    """Completion per department (people without one under "No department")."""
    by: dict[str, list[AssignmentRow]] = defaultdict(list)
    for row in rows:
        by[row.department or "No department"].append(row)
    return [_completion(label, by[label]) for label in sorted(by)]


def completion_by_person(rows: list[AssignmentRow]) -> list[Completion]:
    """Completion per person (labelled by e-mail)."""
    by: dict[str, list[AssignmentRow]] = defaultdict(list)
    for row in rows:
        by[row.email].append(row)
    return [_completion(label, by[label]) for label in sorted(by)]


def completion_by_group(session: Session, rows: list[AssignmentRow]) -> list[Completion]:
    """Completion per defined group."""
    by_member: dict[str, list[AssignmentRow]] = defaultdict(list)
    for row in rows:
        by_member[row.member_id].append(row)
    result = []
    for group in session.scalars(select(StaffGroup).order_by(StaffGroup.name)):
        members = group_members(session, group)
        result.append(_completion(group.name, [r for m in members for r in by_member[m.id]]))
    return result


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A group with its current size."""

    id: str
    name: str
    kind: str
    rule: str
    members: frozenset[str]

    @property
    def size(self) -> int:
        """How many active people the group holds now."""
        return len(self.members)


def groups(session: Session) -> list[GroupRow]:
    """Every group with the ids of the active people it holds now."""
    return [
        GroupRow(g.id, g.name, g.kind, g.rule, frozenset(m.id for m in group_members(session, g)))
        for g in session.scalars(select(StaffGroup).order_by(StaffGroup.name))
    ]


def departments(session: Session) -> list[str]:
    """Departments named in the directory."""
    query = select(StaffMember.department).where(StaffMember.department != "").distinct()
    return sorted(session.scalars(query))


def training_evidence(session: Session, now: datetime | None = None) -> dict[str, Any]:
    """What the risk assessment reads: completion and overdue training, measured now.

    `as_of` is None until anything has been assigned (nothing was measured).
    """
    now = now or utcnow()
    rows = assignments(session, now=now)
    people = session.scalar(
        select(func.count()).select_from(StaffMember).where(StaffMember.active.is_(True))
    )
    passed = sum(r.status == PASSED for r in rows)
    return {
        "as_of": now.isoformat() if rows else None,
        "staff_in_directory": int(people or 0),
        "assignments": len(rows),
        "completed": passed,
        "completion_rate": round(passed / len(rows), 4) if rows else None,
        "completion_percentage": round(100 * passed / len(rows), 1) if rows else None,
        "overdue_count": sum(r.overdue for r in rows),
        "people_overdue": len({r.member_id for r in rows if r.overdue}),
    }


def remedial_modules(session: Session, sources: list[str]) -> dict[str, list[str]]:
    """Modules assigned as remedial training per source (a campaign recipient id)."""
    found: dict[str, list[str]] = defaultdict(list)
    if not sources:
        return found
    prefixes = {f"remedial:{s}:": s for s in sources}
    query = select(TrainingAssignment.dedupe, TrainingAssignment.module_id).where(
        TrainingAssignment.reason == "remedial", TrainingAssignment.dedupe.is_not(None)
    )
    for dedupe, module_id in session.execute(query.order_by(TrainingAssignment.assigned_at)):
        source = prefixes.get(str(dedupe).rsplit(":", 1)[0] + ":")
        if source is not None:
            found[source].append(module_id)
    return found
