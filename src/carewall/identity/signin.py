"""Signing in: password step, second-factor step, step-up and sign-out.

Every attempt is throttled before anything is verified, audited whatever its
outcome, and answered with the same generic message whether the account is
unknown, the password wrong, or the attempt throttled. Unknown accounts cost
a dummy Argon2 verification so timing does not reveal which emails exist.

Failures are committed (counters, audit) before the error is raised: a
rollback must never erase the evidence of an attack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carewall.audit import Outcome
from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Origin, user_ref
from carewall.core.errors import CarewallError
from carewall.core.runtime import Runtime
from carewall.identity import factors, notices, passwords, policy, sessions, throttle
from carewall.identity.errors import (
    GENERIC_LOGIN_FAILURE,
    GENERIC_MFA_FAILURE,
    AuthenticationError,
    ThrottledError,
)
from carewall.identity.events import audit
from carewall.identity.models import User, WebSession
from carewall.identity.roles import Role
from carewall.identity.sessions import ActiveSession, Stage
from carewall.identity.tags import IdentityTag as Tag


@dataclass
class SignInResult:
    """Where sign-in stands: the new cookie value, the stage and messages for the user."""

    token: str
    stage: Stage
    user_id: str
    warnings: list[str] = field(default_factory=list)


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def _fail(failure: CarewallError | None) -> None:
    if failure is not None:
        raise failure


def sign_in_with_password(
    runtime: Runtime, email: str, password: str, origin: Origin
) -> SignInResult:
    """First step: check the password and start a session at the right stage.

    Three steps, so that no database lock is held while Argon2 runs (a fraction
    of a second of CPU, and the dummy verification costs the same for unknown
    emails): read the account and the throttle verdict, verify the password
    outside any transaction, then record the outcome in one short writing
    transaction that checks the throttle again, so concurrent attempts cannot
    get past the limits.
    """
    settings, now, email = runtime.settings, utcnow(), normalise_email(email)
    with runtime.db.read_transaction() as session:
        user = session.scalar(select(User).where(User.email == email))
        first = _password_verdict(session, settings, user, email, origin, now)
    attempt = _verify_outside(user, password) if first.allowed else _dummy_attempt(password)
    failure: CarewallError | None = None
    result: SignInResult | None = None
    with runtime.db.transaction() as session:
        user = session.scalar(select(User).where(User.email == email))
        verdict = first
        if first.allowed:  # again: attempts running meanwhile may have reached a limit
            verdict = _password_verdict(session, settings, user, email, origin, now)
        if not verdict.allowed:
            _audit_throttled(session, Tag.LOGIN_THROTTLED, origin, user, verdict)
            failure = ThrottledError(GENERIC_LOGIN_FAILURE, verdict.retry_after)
        else:
            result = _check_password(runtime, session, user, email, attempt, origin, now)
            if result is None:
                failure = AuthenticationError(GENERIC_LOGIN_FAILURE)
    _fail(failure)
    assert result is not None
    return result


def _password_verdict(
    session: Session,
    settings: Settings,
    user: User | None,
    email: str,
    origin: Origin,
    now: datetime,
) -> throttle.Verdict:
    return throttle.check(
        session,
        settings,
        kind=throttle.Kind.PASSWORD,
        account=email,
        ip=origin.ip,
        now=now,
        consecutive_failures=user.consecutive_failures if user else 0,
        last_success=user.last_login_at if user else None,
    )


@dataclass(frozen=True)
class _Attempt:
    """What the password verification found, against which stored hash."""

    verified_hash: str | None  # the hash the password matched, None when it matched none
    new_hash: str | None = None  # a rehash with current parameters, when one is due


def _verify_outside(user: User | None, password: str) -> _Attempt:
    """Argon2, outside any transaction; unknown and unusable accounts cost the same time."""
    if user is None or not _usable(user) or user.password_hash is None:
        return _dummy_attempt(password)
    check = passwords.verify_password(user.password_hash, password)
    return _Attempt(user.password_hash if check.ok else None, check.new_hash)


def _usable(user: User) -> bool:
    """Whether a password may sign this account in: active, unlocked, a person with a
    password (an integration account is token-only, whatever its row holds)."""
    person = Role(user.role).is_person
    return person and user.status == "active" and not user.locked and bool(user.password_hash)


def _dummy_attempt(password: str) -> _Attempt:
    """A throttled or impossible attempt still spends a verification's time."""
    passwords.dummy_verify(password)
    return _Attempt(None)


