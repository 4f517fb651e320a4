"""Second factors: TOTP devices and recovery codes (passkeys live in `passkeys.py`).

TOTP secrets are encrypted with the `identity-totp` data key, with the
device id as associated data so a secret cannot be moved to another device.
Recovery codes are 50-bit random values stored as keyed HMACs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carewall.core import crypto
from carewall.core.keystore import Keystore
from carewall.identity import totp
from carewall.identity.errors import FactorError
from carewall.identity.models import RecoveryCode, TotpDevice, User, WebAuthnCredential

TOTP_KEY = "identity-totp"
RECOVERY_KEY = "identity-recovery"
RECOVERY_CODE_COUNT = 10
RECOVERY_LOW_WATER = 3
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes


@dataclass(frozen=True)
class FactorSummary:
    """What a user has enrolled."""

    totp: int
    passkeys: int
    recovery_left: int

    @property
    def any_second_factor(self) -> bool:
        """Whether the user can complete multi-factor sign-in."""
        return self.totp + self.passkeys > 0


def summary(session: Session, user_id: str) -> FactorSummary:
    """Counts of confirmed factors and unused recovery codes."""
    totp_count = session.scalar(
        select(func.count()).where(TotpDevice.user_id == user_id, TotpDevice.confirmed)
    )
    passkeys = session.scalar(select(func.count()).where(WebAuthnCredential.user_id == user_id))
    codes = session.scalar(
        select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return FactorSummary(int(totp_count or 0), int(passkeys or 0), int(codes or 0))


def _aad(device_id: str) -> bytes:
    return f"totp:{device_id}".encode()


def start_totp(
    session: Session, keys: Keystore, user: User, name: str, now: datetime
) -> tuple[TotpDevice, str]:
    """Create an unconfirmed device; returns it and the secret to show once."""
    name = name.strip()[:60] or "Authenticator app"
    secret = totp.new_secret()
    device = TotpDevice(user_id=user.id, name=name, created_at=now, secret_encrypted=b"")
    session.add(device)
    session.flush()
    device.secret_encrypted = crypto.encrypt(
        keys.data_key(TOTP_KEY), secret.encode(), _aad(device.id)
    )
    return device, secret


def totp_secret(keys: Keystore, device: TotpDevice) -> str:
    """Decrypt a device's secret (only to check a code or show it during enrolment)."""
    return crypto.decrypt(
        keys.data_key(TOTP_KEY), device.secret_encrypted, _aad(device.id)
    ).decode()


def check_totp(keys: Keystore, device: TotpDevice, code: str, now: datetime) -> bool:
    """Accept `code` once for its step and remember the step (replays fail)."""
    step = totp.matching_step(totp_secret(keys, device), code, now, device.last_used_step)
    if step is None:
        return False
    device.last_used_step = step
    device.last_used_at = now
    return True


def confirm_totp(
    session: Session, keys: Keystore, device: TotpDevice, code: str, now: datetime
) -> None:
    """Activate a device after the user proves the app produces the right codes."""
    if device.confirmed:
        raise FactorError("This authenticator is already active.")
    if not check_totp(keys, device, code, now):
        raise FactorError(
            "That code did not match. Check the time on your phone is set automatically "
            "and enter the newest code."
        )
    device.confirmed = True


def check_any_totp(
    session: Session, keys: Keystore, user_id: str, code: str, now: datetime
) -> TotpDevice | None:
    """The confirmed device that accepts `code`, if any (every device is tried)."""
    devices = session.scalars(
        select(TotpDevice).where(TotpDevice.user_id == user_id, TotpDevice.confirmed)
    )
    matched = None
    for device in devices:
        if check_totp(keys, device, code, now) and matched is None:
            matched = device
    return matched


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _code_hash(keys: Keystore, code: str) -> str:
    return crypto.blind_index(keys.data_key(RECOVERY_KEY), _normalise_code(code))


def new_recovery_codes(session: Session, keys: Keystore, user_id: str, now: datetime) -> list[str]:
    """Replace all recovery codes with ten fresh ones; returns them (shown once)."""
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id)):
        session.delete(old)
    session.flush()
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        code = f"{raw[:5]}-{raw[5:]}"
        session.add(RecoveryCode(user_id=user_id, code_hash=_code_hash(keys, code), created_at=now))
        codes.append(code)
    return codes


def use_recovery_code(
    session: Session, keys: Keystore, user_id: str, code: str, now: datetime
) -> bool:
    """Spend a recovery code; False when unknown or already used."""
    if len(_normalise_code(code)) != 10:
        return False
    row = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _code_hash(keys, code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    row.used_at = now
    return True


def looks_like_recovery_code(code: str) -> bool:
    """Recovery codes have letters; TOTP codes are six digits."""
    return not totp.is_ascii_digits(_normalise_code(code))


def remove_totp(session: Session, user_id: str, device_id: str, *, mfa_required: bool) -> str:
    """Delete a device unless it is the last factor of a user who must have MFA."""
    device = session.get(TotpDevice, device_id)
    if device is None or device.user_id != user_id:
        raise FactorError("No such authenticator.")
    _refuse_last_factor(session, user_id, mfa_required, removing_confirmed=device.confirmed)
    session.delete(device)
    return device.name


def _refuse_last_factor(
    session: Session, user_id: str, mfa_required: bool, *, removing_confirmed: bool = True
) -> None:
    current = summary(session, user_id)
    if mfa_required and removing_confirmed and current.totp + current.passkeys <= 1:
        raise FactorError(
            "This is your last second factor and your role requires one. "
            "Add another authenticator or passkey first."
        )


def remove_passkey(
    session: Session, user_id: str, credential_id: str, *, mfa_required: bool
) -> str:
    """Delete a passkey unless it is the last factor of a user who must have MFA."""
    credential = session.get(WebAuthnCredential, credential_id)
    if credential is None or credential.user_id != user_id:
        raise FactorError("No such passkey.")
    _refuse_last_factor(session, user_id, mfa_required)
    session.delete(credential)
    return credential.name


def reset_all(session: Session, user_id: str) -> None:
    """Remove every factor and recovery code (the administrator's lost-factor path)."""
    for model in (TotpDevice, WebAuthnCredential, RecoveryCode):
        for row in session.scalars(select(model).where(model.user_id == user_id)):
            session.delete(row)
