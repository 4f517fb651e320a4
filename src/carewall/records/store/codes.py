"""Required code bindings: where FHIR binds a `code` to a value set with strength
`required`, the code SHALL be one of that value set's (R4 terminologies, 4.1.1.1).

`Patient.gender` is one of male, female, other and unknown; `Observation.status`
one of eight statuses; `Identifier.use`, `HumanName.use`, `ContactPoint.system`,
`Quantity.comparator` and about three hundred more are fixed lists too. A
system reading the record relies on them: a status of `banana` is neither final
nor preliminary. The R4B models name these codes but do not check them (and
cut the longer lists short), so this module does, after the model accepted
the resource.

The tables are FHIR's own (CC0), kept as data in `data/fhir-r4-codes.json` and
written by `scripts/fhir-required-codes` from R4's definition bundles, each value
set's codes as its `compose` selects them (Immunization.status takes three of
the eight event statuses): for each type, the elements that are
such a code (by value set) and the complex elements that lead to one (by type,
data types and backbone elements alike), so the walk looks only where a
required code can be. A contained resource is walked as its own type, and a
primitive's `_name` sibling (its extensions) as an Element.

Left out, and said in the CapabilityStatement: the three value sets that are
not lists (MIME types, currencies, confidentiality: bound by reference to a
whole external code system), and required bindings of a CodeableConcept or
Coding (14 elements, e.g. `Condition.clinicalStatus`), whose codes come with a
system and a version.

Issues name the element and the value set, never the value sent.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from carewall.records.errors import Issue

#: At most this many codes are listed in a refusal; longer value sets are named only.
LISTED = 12
# What a primitive's `_name` sibling holds (its id and extensions) is walked as an Element.
_PRIMITIVE_PART = "@Element"


@cache
def _tables() -> tuple[dict[str, frozenset[str]], dict[str, dict[str, str]]]:
    """The value sets (URL to codes) and, per type, each element's rule: a value set's
    URL, or `@` and the type to look into."""
    path = resources.files(__package__).joinpath("data", "fhir-r4-codes.json")
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    value_sets = {url: frozenset(codes) for url, codes in data["valueSets"].items()}
    return value_sets, data["types"]


def bound_codes(type_name: str, element: str) -> frozenset[str] | None:
    """The codes `type_name.element` may take (a backbone element's type is its path,
    `Patient.contact`); None when it is no code with a required, listed value set."""
    value_sets, types = _tables()
    rule = types.get(type_name, {}).get(element, "@")
    return None if rule.startswith("@") else value_sets[rule]


def code_issues(resource: dict[str, Any], resource_type: str) -> list[Issue]:
    """An issue for every code outside the value set its element is bound to."""
    issues: list[Issue] = []
    _walk(resource, resource_type, resource_type, issues)
    return issues


def _walk(node: dict[str, Any], type_name: str, path: str, issues: list[Issue]) -> None:
    value_sets, types = _tables()
    rules = types.get(type_name)
    if rules is None:
        return
    for key, value in node.items():
        rule = rules.get(key)
        if rule is None:
            if not key.startswith("_"):
                continue
            rule = _PRIMITIVE_PART  # `_status`: a primitive's id and extensions
        many = isinstance(value, list)
        for index, item in enumerate(value if many else [value]):
            # The path is built only where it is used: the walk runs on every write.
            if isinstance(item, dict):
                inner = _inner_type(key, rule, item)
                if inner is not None:
                    _walk(item, inner, _at(path, key, index, many), issues)
            elif isinstance(item, str) and _outside(item, rule, value_sets):
                expected = _expected(rule, value_sets[rule])
                issues.append(Issue("error", "code-invalid", _at(path, key, index, many), expected))


def _outside(code: str, rule: str, value_sets: dict[str, frozenset[str]]) -> bool:
    """Whether `code` breaks its element's rule: a value set it is not in."""
    return not rule.startswith("@") and code not in value_sets[rule]


def _inner_type(key: str, rule: str, item: dict[str, Any]) -> str | None:
    """The type an object under `key` is walked as: a contained resource's own, or the
    one its rule names (None: it holds no required code)."""
    if key == "contained":
        kind = item.get("resourceType")
        return kind if isinstance(kind, str) else None
    return rule[1:] if rule.startswith("@") else None


def _at(path: str, key: str, index: int, many: bool) -> str:
    """The path of one item of an element (`Patient.identifier[1]`, `Patient.gender`)."""
    return f"{path}.{key}[{index}]" if many else f"{path}.{key}"


def _expected(url: str, codes: frozenset[str]) -> str:
    """What a refused code should have been (the codes themselves when they are few)."""
    if len(codes) <= LISTED:
        return f"must be one of {', '.join(sorted(codes))} ({url})"
    return f"must be one of the {len(codes)} codes of {url}"
