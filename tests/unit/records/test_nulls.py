"""FHIR JSON forbids null: refused with the field named, except where it aligns arrays."""

from __future__ import annotations

from typing import Any

import pytest

from carewall.records.errors import RecordValidationError
from carewall.records.store.validation import validate_resource


def _patient(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p1", **fields}


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"birthDate": None}, "Patient.birthDate"),
        ({"name": None}, "Patient.name"),
        ({"name": [{"family": "X", "given": None}]}, "Patient.name[0].given"),
        ({"name": [{"family": "X", "given": ["A", None]}]}, "Patient.name[0].given[1]"),
        ({"identifier": [{"value": None}]}, "Patient.identifier[0].value"),
        ({"telecom": [None]}, "Patient.telecom[0]"),
    ],
)
def test_null_is_refused_naming_the_field(fields: dict[str, Any], path: str) -> None:
    with pytest.raises(RecordValidationError) as refused:
        validate_resource(_patient(**fields))
    assert [issue.expression for issue in refused.value.issues] == [path]


def test_null_keeps_a_primitive_array_aligned_with_its_extensions() -> None:
    extension = {"extension": [{"url": "http://example.org/x", "valueString": "y"}]}
    name = {"family": "X", "given": ["Ann", None], "_given": [None, extension]}
    assert validate_resource(_patient(name=[name]))["name"][0]["given"] == ["Ann", None]
