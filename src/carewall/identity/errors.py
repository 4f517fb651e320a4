"""Identity failures. Messages are deliberately generic where detail would help an attacker."""

from __future__ import annotations

from carewall.core.errors import CarewallError

GENERIC_LOGIN_FAILURE = "Incorrect email or password, or sign-in is temporarily paused."
GENERIC_MFA_FAILURE = "That code did not work, or sign-in is temporarily paused."


class AuthenticationError(CarewallError):
    """Credentials not accepted; never says which part was wrong or whether throttled."""

    code = "authentication_failed"
    status = 401


class ThrottledError(CarewallError):
    """Too many attempts; the web layer shows the generic message, the API a 429."""

    code = "throttled"
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class FactorError(CarewallError):
    """An enrolment or removal that cannot be done (last factor, bad code at enrolment)."""

    code = "factor_error"
    status = 400


class InviteError(CarewallError):
    """The invite link is unknown, used or expired."""

    code = "invite_invalid"
    status = 400
