"""Using a passkey: as the second factor, for step-up, or passwordless.

Failures are throttled and audited like wrong TOTP codes, and committed before
the error is raised. A signature counter that goes backwards means two copies of
the key may exist: the sign-in is refused, audited and reported to the admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    verify_authentication_response,
)
from webauthn.helpers import (
    options_to_json_dict,
    parse_authentication_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    UserVerificationRequirement,
)

from carewall.audit import Outcome
from carewall.core.clock import utcnow
from carewall.core.context import Origin, user_ref
from carewall.core.errors import CarewallError
from carewall.core.runtime import Runtime
from carewall.identity import notices, policy, sessions, throttle
from carewall.identity.errors import AuthenticationError, FactorError, ThrottledError
from carewall.identity.events import audit
from carewall.identity.models import User, WebAuthnCredential
from carewall.identity.passkeys.ceremony import (
    GENERIC_PASSKEY_FAILURE,
    TIMEOUT_MS,
    Ceremony,
    Purpose,
    VerifiedCredential,
    credentials_of,
    descriptors,
    expected_origin,
    expired_error,
    raise_failure,
    relying_party,
    sign_count_regressed,
    store_challenge,
    take_challenge,
    user_handle,
)
from carewall.identity.roles import Role
from carewall.identity.sessions import ActiveSession, Stage
from carewall.identity.signin import SignInResult
from carewall.identity.tags import IdentityTag as Tag

# Authentication --------------------------------------------------------------------------


def begin_second_factor(
    runtime: Runtime, active: ActiveSession, client_origin: str | None
) -> Ceremony:
    """Options to use one of the user's passkeys as the second sign-in step."""
    return _begin_assertion(runtime, Purpose.MFA, active.user.id, client_origin)


def begin_step_up(runtime: Runtime, active: ActiveSession, client_origin: str | None) -> Ceremony:
    """Options to confirm it is still the user before a sensitive action."""
    return _begin_assertion(runtime, Purpose.STEP_UP, active.user.id, client_origin)


def begin_login(runtime: Runtime, client_origin: str | None) -> Ceremony:
    """Options for passwordless sign-in: any discoverable passkey, user verification required."""
    return _begin_assertion(runtime, Purpose.LOGIN, None, client_origin)


def _begin_assertion(
    runtime: Runtime, purpose: Purpose, user_id: str | None, client_origin: str | None
) -> Ceremony:
    rp = relying_party(runtime.settings)
    expected_origin(rp, client_origin)
    with runtime.db.transaction() as session:
        allowed = credentials_of(session, user_id) if user_id else []
        if user_id and not allowed:
            raise FactorError("You have no passkey yet.")
        options = generate_authentication_options(
            rp_id=rp.id,
            timeout=TIMEOUT_MS,
            allow_credentials=descriptors(allowed),
            user_verification=UserVerificationRequirement.REQUIRED
            if purpose is Purpose.LOGIN
            else UserVerificationRequirement.PREFERRED,
        )
        challenge_id = store_challenge(session, purpose, user_id, options.challenge, utcnow())
    return Ceremony(challenge_id, options_to_json_dict(options))


@dataclass(frozen=True)
class _Attempt:
    """One assertion being checked: what was asked for, by whom, from where."""

    runtime: Runtime
    purpose: Purpose
    challenge_id: str
    credential_json: dict[str, Any]
    origin: Origin
    expected_origin: str
    now: datetime


def _attempt(
    runtime: Runtime,
    purpose: Purpose,
    challenge_id: str,
    credential_json: dict[str, Any],
    origin: Origin,
    client_origin: str | None,
) -> _Attempt:
    rp_origin = expected_origin(relying_party(runtime.settings), client_origin)
    return _Attempt(runtime, purpose, challenge_id, credential_json, origin, rp_origin, utcnow())


def finish_second_factor(
    runtime: Runtime,
    active: ActiveSession,
    challenge_id: str,
    credential_json: dict[str, Any],
    origin: Origin,
    client_origin: str | None = None,
) -> SignInResult:
    """Complete an MFA-stage sign-in with a passkey: the session becomes full."""
    attempt = _attempt(runtime, Purpose.MFA, challenge_id, credential_json, origin, client_origin)
    result: SignInResult | None = None
    with runtime.db.transaction() as session:
        row, user = session.merge(active.session), session.merge(active.user)
        outcome = _check_assertion(session, attempt, user)
        if isinstance(outcome, VerifiedCredential):
            token = sessions.rotate(session, row, Stage.FULL, attempt.now)
            row.mfa_at = user.last_login_at = attempt.now
            user.consecutive_failures = 0
            ref = user_ref(user.id)
            audit(
                session,
                Tag.LOGIN_SUCCESS,
                origin,
                actor=ref,
                subject=ref,
                factor="mfa",
                method="passkey",
            )
            result = SignInResult(token, Stage.FULL, user.id)
    raise_failure(outcome)
    assert result is not None
    return result


