"""Users through HTTP: edit name and role, the last administrator, search and filter the list,
and linking a patient account to a record chosen through the lookup."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from carewall.audit import entries_with_action
from carewall.core.context import Caller
from carewall.core.runtime import Runtime
from carewall.identity import links, queries
from carewall.records.access.restriction import restrict_compartment
from carewall.records.services import create_resource
from carewall.registry import create_app
from tests.support.cli import carewall
from tests.support.factories import ADMIN_EMAIL, fhir_resource, make_user
from tests.support.signin import post_form, sign_in_admin, sign_in_user

SYSTEM = Caller.cli("test")


@pytest.fixture
def admin(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as client:
        sign_in_admin(client, runtime)
        yield client


def _id(runtime: Runtime, email: str) -> str:
    with runtime.db.sessions() as session:
        uid = queries.user_id_for_email(session, email)
    assert uid
    return uid


def _emails(html: str) -> list[str]:
    return re.findall(r'<tr data-email="([^"]+)">', html)


def test_edit_name_and_role_and_keep_the_last_admin(runtime: Runtime, admin: TestClient) -> None:
    nurse_browser = TestClient(create_app(runtime))
    sign_in_user(nurse_browser, runtime, "nurse@example.org", "clinician")
    assert nurse_browser.get("/patients").status_code == 200
    nurse = _id(runtime, "nurse@example.org")
    page = admin.get(f"/admin/users/{nurse}")
    assert page.status_code == 200
    assert 'for="edit-role"' in page.text
    saved = post_form(admin, f"/admin/users/{nurse}", {"name": "Noor Haddad", "role": "front_desk"})
    assert saved.status_code == 303
    with runtime.db.sessions() as session:
        row = next(u for u in queries.users_overview(session) if u.id == nurse)
        updated = entries_with_action(session, ["identity:user:updated"])
    assert (row.display_name, row.role.value) == ("Noor Haddad", "front_desk")
    assert updated[0].details["changed"] == ["name", "role"]
    assert updated[0].details["previous_role"] == "clinician"
    assert updated[0].details["sessions"] == 1
    assert "/login" in str(nurse_browser.get("/patients").url), "a new role: sign in again"
    nurse_browser.close()
    me = _id(runtime, ADMIN_EMAIL)
    demoted = post_form(admin, f"/admin/users/{me}", {"name": "", "role": "auditor"})
    assert demoted.status_code == 422
    assert "last active administrator" in demoted.text
    to_patient = post_form(admin, f"/admin/users/{nurse}", {"name": "x", "role": "patient"})
    assert to_patient.status_code == 422
    bogus = post_form(admin, f"/admin/users/{nurse}", {"name": "x", "role": "owner"})
    assert bogus.status_code == 422
    assert admin.get("/admin/users/no-such-user").status_code == 404


def test_search_and_filter_the_user_list(runtime: Runtime, admin: TestClient) -> None:
    make_user(runtime, "nurse@example.org", "clinician")
    make_user(runtime, "desk@example.org", "front_desk")
    assert set(_emails(admin.get("/admin/users").text)) >= {
        "nurse@example.org",
        "desk@example.org",
    }
    assert _emails(admin.get("/admin/users?q=NURSE").text) == ["nurse@example.org"]
    assert _emails(admin.get("/admin/users?role=front_desk").text) == ["desk@example.org"]
    assert _emails(admin.get("/admin/users?q=%25").text) == [], "% is a character, not a wildcard"
    both = admin.get("/admin/users?role=clinician&status=active")
    assert _emails(both.text) == ["nurse@example.org"]
    assert "1 of 3 accounts match." in both.text


def test_link_a_patient_account_to_a_record_chosen_by_lookup(
    runtime: Runtime, admin: TestClient
) -> None:
    for pid, family in (("p-first", "Ashby"), ("p-right", "Ashworth")):
        name = [{"family": family, "given": ["Rae"]}]
        create_resource(runtime, SYSTEM, fhir_resource("Patient", pid, name=name))
    unknown = post_form(
        admin,
        "/admin/users",
        {"email": "rae@example.org", "role": "patient", "patient_id": "no-such-record"},
    )
    assert unknown.status_code == 422
    assert "No patient record has that id" in unknown.text
    make_user(runtime, "rae@example.org", "patient", patient_id="p-first")
    rae = _id(runtime, "rae@example.org")
    page = admin.get(f"/admin/users/{rae}")
    assert "Linked to the record of" in page.text
    assert "Ashby, Rae" in page.text
    found = post_form(admin, f"/admin/users/{rae}/patient/find", {"family": "ashw"})
    assert 'name="patient_id" value="p-right"' in found.text
    assert 'value="p-first"' not in found.text
    assert 'name="csrf_token" value=""' not in found.text
    linked = post_form(admin, f"/admin/users/{rae}/patient", {"patient_id": "p-right"})
    assert linked.status_code == 303
    assert links.patient_id_of(runtime, rae) == "p-right"
    assert "Ashworth, Rae" in admin.get(f"/admin/users/{rae}").text
    nowhere = post_form(admin, f"/admin/users/{rae}/patient", {"patient_id": "p-gone"})
    assert nowhere.status_code == 303
    assert links.patient_id_of(runtime, rae) == "p-right"
    with runtime.db.sessions() as session:
        entries = entries_with_action(session, ["identity:user:linked"])
    assert len(entries) == 1
    assert entries[0].details["relink"] is True
    assert "p-right" not in str(entries[0].details), "the record id stays sealed"


def test_no_portal_account_is_linked_to_a_restricted_record(
    runtime: Runtime, admin: TestClient, cli_env: dict[str, str]
) -> None:
    """An attacker's path around a restriction: an administrator invites a "patient" they
    control, linked to a restricted record, and reads it all in the portal without
    break-glass. Invite, relink and the CLI refuse; lifting the restriction (audited) first
    is the only way."""
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-vip"))
    create_resource(runtime, SYSTEM, fhir_resource("Patient", "p-plain"))
    restrict_compartment(runtime, SYSTEM, "p-vip", "vip")
    invite = {"email": "ghost@example.org", "role": "patient", "patient_id": "p-vip"}
    refused = post_form(admin, "/admin/users", invite)
    assert refused.status_code == 422
    assert "restricted" in refused.text
    assert "ghost@example.org" not in _emails(admin.get("/admin/users").text)
    make_user(runtime, "rae@example.org", "patient", patient_id="p-plain")
    rae = _id(runtime, "rae@example.org")
    relink = post_form(admin, f"/admin/users/{rae}/patient", {"patient_id": "p-vip"})
    assert relink.status_code == 303
    assert links.patient_id_of(runtime, rae) == "p-plain"
    result = carewall(
        cli_env, "user", "add", "ghost@example.org", "--role", "patient", "--patient", "p-vip"
    )
    assert result.returncode == 1
    assert "restricted" in result.stderr
