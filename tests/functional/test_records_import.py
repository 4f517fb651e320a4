"""Importing Synthea bundles: round trip, idempotence, references, all-or-nothing, CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.records import Purpose
from carewall.records.access import get_record_for
from carewall.records.bundles.importer import import_file, import_path
from carewall.records.models import FhirResource
from carewall.records.portal.export import export_patient_bundle
from tests.support.cli import carewall
from tests.support.factories import FHIR_JSON, bearer, fhir_resource
from tests.support.fhir import (
    SYNTHEA3_PATIENT,
    assert_absent_from_vault,
    synthea3_folder,
    synthea_files,
)

CLI = Caller.cli("test")


def _without_meta(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != "meta"}


def _as_imported(bundle: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Resources of a source bundle with urn:uuid references rewritten as the store does."""
    urls = {
        e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle["entry"]
    }
    text_ = json.dumps([e["resource"] for e in bundle["entry"]])
    for urn, ref in urls.items():
        text_ = text_.replace(f'"{urn}"', f'"{ref}"')
    return {(r["resourceType"], r["id"]): _without_meta(r) for r in json.loads(text_)}


def _version_count(runtime: Runtime) -> int:
    with runtime.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(FhirResource)) or 0)


def test_synthea_bundles_round_trip_and_reimport_is_idempotent(runtime: Runtime) -> None:
    files = synthea_files(2)
    reports = [import_file(runtime, CLI, f) for f in files]
    assert all(not r.failed for r in reports), [r.error for r in reports]
    versions = _version_count(runtime)
    again = [import_file(runtime, CLI, f) for f in files]
    assert sum(r.created + r.updated for r in again) == 0
    assert _version_count(runtime) == versions

    source = json.loads(files[0].read_text(encoding="utf-8"))
    expected = _as_imported(source)
    patient_id = next(r["id"] for r in expected.values() if r["resourceType"] == "Patient")
    exported = export_patient_bundle(runtime, CLI, patient_id)
    got = {
        (e["resource"]["resourceType"], e["resource"]["id"]): _without_meta(e["resource"])
        for e in exported["entry"]
    }
    in_compartment = {
        k: v for k, v in expected.items() if k[0] not in {"Practitioner", "Organization"}
    }
    assert got == in_compartment


def test_nothing_identifying_reaches_the_database(runtime: Runtime) -> None:
    file = synthea_files(1)[0]
    assert not import_file(runtime, CLI, file).failed
    bundle = json.loads(file.read_text(encoding="utf-8"))
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    observation = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    )
    secrets = [
        patient["name"][0]["family"],
        patient["name"][0]["given"][0],
        patient["birthDate"],
        patient["identifier"][-1]["value"],
        patient["address"][0]["line"][0],
        observation["code"]["coding"][0]["display"],
    ]
    with runtime.db.engine.connect() as conn:
        assert_absent_from_vault(conn, secrets)


def test_an_invalid_resource_fails_the_whole_bundle_naming_the_field(
    runtime: Runtime, tmp_path: Path
) -> None:
    patient = fhir_resource("Patient", "p-x")
    bad = fhir_resource("Observation", "p-x", status="not-a-status")
    bad["valueQuantity"] = {"value": "seventy"}
    path = _bundle(tmp_path, [patient, bad, {"resourceType": "Parameters", "id": "b1"}])
    report = import_file(runtime, CLI, path)
    assert report.failed
    assert "entry[1].Observation.valueQuantity.value" in (report.error or "")
    assert "seventy" not in (report.error or "")
    assert report.unsupported == {"Parameters": 1}
    assert _version_count(runtime) == 0


def test_a_resource_without_an_id_fails_its_file_and_the_next_file_imports(
    runtime: Runtime, tmp_path: Path
) -> None:
    """An NDJSON line or bare resource has nothing else to be known by: refused, by line."""
    folder = tmp_path / "in"
    folder.mkdir()
    nameless = {"resourceType": "Patient", "name": [{"family": "Nd1"}]}
    (folder / "a.ndjson").write_text(
        json.dumps(fhir_resource("Patient", "p-ok")) + "\n" + json.dumps(nameless) + "\n",
        encoding="utf-8",
    )
    (folder / "b.json").write_text(json.dumps(nameless), encoding="utf-8")
    (folder / "c.ndjson").write_text(json.dumps(fhir_resource("Patient", "p-c2")), encoding="utf-8")
    reports = import_path(runtime, CLI, folder)
    assert [r.name for r in reports] == ["a.ndjson", "b.json", "c.ndjson"]
    assert "line 2" in (reports[0].error or "")
    assert "no id" in (reports[0].error or "")
    assert "file" in (reports[1].error or "")
    assert "no id" in (reports[1].error or "")
    assert not reports[2].failed
    assert reports[2].created == 1
    assert _version_count(runtime) == 1


def test_conditional_references_resolve_against_the_store(runtime: Runtime, tmp_path: Path) -> None:
    doctor = fhir_resource("Practitioner", "", id="doc-1")
    doctor["identifier"] = [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "9999"}]
    assert not import_file(runtime, CLI, _bundle(tmp_path, [doctor], "a.json")).failed
    encounter = fhir_resource("Encounter", "p-c")
    encounter["participant"] = [
        {"individual": {"reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999"}}
    ]
    report = import_file(
        runtime, CLI, _bundle(tmp_path, [fhir_resource("Patient", "p-c"), encounter])
    )
    assert not report.failed, report.error
    stored = get_record_for(runtime, CLI, "Encounter", encounter["id"], Purpose.TREATMENT)
    assert stored["participant"][0]["individual"]["reference"] == "Practitioner/doc-1"
    missing = fhir_resource("Encounter", "p-c")
    missing["participant"] = [{"individual": {"reference": "Practitioner?identifier=x|nope"}}]
    assert import_file(runtime, CLI, _bundle(tmp_path, [missing], "c.json")).failed


