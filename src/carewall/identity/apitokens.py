"""Personal API tokens for the JSON and FHIR APIs.

A token is shown once, stored as a SHA-256 digest, carries explicit scopes and
an expiry, and acts with its owner's role: it can narrow what the owner may do,
never widen it. A disabled owner's tokens stop working at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, literal, select, update

from carewall.core.clock import utcnow
from carewall.core.context import Caller, user_ref
from carewall.core.driver import DriverSelect
from carewall.core.errors import ValidationError
from carewall.core.runtime import Runtime
from carewall.identity import suspensions
from carewall.identity.events import audit_by
from carewall.identity.models import ApiToken, User
from carewall.identity.tags import IdentityTag as Tag
from carewall.identity.tokens import digest, new_secret

PREFIX = "cw_"
SCOPES = {
    "api:read": "Read through the JSON API",
    "api:write": "Change things through the JSON API",
    "fhir:read": "Read patient records through the FHIR API",
    "fhir:write": "Create and update patient records through the FHIR API",
    "mail:analyze": "Submit emails to the phishing analyzer",
}
_TOUCH = timedelta(seconds=60)


@dataclass(frozen=True)
class TokenIdentity:
    """Who a valid bearer token speaks for (plain values: it outlives the session)."""

    user_id: str
    email: str
    role: str
    token_id: str
    scopes: frozenset[str]
    #: Whether the token's channel is suspended now, looked up with the token itself
    #: (one statement per request instead of two; `suspensions.is_suspended` otherwise).
    suspended: bool = False

    @property
    def channel(self) -> str:
        """The token's channel, as `Caller.channel` names it."""
        return f"token:{self.token_id}"


def create_token(
    runtime: Runtime,
    caller: Caller,
    user_id: str,
    name: str,
    scopes: list[str],
    *,
    days: int | None = None,
) -> tuple[str, ApiToken]:
    """Issue a token to `user_id` (the caller themselves, or by the CLI); returns the
    secret (shown once) and its record."""
    unknown = sorted(set(scopes) - SCOPES.keys())
    if unknown or not scopes:
        raise ValidationError(
            f"Unknown or missing scopes {unknown}; choose from {', '.join(sorted(SCOPES))}."
        )
    lifetime = days if days is not None else runtime.settings.token_days
    if not 1 <= lifetime <= 365:
        raise ValidationError("A token lasts between 1 and 365 days.")
    secret, now = new_secret(PREFIX), utcnow()
    with runtime.db.transaction() as session:
        owner = session.get(User, user_id)
        if owner is None or owner.status != "active":
            raise ValidationError("Tokens can only be created for active users.")
        token = ApiToken(
            user_id=user_id,
            name=name.strip()[:60] or "API token",
            prefix=secret[:10],
            token_hash=digest(secret),
            scopes=sorted(set(scopes)),
            created_at=now,
            expires_at=now + timedelta(days=lifetime),
        )
        session.add(token)
        session.flush()
        audit_by(
            session,
            Tag.TOKEN_CREATED,
            caller,
            subject=user_ref(user_id),
            token=token.id,
            scopes=token.scopes,
            days=lifetime,
        )
    return secret, token


# Built once, columns only, run on the driver: every API request looks its token up, and
# loading two ORM entities cost more than the rest of a FHIR read.
_BY_HASH = DriverSelect(
    select(
        ApiToken.id,
        ApiToken.scopes,
        ApiToken.revoked_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        User.id,
        User.email,
        User.role,
        User.status,
        User.locked,
        suspensions.active_for(literal("token:") + ApiToken.id),
    )
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
_TOUCH_TOKEN = (
    update(ApiToken)
    .where(ApiToken.id == bindparam("token_id"))
    .values(last_used_at=bindparam("now"))
)


def authenticate(runtime: Runtime, secret: str) -> TokenIdentity | None:
    """The identity behind a bearer token, or None (unknown, expired, revoked, disabled)."""
    if not secret.startswith(PREFIX):
        return None
    now = utcnow()
    # No ORM, and no write lock: this runs on every request. The rare touch of
    # `last_used_at` is a short writing transaction of its own, skipped when busy.
    with runtime.db.lookup() as connection:
        found = _BY_HASH.first(connection, {"token_hash": digest(secret)})
    if found is None:
        return None
    token_id, scopes, revoked_at, expires_at, last_used_at = found[:5]
    user_id, email, role, status, locked, suspended = found[5:]
    if revoked_at is not None or expires_at <= now:
        return None
    if status != "active" or locked:
        return None
    if last_used_at is None or now - last_used_at >= _TOUCH:
        # Best effort: while another writer holds SQLite's lock the touch is skipped
        # (the next request a minute on tries again), so a token's read never waits
        # for, or fails on, a write that is only bookkeeping.
        runtime.db.write_if_free(_TOUCH_TOKEN, {"token_id": token_id, "now": now})
    return TokenIdentity(user_id, email, role, token_id, frozenset(scopes), bool(suspended))


def revoke_token(runtime: Runtime, caller: Caller, user_id: str, token_id: str) -> None:
    """Revoke one of a user's tokens."""
    with runtime.db.transaction() as session:
        token = session.get(ApiToken, token_id)
        if token is None or token.user_id != user_id:
            raise ValidationError("No such token.", status=404)
        token.revoked_at = token.revoked_at or utcnow()
        audit_by(session, Tag.TOKEN_REVOKED, caller, subject=user_ref(user_id), token=token_id)


def tokens_of(runtime: Runtime, user_id: str) -> list[ApiToken]:
    """A user's tokens, newest first."""
    with runtime.db.sessions() as session:
        query = (
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
        )
        return list(session.scalars(query))