def _check_password(
    runtime: Runtime,
    session: Session,
    user: User | None,
    email: str,
    attempt: _Attempt,
    origin: Origin,
    now: datetime,
) -> SignInResult | None:
    """Decide on the account as it is now: the verified hash must still be its hash."""
    if user is None or not _usable(user):
        reason = "unknown_account" if user is None else f"account_{user.status}"
        if user is not None and user.locked:
            reason = "account_locked"
        if user is not None and not Role(user.role).is_person:
            reason = "token_only"
        _password_failed(session, runtime, user, email, origin, now, reason)
        return None
    if attempt.verified_hash is None or attempt.verified_hash != user.password_hash:
        _password_failed(session, runtime, user, email, origin, now, "bad_password")
        return None
    if attempt.new_hash is not None:
        user.password_hash = attempt.new_hash  # transparent upgrade of hash parameters
    user.consecutive_failures = 0
    return _start_session(runtime, session, user, origin, now)


def _start_session(
    runtime: Runtime, session: Session, user: User, origin: Origin, now: datetime
) -> SignInResult:
    summary = factors.summary(session, user.id)
    if summary.any_second_factor:
        stage = Stage.MFA
    elif policy.mfa_required(session, runtime.settings, user.role):
        stage = Stage.ENROLL
    else:
        stage = Stage.FULL
        user.last_login_at = now
    token, _ = sessions.create(session, runtime.settings, user, stage, origin, now)
    ref = user_ref(user.id)
    tag = Tag.LOGIN_SUCCESS if stage is Stage.FULL else Tag.PASSWORD_VERIFIED
    audit(session, tag, origin, actor=ref, subject=ref, factor="password", next=str(stage))
    return SignInResult(token, stage, user.id)


def _password_failed(
    session: Session,
    runtime: Runtime,
    user: User | None,
    email: str,
    origin: Origin,
    now: datetime,
    reason: str,
) -> None:
    throttle.record_failure(
        session, kind=throttle.Kind.PASSWORD, account=email, ip=origin.ip, now=now
    )
    subject = user_ref(user.id) if user else ""
    audit(
        session,
        Tag.LOGIN_FAILURE,
        origin,
        actor=subject or "anonymous",
        subject=subject,
        outcome=Outcome.FAILURE,
        reason=reason,
    )
    if user is not None and reason == "bad_password":
        _count_consecutive(session, user, origin, now)
    _check_ip(session, runtime, origin, now)


def _count_consecutive(session: Session, user: User, origin: Origin, now: datetime) -> None:
    user.consecutive_failures += 1
    if user.consecutive_failures >= throttle.HARD_LOCK_AFTER and not user.locked:
        user.locked = True
        sessions.end_all(session, user.id)
        audit(
            session,
            Tag.ACCOUNT_LOCKED,
            origin,
            actor="system",
            subject=user_ref(user.id),
            outcome=Outcome.DENIED,
            consecutive_failures=user.consecutive_failures,
        )
        notices.notify_admins(
            session,
            f"An account was locked after {user.consecutive_failures} failed sign-ins in a row. "
            "Review it under Users.",
            now,
        )


def _check_ip(session: Session, runtime: Runtime, origin: Origin, now: datetime) -> None:
    """Audit once when an address crosses into credential-stuffing territory."""
    session.flush()
    verdict = throttle.check(
        session,
        runtime.settings,
        kind=throttle.Kind.PASSWORD,
        account="",
        ip=origin.ip,
        now=now,
    )
    if not verdict.allowed and verdict.scope in {"ip", "ip-accounts"}:
        audit(
            session,
            Tag.IP_THROTTLED,
            origin,
            actor="anonymous",
            outcome=Outcome.DENIED,
            scope=verdict.scope,
            retry_after=verdict.retry_after,
        )


def _audit_throttled(
    session: Session, tag: Tag, origin: Origin, user: User | None, verdict: throttle.Verdict
) -> None:
    subject = user_ref(user.id) if user else ""
    audit(
        session,
        tag,
        origin,
        actor=subject or "anonymous",
        subject=subject,
        outcome=Outcome.DENIED,
        scope=verdict.scope,
        retry_after=verdict.retry_after,
    )


