"""The smallest valid resource of any stored type, built from the R4B model's own rules.

`minimal_resource(type, patient_id)` fills every required element (required
choices take their first form; codes with a required value set their first
code, from FHIR R4's tables) and names the patient
in the type's first Patient-compartment field, or, for a type outside FHIR's
Patient compartment, in an extension (a Binary in its `securityContext`):
references anywhere put a resource in that patient's compartment, so every
type can be tested in one. `tests.support.factories.fhir_resource` uses it for
the types it has no hand-written body for.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from carewall.records.store.codes import bound_codes
from carewall.records.store.compartments import PATIENT_COMPARTMENT

EXTENSION_URL = "https://carewall.example/fhir/StructureDefinition/test-patient"
_SKIPPED = frozenset({"resource_type", "fhir_comments", "id", "meta", "text", "contained"})
# Values of the primitive types that a plain "x" would not satisfy.
_PRIMITIVES: dict[str, Any] = {
    "bool": True,
    "Date": "2020-01-02",
    "DateTime": "2020-01-02",
    "Instant": "2020-01-02T03:04:05Z",
    "Integer": 1,
    "PositiveInt": 1,
    "UnsignedInt": 1,
    "Decimal": 1,
}
# The common data types with content (the models would take `{}`, which FHIR forbids);
# any other is built from its own required elements.
_DATATYPES: dict[str, Any] = {
    "Reference": {"display": "someone"},
    "CodeableConcept": {"text": "x"},
    "Coding": {"system": "https://example.org/codes", "code": "x"},
    "Identifier": {"value": "x"},
    "Period": {"start": "2020-01-02"},
    "Quantity": {"value": 1},
    "Money": {"value": 1, "currency": "USD"},
    "Attachment": {"contentType": "text/plain"},
}


def minimal_resource(resource_type: str, patient_id: str) -> dict[str, Any]:
    """A valid `resource_type` that names `Patient/{patient_id}` (see the module doc)."""
    body = {"resourceType": resource_type, **_minimal(resource_type)}
    reference = {"reference": f"Patient/{patient_id}"}
    paths = PATIENT_COMPARTMENT.get(resource_type)
    if resource_type == "Patient":
        body["id"] = patient_id
    elif paths:
        _place(body, resource_type, paths[0].split("."), reference)
    elif resource_type == "Binary":
        body["securityContext"] = reference
    else:
        body["extension"] = [{"url": EXTENSION_URL, "valueReference": reference}]
    return body


@cache
def _minimal(model_name: str) -> dict[str, Any]:
    model: Any = get_fhir_model_class(model_name)
    body: dict[str, Any] = {}
    choices: set[str] = set()
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra or {}
        if name in _SKIPPED or name.endswith("__ext"):
            continue
        choice = extra.get("one_of_many")
        if choice:
            if not extra.get("one_of_many_required") or choice in choices:
                continue
            choices.add(choice)
        elif not (info.is_required() or extra.get("element_required")):
            continue
        element = info.alias or name
        body[element] = _value(info.annotation, {**extra, **_listed_codes(model_name, element)})
    return body


def _listed_codes(type_name: str, element: str) -> dict[str, Any]:
    """The codes FHIR R4 binds `type_name.element` to (`enum_values`, as the models name
    them), which this server checks: the R4B model names none for some (`fhirVersion`) and
    other ones for a few (DetectedIssue.status: R4B widened it)."""
    codes = bound_codes(type_name, element)
    return {} if codes is None else {"enum_values": sorted(codes)}


def _value(annotation: Any, extra: dict[str, Any]) -> Any:
    many, leaf = _leaf(annotation)
    value = _single(leaf, extra)
    return [value] if many else value


def _leaf(annotation: Any) -> tuple[bool, Any]:
    """(is a list, the element type) of a field's annotation."""
    many = False
    while True:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin in (list, typing.List):  # noqa: UP006 - the models' own spelling
            many, annotation = True, args[0]
        elif origin is typing.Annotated:
            return many, annotation
        elif args and origin is not None:
            annotation = args[0]
        else:
            return many, annotation


def _single(leaf: Any, extra: dict[str, Any]) -> Any:
    if typing.get_origin(leaf) is typing.Annotated:
        base, *marks = typing.get_args(leaf)
        kind = type(marks[0]).__name__ if marks else base.__name__
        if kind == "Code":
            return (extra.get("enum_values") or ["x"])[0]
        return _PRIMITIVES.get(kind, "x")
    name = getattr(leaf, "__name__", "")
    if name in _PRIMITIVES:
        return _PRIMITIVES[name]
    if name == "str":
        return "x"
    datatype = name.removesuffix("Type")
    if datatype in _DATATYPES:
        return dict(_DATATYPES[datatype])
    return dict(_minimal(datatype))


def _place(body: dict[str, Any], model_name: str, parts: list[str], reference: Any) -> None:
    """Set the element at `parts` (a path without indexes) to `reference`, creating the
    backbone elements on the way (their first item when they repeat)."""
    model: Any = get_fhir_model_class(model_name)
    info = model.model_fields[parts[0]]
    many, leaf = _leaf(info.annotation)
    if len(parts) == 1:
        body[parts[0]] = [reference] if many else reference
        return
    element_name = getattr(leaf, "__name__", "").removesuffix("Type")
    current = body.get(parts[0])
    item = (current[0] if many else current) if current else dict(_minimal(element_name))
    _place(item, element_name, parts[1:], reference)
    body[parts[0]] = [item] if many else item
