"""What gets a blind index: normalisation and the search terms of a resource.

Normalisation makes exact-match search forgiving about case, accents and
spacing ("Müller " finds "muller") while staying exact otherwise.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

_SPACES = re.compile(r"\s+")
SEARCH_PARAMS = frozenset(
    {"identifier", "family", "given", "name", "birthdate", "phone", "email", "code"}
)
# Search parameters that select a compartment (`records.store.compartments` decides membership).
COMPARTMENT_PARAMS = frozenset({"patient", "subject"})
# Where each type keeps the code that `code=` searches.
_CODE_FIELDS = ("code", "vaccineCode", "medicationCodeableConcept", "type")


def normalise(value: str) -> str:
    """Lowercase, accents stripped (NFKD), whitespace collapsed and trimmed."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def normalise_phone(value: str) -> str:
    """Digits only, so "(555) 123-4567" and "555.123.4567" match."""
    return "".join(ch for ch in value if ch.isdigit())


def search_terms(resource: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (param, normalised value) pair this resource can be found by."""
    terms: set[tuple[str, str]] = set()
    terms.update(_identifier_terms(resource))
    terms.update(_name_terms(resource))
    terms.update(_telecom_terms(resource))
    birth = _str(resource.get("birthDate"))
    if birth:
        terms.add(("birthdate", birth.strip()))
    terms.update(_code_terms(resource))
    return terms


def query_value(param: str, value: str) -> str:
    """Normalise a search value the same way the stored terms were."""
    if param == "phone":
        return normalise_phone(value)
    if param in {"identifier", "code"} and "|" in value:
        system, _, rest = value.partition("|")
        return f"{system.strip()}|{normalise(rest)}" if system else normalise(rest)
    return value.strip() if param == "birthdate" else normalise(value)


def _identifier_terms(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for ident in _dicts(resource.get("identifier")):
        value = _str(ident.get("value"))
        if not value:
            continue
        yield "identifier", normalise(value)
        system = _str(ident.get("system"))
        if system:
            yield "identifier", f"{system.strip()}|{normalise(value)}"


def _name_terms(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for name in _dicts(resource.get("name")):
        family = _str(name.get("family"))
        givens = _strs(name.get("given"))  # `"given": null` is no list either
        if family:
            yield "family", normalise(family)
            yield "name", normalise(family)
        for given in givens:
            yield "given", normalise(given)
            yield "name", normalise(given)
        text = _str(name.get("text"))
        if text:
            yield "name", normalise(text)


def _telecom_terms(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for contact in _dicts(resource.get("telecom")):
        value = _str(contact.get("value"))
        if not value:
            continue
        if contact.get("system") == "phone":
            yield "phone", normalise_phone(value)
        elif contact.get("system") == "email":
            yield "email", normalise(value)


def _code_terms(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for field_name in _CODE_FIELDS:
        concepts = resource.get(field_name)
        for concept in _dicts(concepts if isinstance(concepts, list) else [concepts]):
            for coding in _dicts(concept.get("coding")):
                code = _str(coding.get("code"))
                if not code:
                    continue
                yield "code", normalise(code)
                system = _str(coding.get("system"))
                if system:
                    yield "code", f"{system.strip()}|{normalise(code)}"


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _strs(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
