"""Wrong JSON types are refused by every write, naming the element, and nothing is stored.

pydantic's lax mode turned `"active": "yes"` into `true` and `"3"` into `3`, so the API
answered 201 and a later read returned `"active": "yes"` as sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records.bundles.importer import import_file
from carewall.records.models import FhirResource
from tests.support.cli import carewall
from tests.support.factories import bearer, fhir_resource
from tests.support.fhir import outcome

CLI = Caller.cli("test")

# (element, value) pairs that the models used to convert and store as sent.
WRONG = [
    ("active", "yes"),
    ("active", 1),
    ("active", "true"),
    ("multipleBirthInteger", "3"),
    ("multipleBirthInteger", 3.0),
    ("birthDate", 12),
    ("birthDate", 0),
]


def _patient(element: str, value: Any) -> dict[str, Any]:
    return {**fhir_resource("Patient", "p-typed"), element: value}


def _stored(runtime: Runtime) -> int:
    with runtime.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(FhirResource)) or 0)


@pytest.mark.parametrize(("element", "value"), WRONG)
def test_create_refuses_a_wrong_json_type_naming_the_element(
    runtime: Runtime, client: TestClient, element: str, value: Any
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    response = client.post("/fhir/Patient", json=_patient(element, value), headers=doctor)
    body = outcome(response, 422, "value")
    assert body["issue"][0]["expression"] == [f"Patient.{element}"]
    assert "JSON" in body["issue"][0]["diagnostics"]
    assert _stored(runtime) == 0


def test_update_refuses_a_wrong_json_type_and_keeps_the_stored_version(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    created = client.post("/fhir/Patient", json=fhir_resource("Patient", "p-u"), headers=doctor)
    assert created.status_code == 201, created.text
    stored = created.json()
    changed = {**stored, "active": "yes"}
    response = client.put(f"/fhir/Patient/{stored['id']}", json=changed, headers=doctor)
    outcome(response, 422, "value")
    read = client.get(f"/fhir/Patient/{stored['id']}", headers=doctor).json()
    assert "active" not in read
    assert read["meta"]["versionId"] == "1"


def test_nested_elements_extensions_and_contained_resources_are_checked(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    observation = fhir_resource("Observation", "p-n")
    observation["valueQuantity"] = {"value": "70.5", "unit": "kg"}
    observation["extension"] = [{"url": "http://example.org/x", "valueBoolean": "no"}]
    observation["contained"] = [{"resourceType": "Patient", "id": "c1", "active": 1}]
    response = client.post("/fhir/Observation", json=observation, headers=doctor)
    body = outcome(response, 422, "value")
    assert sorted(e for i in body["issue"] for e in i["expression"]) == [
        "Observation.contained[0].active",
        "Observation.extension[0].valueBoolean",
        "Observation.valueQuantity.value",
    ]
    assert _stored(runtime) == 0


def test_a_transaction_with_one_wrong_type_stores_nothing(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    entries = [
        {
            "resource": fhir_resource("Patient", "p-t"),
            "request": {"method": "POST", "url": "Patient"},
        },
        {"resource": _patient("active", "yes"), "request": {"method": "POST", "url": "Patient"}},
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    response = client.post("/fhir/", json=bundle, headers=doctor)
    body = outcome(response, 422)
    assert any("active" in e for i in body["issue"] for e in i.get("expression", [])), body
    assert _stored(runtime) == 0


def test_legitimate_json_types_are_stored_exactly_as_sent(
    runtime: Runtime, client: TestClient
) -> None:
    doctor = bearer(runtime, Role.CLINICIAN)
    patient = {
        **fhir_resource("Patient", "p-ok"),
        "active": True,
        "multipleBirthInteger": 2,
        "_birthDate": {"extension": [{"url": "http://example.org/t", "valueTime": "08:30:00"}]},
    }
    created = client.post("/fhir/Patient", json=patient, headers=doctor)
    assert created.status_code == 201, created.text
    read = client.get(f"/fhir/Patient/{created.json()['id']}", headers=doctor).json()
    assert (read["active"], read["multipleBirthInteger"]) == (True, 2)
    assert read["_birthDate"] == patient["_birthDate"]
    observation = {**fhir_resource("Observation", "p-ok"), "valueQuantity": {"value": 70.25}}
    created = client.post("/fhir/Observation", json=observation, headers=doctor)
    assert created.status_code == 201, created.text
    assert created.json()["valueQuantity"]["value"] == 70.25


@pytest.mark.parametrize(("element", "value"), [("active", "yes"), ("multipleBirthInteger", "3")])
def test_import_of_ndjson_reports_the_wrong_type_and_stores_nothing(
    runtime: Runtime, tmp_path: Path, element: str, value: Any
) -> None:
    path = tmp_path / "patients.ndjson"
    good = fhir_resource("Patient", "p-i1")
    lines = [json.dumps(good), json.dumps({**_patient(element, value), "id": "p-i2"})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(runtime, CLI, path)
    assert report.failed
    assert f"entry[1].Patient.{element}" in (report.error or "")
    assert str(value) not in (report.error or "")
    assert _stored(runtime) == 0


def test_cli_import_refuses_a_wrong_type(
    runtime: Runtime, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    path = tmp_path / "patients.ndjson"
    path.write_text(json.dumps(_patient("active", "yes")) + "\n", encoding="utf-8")
    failed = carewall(cli_env, "records", "import", str(path))
    assert failed.returncode == 1
    assert "entry[0].Patient.active" in failed.stderr
    assert _stored(runtime) == 0
