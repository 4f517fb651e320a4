"""Browser sessions: opaque random ids, stored hashed, with idle and absolute limits.

A session moves through stages: `mfa` (password accepted, second factor
pending), `enroll` (password accepted, the user must enrol a factor before
anything else) and `full`. Each stage change issues a new id (no fixation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from carewall.core.config import Settings
from carewall.core.context import Origin, user_ref
from carewall.core.db import Database
from carewall.identity.events import audit
from carewall.identity.models import User, WebSession
from carewall.identity.roles import Role
from carewall.identity.tags import IdentityTag
from carewall.identity.tokens import digest, new_secret

# Writing last_seen on every request would turn every page view into a write;
# a minute of slack is invisible next to a 15-minute idle limit. The slack errs
# towards signing out early (the deadline counts from the last write), and is a
# tenth of the limit at most, so short limits never sign out someone at work.
_TOUCH_INTERVAL = timedelta(seconds=60)
_TOUCH_SHARE = 10


class Stage(StrEnum):
    """How far sign-in has got."""

    MFA = "mfa"
    ENROLL = "enroll"
    FULL = "full"


@dataclass(frozen=True)
class ActiveSession:
    """A resolved session and its user, as request handlers see them."""

    session: WebSession
    user: User

    @property
    def role(self) -> Role:
        """The user's role."""
        return Role(self.user.role)

    @property
    def stage(self) -> Stage:
        """Sign-in stage."""
        return Stage(self.session.stage)


def idle_limit(settings: Settings, role: str) -> timedelta:
    """Idle timeout for a role (HIPAA automatic logoff)."""
    minutes = (
        settings.session_idle_minutes_patient
        if role == Role.PATIENT
        else settings.session_idle_minutes_staff
    )
    return timedelta(minutes=minutes)


def _touch_interval(settings: Settings, role: str) -> timedelta:
    return min(_TOUCH_INTERVAL, idle_limit(settings, role) / _TOUCH_SHARE)


def expiry(settings: Settings, row: WebSession, role: str, now: datetime) -> str | None:
    """Why a session is over at `now` ("absolute" or "idle"), or None while it lives."""
    if now >= row.expires_at:
        return "absolute"
    if now >= row.last_seen_at + idle_limit(settings, role):
        return "idle"
    return None


def create(
    session: Session,
    settings: Settings,
    user: User,
    stage: Stage,
    origin: Origin,
    now: datetime,
    *,
    mfa_at: datetime | None = None,
) -> tuple[str, WebSession]:
    """Start a session; returns the cookie value (shown once) and the row."""
    token = new_secret()
    row = WebSession(
        token_hash=digest(token),
        user_id=user.id,
        stage=stage,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        mfa_at=mfa_at,
        ip=origin.ip[:64],
        user_agent=origin.user_agent[:300],
    )
    session.add(row)
    session.flush()
    return token, row


def rotate(session: Session, row: WebSession, stage: Stage, now: datetime) -> str:
    """New id for the same session (after a stage change or privilege change)."""
    token = new_secret()
    row.token_hash = digest(token)
    row.stage = stage
    row.last_seen_at = now
    return token


def resolve(
    db: Database,
    settings: Settings,
    token: str,
    now: datetime,
    *,
    touch: bool = True,
    origin: Origin | None = None,
) -> ActiveSession | None:
    """The live session for a cookie value, or None when unknown, expired or disabled.

    Runs on every browser request, so it reads without taking a write lock and
    writes (briefly) only when it must. Expired sessions are ended on sight (and
    audited, like the sweep does for those nobody comes back to), so a stolen
    cookie stops working at the limit even if nobody signs out. `touch=False`
    reads without counting as activity (the page timer asking how long is left);
    otherwise `last_seen_at` is refreshed at most every `_touch_interval`.
    """
    with db.read_transaction() as session:
        found = session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.token_hash == digest(token))
        ).first()
    if found is None:
        return None
    row, user = found
    reason = expiry(settings, row, user.role, now)
    if reason is not None:
        with db.transaction() as session:
            _end_expired(session, settings, row, user.role, reason, origin)
        return None
    if user.status != "active" or user.locked:
        with db.transaction() as session:
            session.execute(delete(WebSession).where(WebSession.id == row.id))
        return None
    if touch and now - row.last_seen_at >= _touch_interval(settings, user.role):
        seen = update(WebSession).where(WebSession.id == row.id).values(last_seen_at=now)
        with db.transaction() as session:
            if session.execute(seen).rowcount != 1:  # type: ignore[attr-defined]
                return None  # signed out or revoked meanwhile
        row.last_seen_at = now
    return ActiveSession(row, user)


def end_expired(session: Session, settings: Settings, now: datetime, origin: Origin) -> int:
    """End every session past its idle or absolute limit (the server's own automatic
    logoff, for browsers that never come back); returns how many ended."""
    shortest = min(idle_limit(settings, Role.PATIENT), idle_limit(settings, Role.CLINICIAN))
    candidates = session.execute(
        select(WebSession, User.role)
        .join(User, User.id == WebSession.user_id)
        .where((WebSession.expires_at <= now) | (WebSession.last_seen_at <= now - shortest))
    ).all()
    ended = 0
    for row, role in candidates:
        reason = expiry(settings, row, role, now)
        if reason is not None and _end_expired(session, settings, row, role, reason, origin):
            ended += 1
    return ended


def _end_expired(
    session: Session,
    settings: Settings,
    row: WebSession,
    role: str,
    reason: str,
    origin: Origin | None,
) -> bool:
    """Delete an expired session and audit its end once (whoever gets there first)."""
    result = session.execute(delete(WebSession).where(WebSession.id == row.id))
    if not getattr(result, "rowcount", 0):
        return False
    ended_at = row.expires_at
    if reason == "idle":
        ended_at = row.last_seen_at + idle_limit(settings, role)
    ref = user_ref(row.user_id)
    audit(
        session,
        IdentityTag.SESSION_EXPIRED,
        origin or Origin(),
        actor="system",
        subject=ref,
        reason=reason,
        ended_at=ended_at.isoformat(),
    )
    return True


def seconds_left(settings: Settings, active: ActiveSession, now: datetime) -> int:
    """Seconds until idle or absolute logoff, whichever comes first (for the page warning)."""
    idle = active.session.last_seen_at + idle_limit(settings, active.user.role)
    return max(0, int((min(idle, active.session.expires_at) - now).total_seconds()))


def for_user(session: Session, settings: Settings, user: User, now: datetime) -> list[WebSession]:
    """A user's live sessions, newest activity first (ended ones are not listed)."""
    query = (
        select(WebSession)
        .where(WebSession.user_id == user.id)
        .order_by(WebSession.last_seen_at.desc())
    )
    return [row for row in session.scalars(query) if expiry(settings, row, user.role, now) is None]


def end_all(session: Session, user_id: str, *, except_id: str | None = None) -> int:
    """End every session of a user (optionally keeping the current one)."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if except_id is not None:
        query = query.where(WebSession.id != except_id)
    result = session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)
