"""Codes FHIR binds to a fixed list are checked on every write: a status or gender outside
its value set is refused naming the element and the list, and nothing is stored.

The R4B models accepted `"status": "banana"` and the vault stored it as sent."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records.bundles.importer import import_file
from carewall.records.models import FhirResource
from tests.support.factories import bearer, fhir_resource
from tests.support.fhir import outcome

SENT = "banana"


def _stored(runtime: Runtime) -> int:
    with runtime.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(FhirResource)) or 0)


def test_create_and_update_refuse_a_code_outside_its_value_set(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    observation = {**fhir_resource("Observation", "p-c"), "status": SENT}
    body = outcome(client.post("/fhir/Observation", json=observation, headers=doctor), 422)
    (issue,) = body["issue"]
    assert (issue["code"], issue["expression"]) == ("code-invalid", ["Observation.status"])
    assert "final" in issue["diagnostics"]
    assert SENT not in json.dumps(body)
    assert _stored(runtime) == 0

    created = client.post("/fhir/Patient", json=fhir_resource("Patient", "p-c"), headers=doctor)
    assert created.status_code == 201, created.text
    stored = created.json()
    changed = {**stored, "gender": "F", "telecom": [{"system": "pager?", "value": "1"}]}
    body = outcome(client.put(f"/fhir/Patient/{stored['id']}", json=changed, headers=doctor), 422)
    assert [i["expression"] for i in body["issue"]] == [
        ["Patient.gender"],
        ["Patient.telecom[0].system"],
    ]
    read = client.get(f"/fhir/Patient/{stored['id']}", headers=doctor).json()
    assert read["meta"]["versionId"] == "1"
    assert "gender" not in read


def test_a_batch_refuses_only_the_entry_with_the_wrong_code(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    entries = [
        {
            "resource": fhir_resource("Patient", "p-b"),
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "resource": {**fhir_resource("Patient", "p-b2"), "gender": SENT},
            "request": {"method": "POST", "url": "Patient"},
        },
    ]
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": entries}
    answered = client.post("/fhir/", json=bundle, headers=doctor)
    assert answered.status_code == 200, answered.text
    first, second = answered.json()["entry"]
    assert first["response"]["status"].startswith("201")
    assert second["response"]["status"].startswith("422")
    (issue,) = second["response"]["outcome"]["issue"]
    assert issue["code"] == "code-invalid"
    assert _stored(runtime) == 1


def test_import_reports_the_wrong_code_and_stores_nothing(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "patients.ndjson"
    lines = [fhir_resource("Patient", "p-i1"), {**fhir_resource("Patient", "p-i2"), "gender": SENT}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    report = import_file(runtime, Caller.cli("test"), path)
    assert report.failed
    assert "entry[1].Patient.gender" in (report.error or "")
    assert SENT not in (report.error or "")
    assert _stored(runtime) == 0
