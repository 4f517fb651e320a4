"""The alerts page in Chromium on a phone-sized screen: the home panel, filters, review."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from carewall.core.config import Settings
from carewall.core.context import Origin
from carewall.core.runtime import open_runtime
from carewall.demo.alerts_seed import ALERTS_SEEDER
from carewall.demo.identity_seed import STAFF_SEEDER
from carewall.identity import accounts
from carewall.registry import install
from tests.support.server import LiveServer, oathtool, start_server

PASSWORD = "violet harbour lantern 1987"
EMAIL = "officer@clinic.example"

pytestmark = pytest.mark.skipif(shutil.which("oathtool") is None, reason="needs oathtool")


@pytest.fixture
def practice(tmp_path: Path) -> Iterator[LiveServer]:
    """A server with the demo staff, the demo alerts and an administrator."""
    home = tmp_path / "home"
    runtime = install(open_runtime(Settings(home=home, demo=True)))
    accounts.create_admin(runtime, EMAIL, PASSWORD, Origin(user_agent="cli"))
    STAFF_SEEDER.run(runtime)
    ALERTS_SEEDER.run(runtime)
    runtime.close()
    server = start_server(home, extra_env={"CAREWALL_JOBS_IN_PROCESS": "false"})
    yield server
    server.stop()


def test_an_officer_reviews_an_alert_on_a_phone(page: Page, practice: LiveServer) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(practice.url + "/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Six-digit code").fill(oathtool(secret))
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("link", name="I have saved them").click()

    panel = page.locator("#alerts-panel")
    expect(panel).to_contain_text("Open alerts by severity")
    panel.get_by_role("link", name="Open the alerts page").click()
    expect(page.get_by_role("heading", name="Security alerts")).to_be_visible()
    page.get_by_label("Severity", exact=True).select_option("high")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#alerts tbody tr")
    expect(rows).to_have_count(2)  # the volume and sign-in demo alerts
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page scrolls sideways on a phone"

    page.get_by_role("link", name="46 distinct patients opened today").click()
    expect(page.locator("#alert-status")).to_have_text("Open")
    page.get_by_label("Note (optional)").fill("Asked the clinician about the clinic list.")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status").filter(has_text="Alert acknowledged")).to_be_visible()
    page.get_by_label("It was").select_option("expected")
    page.get_by_label("Note", exact=True).fill("Covering a colleague's whole list that day.")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#alert-status")).to_have_text("Resolved (expected)")
    expect(page.locator("#alert-history")).to_contain_text("Covering a colleague")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the alert page scrolls sideways on a phone"
    assert errors == [], errors
