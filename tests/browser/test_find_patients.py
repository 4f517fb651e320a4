"""Finding patients and reading the trail in Chromium: a clinician finds a restricted record by
the first letters of the name and opens it through break-glass; the security officer filters
the audit viewer and exports what it shows."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import open_runtime
from carewall.identity import accounts
from carewall.records import Purpose
from carewall.records.access import get_record_for
from carewall.records.access.restriction import restrict_compartment
from carewall.records.services import create_resource
from tests.support.factories import fhir_resource
from tests.support.server import LiveServer, oathtool, start_server

PASSWORD = "violet harbour lantern 1987"
SYSTEM = Caller.cli("test")

pytestmark = pytest.mark.skipif(
    shutil.which("oathtool") is None, reason="Debian's oathtool is not installed"
)


@pytest.fixture
def practice(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A running server, invitations for a clinician and an officer, a restricted patient
    among others, and a few audited reads."""
    home = tmp_path / "home"
    runtime = open_runtime(Settings(home=home))
    invites = {}
    for role in ("clinician", "admin"):
        link = accounts.invite_user(runtime, Caller.cli(), f"{role}@clinic.example", role)
        invites[role] = "/" + link.url.split("://", 1)[1].split("/", 1)[1]
    for pid, family, given in (
        ("p-vip", "Zamora", "Lucia"),
        ("p-one", "Zamenhof", "Ludwik"),
        ("p-two", "Abbott", "Ruth"),
    ):
        name = [{"use": "official", "family": family, "given": [given]}]
        create_resource(runtime, SYSTEM, fhir_resource("Patient", pid, name=name))
    condition = fhir_resource("Condition", "p-vip", code={"text": "Migraine without aura"})
    create_resource(runtime, SYSTEM, condition)
    restrict_compartment(runtime, SYSTEM, "p-vip", "vip")
    for pid in ("p-one", "p-two", "p-one"):
        get_record_for(runtime, SYSTEM, "Patient", pid, Purpose.OPERATIONS)
    runtime.close()
    server = start_server(home)
    yield server, invites
    server.stop()


def _join(page: Page, server: LiveServer, invite_path: str) -> None:
    """Accept the invitation, set a password and an authenticator app."""
    page.goto(server.url + invite_path)
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_label("Type it again").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Six-digit code").fill(oathtool(secret))
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("link", name="I have saved them").click()


def test_a_restricted_record_found_by_name_opens_through_break_glass(
    page: Page, practice: tuple[LiveServer, dict[str, str]]
) -> None:
    server, invites = practice
    _join(page, server, invites["clinician"])
    page.get_by_role("link", name="Patients").click()
    page.get_by_label("Family name").fill("zam")
    page.get_by_role("button", name="Search").click()
    results = page.locator("#patient-results")
    expect(results.get_by_role("link", name="Zamenhof, Ludwik")).to_be_visible()
    restricted = results.locator("tr", has_text="Zamora, Lucia")
    expect(restricted).to_contain_text("Restricted")
    expect(page.get_by_text("Migraine without aura")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/patients/search$"))  # the name stayed out of the URL

    restricted.get_by_role("link", name=re.compile("^Request emergency access")).click()
    expect(page.get_by_role("heading", name="Restricted record")).to_be_visible()
    page.get_by_label("Emergency treatment").check()
    page.get_by_role("button", name="Open the record (emergency access)").click()

    expect(page).to_have_url(re.compile(r"/patients/p-vip$"))
    expect(page.locator("#emergency-banner")).to_contain_text("Emergency access active until")
    expect(page.get_by_text("Migraine without aura")).to_be_visible()


def test_the_officer_filters_the_audit_trail_and_exports_it(
    page: Page, practice: tuple[LiveServer, dict[str, str]]
) -> None:
    server, invites = practice
    _join(page, server, invites["admin"])
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail", exact=True)).to_be_visible()
    expect(page.locator("#latest-checkpoint")).to_be_visible()
    page.get_by_label("Action").select_option("records:resource:read")
    page.get_by_role("button", name="Apply filters").click()
    rows = page.locator("#audit-entries tbody tr")
    expect(rows).to_have_count(3)

    page.get_by_text("Filter by patient").click()
    page.locator("#lk-family").fill("zamen")
    page.get_by_role("button", name="Look up").click()
    page.get_by_role("button", name=re.compile("^Filter by this patient")).click()
    expect(page.locator("#patient-filter")).to_contain_text("Zamenhof, Ludwik")
    expect(rows).to_have_count(2)

    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Export as CSV").click()
    exported = Path(csv_download.value.path()).read_text(encoding="utf-8")
    lines = list(csv.DictReader(io.StringIO(exported)))
    assert [line["action"] for line in lines] == ["records:resource:read"] * 2
    with page.expect_download() as fhir_download:
        page.get_by_role("button", name="Export as FHIR AuditEvent (NDJSON)").click()
    events = Path(fhir_download.value.path()).read_text(encoding="utf-8").splitlines()
    assert len(events) == 2
    assert all(json.loads(e)["resourceType"] == "AuditEvent" for e in events)

    rows.first.get_by_role("link").click()
    expect(page.locator("#entry-chain")).to_contain_text("Hash of the previous entry")
    expect(page.locator("#entry-patients")).to_contain_text("Zamenhof, Ludwik")
