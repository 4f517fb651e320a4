"""Argon2id password hashes: create, verify, upgrade, and equal-time misses.

Parameters: argon2-cffi's ``RFC_9106_LOW_MEMORY`` profile (Argon2id, 64 MiB,
t=3, p=4, 16-byte salt, 32-byte tag), pinned here rather than taken from the
library's defaults so that an argon2-cffi upgrade never changes our hashes
silently. Why this profile:

- it is RFC 9106's recommended choice when 2 GiB per hash is not affordable,
  and it is above every OWASP Password Storage Cheat Sheet minimum (the
  weakest OWASP option is m=19 MiB, t=2, p=1);
- one verification takes about 0.15 s on our reference machine (2 cores), well
  inside an interactive login budget, while 64 MiB per guess makes GPU
  cracking of a stolen database expensive;
- a small practice has few concurrent logins, so 64 MiB each is affordable;
  the login throttle, not the hash, is what protects the CPU from bursts.

When these parameters change, `verify_password` returns a fresh hash on the
next successful login (``PasswordCheck.new_hash``), so stored hashes upgrade
without a migration.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from typing import Final

from argon2 import PasswordHasher, profiles
from argon2.exceptions import VerificationError

from carewall.identity.passwords.normalize import normalize_password

HASHER: Final = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
"""The one hasher for the whole process: configure parameters here and nowhere else."""


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """Outcome of `verify_password`.

    ``new_hash`` is set only when ``ok`` is true and the stored hash was made
    with older parameters: the caller should store it in place of the old one.
    """

    ok: bool
    new_hash: str | None = None


def hash_password(password: str) -> str:
    """Hash *password* (after NFKC normalisation) for storage.

    This does not apply the password policy: call `check_password` first
    when a user chooses a password.
    """
    return HASHER.hash(normalize_password(password))


def verify_password(stored_hash: str, password: str) -> PasswordCheck:
    """Check *password* against *stored_hash*; never raises for a bad hash.

    A malformed, truncated or foreign hash is treated like a wrong password
    (``ok=False``): a corrupted row must not turn into a 500 error, and the
    caller's failure path (generic message, audit entry, throttle) is the
    right one either way.
    """
    normalized = normalize_password(password)
    try:
        HASHER.verify(stored_hash, normalized)
    except (VerificationError, ValueError):
        # VerifyMismatchError is a VerificationError; InvalidHashError and a
        # non-ASCII hash's UnicodeEncodeError are ValueErrors.
        return PasswordCheck(ok=False)
    if HASHER.check_needs_rehash(stored_hash):
        return PasswordCheck(ok=True, new_hash=HASHER.hash(normalized))
    return PasswordCheck(ok=True)


@functools.cache
def _dummy_hash() -> str:
    """A hash made with the current parameters of a secret nobody knows.

    Computed once per process rather than hard-coded, so that it always uses
    the same parameters (and so costs the same time) as real user hashes.
    """
    return HASHER.hash(secrets.token_urlsafe(32))


def prepare_dummy_hash() -> None:
    """Make the dummy hash now (once per process), so the first unknown-email sign-in
    costs one verification like every later one, not a hash and a verification.

    Only the hash: the web app calls this each time it is built, and a verification
    there would cost a fraction of a second of CPU for nothing (in the tests, per test).
    """
    _dummy_hash()


def dummy_verify(password: str) -> None:
    """Spend the time of a real verification, for a user that does not exist.

    Call this on the unknown-user path of a login so that its response time
    does not reveal which email addresses have accounts. The result is
    discarded: the dummy hash's secret is random and never leaves memory.
    """
    # verify_password, not HASHER.verify, so the work done (normalisation,
    # exception handling) matches the known-user path step for step.
    verify_password(_dummy_hash(), password)
