"""Passkeys and security keys (WebAuthn): registration, second factor, step-up, passwordless.

Each ceremony is two requests: `begin_*` stores a random challenge (single-use,
five minutes) and returns the options for `navigator.credentials.create/get`;
`finish_*` takes the challenge back (deleting it whatever happens) and checks
the browser's answer with py_webauthn. Verification failures are throttled and
audited like wrong TOTP codes, and committed before the error is raised.

The signature counter is checked here rather than in py_webauthn so that a
regression can be told apart from other failures: it means two copies of the
key may exist, so the sign-in is refused, audited and reported to the admins.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from carewall.audit import Outcome
from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.errors import CarewallError
from carewall.core.runtime import Runtime
from carewall.identity import factors, notices, policy, sessions, signin, throttle
from carewall.identity.enrolment import EnrolmentDone
from carewall.identity.errors import AuthenticationError, FactorError, ThrottledError
from carewall.identity.events import audit, user_ref
from carewall.identity.models import User, WebAuthnChallenge, WebAuthnCredential
from carewall.identity.requests import Origin
from carewall.identity.sessions import ActiveSession, Stage
from carewall.identity.signin import SignInResult
from carewall.identity.tags import IdentityTag as Tag

CHALLENGE_TTL = timedelta(minutes=5)
_TIMEOUT_MS = 120_000
GENERIC_PASSKEY_FAILURE = "That passkey was not accepted, or sign-in is temporarily paused."


class Purpose(StrEnum):
    """What a challenge was issued for; a challenge only completes its own ceremony."""

    REGISTER = "register"
    MFA = "mfa"
    STEP_UP = "stepup"
    LOGIN = "login"


class PasskeyCeremonyError(CarewallError):
    """The challenge is unknown, used, expired or was issued for something else."""

    code = "passkey_ceremony_invalid"
    status = 400


class PasskeyUnavailableError(CarewallError):
    """Passkeys cannot work at this address (an IP address, or the wrong host name)."""

    code = "passkeys_unavailable"
    status = 400


@dataclass(frozen=True)
class RelyingParty:
    """Who the browser believes it is talking to: the RP id, its name and allowed origins."""

    id: str
    name: str
    origins: tuple[str, ...]


@dataclass(frozen=True)
class Ceremony:
    """A started ceremony: the challenge row's id and the options for the browser."""

    challenge_id: str
    options: dict[str, Any]


@dataclass(frozen=True)
class _Verified:
    user: User
    credential: WebAuthnCredential
    user_verified: bool


_DEFAULT_PORTS = {"http": 80, "https": 443}


def relying_party(settings: Settings) -> RelyingParty:
    """The RP id and acceptable origins, derived only from the configured public URL.

    WebAuthn needs a secure context (HTTPS, or `localhost`/`127.0.0.1`) and an RP
    id that is a domain name, never an IP address. A loopback IP such as the
    default `http://127.0.0.1:8000` is therefore mapped to `localhost` on the same
    scheme and port: the only loopback origin on which the ceremony can succeed.
    Any other IP address is refused with a message telling the operator to set a
    domain name in `CAREWALL_BASE_URL`.
    """
    parts = urlsplit(settings.public_url)
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port not in {None, _DEFAULT_PORTS.get(parts.scheme)} else None
    suffix = f":{port}" if port else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return RelyingParty(host, settings.practice_name, (f"{parts.scheme}://{host}{suffix}",))
    if not address.is_loopback:
        raise PasskeyUnavailableError(
            "Passkeys need Carewall to be reached by a domain name, not an IP address. "
            "Ask your administrator to set CAREWALL_BASE_URL."
        )
    return RelyingParty(
        "localhost", settings.practice_name, (f"{parts.scheme}://localhost{suffix}",)
    )


def expected_origin(rp: RelyingParty, client_origin: str | None) -> str:
    """The origin the browser must report, picked from the configured ones only.

    The request's `Origin` header never widens what is accepted: it only selects
    among the origins derived from the public URL, and an origin outside them is
    refused up front with the address to use instead (rather than letting the
    browser fail with an opaque RP-id error). Without the header, the primary
    configured origin is expected; the signed client data must match it anyway.
    """
    if not client_origin:
        return rp.origins[0]
    normalised = client_origin.rstrip("/").lower()
    if normalised in rp.origins:
        return normalised
    raise PasskeyUnavailableError(f"To use passkeys, open Carewall at {rp.origins[0]} instead.")


