"""Bulk Data kick-off as the IG (v2) allows it: POST with a `Parameters` body,
`_outputFormat`, `_typeFilter`, and `Group/{id}/$export` for a stored Group.

Each export is followed to its files (the queued task run by the job runner)
and the files are checked against what was stored; refusals are checked as a
client sees them (400 OperationOutcome naming the parameter).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from carewall.core.config import Settings
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records.access.restriction import restrict_compartment
from carewall.records.services import create_resource, delete_resource
from tests.functional.test_bulk_export import (
    ASYNC,
    CLINICAL,
    _audit,
    _download,
    _finish,
    _integration,
    _kick_off,
    _patients,
)
from tests.support.audit import audit_about
from tests.support.clock import FrozenClock
from tests.support.factories import SYSTEM, bearer, fhir_resource
from tests.support.fhir import outcome

FHIR_JSON = {"Content-Type": "application/fhir+json"}
PULSE = {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}
WEIGHT = {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The queue run by the tests alone (`run_jobs`), as in `test_bulk_export`."""
    return settings.model_copy(update={"alerts_bulk_patients": 3, "jobs_in_process": False})


def _parameters(*pairs: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": name, kind: value} for name, kind, value in pairs],
    }


def _post_kick_off(client: TestClient, path: str, body: dict[str, Any], headers: Any) -> str:
    response = client.post(path, json=body, headers={**headers, **ASYNC, **FHIR_JSON})
    assert response.status_code == 202, response.text
    return str(response.headers["content-location"]).removeprefix("http://127.0.0.1:8000")


def _exported(client: TestClient, manifest: dict[str, Any], headers: Any) -> dict[str, set[str]]:
    got: dict[str, set[str]] = {}
    for item in manifest["output"]:
        resources = _download(client, item["url"], headers)
        got.setdefault(item["type"], set()).update(r["id"] for r in resources)
    return got


def test_a_post_kick_off_takes_its_parameters_from_a_parameters_body(
    runtime: Runtime, client: TestClient, clock: FrozenClock
) -> None:
    stored = _patients(runtime, 2)
    clock.advance(hours=1)
    since = clock.now.isoformat().replace("+00:00", "Z")
    clock.advance(minutes=1)
    late = fhir_resource("Observation", next(iter(stored)))
    create_resource(runtime, SYSTEM, late)
    feed = _integration(runtime)
    body = _parameters(
        ("_type", "valueString", "Observation"),
        ("_since", "valueInstant", since),
        ("_outputFormat", "valueString", "application/fhir+ndjson"),
    )
    for path in ("/fhir/$export", "/fhir/Patient/$export"):
        status = _post_kick_off(client, path, body, feed)
        manifest = _finish(client, runtime, status, feed)
        assert _exported(client, manifest, feed) == {"Observation": {late["id"]}}, path
    requested = _audit(runtime, "records:export:requested")
    assert requested[0].details["resource_types"] == ["Observation"]
    assert requested[0].details["since"].startswith(since[:19])


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (_parameters(("_outputFormat", "valueString", "text/csv")), "_outputFormat"),
        (_parameters(("_outputFormat", "valueString", "application/fhir+json")), "_outputFormat"),
        (_parameters(("_type", "valueString", "Spaceship")), "_type"),
        (_parameters(("_since", "valueString", "yesterday")), "_since"),
        (_parameters(("_since", "valueInstant", "2026-01-01")), "_since"),
        (_parameters(("patient", "valueString", "Patient/x")), "patient"),
        (_parameters(("_elements", "valueString", "id")), "_elements"),
        ({"resourceType": "Bundle", "type": "collection"}, "resourceType"),
        (
            {"resourceType": "Parameters", "parameter": [{"valueString": "x"}]},
            "Parameters.parameter[0]",
        ),
    ],
)
def test_a_bad_post_kick_off_is_a_400_naming_the_parameter(
    runtime: Runtime, client: TestClient, body: dict[str, Any], where: str
) -> None:
    feed = _integration(runtime)
    response = client.post("/fhir/$export", json=body, headers={**feed, **ASYNC, **FHIR_JSON})
    assert outcome(response, 400)["issue"][0]["expression"] == [where]


def test_a_post_kick_off_takes_parameters_in_one_place(
    runtime: Runtime, client: TestClient
) -> None:
    feed = _integration(runtime)
    both = client.post(
        "/fhir/$export?_type=Patient",
        json=_parameters(("_type", "valueString", "Observation")),
        headers={**feed, **ASYNC, **FHIR_JSON},
    )
    assert outcome(both, 400)["issue"][0]["expression"] == ["_type"]
    not_json = client.post(
        "/fhir/$export",
        content=b"_type=Patient",
        headers={**feed, **ASYNC, "Content-Type": "text/plain"},
    )
    assert not_json.status_code == 415, not_json.text
    no_prefer = client.post("/fhir/$export", json=_parameters(), headers={**feed, **FHIR_JSON})
    assert outcome(no_prefer, 400)["issue"][0]["expression"] == ["Prefer"]