def test_a_resource_named_twice_in_one_bundle_keeps_the_last(
    runtime: Runtime, tmp_path: Path
) -> None:
    first = fhir_resource("Observation", "p-d", id="obs-twice", status="preliminary")
    last = {**first, "status": "final"}
    report = import_file(
        runtime, CLI, _bundle(tmp_path, [fhir_resource("Patient", "p-d"), first, last])
    )
    assert not report.failed, report.error
    assert (report.created, report.unchanged) == (2, 1)
    stored = get_record_for(runtime, CLI, "Observation", "obs-twice", Purpose.TREATMENT)
    assert (stored["status"], stored["meta"]["versionId"]) == ("final", "1")


def test_one_conditional_reference_repeated_resolves_everywhere(
    runtime: Runtime, tmp_path: Path
) -> None:
    doctor = fhir_resource("Practitioner", "", id="doc-2")
    doctor["identifier"] = [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "4242"}]
    encounters = [fhir_resource("Encounter", "p-e") for _ in range(3)]
    for encounter in encounters:
        encounter["participant"] = [
            {
                "individual": {
                    "reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|4242"
                }
            }
        ]
    path = _bundle(tmp_path, [fhir_resource("Patient", "p-e"), doctor, *encounters])
    assert not (report := import_file(runtime, CLI, path)).failed, report.error
    for encounter in encounters:
        stored = get_record_for(runtime, CLI, "Encounter", encounter["id"], Purpose.TREATMENT)
        assert stored["participant"][0]["individual"]["reference"] == "Practitioner/doc-2"


def test_cli_imports_summarises_and_exports(tmp_path: Path, cli_env: dict[str, str]) -> None:
    file = synthea_files(1)[0]
    done = carewall(cli_env, "records", "import", str(file))
    assert done.returncode == 0, done.stderr
    assert "Import summary" in done.stdout
    bad = _bundle(tmp_path, [fhir_resource("Observation", "p", status=12345)])
    failed = carewall(cli_env, "records", "import", str(bad))
    assert failed.returncode == 1
    assert "Observation.status" in failed.stderr
    patient_id = next(
        e["resource"]["id"]
        for e in json.loads(file.read_text())["entry"]
        if e["resource"]["resourceType"] == "Patient"
    )
    out = tmp_path / "export.json"
    exported = carewall(cli_env, "records", "export", "--patient", patient_id, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert json.loads(out.read_text())["type"] == "collection"


def _bundle(tmp_path: Path, resources: list[dict[str, Any]], name: str = "b.json") -> Path:
    entries = [
        {
            "fullUrl": f"urn:uuid:{r['id']}",
            "resource": r,
            "request": {"method": "POST", "url": r["resourceType"]},
        }
        for r in resources
    ]
    path = tmp_path / name
    path.write_text(
        json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}),
        encoding="utf-8",
    )
    return path


def test_the_current_synthea_generation_imports_its_support_folder_first(
    runtime: Runtime, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """Synthea with US Core profiles: hospitals and practitioners in `support/` (batches of
    Organization + Location, Practitioner + PractitionerRole), then the patients, whose
    conditional references (`Location?identifier=...`) must find them."""
    folder = synthea3_folder(tmp_path)
    done = carewall(cli_env, "records", "import", str(folder))
    assert done.returncode == 0, done.stderr
    assert "Import summary" in done.stdout
    source = json.loads((folder / SYNTHEA3_PATIENT).read_text(encoding="utf-8"))
    resources = [entry["resource"] for entry in source["entry"]]
    patient_id = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    exported = export_patient_bundle(runtime, CLI, patient_id)
    got = {
        (e["resource"]["resourceType"], e["resource"]["id"]): e["resource"]
        for e in exported["entry"]
    }
    assert set(got) == {(r["resourceType"], r["id"]) for r in resources}, "all in the compartment"
    assert {"Provenance", "DocumentReference", "Encounter"} <= {t for t, _ in got}
    encounter = next(r for (t, _), r in got.items() if t == "Encounter")
    location = encounter["location"][0]["location"]["reference"]
    assert location.startswith("Location/"), "the conditional reference was resolved"
    assert get_record_for(runtime, CLI, "Location", location.split("/")[1], Purpose.TREATMENT)
    note = next(r for r in resources if r["resourceType"] == "DocumentReference")
    stored_note = got[("DocumentReference", note["id"])]
    assert stored_note["content"] == note["content"], "the base64 note is kept as sent"
    with runtime.db.sessions() as session:
        counted = session.execute(
            select(FhirResource.resource_type, func.count()).group_by(FhirResource.resource_type)
        )
        counts = dict(counted.all())
    assert counts["Location"] == counts["PractitionerRole"] == 1191


def test_a_synthea_support_batch_is_accepted_over_fhir(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    """2,382 conditional creates (Organization + Location) in one batch: within the default
    entry limit and work budget, written by the role that keeps the directory."""
    folder = synthea3_folder(tmp_path)
    hospitals = next((folder / "support").glob("hospitalInformation*.json")).read_bytes()
    admin = {**bearer(runtime, Role.ADMIN), "Content-Type": FHIR_JSON}
    done = client.post("/fhir/", content=hospitals, headers=admin)
    assert done.status_code == 200, done.text[:2000]
    statuses = Counter(entry["response"]["status"] for entry in done.json()["entry"])
    assert statuses == {"201 Created": 2382}
