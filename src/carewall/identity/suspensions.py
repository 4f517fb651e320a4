"""Suspended sessions and tokens: stopped at once, refused on every request until lifted.

The alerts domain suspends the session or token behind a ransomware-like burst
of changes on the request path (`suspend_in`, in the transaction of the change
that crossed the threshold); `web.auth` refuses each later request through it
with 403 (`refusal_for`, one indexed lookup); an administrator lifts it
(`lift`). All three are audited. Suspensions live in the database, so every
worker process sees them at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Exists, exists, select
from sqlalchemy.orm import Session

from carewall.core.clock import utcnow
from carewall.core.context import Caller, Origin, user_ref
from carewall.core.db import Database
from carewall.core.errors import NotFoundError, PermissionDeniedError
from carewall.identity.events import audit
from carewall.identity.models import Suspension
from carewall.identity.tags import IdentityTag

_ACTIVE = select(Suspension.id).where(Suspension.lifted_at.is_(None)).limit(1)


def active_for(channel: ColumnElement[str]) -> Exists:
    """Whether `channel` (an SQL expression) has an active suspension: for a lookup that
    answers it in the same statement as something else (a bearer token's own check)."""
    return exists().where(Suspension.channel == channel, Suspension.lifted_at.is_(None))


class ChannelSuspendedError(PermissionDeniedError):
    """The session or token of this request is suspended (403)."""

    code = "suspended"

    def __init__(self) -> None:
        super().__init__(
            "This session or token is suspended after unusual activity; "
            "an administrator must lift the suspension."
        )


def suspend_in(
    session: Session,
    channel: str,
    user_id: str,
    reason: str,
    *,
    actor: str,
    origin: Origin,
    now: datetime,
) -> str:
    """Suspend `channel` in the caller's transaction (a no-op when it already is);
    returns the suspension's id."""
    existing = session.scalar(
        select(Suspension).where(Suspension.channel == channel, Suspension.lifted_at.is_(None))
    )
    if existing is not None:
        return existing.id
    row = Suspension(
        channel=channel,
        user_id=user_id,
        reason=reason[:200],
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        IdentityTag.CHANNEL_SUSPENDED,
        origin,
        actor=actor,
        subject=user_ref(user_id),
        channel=channel,
        suspension=row.id,
        reason=reason[:200],
    )
    return row.id


def is_suspended(db: Database, channel: str | None) -> bool:
    """Whether requests through `channel` must be refused (one indexed read, no lock)."""
    if not channel:
        return False
    with db.lookup() as connection:
        found = connection.execute(_ACTIVE.where(Suspension.channel == channel)).first()
    return found is not None


def refuse(db: Database, caller: Caller, path: str) -> ChannelSuspendedError:
    """Audit a request refused because its channel is suspended; the error to raise."""
    with db.transaction() as session:
        audit(
            session,
            IdentityTag.CHANNEL_REFUSED,
            caller.origin,
            actor=caller.ref,
            subject=path[:200],
            channel=caller.channel or "",
        )
    return ChannelSuspendedError()


def lift(db: Database, caller: Caller, suspension_id: str) -> Suspension:
    """Lift a suspension (administrators); audited."""
    with db.transaction() as session:
        row = session.get(Suspension, suspension_id)
        if row is None:
            raise NotFoundError("No such suspension.")
        if row.lifted_at is None:
            row.lifted_at, row.lifted_by = utcnow(), caller.ref
            audit(
                session,
                IdentityTag.SUSPENSION_LIFTED,
                caller.origin,
                actor=caller.ref,
                subject=user_ref(row.user_id),
                channel=row.channel,
                suspension=row.id,
            )
        session.flush()
        session.expunge(row)
        return row


def suspensions(session: Session, *, active_only: bool = False) -> list[Suspension]:
    """Suspensions, newest first."""
    query = select(Suspension).order_by(Suspension.created_at.desc())
    if active_only:
        query = query.where(Suspension.lifted_at.is_(None))
    return list(session.scalars(query.limit(200)))


def suspension_for(session: Session, channel: str) -> Suspension | None:
    """The newest suspension of a channel, lifted or not."""
    return session.scalar(
        select(Suspension)
        .where(Suspension.channel == channel)
        .order_by(Suspension.created_at.desc())
        .limit(1)
    )


def is_suspended_in(session: Session, channel: str) -> bool:
    """`is_suspended` inside the caller's transaction."""
    return session.execute(_ACTIVE.where(Suspension.channel == channel)).first() is not None
