"""Conditional references (`Organization?identifier=system|value`) in transaction Bundles.

Today's Synthea refers to hospitals and practitioners this way; a feed cannot
know the ids this server gave them. Each must match exactly one resource (in
the Bundle or stored), or the whole transaction fails and nothing is written.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records.access.restriction import restrict_compartment
from carewall.records.models import FhirResource
from carewall.records.services import create_resource
from tests.support.factories import SYSTEM, bearer, fhir_resource
from tests.support.fhir import outcome

NPI = "http://hl7.org/fhir/sid/us-npi"
PATIENT_URL = "urn:uuid:0b7f3a52-6a3e-4c1e-9d7a-5f2b8e1c4d01"


def _org(org_id: str, value: str) -> dict[str, Any]:
    return fhir_resource(
        "Organization", "x", id=org_id, identifier=[{"system": NPI, "value": value}]
    )


def _transaction(
    reference: str, *extra: dict[str, Any], kind: str = "transaction"
) -> dict[str, Any]:
    patient = {k: v for k, v in fhir_resource("Patient", "x").items() if k != "id"}
    encounter = {
        k: v
        for k, v in fhir_resource(
            "Encounter", "x", serviceProvider={"reference": reference}
        ).items()
        if k != "id"
    }
    encounter["subject"] = {"reference": PATIENT_URL}
    entries = [
        {
            "fullUrl": PATIENT_URL,
            "resource": patient,
            "request": {"method": "POST", "url": "Patient"},
        },
        {"resource": encounter, "request": {"method": "POST", "url": "Encounter"}},
        *extra,
    ]
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def _count(runtime: Runtime, resource_type: str) -> int:
    query = select(func.count()).where(
        FhirResource.resource_type == resource_type, FhirResource.is_current.is_(True)
    )
    with runtime.db.sessions() as session:
        return int(session.scalar(query) or 0)


def _stored_encounter(client: TestClient, headers: dict[str, str], answer: dict[str, Any]) -> Any:
    path = answer["entry"][1]["response"]["location"].split("/_history")[0]
    return client.get(f"/fhir/{path}", headers=headers).json()


def test_a_reference_by_identifier_to_a_stored_resource_becomes_its_id(
    runtime: Runtime, client: TestClient
) -> None:
    create_resource(runtime, SYSTEM, _org("hospital-1", "1234"))
    create_resource(runtime, SYSTEM, _org("hospital-2", "5678"))
    feed = bearer(runtime, Role.INTEGRATION)
    answer = client.post(
        "/fhir/", json=_transaction(f"Organization?identifier={NPI}|1234"), headers=feed
    )
    assert answer.status_code == 200, answer.text
    encounter = _stored_encounter(client, feed, answer.json())
    assert encounter["serviceProvider"]["reference"] == "Organization/hospital-1"


def test_a_reference_to_an_entry_of_the_same_bundle_is_resolved_to_its_new_id(
    runtime: Runtime, client: TestClient
) -> None:
    feed = bearer(runtime, Role.INTEGRATION)
    org = {k: v for k, v in _org("ignored", "4242").items() if k != "id"}
    extra = {"resource": org, "request": {"method": "POST", "url": "Organization"}}
    answer = client.post(
        "/fhir/", json=_transaction(f"Organization?identifier={NPI}|4242", extra), headers=feed
    )
    assert answer.status_code == 200, answer.text
    new_org = answer.json()["entry"][2]["response"]["location"].split("/")[1]
    encounter = _stored_encounter(client, feed, answer.json())
    assert encounter["serviceProvider"]["reference"] == f"Organization/{new_org}"


def test_no_match_or_several_fail_the_whole_transaction(
    runtime: Runtime, client: TestClient
) -> None:
    create_resource(runtime, SYSTEM, _org("twin-1", "7777"))
    create_resource(runtime, SYSTEM, _org("twin-2", "7777"))
    feed = bearer(runtime, Role.INTEGRATION)
    for value, code, words in (
        ("0000", "not-found", "matches no resource"),
        ("7777", "multiple-matches", "more than one resource"),
    ):
        refused = client.post(
            "/fhir/", json=_transaction(f"Organization?identifier={NPI}|{value}"), headers=feed
        )
        body = outcome(refused, 400, code)
        assert words in body["issue"][0]["diagnostics"]
        assert value not in body["issue"][0]["diagnostics"], "no submitted value in errors"
    other = client.post("/fhir/", json=_transaction("Organization?name=General"), headers=feed)
    body = outcome(other, 400, "not-supported")
    assert "only identifier=" in body["issue"][0]["diagnostics"]
    assert _count(runtime, "Patient") == 0
    assert _count(runtime, "Encounter") == 0


def test_a_conditional_reference_to_a_restricted_patient_is_refused(
    runtime: Runtime, client: TestClient
) -> None:
    vip = fhir_resource("Patient", "vip", identifier=[{"system": "urn:mrn", "value": "v1"}])
    create_resource(runtime, SYSTEM, vip)
    restrict_compartment(runtime, SYSTEM, "vip", "vip")
    observation = {k: v for k, v in fhir_resource("Observation", "x").items() if k != "id"}
    observation["subject"] = {"reference": "Patient?identifier=urn:mrn|v1"}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": observation, "request": {"method": "POST", "url": "Observation"}}],
    }
    clinician = bearer(runtime, Role.CLINICIAN)
    outcome(client.post("/fhir/", json=bundle, headers=clinician), 403, "forbidden")
    assert _count(runtime, "Observation") == 0


def test_a_batch_entry_with_a_conditional_reference_fails_alone(
    runtime: Runtime, client: TestClient
) -> None:
    create_resource(runtime, SYSTEM, _org("hospital-1", "1234"))
    feed = bearer(runtime, Role.INTEGRATION)
    org = fhir_resource(
        "Organization", "x", id="lone", partOf={"reference": f"Organization?identifier={NPI}|1234"}
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": org, "request": {"method": "PUT", "url": "Organization/lone"}}],
    }
    answer = client.post("/fhir/", json=bundle, headers=feed)
    assert answer.status_code == 200, answer.text
    assert answer.json()["entry"][0]["response"]["status"].startswith("4")