def finish_step_up(
    runtime: Runtime,
    active: ActiveSession,
    challenge_id: str,
    credential_json: dict[str, Any],
    origin: Origin,
    client_origin: str | None = None,
) -> str:
    """Refresh the session's second-factor time with a passkey (sensitive actions);
    returns the session's new id (a privilege change rotates it)."""
    attempt = _attempt(
        runtime, Purpose.STEP_UP, challenge_id, credential_json, origin, client_origin
    )
    token = ""
    with runtime.db.transaction() as session:
        row, user = session.merge(active.session), session.merge(active.user)
        outcome = _check_assertion(session, attempt, user)
        if isinstance(outcome, VerifiedCredential):
            token = sessions.rotate(session, row, Stage.FULL, attempt.now)
            row.mfa_at = attempt.now
            ref = user_ref(user.id)
            audit(session, Tag.STEP_UP, origin, actor=ref, subject=ref, method="passkey")
    raise_failure(outcome)
    return token


def finish_login(
    runtime: Runtime,
    challenge_id: str,
    credential_json: dict[str, Any],
    origin: Origin,
    client_origin: str | None = None,
) -> SignInResult:
    """Passwordless sign-in: a full session, multi-factor only if the key verified the user."""
    attempt = _attempt(runtime, Purpose.LOGIN, challenge_id, credential_json, origin, client_origin)
    with runtime.db.transaction() as session:
        checked = _check_assertion(session, attempt, None)
        outcome = (
            _passwordless_session(session, attempt, checked)
            if isinstance(checked, VerifiedCredential)
            else checked
        )
    raise_failure(outcome)
    assert isinstance(outcome, SignInResult)
    return outcome


def _passwordless_session(
    session: Session, attempt: _Attempt, verified: VerifiedCredential
) -> SignInResult | CarewallError:
    """Start the session; without user verification the key alone is one factor."""
    user, settings = verified.user, attempt.runtime.settings
    ref = user_ref(user.id)
    if not verified.user_verified and policy.mfa_required(session, settings, user.role):
        audit(
            session,
            Tag.LOGIN_FAILURE,
            attempt.origin,
            actor=ref,
            subject=ref,
            outcome=Outcome.DENIED,
            reason="passkey_without_user_verification",
        )
        return AuthenticationError(
            "Your key did not check your PIN or fingerprint. Sign in with your password "
            "and use the key as the second step."
        )
    mfa_at = attempt.now if verified.user_verified else None
    token, _ = sessions.create(
        session, settings, user, Stage.FULL, attempt.origin, attempt.now, mfa_at=mfa_at
    )
    user.last_login_at, user.consecutive_failures = attempt.now, 0
    audit(
        session,
        Tag.LOGIN_SUCCESS,
        attempt.origin,
        actor=ref,
        subject=ref,
        factor="passkey",
        multi_factor=verified.user_verified,
    )
    return SignInResult(token, Stage.FULL, user.id)


def _check_assertion(
    session: Session, attempt: _Attempt, expected_user: User | None
) -> VerifiedCredential | CarewallError:
    """The whole assertion check: challenge, owner, throttle, signature, counter."""
    owner = expected_user.id if expected_user else None
    challenge = take_challenge(session, attempt.challenge_id, attempt.purpose, owner, attempt.now)
    if challenge is None:
        return expired_error()
    parsed, credential = _find_credential(session, attempt.credential_json, owner)
    user = expected_user or (session.get(User, credential.user_id) if credential else None)
    verdict = _throttle_verdict(session, attempt, user)
    if verdict is not None:
        return verdict
    if parsed is None or credential is None or user is None or not _may_sign_in(user, parsed):
        return _failed(session, attempt, user, "unknown_credential")
    return _verify_signature(session, attempt, challenge, parsed, credential, user)


