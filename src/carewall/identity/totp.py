"""TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps) with replay protection.

A code is accepted for the current step or one step either side (clock drift),
and only for a step later than the last one this device accepted: a code that
was already used — or any code from an earlier step — is rejected.
"""

from __future__ import annotations

from datetime import datetime

import pyotp

from carewall.core import crypto

STEP_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    """A 160-bit base32 secret, as RFC 4226 recommends."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI that authenticator apps read from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def is_ascii_digits(text: str) -> bool:
    """Whether `text` is made of 0-9 only: `str.isdigit()` also accepts superscripts
    and the digits of other scripts, which no authenticator shows."""
    return text.isascii() and text.isdigit()


def matching_step(secret: str, code: str, now: datetime, last_used_step: int) -> int | None:
    """The step `code` is valid for, if any, that is newer than `last_used_step`."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not is_ascii_digits(code):
        return None  # "²²²²²²" is digits to str.isdigit(), and a failed attempt like any
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    found = None
    for step in (current - 1, current, current + 1):
        # Compare every candidate so timing does not reveal which step matched.
        if crypto.same_secret(totp.generate_otp(step), code) and step > last_used_step:
            found = step
    return found


def display_secret(secret: str) -> str:
    """The secret in groups of four for typing by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
