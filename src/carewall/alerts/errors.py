"""Errors of the alerts domain, with a code, an HTTP status and a user-safe message."""

from carewall.core.errors import CarewallError, NotFoundError


class AlertNotFoundError(NotFoundError):
    """No alert with this id."""

    code = "alert_not_found"

    def __init__(self) -> None:
        super().__init__("No such alert.")


class AlertTransitionError(CarewallError):
    """The alert's state does not allow this step (e.g. resolving it twice)."""

    code = "alert_transition"
    status = 409
