"""Required code bindings: a code outside its value set is refused naming the element and
the value set (never the value); every code of the set passes, wherever the element is."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from carewall.records.errors import RecordValidationError
from carewall.records.store.codes import bound_codes, code_issues
from carewall.records.store.resource_types import SUPPORTED_TYPES
from carewall.records.store.validation import validate_resource

GENDER = "http://hl7.org/fhir/ValueSet/administrative-gender"
SENT = "zz-not-a-code"
# Required bindings the R4B models list but the table cannot check: the value set is every
# MIME type (BCP 13), not a list.
NOT_LISTS = {("CapabilityStatement", "format")}
# Where R4B widened R4's value set: R4 binds DetectedIssue.status to preliminary, final,
# entered-in-error and mitigated, R4B to every observation status. This server speaks R4.
WIDER_IN_R4B = {("DetectedIssue", "status")}


def _observation(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, **fields}


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        (_observation(status=SENT), "Observation.status"),
        ({"resourceType": "Patient", "gender": SENT}, "Patient.gender"),
        (  # a data type inside a list
            {"resourceType": "Patient", "identifier": [{"use": "usual"}, {"use": SENT}]},
            "Patient.identifier[1].use",
        ),
        (  # a backbone element
            {"resourceType": "Patient", "contact": [{"gender": SENT}]},
            "Patient.contact[0].gender",
        ),
        (  # a data type inside a data type
            {"resourceType": "Patient", "managingOrganization": {"identifier": {"use": SENT}}},
            "Patient.managingOrganization.identifier.use",
        ),
        (  # a repeating code
            {
                "resourceType": "MedicationRequest",
                "status": "active",
                "intent": "order",
                "subject": {"reference": "Patient/p"},
                "medicationCodeableConcept": {"text": "x"},
                "dosageInstruction": [{"timing": {"repeat": {"dayOfWeek": ["mon", SENT]}}}],
            },
            "MedicationRequest.dosageInstruction[0].timing.repeat.dayOfWeek[1]",
        ),
        (  # inside an extension's value
            _observation(
                extension=[
                    {
                        "url": "http://example.org/x",
                        "valueQuantity": {"value": 1, "comparator": SENT},
                    }
                ]
            ),
            "Observation.extension[0].valueQuantity.comparator",
        ),
        (  # a primitive's extensions, beside it in `_status`
            _observation(
                _status={
                    "extension": [
                        {"url": "http://example.org/x", "valueQuantity": {"comparator": SENT}}
                    ]
                }
            ),
            "Observation._status.extension[0].valueQuantity.comparator",
        ),
        (  # R4 binds to part of a code system: event-status has more codes than this takes
            {
                "resourceType": "Immunization",
                "status": "in-progress",
                "vaccineCode": {"text": "x"},
                "patient": {"reference": "Patient/p"},
                "occurrenceString": "x",
            },
            "Immunization.status",
        ),
        (  # a value set of chosen resource types, not all of them
            {
                "resourceType": "CarePlan",
                "status": "active",
                "intent": "plan",
                "subject": {"reference": "Patient/p"},
                "activity": [{"detail": {"kind": "Patient", "status": "scheduled"}}],
            },
            "CarePlan.activity[0].detail.kind",
        ),
        (  # a contained resource, as its own type
            {"resourceType": "Patient", "contained": [_observation(id="o", status=SENT)]},
            "Patient.contained[0].status",
        ),
    ],
)
def test_a_code_outside_its_value_set_is_refused_naming_where(
    resource: dict[str, Any], path: str
) -> None:
    with pytest.raises(RecordValidationError) as refused:
        validate_resource(resource)
    issues = refused.value.issues
    assert [(i.code, i.expression) for i in issues] == [("code-invalid", path)]
    assert SENT not in str(refused.value)
    assert SENT not in issues[0].diagnostics


def test_every_code_of_the_set_passes_and_a_refusal_lists_a_short_set() -> None:
    for gender in ("male", "female", "other", "unknown"):
        assert not code_issues({"resourceType": "Patient", "gender": gender}, "Patient")
    (issue,) = code_issues({"resourceType": "Patient", "gender": "F"}, "Patient")
    assert issue.diagnostics == f"must be one of female, male, other, unknown ({GENDER})"


def test_a_long_value_set_is_named_not_listed() -> None:
    resource_types = "http://hl7.org/fhir/ValueSet/resource-types"
    count = len(bound_codes("CapabilityStatement.rest.resource", "type") or ())
    assert count > 100
    statement = {"resourceType": "CapabilityStatement", "rest": [{"resource": [{"type": SENT}]}]}
    (issue,) = code_issues(statement, "CapabilityStatement")
    assert issue.expression == "CapabilityStatement.rest[0].resource[0].type"
    assert issue.diagnostics == f"must be one of the {count} codes of {resource_types}"


def test_values_that_are_not_strings_are_left_to_the_type_checks() -> None:
    assert not code_issues({"resourceType": "Patient", "gender": 3}, "Patient")
    assert not code_issues({"resourceType": "Patient", "contact": "x"}, "Patient")


def test_the_table_checks_every_code_the_models_list_for_the_stored_types() -> None:
    # The R4B models name the codes of required bindings (a trailing '+' where they cut the
    # list short); each of those elements must be checked, against a set holding them all.
    unchecked, disagreeing = [], []
    for resource_type in sorted(SUPPORTED_TYPES):
        for name, field in get_fhir_model_class(resource_type).model_fields.items():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            listed = extra.get("enum_values")
            if not listed:
                continue
            element = field.alias or name
            codes = bound_codes(resource_type, element)
            if codes is None:
                unchecked.append((resource_type, element))
            elif not set(listed) - {"+"} <= codes:
                disagreeing.append((resource_type, element))
    assert set(unchecked) == NOT_LISTS
    assert set(disagreeing) == WIDER_IN_R4B
