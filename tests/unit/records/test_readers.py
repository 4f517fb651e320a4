"""The FHIR readers the chart and the portal share, and the Patient edit."""

from __future__ import annotations

from carewall.records.readers import (
    DemographicsEdit,
    concept,
    concept_code,
    concept_text,
    demographics_of,
    person_name,
    with_demographics,
)

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "meta": {"versionId": "3"},
    "name": [
        {"use": "nickname", "given": ["Bee"]},
        {"use": "official", "family": "Müller", "given": ["Anna", "B."]},
    ],
    "telecom": [
        {"system": "phone", "value": "+1 555 0100"},
        {"system": "fax", "value": "+1 555 0199"},
    ],
    "address": [{"use": "work", "city": "Elsewhere"}, {"line": ["1 Main St"], "city": "Town"}],
    "identifier": [{"type": {"text": "MRN"}, "value": "42"}],
}


def test_concepts_read_text_then_display_then_code() -> None:
    coded = {"coding": [{"code": "active"}, {"display": "Active"}]}
    assert concept_text({"text": "Asthma", "coding": [{"display": "x"}]}) == "Asthma"
    assert concept_text(coded) == "Active"
    assert concept_code(coded) == "active"
    assert concept({"coding": [{"code": "c1"}]}) == "c1"
    assert concept("not a concept") == concept_text(None) == concept_code([]) == ""


def test_demographics_show_the_official_name_and_the_first_address() -> None:
    shown = demographics_of(PATIENT)
    assert (shown.family, shown.given, shown.version) == ("Müller", "Anna B.", 3)
    assert (shown.phone, shown.email, shown.city, shown.line) == (
        "+1 555 0100",
        "",
        "Elsewhere",
        "",
    )
    assert shown.identifiers == ["MRN: 42"]
    assert person_name(PATIENT) == "Bee"


def test_the_edit_replaces_what_was_shown_and_keeps_the_rest() -> None:
    edit = DemographicsEdit("Meyer", "Anna", "", "anna@example.org", "2 High St", "City", "12345")
    edited = with_demographics(PATIENT, edit)
    assert "meta" not in edited
    assert edited["name"] == [
        {"use": "official", "family": "Meyer", "given": ["Anna"]},
        {"use": "nickname", "given": ["Bee"]},
    ]
    assert edited["telecom"] == [
        {"system": "fax", "value": "+1 555 0199"},
        {"system": "email", "value": "anna@example.org"},
    ]
    assert edited["address"] == [
        {"use": "home", "line": ["2 High St"], "city": "City", "postalCode": "12345"},
        {"use": "work", "city": "Elsewhere"},
    ]


def test_an_emptied_address_and_contacts_are_left_out() -> None:
    edit = DemographicsEdit("Meyer", "", "", "", "", "", "")
    edited = with_demographics({"resourceType": "Patient", "id": "p2"}, edit)
    assert edited == {
        "resourceType": "Patient",
        "id": "p2",
        "name": [{"use": "official", "family": "Meyer"}],
    }
