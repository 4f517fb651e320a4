"""Normalisation and search terms: what the blind indexes are computed over."""

from __future__ import annotations

import pytest

from carewall.records.access.matrix import ALL_TYPES, MATRIX, Action
from carewall.records.errors import RecordValidationError, UnsupportedResourceError
from carewall.records.store.compartments import compartment_of
from carewall.records.store.terms import (
    PREFIX_MAX,
    PREFIX_MIN,
    normalise,
    query_prefix,
    query_value,
    search_terms,
    soundex,
)
from carewall.records.store.validation import SUPPORTED_TYPES, validate_resource


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("  Müller ", "muller"), ("ZOË  van\tDyke", "zoe van dyke"), ("José", "jose")],
)
def test_normalise_strips_case_accents_and_spacing(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_search_terms_of_a_patient() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "name": [{"family": "Müller", "given": ["Ana"]}],
        "identifier": [{"system": "urn:mrn", "value": "AB-1"}],
        "telecom": [{"system": "phone", "value": "(555) 010-42"}],
        "birthDate": "1980-02-03",
    }
    terms = search_terms(patient)
    assert {("family", "muller"), ("given", "ana"), ("name", "ana")} <= terms
    # an identifier is indexed as written: "ab-1" may be another patient's record number
    assert {("identifier", "urn:mrn|AB-1"), ("identifier", "AB-1"), ("phone", "55501042")} <= terms
    assert ("identifier", "urn:mrn|ab-1") not in terms
    # the staff patient search looks it up folded, by a term of its own
    assert {("identifier:folded", "ab-1"), ("identifier:folded", "urn:mrn|ab-1")} <= terms
    # birthdate is a date parameter: one term per granularity a range can use
    assert {("date:y", "1980"), ("date:m", "1980-02"), ("date:d", "1980-02-03")} <= terms
    assert query_value("identifier", "urn:mrn| AB-1 ") == "urn:mrn|AB-1"
    assert query_value("code", "http://loinc.org|Abc") == "http://loinc.org|abc"
    assert query_value("phone", "555-010-42") == "55501042"


def test_compartment_of_a_resource() -> None:
    assert compartment_of({"resourceType": "Patient", "id": "p1"}) == "p1"
    obs = {"resourceType": "Observation", "subject": {"reference": "Patient/p2"}}
    assert compartment_of(obs) == "p2"
    assert compartment_of({"resourceType": "Practitioner", "id": "d"}) is None


def test_matrix_covers_exactly_the_supported_types() -> None:
    assert ALL_TYPES == SUPPORTED_TYPES
    for actions in MATRIX.values():
        assert actions[Action.WRITE] <= actions[Action.READ] | {"Practitioner", "Organization"}


def test_validation_names_the_field_and_never_the_value() -> None:
    with pytest.raises(RecordValidationError) as caught:
        validate_resource({"resourceType": "Patient", "birthDate": "31/12/1999-secret"})
    assert caught.value.issues[0].expression == "Patient.birthDate"
    outcome = caught.value.operation_outcome()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "secret" not in str(outcome)
    with pytest.raises(UnsupportedResourceError):
        validate_resource({"resourceType": "Parameters"})  # a message, never stored


def test_names_get_padded_prefix_terms_and_a_soundex_term() -> None:
    short = search_terms({"name": [{"family": "Li"}]})
    long = search_terms({"name": [{"family": "Montgomery-Smithson"}]})
    prefixes = {v for p, v in short if p == "family:prefix"}
    assert "li" in prefixes
    assert len(prefixes) == PREFIX_MAX - PREFIX_MIN + 1, "a short name is padded"
    long_prefixes = {v for p, v in long if p == "family:prefix"}
    assert len(long_prefixes) == len(prefixes), "row count does not tell the length"
    assert "mo" in long_prefixes
    assert "montgomery-s" in long_prefixes
    assert ("phonetic", "l000") in short


def test_a_query_prefix_is_normalised_cut_and_never_a_padding_term() -> None:
    assert query_prefix(" Mü ") == "mu"
    assert query_prefix("M") is None
    assert query_prefix("Montgomery-Smithson") == "montgomery-s"
    padding = {v for p, v in search_terms({"name": [{"family": "Li"}]}) if v.startswith("\x00")}
    assert padding, "padding terms start with a character no query keeps"
    assert all(query_prefix(v) != v for v in padding)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Robert", "r163"),
        ("Rupert", "r163"),
        ("Ashcraft", "a261"),
        ("Tymczak", "t522"),
        ("Pfister", "p236"),
        ("Müller", "m460"),
        ("O'Brien", "o165"),
        ("", ""),
        ("123", ""),
    ],
)
def test_soundex(name: str, code: str) -> None:
    assert soundex(name) == code
