"""FHIR JSON's primitive types: a wrong one is refused naming the element, a right one passes."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from carewall.records.errors import RecordValidationError
from carewall.records.store.primitives import _element, wrong_types
from carewall.records.store.resource_types import SUPPORTED_TYPES
from carewall.records.store.validation import validate_resource

BOOLEAN, INTEGER, STRING, NUMBER = "JSON boolean", "without a fraction", "JSON string", "number"
EXTENSION = "http://example.org/x"


def _observation(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, **fields}


@pytest.mark.parametrize(
    ("resource", "path", "says"),
    [
        ({"resourceType": "Patient", "active": "yes"}, "Patient.active", BOOLEAN),
        ({"resourceType": "Patient", "active": 1}, "Patient.active", BOOLEAN),
        ({"resourceType": "Patient", "active": "true"}, "Patient.active", BOOLEAN),
        (
            {"resourceType": "Patient", "multipleBirthInteger": "3"},
            "Patient.multipleBirthInteger",
            INTEGER,
        ),
        (
            {"resourceType": "Patient", "multipleBirthInteger": 3.0},
            "Patient.multipleBirthInteger",
            INTEGER,
        ),
        (
            {"resourceType": "Patient", "multipleBirthInteger": True},
            "Patient.multipleBirthInteger",
            INTEGER,
        ),
        ({"resourceType": "Patient", "birthDate": 12}, "Patient.birthDate", STRING),
        ({"resourceType": "Patient", "birthDate": 0}, "Patient.birthDate", STRING),
        ({"resourceType": "Patient", "gender": True}, "Patient.gender", STRING),
        (
            {"resourceType": "Patient", "name": [{"given": ["A", 7]}]},
            "Patient.name[0].given[1]",
            STRING,
        ),
        ({"resourceType": "Patient", "_birthDate": {"id": 3}}, "Patient._birthDate.id", STRING),
        (
            {"resourceType": "Patient", "extension": [{"url": EXTENSION, "valueInteger": "2"}]},
            "Patient.extension[0].valueInteger",
            INTEGER,
        ),
        (
            {"resourceType": "Patient", "contained": [{"resourceType": "Patient", "active": "no"}]},
            "Patient.contained[0].active",
            BOOLEAN,
        ),
        (_observation(valueQuantity={"value": "3.5"}), "Observation.valueQuantity.value", NUMBER),
        (_observation(valueQuantity={"value": True}), "Observation.valueQuantity.value", NUMBER),
        (_observation(issued=1000), "Observation.issued", STRING),
        (_observation(valueTime=36000), "Observation.valueTime", STRING),
        (_observation(valueInteger=True), "Observation.valueInteger", INTEGER),
        (
            {"resourceType": "Binary", "contentType": "text/plain", "data": 5},
            "Binary.data",
            STRING,
        ),
        ({"resourceType": "Patient", "photo": [{"url": 7}]}, "Patient.photo[0].url", STRING),
    ],
)
def test_a_wrong_json_type_is_refused_naming_the_element(
    resource: dict[str, Any], path: str, says: str
) -> None:
    with pytest.raises(RecordValidationError) as refused:
        validate_resource(resource)
    assert [issue.expression for issue in refused.value.issues] == [path]
    assert says in refused.value.issues[0].diagnostics
    assert all(str(v) not in refused.value.issues[0].diagnostics for v in ("yes", "3.5", "1000"))


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "Patient", "active": False, "multipleBirthInteger": 2},
        {
            "resourceType": "Patient",
            "birthDate": "1970",
            "deceasedDateTime": "2020-01-01T10:00:00Z",
        },
        {
            "resourceType": "Patient",
            "birthDate": "1970-01-02",
            "_birthDate": {
                "extension": [{"url": EXTENSION, "valueDateTime": "1970-01-02T08:30:00+01:00"}]
            },
            "name": [
                {
                    "given": ["Ann", None],
                    "_given": [None, {"extension": [{"url": EXTENSION, "valueInteger": 2}]}],
                }
            ],
        },
        _observation(valueQuantity={"value": 70.25}, issued="2020-01-01T00:00:00.123Z"),
        _observation(valueQuantity={"value": 70}, effectivePeriod={"start": "2020-01"}),
        _observation(valueTime="10:00:00", contained=[{"resourceType": "Patient", "active": True}]),
        {"resourceType": "Binary", "contentType": "text/plain", "data": "aGVsbG8="},
        {"resourceType": "Patient", "photo": [{"url": "http://example.org/p.png", "size": 3}]},
    ],
)
def test_legitimate_fhir_json_passes_unchanged(resource: dict[str, Any]) -> None:
    assert validate_resource(resource) == resource


def test_every_element_of_every_stored_type_has_a_known_json_type() -> None:
    """A model whose field type the walk does not recognise would go unchecked."""
    seen: set[type[FHIRAbstractModel]] = set()
    todo = [get_fhir_model_class(t) for t in SUPPORTED_TYPES]
    unknown = set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            element = _element(field.annotation)
            if element is None and name != "fhir_comments":  # not FHIR JSON
                unknown.add(f"{model.__name__}.{name}")
            elif element is not None and element.model is not None:
                todo.append(element.model)
    assert not unknown
    assert len(seen) > 300, "the walk reached the nested element types"


def test_an_unknown_contained_type_is_left_to_the_models() -> None:
    patient = {"resourceType": "Patient", "contained": [{"resourceType": "Spaceship"}]}
    assert wrong_types(patient, "Patient") == []
