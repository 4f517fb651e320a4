"""Errors of the record vault: codes and HTTP statuses the FHIR API maps to OperationOutcome.

Messages name resource types, ids and field paths only, never values, so they
are safe to show, log and audit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from carewall.core.errors import CarewallError, NotFoundError, ValidationError


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome issue: severity, code, the FHIR field path and a value-free text."""

    severity: str
    code: str
    expression: str
    diagnostics: str

    def as_fhir(self) -> dict[str, object]:
        """The issue as an OperationOutcome.issue element."""
        return {
            "severity": self.severity,
            "code": self.code,
            "expression": [self.expression] if self.expression else [],
            "diagnostics": self.diagnostics,
        }


class RecordValidationError(ValidationError):
    """A resource (or bundle) is not valid FHIR R4; `issues` say which fields are wrong."""

    code = "invalid_resource"

    def __init__(self, message: str, issues: Sequence[Issue]) -> None:
        super().__init__(message)
        self.issues = tuple(issues)

    def operation_outcome(self) -> dict[str, object]:
        """The error as a FHIR OperationOutcome resource."""
        return {
            "resourceType": "OperationOutcome",
            "issue": [issue.as_fhir() for issue in self.issues],
        }

    def reasons(self) -> str:
        """A one-line summary for CLI output (`Patient.birthDate: ...; ...`)."""
        return "; ".join(f"{i.expression}: {i.diagnostics}" for i in self.issues)


class SearchValueError(RecordValidationError):
    """A search value the vault cannot answer (a date without a calendar day, a prefix
    it does not support): HTTP 400, as FHIR asks of a search it cannot perform."""

    code = "bad_request"
    status = 400


class AttachmentTooLargeError(RecordValidationError):
    """An attachment's data is over the configured size limit (HTTP 413)."""

    code = "too_large"
    status = 413


class UnsupportedResourceError(RecordValidationError):
    """The resource type is valid FHIR but Carewall does not store it."""

    code = "unsupported_resource"


class VersionConflictError(CarewallError):
    """If-Match named a version that is no longer current (HTTP 412)."""

    code = "version_conflict"
    status = 412


class ResourceGoneError(NotFoundError):
    """The resource was deleted (its current version is a tombstone)."""

    code = "gone"
    status = 410


class BreakGlassRequiredError(CarewallError):
    """The compartment is restricted: only an active emergency-access grant opens it."""

    code = "break_glass_required"
    status = 403
