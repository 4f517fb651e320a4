"""Staff patient pages through HTTP: search, chart per role, edits, vitals, notes, break-glass."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import notices, queries
from carewall.records.services import create_resource
from carewall.registry import create_app
from tests.support.audit import patient_entries
from tests.support.clock import clock_moved
from tests.support.factories import fhir_resource, make_admin, make_user
from tests.support.signin import post_form, sign_in_user, signed_in, totp_code

SYSTEM = Caller.cli("test")
FAMILY, GIVEN, BORN = "Quenneville", "Harriet", "1961-07-14"
BP = {"coding": [{"system": "http://loinc.org", "code": "85354-9"}], "text": "Blood pressure"}


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime)


@pytest.fixture
def patient(runtime: Runtime) -> str:
    """A patient with one resource of each chart section, and two blood pressures."""
    pid = str(uuid.uuid4())
    identifier = [{"system": "urn:mrn", "value": "MRN-4471"}]
    name = [{"use": "official", "family": FAMILY, "given": [GIVEN]}]
    create_resource(
        runtime,
        SYSTEM,
        fhir_resource("Patient", pid, name=name, birthDate=BORN, identifier=identifier),
    )
    extras = {
        "Condition": {"code": {"text": "Essential hypertension"}},
        "AllergyIntolerance": {"code": {"text": "Penicillin allergy"}},
        "MedicationRequest": {"medicationCodeableConcept": {"text": "Lisinopril 10 mg"}},
        "Encounter": {"type": [{"text": "General examination"}]},
        "DocumentReference": {"description": "Discharge letter"},
        "Coverage": {"type": {"text": "Blue Meadow Health Plan"}},
    }
    for resource_type, extra in extras.items():
        create_resource(runtime, SYSTEM, fhir_resource(resource_type, pid, **extra))
    for day, (high, low) in {"2024-01-02": (150, 95), "2024-03-04": (132, 84)}.items():
        components = [
            _component("8480-6", high),
            _component("8462-4", low),
        ]
        obs = fhir_resource(
            "Observation", pid, code=BP, component=components, effectiveDateTime=day
        )
        create_resource(runtime, SYSTEM, obs)
    return pid


def _component(code: str, value: int) -> dict[str, object]:
    coding = {"coding": [{"system": "http://loinc.org", "code": code}]}
    return {"code": coding, "valueQuantity": {"value": value, "unit": "mm[Hg]"}}


@pytest.fixture
def people(app: FastAPI, runtime: Runtime) -> Iterator[dict[str, tuple[TestClient, str]]]:
    """A signed-in browser (and TOTP secret) per staff role."""
    clients: dict[str, tuple[TestClient, str]] = {}
    for role in ("clinician", "front_desk", "billing", "auditor"):
        client = TestClient(app)
        clients[role] = (client, sign_in_user(client, runtime, f"{role}@clinic.example", role))
    yield clients
    for client, _ in clients.values():
        client.close()


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return match.group(1)


def test_search_by_name_and_birth_date_keeps_phi_out_of_urls_and_titles(
    people: dict[str, tuple[TestClient, str]], patient: str
) -> None:
    client, _ = people["front_desk"]
    assert _title(client.get("/patients").text).startswith("Patients")
    found = post_form(client, "/patients/search", {"family": FAMILY.lower(), "birthdate": BORN})
    assert found.status_code == 200
    assert f'href="/patients/{patient}"' in found.text
    assert GIVEN in found.text
    assert "MRN-4471" in found.text
    assert FAMILY not in _title(found.text)
    assert GIVEN not in _title(found.text)
    assert str(found.url).endswith("/patients/search")  # values travelled in the body
    by_id = post_form(client, "/patients/search", {"identifier": "urn:mrn|MRN-4471"})
    assert f'href="/patients/{patient}"' in by_id.text
    missing = post_form(client, "/patients/search", {"family": FAMILY, "birthdate": "1961-07-15"})
    assert 'id="no-results"' in missing.text
    by_prefix = post_form(client, "/patients/search", {"family": FAMILY[:4]})
    assert f'href="/patients/{patient}"' in by_prefix.text
    too_short = post_form(client, "/patients/search", {"family": "Q"})
    assert too_short.status_code == 422
    assert "at least 2 letters" in too_short.text
    nothing = post_form(client, "/patients/search", {})
    assert nothing.status_code == 422
    assert "at least one of" in nothing.text


def test_chart_shows_the_sections_each_role_may_read(
    app: FastAPI, runtime: Runtime, people: dict[str, tuple[TestClient, str]], patient: str
) -> None:
    chart = f"/patients/{patient}"
    clinician = people["clinician"][0].get(chart)
    assert clinician.status_code == 200
    assert _title(clinician.text).startswith("Patients")
    for text in ("Essential hypertension", "Penicillin allergy", "Lisinopril 10 mg"):
        assert text in clinician.text
    assert "General examination" in clinician.text
    assert "Discharge letter" in clinician.text
    assert 'id="trend-blood-pressure"' in clinician.text
    assert "<polyline" in clinician.text
    assert "132/84 mm[Hg]" in clinician.text
    assert 'id="not-for-role"' not in clinician.text  # Coverage is simply left out
    assert 'href="#add-vital"' not in clinician.text  # the forms sit right under the header
    assert clinician.text.index('id="add-vital"') < clinician.text.index('id="problems"')
    front = people["front_desk"][0].get(chart).text
    assert GIVEN in front
    assert "Blue Meadow Health Plan" in front
    assert "Essential hypertension" not in front
    assert "General examination" not in front
    # Six sections the front desk may not read: one line says so, no empty cards.
    assert front.count('id="not-for-role"') == 1
    assert 'id="problems-h"' not in front
    assert 'id="coverage-h"' in front
    billing = people["billing"][0].get(chart).text
    assert "General examination" in billing
    assert "Blue Meadow Health Plan" in billing
    assert "Essential hypertension" not in billing
    assert "Discharge letter" not in billing
    assert people["auditor"][0].get(chart).status_code == 403
    assert billing.count('id="not-for-role"') == 1
    assert 'id="encounters-h"' in billing
    assert 'id="documents-h"' not in billing
    with TestClient(app) as admin:
        signed_in(admin, runtime, make_admin(runtime))
        refused = admin.get(chart)
        assert refused.status_code == 403
        assert GIVEN not in refused.text
    with TestClient(app) as own:
        signed_in(own, runtime, make_user(runtime, "pat@clinic.example", "patient", patient))
        assert own.get(chart).status_code == 403  # patients use the portal, not the chart


def test_demographics_edit_is_validated_and_refuses_a_stale_form(
    runtime: Runtime, people: dict[str, tuple[TestClient, str]], patient: str
) -> None:
    client, _ = people["front_desk"]
    form = client.get(f"/patients/{patient}/demographics")
    assert form.status_code == 200
    assert 'name="version" value="1"' in form.text
    fields = {"version": "1", "family": FAMILY, "given": GIVEN, "phone": "+1 555 0100"}
    bad = post_form(client, f"/patients/{patient}/demographics", {**fields, "email": "nope"})
    assert bad.status_code == 422
    assert "Email: enter an address" in bad.text
    empty = post_form(client, f"/patients/{patient}/demographics", {**fields, "family": ""})
    assert empty.status_code == 422
    assert "Family name is required" in empty.text
    saved = post_form(client, f"/patients/{patient}/demographics", fields)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/patients/{patient}"
    assert "+1 555 0100" in client.get(f"/patients/{patient}").text
    stale = post_form(client, f"/patients/{patient}/demographics", {**fields, "phone": "555 0199"})
    assert stale.status_code == 412
    assert "Someone else changed this record" in stale.text
    assert 'name="version" value="2"' in stale.text  # the form now carries their version


def test_clinician_adds_a_vital_sign_and_a_note(
    people: dict[str, tuple[TestClient, str]], patient: str
) -> None:
    client, _ = people["clinician"]
    vital = {"kind": "blood-pressure", "value": "118/76", "date": "2024-05-06"}
    added = post_form(client, f"/patients/{patient}/observations", vital)
    assert added.status_code == 303
    chart = client.get(f"/patients/{patient}").text
    assert "118/76 mm[Hg]" in chart
    assert "3 reading(s)" in chart
    wrong = post_form(client, f"/patients/{patient}/observations", {**vital, "value": "118"})
    assert "enter 120/80" in client.get(wrong.headers["location"]).text
    future = post_form(client, f"/patients/{patient}/observations", {**vital, "date": "2999-01-01"})
    assert "cannot be in the future" in client.get(future.headers["location"]).text
    note = {"title": "Phone follow-up", "text": "Feeling better; keep the current dose."}
    assert post_form(client, f"/patients/{patient}/notes", note).status_code == 303
    assert "Phone follow-up" in client.get(f"/patients/{patient}").text
    long = post_form(client, f"/patients/{patient}/notes", {**note, "text": "x" * 20_001})
    assert "longer than 20,000" in client.get(long.headers["location"]).text
    front, _ = people["front_desk"]
    assert post_form(front, f"/patients/{patient}/notes", note).status_code == 403


def test_break_glass_needs_step_up_opens_the_record_and_is_audited(
    app: FastAPI, runtime: Runtime, people: dict[str, tuple[TestClient, str]], patient: str
) -> None:
    make_admin(runtime)
    client, secret = people["clinician"]
    chart = f"/patients/{patient}"
    assert (
        post_form(client, f"{chart}/restrict", {"reason": "vip", "confirm": "yes"}).status_code
        == 303
    )
    screen = client.get(chart)
    assert screen.status_code == 403
    assert "Restricted record" in screen.text
    assert GIVEN not in screen.text
    assert "Essential hypertension" not in screen.text
    assert people["front_desk"][0].get(chart).status_code == 403
    with clock_moved(minutes=10):
        asked = post_form(client, f"{chart}/break-glass", {"reason": "emergency"})
        # The form waits for the confirmation (test_step_up_resume.py follows that path).
        assert asked.headers["location"].startswith("/account/reauth?next=/account/resume/")
        assert "Confirm it is you" in client.get(f"{chart}/break-glass").text
        confirmed = post_form(
            client, "/account/reauth", {"code": totp_code(secret), "next": f"{chart}/break-glass"}
        )
        assert confirmed.headers["location"] == f"{chart}/break-glass"
        assert "give the reason" in client.get(f"{chart}/break-glass").text
        vague = post_form(client, f"{chart}/break-glass", {"reason": "other"})
        assert vague.headers["location"] == f"{chart}/break-glass"
        opened = post_form(client, f"{chart}/break-glass", {"reason": "emergency"})
        assert opened.headers["location"] == chart
        page = client.get(chart)
        assert page.status_code == 200
        assert "Essential hypertension" in page.text
        assert "Emergency access active until" in page.text
        assert "every view is recorded" in page.text
        assert "Emergency access active until" in client.get(f"{chart}/demographics").text
        stopped = post_form(client, f"{chart}/break-glass/stop")
        assert stopped.headers["location"] == "/patients"
        assert client.get(chart).status_code == 403
    with runtime.db.sessions() as session:
        admin_id = queries.user_id_for_email(session, "admin@clinic.example")
        assert admin_id is not None
        alerts = [n.message for n in notices.unread(session, admin_id)]
        tags = ("records:emergency:started", "records:emergency:stopped")
        entries = patient_entries(session, runtime, patient, tags)
    assert alerts == [
        "Emergency access to a restricted record by clinician@clinic.example; "
        "review it in the audit trail."
    ]
    assert sorted(e.action for e in entries) == sorted(tags)
    assert {e.details["code"] for e in entries} == {"110127", "110138"}


def test_restricting_a_record_needs_a_recent_second_factor(
    runtime: Runtime, people: dict[str, tuple[TestClient, str]], patient: str
) -> None:
    client, _ = people["clinician"]
    with clock_moved(minutes=10):
        asked = post_form(
            client, f"/patients/{patient}/restrict", {"reason": "vip", "confirm": "yes"}
        )
        assert asked.headers["location"].startswith("/account/reauth")
    assert client.get(f"/patients/{patient}").status_code == 200
    assert people["billing"][0].post(f"/patients/{patient}/restrict").status_code == 403