def test_output_formats_other_than_ndjson_are_refused_on_get(
    runtime: Runtime, client: TestClient
) -> None:
    feed = _integration(runtime)
    for fmt in ("text/csv", "application/fhir+json", "parquet"):
        response = client.get(f"/fhir/$export?_outputFormat={fmt}", headers={**feed, **ASYNC})
        body = outcome(response, 400, "not-supported")
        assert body["issue"][0]["expression"] == ["_outputFormat"]
    for fmt in ("application/fhir%2Bndjson", "application/ndjson", "ndjson"):
        _kick_off(client, f"/fhir/$export?_type=Patient&_outputFormat={fmt}", feed)


def _coded_patients(runtime: Runtime) -> None:
    """Two patients with a pulse and a weight each, and a condition."""
    for patient in ("tf-1", "tf-2"):
        create_resource(runtime, SYSTEM, fhir_resource("Patient", patient))
        for name, code in (("pulse", PULSE), ("weight", WEIGHT)):
            observation = fhir_resource("Observation", patient, id=f"{name}-{patient}", code=code)
            create_resource(runtime, SYSTEM, observation)
        create_resource(runtime, SYSTEM, fhir_resource("Condition", patient, id=f"c-{patient}"))


def test_type_filter_narrows_a_type_by_its_search_parameters(
    runtime: Runtime, client: TestClient
) -> None:
    _coded_patients(runtime)
    feed = _integration(runtime)
    asked = {
        # One filter: the other type is exported whole.
        "_type=Observation,Condition&_typeFilter=Observation%3Fcode%3D8867-4": {
            "Observation": {"pulse-tf-1", "pulse-tf-2"},
            "Condition": {"c-tf-1", "c-tf-2"},
        },
        # Two filters of one type: what either matches (repeated, or comma-separated).
        "_type=Observation&_typeFilter=Observation%3Fcode%3D8867-4%26patient%3Dtf-1"
        "&_typeFilter=Observation%3Fcode%3D29463-7%26patient%3Dtf-2": {
            "Observation": {"pulse-tf-1", "weight-tf-2"},
        },
        "_type=Observation"
        "&_typeFilter=Observation%3Fpatient%3Dtf-1,Observation%3F_id%3Dweight-tf-2": {
            "Observation": {"pulse-tf-1", "weight-tf-1", "weight-tf-2"},
        },
        # Within one filter, a comma is the search's own OR, and repeats are AND.
        "_type=Observation&_typeFilter=Observation%3Fcode%3D8867-4,29463-7%26patient%3Dtf-2": {
            "Observation": {"pulse-tf-2", "weight-tf-2"},
        },
        "_type=Observation&_typeFilter=Observation%3F_id%3Dpulse-tf-1%26_id%3Dweight-tf-1": {},
    }
    for query, expected in asked.items():
        status = _kick_off(client, f"/fhir/$export?{query}", feed)
        manifest = _finish(client, runtime, status, feed)
        assert _exported(client, manifest, feed) == expected, query
    post = _parameters(
        ("_type", "valueString", "Observation"),
        ("_typeFilter", "valueString", "Observation?code=29463-7"),
    )
    status = _post_kick_off(client, "/fhir/Patient/$export", post, feed)
    manifest = _finish(client, runtime, status, feed)
    assert _exported(client, manifest, feed) == {"Observation": {"weight-tf-1", "weight-tf-2"}}
    requested = _audit(runtime, "records:export:requested")[0]
    assert requested.details["type_filters"] == 1


@pytest.mark.parametrize(
    "type_filter",
    [
        "Observation%3Fstatus%3Dfinal",  # not a search parameter Observation takes here
        "Observation%3F_sort%3Ddate",  # shapes results, selects nothing
        "Observation%3F_count%3D1",
        "Observation%3F_include%3DObservation:patient",
        "Spaceship%3Fcode%3D1",
        "Observation",
        "Condition%3Fcode%3D1",  # not one of _type
        "Observation%3Fname%3Dx",
    ],
)
def test_a_type_filter_the_server_cannot_run_is_refused(
    runtime: Runtime, client: TestClient, type_filter: str
) -> None:
    feed = _integration(runtime)
    response = client.get(
        f"/fhir/$export?_type=Observation&_typeFilter={type_filter}", headers={**feed, **ASYNC}
    )
    assert outcome(response, 400)["issue"][0]["expression"] == ["_typeFilter"]


def _group(runtime: Runtime, group_id: str, members: list[dict[str, Any]]) -> None:
    group = {
        "resourceType": "Group",
        "id": group_id,
        "type": "person",
        "actual": True,
        "member": members,
    }
    create_resource(runtime, SYSTEM, group)


def _member(reference: str, **extra: Any) -> dict[str, Any]:
    return {"entity": {"reference": reference}, **extra}


