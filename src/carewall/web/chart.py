"""The staff chart: a readable summary of one patient's compartment, built for templates.

Loading goes through `records.access` only: the Patient read first (so a
restricted record raises `BreakGlassRequiredError` before anything else is
decrypted), then one compartment search per section type the caller's role
may read. Each search is one indexed query on the compartment column, audited
with its resource type, so "who looked at what" stays precise. Sections the
matrix refuses are reported as unavailable, never queried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from carewall.core.roles import Role
from carewall.core.runtime import Runtime
from carewall.records import Actor, Purpose
from carewall.records.access import get_record_for, search_for
from carewall.records.matrix import Action, allowed
from carewall.web.vitals import Trend, trends

RECENT_OBSERVATIONS = 25
# Resources of one type read (and decrypted) for one chart section, newest written first:
# a page view costs at most this many per section, however long the history.
SECTION_LIMIT = 200


@dataclass(frozen=True)
class Demographics:
    """What the chart header and the edit form show about the person."""

    id: str
    version: int
    family: str
    given: str
    birth_date: str
    gender: str
    identifiers: list[str]
    phone: str
    email: str
    line: str
    city: str
    postal_code: str

    @property
    def display_name(self) -> str:
        """`Given Family`, as staff say it."""
        return " ".join(p for p in (self.given, self.family) if p) or "(no name recorded)"


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


def load_chart(runtime: Runtime, actor: Actor, patient_id: str, purpose: Purpose) -> Chart:
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


def demographics_of(patient: dict[str, Any], role: Role | None = None) -> Demographics:
    """Flatten the Patient resource's first (official) name, contacts and home address.

    With `role`, identity documents the role does not need are masked (`mask_identifier`).
    """
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    telecom = [t for t in patient.get("telecom") or [] if isinstance(t, dict)]
    address = next(iter(a for a in patient.get("address") or [] if isinstance(a, dict)), {})
    return Demographics(
        id=str(patient.get("id", "")),
        version=int((patient.get("meta") or {}).get("versionId") or 1),
        family=str(name.get("family") or ""),
        given=" ".join(str(g) for g in name.get("given") or []),
        birth_date=str(patient.get("birthDate") or ""),
        gender=str(patient.get("gender") or ""),
        identifiers=[
            _identifier(i, role) for i in patient.get("identifier") or [] if isinstance(i, dict)
        ],
        phone=_telecom(telecom, "phone"),
        email=_telecom(telecom, "email"),
        line=" ".join(str(x) for x in address.get("line") or []),
        city=str(address.get("city") or ""),
        postal_code=str(address.get("postalCode") or ""),
    )


def concept(value: Any) -> str:
    """The human text of a CodeableConcept (text, else first display, else code)."""
    if not isinstance(value, dict):
        return ""
    if value.get("text"):
        return str(value["text"])
    for coding in value.get("coding") or []:
        if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
            return str(coding.get("display") or coding.get("code"))
    return ""


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


# Identity documents, by their HL7 v2 identifier type code, and the roles whose work needs
# the whole number: billing files claims under the SSN; the front desk checks a licence or
# passport at registration. Everyone else (clinicians included) sees the last four.
_DOCUMENTS: dict[str, frozenset[Role]] = {
    "SS": frozenset({Role.BILLING}),
    "DL": frozenset({Role.FRONT_DESK}),
    "PPN": frozenset({Role.FRONT_DESK}),
}
_DOCUMENT_WORDS = {
    "social security number": "SS",
    "driver's license": "DL",
    "passport number": "PPN",
}


def document_code(identifier: dict[str, Any]) -> str | None:
    """`SS`, `DL` or `PPN` when the identifier is an identity document, else None."""
    kind = identifier.get("type")
    for coding in (kind or {}).get("coding") or [] if isinstance(kind, dict) else []:
        if isinstance(coding, dict) and coding.get("code") in _DOCUMENTS:
            return str(coding["code"])
    text = concept(kind).casefold()
    return next((code for words, code in _DOCUMENT_WORDS.items() if words in text), None)


def mask_identifier(value: str) -> str:
    """Only the last four characters, as on a receipt: `•••• 6589`."""
    kept = value.replace("-", "").replace(" ", "")[-4:]
    return f"•••• {kept}" if len(value) > 4 else "••••"


def _identifier(identifier: dict[str, Any], role: Role | None = None) -> str:
    kind = concept(identifier.get("type"))
    value = str(identifier.get("value") or "")
    document = document_code(identifier)
    if role is not None and document is not None and role not in _DOCUMENTS[document]:
        value = mask_identifier(value)
    return f"{kind}: {value}" if kind else value


def _telecom(telecom: list[dict[str, Any]], system: str) -> str:
    return next((str(t.get("value") or "") for t in telecom if t.get("system") == system), "")


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
