"""Server-side checks for the staff chart's forms, and the FHIR resources they become.

Each function returns either the resource to write or a list of messages that
name the field, never echo its value: a typo in a phone number is still PHI.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from carewall.core.clock import utcnow

NOTE_MAX_CHARS = 20_000
_PHONE = re.compile(r"^\+?[0-9 ()./-]{5,30}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_NAME_MAX, _LINE_MAX, _POSTAL_MAX = 100, 200, 20


@dataclass(frozen=True)
class Vital:
    """A vital sign staff may record: LOINC code, label, fixed UCUM unit, plausible range."""

    key: str
    code: str
    label: str
    unit: str
    low: float
    high: float


VITALS = {
    v.key: v
    for v in (
        Vital("heart-rate", "8867-4", "Heart rate", "/min", 20, 250),
        Vital("weight", "29463-7", "Body weight", "kg", 0.3, 400),
        Vital("bmi", "39156-5", "Body mass index (BMI)", "kg/m2", 8, 80),
        Vital("height", "8302-2", "Body height", "cm", 20, 260),
        Vital("temperature", "8310-5", "Body temperature", "Cel", 30, 45),
        Vital(
            "blood-pressure", "85354-9", "Blood pressure (systolic/diastolic)", "mm[Hg]", 20, 300
        ),
    )
}
RESTRICT_REASONS = {
    "vip": "VIP or public figure",
    "employee": "Employee of the practice",
    "behavioural-health": "Behavioural health",
    "patient-request": "At the patient's request",
}
# UI reasons -> the codes `records.services.start_break_glass` accepts.
BREAK_GLASS_REASONS = {
    "emergency": ("Emergency treatment", "emergency"),
    "unable-to-consent": ("Patient unable to consent", "unable-to-consent"),
    "continuity-of-care": ("Continuity of care", "continuity-of-care"),
    "other": ("Other (explain below)", "other"),
}


def demographic_errors(form: dict[str, str]) -> list[str]:
    """What is wrong with the demographics form (the Patient edit itself is
    `records.readers.with_demographics`)."""
    errors = []
    if not form["family"]:
        errors.append("Family name is required.")
    if len(form["family"]) > _NAME_MAX or len(form["given"]) > _NAME_MAX:
        errors.append(f"Names are at most {_NAME_MAX} characters.")
    if form["phone"] and not _PHONE.match(form["phone"]):
        errors.append("Phone: use digits, spaces and + ( ) - only (5 to 30 characters).")
    if form["email"] and not _EMAIL.match(form["email"]):
        errors.append("Email: enter an address like name@example.org.")
    if len(form["line"]) > _LINE_MAX or len(form["city"]) > _NAME_MAX:
        errors.append(f"Address lines are at most {_LINE_MAX} characters.")
    if len(form["postal_code"]) > _POSTAL_MAX:
        errors.append(f"Postal code is at most {_POSTAL_MAX} characters.")
    return errors


def vital_observation(
    patient_id: str, kind: str, value: str, when: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """A vital-signs Observation in the unit fixed for `kind`, or the problems found."""
    vital = VITALS.get(kind)
    errors = [] if vital else ["Choose a vital sign from the list."]
    day = _past_date(when, errors)
    numbers = _numbers(value, 2 if kind == "blood-pressure" else 1, errors)
    if vital and numbers and not all(vital.low <= n <= vital.high for n in numbers):
        errors.append(f"{vital.label}: expected {vital.low:g} to {vital.high:g} {vital.unit}.")
    if errors or vital is None or day is None:
        return None, errors
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [_vital_signs_category()],
        "code": _loinc(vital.code, vital.label),
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": day.isoformat(),
    }
    if kind == "blood-pressure":
        resource["component"] = [
            {"code": _loinc("8480-6", "Systolic"), "valueQuantity": _ucum(numbers[0], vital.unit)},
            {"code": _loinc("8462-4", "Diastolic"), "valueQuantity": _ucum(numbers[1], vital.unit)},
        ]
    else:
        resource["valueQuantity"] = _ucum(numbers[0], vital.unit)
    return resource, []


def note_document(
    patient_id: str, author: str, title: str, text: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """A clinical note as a DocumentReference with a text/plain attachment."""
    title, text = title.strip(), text.strip()
    errors = []
    if not title or len(title) > 200:
        errors.append("Title is required (at most 200 characters).")
    if not text:
        errors.append("The note is empty.")
    if len(text) > NOTE_MAX_CHARS:
        errors.append(f"The note is longer than {NOTE_MAX_CHARS:,} characters.")
    if errors:
        return None, errors
    now = utcnow().isoformat(timespec="seconds").replace("+00:00", "Z")
    resource = {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": _loinc("11506-3", "Progress note"),
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": now,
        "description": title,
        "author": [{"display": author[:200]}],
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(text.encode()).decode(),
                    "title": title,
                    "creation": now,
                }
            }
        ],
    }
    return resource, []


def _past_date(text: str, errors: list[str]) -> date | None:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        errors.append("Date: use the format YYYY-MM-DD.")
        return None
    if day > utcnow().date():
        errors.append("Date: cannot be in the future.")
        return None
    return day


def _numbers(text: str, count: int, errors: list[str]) -> list[float]:
    parts = [p.strip().replace(",", ".") for p in text.split("/")]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) != count:
        example = "120/80" if count == 2 else "a number such as 72"
        errors.append(f"Value: enter {example}.")
        return []
    return numbers


def _loinc(code: str, display: str) -> dict[str, Any]:
    return {
        "coding": [{"system": "http://loinc.org", "code": code, "display": display}],
        "text": display,
    }


def _ucum(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}


def _vital_signs_category() -> dict[str, Any]:
    system = "http://terminology.hl7.org/CodeSystem/observation-category"
    return {"coding": [{"system": system, "code": "vital-signs", "display": "Vital signs"}]}


@dataclass(frozen=True)
class SearchCriteria:
    """A patient search as typed: the staff search form and the officer's lookup share it.

    Names match by their beginning (or, with `sounds_like`, the family name by
    Soundex); birth date, identifier and phone match whole. Any combination,
    at least one. Messages name the field, never echo the value.
    """

    family: str = ""
    given: str = ""
    birthdate: str = ""
    identifier: str = ""
    phone: str = ""
    sounds_like: bool = False

    @classmethod
    def of(
        cls,
        family: str = "",
        given: str = "",
        birthdate: str = "",
        identifier: str = "",
        phone: str = "",
        sounds_like: str = "",
    ) -> SearchCriteria:
        """The form's fields, trimmed and cut to what a field can hold."""
        return cls(
            family=family.strip()[:_NAME_MAX],
            given=given.strip()[:_NAME_MAX],
            birthdate=birthdate.strip()[:10],
            identifier=identifier.strip()[:_LINE_MAX],
            phone=phone.strip()[:30],
            sounds_like=sounds_like in {"1", "on", "yes", "true"},
        )

    @property
    def empty(self) -> bool:
        """Nothing typed (the page shows the form only)."""
        return not (self.family or self.given or self.birthdate or self.identifier or self.phone)

    def params(self) -> tuple[dict[str, list[str]], list[str]]:
        """The vault's search parameters, or the messages that say what to fix."""
        if self.empty:
            return {}, ["Enter at least one of: family name, given name, birth date, MRN or phone."]
        errors: list[str] = []
        params: dict[str, list[str]] = {}
        for field, label, value in (
            ("family", "Family name", self.family),
            ("given", "Given name", self.given),
        ):
            if not value:
                continue
            letters = [ch for ch in value if ch.isalnum()]
            if len(letters) < 2:
                errors.append(f"{label}: type at least 2 letters.")
            elif field == "family" and self.sounds_like:
                params["phonetic"] = [value]
            else:
                params[field] = [value.split()[0] if field == "given" else value]
        if self.birthdate:
            try:
                params["birthdate"] = [date.fromisoformat(self.birthdate).isoformat()]
            except ValueError:
                errors.append("Birth date: use the format YYYY-MM-DD.")
        if self.identifier:
            params["identifier"] = [self.identifier.replace(",", " ")]
        if self.phone:
            digits = "".join(ch for ch in self.phone if ch.isdigit())
            if len(digits) < 5 or not _PHONE.match(self.phone):
                errors.append("Phone: type the whole number (at least 5 digits).")
            else:
                params["phone"] = [digits]
        return params, errors