def sign_count_regressed(stored: int, reported: int) -> bool:
    """Whether the authenticator's counter went backwards (a possible cloned key).

    Authenticators that do not count report 0 every time; that is allowed. Once
    either side is non-zero, every use must report a strictly higher number.
    """
    return (stored > 0 or reported > 0) and reported <= stored


def _user_handle(user: User) -> bytes:
    """The WebAuthn user handle: the account's random id, never the email."""
    return user.id.encode()


def _descriptors(credentials: list[WebAuthnCredential]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=c.credential_id, transports=[AuthenticatorTransport(t) for t in c.transports]
        )
        for c in credentials
    ]


def _credentials_of(session: Session, user_id: str) -> list[WebAuthnCredential]:
    query = select(WebAuthnCredential).where(WebAuthnCredential.user_id == user_id)
    return list(session.scalars(query))


def _store_challenge(
    session: Session, purpose: Purpose, user_id: str | None, challenge: bytes, now: datetime
) -> str:
    """Save a challenge (and sweep expired ones, so the table stays small)."""
    session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at < now))
    row = WebAuthnChallenge(
        user_id=user_id, purpose=purpose, challenge=challenge, expires_at=now + CHALLENGE_TTL
    )
    session.add(row)
    session.flush()
    return row.id


def _take_challenge(
    session: Session, challenge_id: str, purpose: Purpose, user_id: str | None, now: datetime
) -> bytes | None:
    """Use up a challenge: deleted at once, returned only if it fits this ceremony."""
    row = session.get(WebAuthnChallenge, challenge_id) if challenge_id else None
    if row is None:
        return None
    session.delete(row)
    if row.purpose != purpose or row.user_id != user_id or row.expires_at <= now:
        return None
    return row.challenge


def _expired() -> PasskeyCeremonyError:
    return PasskeyCeremonyError("This passkey request has expired. Please try again.")


# Registration ----------------------------------------------------------------------------


def begin_registration(
    runtime: Runtime, active: ActiveSession, client_origin: str | None
) -> Ceremony:
    """Options to create a passkey; the user's existing ones are excluded (no duplicates)."""
    rp = relying_party(runtime.settings)
    expected_origin(rp, client_origin)
    user = active.user
    with runtime.db.transaction() as session:
        options = generate_registration_options(
            rp_id=rp.id,
            rp_name=rp.name,
            user_name=user.email,
            user_id=_user_handle(user),
            user_display_name=user.display_name or user.email,
            timeout=_TIMEOUT_MS,
            exclude_credentials=_descriptors(_credentials_of(session, user.id)),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
        )
        challenge_id = _store_challenge(
            session, Purpose.REGISTER, user.id, options.challenge, utcnow()
        )
    return Ceremony(challenge_id, options_to_json_dict(options))


def finish_registration(
    runtime: Runtime,
    active: ActiveSession,
    challenge_id: str,
    credential_json: dict[str, Any],
    name: str,
    origin: Origin,
    client_origin: str | None = None,
) -> EnrolmentDone:
    """Check and store a new passkey; a first factor also completes sign-in (and makes codes)."""
    rp = relying_party(runtime.settings)
    expected = expected_origin(rp, client_origin)
    now = utcnow()
    failure: CarewallError | None = None
    done = EnrolmentDone(None, [])
    with runtime.db.transaction() as session:
        challenge = _take_challenge(session, challenge_id, Purpose.REGISTER, active.user.id, now)
        if challenge is None:
            failure = _expired()
        else:
            try:
                row = _verified_credential(session, rp, expected, challenge, credential_json, now)
            except FactorError as exc:
                failure = exc
            else:
                row.user_id, row.name = active.user.id, name.strip()[:60] or "Passkey"
                session.add(row)
                done = _after_enrolment(runtime, session, active, origin, now)
    _raise_unless(failure)  # the spent challenge is committed before the error is raised
    return done


