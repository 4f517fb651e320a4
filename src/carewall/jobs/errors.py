"""Errors of the job runner."""

from carewall.core.errors import CarewallError


class UnknownJobError(CarewallError):
    """A job or task kind that no domain registered."""

    code = "unknown_job"
    status = 404