def verify_second_factor(
    runtime: Runtime, active: ActiveSession, code: str, origin: Origin
) -> SignInResult:
    """Second step: a TOTP code or a recovery code completes sign-in."""
    settings, now = runtime.settings, utcnow()
    failure: CarewallError | None = None
    result: SignInResult | None = None
    with runtime.db.transaction() as session:
        row = session.merge(active.session)
        user = session.merge(active.user)
        verdict = throttle.check(
            session,
            settings,
            kind=throttle.Kind.MFA,
            account=user.email,
            ip=origin.ip,
            now=now,
            consecutive_failures=user.consecutive_failures,
            last_success=user.last_login_at,
        )
        if not verdict.allowed:
            _audit_throttled(session, Tag.MFA_THROTTLED, origin, user, verdict)
            failure = ThrottledError(GENERIC_MFA_FAILURE, verdict.retry_after)
        else:
            warnings = _check_code(runtime, session, user, code, origin, now)
            if warnings is None:
                failure = AuthenticationError(GENERIC_MFA_FAILURE)
            else:
                token = sessions.rotate(session, row, Stage.FULL, now)
                row.mfa_at = now
                user.last_login_at = now
                user.consecutive_failures = 0
                audit(
                    session,
                    Tag.LOGIN_SUCCESS,
                    origin,
                    actor=user_ref(user.id),
                    subject=user_ref(user.id),
                    factor="mfa",
                )
                result = SignInResult(token, Stage.FULL, user.id, warnings)
    _fail(failure)
    assert result is not None
    return result


def _check_code(
    runtime: Runtime, session: Session, user: User, code: str, origin: Origin, now: datetime
) -> list[str] | None:
    """Warnings (possibly none) when the code is good, None when it is not."""
    keys, ref = runtime.keys, user_ref(user.id)
    if factors.looks_like_recovery_code(code):
        if factors.use_recovery_code(session, keys, user.id, code, now):
            return _recovery_used(session, user, origin, now)
        method = "recovery_code"
    else:
        device = factors.check_any_totp(session, keys, user.id, code, now)
        if device is not None:
            audit(session, Tag.MFA_SUCCESS, origin, actor=ref, subject=ref, method="totp")
            return []
        method = "totp"
    throttle.record_failure(
        session, kind=throttle.Kind.MFA, account=user.email, ip=origin.ip, now=now
    )
    audit(
        session,
        Tag.MFA_FAILURE,
        origin,
        actor=ref,
        subject=ref,
        outcome=Outcome.FAILURE,
        method=method,
    )
    _count_consecutive(session, user, origin, now)
    return None


def _recovery_used(session: Session, user: User, origin: Origin, now: datetime) -> list[str]:
    session.flush()
    left = factors.summary(session, user.id).recovery_left
    ref = user_ref(user.id)
    audit(session, Tag.RECOVERY_USED, origin, actor=ref, subject=ref, remaining=left)
    audit(session, Tag.MFA_SUCCESS, origin, actor=ref, subject=ref, method="recovery_code")
    warning = (
        f"You signed in with a recovery code. {left} codes are left. If you lost your "
        "authenticator, add a new one and make new recovery codes on the Account security page."
    )
    if left < factors.RECOVERY_LOW_WATER:
        notices.notify_admins(
            session, f"A user has only {left} recovery codes left ({user.email}).", now
        )
    return [warning]


def step_up_fresh(runtime: Runtime, active: ActiveSession) -> bool:
    """Whether the session proved a second factor recently enough for sensitive actions."""
    mfa_at = active.session.mfa_at
    window = timedelta(minutes=runtime.settings.step_up_minutes)
    return mfa_at is not None and utcnow() - mfa_at <= window