def _verified_credential(
    session: Session,
    rp: RelyingParty,
    expected: str,
    challenge: bytes,
    credential_json: dict[str, Any],
    now: datetime,
) -> WebAuthnCredential:
    """A new (unsaved) credential row from a verified attestation."""
    try:
        credential = parse_registration_credential_json(credential_json)
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=expected,
        )
    except WebAuthnException as exc:
        raise FactorError("The passkey could not be registered. Please try again.") from exc
    taken = select(WebAuthnCredential.id).where(
        WebAuthnCredential.credential_id == verified.credential_id
    )
    if session.scalar(taken) is not None:
        raise FactorError("This passkey is already registered.")
    return WebAuthnCredential(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[str(t.value) for t in credential.response.transports or []],
        user_verified=verified.user_verified,
        created_at=now,
    )


def _after_enrolment(
    runtime: Runtime, session: Session, active: ActiveSession, origin: Origin, now: datetime
) -> EnrolmentDone:
    """Audit, finish a first-factor sign-in and hand out recovery codes if there are none."""
    ref = user_ref(active.user.id)
    audit(session, Tag.FACTOR_ENROLLED, origin, actor=ref, subject=ref, factor="passkey")
    token, codes = None, []
    if active.stage is Stage.ENROLL:
        token = signin.complete_enrolment(runtime, session, active, origin)
    session.flush()
    if factors.summary(session, active.user.id).recovery_left == 0:
        codes = factors.new_recovery_codes(session, runtime.keys, active.user.id, now)
        audit(session, Tag.RECOVERY_REGENERATED, origin, actor=ref, subject=ref)
    return EnrolmentDone(token, codes)


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
        allowed = _credentials_of(session, user_id) if user_id else []
        if user_id and not allowed:
            raise FactorError("You have no passkey yet.")
        options = generate_authentication_options(
            rp_id=rp.id,
            timeout=_TIMEOUT_MS,
            allow_credentials=_descriptors(allowed),
            user_verification=UserVerificationRequirement.REQUIRED
            if purpose is Purpose.LOGIN
            else UserVerificationRequirement.PREFERRED,
        )
        challenge_id = _store_challenge(session, purpose, user_id, options.challenge, utcnow())
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
        if isinstance(outcome, _Verified):
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
    _raise_unless(outcome)
    assert result is not None
    return result


def finish_step_up(
    runtime: Runtime,
    active: ActiveSession,
    challenge_id: str,
    credential_json: dict[str, Any],
    origin: Origin,
    client_origin: str | None = None,
) -> None:
    """Refresh the session's second-factor time with a passkey (sensitive actions)."""
    attempt = _attempt(
        runtime, Purpose.STEP_UP, challenge_id, credential_json, origin, client_origin
    )
    with runtime.db.transaction() as session:
        row, user = session.merge(active.session), session.merge(active.user)
        outcome = _check_assertion(session, attempt, user)
        if isinstance(outcome, _Verified):
            row.mfa_at = attempt.now
            ref = user_ref(user.id)
            audit(session, Tag.STEP_UP, origin, actor=ref, subject=ref, method="passkey")
    _raise_unless(outcome)


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
            if isinstance(checked, _Verified)
            else checked
        )
    _raise_unless(outcome)
    assert isinstance(outcome, SignInResult)
    return outcome


def _passwordless_session(
    session: Session, attempt: _Attempt, verified: _Verified
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


def _raise_unless(outcome: object) -> None:
    """Raise a failure after its transaction committed (evidence is never rolled back)."""
    if isinstance(outcome, CarewallError):
        raise outcome


def _check_assertion(
    session: Session, attempt: _Attempt, expected_user: User | None
) -> _Verified | CarewallError:
    """The whole assertion check: challenge, owner, throttle, signature, counter."""
    owner = expected_user.id if expected_user else None
    challenge = _take_challenge(session, attempt.challenge_id, attempt.purpose, owner, attempt.now)
    if challenge is None:
        return _expired()
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
    """Active, unlocked, and (when the key says whose it is) the same account."""
    handle = parsed.response.user_handle
    matches = handle is None or handle == _user_handle(user)
    return user.status == "active" and not user.locked and matches


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
) -> _Verified | CarewallError:
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
    return _Verified(user, credential, verified.user_verified)


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
