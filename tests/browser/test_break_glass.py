"""Break-glass in Chromium: a clinician opens a restricted record with a fresh TOTP step-up."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from carewall.core.clock import utcnow
from carewall.core.config import Settings
from carewall.core.context import Caller
from carewall.core.runtime import open_runtime
from carewall.identity import accounts
from carewall.records.access.restriction import restrict_compartment
from carewall.records.services import create_resource
from tests.support.factories import fhir_resource
from tests.support.server import LiveServer, oathtool, start_server

PASSWORD = "violet harbour lantern 1987"
EMAIL = "doctor@clinic.example"
SYSTEM = Caller.cli("test")

pytestmark = pytest.mark.skipif(
    shutil.which("oathtool") is None, reason="Debian's oathtool is not installed"
)


@pytest.fixture
def practice(tmp_path: Path) -> Iterator[tuple[LiveServer, str, str]]:
    """A running server with an invited clinician and one restricted patient."""
    home = tmp_path / "home"
    runtime = open_runtime(Settings(home=home))
    link = accounts.invite_user(runtime, Caller.cli(), EMAIL, "clinician")
    patient_id = str(uuid.uuid4())
    create_resource(runtime, SYSTEM, fhir_resource("Patient", patient_id))
    condition = fhir_resource("Condition", patient_id, code={"text": "Migraine without aura"})
    create_resource(runtime, SYSTEM, condition)
    restrict_compartment(runtime, SYSTEM, patient_id, "employee")
    runtime.close()
    server = start_server(home)
    yield server, "/" + link.url.split("://", 1)[1].split("/", 1)[1], patient_id
    server.stop()


def _age_second_factor(home: Path, minutes: int) -> None:
    """Pretend the sign-in happened `minutes` ago, so the next sensitive step asks again."""
    runtime = open_runtime(Settings(home=home))
    with runtime.db.transaction() as session:
        session.execute(
            text("UPDATE web_sessions SET mfa_at = :then"),
            {"then": utcnow() - timedelta(minutes=minutes)},
        )
    runtime.close()


def test_clinician_breaks_the_glass_with_a_fresh_code(
    page: Page, practice: tuple[LiveServer, str, str]
) -> None:
    server, invite_path, patient_id = practice
    page.goto(server.url + invite_path)
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_label("Type it again").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Six-digit code").fill(oathtool(secret))
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_role("link", name="Patients")).to_be_visible()
    _age_second_factor(server.home, minutes=30)

    page.goto(f"{server.url}/patients/{patient_id}")
    expect(page.get_by_role("heading", name="Restricted record")).to_be_visible()
    expect(page.get_by_text("Migraine without aura")).to_have_count(0)
    page.get_by_role("link", name="Confirm it is you").click()
    page.get_by_label("Code from your authenticator app").fill(oathtool(secret, "now + 30 seconds"))
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Step 2 of 2: give the reason")).to_be_visible()
    page.get_by_label("Patient unable to consent").check()
    page.get_by_role("textbox", name=re.compile("^Explain")).fill(
        "Brought in unconscious, needs medication history"
    )
    page.get_by_role("button", name="Open the record (emergency access)").click()

    expect(page).to_have_url(re.compile(rf"/patients/{patient_id}$"))
    banner = page.locator("#emergency-banner")
    expect(banner).to_contain_text("Emergency access active until")
    expect(banner).to_contain_text("every view is recorded")
    expect(page.get_by_text("Migraine without aura")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Patients"))

    page.get_by_role("button", name="Stop emergency access").click()
    expect(page.get_by_text("Emergency access stopped.")).to_be_visible()
    page.goto(f"{server.url}/patients/{patient_id}")
    expect(page.get_by_role("heading", name="Restricted record")).to_be_visible()
