"""Notices shown to users on their next pages (and mailed when mail is configured)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.runtime import Runtime
from carewall.identity.models import Notice, User
from carewall.identity.roles import Role


def notify(
    session: Session, user_id: str, message: str, now: datetime, level: str = "info"
) -> None:
    """Queue a notice for one user."""
    session.add(Notice(user_id=user_id, level=level, message=message[:500], created_at=now))


def notify_admins(session: Session, message: str, now: datetime, level: str = "warning") -> None:
    """Queue a notice for every active administrator (the security officers)."""
    admins = session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.status == "active")
    )
    for admin_id in admins:
        notify(session, admin_id, message, now, level)


def unread(session: Session, user_id: str) -> list[Notice]:
    """Notices the user has not dismissed, newest first."""
    query = (
        select(Notice)
        .where(Notice.user_id == user_id, Notice.read_at.is_(None))
        .order_by(Notice.created_at.desc())
    )
    return list(session.scalars(query))


def dismiss(session: Session, user_id: str, notice_id: str, now: datetime) -> None:
    """Mark one notice read (only the owner's)."""
    notice = session.get(Notice, notice_id)
    if notice is not None and notice.user_id == user_id:
        notice.read_at = now


def alert_admins(runtime: Runtime, message: str, level: str = "warning") -> None:
    """Notify the security officers at once, in a transaction of its own."""
    with runtime.db.transaction() as session:
        notify_admins(session, message, utcnow(), level)
