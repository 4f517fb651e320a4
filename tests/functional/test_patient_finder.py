"""Finding patients through HTTP: partial names, any combination, pages, restricted matches,
and the officer's identity-only lookup for the access report, flags and restrictions."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.records.access.restriction import restrict_compartment
from carewall.records.services import create_resource
from carewall.registry import create_app
from tests.support.audit import patient_entries
from tests.support.factories import fhir_resource
from tests.support.signin import post_form, sign_in_admin, sign_in_user

SYSTEM = Caller.cli("test")
PEOPLE = [
    ("p-ann", "Müller", "Anna", "1980-02-03", "MRN-100", "(555) 010-2000"),
    ("p-ben", "Mulligan", "Ben", "1975-05-06", "MRN-101", "555 010 2001"),
    ("p-cat", "Miller", "Catherine", "1990-07-08", "MRN-102", "555-010-2002"),
    ("p-dov", "Okafor", "Dov", "1980-02-03", "MRN-103", "555.010.2003"),
    ("p-vip", "Mullins", "Victor", "1966-06-06", "MRN-104", "555 010 2004"),
]


def _patient(
    pid: str, family: str, given: str, born: str, mrn: str, phone: str
) -> dict[str, object]:
    return fhir_resource(
        "Patient",
        pid,
        name=[{"use": "official", "family": family, "given": [given]}],
        birthDate=born,
        identifier=[{"system": "urn:mrn", "value": mrn}],
        telecom=[{"system": "phone", "value": phone}],
        gender="unknown",
    )


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    for person in PEOPLE:
        create_resource(runtime, SYSTEM, _patient(*person))
    create_resource(
        runtime,
        SYSTEM,
        fhir_resource("Condition", "p-vip", code={"text": "Confidential diagnosis"}),
    )
    restrict_compartment(runtime, SYSTEM, "p-vip", "vip")
    return create_app(runtime)


@pytest.fixture
def staff(app: FastAPI, runtime: Runtime) -> Iterator[dict[str, TestClient]]:
    clients: dict[str, TestClient] = {}
    for role in ("clinician", "front_desk"):
        client = TestClient(app)
        sign_in_user(client, runtime, f"{role}@clinic.example", role)
        clients[role] = client
    yield clients
    for client in clients.values():
        client.close()


def _found(html: str) -> list[str]:
    """Patient ids of the result rows, restricted ones marked with a star."""
    rows = re.findall(r'<tr(?: class="restricted-row")?><th scope="row">.*?</tr>', html, re.S)
    ids = []
    for row in rows:
        opened = re.search(r'href="/patients/([\w-]+)"', row)
        glass = re.search(r'href="/patients/([\w-]+)/break-glass"', row)
        if glass:
            ids.append(glass.group(1) + "*")
        elif opened:
            ids.append(opened.group(1))
        else:
            ids.append("?*")
    return sorted(ids)


def test_names_match_by_their_beginning_alone_or_combined(staff: dict[str, TestClient]) -> None:
    desk = staff["front_desk"]
    assert _found(post_form(desk, "/patients/search", {"family": "mul"}).text) == [
        "?*",
        "p-ann",
        "p-ben",
    ], "Müller and Mulligan; Mullins is restricted and shown as such"
    assert _found(post_form(desk, "/patients/search", {"given": "cath"}).text) == ["p-cat"]
    both = post_form(desk, "/patients/search", {"family": "Mu", "given": "an"})
    assert _found(both.text) == ["p-ann"]
    born = post_form(desk, "/patients/search", {"birthdate": "1980-02-03"})
    assert _found(born.text) == ["p-ann", "p-dov"]
    assert _found(post_form(desk, "/patients/search", {"identifier": "mrn-103"}).text) == ["p-dov"]
    assert _found(post_form(desk, "/patients/search", {"phone": "555-010-2001"}).text) == ["p-ben"]
    sound = post_form(desk, "/patients/search", {"family": "Mueller", "sounds_like": "1"})
    assert _found(sound.text) == ["p-ann", "p-cat"], "Müller and Miller sound like Mueller"
    narrow = post_form(desk, "/patients/search", {"family": "mul", "birthdate": "1975-05-06"})
    assert _found(narrow.text) == ["p-ben"]
    bad = post_form(desk, "/patients/search", {"phone": "12", "birthdate": "03/02/1980"})
    assert bad.status_code == 422
    assert "Phone" in bad.text
    assert "YYYY-MM-DD" in bad.text


def test_results_page_through_every_match(runtime: Runtime, staff: dict[str, TestClient]) -> None:
    for n in range(30):
        create_resource(
            runtime,
            SYSTEM,
            _patient(f"q-{n:02}", "Quist", f"Q{n}", "2001-01-01", f"Q-{n}", "555 099 0000"),
        )
    desk = staff["front_desk"]
    first = post_form(desk, "/patients/search", {"family": "quist"})
    assert "Patients 1 to 25 of 30." in first.text
    after = re.search(r'name="after" value="([\w-]+)"', first.text)
    assert after
    second = post_form(
        desk, "/patients/search", {"family": "quist", "after": after.group(1), "shown": "25"}
    )
    assert "Patients 26 to 30 of 30." in second.text
    assert 'id="next-page"' not in second.text
    seen = set(_found(first.text)) | set(_found(second.text))
    assert seen == {f"q-{n:02}" for n in range(30)}


def _pager_fields(html: str, button: str) -> dict[str, str]:
    """The hidden fields of the pager form whose button has id `button`."""
    form = next(f for f in html.split("<form") if f'id="{button}"' in f.split("</form>")[0])
    fields = re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form.split("</form>")[0])
    return {name: value for name, value in fields if name != "csrf_token"}


def test_results_page_back_as_well_as_forward(
    runtime: Runtime, staff: dict[str, TestClient]
) -> None:
    for n in range(55):
        create_resource(
            runtime,
            SYSTEM,
            _patient(f"r-{n:02}", "Rask", f"R{n}", "2002-02-02", f"R-{n}", "555 098 0000"),
        )
    desk = staff["front_desk"]
    first = post_form(desk, "/patients/search", {"family": "rask"})
    assert 'id="previous-page"' not in first.text
    second = post_form(desk, "/patients/search", _pager_fields(first.text, "next-page"))
    third = post_form(desk, "/patients/search", _pager_fields(second.text, "next-page"))
    assert "Patients 51 to 55 of 55." in third.text
    back = post_form(desk, "/patients/search", _pager_fields(third.text, "previous-page"))
    assert "Patients 26 to 50 of 55." in back.text
    assert _found(back.text) == _found(second.text)
    start = post_form(desk, "/patients/search", _pager_fields(back.text, "previous-page"))
    assert "Patients 1 to 25 of 55." in start.text
    assert _found(start.text) == _found(first.text)
    assert 'id="previous-page"' not in start.text


def test_a_restricted_match_shows_identity_only_and_the_way_to_break_the_glass(
    runtime: Runtime, staff: dict[str, TestClient]
) -> None:
    page = post_form(staff["clinician"], "/patients/search", {"family": "mullins"})
    assert _found(page.text) == ["p-vip*"]
    assert "Mullins, Victor" in page.text
    assert "1966-06-06" in page.text
    assert "Restricted" in page.text
    assert "Request emergency access" in page.text
    assert "MRN-104" not in page.text, "identity only: no identifiers, no clinical data"
    assert "Confidential diagnosis" not in page.text
    assert staff["clinician"].get("/patients/p-vip/break-glass").status_code == 200
    desk = post_form(staff["front_desk"], "/patients/search", {"family": "mullins"})
    assert "Only a clinician can open it" in desk.text
    assert "/break-glass" not in desk.text
    with runtime.db.sessions() as session:
        entries = patient_entries(session, runtime, "p-vip", ["records:search:performed"])
    assert entries, "the patient's accounting shows the search"
    assert entries[0].details["restricted"] == 1


def test_the_officer_finds_the_patient_for_the_access_report_by_name(
    app: FastAPI, runtime: Runtime
) -> None:
    with TestClient(app) as client:
        sign_in_admin(client, runtime)
        assert 'name="csrf_token" value=""' not in client.get("/admin/access-report").text
        found = post_form(client, "/admin/access-report/find", {"family": "okaf"})
        assert 'name="csrf_token" value=""' not in found.text, "the lookup's forms carry the token"
        assert found.status_code == 200
        assert "Okafor, Dov" in found.text
        assert "MRN-103" in found.text
        assert 'name="patient_id" value="p-dov"' in found.text
        vip = post_form(client, "/admin/access-report/find", {"given": "vic"})
        assert "Mullins, Victor" in vip.text, "the lookup finds restricted records too"
        assert "Confidential diagnosis" not in vip.text
        report = post_form(client, "/admin/access-report", {"patient_id": "p-dov"})
        assert "to the record of Okafor, Dov, born 1980-02-03" in report.text
        assert post_form(client, "/admin/access-report/find", {}).status_code == 422
    with runtime.db.sessions() as session:
        lookups = patient_entries(session, runtime, "p-dov", ["records:patient:looked-up"])
    assert len(lookups) >= 2, "the lookup itself is audited under the patient"


def test_the_lookup_is_for_the_officer_and_auditors_only(
    staff: dict[str, TestClient],
) -> None:
    refused = post_form(staff["clinician"], "/admin/access-report/find", {"family": "okaf"})
    assert refused.status_code == 403


def test_the_officer_lists_restrictions_and_grants_and_lifts_one(
    app: FastAPI, runtime: Runtime, staff: dict[str, TestClient]
) -> None:
    with TestClient(app) as client:
        sign_in_admin(client, runtime)
        page = client.get("/admin/restricted")
        assert page.status_code == 200
        assert "Mullins, Victor" in page.text
        assert "vip" in page.text
        assert "Confidential diagnosis" not in page.text
        unconfirmed = post_form(client, "/admin/restricted/p-vip/lift", {})
        assert unconfirmed.status_code == 303
        assert "Mullins, Victor" in client.get("/admin/restricted").text
        lifted = post_form(client, "/admin/restricted/p-vip/lift", {"confirm": "yes"})
        assert lifted.status_code == 303
        assert "No record is restricted." in client.get("/admin/restricted").text
        again = post_form(client, "/admin/restricted/p-vip/lift", {"confirm": "yes"})
        assert again.status_code == 303
    assert staff["front_desk"].get("/patients/p-vip").status_code == 200
    assert staff["front_desk"].get("/admin/restricted").status_code == 403
    with runtime.db.sessions() as session:
        lifts = patient_entries(session, runtime, "p-vip", ["records:compartment:unrestricted"])
    assert len(lifts) == 1
