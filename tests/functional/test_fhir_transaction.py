"""FHIR transaction and batch Bundles over HTTP: all or nothing, or entry by entry."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select, text

from carewall.audit import AuditEntryView, recent_entries
from carewall.audit.services import _PG_CHAIN_LOCK as CHAIN
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records.access.audit_patients import patient_subject, reveal_entry
from carewall.records.bundles.batches import RUN_ENTRIES
from carewall.records.bundles.entries import DEFAULT_MAX_ENTRIES
from carewall.records.models import FhirResource
from carewall.records.services import create_resource
from carewall.records.store.keys import RecordKeys
from tests.support.factories import FHIR_JSON, SYSTEM, bearer, fhir_resource, make_resources
from tests.support.fhir import outcome

PATIENT_URL = "urn:uuid:7f0d4e2a-1c55-4a3b-9f1e-2d6a1b0c9e11"
SECRET_NAME = "Quillfeather"
SECRET_BIRTH = "1961-07-14"


def bundle(kind: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def post(resource: dict[str, Any], full_url: str | None = None, **request: str) -> dict[str, Any]:
    body = {k: v for k, v in resource.items() if k != "id"}
    entry: dict[str, Any] = {
        "resource": body,
        "request": {"method": "POST", "url": resource["resourceType"], **request},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def put(resource: dict[str, Any], **request: str) -> dict[str, Any]:
    url = f"{resource['resourceType']}/{resource['id']}"
    return {"resource": resource, "request": {"method": "PUT", "url": url, **request}}


def call(method: str, url: str) -> dict[str, Any]:
    return {"request": {"method": method, "url": url}}


def new_patient(**extra: Any) -> dict[str, Any]:
    return fhir_resource(
        "Patient",
        "assigned-by-server",
        name=[{"family": SECRET_NAME, "given": ["Ada"]}],
        birthDate=SECRET_BIRTH,
        **extra,
    )


def observation_of(patient_ref: str, **extra: Any) -> dict[str, Any]:
    resource = fhir_resource("Observation", "unused", **extra)
    return {**resource, "subject": {"reference": patient_ref}}


def send(client: TestClient, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return client.post("/fhir/", json=body, headers={**headers, "Content-Type": FHIR_JSON})


def answered(response: httpx.Response, kind: str) -> list[dict[str, Any]]:
    """A valid `{kind}-response` Bundle with 200; its entries."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = response.json()
    Bundle.model_validate(body)
    assert body["type"] == f"{kind}-response"
    entries: list[dict[str, Any]] = body["entry"]
    return entries


def statuses(entries: list[dict[str, Any]]) -> list[str]:
    return [e["response"]["status"] for e in entries]


def stored_count(runtime: Runtime, resource_type: str | None = None) -> int:
    query = select(func.count()).select_from(FhirResource)
    if resource_type is not None:
        query = query.where(FhirResource.resource_type == resource_type)
    with runtime.db.sessions() as session:
        return int(session.scalar(query) or 0)


def audit_trail(runtime: Runtime) -> list[AuditEntryView]:
    with runtime.db.sessions() as session:
        return recent_entries(session, 1000)


def actions(runtime: Runtime) -> list[str]:
    return [entry.action for entry in audit_trail(runtime)]


