"""The canonical form of references to patients, and which fields decide a compartment."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from carewall.records.errors import RecordValidationError
from carewall.records.store.compartments import (
    PATIENT_COMPARTMENT,
    OwnServer,
    canonicalise,
    compartment_of,
    legacy_patient_of,
    patient_candidates,
    read_reference,
)
from carewall.records.store.resource_types import fhir_r4
from carewall.records.store.validation import SUPPORTED_TYPES

BASE = "https://Clinic.Example/fhir"
OWN = OwnServer.of(BASE)


@pytest.mark.parametrize(
    ("raw", "text", "patient"),
    [
        ("Patient/p1", "Patient/p1", "p1"),
        ("Patient/P1", "Patient/P1", "P1"),  # ids are case-sensitive: kept as written
        ("  Patient/p1\t", "Patient/p1", "p1"),
        ("Patient/p1/_history/3", "Patient/p1/_history/3", "p1"),
        ("https://clinic.example/fhir/Patient/p1", "Patient/p1", "p1"),
        ("HTTPS://CLINIC.EXAMPLE:443/fhir/Patient/p1/_history/2", "Patient/p1/_history/2", "p1"),
        ("https://clinic.example./fhir/Observation/o1", "Observation/o1", None),
        (
            "https://elsewhere.example/fhir/Patient/p1",
            "https://elsewhere.example/fhir/Patient/p1",
            None,
        ),
        ("Practitioner/d1", "Practitioner/d1", None),
        ("#contained", "#contained", None),
        ("urn:uuid:1234", "urn:uuid:1234", None),
    ],
)
def test_accepted_spellings(raw: str, text: str, patient: str | None) -> None:
    found = read_reference(raw, OWN)
    assert found.problem is None
    assert (found.text, found.patient) == (text, patient)


@pytest.mark.parametrize(
    "raw",
    [
        "patient/p1",
        "PATIENT/p1",
        "Patient/p1?x",
        "Patient/p1#x",
        "Patient/ p1",
        "Patient//p1",
        "/Patient/p1",
        "Patient/p1/",
        "Patient/..",
        "Patient",
        "Patient?identifier=urn:mrn|1",
        "Patient%2Fp1",
        "Patient/p%31",
        "https://clinic.example/Patient/p1",  # this host, outside the FHIR base
        "http://clinic.example/fhir/Patient/p1",  # this host, another scheme
        "https://clinic.example:8443/fhir/Patient/p1",  # this host, another port
        "https://clinic.example/fhir/Patient/p1?x",
        "https://user@clinic.example/fhir/Patient/p1",
        "http://[clinic/fhir/Patient/p1",  # not even a URL
    ],
)
def test_refused_spellings(raw: str) -> None:
    found = read_reference(raw, OWN)
    assert found.problem is not None, raw
    assert "p1" not in found.problem, "problems never echo the value"


def test_a_bare_id_is_refused_only_where_it_decides_the_compartment() -> None:
    assert read_reference("p1", OWN, decides=True).problem is not None
    assert read_reference("p1", OWN).problem is None


def test_loopback_names_are_one_host() -> None:
    own = OwnServer.of("http://127.0.0.1:8000/fhir")
    assert read_reference("http://localhost:8000/fhir/Patient/p1", own).patient == "p1"
    assert read_reference("http://[::1]:8000/fhir/Patient/p1", own).patient == "p1"
    assert read_reference("http://localhost:9000/fhir/Patient/p1", own).problem is not None


def test_canonicalise_rewrites_every_reference_and_contained_resources() -> None:
    resource = {
        "resourceType": "ExplanationOfBenefit",
        "patient": {"reference": f"{BASE}/Patient/p1"},
        "provider": {"reference": f"{BASE}/Practitioner/d1"},
        "contained": [
            {"resourceType": "Coverage", "id": "c", "beneficiary": {"reference": " Patient/p1"}}
        ],
    }
    out = canonicalise(resource, BASE)
    assert out["patient"] == {"reference": "Patient/p1"}
    assert out["provider"] == {"reference": "Practitioner/d1"}
    assert out["contained"][0]["beneficiary"] == {"reference": "Patient/p1"}
    assert compartment_of(out) == "p1"
    assert resource["patient"]["reference"].startswith("https://"), "the input is not changed"


def test_one_patient_per_resource() -> None:
    two = {
        "resourceType": "Coverage",
        "beneficiary": {"reference": "Patient/a"},
        "subscriber": {"reference": "Patient/b"},
    }
    with pytest.raises(RecordValidationError) as caught:
        canonicalise(two, BASE)
    assert [i.expression for i in caught.value.issues] == ["Coverage.subscriber.reference"]
    linked = {"resourceType": "Patient", "id": "a", "link": [{"other": {"reference": "Patient/b"}}]}
    assert compartment_of(canonicalise(linked, BASE)) == "a"
    contained = {
        **linked,
        "link": [],
        "contained": [{"resourceType": "Observation", "subject": {"reference": "Patient/b"}}],
    }
    with pytest.raises(RecordValidationError):
        canonicalise(contained, BASE)


def test_compartment_of_refuses_what_was_not_canonicalised() -> None:
    with pytest.raises(RecordValidationError):
        compartment_of({"resourceType": "Observation", "subject": {"reference": "patient/p1"}})


def test_rows_written_before_the_rules_are_read_leniently() -> None:
    def obs(reference: str, **extra: Any) -> dict[str, Any]:
        return {"resourceType": "Observation", "subject": {"reference": reference}, **extra}

    for raw in (
        "patient/p1",
        " Patient/p1",
        "Patient/p1?x",
        "Patient/p1#y",
        "Patient/ p1",
        f"{BASE}/Patient/p1",
        "https://clinic.example/fhir/patient/p1/_history/2",
    ):
        assert legacy_patient_of(obs(raw), OWN) == "p1", raw
    assert legacy_patient_of(obs("https://elsewhere.example/fhir/Patient/p1"), OWN) is None
    performer = obs("Group/g", performer=[{"reference": "Patient/p2"}])
    assert legacy_patient_of(performer, OWN) == "p2"
    assert patient_candidates(obs("https://elsewhere.example/fhir/Patient/p1")) == ["p1"]
    assert legacy_patient_of(obs("http://[broken/Patient/p1"), OWN) is None, "no crash"


def test_the_compartment_map_matches_the_fhir_models() -> None:
    """Every listed field exists on the R4B model and may reference a Patient (or any
    resource: `Reference(Any)`); every stored type FHIR puts in the compartment is listed."""
    in_fhir = set(fhir_r4()["patientCompartment"])
    assert set(PATIENT_COMPARTMENT) == in_fhir & SUPPORTED_TYPES
    assert {"Observation", "Encounter", "Provenance", "Coverage"} <= set(PATIENT_COMPARTMENT)
    assert not {"Organization", "Practitioner", "Location"} & set(PATIENT_COMPARTMENT)
    for resource_type, fields in PATIENT_COMPARTMENT.items():
        for path in fields:
            model: Any = get_fhir_model_class(resource_type)
            for part in path.split("."):
                info = model.model_fields[part]
                element = info.json_schema_extra or {}
                model = _element_model(model, info.annotation)
            targets = element.get("enum_reference_types", [])
            assert {"Patient", "Resource"} & set(targets), (resource_type, path, targets)


def _element_model(owner: Any, annotation: Any) -> Any:
    """The model class inside `Optional[List[XType]]`-like annotations (the R4B models name
    backbone elements `XType` in annotations; the class is `X` in the owner's module)."""
    inner = annotation
    while getattr(inner, "__args__", None):
        inner = next(a for a in inner.__args__ if a is not type(None))
    name = getattr(inner, "__name__", "").removesuffix("Type")
    return getattr(sys.modules[owner.__module__], name, None)
