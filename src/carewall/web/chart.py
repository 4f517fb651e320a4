"""The staff chart: a readable summary of one patient's compartment, built for templates.

Loading goes through `records.access` only: the Patient read first (so a
restricted record raises `BreakGlassRequiredError` before anything else is
decrypted), then one compartment search per section type the caller's role
may read. Each search is one indexed query on the compartment column, audited
with its resource type, so "who looked at what" stays precise. Sections the
matrix refuses are reported as unavailable, never queried. Reading FHIR
(concepts, names, demographics) is `records.readers`, shared with the portal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.records import Purpose
from carewall.records.access import get_record_for, search_for
from carewall.records.access.matrix import Action, allowed
from carewall.records.readers import Demographics, concept, demographics_of
from carewall.web.vitals import Trend, trends

RECENT_OBSERVATIONS = 25
# Resources of one type read (and decrypted) for one chart section, newest written first:
# a page view costs at most this many per section, however long the history.
SECTION_LIMIT = 200


@dataclass(frozen=True)
class Row:
    """One line of a chart section: what, status, when."""

    text: str
    detail: str = ""
    when: str = ""


@dataclass
class Chart:
    """The chart's sections; a section is None when the caller's role may not read it."""

    patient: Demographics
    sections: dict[str, list[Row] | None] = field(default_factory=dict)
    trends: list[Trend] = field(default_factory=list)
    capped: set[str] = field(default_factory=set)  # sections showing only the newest ones


# Section key -> (resource type, heading). Order is the order on the page.
SECTIONS: dict[str, tuple[str, str]] = {
    "problems": ("Condition", "Problems"),
    "allergies": ("AllergyIntolerance", "Allergies"),
    "medications": ("MedicationRequest", "Medications"),
    "observations": ("Observation", "Recent observations"),
    "encounters": ("Encounter", "Encounters"),
    "documents": ("DocumentReference", "Documents"),
    "coverage": ("Coverage", "Coverage"),
}


def load_chart(runtime: Runtime, actor: Caller, patient_id: str, purpose: Purpose) -> Chart:
    """The chart of one patient as `actor` may see it (raises the vault's access errors)."""
    patient = get_record_for(runtime, actor, "Patient", patient_id, purpose)
    chart = Chart(demographics_of(patient, role=actor.role))
    for key, (resource_type, _) in SECTIONS.items():
        if not allowed(actor.role, Action.READ, resource_type):
            chart.sections[key] = None
            continue
        params = {"patient": [patient_id]}
        found = search_for(
            runtime, actor, resource_type, params, purpose, limit=SECTION_LIMIT, newest_first=True
        )
        if len(found) >= SECTION_LIMIT:
            chart.capped.add(key)
        if resource_type == "Observation":
            chart.trends = trends(found)
        chart.sections[key] = _rows(resource_type, found)
    return chart


def quantity(value: Any) -> str:
    """`72 /min`, `80.5 kg` (a Quantity) or the empty string."""
    if not isinstance(value, dict) or value.get("value") is None:
        return ""
    number = value["value"]
    text = f"{number:g}" if isinstance(number, float) else str(number)
    return f"{text} {value.get('unit') or value.get('code') or ''}".strip()


def observation_value(obs: dict[str, Any]) -> str:
    """The value of an Observation as one short string (components joined: `120/80 mm[Hg]`)."""
    if "valueQuantity" in obs:
        return quantity(obs["valueQuantity"])
    if "valueCodeableConcept" in obs:
        return concept(obs["valueCodeableConcept"])
    if "valueString" in obs:
        return str(obs["valueString"])[:200]
    parts = [quantity(c.get("valueQuantity")) for c in obs.get("component") or []]
    parts = [p for p in parts if p]
    if len(parts) == 2 and parts[0].split(" ")[1:] == parts[1].split(" ")[1:]:
        return f"{parts[0].split(' ')[0]}/{parts[1]}"
    return ", ".join(parts)


def _day(value: Any) -> str:
    return str(value)[:10] if value else ""


def _condition(r: dict[str, Any]) -> Row:
    status = concept(r.get("clinicalStatus"))
    return Row(concept(r.get("code")) or "Unnamed problem", status, _day(r.get("onsetDateTime")))


def _allergy(r: dict[str, Any]) -> Row:
    detail = ", ".join(
        x for x in (str(r.get("criticality") or ""), concept(r.get("clinicalStatus"))) if x
    )
    return Row(concept(r.get("code")) or "Unnamed allergy", detail, _day(r.get("recordedDate")))


def _medication(r: dict[str, Any]) -> Row:
    name = concept(r.get("medicationCodeableConcept")) or "Medication"
    return Row(name, str(r.get("status") or ""), _day(r.get("authoredOn")))


def _observation(r: dict[str, Any]) -> Row:
    return Row(concept(r.get("code")) or "Observation", observation_value(r), _day(_when(r)))


def _encounter(r: dict[str, Any]) -> Row:
    types = [concept(t) for t in r.get("type") or []]
    kind = next((t for t in types if t), "") or str((r.get("class") or {}).get("code") or "")
    start = (r.get("period") or {}).get("start")
    return Row(kind or "Encounter", str(r.get("status") or ""), _day(start))


def _document(r: dict[str, Any]) -> Row:
    attachments = [c.get("attachment") or {} for c in r.get("content") or []]
    title = next((str(a["title"]) for a in attachments if a.get("title")), "")
    text = str(r.get("description") or "") or title or concept(r.get("type")) or "Document"
    return Row(
        text, concept(r.get("type")) if text != concept(r.get("type")) else "", _day(r.get("date"))
    )


def _coverage(r: dict[str, Any]) -> Row:
    payors = [str(p.get("display") or "") for p in r.get("payor") or [] if isinstance(p, dict)]
    text = concept(r.get("type")) or next((p for p in payors if p), "") or "Coverage"
    return Row(text, str(r.get("status") or ""), _day((r.get("period") or {}).get("start")))


def _when(r: dict[str, Any]) -> str:
    return str(
        r.get("effectiveDateTime")
        or (r.get("effectivePeriod") or {}).get("start")
        or r.get("issued")
        or ""
    )


_SUMMARISERS: dict[str, Callable[[dict[str, Any]], Row]] = {
    "Condition": _condition,
    "AllergyIntolerance": _allergy,
    "MedicationRequest": _medication,
    "Observation": _observation,
    "Encounter": _encounter,
    "DocumentReference": _document,
    "Coverage": _coverage,
}


def _rows(resource_type: str, resources: list[dict[str, Any]]) -> list[Row]:
    """Newest first; observations capped to the most recent ones."""
    rows = sorted(
        (_SUMMARISERS[resource_type](r) for r in resources), key=lambda r: r.when, reverse=True
    )
    return rows[:RECENT_OBSERVATIONS] if resource_type == "Observation" else rows
