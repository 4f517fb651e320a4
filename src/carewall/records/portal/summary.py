"""A patient's own record in plain language, for the portal and its printable download.

`summarise` is pure (resources in, display rows out) so the page and the
download show exactly the same thing; `my_record` reads the compartment through
`access` with the patient's own Caller, so the vault's chokepoint decides, and
every read is audited with purpose "patient request".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from carewall.core.context import Caller, Purpose
from carewall.core.errors import NotFoundError
from carewall.core.runtime import Runtime
from carewall.records.access import get_record_for, search_for
from carewall.records.readers import concept_code, concept_text, person_name

RECENT = 20
# Resources of one type read (and decrypted) for the portal page, newest written first:
# a page view costs at most this many per section; the downloads hold everything.
SECTION_LIMIT = 200
SHOWN_TYPES = (
    "Condition",
    "AllergyIntolerance",
    "MedicationRequest",
    "Immunization",
    "Observation",
    "Encounter",
)


@dataclass(frozen=True)
class Line:
    """One item in a section: what it is, an optional value, a date and a status."""

    name: str
    value: str = ""
    when: str = ""
    status: str = ""


@dataclass
class RecordSummary:
    """The sections of the portal page, each newest first."""

    name: str = ""
    birth_date: str = ""
    problems: list[Line] = field(default_factory=list)
    allergies: list[Line] = field(default_factory=list)
    medications: list[Line] = field(default_factory=list)
    immunizations: list[Line] = field(default_factory=list)
    results: list[Line] = field(default_factory=list)
    visits: list[Line] = field(default_factory=list)
    partial: bool = False  # some section shows only the most recently recorded entries


def my_record(runtime: Runtime, actor: Caller) -> RecordSummary | None:
    """The patient's own record (None when the account is not linked to a stored one)."""
    if actor.patient_id is None:
        return None
    purpose = Purpose.PATIENT_REQUEST
    try:
        patient = get_record_for(runtime, actor, "Patient", actor.patient_id, purpose)
    except NotFoundError:  # linked to an id whose record is not (or no longer) stored
        return None
    resources, partial = [patient], False
    params = {"patient": [actor.patient_id]}
    for resource_type in SHOWN_TYPES:
        found = search_for(
            runtime, actor, resource_type, params, purpose, limit=SECTION_LIMIT, newest_first=True
        )
        partial = partial or len(found) >= SECTION_LIMIT
        resources.extend(found)
    summary = summarise(resources)
    summary.partial = partial
    return summary


def summarise(resources: Iterable[dict[str, Any]]) -> RecordSummary:
    """Turn FHIR resources into plain-language lines (codes become their display text)."""
    summary = RecordSummary()
    for r in resources:
        kind = r.get("resourceType")
        if kind == "Patient":
            summary.name = person_name(r)
            summary.birth_date = str(r.get("birthDate") or "")
        elif kind == "Condition":
            summary.problems.append(
                Line(
                    _concept(r.get("code")),
                    when=_date(r, "onsetDateTime", "recordedDate"),
                    status=concept_code(r.get("clinicalStatus")),
                )
            )
        elif kind == "AllergyIntolerance":
            summary.allergies.append(
                Line(
                    _concept(r.get("code")),
                    when=_date(r, "recordedDate", "onsetDateTime"),
                    status=concept_code(r.get("clinicalStatus")),
                )
            )
        elif kind == "MedicationRequest":
            summary.medications.append(
                Line(
                    _concept(r.get("medicationCodeableConcept")),
                    when=_date(r, "authoredOn"),
                    status=str(r.get("status") or ""),
                )
            )
        elif kind == "Immunization":
            summary.immunizations.append(
                Line(_concept(r.get("vaccineCode")), when=_date(r, "occurrenceDateTime"))
            )
        elif kind == "Observation":
            summary.results.append(
                Line(
                    _concept(r.get("code")),
                    value=_value(r),
                    when=_date(r, "effectiveDateTime", "issued"),
                )
            )
        elif kind == "Encounter":
            summary.visits.append(_visit(r))
    for lines in (summary.problems, summary.allergies, summary.medications, summary.immunizations):
        lines.sort(key=lambda line: line.when, reverse=True)
    summary.results = sorted(summary.results, key=lambda line: line.when, reverse=True)[:RECENT]
    summary.visits = sorted(summary.visits, key=lambda line: line.when, reverse=True)[:RECENT]
    return summary


def _visit(r: dict[str, Any]) -> Line:
    types = r.get("type")
    name = _concept(types[0]) if isinstance(types, list) and types else ""
    if not name:
        klass = r.get("class")
        name = (
            str(klass.get("display") or klass.get("code") or "") if isinstance(klass, dict) else ""
        )
    period = r.get("period")
    when = str(period.get("start") or "")[:10] if isinstance(period, dict) else ""
    return Line(name or "Visit", when=when, status=str(r.get("status") or ""))


def _concept(value: Any) -> str:
    """A CodeableConcept for a patient: its words, else `Code <code>`, else "Not named"."""
    code = concept_code(value)
    return concept_text(value) or (f"Code {code}" if code else "Not named")


def _value(r: dict[str, Any]) -> str:
    quantity = r.get("valueQuantity")
    if isinstance(quantity, dict) and quantity.get("value") is not None:
        value = quantity["value"]
        shown = f"{value:.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
        return f"{shown} {quantity.get('unit') or ''}".strip()
    if r.get("valueString"):
        return str(r["valueString"])
    if isinstance(r.get("valueCodeableConcept"), dict):
        return _concept(r["valueCodeableConcept"])
    parts = [
        f"{_concept(c.get('code'))}: {_value(c)}"
        for c in r.get("component") or []
        if isinstance(c, dict) and _value(c)
    ]
    return "; ".join(parts)


def _date(r: dict[str, Any], *names: str) -> str:
    for name in names:
        if r.get(name):
            return str(r[name])[:10]
    return ""
