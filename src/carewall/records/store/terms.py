"""What gets a blind index: normalisation and the search terms of a resource.

Normalisation makes exact-match search forgiving about case, accents and
spacing ("Müller " finds "muller") while staying exact otherwise.

Names are also found by their beginning and by their sound, because the
front desk types "Mul" or "Muller" for "Müller-Lüdenscheidt":

- prefix terms (`family:prefix`, `given:prefix`): every beginning of the
  normalised name from `PREFIX_MIN` to `PREFIX_MAX` characters, each its own
  blind index. Every name part gets exactly `PREFIX_MAX - PREFIX_MIN + 1`
  prefix rows: a short name is padded with terms no query can produce, so
  the number of rows does not tell how long the name is. A query longer than
  `PREFIX_MAX` is matched on its first `PREFIX_MAX` characters (names that
  agree on those and differ later are returned too).
- a phonetic term (`phonetic`): the American Soundex code of each family and
  given name (`soundex`), for FHIR's `phonetic` parameter ("Smyth" finds
  "Smith").

What this reveals to someone holding the database but not the index key is
written in docs/threat-model.md (shared prefixes and sound-alike names become
linkable).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from carewall.records.store.dates import date_terms
from carewall.records.store.includes import reference_terms

_SPACES = re.compile(r"\s+")
# An identifier's value with case, accents and spacing folded (`normalise`), for the staff
# patient search (`records.finder`): a clerk typing `mrn-103` for `MRN-103` finds the
# patient. FHIR searches and conditional matches use `identifier`, the value as written.
FOLDED_IDENTIFIER = "identifier:folded"
SEARCH_PARAMS = frozenset(
    {
        "identifier",
        FOLDED_IDENTIFIER,
        "family",
        "given",
        "name",
        "family:exact",
        "given:exact",
        "name:exact",
        "phonetic",
        "phone",
        "email",
        "code",
    }
)
# String parameters that match the beginning of a name (FHIR's default for strings);
# their `:exact` form matches the whole normalised name.
PREFIX_PARAMS = {"family": ("family",), "given": ("given",), "name": ("family", "given")}
PREFIX_MIN = 2
PREFIX_MAX = 12
_PAD = "\x00pad"
# Search parameters that select a compartment (`records.store.compartments` decides membership).
COMPARTMENT_PARAMS = frozenset({"patient", "subject"})
# Where each type keeps the code that `code=` searches.
_CODE_FIELDS = ("code", "vaccineCode", "medicationCodeableConcept", "type")
# Token parameters with a system: besides `value` and `system|value`, FHIR's `system|`
# (any value of the system) and `|value` (a value with no system) are looked up in
# terms of their own, which nothing but these query forms reaches.
TOKEN_PARAMS = frozenset({"identifier", FOLDED_IDENTIFIER, "code"})


def system_param(param: str) -> str:
    """The index parameter of a token's system alone (`code=http://loinc.org|`)."""
    return f"{param}:system"


def no_system_param(param: str) -> str:
    """The index parameter of a token value written without a system (`code=|8867-4`)."""
    return f"{param}:nosystem"


def token_query(param: str, value: str) -> tuple[str, str]:
    """The index parameter and value a token search value looks up (`token_value`)."""
    if "|" not in value:
        return param, token_value(param, value)
    system, _, code = value.partition("|")
    system = system.strip()
    if not system:
        return no_system_param(param), token_value(param, code)
    if not code.strip():
        return system_param(param), system
    return param, f"{system}|{token_value(param, code)}"


def token_value(param: str, value: str) -> str:
    """A token's value as indexed and looked up: an identifier's as written (only the
    spaces around it trimmed), a code's normalised.

    FHIR matches tokens case-sensitively unless their system says otherwise. An
    identifier's system rarely does (`AB-12` and `ab-12` may be two patients' record
    numbers), and a conditional create or reference that took one for the other would
    answer with, or file under, the wrong patient. Codes stay normalised: their systems
    (LOINC, SNOMED CT, RxNorm, ...) hold no two codes that differ by case.
    """
    return value.strip() if param == "identifier" else normalise(value)


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
    terms.update(_code_terms(resource))
    terms.update(date_terms(resource))
    terms.update(reference_terms(resource))
    return terms


