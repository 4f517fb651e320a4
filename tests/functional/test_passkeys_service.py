"""The passkey service with a software authenticator: paths a real browser cannot take.

A compliant browser never sends an assertion without user verification when it
is required, nor one for another origin; a hostile client can, so these are
driven here with a minimal ES256 authenticator ("none" attestation).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select, update

from carewall.audit.models import AuditEntry
from carewall.core.clock import utcnow
from carewall.core.context import Origin
from carewall.core.runtime import Runtime
from carewall.identity import ActiveSession, Stage, passkeys, prepare_keys, sessions, signin
from carewall.identity.accounts import create_admin
from carewall.identity.errors import AuthenticationError
from carewall.identity.models import Notice, WebAuthnChallenge, WebAuthnCredential
from carewall.identity.tags import IdentityTag

EMAIL = "officer@clinic.example"
PASSWORD = "Lantern-Quarry-Meadow-4172"
ORIGIN = Origin("127.0.0.1", "test")
WEB_ORIGIN = "http://localhost:8000"  # the default public URL http://127.0.0.1:8000, as a domain


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SoftKey:
    """An authenticator in a few lines: one P-256 credential and a signature counter."""

    user_verified: bool = True
    origin: str = WEB_ORIGIN
    counter: int = 0
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(16))
    user_handle: bytes = b""

    def _auth_data(self, flags: int, attested: bytes = b"") -> bytes:
        flags |= 0x01 | (0x04 if self.user_verified else 0)  # user present (+ verified)
        rp_hash = hashlib.sha256(b"localhost").digest()
        return rp_hash + bytes([flags]) + self.counter.to_bytes(4, "big") + attested

    def _client_data(self, kind: str, options: dict[str, Any]) -> bytes:
        body = {"type": kind, "challenge": options["challenge"], "origin": self.origin}
        return json.dumps(body).encode()

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        cose = {
            1: 2,
            3: -7,
            -1: 1,
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
        attested = bytes(16) + len(self.credential_id).to_bytes(2, "big") + self.credential_id
        auth_data = self._auth_data(0x40, attested + cbor2.dumps(cose))
        self.user_handle = base64.urlsafe_b64decode(options["user"]["id"] + "==")
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        response = {
            "clientDataJSON": _b64(self._client_data("webauthn.create", options)),
            "attestationObject": _b64(attestation),
            "transports": ["internal"],
        }
        return self._credential(response)

    def get(self, options: dict[str, Any]) -> dict[str, Any]:
        self.counter += 1
        client_data = self._client_data("webauthn.get", options)
        auth_data = self._auth_data(0)
        signed = auth_data + hashlib.sha256(client_data).digest()
        response = {
            "clientDataJSON": _b64(client_data),
            "authenticatorData": _b64(auth_data),
            "signature": _b64(self.key.sign(signed, ec.ECDSA(hashes.SHA256()))),
            "userHandle": _b64(self.user_handle),
        }
        return self._credential(response)

    def _credential(self, response: dict[str, Any]) -> dict[str, Any]:
        raw = _b64(self.credential_id)
        return {"id": raw, "rawId": raw, "type": "public-key", "response": response}


def _session(runtime: Runtime) -> ActiveSession:
    result = signin.sign_in_with_password(runtime, EMAIL, PASSWORD, ORIGIN)
    active = sessions.resolve(runtime.db, runtime.settings, result.token, utcnow())
    assert active is not None
    return active


def _audited(runtime: Runtime, tag: IdentityTag) -> int:
    with runtime.db.sessions() as session:
        return int(session.scalar(select(func.count()).where(AuditEntry.action == tag)) or 0)


@pytest.fixture
def key(runtime: Runtime) -> SoftKey:
    """An administrator who enrolled this software passkey as their first factor."""
    prepare_keys(runtime.keys)  # as the web app does at start-up
    create_admin(runtime, EMAIL, PASSWORD, ORIGIN)
    active = _session(runtime)
    assert active.stage is Stage.ENROLL
    soft = SoftKey()
    ceremony = passkeys.begin_registration(runtime, active, WEB_ORIGIN)
    done = passkeys.finish_registration(
        runtime, active, ceremony.challenge_id, soft.create(ceremony.options), "Soft", ORIGIN
    )
    assert done.new_session_token is not None
    assert len(done.recovery_codes) == 10
    return soft


def test_second_factor_completes_sign_in_and_counts(runtime: Runtime, key: SoftKey) -> None:
    active = _session(runtime)
    assert active.stage is Stage.MFA
    ceremony = passkeys.begin_second_factor(runtime, active, WEB_ORIGIN)

    result = passkeys.finish_second_factor(
        runtime, active, ceremony.challenge_id, key.get(ceremony.options), ORIGIN
    )

    assert result.stage is Stage.FULL
    with runtime.db.sessions() as session:
        stored = session.scalars(select(WebAuthnCredential)).one()
    assert (stored.sign_count, stored.name, stored.transports) == (1, "Soft", ["internal"])
    assert stored.last_used_at is not None
    assert _audited(runtime, IdentityTag.MFA_SUCCESS) == 1


def test_a_challenge_works_once_and_only_for_its_purpose(runtime: Runtime, key: SoftKey) -> None:
    active = _session(runtime)
    login = passkeys.begin_login(runtime, WEB_ORIGIN)
    with pytest.raises(passkeys.PasskeyCeremonyError):  # a passwordless challenge used for MFA
        passkeys.finish_second_factor(
            runtime, active, login.challenge_id, key.get(login.options), ORIGIN
        )
    with pytest.raises(passkeys.PasskeyCeremonyError):  # ... and it was spent by that attempt
        passkeys.finish_login(runtime, login.challenge_id, key.get(login.options), ORIGIN)


def test_an_expired_challenge_is_refused(runtime: Runtime, key: SoftKey) -> None:
    ceremony = passkeys.begin_login(runtime, WEB_ORIGIN)
    with runtime.db.transaction() as session:
        session.execute(
            update(WebAuthnChallenge).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(passkeys.PasskeyCeremonyError):
        passkeys.finish_login(runtime, ceremony.challenge_id, key.get(ceremony.options), ORIGIN)


def test_passwordless_sign_in_with_user_verification(runtime: Runtime, key: SoftKey) -> None:
    ceremony = passkeys.begin_login(runtime, WEB_ORIGIN)
    result = passkeys.finish_login(
        runtime, ceremony.challenge_id, key.get(ceremony.options), ORIGIN
    )
    assert result.stage is Stage.FULL
    assert _audited(runtime, IdentityTag.LOGIN_SUCCESS) == 2  # enrolment, then this sign-in


def test_passwordless_without_user_verification_is_not_mfa(runtime: Runtime, key: SoftKey) -> None:
    key.user_verified = False
    ceremony = passkeys.begin_login(runtime, WEB_ORIGIN)
    with pytest.raises(AuthenticationError, match="PIN or fingerprint"):
        passkeys.finish_login(runtime, ceremony.challenge_id, key.get(ceremony.options), ORIGIN)
    assert _audited(runtime, IdentityTag.LOGIN_FAILURE) == 1


def test_assertion_for_another_origin_is_refused_and_counted(
    runtime: Runtime, key: SoftKey
) -> None:
    active = _session(runtime)
    key.origin = "https://carewall-login.example"  # a phishing site relaying the challenge
    ceremony = passkeys.begin_second_factor(runtime, active, WEB_ORIGIN)
    with pytest.raises(AuthenticationError):
        passkeys.finish_second_factor(
            runtime, active, ceremony.challenge_id, key.get(ceremony.options), ORIGIN
        )
    assert _audited(runtime, IdentityTag.MFA_FAILURE) == 1


def test_counter_regression_is_refused_audited_and_reported(runtime: Runtime, key: SoftKey) -> None:
    with runtime.db.transaction() as session:
        session.execute(update(WebAuthnCredential).values(sign_count=50))
    ceremony = passkeys.begin_login(runtime, WEB_ORIGIN)

    with pytest.raises(AuthenticationError):
        passkeys.finish_login(runtime, ceremony.challenge_id, key.get(ceremony.options), ORIGIN)

    assert _audited(runtime, IdentityTag.PASSKEY_CLONE_SUSPECTED) == 1
    with runtime.db.sessions() as session:
        assert session.scalars(select(WebAuthnCredential.sign_count)).one() == 50
        notice = session.scalars(select(Notice.message)).one()
    assert "may have been copied" in notice
