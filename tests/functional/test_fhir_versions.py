"""Every version is authorised against its own patient (vread, `_history`), as an attacker tries it.

A resource can move from one patient to another (an update that changes its
subject). Its old versions still hold the first patient's data, so each version
is checked against the compartment and restriction of the patient it named,
never against the current version's.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records import RecordsTag
from carewall.records.access.restriction import restrict_compartment
from carewall.records.portal.accounting import access_events
from carewall.records.services import create_resource, update_resource
from tests.support.audit import audit_about
from tests.support.factories import fhir_resource, token_for
from tests.support.fhir import outcome

SYSTEM = Caller.cli("test")
SECRET_CODE = {"coding": [{"system": "http://loinc.org", "code": "B-ONLY-75325-1"}]}


def _patients(runtime: Runtime, *ids: str) -> None:
    for pid in ids:
        create_resource(runtime, SYSTEM, fhir_resource("Patient", pid))


def _moved_observation(client: TestClient, doctor: dict[str, str], first: str, then: str) -> str:
    """A clinician records an Observation for `first`, then re-points it at `then`."""
    body = fhir_resource("Observation", first, code=SECRET_CODE, valueString="only about B")
    created = client.post("/fhir/Observation", json=body, headers=doctor)
    assert created.status_code == 201, created.text
    obs: dict[str, Any] = created.json()
    moved = {
        "resourceType": "Observation",
        "id": obs["id"],
        "status": "final",
        "code": {"text": "routine"},
        "subject": {"reference": f"Patient/{then}"},
    }
    updated = client.put(f"/fhir/Observation/{obs['id']}", json=moved, headers=doctor)
    assert updated.status_code == 200, updated.text
    return str(obs["id"])


def test_a_patient_cannot_vread_what_another_patient_had_in_an_old_version(
    runtime: Runtime, client: TestClient
) -> None:
    _patients(runtime, "pat-a", "pat-b")
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    obs_id = _moved_observation(client, doctor, first="pat-b", then="pat-a")
    alice = token_for(runtime, "a@example.org", Role.PATIENT, patient_id="pat-a")
    bob = token_for(runtime, "b@example.org", Role.PATIENT, patient_id="pat-b")

    assert client.get(f"/fhir/Observation/{obs_id}", headers=alice).status_code == 200
    stolen = client.get(f"/fhir/Observation/{obs_id}/_history/1", headers=alice)
    body = outcome(stolen, 404, "not-found")
    assert "B-ONLY" not in stolen.text
    missing = outcome(client.get("/fhir/Observation/nope/_history/1", headers=alice), 404)
    assert body["issue"][0]["diagnostics"].replace(obs_id, "X") == missing["issue"][0][
        "diagnostics"
    ].replace("nope", "X"), "a version of another patient answers like a missing resource"

    history = client.get(f"/fhir/Observation/{obs_id}/_history", headers=alice)
    assert history.status_code == 200, history.text
    assert [e["response"]["etag"] for e in history.json()["entry"]] == ['W/"2"']
    assert history.json()["total"] == 1
    assert "B-ONLY" not in history.text

    # The first patient keeps seeing their own data, and nothing of the second's.
    outcome(client.get(f"/fhir/Observation/{obs_id}", headers=bob), 404, "not-found")
    own = client.get(f"/fhir/Observation/{obs_id}/_history/1", headers=bob)
    assert own.status_code == 200
    assert own.json()["code"] == SECRET_CODE
    outcome(client.get(f"/fhir/Observation/{obs_id}/_history/2", headers=bob), 404, "not-found")
    theirs = client.get(f"/fhir/Observation/{obs_id}/_history", headers=bob).json()
    assert [e["response"]["etag"] for e in theirs["entry"]] == ['W/"1"']


def test_history_answers_like_a_read_when_no_version_is_visible(
    runtime: Runtime, client: TestClient
) -> None:
    _patients(runtime, "pat-a", "pat-b")
    obs = fhir_resource("Observation", "pat-b")
    create_resource(runtime, SYSTEM, obs)
    update_resource(runtime, SYSTEM, {**obs, "status": "amended"})
    alice = token_for(runtime, "a@example.org", Role.PATIENT, patient_id="pat-a")
    read = outcome(client.get(f"/fhir/Observation/{obs['id']}", headers=alice), 404, "not-found")
    history = outcome(
        client.get(f"/fhir/Observation/{obs['id']}/_history", headers=alice), 404, "not-found"
    )
    assert history["issue"] == read["issue"]


def test_an_old_version_of_a_restricted_record_needs_break_glass(
    runtime: Runtime, client: TestClient
) -> None:
    _patients(runtime, "vip", "plain")
    restrict_compartment(runtime, SYSTEM, "vip", "vip")
    obs = fhir_resource("Observation", "vip", code=SECRET_CODE)
    create_resource(runtime, SYSTEM, obs)  # v1: the VIP's result
    update_resource(
        runtime, SYSTEM, fhir_resource("Observation", "plain", id=obs["id"])
    )  # v2: moved
    nurse = token_for(runtime, "nurse@clinic.example", Role.CLINICIAN)

    assert client.get(f"/fhir/Observation/{obs['id']}", headers=nurse).status_code == 200
    old = client.get(f"/fhir/Observation/{obs['id']}/_history/1", headers=nurse)
    body = outcome(old, 403, "forbidden")
    assert "break-glass" in body["issue"][0]["diagnostics"]
    history = client.get(f"/fhir/Observation/{obs['id']}/_history", headers=nurse)
    assert history.status_code == 200
    assert [e["response"]["etag"] for e in history.json()["entry"]] == ['W/"2"']
    assert "B-ONLY" not in history.text

    # Never moved: nothing to show, so the answer is the refused read's.
    kept = fhir_resource("Observation", "vip")
    create_resource(runtime, SYSTEM, kept)
    read = outcome(client.get(f"/fhir/Observation/{kept['id']}", headers=nurse), 403, "forbidden")
    whole = client.get(f"/fhir/Observation/{kept['id']}/_history", headers=nurse)
    assert outcome(whole, 403, "forbidden")["issue"] == read["issue"]


def test_history_is_audited_under_every_patient_whose_versions_it_returned(
    runtime: Runtime, client: TestClient
) -> None:
    _patients(runtime, "pat-a", "pat-b")
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    obs_id = _moved_observation(client, doctor, first="pat-b", then="pat-a")
    assert client.get(f"/fhir/Observation/{obs_id}/_history", headers=doctor).status_code == 200

    for patient in ("pat-a", "pat-b"):
        history = audit_about(runtime, f"Patient/{patient}", [RecordsTag.HISTORY_READ])
        assert len(history) == 1, patient
        assert history[0].details["patient_ids"] == ["pat-a", "pat-b"]
        events = [e for e in access_events(runtime, patient) if e.action == RecordsTag.HISTORY_READ]
        assert [e.resource_types for e in events] == [("Observation",)], patient
    # The move itself is filed under both patients: one lost a result, one gained it.
    for patient in ("pat-a", "pat-b"):
        moves = audit_about(runtime, f"Patient/{patient}", [RecordsTag.RESOURCE_UPDATED])
        assert [m.details["id"] for m in moves] == [obs_id], patient
        assert moves[0].details["previous_patient"] == "pat-b"
        assert moves[0].details["patient_ids"] == ["pat-a", "pat-b"]


def test_a_version_read_is_audited_under_that_versions_patient(
    runtime: Runtime, client: TestClient
) -> None:
    _patients(runtime, "pat-a", "pat-b")
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    obs_id = _moved_observation(client, doctor, first="pat-b", then="pat-a")
    before = len(audit_about(runtime, "Patient/pat-b", [RecordsTag.RESOURCE_READ]))
    assert client.get(f"/fhir/Observation/{obs_id}/_history/1", headers=doctor).status_code == 200
    reads = audit_about(runtime, "Patient/pat-b", [RecordsTag.RESOURCE_READ])
    assert len(reads) == before + 1
    assert reads[0].details["version"] == 1


def test_a_deletion_is_filed_under_the_patient(runtime: Runtime, client: TestClient) -> None:
    _patients(runtime, "pat-a")
    obs = fhir_resource("Observation", "pat-a")
    create_resource(runtime, SYSTEM, obs)
    doctor = token_for(runtime, "doc@clinic.example", Role.CLINICIAN)
    assert client.delete(f"/fhir/Observation/{obs['id']}", headers=doctor).status_code == 200
    deleted = audit_about(runtime, "Patient/pat-a", [RecordsTag.RESOURCE_DELETED])
    assert [d.details["id"] for d in deleted] == [obs["id"]]
    assert any(e.action == RecordsTag.RESOURCE_DELETED for e in access_events(runtime, "pat-a"))


def test_a_refused_look_at_a_restricted_record_is_filed_under_its_patient(
    runtime: Runtime, client: TestClient
) -> None:
    _patients(runtime, "vip")
    restrict_compartment(runtime, SYSTEM, "vip", "vip")
    obs = fhir_resource("Observation", "vip")
    create_resource(runtime, SYSTEM, obs)
    nurse = token_for(runtime, "nurse@clinic.example", Role.CLINICIAN)
    for path in ("", "/_history", "/_history/1"):
        outcome(client.get(f"/fhir/Observation/{obs['id']}{path}", headers=nurse), 403)
    changed = {**obs, "status": "amended"}
    outcome(client.put(f"/fhir/Observation/{obs['id']}", json=changed, headers=nurse), 403)
    added = fhir_resource("Observation", "vip")
    added.pop("id")
    outcome(client.post("/fhir/Observation", json=added, headers=nurse), 403)
    refused = audit_about(runtime, "Patient/vip", [RecordsTag.ACCESS_DENIED])
    assert len(refused) == 5
    assert {r.details["reason"] for r in refused} == {"restricted"}
    report = [e for e in access_events(runtime, "vip") if e.action == RecordsTag.ACCESS_DENIED]
    assert len(report) == 5
    assert "was refused access to" in report[0].action_words
