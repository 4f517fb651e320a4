"""FHIR Bulk Data export, step by step as the Bulk Data Access IG (v2) describes it.

A client kicks off with `Prefer: respond-async`, follows `Content-Location`,
polls while the answer is 202 with `Retry-After`, reads the manifest and
downloads each NDJSON file with its own token. These tests do the same
against the app (the queued task run by the job runner, as `carewall serve`
would), check each file against what was stored, and check what the IG leaves
to the server: who may export, what each may see, the audit trail, cancel,
expiry, and that nobody else can fetch the files.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from sqlalchemy import func, select

from carewall.alerts.queries import AlertFilter, list_alerts
from carewall.audit import recent_entries
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import Role
from carewall.jobs import run_now
from carewall.records.access.restriction import restrict_compartment
from carewall.records.models import BulkExportFile
from carewall.records.services import create_resource
from carewall.registry import job_registry
from tests.functional.campaign_helpers import run_jobs
from tests.support.audit import audit_about
from tests.support.clock import FrozenClock
from tests.support.factories import (
    SYSTEM,
    bearer,
    fhir_resource,
    make_resources,
    make_user,
    token_for,
)
from tests.support.fhir import outcome
from tests.support.signin import sign_in_admin, signed_in

ASYNC = {"Prefer": "respond-async"}
NDJSON = "application/fhir+ndjson"
CLINICAL = ("Observation", "Condition")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A low bulk-alert threshold, so that an export of a few patients is "large"; and
    the queue run by the tests alone (`run_jobs`), not also by the app's own job loop,
    so that each step of an export happens when the test says."""
    return settings.model_copy(update={"alerts_bulk_patients": 3, "jobs_in_process": False})


def _patients(runtime: Runtime, count: int) -> dict[str, dict[str, str]]:
    """`count` patients, each with one resource of every type in `CLINICAL`."""
    made = {}
    for n in range(count):
        patient = fhir_resource("Patient", f"bulk-{n}")
        create_resource(runtime, SYSTEM, patient)
        made[patient["id"]] = make_resources(runtime, patient["id"], CLINICAL)
    return made


def _integration(runtime: Runtime, email: str = "feed@clinic.example") -> dict[str, str]:
    return token_for(runtime, email, Role.INTEGRATION, scopes=("fhir:read",))


def _kick_off(client: TestClient, path: str, headers: dict[str, str]) -> str:
    """Kick off and return the status URL's path (the IG's Content-Location)."""
    response = client.get(path, headers={**headers, **ASYNC})
    assert response.status_code == 202, response.text
    location = response.headers["content-location"]
    assert location.startswith("http://127.0.0.1:8000/fhir/bulkstatus/"), location
    return location.removeprefix("http://127.0.0.1:8000")


def _finish(client: TestClient, runtime: Runtime, status: str, headers: dict[str, str]) -> Any:
    """Poll as the IG says (202 + Retry-After while running), run the queue, read the
    manifest."""
    waiting = client.get(status, headers=headers)
    assert waiting.status_code == 202, waiting.text
    assert int(waiting.headers["retry-after"]) >= 1
    assert waiting.headers["x-progress"]
    run_jobs(runtime)
    done = client.get(status, headers=headers)
    assert done.status_code == 200, done.text
    assert done.headers["content-type"] == "application/json", "the IG's manifest, no resource"
    return done.json()


