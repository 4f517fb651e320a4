"""`_include` and `_revinclude` through HTTP: what is added, what is withheld, what is audited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

from carewall.audit import AuditEntryView, entries_with_action
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records import RecordsTag
from carewall.records.access.includes import MAX_INCLUDED
from carewall.records.access.restriction import restrict_compartment
from carewall.records.services import create_resource
from tests.support.factories import SYSTEM, bearer, fhir_resource


def _entries(bundle: dict[str, Any], mode: str) -> list[str]:
    return [
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == mode
    ]


def _reads(runtime: Runtime) -> list[AuditEntryView]:
    with runtime.db.sessions() as session:
        return entries_with_action(session, [RecordsTag.RESOURCE_READ])


@pytest.fixture
def practice(runtime: Runtime) -> None:
    """Two patients with an encounter each (by one practitioner), observations and orders."""
    create_resource(runtime, SYSTEM, fhir_resource("Practitioner", "x", id="dr-who"))
    for patient in ("p1", "p2", "p-vip"):
        create_resource(runtime, SYSTEM, fhir_resource("Patient", patient))
        doctor = {"individual": {"reference": "Practitioner/dr-who"}}
        encounter = fhir_resource("Encounter", patient, id=f"e-{patient}", participant=[doctor])
        create_resource(runtime, SYSTEM, encounter)
        for n in range(2):
            observation = fhir_resource("Observation", patient, id=f"o-{patient}-{n}")
            create_resource(runtime, SYSTEM, observation)
        order = fhir_resource("MedicationRequest", patient, id=f"m-{patient}")
        create_resource(runtime, SYSTEM, order)
    restrict_compartment(runtime, SYSTEM, "p-vip", "vip")


@pytest.mark.usefixtures("practice")
def test_forward_includes(runtime: Runtime, client: TestClient) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    asked = {
        "Observation?_include=Observation:patient": ["Patient/p1", "Patient/p2"],
        "Observation?_include=Observation:subject&patient=p2": ["Patient/p2"],
        "Encounter?_include=Encounter:practitioner": ["Practitioner/dr-who"],
        "Encounter?_include=Encounter:patient,Encounter:practitioner&_id=e-p1": [
            "Patient/p1",
            "Practitioner/dr-who",
        ],
        "MedicationRequest?_include=MedicationRequest:patient&patient=p1": ["Patient/p1"],
        "Condition?_include=Condition:patient": [],
    }
    for query, expected in asked.items():
        response = client.get(f"/fhir/{query}", headers=doctor)
        assert response.status_code == 200, (query, response.text)
        bundle = response.json()
        Bundle.model_validate(bundle)
        assert sorted(_entries(bundle, "include")) == expected, query
        assert all("p-vip" not in ref for ref in _entries(bundle, "match")), "restricted stays out"


@pytest.mark.usefixtures("practice")
def test_reverse_includes(runtime: Runtime, client: TestClient) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    response = client.get(
        "/fhir/Patient?_id=p1,p-vip&_revinclude=Observation:patient", headers=doctor
    )
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert _entries(bundle, "match") == ["Patient/p1"]
    assert _entries(bundle, "include") == ["Observation/o-p1-0", "Observation/o-p1-1"]
    assert bundle["total"] == 1, "included resources are not counted as matches"


@pytest.mark.usefixtures("practice")
def test_each_included_resource_is_audited_as_a_read(runtime: Runtime, client: TestClient) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    before = len(_reads(runtime))
    response = client.get(
        "/fhir/Encounter?_id=e-p1&_include=Encounter:patient,Encounter:practitioner",
        headers=doctor,
    )
    assert response.status_code == 200, response.text
    reads = _reads(runtime)[: len(_reads(runtime)) - before]
    assert sorted(str(r.details["resource_type"]) for r in reads) == ["Patient", "Practitioner"]
    assert all(r.actor.startswith("user:") for r in reads)


@pytest.mark.usefixtures("practice")
def test_what_the_role_may_not_read_at_all_is_not_looked_for_nor_counted(
    runtime: Runtime, client: TestClient
) -> None:
    """Front desk reads patients, not observations: the reverse include adds none of them,
    and says nothing of how many there are (a count told the front desk how many
    Observations or Conditions a patient has; found by a helper probing the API)."""
    desk = bearer(runtime, Role.FRONT_DESK)
    before = len(_reads(runtime))
    response = client.get("/fhir/Patient?_id=p1&_revinclude=Observation:patient", headers=desk)
    assert response.status_code == 200, response.text
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert _entries(bundle, "match") == ["Patient/p1"]
    assert _entries(bundle, "include") == []
    assert [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"] == []
    assert len(_reads(runtime)) == before, "nothing withheld is audited as read"


@pytest.mark.usefixtures("practice")
def test_a_patient_includes_only_from_their_own_record(
    runtime: Runtime, client: TestClient
) -> None:
    own = bearer(runtime, Role.PATIENT, patient_id="p1")
    response = client.get(
        "/fhir/Encounter?_include=Encounter:patient,Encounter:practitioner", headers=own
    )
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert _entries(bundle, "match") == ["Encounter/e-p1"]
    assert sorted(_entries(bundle, "include")) == ["Patient/p1", "Practitioner/dr-who"]


def test_includes_stop_at_the_limit(runtime: Runtime, client: TestClient) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "busy"))
    for n in range(MAX_INCLUDED + 1):
        observation = fhir_resource("Observation", "busy", id=f"obs-{n:03d}")
        create_resource(runtime, SYSTEM, observation)
    doctor = bearer(runtime, Role.CLINICIAN)
    response = client.get("/fhir/Patient?_id=busy&_revinclude=Observation:patient", headers=doctor)
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert len(_entries(bundle, "include")) == MAX_INCLUDED
    notes = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert f"stop at {MAX_INCLUDED}" in notes[0]["issue"][0]["diagnostics"]


def test_a_bundle_counts_the_includes_in_its_work(runtime: Runtime, client: TestClient) -> None:
    """34 searches of 50 fit the Bundle work budget (5000); with includes (100 more each)
    they do not, and the Bundle is refused before any of it runs."""
    doctor = bearer(runtime, Role.CLINICIAN)

    def batch(url: str) -> dict[str, Any]:
        entry = {"request": {"method": "GET", "url": url}}
        return {"resourceType": "Bundle", "type": "batch", "entry": [entry] * 34}

    plain = client.post("/fhir/", json=batch("Observation?_count=50"), headers=doctor)
    assert plain.status_code == 200, plain.text
    including = batch("Observation?_count=50&_include=Observation:patient")
    refused = client.post("/fhir/", json=including, headers=doctor)
    assert refused.status_code == 400, refused.text
    assert refused.json()["issue"][0]["code"] == "too-costly"


def _ordered(runtime: Runtime, patient: str, logical_id: str, medication: dict[str, Any]) -> None:
    order = fhir_resource("MedicationRequest", patient, id=logical_id, **medication)
    order.pop("medicationCodeableConcept", None)
    create_resource(runtime, SYSTEM, order)


@pytest.fixture
def orders(runtime: Runtime) -> None:
    """p1 ordered a stored Medication; p2 a contained one (`#med`) and one stored elsewhere
    under the same id a careless follower of `#med` might fetch."""
    for patient in ("p1", "p2"):
        create_resource(runtime, SYSTEM, fhir_resource("Patient", patient))
    code = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197361"}]}
    for medication_id in ("amlodipine", "med"):
        medication = {"resourceType": "Medication", "id": medication_id, "code": code}
        create_resource(runtime, SYSTEM, medication)
    _ordered(
        runtime, "p1", "mr-stored", {"medicationReference": {"reference": "Medication/amlodipine"}}
    )
    contained = {"resourceType": "Medication", "id": "med", "code": code}
    _ordered(
        runtime,
        "p2",
        "mr-contained",
        {"contained": [contained], "medicationReference": {"reference": "#med"}},
    )


@pytest.mark.usefixtures("orders")
def test_medication_include_follows_stored_medications_only(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    before = len(_reads(runtime))
    response = client.get(
        "/fhir/MedicationRequest?_include=MedicationRequest:medication", headers=doctor
    )
    assert response.status_code == 200, response.text
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert _entries(bundle, "match") == [
        "MedicationRequest/mr-contained",
        "MedicationRequest/mr-stored",
    ]
    assert _entries(bundle, "include") == ["Medication/amlodipine"], "#med is not fetched"
    contained = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "mr-contained"
    )
    assert contained["contained"][0]["id"] == "med", "the contained one travels inside its order"
    reads = _reads(runtime)[: len(_reads(runtime)) - before]
    assert [(r.details["resource_type"], r.subject) for r in reads] == [
        ("Medication", "Medication/amlodipine")
    ], "the included medication is audited as a read, nothing else"


@pytest.mark.usefixtures("orders")
def test_medication_include_passes_the_access_checks(runtime: Runtime, client: TestClient) -> None:
    """A patient sees the medication of their own order only; front desk reads no orders."""
    own = bearer(runtime, Role.PATIENT, patient_id="p2")
    response = client.get(
        "/fhir/MedicationRequest?_include=MedicationRequest:medication", headers=own
    )
    assert response.status_code == 200, response.text
    assert _entries(response.json(), "match") == ["MedicationRequest/mr-contained"]
    assert _entries(response.json(), "include") == []
    desk = bearer(runtime, Role.FRONT_DESK)
    refused = client.get(
        "/fhir/MedicationRequest?_include=MedicationRequest:medication", headers=desk
    )
    assert refused.status_code == 403, refused.text


@pytest.fixture
def provenance(runtime: Runtime) -> None:
    """Who wrote p1's observation and p2's record, and a restricted patient's."""
    for patient in ("p1", "p2", "p-vip"):
        create_resource(runtime, SYSTEM, fhir_resource("Patient", patient))
        create_resource(runtime, SYSTEM, fhir_resource("Observation", patient, id=f"o-{patient}"))
    targets = {
        "prov-o-p1": ["Observation/o-p1"],
        "prov-p2": ["Patient/p2", "Observation/o-p2"],
        "prov-vip": ["Patient/p-vip"],
    }
    for logical_id, refs in targets.items():
        resource = {
            "resourceType": "Provenance",
            "id": logical_id,
            "target": [{"reference": ref} for ref in refs],
            "recorded": "2024-01-01T00:00:00Z",
            "agent": [{"who": {"reference": "Practitioner/dr-who"}}],
        }
        create_resource(runtime, SYSTEM, resource)
    restrict_compartment(runtime, SYSTEM, "p-vip", "vip")