def step_up(runtime: Runtime, active: ActiveSession, secret: str, origin: Origin) -> str:
    """Re-authenticate for a sensitive action: a second factor, or the password when the
    user has none (only possible where policy leaves MFA optional).

    Returns the session's new id: a privilege change, so an id copied before it dies."""
    now = utcnow()
    matched = _password_outside(runtime, active, secret)
    failure: CarewallError | None = None
    token = ""
    with runtime.db.transaction() as session:
        row = session.merge(active.session)
        user = session.merge(active.user)
        verdict = throttle.check(
            session,
            runtime.settings,
            kind=throttle.Kind.MFA,
            account=user.email,
            ip=origin.ip,
            now=now,
            consecutive_failures=user.consecutive_failures,
        )
        if not verdict.allowed:
            _audit_throttled(session, Tag.MFA_THROTTLED, origin, user, verdict)
            failure = ThrottledError(GENERIC_MFA_FAILURE, verdict.retry_after)
        elif _step_up_ok(runtime, session, user, secret, origin, now, matched):
            token = sessions.rotate(session, row, Stage.FULL, now)
            row.mfa_at = now
            audit(session, Tag.STEP_UP, origin, actor=user_ref(user.id), subject=user_ref(user.id))
        else:
            failure = AuthenticationError(GENERIC_MFA_FAILURE)
    _fail(failure)
    return token


def _password_outside(runtime: Runtime, active: ActiveSession, secret: str) -> str | None:
    """For a user without a second factor: the stored hash `secret` matched, verified
    before any writing transaction (Argon2 takes a fraction of a second); else None."""
    with runtime.db.read_transaction() as session:
        if factors.summary(session, active.user.id).any_second_factor:
            return None
        stored = session.scalar(select(User.password_hash).where(User.id == active.user.id))
    if stored is None or not passwords.verify_password(stored, secret).ok:
        return None
    return stored


def _step_up_ok(
    runtime: Runtime,
    session: Session,
    user: User,
    secret: str,
    origin: Origin,
    now: datetime,
    matched: str | None,
) -> bool:
    if factors.summary(session, user.id).any_second_factor:
        return _check_code(runtime, session, user, secret, origin, now) is not None
    ok = matched is not None and matched == user.password_hash
    if not ok:
        throttle.record_failure(
            session, kind=throttle.Kind.MFA, account=user.email, ip=origin.ip, now=now
        )
    return ok


def sign_out(runtime: Runtime, active: ActiveSession, origin: Origin, reason: str = "") -> None:
    """End this session (`reason` "idle" when the page's automatic logoff did it)."""
    with runtime.db.transaction() as session:
        row = session.get(WebSession, active.session.id)
        if row is not None:
            session.delete(row)
        ref = user_ref(active.user.id)
        if reason:
            audit(session, Tag.LOGOUT, origin, actor=ref, subject=ref, reason=reason)
        else:
            audit(session, Tag.LOGOUT, origin, actor=ref, subject=ref)


def complete_enrolment(
    runtime: Runtime, session: Session, active: ActiveSession, origin: Origin
) -> str:
    """After a first factor is enrolled in the `enroll` stage: the session becomes full."""
    now = utcnow()
    row = session.merge(active.session)
    user = session.merge(active.user)
    token = sessions.rotate(session, row, Stage.FULL, now)
    row.mfa_at = now
    user.last_login_at = now
    ref = user_ref(user.id)
    audit(session, Tag.LOGIN_SUCCESS, origin, actor=ref, subject=ref, factor="enrolment")
    return token


def revoke_session(runtime: Runtime, user_id: str, session_id: str, origin: Origin) -> bool:
    """Sign out one of the user's sessions; False when it had already ended."""
    ref = user_ref(user_id)
    with runtime.db.transaction() as session:
        row = session.get(WebSession, session_id)
        if row is None or row.user_id != user_id:
            return False
        session.delete(row)
        audit(session, Tag.SESSION_REVOKED, origin, actor=ref, subject=ref, count=1)
    return True


def revoke_other_sessions(runtime: Runtime, active: ActiveSession, origin: Origin) -> int:
    """Sign out everywhere but here; returns how many sessions ended."""
    ref = user_ref(active.user.id)
    with runtime.db.transaction() as session:
        ended = sessions.end_all(session, active.user.id, except_id=active.session.id)
        audit(session, Tag.SESSION_REVOKED, origin, actor=ref, subject=ref, count=ended)
    return ended


def end_expired_sessions(runtime: Runtime) -> int:
    """The server's automatic logoff: end and audit every session past its limit."""
    with runtime.db.transaction() as session:
        return sessions.end_expired(
            session, runtime.settings, utcnow(), Origin(user_agent="carewall housekeeping")
        )