def _download(client: TestClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get(url.removeprefix("http://127.0.0.1:8000"), headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(NDJSON)
    return [json.loads(line) for line in response.text.splitlines()]


def test_an_integration_exports_every_patient_and_gets_what_was_stored(
    runtime: Runtime, client: TestClient
) -> None:
    stored = _patients(runtime, 4)
    feed = _integration(runtime)
    status = _kick_off(client, "/fhir/Patient/$export", feed)
    manifest = _finish(client, runtime, status, feed)

    assert manifest["requiresAccessToken"] is True
    assert manifest["error"] == []
    assert manifest["request"].endswith("/fhir/Patient/$export")
    assert manifest["transactionTime"].endswith("Z")
    got: dict[str, set[str]] = {}
    for item in manifest["output"]:
        resources = _download(client, item["url"], feed)
        assert len(resources) == item["count"]
        assert {r["resourceType"] for r in resources} == {item["type"]}
        got.setdefault(item["type"], set()).update(r["id"] for r in resources)
    assert got["Patient"] == set(stored)
    for resource_type in CLINICAL:
        assert got[resource_type] == {ids[resource_type] for ids in stored.values()}

    subject = f"bulk-export:{status.rsplit('/', 1)[1]}"
    requested = audit_about(runtime, subject, ["records:export:requested"])
    assert len(requested) == 1
    entries = {e.action: e for e in _audit(runtime, "records:export:")}
    completed = entries["records:export:completed"]
    assert completed.details["patients"] == 4
    assert completed.details["count"] == 4 * (1 + len(CLINICAL))
    assert completed.details["resource_types"] == sorted(["Patient", *CLINICAL])
    assert "records:export:downloaded" in entries
    # Every patient finds the export in their own access history.
    some_patient = next(iter(stored))
    mine = audit_about(runtime, f"Patient/{some_patient}", ["records:export:completed"])
    assert len(mine) == 1


def _audit(runtime: Runtime, prefix: str) -> list[Any]:
    with runtime.db.sessions() as session:
        return [e for e in recent_entries(session, limit=500) if e.action.startswith(prefix)]


def test_type_and_since_narrow_the_export(
    runtime: Runtime, client: TestClient, clock: FrozenClock
) -> None:
    stored = _patients(runtime, 2)
    clock.advance(hours=1)
    since = clock.now.isoformat().replace("+00:00", "Z")
    clock.advance(minutes=1)
    late = fhir_resource("Observation", next(iter(stored)))
    create_resource(runtime, SYSTEM, late)
    feed = _integration(runtime)

    status = _kick_off(client, "/fhir/$export?_type=Observation,Patient", feed)
    manifest = _finish(client, runtime, status, feed)
    assert {item["type"] for item in manifest["output"]} == {"Observation", "Patient"}

    status = _kick_off(
        client, f"/fhir/$export?_type=Observation&_since={since}&_outputFormat=ndjson", feed
    )
    manifest = _finish(client, runtime, status, feed)
    (item,) = manifest["output"]
    assert [r["id"] for r in _download(client, item["url"], feed)] == [late["id"]]


@pytest.mark.parametrize(
    ("query", "headers", "where"),
    [
        ("", {}, "Prefer"),
        ("?_type=Observation,Spaceship", ASYNC, "_type"),
        ("?_type=", ASYNC, "_type"),
        ("?_since=yesterday", ASYNC, "_since"),
        ("?_since=2026-01-01", ASYNC, "_since"),
        ("?_since=2026-02-30T00:00:00Z", ASYNC, "_since"),
        ("?_outputFormat=text/csv", ASYNC, "_outputFormat"),
        ("?_typeFilter=Observation%3Fstatus%3Dfinal", ASYNC, "_typeFilter"),
    ],
)
def test_a_malformed_kick_off_is_a_400_naming_the_parameter(
    runtime: Runtime, client: TestClient, query: str, headers: dict[str, str], where: str
) -> None:
    feed = _integration(runtime)
    response = client.get(f"/fhir/$export{query}", headers={**feed, **headers})
    body = outcome(response, 400)
    assert body["issue"][0]["expression"] == [where]


def test_only_admins_who_stepped_up_and_integrations_export(
    runtime: Runtime, client: TestClient
) -> None:
    clinician = bearer(runtime, Role.CLINICIAN)
    outcome(client.get("/fhir/$export", headers={**clinician, **ASYNC}), 403)
    admin_token = token_for(runtime, "officer@clinic.example", Role.ADMIN, scopes=("fhir:read",))
    refused = outcome(client.get("/fhir/$export", headers={**admin_token, **ASYNC}), 403)
    assert "step-up" in refused["issue"][0]["diagnostics"]
    reasons = [e.details.get("reason") for e in _audit(runtime, "records:access:denied")]
    assert reasons.count("role") >= 1
    assert "step-up" in reasons
    no_scope = token_for(runtime, "write@clinic.example", Role.INTEGRATION, scopes=("fhir:write",))
    outcome(client.get("/fhir/$export", headers={**no_scope, **ASYNC}), 403)


def test_a_large_export_raises_a_bulk_alert(runtime: Runtime, client: TestClient) -> None:
    _patients(runtime, 3)  # the module's threshold: 3 patients make an export "large"
    feed = _integration(runtime)
    status = _kick_off(client, "/fhir/Patient/$export?_type=Patient", feed)
    _finish(client, runtime, status, feed)

    run = run_now(
        runtime, job_registry(), "alerts.detectors.run", worker="t", requested_by=Caller.cli()
    )
    assert run.ok, run.error
    with runtime.db.sessions() as session:
        alerts = list_alerts(session, AlertFilter(detector="bulk"))
        found = [(a.severity, a.title) for a in alerts]
    assert found == [("high", "An export reached 3 patients")]


def test_a_patient_exports_their_own_record_only(runtime: Runtime, client: TestClient) -> None:
    stored = _patients(runtime, 2)
    mine, theirs = list(stored)
    patient = bearer(runtime, Role.PATIENT, patient_id=mine, scopes=("fhir:read",))
    outcome(client.get(f"/fhir/Patient/{theirs}/$export", headers={**patient, **ASYNC}), 404)
    outcome(client.get("/fhir/Patient/$export", headers={**patient, **ASYNC}), 403)
    outcome(client.get("/fhir/$export", headers={**patient, **ASYNC}), 403)

    status = _kick_off(client, f"/fhir/Patient/{mine}/$export", patient)
    manifest = _finish(client, runtime, status, patient)
    ids = {r["id"] for item in manifest["output"] for r in _download(client, item["url"], patient)}
    assert ids == {mine, *stored[mine].values()}


def test_restricted_records_stay_out_of_an_integration_export(
    runtime: Runtime, client: TestClient
) -> None:
    stored = _patients(runtime, 2)
    hidden, shown = list(stored)
    restrict_compartment(runtime, SYSTEM, hidden, "vip")
    feed = _integration(runtime)
    status = _kick_off(client, "/fhir/Patient/$export", feed)
    manifest = _finish(client, runtime, status, feed)
    exported = {r["id"] for i in manifest["output"] for r in _download(client, i["url"], feed)}
    assert exported == {shown, *stored[shown].values()}
    outcome(client.get(f"/fhir/Patient/{hidden}/$export", headers={**feed, **ASYNC}), 403)


def test_nobody_else_sees_the_status_or_the_files(runtime: Runtime, client: TestClient) -> None:
    _patients(runtime, 1)
    feed = _integration(runtime)
    other = _integration(runtime, "other-feed@clinic.example")
    status = _kick_off(client, "/fhir/Patient/$export", feed)
    manifest = _finish(client, runtime, status, feed)
    url = manifest["output"][0]["url"].removeprefix("http://127.0.0.1:8000")

    outcome(client.get(status, headers=other), 404)
    outcome(client.delete(status, headers=other), 404)
    outcome(client.get(url, headers=other), 404)
    assert client.get(url).status_code == 401  # no token at all
    forged = url.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    outcome(client.get(forged, headers=feed), 404)
    assert client.get(url, headers=feed).status_code == 200  # still there for its owner


def test_cancel_deletes_the_files_and_ends_the_export(runtime: Runtime, client: TestClient) -> None:
    _patients(runtime, 2)
    feed = _integration(runtime)
    running = _kick_off(client, "/fhir/Patient/$export", feed)
    outcome(client.delete(running, headers=feed), 202)
    outcome(client.get(running, headers=feed), 404)
    run_jobs(runtime)  # the queued task finds the export cancelled and writes nothing
    assert _files(runtime) == 0

    done = _kick_off(client, "/fhir/Patient/$export", feed)
    manifest = _finish(client, runtime, done, feed)
    assert _files(runtime) == len(manifest["output"])
    outcome(client.delete(done, headers=feed), 202)
    assert _files(runtime) == 0
    url = manifest["output"][0]["url"].removeprefix("http://127.0.0.1:8000")
    outcome(client.get(url, headers=feed), 404)
    assert [e.action for e in _audit(runtime, "records:export:cancelled")] == [
        "records:export:cancelled"
    ] * 2


def _files(runtime: Runtime) -> int:
    with runtime.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(BulkExportFile)) or 0)


