"""The patient portal: own record only, downloads, "Who has looked at my record", flagging."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import Runtime, open_runtime
from carewall.identity import Role, notices, queries
from carewall.records import Purpose, RecordsTag
from carewall.records.access import get_record_for, search_for
from carewall.records.access.break_glass import start_break_glass
from carewall.records.services import create_resource
from carewall.records.tags import PortalTag
from carewall.registry import create_app
from tests.support.audit import patient_entries
from tests.support.factories import fhir_resource, make_admin, make_user
from tests.support.signin import post, signed_in

SYSTEM = Caller.cli("test")


def _patient(runtime: Runtime, pid: str, family: str, result: str) -> None:
    create_resource(runtime, SYSTEM, fhir_resource("Patient", pid, name=[{"family": family}]))
    obs = fhir_resource(
        "Observation", pid, code={"text": result}, valueQuantity={"value": 5.5, "unit": "mmol/L"}
    )
    create_resource(runtime, SYSTEM, obs)


def _staff(runtime: Runtime, email: str, role: Role) -> Caller:
    make_user(runtime, email, role.value)
    with runtime.db.sessions() as session:
        uid = queries.user_id_for_email(session, email)
    return Caller.for_user(uid, role=role, session_id=uid)


@pytest.fixture
def portal(runtime: Runtime) -> Iterator[TestClient]:
    _patient(runtime, "pa", "Quillfeather", "Glucose Alpha")
    _patient(runtime, "pb", "Bramblewick", "Cholesterol Beta")
    make_admin(runtime)
    person = make_user(runtime, "pat@example.org", "patient", patient_id="pa")
    with TestClient(create_app(runtime)) as client:
        signed_in(client, runtime, person)
        yield client


def test_portal_shows_only_own_record(portal: TestClient) -> None:
    page = portal.get("/portal")
    assert page.status_code == 200
    assert "Quillfeather" in page.text
    assert "Glucose Alpha" in page.text
    assert "5.5 mmol/L" in page.text
    assert "Bramblewick" not in page.text
    assert "Cholesterol Beta" not in page.text
    assert "Quillfeather" not in re.search(r"<title>(.*?)</title>", page.text, re.S).group(1)  # type: ignore[union-attr]


def test_downloads_are_own_and_audited(portal: TestClient, runtime: Runtime) -> None:
    raw = portal.get("/portal/download.json")
    assert raw.status_code == 200
    assert "attachment" in raw.headers["content-disposition"]
    bundle = json.loads(raw.text)
    ids = {e["resource"]["id"] for e in bundle["entry"]}
    assert "pa" in ids
    assert "pb" not in ids
    assert "Bramblewick" not in raw.text
    html = portal.get("/portal/download.html")
    assert html.status_code == 200
    assert "attachment" in html.headers["content-disposition"]
    assert "Glucose Alpha" in html.text
    assert "Cholesterol Beta" not in html.text
    with runtime.db.sessions() as session:
        exports = patient_entries(session, runtime, "pa", [RecordsTag.EXPORT_COMPLETED])
    assert len(exports) == 2


def test_unlinked_account_gets_friendly_page(runtime: Runtime, client: TestClient) -> None:
    person = make_user(runtime, "nolink@example.org", "patient", patient_id="not-stored")
    signed_in(client, runtime, person)
    assert "not linked to a health record yet" in client.get("/portal").text


def test_access_list_shows_staff_reads_hides_own(portal: TestClient, runtime: Runtime) -> None:
    nurse = _staff(runtime, "nurse@clinic.example", Role.CLINICIAN)
    get_record_for(runtime, nurse, "Patient", "pa", Purpose.TREATMENT)
    search_for(runtime, nurse, "Observation", {"patient": ["pa"]}, Purpose.TREATMENT)
    biller = _staff(runtime, "billing@clinic.example", Role.BILLING)
    get_record_for(runtime, biller, "Patient", "pb", Purpose.PAYMENT)  # another patient
    portal.get("/portal")  # the patient's own reads
    page = portal.get("/portal/access").text
    staff = page.split('id="staff-h"')[1].split("</section>")[0]
    assert "Clinician: nurse@clinic.example" in staff
    assert "Demographics information" in staff
    assert "Clinical information" in staff
    assert "Your care" in staff
    assert "billing@clinic.example" not in page
    assert "Emergency access" not in staff
    assert "pat@example.org" not in staff
    assert "Your own request" not in staff
    assert 'id="own-h"' in page


def test_break_glass_highlighted(portal: TestClient, runtime: Runtime) -> None:
    doc = _staff(runtime, "doc@clinic.example", Role.CLINICIAN)
    start_break_glass(runtime, doc, "pa", "emergency", "unconscious", minutes=30)
    get_record_for(runtime, doc, "Patient", "pa", Purpose.TREATMENT)
    staff = portal.get("/portal/access").text.split('id="staff-h"')[1].split("</section>")[0]
    assert "Emergency access" in staff


def test_staff_names_can_be_hidden(runtime: Runtime, settings: Settings) -> None:
    _patient(runtime, "pc", "Hidden", "X")
    nurse = _staff(runtime, "nurse2@clinic.example", Role.CLINICIAN)
    get_record_for(runtime, nurse, "Patient", "pc", Purpose.TREATMENT)
    person = make_user(runtime, "pc@example.org", "patient", patient_id="pc")
    hidden = open_runtime(settings.model_copy(update={"portal_show_staff_names": False}))
    with TestClient(create_app(hidden)) as client:
        signed_in(client, hidden, person)
        page = client.get("/portal/access").text
    hidden.close()
    assert "Clinician" in page
    assert "nurse2@clinic.example" not in page


def test_flagging_alerts_officer_and_refuses_foreign_entries(
    portal: TestClient, runtime: Runtime
) -> None:
    nurse = _staff(runtime, "nurse@clinic.example", Role.CLINICIAN)
    get_record_for(runtime, nurse, "Patient", "pa", Purpose.TREATMENT)
    get_record_for(runtime, nurse, "Patient", "pb", Purpose.TREATMENT)
    with runtime.db.sessions() as session:
        mine = patient_entries(session, runtime, "pa", [RecordsTag.RESOURCE_READ])[0].seq
        theirs = patient_entries(session, runtime, "pb", [RecordsTag.RESOURCE_READ])[0].seq
    assert re.search(rf'action="/portal/access/{mine}/flag"', portal.get("/portal/access").text)
    refused = post(portal, f"/portal/access/{theirs}/flag", {"comment": ""})
    assert refused.status_code == 404
    done = post(
        portal,
        f"/portal/access/{mine}/flag",
        {"comment": "I was on holiday"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with runtime.db.sessions() as session:
        flags = patient_entries(session, runtime, "pa", [PortalTag.ACCESS_FLAGGED])
        admin = queries.user_id_for_email(session, "admin@clinic.example")
        assert admin is not None
        alerts = [n.message for n in notices.unread(session, admin)]
    assert len(flags) == 1
    assert flags[0].details["flagged_seq"] == mine
    assert "holiday" not in json.dumps(flags[0].details)
    assert any(f"#{mine}" in m for m in alerts)
    assert not any("holiday" in m for m in alerts)