def test_a_group_export_exports_its_patient_members(runtime: Runtime, client: TestClient) -> None:
    stored = _patients(runtime, 4)
    first, second, gone, outside = list(stored)
    create_resource(runtime, SYSTEM, fhir_resource("Practitioner", "x", id="dr-g"))
    _group(
        runtime,
        "cohort",
        [
            _member(f"Patient/{first}"),
            _member(f"Patient/{second}"),
            _member(f"Patient/{gone}", inactive=True),
            _member("Practitioner/dr-g"),
        ],
    )
    feed = _integration(runtime)
    status = _kick_off(client, "/fhir/Group/cohort/$export", feed)
    manifest = _finish(client, runtime, status, feed)
    got = _exported(client, manifest, feed)
    assert got["Patient"] == {first, second}
    for resource_type in CLINICAL:
        assert got[resource_type] == {stored[p][resource_type] for p in (first, second)}
    assert "Practitioner" not in got
    assert "Group" not in got
    assert outside not in got["Patient"]

    subject = f"bulk-export:{status.rsplit('/', 1)[1]}"
    (requested,) = audit_about(runtime, subject, ["records:export:requested"])
    assert requested.details["level"] == "group"
    assert requested.details["group"] == "cohort"
    assert requested.details["members"] == 2
    completed = _audit(runtime, "records:export:completed")[0]
    assert completed.details["patients"] == 2
    assert len(audit_about(runtime, f"Patient/{first}", ["records:export:completed"])) == 1
    assert audit_about(runtime, f"Patient/{outside}", ["records:export:completed"]) == []


def test_a_group_export_follows_the_patient_level_rules(
    runtime: Runtime, client: TestClient
) -> None:
    stored = _patients(runtime, 3)
    shown, hidden, _ = list(stored)
    _group(runtime, "ward", [_member(f"Patient/{p}") for p in stored])
    restrict_compartment(runtime, SYSTEM, hidden, "vip")
    feed = _integration(runtime)
    status = _kick_off(client, "/fhir/Group/ward/$export?_type=Patient", feed)
    manifest = _finish(client, runtime, status, feed)
    assert hidden not in _exported(client, manifest, feed)["Patient"]
    assert shown in _exported(client, manifest, feed)["Patient"]

    outcome(client.get("/fhir/Group/nobody/$export", headers={**feed, **ASYNC}), 404)
    clinician = bearer(runtime, Role.CLINICIAN)
    outcome(client.get("/fhir/Group/ward/$export", headers={**clinician, **ASYNC}), 403)
    patient = bearer(runtime, Role.PATIENT, patient_id=shown, scopes=("fhir:read",))
    outcome(client.get("/fhir/Group/ward/$export", headers={**patient, **ASYNC}), 403)
    reasons = [e.details.get("reason") for e in _audit(runtime, "records:access:denied")]
    assert reasons.count("role") >= 2


def test_a_roster_group_is_stored_in_no_patients_compartment(
    runtime: Runtime, client: TestClient
) -> None:
    """A Group of several patients is accepted (it used to be refused as naming a second
    patient) and filed under none of them: staff read it by the matrix, a member does not."""
    for patient in ("r-1", "r-2"):
        create_resource(runtime, SYSTEM, fhir_resource("Patient", patient))
    roster = {
        "resourceType": "Group",
        "type": "person",
        "actual": True,
        "member": [_member("Patient/r-1"), _member("Patient/r-2")],
    }
    doctor = bearer(runtime, Role.CLINICIAN)
    created = client.post("/fhir/Group", json=roster, headers={**doctor, **FHIR_JSON})
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    assert client.get(f"/fhir/Group/{group_id}", headers=doctor).status_code == 200
    member = bearer(runtime, Role.PATIENT, patient_id="r-1")
    assert client.get(f"/fhir/Group/{group_id}", headers=member).status_code in {403, 404}
    found = client.get("/fhir/Group?patient=r-1", headers=doctor).json()
    assert found["total"] == 0, "a roster is in no member's compartment"
    # A patient named anywhere else in a Group still files it under that one patient only.
    named = {
        "url": "http://example.org/fhir/StructureDefinition/x",
        "valueReference": {"reference": "Patient/r-1"},
    }
    mixed = {**roster, "extension": [named]}
    refused = client.post("/fhir/Group", json=mixed, headers={**doctor, **FHIR_JSON})
    assert refused.status_code == 422, refused.text


def test_the_capability_statement_lists_the_group_export(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    CapabilityStatement.model_validate(statement)
    (group,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "Group"]
    (operation,) = group["operation"]
    assert (
        operation["definition"]
        == "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"
    )
    assert "_typeFilter" in operation["documentation"]
    assert "POST" in operation["documentation"]


def test_a_patient_export_of_no_such_patient_is_not_found(
    runtime: Runtime, client: TestClient
) -> None:
    """An export of a patient that does not exist (or was deleted) is 404, as a read of
    it, not an export queued to finish with an empty manifest."""
    stored = _patients(runtime, 1)
    patient_id = next(iter(stored))
    feed = _integration(runtime)
    outcome(client.get("/fhir/Patient/nope/$export", headers={**feed, **ASYNC}), 404)
    _kick_off(client, f"/fhir/Patient/{patient_id}/$export", feed)
    delete_resource(runtime, SYSTEM, "Patient", patient_id)
    outcome(client.get(f"/fhir/Patient/{patient_id}/$export", headers={**feed, **ASYNC}), 404)
