"""Detectors and alerts through HTTP: a snooping token, a mass delete stopped, the workflow.

Detectors run as the job does (`alerts.engine.scan`); everything else goes
through the FHIR API, the JSON API and the admin pages as a client would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carewall.alerts.engine import scan
from carewall.alerts.masschange import on_record_changed
from carewall.alerts.queries import AlertFilter, list_alerts
from carewall.alerts.services import send_digest
from carewall.audit import entries_with_action
from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import Role, apitokens, queries, suspensions
from carewall.jobs import run_now
from carewall.records import RecordChanged
from carewall.records.services import create_resource
from carewall.registry import create_app, job_registry
from tests.support.factories import fhir_resource, make_admin, make_user
from tests.support.mail import Inbox, smtp_inbox
from tests.support.signin import post_form, sign_in_admin

SYSTEM = Caller.cli("test")
FHIR = {"Accept": "application/fhir+json"}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """No in-process job runner: each test runs the detectors when it means to."""
    return Settings(home=tmp_path / "home", database_url=database_url, jobs_in_process=False)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as test_client:
        yield test_client


def _token(runtime: Runtime, email: str, role: Role, scopes: list[str]) -> dict[str, str]:
    make_user(runtime, email, str(role))
    with runtime.db.sessions() as session:
        user_id = queries.user_id_for_email(session, email)
    assert user_id is not None
    secret, _ = apitokens.create_token(runtime, Caller.cli(), user_id, "test", scopes)
    return {"Authorization": f"Bearer {secret}", **FHIR}


def _user_ref(runtime: Runtime, email: str) -> str:
    with runtime.db.sessions() as session:
        return f"user:{queries.user_id_for_email(session, email)}"


def _patients(runtime: Runtime, count: int) -> list[str]:
    ids = []
    for index in range(count):
        pid = f"p-{index:03d}"
        create_resource(runtime, SYSTEM, fhir_resource("Patient", pid))
        ids.append(pid)
    return ids


def _alerts(client: TestClient, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/alerts", headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def test_a_token_reading_many_unrelated_patients_raises_a_volume_alert(
    runtime: Runtime, client: TestClient
) -> None:
    patients = _patients(runtime, 25)
    snoop = _token(runtime, "snoop@clinic.example", Role.CLINICIAN, ["fhir:read"])
    admin = _token(runtime, "officer@clinic.example", Role.ADMIN, ["api:read"])
    for pid in patients:
        assert client.get(f"/fhir/Patient/{pid}", headers=snoop).status_code == 200

    # As the job runner runs it (every 30 s by default).
    run = run_now(
        runtime, job_registry(), "alerts.detectors.run", worker="t", requested_by=Caller.cli()
    )
    assert run.ok, run.error
    assert run.summary is not None
    assert "alert(s) opened" in run.summary

    found = _alerts(client, admin, detector="volume")
    assert len(found) == 1
    alert = found[0]
    assert {"id", "detector", "severity", "status", "user", "created"} <= alert.keys()
    assert alert["user"] == _user_ref(runtime, "snoop@clinic.example")
    assert (alert["severity"], alert["status"]) == ("high", "open")
    # None of these patients has a care relationship with the clinician either.
    assert _alerts(client, admin, detector="no_care")
    # A second run reads nothing new and opens nothing twice.
    again = scan(runtime, Caller.job("alerts.detectors.run"))
    assert again.opened == []
    assert len(_alerts(client, admin, detector="volume")) == 1


def test_a_clinician_with_an_encounter_is_not_alerted_for_that_patient(
    runtime: Runtime, client: TestClient
) -> None:
    (pid,) = _patients(runtime, 1)
    doctor = _token(runtime, "doc@clinic.example", Role.CLINICIAN, ["fhir:read"])
    practitioner = {
        "resourceType": "Practitioner",
        "id": "pr-doc",
        "telecom": [{"system": "email", "value": "doc@clinic.example"}],
    }
    create_resource(runtime, SYSTEM, practitioner)
    encounter = fhir_resource("Encounter", pid)
    encounter["participant"] = [{"individual": {"reference": "Practitioner/pr-doc"}}]
    create_resource(runtime, SYSTEM, encounter)
    admin = _token(runtime, "officer@clinic.example", Role.ADMIN, ["api:read"])

    assert client.get(f"/fhir/Patient/{pid}", headers=doctor).status_code == 200
    scan(runtime, Caller.job("alerts.detectors.run"))
    assert _alerts(client, admin) == []


def test_a_token_deleting_many_resources_is_suspended_and_an_admin_lifts_it(
    runtime: Runtime, client: TestClient
) -> None:
    (pid,) = _patients(runtime, 1)
    ids = []
    for _ in range(25):
        resource = fhir_resource("Observation", pid)
        create_resource(runtime, SYSTEM, resource)
        ids.append(resource["id"])
    wiper = _token(runtime, "wiper@clinic.example", Role.CLINICIAN, ["fhir:read", "fhir:write"])
    statuses = [client.delete(f"/fhir/Observation/{oid}", headers=wiper).status_code for oid in ids]
    # The 21st delete crosses the limit (20 in 60 s): it commits with the suspension,
    # and every request after it is refused.
    assert statuses[:21] == [204] * 21 or statuses[:21] == [200] * 21, statuses
    assert set(statuses[21:]) == {403}
    assert client.get(f"/fhir/Patient/{pid}", headers=wiper).status_code == 403
    # Creates never count: they destroy nothing (another token, same minute).
    with runtime.db.sessions() as session:
        refused = entries_with_action(session, ["identity:channel:refused"])
        suspended = entries_with_action(session, ["identity:channel:suspended"])
    assert len(refused) == 5
    assert len(suspended) == 1

    secret = sign_in_admin(client, runtime)
    assert secret
    admin = _token(runtime, "officer@clinic.example", Role.ADMIN, ["api:read"])
    (alert,) = _alerts(client, admin, detector="mass_change")
    assert (alert["severity"], alert["user"]) == (
        "critical",
        _user_ref(runtime, "wiper@clinic.example"),
    )
    assert len(alert["entries"]) >= 20

    page = client.get(f"/admin/alerts/{alert['id']}")
    assert page.status_code == 200
    assert "Lift the suspension" in page.text
    suspension = page.text.split('name="suspension" value="')[1].split('"')[0]
    lifted = post_form(client, f"/admin/alerts/{alert['id']}/lift", {"suspension": suspension})
    assert lifted.status_code == 303
    assert "Suspension lifted" in client.get(f"/admin/alerts/{alert['id']}").text
    after = client.get(f"/fhir/Patient/{pid}", headers=wiper)
    assert after.status_code == 200, after.text
    with runtime.db.sessions() as session:
        assert entries_with_action(session, ["identity:suspension:lifted"])


def test_creates_do_not_count_towards_mass_change(runtime: Runtime, client: TestClient) -> None:
    (pid,) = _patients(runtime, 1)
    feeder = _token(runtime, "feed@clinic.example", Role.CLINICIAN, ["fhir:read", "fhir:write"])
    for _ in range(25):
        body = fhir_resource("Observation", pid)
        del body["id"]
        response = client.post("/fhir/Observation", headers=feeder, json=body)
        assert response.status_code == 201, response.text
    assert client.get(f"/fhir/Patient/{pid}", headers=feeder).status_code == 200


def test_the_review_workflow_is_audited_and_validated(runtime: Runtime, client: TestClient) -> None:
    patients = _patients(runtime, 22)
    snoop = _token(runtime, "snoop@clinic.example", Role.CLINICIAN, ["fhir:read"])
    for pid in patients:
        client.get(f"/fhir/Patient/{pid}", headers=snoop)
    scan(runtime, Caller.job("alerts.detectors.run"))
    sign_in_admin(client, runtime)
    listing = client.get("/admin/alerts", params={"detector": "volume", "status": "open"})
    assert listing.status_code == 200
    assert 'data-detector="volume"' in listing.text
    alert_id = listing.text.split('data-alert="')[1].split('"')[0]
    detail = client.get(f"/admin/alerts/{alert_id}")
    assert detail.status_code == 200
    assert 'name="csrf_token"' in detail.text
    assert 'id="timeline"' in detail.text

    assert (
        post_form(client, f"/admin/alerts/{alert_id}/acknowledge", {"note": "looking"}).status_code
        == 303
    )
    again = post_form(client, f"/admin/alerts/{alert_id}/acknowledge", {})
    assert again.status_code == 303  # refused with a message, not an error page
    assert "Only an open alert" in client.get(f"/admin/alerts/{alert_id}").text
    bad = post_form(client, f"/admin/alerts/{alert_id}/resolve", {"resolution": "whatever"})
    assert bad.status_code == 303
    done = post_form(
        client,
        f"/admin/alerts/{alert_id}/resolve",
        {"resolution": "true_incident", "note": "confirmed with the practice manager"},
    )
    assert done.status_code == 303
    assert client.get("/admin/alerts/not-an-alert").status_code == 404
    no_csrf = client.post(f"/admin/alerts/{alert_id}/note", data={"note": "x"})
    assert no_csrf.status_code == 403

    with runtime.db.sessions() as session:
        actions = {
            e.action
            for e in entries_with_action(
                session,
                ["alerts:alert:opened", "alerts:alert:acknowledged", "alerts:alert:resolved"],
            )
        }
    assert actions == {"alerts:alert:opened", "alerts:alert:acknowledged", "alerts:alert:resolved"}
    admin = _token(runtime, "officer@clinic.example", Role.ADMIN, ["api:read"])
    (resolved,) = _alerts(client, admin, detector="volume")
    assert (resolved["status"], resolved["resolution"]) == ("resolved", "true_incident")


def test_the_api_is_for_administrators_with_api_read(runtime: Runtime, client: TestClient) -> None:
    clinician = _token(runtime, "c@clinic.example", Role.CLINICIAN, ["api:read"])
    no_scope = _token(runtime, "a@clinic.example", Role.ADMIN, ["fhir:read"])
    assert client.get("/api/v1/alerts").status_code == 401
    assert client.get("/api/v1/alerts", headers=clinician).status_code == 403
    assert client.get("/api/v1/alerts", headers=no_scope).status_code == 403


def test_cli_lists_and_resolves(
    runtime: Runtime, client: TestClient, cli_env: dict[str, str]
) -> None:
    patients = _patients(runtime, 22)
    snoop = _token(runtime, "snoop@clinic.example", Role.CLINICIAN, ["fhir:read"])
    for pid in patients:
        client.get(f"/fhir/Patient/{pid}", headers=snoop)

    def carewall(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "carewall", "alerts", *args],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert carewall("scan").returncode == 0
    listed = carewall("list", "--json")
    assert listed.returncode == 0, listed.stderr
    alerts = json.loads(listed.stdout)
    volume = [a for a in alerts if a["detector"] == "volume"]
    assert volume
    assert {"id", "detector", "severity", "status", "user", "created"} <= volume[0].keys()
    wrong = carewall("resolve", volume[0]["id"], "--as", "nonsense")
    assert wrong.returncode == 2
    assert "Traceback" not in wrong.stderr
    missing = carewall("show", "ffffffff")
    assert missing.returncode == 1
    assert "Traceback" not in missing.stderr
    ok = carewall("resolve", volume[0]["id"], "--as", "false_positive", "--note", "training")
    assert ok.returncode == 0, ok.stderr
    shown = json.loads(carewall("show", volume[0]["id"]).stdout)
    assert shown["status"] == "resolved"
    assert shown["history"][0]["kind"] == "resolved"


def test_officers_are_mailed_at_once_for_high_alerts_and_daily_for_the_rest(
    settings: Settings,
) -> None:
    def alerts_mailed(inbox: Inbox) -> list[tuple[str, str]]:
        return [
            (" ".join(str(m["Subject"]).split()), str(m["To"]))
            for m in inbox.messages
            if "invitation" not in str(m["Subject"])
        ]

    with smtp_inbox() as inbox:
        mailing = settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "smtp_starttls": False}
        )
        runtime = open_runtime(mailing)
        try:
            make_admin(runtime, "officer@clinic.example")
            with TestClient(create_app(runtime)) as client:
                patients = _patients(runtime, 22)
                snoop = _token(runtime, "snoop@clinic.example", Role.CLINICIAN, ["fhir:read"])
                for pid in patients:
                    client.get(f"/fhir/Patient/{pid}", headers=snoop)
                scan(runtime, Caller.job("alerts.detectors.run"))
                urgent = alerts_mailed(inbox)
                listed = send_digest(runtime, Caller.job("alerts.digest.send"), utcnow())
        finally:
            runtime.close()
        everything = alerts_mailed(inbox)
    assert len(urgent) == 1
    subject, to = urgent[0]
    assert subject.startswith("Carewall security alert (high): 21 distinct patients opened")
    assert to == "officer@clinic.example"
    assert listed == 1  # the medium no-care alert; the high one was mailed already
    assert len(everything) == 2
    assert "1 alert(s) to review" in everything[1][0]


def test_an_integration_feed_is_alerted_on_but_never_suspended(runtime: Runtime) -> None:
    """System feeds (the `integration` role) are the administrator's call to stop."""
    start = utcnow()
    with runtime.db.transaction() as session:
        for second in range(45):
            event = RecordChanged(
                "updated",
                "Observation",
                f"o{second}",
                "user:feed",
                "integration",
                "token:feed",
                "127.0.0.1",
                "lab-feed",
                start + timedelta(seconds=second),
            )
            on_record_changed(runtime.settings, session, event)
    assert not suspensions.is_suspended(runtime.db, "token:feed")
    with runtime.db.sessions() as session:
        found = list_alerts(session, AlertFilter(detector="mass_change"))
    assert [(a.severity, a.suspension_id) for a in found] == [
        ("critical", None)
    ]  # one alert for the day, however long it goes on
