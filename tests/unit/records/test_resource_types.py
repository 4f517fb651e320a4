"""The stored types, their categories and the matrix over them, against the R4B models."""

from __future__ import annotations

import pydantic
import pytest
from fhir.resources.R4B import fhirtypes, get_fhir_model_class
from fhir.resources.R4B.resource import Resource

from carewall.identity import Role
from carewall.records.access.categories import (
    CATEGORY_OF,
    PUBLIC_TYPES,
    TYPES_BY_CATEGORY,
    Category,
    uncategorised,
)
from carewall.records.access.matrix import MATRIX, Action
from carewall.records.errors import UnsupportedResourceError
from carewall.records.store.resource_types import (
    NOT_RECORDS,
    R4_TYPES,
    REDEFINED_IN_R4B,
    SUPPORTED_TYPES,
    WITHOUT_IDENTIFIER,
)
from carewall.records.store.validation import validate_resource

# Resource types R4B (4.3.0) added to R4: this server speaks R4 and leaves them out.
NEW_IN_R4B = {
    "AdministrableProductDefinition",
    "Citation",
    "ClinicalUseDefinition",
    "EvidenceReport",
    "Ingredient",
    "ManufacturedItemDefinition",
    "MedicinalProductDefinition",
    "NutritionProduct",
    "PackagedProductDefinition",
    "RegulatedAuthorization",
    "SubscriptionStatus",
    "SubscriptionTopic",
    "SubstanceDefinition",
}


def _r4b_resource_types() -> set[str]:
    """Every concrete resource the R4B models define (builds every model: slow)."""
    found = set()
    for name in dir(fhirtypes):
        factory = getattr(fhirtypes, name)
        if name.endswith("Type") and hasattr(factory, "get_model_klass"):
            model = factory.get_model_klass()
            if isinstance(model, type) and issubclass(model, Resource):
                found.add(name.removesuffix("Type"))
    return found - {"Resource", "DomainResource"}


def test_the_stored_types_are_the_r4_types_the_r4b_models_validate() -> None:
    modelled = _r4b_resource_types()
    assert modelled - R4_TYPES == NEW_IN_R4B, "a new type in the library: decide about it"
    assert (modelled & R4_TYPES) - REDEFINED_IN_R4B - NOT_RECORDS == SUPPORTED_TYPES
    assert len(SUPPORTED_TYPES) == 123
    assert {"Location", "PractitionerRole", "Provenance", "Device", "Basic"} <= SUPPORTED_TYPES


def test_an_r4_evidence_does_not_validate_against_r4b_hence_is_not_stored() -> None:
    r4_evidence = {
        "resourceType": "Evidence",
        "status": "draft",
        "exposureBackground": {"reference": "EvidenceVariable/e1"},
    }
    with pytest.raises(pydantic.ValidationError):
        get_fhir_model_class("Evidence").model_validate(r4_evidence)
    with pytest.raises(UnsupportedResourceError):
        validate_resource(r4_evidence)


@pytest.mark.parametrize("resource_type", sorted(NOT_RECORDS | NEW_IN_R4B))
def test_messages_and_r4b_only_types_are_refused(resource_type: str) -> None:
    with pytest.raises(UnsupportedResourceError):
        validate_resource({"resourceType": resource_type})


def test_every_stored_type_has_exactly_one_category() -> None:
    assert not uncategorised()
    assert sum(len(types) for types in TYPES_BY_CATEGORY.values()) == len(SUPPORTED_TYPES)
    assert set(TYPES_BY_CATEGORY) == set(Category)


def test_the_matrix_gives_each_role_its_defaults() -> None:
    def reads(role: Role) -> frozenset[str]:
        return MATRIX[role][Action.READ]

    def writes(role: Role) -> frozenset[str]:
        return MATRIX[role][Action.WRITE]

    assert {"Observation", "Patient", "Appointment", "Provenance"} <= writes(Role.CLINICIAN)
    assert {"Location", "PractitionerRole", "Questionnaire"} <= reads(Role.CLINICIAN)
    assert not {"Location", "Claim", "AuditEvent"} & writes(Role.CLINICIAN)
    assert {"Patient", "Appointment", "Slot", "Coverage"} <= writes(Role.FRONT_DESK)
    assert not {"Observation", "Claim", "Encounter"} & reads(Role.FRONT_DESK)
    assert {"Claim", "Invoice", "Account"} <= writes(Role.BILLING)
    assert "Encounter" in reads(Role.BILLING) - writes(Role.BILLING)
    assert "Observation" not in reads(Role.BILLING)
    assert {"Location", "ValueSet", "AuditEvent", "Subscription"} <= writes(Role.ADMIN)
    assert not {"Patient", "Observation", "Claim"} & reads(Role.ADMIN)
    assert reads(Role.AUDITOR) == PUBLIC_TYPES
    assert not writes(Role.AUDITOR)
    assert reads(Role.PATIENT) == SUPPORTED_TYPES
    assert not writes(Role.PATIENT)


def test_only_reference_data_is_public() -> None:
    assert {CATEGORY_OF[t] for t in PUBLIC_TYPES} == {Category.DIRECTORY, Category.CONFORMANCE}
    assert not {"Patient", "Observation", "Binary", "AuditEvent"} & PUBLIC_TYPES


def test_the_types_without_an_identifier_element_are_those_the_models_say() -> None:
    missing = {
        t for t in SUPPORTED_TYPES if "identifier" not in get_fhir_model_class(t).model_fields
    }
    assert missing == WITHOUT_IDENTIFIER
