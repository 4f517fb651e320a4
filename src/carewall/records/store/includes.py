"""Which references `_include` and `_revinclude` follow, and where they are read from.

Only the references clients ask for most are followed (a fixed table, so the
CapabilityStatement lists exactly these): an `_include` reads the reference
out of each matched resource after decryption; a `_revinclude` finds the
resources pointing back without decrypting them first, through the patient
compartment column (`compartment`: the reference names the patient whose
compartment the source is filed in) or through a blind-index term of the
reference (`indexed`: `ref:<param>` holding `Type/id`, written by
`records.store.terms`). No access decision is taken here: `records.access`
checks and audits every included resource.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Include:
    """One followable reference: `source:param`, the element paths holding it, and the
    type it must point at (None: any type)."""

    source: str
    param: str
    paths: tuple[str, ...]
    target: str | None
    compartment: bool = False
    indexed: bool = False

    @property
    def name(self) -> str:
        """`Source:param`, as written in `_include` and `_revinclude`."""
        return f"{self.source}:{self.param}"


def _patient(source: str, path: str = "subject", param: str = "patient") -> Include:
    return Include(source, param, (path,), "Patient", compartment=True)


INCLUDES: dict[str, Include] = {
    i.name: i
    for i in (
        _patient("Observation"),
        Include("Observation", "subject", ("subject",), None),
        _patient("Encounter"),
        Include("Encounter", "subject", ("subject",), None),
        Include("Encounter", "practitioner", ("participant.individual",), "Practitioner"),
        _patient("Condition"),
        Include("Condition", "subject", ("subject",), None),
        _patient("MedicationRequest"),
        Include("MedicationRequest", "medication", ("medicationReference",), "Medication"),
        Include("MedicationRequest", "requester", ("requester",), None),
        _patient("DiagnosticReport"),
        _patient("Procedure"),
        _patient("Immunization", path="patient"),
        _patient("AllergyIntolerance", path="patient"),
        Include("Provenance", "target", ("target",), None, indexed=True),
    )
}
# A resource names at most this many references per include (a Provenance's targets):
# the rest are not indexed, so the work of writing and following stays bounded.
MAX_REFERENCES = 50


def index_param(include: Include) -> str:
    """The blind-index parameter of an `indexed` reference."""
    return f"ref:{include.param}"


def references(resource: dict[str, Any], include: Include) -> list[tuple[str, str]]:
    """The local `(type, id)` pairs the include's elements name, in order, without repeats.

    References are stored canonical (`Type/id`, version-specific `Type/id/_history/n`),
    so anything else (absolute URLs of other servers, contained `#x`) is not followed.
    """
    found: list[tuple[str, str]] = []
    for path in include.paths:
        for value in _at(resource, path.split(".")):
            target = _local(value)
            wanted = include.target is None or (target is not None and target[0] == include.target)
            if target is not None and wanted and target not in found:
                found.append(target)
    return found[:MAX_REFERENCES]


def reference_terms(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The `ref:<param>` terms of a resource's indexed includes (`Type/id`)."""
    for include in INCLUDES.values():
        if include.indexed and include.source == resource.get("resourceType"):
            for target_type, target_id in references(resource, include):
                yield index_param(include), f"{target_type}/{target_id}"


def _at(value: Any, steps: list[str]) -> Iterator[Any]:
    """Every element at a dotted path, lists flattened along the way."""
    if isinstance(value, list):
        for item in value:
            yield from _at(item, steps)
        return
    if not steps:
        yield value
        return
    if isinstance(value, dict):
        yield from _at(value.get(steps[0]), steps[1:])


def _local(reference: Any) -> tuple[str, str] | None:
    """`(type, id)` of a canonical local reference, None for anything else."""
    text = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(text, str):
        return None
    parts = text.split("/")
    if len(parts) not in {2, 4} or not parts[0][:1].isupper() or not parts[1]:
        return None
    if len(parts) == 4 and parts[2] != "_history":
        return None
    return parts[0], parts[1]