def test_files_expire_and_the_sweep_deletes_them(
    runtime: Runtime, client: TestClient, clock: FrozenClock
) -> None:
    _patients(runtime, 1)
    feed = _integration(runtime)
    status = _kick_off(client, "/fhir/Patient/$export", feed)
    manifest = _finish(client, runtime, status, feed)
    url = manifest["output"][0]["url"].removeprefix("http://127.0.0.1:8000")
    sweep = "records.bulk_export.sweep"

    clock.advance(minutes=59)
    assert client.get(url, headers=feed).status_code == 200
    run = run_now(runtime, job_registry(), sweep, worker="t", requested_by=Caller.cli())
    assert run.ok
    assert _files(runtime) == len(manifest["output"])

    clock.advance(minutes=2)  # past the default hour
    outcome(client.get(status, headers=feed), 404)
    outcome(client.get(url, headers=feed), 404)
    run = run_now(runtime, job_registry(), sweep, worker="t", requested_by=Caller.cli())
    assert run.ok, run.error
    assert run.summary == f"deleted {len(manifest['output'])} file(s) of 1 finished export(s)"
    assert _files(runtime) == 0


def test_files_are_sealed_at_rest(runtime: Runtime, client: TestClient) -> None:
    patient = fhir_resource("Patient", "sealed", name=[{"family": "Quetzalcoatlus"}])
    create_resource(runtime, SYSTEM, patient)
    feed = _integration(runtime)
    status = _kick_off(client, "/fhir/Patient/$export", feed)
    manifest = _finish(client, runtime, status, feed)
    (item,) = manifest["output"]
    assert "Quetzalcoatlus" in json.dumps(_download(client, item["url"], feed))
    with runtime.db.sessions() as session:
        (sealed,) = session.scalars(select(BulkExportFile.ciphertext))
    assert b"Quetzalcoatlus" not in sealed
    assert b"resourceType" not in sealed