def prefix_param(part: str) -> str:
    """The index parameter of a name part's prefix terms."""
    return f"{part}:prefix"


def query_prefix(value: str) -> str | None:
    """The prefix term a name query looks up (None: too short to look up).

    Control characters are dropped, so no query reaches a padding term (which
    starts with NUL).
    """
    normal = "".join(ch for ch in normalise(value) if unicodedata.category(ch)[0] != "C")
    return normal[:PREFIX_MAX] if len(normal) >= PREFIX_MIN else None


def query_value(param: str, value: str) -> str:
    """Normalise a search value the same way the stored terms were."""
    if param == "phonetic":
        return soundex(value)
    param = param.removesuffix(":exact")
    if param == "phone":
        return normalise_phone(value)
    if param in TOKEN_PARAMS:
        return token_query(param, value)[1]
    return normalise(value)


def _identifier_terms(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    found = resource.get("identifier")  # a list, or one Identifier (Composition, ...)
    for ident in _dicts(found if isinstance(found, list) else [found]):
        value = _str(ident.get("value"))
        if not value:
            continue
        system = _str(ident.get("system"))
        yield from _token_terms("identifier", system, value)
        yield FOLDED_IDENTIFIER, normalise(value)
        if system and system.strip():
            yield FOLDED_IDENTIFIER, f"{system.strip()}|{normalise(value)}"


def _name_terms(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for name in _dicts(resource.get("name")):
        family = _str(name.get("family"))
        givens = _strs(name.get("given"))  # `"given": null` is no list either
        if family:
            yield "family", normalise(family)
            yield "name", normalise(family)
            yield from _finding_terms("family", family)
        for given in givens:
            yield "given", normalise(given)
            yield "name", normalise(given)
            yield from _finding_terms("given", given)
        text = _str(name.get("text"))
        if text:
            yield "name", normalise(text)


def _finding_terms(part: str, name: str) -> Iterator[tuple[str, str]]:
    """The prefix terms (padded to a fixed count) and the phonetic term of one name part."""
    normal = normalise(name)
    if not normal:
        return
    param = prefix_param(part)
    for length in range(PREFIX_MIN, PREFIX_MAX + 1):
        if length <= len(normal):
            yield param, normal[:length]
        else:  # a value no query produces: only the row count stays the same
            yield param, f"{_PAD}{length}\x00{normal}"
    code = soundex(name)
    if code:
        yield "phonetic", code


# Soundex digit of each consonant; vowels, h, w and y have none.
_SOUNDEX = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}


def soundex(value: str) -> str:
    """American Soundex of a name: its first letter and three digits ("Robert" -> "r163").

    Letters only (accents stripped); h and w do not separate two equal digits,
    vowels do. Empty for a value with no letter a-z.
    """
    letters = [ch for ch in normalise(value) if "a" <= ch <= "z"]
    if not letters:
        return ""
    digits, last = [], _SOUNDEX.get(letters[0], "")
    for ch in letters[1:]:
        code = _SOUNDEX.get(ch, "")
        if code and code != last:
            digits.append(code)
        if ch not in "hw":
            last = code
    return (letters[0] + "".join(digits) + "000")[:4]


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
                yield from _token_terms("code", _str(coding.get("system")), code)


def _token_terms(param: str, system: str | None, value: str) -> Iterator[tuple[str, str]]:
    """A token's terms: its value, and `system|value` and `system|`, or `|value`."""
    indexed = token_value(param, value)
    yield param, indexed
    if system and system.strip():
        yield param, f"{system.strip()}|{indexed}"
        yield system_param(param), system.strip()
    else:
        yield no_system_param(param), indexed


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _strs(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
