"""Errors of the risk domain: a code, an HTTP status and a message people can act on."""

from __future__ import annotations

from carewall.core.errors import CarewallError, ValidationError


class ContentError(CarewallError):
    """A framework or rule data file is malformed (a bug in the shipped content)."""

    code = "risk_content_invalid"
    status = 500


class ReasonRequiredError(ValidationError):
    """Overriding a measured answer, or marking a question not applicable, needs a reason."""

    code = "reason_required"


class AssessmentClosedError(CarewallError):
    """A completed assessment is a dated snapshot; it no longer changes."""

    code = "assessment_completed"
    status = 409


class AttachmentTooLargeError(CarewallError):
    """An evidence attachment is over the configured size limit."""

    code = "attachment_too_large"
    status = 413
