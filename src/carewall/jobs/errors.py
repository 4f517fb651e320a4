"""Errors of the job runner."""

from datetime import timedelta

from carewall.core.errors import CarewallError


class UnknownJobError(CarewallError):
    """A job or task kind that no domain registered."""

    code = "unknown_job"
    status = 404


class JobDeferred(Exception):  # noqa: N818 - a deferral, not an error
    """A periodic job cannot run now for a passing reason (another job holds what it
    needs): it runs again after `after` rather than its interval, and the run shows as
    deferred, not failed (no failure count, no audit entry, no alert)."""

    def __init__(self, reason: str, after: timedelta) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after
