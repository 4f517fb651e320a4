"""Reading FHIR resources for people: concepts, names, demographics, and the Patient edit.

The staff chart and the patient portal show the same resources; reading them
in one place keeps what staff see and what a patient sees about themselves
from drifting apart, and keeps FHIR's shapes out of the web layer. Resources
from the vault passed validation, but any element may be absent: every reader
is lenient and answers "" for what is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from carewall.core.roles import Role

_PHONE_OR_EMAIL = frozenset({"phone", "email"})


def concept_text(value: Any) -> str:
    """The human words of a CodeableConcept: its text, else a coding's display."""
    if not isinstance(value, dict):
        return ""
    if value.get("text"):
        return str(value["text"])
    return next((str(c["display"]) for c in _codings(value) if c.get("display")), "")


def concept_code(value: Any) -> str:
    """The first code of a CodeableConcept (a status such as `active`), or ""."""
    if not isinstance(value, dict):
        return ""
    return next((str(c["code"]) for c in _codings(value) if c.get("code")), "")


def concept(value: Any) -> str:
    """A CodeableConcept as one short string: its words, else its code."""
    return concept_text(value) or concept_code(value)


def person_name(resource: dict[str, Any]) -> str:
    """`Given Family` (or the name's text) of a Patient or Practitioner's first name."""
    name = next(_dicts(resource.get("name")), None)
    if name is None:
        return ""
    if name.get("text"):
        return str(name["text"])
    return f"{_given(name)} {name.get('family') or ''}".strip()


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


def demographics_of(patient: dict[str, Any], role: Role | None = None) -> Demographics:
    """The Patient's official name (else its first), phone, email and first address.

    With `role`, identity documents the role does not need are masked (`mask_identifier`).
    """
    name = _shown_name(patient) or {}
    address = next(_dicts(patient.get("address")), {})
    return Demographics(
        id=str(patient.get("id", "")),
        version=int((patient.get("meta") or {}).get("versionId") or 1),
        family=str(name.get("family") or ""),
        given=_given(name),
        birth_date=str(patient.get("birthDate") or ""),
        gender=str(patient.get("gender") or ""),
        identifiers=[_identifier(i, role) for i in _dicts(patient.get("identifier"))],
        phone=_contact(patient, "phone"),
        email=_contact(patient, "email"),
        line=" ".join(str(x) for x in address.get("line") or []),
        city=str(address.get("city") or ""),
        postal_code=str(address.get("postalCode") or ""),
    )


@dataclass(frozen=True)
class DemographicsEdit:
    """What staff may change about a person on the demographics form (already checked)."""

    family: str
    given: str
    phone: str
    email: str
    line: str
    city: str
    postal_code: str


def with_demographics(patient: dict[str, Any], edit: DemographicsEdit) -> dict[str, Any]:
    """The Patient with `edit` in place of what `demographics_of` showed; the rest kept.

    The shown name becomes the official name; phone and email replace every
    phone and email contact; the home address replaces the home (or unlabelled)
    one. Empty fields and emptied lists are left out, as FHIR wants.
    """
    resource = {k: v for k, v in patient.items() if k != "meta"}
    shown = _shown_name(patient)
    name = _present({"use": "official", "family": edit.family, "given": edit.given.split()})
    resource["name"] = [name, *(n for n in _dicts(patient.get("name")) if n is not shown)]
    resource["telecom"] = [
        *(t for t in _dicts(patient.get("telecom")) if t.get("system") not in _PHONE_OR_EMAIL),
        *([{"system": "phone", "value": edit.phone, "use": "home"}] if edit.phone else []),
        *([{"system": "email", "value": edit.email}] if edit.email else []),
    ]
    home = _present(
        {
            "use": "home",
            "line": [edit.line] if edit.line else [],
            "city": edit.city,
            "postalCode": edit.postal_code,
        }
    )
    kept = [a for a in _dicts(patient.get("address")) if a.get("use") not in {None, "home"}]
    resource["address"] = [home, *kept] if len(home) > 1 else kept
    return {k: v for k, v in resource.items() if v != []}


def _shown_name(patient: dict[str, Any]) -> dict[str, Any] | None:
    names = list(_dicts(patient.get("name")))
    return next((n for n in names if n.get("use") == "official"), names[0] if names else None)


def _given(name: dict[str, Any]) -> str:
    return " ".join(str(g) for g in name.get("given") or [])


def _contact(resource: dict[str, Any], system: str) -> str:
    found = (t for t in _dicts(resource.get("telecom")) if t.get("system") == system)
    return next((str(t.get("value") or "") for t in found), "")


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
    codes = (c.get("code") for c in _codings(kind)) if isinstance(kind, dict) else ()
    found = next((str(code) for code in codes if code in _DOCUMENTS), None)
    if found is not None:
        return found
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


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v}


def _codings(value: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return _dicts(value.get("coding"))


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    return (
        (item for item in value if isinstance(item, dict)) if isinstance(value, list) else iter(())
    )
