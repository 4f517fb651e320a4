"""Errors of the training domain, with the status the web layer answers with."""

from __future__ import annotations

from carewall.core.errors import CarewallError


class OutsideOrganisationError(CarewallError):
    """An address outside the practice's own mail domains (`CAREWALL_MAIL_ORG_DOMAINS`)."""

    code = "outside_organisation"
    status = 422


class LearnerLinkError(CarewallError):
    """A learner link that is unknown or has expired."""

    code = "learner_link_invalid"
    status = 404

    def __init__(self) -> None:
        super().__init__(
            "This training link has expired or is not valid. Ask your practice's security "
            "officer for a new one."
        )


class QuizClosedError(CarewallError):
    """No more attempts, or the module is already passed."""

    code = "quiz_closed"
    status = 409