def test_an_admin_exports_from_a_fresh_session_and_gets_only_what_admins_read(
    runtime: Runtime, client: TestClient, clock: FrozenClock
) -> None:
    _patients(runtime, 2)
    practitioner = fhir_resource("Practitioner", "")
    create_resource(runtime, SYSTEM, practitioner)
    sign_in_admin(client, runtime)  # a second factor just now: stepped up
    refused = outcome(client.get("/fhir/$export?_type=Patient", headers=ASYNC), 403)
    assert "Patient" in refused["issue"][0]["diagnostics"]  # the matrix: no PHI for admins

    status = _kick_off(client, "/fhir/$export", {})
    manifest = _finish(client, runtime, status, {})
    exported = {r["id"] for i in manifest["output"] for r in _download(client, i["url"], {})}
    assert exported == {practitioner["id"]}

    clock.advance(minutes=6)  # the second factor is no longer fresh (5 minutes)
    stale = outcome(client.get("/fhir/$export", headers=ASYNC), 403)
    assert "step-up" in stale["issue"][0]["diagnostics"]


def test_the_capability_statement_advertises_the_export_operations(client: TestClient) -> None:
    statement = client.get("/fhir/metadata", headers={"Accept": "application/fhir+json"}).json()
    CapabilityStatement.model_validate(statement)
    rest = statement["rest"][0]
    assert [o["definition"] for o in rest["operation"]] == [
        "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
    ]
    (patient,) = [r for r in rest["resource"] if r["type"] == "Patient"]
    assert patient["operation"][0]["definition"].endswith("/patient-export")
    assert (
        "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"
        in (statement["instantiates"])
    )


def test_an_export_refused_mid_way_fails_with_its_reason(
    runtime: Runtime, client: TestClient
) -> None:
    stored = _patients(runtime, 1)
    (patient_id,) = stored
    feed = _integration(runtime)
    status = _kick_off(client, f"/fhir/Patient/{patient_id}/$export", feed)
    restrict_compartment(runtime, SYSTEM, patient_id, "vip")  # before the task reads it
    run_jobs(runtime)
    failed = outcome(client.get(status, headers=feed), 422)
    assert "restricted" in failed["issue"][0]["diagnostics"]
    assert [e.action for e in _audit(runtime, "records:export:failed")] == ["records:export:failed"]
    assert _files(runtime) == 0


def test_an_export_that_never_finishes_is_failed_by_the_sweep(
    runtime: Runtime, client: TestClient, clock: FrozenClock
) -> None:
    _patients(runtime, 1)
    feed = _integration(runtime)
    status = _kick_off(client, "/fhir/Patient/$export", feed)  # no worker ever runs it
    sweep = "records.bulk_export.sweep"
    clock.advance(hours=25)
    run = run_now(runtime, job_registry(), sweep, worker="t", requested_by=Caller.cli())
    assert run.summary is not None
    assert "1 export(s) that never finished failed" in run.summary
    outcome(client.get(status, headers=feed), 422)
    run_jobs(runtime)  # the task, if it ever runs, leaves the failed export alone
    outcome(client.get(status, headers=feed), 422)
    clock.advance(hours=2)  # past its retention
    outcome(client.get(status, headers=feed), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/bulkstatus/not-an-export",
        "/fhir/bulkstatus/" + "f" * 300,
        "/fhir/bulkfiles/00000000-0000-0000-0000-000000000000/x" + "%20" * 3,
        "/fhir/bulkfiles/00000000-0000-0000-0000-000000000000/%C3%A9",
    ],
)
def test_odd_export_ids_are_not_found_not_a_crash(
    runtime: Runtime, client: TestClient, path: str
) -> None:
    feed = _integration(runtime)
    outcome(client.get(path, headers=feed), 404)
    if path.startswith("/fhir/bulkstatus/"):
        outcome(client.delete(path, headers=feed), 404)


def test_a_patient_exports_from_the_portal_session(runtime: Runtime, client: TestClient) -> None:
    stored = _patients(runtime, 1)
    (mine,) = stored
    signed_in(client, runtime, make_user(runtime, "pat@clinic.example", Role.PATIENT, mine))
    status = _kick_off(client, f"/fhir/Patient/{mine}/$export", {})
    manifest = _finish(client, runtime, status, {})
    ids = {r["id"] for item in manifest["output"] for r in _download(client, item["url"], {})}
    assert ids == {mine, *stored[mine].values()}
