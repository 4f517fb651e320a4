"""What every passkey ceremony shares: the relying party, challenges, errors.

The relying party id comes only from the configured public URL (a loopback IP
becomes `localhost`, since browsers refuse WebAuthn on IP literals); the
browser's Origin header may only choose among the configured origins.
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
from webauthn.helpers.structs import (
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
)

from carewall.core.config import Settings
from carewall.core.errors import CarewallError
from carewall.identity.models import User, WebAuthnChallenge, WebAuthnCredential

CHALLENGE_TTL = timedelta(minutes=5)


TIMEOUT_MS = 120_000


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
class VerifiedCredential:
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


def user_handle(user: User) -> bytes:
    """The WebAuthn user handle: the account's random id, never the email."""
    return user.id.encode()


def descriptors(credentials: list[WebAuthnCredential]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=c.credential_id, transports=[AuthenticatorTransport(t) for t in c.transports]
        )
        for c in credentials
    ]


def credentials_of(session: Session, user_id: str) -> list[WebAuthnCredential]:
    query = select(WebAuthnCredential).where(WebAuthnCredential.user_id == user_id)
    return list(session.scalars(query))


def store_challenge(
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


def take_challenge(
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


def expired_error() -> PasskeyCeremonyError:
    return PasskeyCeremonyError("This passkey request has expired. Please try again.")


def raise_failure(outcome: object) -> None:
    """Raise a failure after its transaction committed (evidence is never rolled back)."""
    if isinstance(outcome, CarewallError):
        raise outcome
