"""Passwords: Argon2id hashing and the choice policy (NIST SP 800-63B, OWASP ASVS L2).

The one place that hashes, verifies and judges passwords. Typical use:

- choosing a password: ``check_password(pw, email=..., practice_name=...)``
  and, if it returns no problems, store ``hash_password(pw)``;
- signing in: ``verify_password(stored, pw)``; store ``new_hash`` when it is
  set; for an unknown email call ``dummy_verify(pw)`` so the response takes
  as long as for a known one;
- the strength meter on forms: ``password_feedback(pw, ...)``.

Every function normalises to NFKC itself (`normalize_password`).
"""

from carewall.identity.passwords.common import common_passwords, is_common_password
from carewall.identity.passwords.hashing import (
    HASHER,
    PasswordCheck,
    dummy_verify,
    hash_password,
    prepare_dummy_hash,
    verify_password,
)
from carewall.identity.passwords.normalize import normalize_password
from carewall.identity.passwords.policy import (
    ABSOLUTE_MAX_LENGTH_FLOOR,
    ABSOLUTE_MIN_LENGTH,
    DEFAULT_MAX_LENGTH,
    DEFAULT_MIN_LENGTH,
    MIN_ZXCVBN_SCORE,
    PasswordProblem,
    check_password,
    password_feedback,
)

__all__ = [
    "ABSOLUTE_MAX_LENGTH_FLOOR",
    "ABSOLUTE_MIN_LENGTH",
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_MIN_LENGTH",
    "HASHER",
    "MIN_ZXCVBN_SCORE",
    "PasswordCheck",
    "PasswordProblem",
    "check_password",
    "common_passwords",
    "dummy_verify",
    "hash_password",
    "is_common_password",
    "normalize_password",
    "password_feedback",
    "prepare_dummy_hash",
    "verify_password",
]
