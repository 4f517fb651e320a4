"""Groups of staff: a department, a role, or people picked by hand.

Department and role groups are rules, evaluated when used, so someone who
joins the department is in the group without anyone editing it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.context import Caller
from carewall.core.errors import NotFoundError, ValidationError
from carewall.core.runtime import Runtime
from carewall.training.events import audit
from carewall.training.models import NAME_CHARS, StaffGroup, StaffGroupMember, StaffMember
from carewall.training.tags import TrainingTag

KINDS = ("department", "role", "manual")


def create_group(runtime: Runtime, caller: Caller, name: str, kind: str, rule: str = "") -> str:
    """A new group; department and role groups need the department or role they match."""
    name, rule = " ".join(name.split()), " ".join(rule.split())
    if not name or len(name) > NAME_CHARS:
        raise ValidationError(f"Give the group a name of at most {NAME_CHARS} characters.")
    if kind not in KINDS:
        raise ValidationError(f"A group is one of: {', '.join(KINDS)}.")
    if kind != "manual" and not rule:
        raise ValidationError(f"Say which {kind} the group holds.")
    with runtime.db.transaction() as session:
        if session.scalar(select(StaffGroup.id).where(func.lower(StaffGroup.name) == name.lower())):
            raise ValidationError(f"A group called {name!r} exists already.")
        group = StaffGroup(
            name=name, kind=kind, rule=rule if kind != "manual" else "", created_at=utcnow()
        )
        session.add(group)
        session.flush()
        audit(session, TrainingTag.GROUP_CREATED, caller, subject=f"group:{group.id}", kind=kind)
        return group.id


def set_members(runtime: Runtime, caller: Caller, group_id: str, member_ids: Iterable[str]) -> int:
    """Replace a hand-picked group's members; returns how many it now has."""
    wanted = sorted(set(member_ids))
    with runtime.db.transaction() as session:
        group = session.get(StaffGroup, group_id)
        if group is None:
            raise NotFoundError("There is no such group.")
        if group.kind != "manual":
            raise ValidationError(
                "Department and role groups follow the directory; edit people instead."
            )
        known = set(session.scalars(select(StaffMember.id).where(StaffMember.id.in_(wanted))))
        if known != set(wanted):
            raise NotFoundError("Some of those people are not in the staff directory.")
        session.execute(delete(StaffGroupMember).where(StaffGroupMember.group_id == group_id))
        session.add_all(StaffGroupMember(group_id=group_id, member_id=m) for m in wanted)
        audit(
            session,
            TrainingTag.GROUP_CHANGED,
            caller,
            subject=f"group:{group_id}",
            members=len(wanted),
        )
    return len(wanted)


def _rule_members(session: Session, column: str, value: str) -> list[StaffMember]:
    attribute = getattr(StaffMember, column)
    query = select(StaffMember).where(
        StaffMember.active.is_(True), func.lower(attribute) == value.strip().lower()
    )
    return list(session.scalars(query.order_by(StaffMember.email)))


def group_members(session: Session, group: StaffGroup) -> list[StaffMember]:
    """The active people a group holds now."""
    if group.kind in ("department", "role"):
        return _rule_members(session, group.kind, group.rule)
    query = (
        select(StaffMember)
        .join(StaffGroupMember, StaffGroupMember.member_id == StaffMember.id)
        .where(StaffGroupMember.group_id == group.id, StaffMember.active.is_(True))
        .order_by(StaffMember.email)
    )
    return list(session.scalars(query))


def members_named(session: Session, name: str) -> list[StaffMember]:
    """The people of the group called `name`, or else of the department or role of that name.

    "everyone" (or "all") is every active person in the directory.
    """
    wanted = name.strip()
    if wanted.lower() in ("everyone", "all"):
        query = select(StaffMember).where(StaffMember.active.is_(True)).order_by(StaffMember.email)
        return list(session.scalars(query))
    group = session.scalar(select(StaffGroup).where(func.lower(StaffGroup.name) == wanted.lower()))
    if group is not None:
        return group_members(session, group)
    for column in ("department", "role"):
        found = _rule_members(session, column, wanted)
        if found:
            return found
    known = sorted(session.scalars(select(StaffGroup.name)))
    departments = sorted(d for d in session.scalars(select(StaffMember.department).distinct()) if d)
    raise NotFoundError(
        f"No group, department or role is called {wanted!r}. Groups: {', '.join(known) or 'none'}; "
        f"departments: {', '.join(departments) or 'none'}; or 'everyone'."
    )
