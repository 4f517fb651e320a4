"""A clinician reads a patient's record over the FHIR API; the patient sees it in the portal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from carewall.core.config import Settings
from carewall.core.context import Caller, Origin
from carewall.core.runtime import open_runtime
from carewall.identity import accounts, apitokens, queries
from carewall.records import prepare_keys
from carewall.records.services import create_resource
from tests.support.factories import fhir_resource
from tests.support.server import LiveServer, start_server

PASSWORD = "violet harbour lantern 1987"
CLI = Origin(user_agent="cli")


@pytest.fixture
def practice(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """A stored patient, their portal account, and a clinician's FHIR token."""
    home = tmp_path / "home"
    runtime = open_runtime(Settings(home=home))
    prepare_keys(runtime.keys)
    create_resource(runtime, Caller.cli("test"), fhir_resource("Patient", "pa"))
    for email, role, patient in (
        ("pat@example.org", "patient", "pa"),
        ("dr@clinic.example", "clinician", None),
    ):
        link = accounts.invite_user(runtime, Caller.cli(), email, role, patient_id=patient)
        accounts.accept_invite(runtime, link.url.rsplit("/", 1)[1], PASSWORD, CLI)
    with runtime.db.sessions() as session:
        clinician = queries.user_id_for_email(session, "dr@clinic.example")
    assert clinician
    token, _ = apitokens.create_token(runtime, Caller.cli(), clinician, "chart", ["fhir:read"])
    runtime.close()
    server = start_server(home)
    yield server, token
    server.stop()


def test_patient_sees_the_clinicians_access(page: Page, practice: tuple[LiveServer, str]) -> None:
    server, token = practice
    read = httpx.get(
        f"{server.url}/fhir/Patient/pa",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"},
        timeout=30,
    )
    assert read.status_code == 200

    page.goto(server.url + "/login")
    page.get_by_label("Email").fill("pat@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My record").click()
    page.goto(server.url + "/portal/access")

    staff = page.get_by_role("table").first
    expect(staff).to_contain_text("Clinician")
    expect(staff).to_contain_text("Demographic")
    page.locator("summary", has_text="I don't recognise this").first.click()
    page.get_by_role("button", name="Tell the security officer").first.click()
    expect(page.locator(".flash").first).to_be_visible()
