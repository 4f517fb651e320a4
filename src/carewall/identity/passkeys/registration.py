"""Registering a passkey: at enrolment (it completes sign-in) or later, after step-up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn import (
    generate_registration_options,
    verify_registration_response,
)
from webauthn.helpers import (
    options_to_json_dict,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from carewall.core.clock import utcnow
from carewall.core.context import Origin
from carewall.core.errors import CarewallError
from carewall.core.runtime import Runtime
from carewall.identity.enrolment import EnrolmentDone, factor_enrolled
from carewall.identity.errors import FactorError
from carewall.identity.models import WebAuthnCredential
from carewall.identity.passkeys.ceremony import (
    TIMEOUT_MS,
    Ceremony,
    Purpose,
    RelyingParty,
    credentials_of,
    descriptors,
    expected_origin,
    expired_error,
    raise_failure,
    relying_party,
    store_challenge,
    take_challenge,
    user_handle,
)
from carewall.identity.sessions import ActiveSession

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
            user_id=user_handle(user),
            user_display_name=user.display_name or user.email,
            timeout=TIMEOUT_MS,
            exclude_credentials=descriptors(credentials_of(session, user.id)),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
        )
        challenge_id = store_challenge(
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
        challenge = take_challenge(session, challenge_id, Purpose.REGISTER, active.user.id, now)
        if challenge is None:
            failure = expired_error()
        else:
            try:
                row = _verified_credential(session, rp, expected, challenge, credential_json, now)
            except FactorError as exc:
                failure = exc
            else:
                row.user_id, row.name = active.user.id, name.strip()[:60] or "Passkey"
                session.add(row)
                done = _after_enrolment(runtime, session, active, origin, now)
    raise_failure(failure)  # the spent challenge is committed before the error is raised
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
    """The passkey is stored: the shared after-enrolment steps."""
    return factor_enrolled(runtime, session, active, origin, now, factor="passkey")
