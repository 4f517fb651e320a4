"""Domain errors that carry a stable code, an HTTP status and a user-safe message.

Web and CLI render these in one place each; anything else that escapes is a bug
and is shown as a generic failure without details.
"""

from __future__ import annotations


class CarewallError(Exception):
    """Base of every expected failure; `message` is safe to show to the user."""

    code: str = "error"
    status: int = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class ConfigError(CarewallError):
    """The configuration cannot work (bad value, unsafe file permissions)."""

    code = "config_error"
    status = 500


class MasterKeyError(CarewallError):
    """The master key is missing, unreadable or does not match the stored data."""

    code = "key_error"
    status = 500


class DecryptionError(CarewallError):
    """Ciphertext failed authentication: wrong key, wrong row or tampered data."""

    code = "decryption_failed"
    status = 500


class NotFoundError(CarewallError):
    """The thing asked for does not exist (or the caller may not know it does)."""

    code = "not_found"
    status = 404


class PermissionDeniedError(CarewallError):
    """The caller is known but not allowed to do this."""

    code = "forbidden"
    status = 403


class ValidationError(CarewallError):
    """Input was understood but is not acceptable."""

    code = "invalid"
    status = 422