def _find_credential(
    session: Session, credential_json: dict[str, Any], owner: str | None
) -> tuple[AuthenticationCredential | None, WebAuthnCredential | None]:
    """The parsed assertion and the stored credential it names (the owner's, if one is set)."""
    try:
        parsed = parse_authentication_credential_json(credential_json)
    except WebAuthnException:
        return None, None
    query = select(WebAuthnCredential).where(WebAuthnCredential.credential_id == parsed.raw_id)
    credential = session.scalar(query)
    if credential is None or (owner is not None and credential.user_id != owner):
        return parsed, None
    return parsed, credential


def _may_sign_in(user: User, parsed: AuthenticationCredential) -> bool:
    """Active, unlocked, a person (an integration account never signs in), and (when the
    key says whose it is) the same account."""
    handle = parsed.response.user_handle
    matches = handle is None or handle == user_handle(user)
    person = Role(user.role).is_person
    return person and user.status == "active" and not user.locked and matches


def _throttle_verdict(
    session: Session, attempt: _Attempt, user: User | None
) -> ThrottledError | None:
    """Checked before the signature, so a valid passkey is refused while throttled too."""
    verdict = throttle.check(
        session,
        attempt.runtime.settings,
        kind=throttle.Kind.MFA,
        account=user.email if user else "",
        ip=attempt.origin.ip,
        now=attempt.now,
        consecutive_failures=user.consecutive_failures if user else 0,
        last_success=user.last_login_at if user else None,
    )
    if verdict.allowed:
        return None
    ref = user_ref(user.id) if user else ""
    audit(
        session,
        Tag.MFA_THROTTLED,
        attempt.origin,
        actor=ref or "anonymous",
        subject=ref,
        outcome=Outcome.DENIED,
        scope=verdict.scope,
        retry_after=verdict.retry_after,
        method="passkey",
    )
    return ThrottledError(GENERIC_PASSKEY_FAILURE, verdict.retry_after)


def _verify_signature(
    session: Session,
    attempt: _Attempt,
    challenge: bytes,
    parsed: AuthenticationCredential,
    credential: WebAuthnCredential,
    user: User,
) -> VerifiedCredential | CarewallError:
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=relying_party(attempt.runtime.settings).id,
            expected_origin=attempt.expected_origin,
            credential_public_key=credential.public_key,
            credential_current_sign_count=0,  # the counter rule is ours: see sign_count_regressed
        )
    except WebAuthnException:
        return _failed(session, attempt, user, "bad_signature")
    if sign_count_regressed(credential.sign_count, verified.new_sign_count):
        return _clone_suspected(session, attempt, credential, user, verified.new_sign_count)
    credential.sign_count = verified.new_sign_count
    credential.last_used_at = attempt.now
    if attempt.purpose is not Purpose.LOGIN:
        ref = user_ref(user.id)
        audit(session, Tag.MFA_SUCCESS, attempt.origin, actor=ref, subject=ref, method="passkey")
    return VerifiedCredential(user, credential, verified.user_verified)


def _failed(
    session: Session, attempt: _Attempt, user: User | None, reason: str
) -> AuthenticationError:
    """Count and audit a refused assertion, like a wrong TOTP code."""
    throttle.record_failure(
        session,
        kind=throttle.Kind.MFA,
        account=user.email if user else "",
        ip=attempt.origin.ip,
        now=attempt.now,
    )
    ref = user_ref(user.id) if user else ""
    tag = Tag.LOGIN_FAILURE if attempt.purpose is Purpose.LOGIN else Tag.MFA_FAILURE
    audit(
        session,
        tag,
        attempt.origin,
        actor=ref or "anonymous",
        subject=ref,
        outcome=Outcome.FAILURE,
        method="passkey",
        reason=reason,
    )
    return AuthenticationError(GENERIC_PASSKEY_FAILURE)


def _clone_suspected(
    session: Session,
    attempt: _Attempt,
    credential: WebAuthnCredential,
    user: User,
    reported: int,
) -> AuthenticationError:
    """Refuse a key whose counter went backwards, and tell the security officers."""
    ref = user_ref(user.id)
    audit(
        session,
        Tag.PASSKEY_CLONE_SUSPECTED,
        attempt.origin,
        actor=ref,
        subject=ref,
        outcome=Outcome.DENIED,
        passkey=credential.id,
        stored_count=credential.sign_count,
        reported_count=reported,
    )
    notices.notify_admins(
        session,
        f"A passkey of {user.email} (“{credential.name}”) reported an old signature counter: "
        "it may have been copied. The sign-in was refused. Check with the user and remove "
        "the passkey if in doubt.",
        attempt.now,
    )
    return AuthenticationError(GENERIC_PASSKEY_FAILURE)
