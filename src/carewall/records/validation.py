"""FHIR R4 validation with `fhir.resources.R4B` (wire-compatible with R4 for what we store).

Issues name the field path and the kind of problem but never echo the
offending value: an invalid birth date must not end up in a log or audit entry.
"""

from __future__ import annotations

from typing import Any

import pydantic
from fhir.resources.R4B import get_fhir_model_class

from carewall.records.errors import Issue, RecordValidationError, UnsupportedResourceError

SUPPORTED_TYPES = frozenset(
    {
        "AllergyIntolerance",
        "CarePlan",
        "Claim",
        "Condition",
        "Coverage",
        "DiagnosticReport",
        "DocumentReference",
        "Encounter",
        "ExplanationOfBenefit",
        "Goal",
        "ImagingStudy",
        "Immunization",
        "MedicationRequest",
        "Observation",
        "Organization",
        "Patient",
        "Practitioner",
        "Procedure",
    }
)


def validate_resource(resource: Any) -> dict[str, Any]:
    """Check a resource against its R4 model; returns it unchanged (as JSON) when valid."""
    if not isinstance(resource, dict):
        raise RecordValidationError(
            "A resource must be a JSON object.",
            [Issue("error", "structure", "", "not a JSON object")],
        )
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        raise RecordValidationError(
            "The resource has no resourceType.",
            [Issue("error", "required", "resourceType", "missing")],
        )
    if resource_type not in SUPPORTED_TYPES:
        raise UnsupportedResourceError(
            f"{resource_type} resources are not supported.",
            [Issue("error", "not-supported", resource_type, "resource type not supported")],
        )
    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except pydantic.ValidationError as exc:
        issues = [_issue(resource_type, error) for error in exc.errors(include_input=False)]
        paths = ", ".join(issue.expression for issue in issues[:5])
        raise RecordValidationError(f"Invalid {resource_type}: {paths}", issues) from None
    return resource


def _issue(resource_type: str, error: Any) -> Issue:
    """An OperationOutcome issue from one pydantic error, without the input value."""
    path = resource_type
    for part in error.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    message = str(error.get("msg", "invalid value")).split("\n", 1)[0][:200]
    code = "required" if error.get("type") == "missing" else "value"
    return Issue("error", code, path, message)