def test_a_transaction_creates_linked_resources_in_one_go(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    later = observation_of(PATIENT_URL, id="obs-by-put")
    request = bundle(
        "transaction",
        put(later),  # processed after the POSTs, yet refers to the new patient
        post(observation_of(PATIENT_URL)),
        post(new_patient(), PATIENT_URL),
        post(observation_of(PATIENT_URL, status="preliminary")),
    )
    entries = answered(send(client, request, doctor), "transaction")

    assert statuses(entries) == ["201 Created"] * 4, "one entry per request entry, same order"
    locations = [e["response"]["location"] for e in entries]
    assert locations[0] == "Observation/obs-by-put/_history/1"
    assert locations[2].startswith("Patient/")
    assert locations[2].endswith("/_history/1")
    patient_id = locations[2].split("/")[1]
    assert patient_id != "assigned-by-server"
    for entry in entries:
        assert entry["response"]["etag"] == 'W/"1"'
        assert entry["response"]["lastModified"].endswith("Z")
        assert entry["fullUrl"].endswith(entry["response"]["location"].rsplit("/_history", 1)[0])

    # Every reference to the urn:uuid now names the new patient, and the compartment follows.
    for location in (locations[0], locations[1], locations[3]):
        read = client.get(f"/fhir/{location.rsplit('/_history', 1)[0]}", headers=doctor)
        assert read.status_code == 200, read.text
        assert read.json()["subject"] == {"reference": f"Patient/{patient_id}"}
        assert read.headers["etag"] == 'W/"1"'
    found = client.get(f"/fhir/Observation?patient={patient_id}", headers=doctor).json()
    assert found["total"] == 3
    the_patient = bearer(runtime, Role.PATIENT, patient_id=patient_id)
    own = client.get("/fhir/Observation", headers=the_patient).json()
    assert own["total"] == 3, "the new observations are in the new patient's record"


def test_written_entries_carry_what_prefer_return_asks(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    gone = make_resources(runtime, "p-old", ("Observation",))["Observation"]

    def sent(prefer: str | None) -> list[dict[str, Any]]:
        request = bundle(
            "transaction",
            post(new_patient(), PATIENT_URL),
            post(observation_of(PATIENT_URL)),
            call("DELETE", f"Observation/{gone}"),  # deleted by the first, already after
        )
        headers = {**doctor, "Prefer": prefer} if prefer else doctor
        return answered(send(client, request, headers), "transaction")

    reads_before = actions(runtime).count("records:resource:read")
    for quiet in (None, "return=minimal", "respond-async, return=unknown"):
        entries = sent(quiet)
        assert [sorted(e) for e in entries[:2]] == [["fullUrl", "response"]] * 2, quiet
        assert "outcome" not in entries[0]["response"], quiet
    assert actions(runtime).count("records:resource:read") == reads_before, "nothing read back"

    entries = sent("return=representation")
    patient, observation = entries[0]["resource"], entries[1]["resource"]
    assert entries[0]["response"]["location"] == (
        f"Patient/{patient['id']}/_history/{patient['meta']['versionId']}"
    )
    assert patient["name"][0]["family"] == SECRET_NAME
    assert observation["subject"] == {"reference": f"Patient/{patient['id']}"}, "as stored"
    assert entries[0]["fullUrl"].endswith(f"/Patient/{patient['id']}")
    assert "resource" not in entries[2], "a delete has nothing to show"
    reads = [e for e in audit_trail(runtime) if e.action == "records:resource:read"]
    assert len(reads) == reads_before + 2, "each resource shown is a read, audited"

    entries = sent('return="OperationOutcome"')
    said = entries[1]["response"]["outcome"]["issue"][0]
    assert (said["severity"], said["code"]) == ("information", "informational")
    assert said["diagnostics"].startswith("Observation/")
    assert said["diagnostics"].endswith("is at version 1.")
    assert "resource" not in entries[1]


def test_the_bundle_summary_is_audited_without_values(runtime: Runtime, client: TestClient) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    request = bundle(
        "transaction",
        post(new_patient(), PATIENT_URL),
        post(observation_of(PATIENT_URL)),
        call("GET", "Practitioner?name=nobody"),
    )
    entries = answered(send(client, request, doctor), "transaction")
    patient_id = entries[0]["response"]["location"].split("/")[1]

    trail = audit_trail(runtime)
    summaries = [e for e in trail if e.action == "records:bundle:processed"]
    assert len(summaries) == 1
    summary = summaries[0]
    assert summary.actor.startswith("user:")
    keys = RecordKeys.from_keystore(runtime.keys)
    assert summary.subject == patient_subject(keys, patient_id), "a keyed reference, not the id"
    assert patient_id not in json.dumps(summary.details)
    summary = reveal_entry(keys, summary)
    assert summary.details["bundle_type"] == "transaction"
    assert summary.details["entries"] == 3
    assert (summary.details["post"], summary.details["get"]) == (2, 1)
    assert (summary.details["put"], summary.details["delete"]) == (0, 0)
    assert summary.details["resource_types"] == ["Observation", "Patient", "Practitioner"]
    assert summary.details["patient_ids"] == [patient_id]
    created = [e for e in trail if e.action == "records:resource:created"]
    assert len(created) == 2, "each entry is audited as its single interaction"
    assert any(e.action == "records:search:performed" for e in trail)
    everything = json.dumps([e.details for e in trail] + [e.subject for e in trail])
    for value in (SECRET_NAME, SECRET_BIRTH, "nobody", "8867-4"):
        assert value not in everything, "no submitted values in the audit trail"


def test_an_invalid_entry_fails_the_whole_transaction(runtime: Runtime, client: TestClient) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    broken = {**observation_of(PATIENT_URL), "issued": "sometime"}
    request = bundle(
        "transaction",
        post(new_patient(), PATIENT_URL),
        post(observation_of(PATIENT_URL)),
        post(broken),
        post({**new_patient(), "birthDate": "sometime"}),
    )
    body = outcome(send(client, request, doctor), 422, "value")
    expressions = [x for issue in body["issue"] for x in issue.get("expression", [])]
    assert expressions == ["Bundle.entry[2].resource.issued", "Bundle.entry[3].resource.birthDate"]
    assert "sometime" not in json.dumps(body), "no submitted values in errors"

    assert stored_count(runtime) == 0, "nothing is written"
    assert "records:resource:created" not in actions(runtime)
    failed = next(e for e in audit_trail(runtime) if e.action == "records:bundle:failed")
    assert (failed.details["entry"], failed.details["status"]) == (2, 422)
    assert failed.outcome == "failure"


def test_a_failure_after_writes_rolls_back_the_writes_and_their_audit(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    request = bundle(
        "transaction",
        post(new_patient(), PATIENT_URL),
        post(observation_of(PATIENT_URL)),
        call("DELETE", "Observation/never-existed"),  # processed first, fails
    )
    body = outcome(send(client, request, doctor), 404, "not-found")
    assert body["issue"][0]["expression"] == ["Bundle.entry[2]"]
    assert stored_count(runtime) == 0

    request = bundle(
        "transaction",
        post(new_patient(), PATIENT_URL),
        call("GET", "Patient/never-existed"),  # processed last, after the writes
    )
    body = outcome(send(client, request, doctor), 404, "not-found")
    assert body["issue"][0]["expression"] == ["Bundle.entry[1]"]
    assert stored_count(runtime) == 0, "the create before the failing read is rolled back"
    assert "records:resource:created" not in actions(runtime)


def test_an_entry_the_role_may_not_write_refuses_everything(
    runtime: Runtime, client: TestClient
) -> None:
    desk = bearer(runtime, Role.FRONT_DESK)
    request = bundle(
        "transaction",
        post(new_patient(), PATIENT_URL),  # front desk may create patients...
        post(observation_of(PATIENT_URL)),  # ...but not clinical observations
    )
    body = outcome(send(client, request, desk), 403, "forbidden")
    assert body["issue"][0]["expression"] == ["Bundle.entry[1]"]
    assert "Observation" in body["issue"][0]["diagnostics"]

    assert stored_count(runtime) == 0, "not even the patient the role may create"
    trail = audit_trail(runtime)
    assert "records:resource:created" not in [e.action for e in trail]
    denied = [e for e in trail if e.action == "records:access:denied"]
    assert len(denied) == 1
    assert denied[0].outcome == "denied"
    assert denied[0].details["resource_type"] == "Observation"
    assert denied[0].details["role"] == "front_desk"
    assert any(e.action == "records:bundle:failed" for e in trail)


def test_if_match_guards_each_update(runtime: Runtime, client: TestClient) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    current = fhir_resource("Observation", "p-a", id="obs-1")
    create_resource(runtime, SYSTEM, current)

    stale = bundle(
        "transaction",
        put(fhir_resource("Patient", "p-new")),
        put({**current, "status": "amended"}, ifMatch='W/"7"'),
    )
    body = outcome(send(client, stale, doctor), 412, "conflict")
    assert body["issue"][0]["expression"] == ["Bundle.entry[1]"]
    assert stored_count(runtime, "Patient") == 0, "the other update is rolled back"
    read = client.get("/fhir/Observation/obs-1", headers=doctor)
    assert read.headers["etag"] == 'W/"1"'
    assert read.json()["status"] == "final"

    fresh = bundle(
        "transaction",
        put(fhir_resource("Patient", "p-new")),
        put({**current, "status": "amended"}, ifMatch='W/"1"'),
    )
    entries = answered(send(client, fresh, doctor), "transaction")
    assert statuses(entries) == ["201 Created", "200 OK"]
    assert entries[1]["response"]["etag"] == 'W/"2"'
    assert entries[1]["response"]["location"] == "Observation/obs-1/_history/2"
    assert client.get("/fhir/Observation/obs-1", headers=doctor).json()["status"] == "amended"


def test_a_batch_reports_each_entry_on_its_own(runtime: Runtime, client: TestClient) -> None:
    ids = make_resources(runtime, "p-a", ("Patient", "Observation"))
    doctor = bearer(runtime, Role.CLINICIAN)
    request = bundle(
        "batch",
        post(fhir_resource("Observation", "p-a")),
        post({**fhir_resource("Observation", "p-a"), "issued": "sometime"}),
        call("GET", "Patient/no-such-patient"),
        call("DELETE", f"Observation/{ids['Observation']}"),
        post(fhir_resource("Claim", "p-a")),  # clinicians do not write financial records
        call("GET", f"Patient/{ids['Patient']}"),
    )
    entries = answered(send(client, request, doctor), "batch")
    assert statuses(entries) == [
        "201 Created",
        "422 Unprocessable Entity",
        "404 Not Found",
        "204 No Content",
        "403 Forbidden",
        "200 OK",
    ]
    for index in (1, 2, 4):
        issue = entries[index]["response"]["outcome"]["issue"][0]
        assert issue["expression"][0].startswith(f"Bundle.entry[{index}]"), issue
    assert entries[4]["response"]["outcome"]["issue"][0]["code"] == "forbidden"
    assert entries[3]["response"]["etag"] == 'W/"2"'

    created = entries[0]["response"]["location"].rsplit("/_history", 1)[0]
    assert client.get(f"/fhir/{created}", headers=doctor).status_code == 200
    gone = client.get(f"/fhir/Observation/{ids['Observation']}", headers=doctor)
    outcome(gone, 410, "deleted")
    assert stored_count(runtime, "Claim") == 0
    trail = audit_trail(runtime)
    assert any(e.action == "records:access:denied" for e in trail)
    summary = next(e for e in trail if e.action == "records:bundle:processed")
    assert (summary.details["bundle_type"], summary.details["failed"]) == ("batch", 3)


def test_deleting_what_is_deleted_already_succeeds_in_a_transaction(
    runtime: Runtime, client: TestClient
) -> None:
    """As a single DELETE and a batch entry: no effect, no new version, the rest stands."""
    ids = make_resources(runtime, "p-a", ("Patient", "Observation"))
    doctor = bearer(runtime, Role.CLINICIAN)
    gone = f"Observation/{ids['Observation']}"
    assert client.delete(f"/fhir/{gone}", headers=doctor).status_code == 200
    versions_before = stored_count(runtime, "Observation")
    deletions_before = actions(runtime).count("records:resource:deleted")
    again = call("DELETE", gone)
    request = bundle("transaction", again, post(fhir_resource("Observation", "p-a")))
    entries = answered(send(client, request, doctor), "transaction")
    assert statuses(entries) == ["204 No Content", "201 Created"]
    assert entries[0]["response"]["etag"] == 'W/"2"', "the tombstone's version"
    assert "location" not in entries[0]["response"]
    assert stored_count(runtime, "Observation") == versions_before + 1, "only the create"
    assert actions(runtime).count("records:resource:deleted") == deletions_before


def test_a_long_batch_keeps_each_entry_and_its_audit_to_itself(
    runtime: Runtime, client: TestClient
) -> None:
    """Longer than one run of `batches` (entries share a transaction, a savepoint each):
    a refused entry leaves nothing, not even the audit entry of its search, and its
    neighbours in the same run are written; a later entry sees an earlier one."""
    billing = bearer(runtime, Role.BILLING)  # searches Encounters, may not write them

    def claim(number: int) -> dict[str, Any]:
        identifier = [{"system": "urn:claims", "value": f"C-{number}"}]
        body = fhir_resource("Claim", "p-a", identifier=identifier)
        return post(body, ifNoneExist=f"identifier=urn:claims|C-{number}")

    encounter = post(
        fhir_resource("Encounter", "p-a", identifier=[{"system": "urn:enc", "value": "E-1"}]),
        ifNoneExist="identifier=urn:enc|E-1",
    )
    entries = [claim(n) for n in range(RUN_ENTRIES + 10)]
    refused = (5, RUN_ENTRIES + 3)
    for index in refused:
        entries[index] = encounter
    entries.append(claim(7))  # the same claim again: found, not created twice
    answer = answered(send(client, bundle("batch", *entries), billing), "batch")

    created = len(entries) - len(refused) - 1
    assert statuses(answer) == [
        "403 Forbidden" if i in refused else "200 OK" if i == len(entries) - 1 else "201 Created"
        for i in range(len(entries))
    ]
    assert answer[-1]["response"]["location"] == answer[7]["response"]["location"]
    assert (stored_count(runtime, "Claim"), stored_count(runtime, "Encounter")) == (created, 0)
    trail = sorted(audit_trail(runtime), key=lambda e: e.seq or 0)
    per_entry = [e.action for e in trail if e.action.startswith("records:")]
    expected: list[str] = []
    for index in range(len(entries)):
        if index in refused:
            expected.append("records:access:denied")
        else:
            expected.append("records:search:performed")
            expected.append("records:resource:created" if index < len(entries) - 1 else "")
    expected = [action for action in expected if action] + ["records:bundle:processed"]
    assert per_entry == expected
    denied = [e for e in trail if e.action == "records:access:denied"]
    assert {(e.details["resource_type"], e.details["reason"]) for e in denied} == {
        ("Encounter", "role")
    }


def test_batch_reads_and_searches(runtime: Runtime, client: TestClient) -> None:
    ids = make_resources(runtime, "p-a", ("Patient", "Observation", "Encounter"))
    make_resources(runtime, "p-a", ("Observation",))
    doctor = bearer(runtime, Role.CLINICIAN)
    request = bundle(
        "batch",
        call("GET", f"Patient/{ids['Patient']}"),
        call("GET", "Observation?patient=p-a&_count=1"),
        call("GET", "Encounter?family=zebedee"),  # not a search parameter of Encounter
        # Absolute to this server: the configured public URL, not the Host header.
        call("GET", runtime.settings.public_link(f"/fhir/Encounter/{ids['Encounter']}")),
    )
    entries = answered(send(client, request, doctor), "batch")
    assert statuses(entries) == ["200 OK", "200 OK", "400 Bad Request", "200 OK"]

    patient = entries[0]
    assert patient["resource"]["id"] == ids["Patient"]
    assert patient["resource"]["resourceType"] == "Patient"
    assert patient["response"]["etag"] == 'W/"1"'
    assert patient["response"]["lastModified"] == patient["resource"]["meta"]["lastUpdated"]

    page = entries[1]["resource"]
    assert (page["type"], page["total"], len(page["entry"])) == ("searchset", 2, 1)
    next_url = next(link["url"] for link in page["link"] if link["relation"] == "next")
    assert "patient" not in next_url
    second = client.get(next_url, headers=doctor).json()
    assert len(second["entry"]) == 1
    assert second["entry"][0]["resource"]["id"] != page["entry"][0]["resource"]["id"]

    issue = entries[2]["response"]["outcome"]["issue"][0]
    assert issue["expression"] == ["Bundle.entry[2].request.url"]
    assert "family" in issue["diagnostics"]
    assert entries[3]["resource"]["id"] == ids["Encounter"]


def test_a_patient_reaches_only_their_own_record_through_a_batch(
    runtime: Runtime, client: TestClient
) -> None:
    mine = make_resources(runtime, "p-a", ("Patient", "Observation"))
    theirs = make_resources(runtime, "p-b", ("Patient", "Observation"))
    alice = bearer(runtime, Role.PATIENT, patient_id="p-a")
    request = bundle(
        "batch",
        call("GET", f"Observation/{mine['Observation']}"),
        call("GET", f"Observation/{theirs['Observation']}"),
        call("GET", "Patient/p-b"),
        call("GET", "Observation?patient=p-b"),
        call("GET", f"Observation?_id={theirs['Observation']}"),
        put(fhir_resource("Observation", "p-b", id=theirs["Observation"])),
    )
    entries = answered(send(client, request, alice), "batch")
    assert statuses(entries)[:3] == ["200 OK", "404 Not Found", "404 Not Found"]
    assert entries[0]["resource"]["id"] == mine["Observation"]
    for search in entries[3:5]:
        assert search["response"]["status"] == "200 OK"
        assert search["resource"]["total"] == 0
    assert statuses(entries)[5] in {"403 Forbidden", "404 Not Found"}
    returned = [e["resource"] for e in entries if "resource" in e]
    returned += [
        m["resource"] for r in returned if r["resourceType"] == "Bundle" for m in r["entry"]
    ]
    assert [r["id"] for r in returned if r["resourceType"] != "Bundle"] == [mine["Observation"]]
    read = client.get(
        f"/fhir/Observation/{theirs['Observation']}", headers=bearer(runtime, Role.CLINICIAN)
    )
    assert read.json()["status"] == "final", "the other patient's record is unchanged"


def test_conditional_create_finds_what_exists(runtime: Runtime, client: TestClient) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    mrn = [{"system": "urn:mrn", "value": "M-1"}]

    def admit() -> list[dict[str, Any]]:
        request = bundle(
            "transaction",
            post(new_patient(identifier=mrn), PATIENT_URL, ifNoneExist="identifier=urn:mrn|M-1"),
            post(observation_of(PATIENT_URL)),
        )
        return answered(send(client, request, doctor), "transaction")

    first = admit()
    assert statuses(first) == ["201 Created", "201 Created"]
    second = admit()
    assert statuses(second) == ["200 OK", "201 Created"]
    assert second[0]["response"]["location"] == first[0]["response"]["location"]
    patient_id = first[0]["response"]["location"].split("/")[1]
    assert stored_count(runtime, "Patient") == 1
    found = client.get(f"/fhir/Observation?patient={patient_id}", headers=doctor).json()
    assert found["total"] == 2, "the second observation refers to the patient found"

    create_resource(runtime, SYSTEM, fhir_resource("Patient", "twin", identifier=mrn))
    twin = send(
        client, bundle("batch", post(new_patient(), ifNoneExist="identifier=urn:mrn|M-1")), doctor
    )
    entry = answered(twin, "batch")[0]
    assert entry["response"]["status"] == "412 Precondition Failed"
    assert entry["response"]["outcome"]["issue"][0]["code"] == "multiple-matches"


def test_post_to_the_base_without_a_slash(runtime: Runtime, client: TestClient) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    response = client.post(
        "/fhir",
        json=bundle("batch", call("GET", "Patient?_id=nobody")),
        headers={**doctor, "Content-Type": FHIR_JSON},
        follow_redirects=False,
    )
    assert statuses(answered(response, "batch")) == ["200 OK"]
    refused = client.post("/fhir", json={"resourceType": "Patient"}, headers=doctor)
    outcome(refused, 400, "invalid")


def test_a_write_only_token_cannot_read_through_a_bundle(
    runtime: Runtime, client: TestClient
) -> None:
    make_resources(runtime, "p-a", ("Patient",))
    writer = bearer(runtime, Role.CLINICIAN, scopes=("fhir:write",))
    body = outcome(
        send(client, bundle("batch", call("GET", "Patient/p-a")), writer), 403, "forbidden"
    )
    assert "fhir:read" in body["issue"][0]["diagnostics"]
    conditional = post(new_patient(), ifNoneExist="identifier=urn:mrn|M-1")
    outcome(send(client, bundle("transaction", conditional), writer), 403, "forbidden")
    assert answered(send(client, bundle("batch", post(new_patient())), writer), "batch")
    shown_back = {**writer, "Prefer": "return=representation"}
    body = outcome(send(client, bundle("batch", post(new_patient())), shown_back), 403)
    assert "fhir:read" in body["issue"][0]["diagnostics"]
    reader = bearer(runtime, Role.FRONT_DESK, scopes=("fhir:read",))
    outcome(send(client, bundle("batch", call("GET", "Patient/p-a")), reader), 403, "forbidden")


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        (fhir_resource("Patient", "p"), "resourceType"),
        ({"resourceType": "Bundle", "type": "collection", "entry": []}, "Bundle.type"),
        (
            bundle("transaction", {"resource": fhir_resource("Patient", "p")}),
            "Bundle.entry[0].request",
        ),
        (bundle("transaction", call("PATCH", "Patient/p")), "Bundle.entry[0].request.method"),
        (bundle("transaction", call("HEAD", "Patient/p")), "Bundle.entry[0].request.method"),
        (
            bundle("transaction", call("GET", "https://elsewhere.example/fhir/Patient/p")),
            "Bundle.entry[0].request.url",
        ),
        (bundle("transaction", call("GET", "Spaceship/1")), "Bundle.entry[0].request.url"),
        (bundle("transaction", call("GET", "Patient/p/_history/1")), "Bundle.entry[0].request.url"),
        (
            bundle("transaction", call("DELETE", "Patient?identifier=x")),
            "Bundle.entry[0].request.url",
        ),
        (bundle("transaction", call("PUT", "Patient")), "Bundle.entry[0].request.url"),
        (
            bundle(
                "transaction",
                {
                    "resource": bundle("transaction"),
                    "request": {"method": "POST", "url": "Bundle"},
                },
            ),
            "Bundle.entry[0].request.url",
        ),
        (
            bundle(
                "transaction",
                {
                    "resource": bundle("collection"),
                    "request": {"method": "POST", "url": "Patient"},
                },
            ),
            "Bundle.entry[0].resource",
        ),
        (
            bundle("transaction", call("DELETE", "Patient/p"), call("DELETE", "Patient/p")),
            "Bundle.entry[1].request.url",
        ),
        (
            bundle("transaction", post(new_patient(), ifNoneExist="name=ada")),
            "Bundle.entry[0].request.ifNoneExist",
        ),
        (
            bundle(
                "transaction",
                {
                    **put(fhir_resource("Patient", "p")),
                    "request": {"method": "PUT", "url": "Patient/q"},
                },
            ),
            "Bundle.entry[0].resource.id",
        ),
        (bundle("batch", *[call("GET", "Patient/p")] * (DEFAULT_MAX_ENTRIES + 1)), "Bundle.entry"),
    ],
)
def test_bundles_that_cannot_be_processed_are_refused(
    runtime: Runtime, client: TestClient, body: dict[str, Any], expression: str
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    refused = outcome(send(client, body, doctor), 400, refused_code(expression))
    assert refused["issue"][0]["expression"] == [expression]
    assert stored_count(runtime) == 0


def refused_code(expression: str) -> str:
    return {
        "resourceType": "invalid",
        "Bundle.type": "invalid",
        "Bundle.entry[0].request": "required",
        "Bundle.entry": "too-costly",
        "Bundle.entry[1].request.url": "duplicate",
        "Bundle.entry[0].resource.id": "value",
    }.get(expression, "not-supported")


def test_a_batch_answers_each_entry_it_cannot_process_on_its_own(
    runtime: Runtime, client: TestClient
) -> None:
    """FHIR http.html#brules: a batch entry that cannot be processed as sent fails alone;
    the entries around it still happen and the Bundle summary counts it."""
    make_resources(runtime, "p-a", ("Patient",))
    bad = [
        ({"resource": fhir_resource("Patient", "p")}, "Bundle.entry[1].request", "required"),
        (call("PATCH", "Patient/p-a"), "Bundle.entry[2].request.method", "not-supported"),
        (call("GET", "Spaceship/1"), "Bundle.entry[3].request.url", "not-supported"),
        (post(new_patient(), ifNoneExist="name=ada"), "Bundle.entry[4].request.ifNoneExist", ""),
        ("not an object", "Bundle.entry[5]", "structure"),
    ]
    body = bundle("batch", post(new_patient()), *[entry for entry, _, _ in bad])
    body["entry"].append(call("GET", "Patient/p-a"))
    entries = answered(send(client, body, bearer(runtime, Role.CLINICIAN)), "batch")
    assert statuses(entries) == ["201 Created", *["400 Bad Request"] * len(bad), "200 OK"]
    for entry, (_, expression, code) in zip(entries[1:], bad, strict=False):
        issue = entry["response"]["outcome"]["issue"][0]
        assert issue["expression"] == [expression]
        assert issue["code"] == (code or "not-supported")
        assert "resource" not in entry
        assert "fullUrl" not in entry
    assert entries[-1]["resource"]["id"] == "p-a"
    assert stored_count(runtime, "Patient") == 2
    summary = next(e for e in audit_trail(runtime) if e.action == "records:bundle:processed")
    assert summary.details["entries"] == 7
    assert summary.details["refused_as_sent"] == len(bad)
    assert summary.details["failed"] == len(bad)


def test_references_to_nothing_in_the_bundle_are_refused(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    dangling = bundle("transaction", post(observation_of("urn:uuid:0000-missing")))
    body = outcome(send(client, dangling, doctor), 400, "not-found")
    assert body["issue"][0]["expression"] == ["Bundle.entry[0].resource.reference"]
    linked = bundle("batch", post(new_patient(), PATIENT_URL), post(observation_of(PATIENT_URL)))
    entries = answered(send(client, linked, doctor), "batch")
    assert statuses(entries) == ["201 Created", "400 Bad Request"]
    assert "transaction" in entries[1]["response"]["outcome"]["issue"][0]["diagnostics"]
    assert stored_count(runtime, "Observation") == 0


def test_the_capability_statement_declares_transaction_and_batch(client: TestClient) -> None:
    statement = client.get("/fhir/metadata", headers={"Accept": FHIR_JSON}).json()
    rest = statement["rest"][0]
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch"}
    assert "ifNoneExist" in rest["documentation"]


def test_a_batch_update_waits_for_its_row_without_holding_the_audit_chain(
    runtime: Runtime, client: TestClient
) -> None:
    # Every write locks its row before its audit entry takes the chain's lock. A PUT in
    # the middle of a run of creates waited for its row while holding the chain's lock
    # (taken by an earlier entry's audit), against any write holding the row and waiting
    # for the chain: a deadlock PostgreSQL breaks only after a second. It runs alone.
    changed = fhir_resource("Patient", "p-a", gender="female")
    request = bundle("batch", post(fhir_resource("Observation", "p-a")), put(changed))
    answer = _sent_while_the_patient_row_is_held(runtime, client, request)
    assert statuses(answered(answer, "batch")) == ["201 Created", "200 OK"]


def test_a_transaction_locks_its_rows_before_its_searches_audit_takes_the_chain(
    runtime: Runtime, client: TestClient
) -> None:
    # A transaction's conditional searches are audited in its writing transaction; that
    # took the chain's lock before the rows it updates, the reverse of every other write.
    identifier = [{"system": "urn:obs", "value": "O-1"}]
    observation = fhir_resource("Observation", "p-a", identifier=identifier)
    request = bundle(
        "transaction",
        post(observation, ifNoneExist="identifier=urn:obs|O-1"),
        put(fhir_resource("Patient", "p-a", gender="female")),
    )
    answer = _sent_while_the_patient_row_is_held(runtime, client, request)
    assert statuses(answered(answer, "transaction")) == ["201 Created", "200 OK"]


def _sent_while_the_patient_row_is_held(
    runtime: Runtime, client: TestClient, request: dict[str, Any]
) -> httpx.Response:
    """Send `request` as a clinician while another transaction holds Patient/p-a's row;
    once the Bundle waits for that row, check that it does not hold the audit chain's
    lock meanwhile. The answer, once the row is free."""
    if runtime.db.engine.dialect.name != "postgresql":
        pytest.skip("row locks against the chain's advisory lock: PostgreSQL")
    make_resources(runtime, "p-a", ("Patient",))
    headers = bearer(runtime, Role.CLINICIAN)
    row = text(
        "SELECT 1 FROM fhir_resources WHERE resource_type = 'Patient'"
        " AND logical_id = 'p-a' AND is_current FOR UPDATE"
    )
    waiting_for_the_row = text(
        "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid)"
        " WHERE NOT granted AND datname = current_database()"
    )
    answers: list[httpx.Response] = []
    with runtime.db.engine.connect() as holder, runtime.db.engine.connect() as watcher:
        holder.execute(row)  # another writer's transaction, holding the Patient's row
        sender = threading.Thread(target=lambda: answers.append(send(client, request, headers)))
        sender.start()
        deadline = time.monotonic() + 60
        while not watcher.execute(waiting_for_the_row).scalar_one():
            assert time.monotonic() < deadline, "the PUT never reached the Patient's row"
            time.sleep(0.05)
        # The PUT waits for the row; the chain is free for the row's holder to audit.
        chain = holder.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": CHAIN})
        assert chain.scalar_one() is True
        holder.rollback()
        sender.join(timeout=60)
    return answers[0]
