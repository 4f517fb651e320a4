"""FHIR JSON's primitive types, checked before the R4B models see a resource.

The models validate in pydantic's lax mode, which converts what FHIR JSON
forbids: `"active": "yes"` became `True`, `"multipleBirthInteger": "3"` and
`3.0` became `3`, `"birthDate": 0` the date of the Unix epoch, and the resource
was then stored exactly as sent. Strict mode does not help: these models
validate every nested element in a wrapping validator of their own that calls
`model_validate` again without it (and `strict=True` did not even refuse
`"active": "yes"` at the top), and strict Python validation would refuse the
date strings FHIR JSON uses.

So this module walks the resource alongside its model and asks of every
primitive only the JSON type FHIR JSON gives it: a boolean is `true`/`false`,
an integer a number without a fraction, a decimal a number, everything else
(strings, codes, dates, URIs, base64Binary, ...) a string. Formats, ranges and
the rest stay with the models. The walk looks each key up in a table built once
per model class, so it costs a small part of what the models' validation does.
"""

from __future__ import annotations

import datetime
import decimal
import types
import typing
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase, FhirElementOrResourceBase
from pydantic import AnyUrl

from carewall.records.errors import Issue


@dataclass(frozen=True, slots=True)
class Primitive:
    """The JSON types (as `json.loads` gives them) a primitive may have, and how a
    refusal says so. Types are compared exactly: a bool is no integer, 3.0 no integer."""

    types: frozenset[type]
    expected: str


BOOLEAN = Primitive(frozenset({bool}), "must be a JSON boolean (true or false)")
INTEGER = Primitive(frozenset({int}), "must be a JSON number without a fraction (an integer)")
DECIMAL = Primitive(frozenset({int, float}), "must be a JSON number")
STRING = Primitive(frozenset({str}), "must be a JSON string")

# Python types the models give primitives, by the JSON type FHIR gives them. The
# string types include date, dateTime, instant and time (parsed by the models into
# date/datetime/time), base64Binary (bytes), uuid and url.
_PRIMITIVES: dict[object, Primitive] = {
    bool: BOOLEAN,
    int: INTEGER,
    decimal.Decimal: DECIMAL,
    str: STRING,
    bytes: STRING,
    datetime.date: STRING,
    datetime.datetime: STRING,
    datetime.time: STRING,
    uuid.UUID: STRING,
    AnyUrl: STRING,
}


@dataclass(frozen=True, slots=True)
class Element:
    """What a key of a model holds: a primitive, a complex type (`model`) or any
    resource (`model` None and `primitive` None: its `resourceType` says which)."""

    many: bool
    primitive: Primitive | None = None
    model: type[FHIRAbstractModel] | None = None


def wrong_types(resource: dict[str, Any], resource_type: str) -> list[Issue]:
    """One issue per primitive whose JSON type is not the one FHIR JSON gives it.

    `resource_type` must be a type the R4B models know. Keys the model lacks and
    values of the wrong shape (an object where a list belongs) are left to the
    model, which refuses them with its own message. A first walk builds no paths
    (almost every resource passes); only a resource that fails is walked again
    to name its elements.
    """
    model = get_fhir_model_class(resource_type)
    issues: list[Issue] = []
    if not _walk(resource, model, None, issues):
        _walk(resource, model, resource_type, issues)
    return issues


def _walk(
    node: dict[str, Any], model: type[FHIRAbstractModel], path: str | None, out: list[Issue]
) -> bool:
    """Whether every primitive under `node` has its JSON type. Without a `path` the walk
    stops at the first that has not; with one it adds an issue for each to `out`."""
    right = True
    elements = _elements(model)
    for key, value in node.items():
        element = elements.get(key)
        if element is None:
            continue
        if not element.many:
            right = _check(value, element, path and f"{path}.{key}", out) and right
        elif isinstance(value, list):
            for index, item in enumerate(value):
                right = _check(item, element, path and f"{path}.{key}[{index}]", out) and right
        if not right and path is None:
            return False
    return right


def _check(value: Any, element: Element, path: str | None, out: list[Issue]) -> bool:
    if value is None:  # the null check placed before this one allows it where it aligns arrays
        return True
    primitive = element.primitive
    if primitive is not None:
        if type(value) in primitive.types:
            return True
        if path is not None:
            out.append(Issue("error", "value", path, primitive.expected))
        return False
    if isinstance(value, dict):
        model = element.model or _resource_model(value.get("resourceType"))
        if model is not None:
            return _walk(value, model, path, out)
    return True


def _resource_model(resource_type: object) -> type[FHIRAbstractModel] | None:
    """The model of a contained resource, or None for a type the models do not know."""
    if not isinstance(resource_type, str):
        return None
    try:
        return get_fhir_model_class(resource_type)
    except ValueError:  # "... is not a valid FHIR Model"
        return None


@cache
def _elements(model: type[FHIRAbstractModel]) -> dict[str, Element]:
    """Each JSON key of `model` (alias, and the Python name it also accepts) and what
    it holds; keys whose type this module does not recognise are left out."""
    elements: dict[str, Element] = {}
    for name, field in model.model_fields.items():
        element = _element(field.annotation)
        if element is not None:
            elements[name] = element
            elements[field.alias or name] = element
    return elements


def _element(annotation: Any, many: bool = False) -> Element | None:
    """The element an annotation declares: `X | None`, `list[X]` and `Annotated[X, ...]`
    are unwrapped down to a primitive type or a model's type."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _element(typing.get_args(annotation)[0], many)
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if options == [AnyUrl, str]:  # FHIR url: a string either way
            return Element(many, STRING)
        return _element(options[0], many) if len(options) == 1 else None
    if origin is list:
        return None if many else _element(typing.get_args(annotation)[0], True)
    if annotation in _PRIMITIVES:
        return Element(many, _PRIMITIVES[annotation])
    if isinstance(annotation, type) and issubclass(annotation, FhirElementOrResourceBase):
        return Element(many)
    if isinstance(annotation, type) and issubclass(annotation, FhirBase):
        return Element(many, model=annotation.get_model_klass())
    return None