@pytest.mark.usefixtures("provenance")
def test_provenance_revinclude_finds_what_points_at_each_match(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    asked = {
        "Observation?_id=o-p1,o-p2&_revinclude=Provenance:target": [
            "Provenance/prov-o-p1",
            "Provenance/prov-p2",
        ],
        "Patient?_id=p2&_revinclude=Provenance:target": ["Provenance/prov-p2"],
        "Patient?_id=p1&_revinclude=Provenance:target": [],
        "Patient?_id=p1,p-vip&_revinclude=Provenance:target": [],
    }
    for query, expected in asked.items():
        before = len(_reads(runtime))
        response = client.get(f"/fhir/{query}", headers=doctor)
        assert response.status_code == 200, (query, response.text)
        bundle = response.json()
        Bundle.model_validate(bundle)
        assert _entries(bundle, "include") == expected, query
        reads = _reads(runtime)[: len(_reads(runtime)) - before]
        audited = [r.details["resource_type"] for r in reads]
        assert audited == ["Provenance"] * len(expected), "each one audited as a read"


@pytest.mark.usefixtures("provenance")
def test_provenance_revinclude_passes_the_access_checks(
    runtime: Runtime, client: TestClient
) -> None:
    """A patient gets the provenance filed in their compartment (it names them); one that
    names only their observation is filed in no compartment, and clinical data outside
    their own compartment is not theirs to read, so it is withheld and counted."""
    own = bearer(runtime, Role.PATIENT, patient_id="p2")
    response = client.get("/fhir/Observation?_revinclude=Provenance:target", headers=own)
    assert response.status_code == 200, response.text
    assert _entries(response.json(), "match") == ["Observation/o-p2"]
    assert _entries(response.json(), "include") == ["Provenance/prov-p2"]
    other = bearer(runtime, Role.PATIENT, patient_id="p1")
    response = client.get("/fhir/Observation?_revinclude=Provenance:target", headers=other)
    assert response.status_code == 200, response.text
    assert _entries(response.json(), "match") == ["Observation/o-p1"]
    assert _entries(response.json(), "include") == []
    notes = [e["resource"] for e in response.json()["entry"] if e["search"]["mode"] == "outcome"]
    assert notes[0]["issue"][0]["diagnostics"].startswith("1 included resource")
    desk = bearer(runtime, Role.FRONT_DESK)
    before = len(_reads(runtime))
    response = client.get("/fhir/Patient?_id=p2&_revinclude=Provenance:target", headers=desk)
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert _entries(bundle, "include") == []
    assert [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"] == [], "not counted"
    assert len(_reads(runtime)) == before, "front desk reads no clinical provenance"
