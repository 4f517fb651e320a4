"""One canonical form for references to patients, tried as an attacker would through the FHIR API.

A resource is filed under the patient its references name. Before the fix, the
same patient spelled another way (this server's absolute URL, a version-specific
reference, a leading space, lower case, a query or fragment) left the resource
in no compartment: a second clinician read a restricted patient's data without
break-glass, and the patient's own searches missed it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records.access.restriction import restrict_compartment
from carewall.records.bundles.importer import import_file
from carewall.records.services import create_resource
from tests.support.factories import fhir_resource, token_for
from tests.support.fhir import outcome

SYSTEM = Caller.cli("test")
MARK = {"coding": [{"system": "http://loinc.org", "code": "VIP-SECRET-1"}]}

# How each spelling is answered: normalised to Patient/{id} (kept version), or refused (422).
NORMALISED = {
    "this server's URL": "{base}/Patient/{id}",
    "this server's URL, loopback name": "http://localhost:8000/fhir/Patient/{id}",
    "this server's URL, upper-case host": "HTTP://127.0.0.1:8000/fhir/Patient/{id}",
    "leading space": " Patient/{id}",
    "trailing newline": "Patient/{id}\n",
    "loopback, short IPv4": "http://127.1:8000/fhir/Patient/{id}",
    "loopback, one number": "http://2130706433:8000/fhir/Patient/{id}",
    "loopback, hexadecimal": "http://0x7f.0.0.1:8000/fhir/Patient/{id}",
    "loopback, octal": "http://0177.0.0.1:8000/fhir/Patient/{id}",
    "unspecified address": "http://0.0.0.0:8000/fhir/Patient/{id}",
    "IPv4-mapped IPv6": "http://[::ffff:127.0.0.1]:8000/fhir/Patient/{id}",
    "IPv6 loopback": "http://[::1]:8000/fhir/Patient/{id}",
}
VERSIONED = "Patient/{id}/_history/1"
REFUSED = {
    "lower case": "patient/{id}",
    "upper case": "PATIENT/{id}",
    "query": "Patient/{id}?x",
    "fragment": "Patient/{id}#x",
    "space inside": "Patient/ {id}",
    "double slash": "Patient//{id}",
    "leading slash": "/Patient/{id}",
    "trailing slash": "Patient/{id}/",
    "percent-encoded slash": "Patient%2F{id}",
    "conditional": "Patient?identifier=urn:mrn|1",
    "bare id": "{id}",
    "this server, outside the FHIR base": "http://127.0.0.1:8000/Patient/{id}",
    "this server, another port": "http://127.0.0.1:9999/fhir/Patient/{id}",
    "this server's URL with a query": "{base}/Patient/{id}?x",
    "a host that is no address": "http://256.1:8000/fhir/Patient/{id}",
    "a host ending in a bad number": "http://127.0.0.09:8000/fhir/Patient/{id}",
}


def _base(runtime: Runtime) -> str:
    return f"{runtime.settings.public_url}/fhir"


def _spelled(runtime: Runtime, form: str, patient_id: str) -> str:
    return form.format(base=_base(runtime), id=patient_id)


def _observation(reference: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": MARK,
        "subject": {"reference": reference},
        **extra,
    }


def _found_by_code(client: TestClient, headers: dict[str, str]) -> list[str]:
    found = client.get("/fhir/Observation?code=VIP-SECRET-1", headers=headers)
    assert found.status_code == 200, found.text
    return [e["resource"]["id"] for e in found.json()["entry"]]


@pytest.mark.parametrize("form", [*NORMALISED.values(), VERSIONED, *REFUSED.values()])
def test_no_spelling_of_a_restricted_patient_escapes_the_restriction(
    runtime: Runtime, client: TestClient, form: str
) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "vip"))
    restrict_compartment(runtime, SYSTEM, "vip", "vip")
    writer = token_for(runtime, "one@clinic.example", Role.CLINICIAN)
    reader = token_for(runtime, "two@clinic.example", Role.CLINICIAN)
    written = client.post(
        "/fhir/Observation", json=_observation(_spelled(runtime, form, "vip")), headers=writer
    )
    if form in REFUSED.values():
        body = outcome(written, 422, "invalid")
        assert body["issue"][0]["expression"] == ["Observation.subject.reference"]
        assert "vip" not in body["issue"][0]["diagnostics"], "no submitted value in errors"
    else:  # filed under the VIP, so writing needs break-glass like any VIP data
        assert "break-glass" in outcome(written, 403, "forbidden")["issue"][0]["diagnostics"]
    assert _found_by_code(client, reader) == []
    assert _found_by_code(client, writer) == []


@pytest.mark.parametrize("form", [*NORMALISED.values(), VERSIONED])
def test_unambiguous_spellings_are_stored_canonical_and_found_by_the_patient(
    runtime: Runtime, client: TestClient, form: str
) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-1"))
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    own = token_for(runtime, "p1@example.org", Role.PATIENT, patient_id="p-1")
    written = client.post(
        "/fhir/Observation", json=_observation(_spelled(runtime, form, "p-1")), headers=doctor
    )
    assert written.status_code == 201, written.text
    expected = "Patient/p-1/_history/1" if form == VERSIONED else "Patient/p-1"
    assert written.json()["subject"]["reference"] == expected
    obs_id = written.json()["id"]
    assert _found_by_code(client, own) == [obs_id]
    assert client.get(f"/fhir/Observation/{obs_id}", headers=own).status_code == 200
    by_patient = client.get("/fhir/Observation?patient=p-1", headers=doctor).json()
    assert [e["resource"]["id"] for e in by_patient["entry"]] == [obs_id]


def test_another_servers_url_is_external_and_not_the_local_patient(
    runtime: Runtime, client: TestClient
) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-1"))
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    own = token_for(runtime, "p1@example.org", Role.PATIENT, patient_id="p-1")
    external = "https://hospital.example/fhir/Patient/p-1"
    written = client.post("/fhir/Observation", json=_observation(external), headers=doctor)
    assert written.status_code == 201, written.text
    assert written.json()["subject"]["reference"] == external
    assert _found_by_code(client, own) == []
    outcome(client.get(f"/fhir/Observation/{written.json()['id']}", headers=own), 404)


def test_ids_are_case_sensitive_and_never_folded(runtime: Runtime, client: TestClient) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "abc"))
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "ABC"))
    restrict_compartment(runtime, SYSTEM, "ABC", "vip")
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    fine = client.post("/fhir/Observation", json=_observation("Patient/abc"), headers=doctor)
    assert fine.status_code == 201
    outcome(client.post("/fhir/Observation", json=_observation("Patient/ABC"), headers=doctor), 403)


# Every field FHIR's patient compartment names, for the stored types: each decides it.
COMPARTMENT_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("AllergyIntolerance", {"patient": "{ref}"}),
    ("AllergyIntolerance", {"patient": "Patient/other", "recorder": "{ref}"}),
    ("Immunization", {"patient": "{ref}"}),
    ("Coverage", {"beneficiary": "{ref}"}),
    ("Coverage", {"beneficiary": "Patient/other", "subscriber": "{ref}"}),
    ("Coverage", {"beneficiary": "Patient/other", "payor": ["{ref}"]}),
    ("Claim", {"patient": "{ref}"}),
    ("Condition", {"subject": "Patient/other", "asserter": "{ref}"}),
    ("DocumentReference", {"subject": "Patient/other", "author": ["{ref}"]}),
    ("Observation", {"subject": "Group/g1", "performer": ["{ref}"]}),
    ("Procedure", {"subject": "Patient/other", "performer": [{"actor": "{ref}"}]}),
    ("ExplanationOfBenefit", {"patient": "{ref}"}),
]


def _with_reference(resource_type: str, fields: dict[str, Any], ref: str) -> dict[str, Any]:
    def ref_of(value: Any) -> Any:
        if isinstance(value, str):
            return {"reference": value.replace("{ref}", ref)}
        if isinstance(value, list):
            return [ref_of(item) for item in value]
        return {key: ref_of(item) for key, item in value.items()}

    body = fhir_resource(resource_type, "other")
    body.pop("id")
    return {**body, **{name: ref_of(value) for name, value in fields.items()}}


@pytest.mark.parametrize(("resource_type", "fields"), COMPARTMENT_FIELDS)
def test_every_compartment_field_follows_the_same_rule(
    runtime: Runtime, client: TestClient, resource_type: str, fields: dict[str, Any]
) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "vip"))
    restrict_compartment(runtime, SYSTEM, "vip", "vip")
    writer = {**token_for(runtime, "sys@clinic.example", Role.CLINICIAN)}
    billing = token_for(runtime, "bill@clinic.example", Role.BILLING)
    headers = billing if resource_type in {"Coverage", "Claim", "ExplanationOfBenefit"} else writer
    odd = _with_reference(resource_type, fields, "patient/vip")
    refused = outcome(client.post(f"/fhir/{resource_type}", json=odd, headers=headers), 422)
    assert refused["issue"][0]["expression"][0].startswith(f"{resource_type}.")
    canonical = _with_reference(resource_type, fields, f"{_base(runtime)}/Patient/vip")
    answer = client.post(f"/fhir/{resource_type}", json=canonical, headers=headers)
    if "Patient/other" in json.dumps(fields):
        outcome(answer, 422)  # a second patient in one resource: refused, never half-filed
    else:
        outcome(answer, 403, "forbidden")  # filed under the VIP: restricted


def test_a_contained_resource_cannot_carry_a_second_patient(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    inner = {**_observation("Patient/vip"), "id": "inner"}
    body = _observation("Patient/p-1", contained=[inner], hasMember=[{"reference": "#inner"}])
    refused = outcome(client.post("/fhir/Observation", json=body, headers=doctor), 422)
    assert refused["issue"][0]["expression"] == ["Observation.contained[0].subject.reference"]
    odd = _observation("Patient/p-1", contained=[{**inner, "subject": {"reference": "patient/x"}}])
    outcome(client.post("/fhir/Observation", json=odd, headers=doctor), 422)


def test_updates_transactions_and_batches_follow_the_same_rule(
    runtime: Runtime, client: TestClient
) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "vip"))
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-1"))
    restrict_compartment(runtime, SYSTEM, "vip", "vip")
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    obs = fhir_resource("Observation", "p-1")
    create_resource(runtime, SYSTEM, obs)
    moved = {**obs, "subject": {"reference": " Patient/vip"}}
    outcome(client.put(f"/fhir/Observation/{obs['id']}", json=moved, headers=doctor), 403)
    odd = {**obs, "subject": {"reference": "patient/vip"}}
    outcome(client.put(f"/fhir/Observation/{obs['id']}", json=odd, headers=doctor), 422)

    def entry(reference: str) -> dict[str, Any]:
        return {
            "resource": _observation(reference),
            "request": {"method": "POST", "url": "Observation"},
        }

    for kind in ("transaction", "batch"):
        bundle = {"resourceType": "Bundle", "type": kind, "entry": [entry("Patient/vip?x")]}
        answer = client.post("/fhir", json=bundle, headers=doctor)
        if kind == "transaction":
            body = outcome(answer, 422)
            assert body["issue"][0]["expression"] == ["Bundle.entry[0].resource.subject.reference"]
        else:
            assert answer.status_code == 200, answer.text
            assert answer.json()["entry"][0]["response"]["status"].startswith("422")
        bundle["entry"] = [entry(f"{_base(runtime)}/Patient/vip")]
        answer = client.post("/fhir", json=bundle, headers=doctor)
        if kind == "transaction":
            outcome(answer, 403, "forbidden")
        else:
            assert answer.json()["entry"][0]["response"]["status"].startswith("403")
        bundle["entry"] = [entry(f"{_base(runtime)}/Patient/p-1/_history/1")]
        answer = client.post("/fhir", json=bundle, headers=doctor)
        assert answer.status_code == 200, answer.text
        response = answer.json()["entry"][0]["response"]
        assert response["status"].startswith("201"), response
    own = token_for(runtime, "p1@example.org", Role.PATIENT, patient_id="p-1")
    assert len(_found_by_code(client, own)) == 2


def test_the_importer_normalises_and_refuses_alike(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    def bundle_file(name: str, reference: str) -> Path:
        entries = [
            {"fullUrl": "urn:uuid:p", "resource": fhir_resource("Patient", "imp-1")},
            {"resource": {**_observation(reference), "id": f"{name}-obs"}},
        ]
        path = tmp_path / f"{name}.json"
        body = {"resourceType": "Bundle", "type": "collection", "entry": entries}
        path.write_text(json.dumps(body), encoding="utf-8")
        return path

    spaced = import_file(runtime, SYSTEM, bundle_file("spaced", f"{_base(runtime)}/Patient/imp-1"))
    assert not spaced.failed, spaced.error
    lower = import_file(runtime, SYSTEM, bundle_file("lower", "patient/imp-1"))
    assert lower.failed
    assert "subject.reference" in str(lower.error)
    own = token_for(runtime, "imp@example.org", Role.PATIENT, patient_id="imp-1")
    assert _found_by_code(client, own) == ["spaced-obs"]


@pytest.mark.parametrize("logical_id", ["a" * 65, "...", ".", "..", "a b", "a/b", "é"])
def test_a_write_refuses_ids_that_references_refuse(
    runtime: Runtime, client: TestClient, logical_id: str
) -> None:
    """PUT (and a body id on create) took ids no reference can name (65 characters,
    only dots): a resource nobody could point at, or one that a path would rewrite."""
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    headers = {**doctor, "Content-Type": "application/fhir+json"}
    body = {**fhir_resource("Patient", "x"), "id": logical_id}
    from urllib.parse import quote

    put = client.put(f"/fhir/Patient/{quote(logical_id, safe='')}", json=body, headers=headers)
    assert 400 <= put.status_code < 500, (logical_id, put.status_code)
    if logical_id not in (".", "..", "a/b"):  # those never reach the route as an id
        assert put.status_code in (400, 422), put.text
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": body, "request": {"method": "PUT", "url": "Patient/x"}}],
    }
    in_bundle = client.post("/fhir", json=bundle, headers=headers)
    assert 400 <= in_bundle.status_code < 500, (logical_id, in_bundle.status_code)
    listed = client.get("/fhir/Patient", headers=doctor).json()
    assert not listed.get("entry"), "nothing was stored"
    posted = client.post("/fhir/Patient", json=body, headers=headers)
    assert posted.status_code == 201, "a create ignores the id it was sent, as FHIR says"
    assert posted.json()["id"] != logical_id


def test_a_write_keeps_every_id_references_accept(runtime: Runtime, client: TestClient) -> None:
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    headers = {**doctor, "Content-Type": "application/fhir+json"}
    for logical_id in ("a" * 64, "A-b.9", "-", "x..y"):
        body = {**fhir_resource("Patient", "x"), "id": logical_id}
        put = client.put(f"/fhir/Patient/{logical_id}", json=body, headers=headers)
        assert put.status_code == 201, (logical_id, put.text)
        observation = _observation(f"Patient/{logical_id}")
        written = client.post("/fhir/Observation", json=observation, headers=headers)
        assert written.status_code == 201, (logical_id, written.text)
